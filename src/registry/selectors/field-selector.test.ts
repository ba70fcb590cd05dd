import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SelectorError } from './errors.js';
import { matchesFields, parseFieldSelector, selectedName, selectedNamespace } from './field-selector.js';

const SUPPORTED = ['metadata.name', 'metadata.namespace', 'spec.suspend'];
type R = [field: string, operator: string, value: string];
const parsed = (s: string): R[] => parseFieldSelector(s, SUPPORTED).requirements.map((r) => [r.field, r.operator, r.value]);

test('parses terms, operators and escapes', () => {
  const cases: [string, R[]][] = [
    ['', []],
    [',,', []],
    ['metadata.name=foo', [['metadata.name', '=', 'foo']]],
    ['metadata.name==foo', [['metadata.name', '==', 'foo']]],
    ['metadata.name!=foo', [['metadata.name', '!=', 'foo']]],
    ['metadata.name=', [['metadata.name', '=', '']]],
    ['metadata.name=foo,', [['metadata.name', '=', 'foo']]],
    ['metadata.name=a b', [['metadata.name', '=', 'a b']]],
    ['metadata.name=a\\,b', [['metadata.name', '=', 'a,b']]],
    ['metadata.name=a\\=b', [['metadata.name', '=', 'a=b']]],
    ['metadata.name=a\\\\b', [['metadata.name', '=', 'a\\b']]],
    ['metadata.name=\\\\\\,\\=', [['metadata.name', '=', '\\,=']]],
    ['spec.suspend=true,metadata.namespace!=kube-system,metadata.name=x', [
      ['metadata.name', '=', 'x'],
      ['metadata.namespace', '!=', 'kube-system'],
      ['spec.suspend', '=', 'true'],
    ]],
  ];
  for (const [s, want] of cases) assert.deepEqual(parsed(s), want, JSON.stringify(s));
});

test('rejects malformed and unsupported selectors with Kubernetes messages', () => {
  const cases: [string, string][] = [
    ['metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['metadata.name=a,b', "invalid selector: 'metadata.name=a,b'; can't understand 'b'"],
    ['metadata.name!x', "invalid selector: 'metadata.name!x'; can't understand 'metadata.name!x'"],
    ['metadata.name=a=b', 'invalid field selector: unescaped character in value: ='],
    ['metadata.name!==b', 'invalid field selector: unescaped character in value: ='],
    ['metadata.name=a\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['metadata.name=a\\', 'invalid field selector: invalid escape sequence: \\'],
    ['spec.foo=x', 'field label not supported: spec.foo'],
    ['spec.foo!=x', 'field label not supported: spec.foo'],
    ['Metadata.name=x', 'field label not supported: Metadata.name'],
    [' metadata.name=x', 'field label not supported:  metadata.name'],
    ['metadata.name=x, metadata.namespace=y', 'field label not supported:  metadata.namespace'],
    ['=x', 'field label not supported: '],
    // a syntax error in any term wins over an unsupported field in another
    ['spec.foo=x,metadata.name', "invalid selector: 'spec.foo=x,metadata.name'; can't understand 'metadata.name'"],
  ];
  for (const [s, message] of cases) {
    assert.throws(() => parseFieldSelector(s, SUPPORTED), (e: unknown) => e instanceof SelectorError && e.message === message, JSON.stringify(s));
  }
  assert.throws(() => parseFieldSelector('metadata.name=x', []), { message: 'field label not supported: metadata.name' });
});

test('matches fields, a missing field reading as empty', () => {
  const fields = { 'metadata.name': 'a,b', 'metadata.namespace': 'ns', 'spec.suspend': 'false' };
  const cases: [string, boolean][] = [
    ['', true],
    ['metadata.name=a\\,b', true],
    ['metadata.name==a\\,b', true],
    ['metadata.name=a', false],
    ['metadata.name!=a', true],
    ['metadata.name!=a\\,b', false],
    ['metadata.namespace=ns,spec.suspend=false', true],
    ['metadata.namespace=ns,spec.suspend=true', false],
  ];
  for (const [s, want] of cases) assert.equal(matchesFields(parseFieldSelector(s, SUPPORTED), fields), want, s);
  const noSuspend = { 'metadata.name': 'x' };
  assert.equal(matchesFields(parseFieldSelector('spec.suspend=', SUPPORTED), noSuspend), true);
  assert.equal(matchesFields(parseFieldSelector('spec.suspend!=', SUPPORTED), noSuspend), false);
  assert.equal(matchesFields(parseFieldSelector('spec.suspend=false', SUPPORTED), noSuspend), false);
});

test('selectedName and selectedNamespace return what = or == pins', () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ['', undefined, undefined],
    ['metadata.name=a', 'a', undefined],
    ['metadata.name==a', 'a', undefined],
    ['metadata.name!=a', undefined, undefined],
    ['metadata.name=', '', undefined],
    ['metadata.name=a\\,b', 'a,b', undefined],
    ['metadata.namespace=ns', undefined, 'ns'],
    ['spec.suspend=true,metadata.namespace==ns,metadata.name=n', 'n', 'ns'],
    ['metadata.name!=x,metadata.name=y', 'y', undefined],
    ['spec.suspend=true', undefined, undefined],
  ];
  for (const [s, name, namespace] of cases) {
    const sel = parseFieldSelector(s, SUPPORTED);
    assert.equal(selectedName(sel), name, s);
    assert.equal(selectedNamespace(sel), namespace, s);
  }
});
