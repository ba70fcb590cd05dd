import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonPatch, mergePatch, PatchError, PatchTooLargeError } from './patch.js';

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const json = (s: string): unknown => JSON.parse(s);

describe('jsonPatch (RFC 6902)', () => {
  // Each case runs against a deep-frozen document: a patch that wrote into its input would throw.
  const ok: { name: string; doc: unknown; ops: unknown[]; want: unknown }[] = [
    { name: 'add an object member', doc: { a: 1 }, ops: [{ op: 'add', path: '/b', value: 2 }], want: { a: 1, b: 2 } },
    { name: 'add replaces an existing member', doc: { a: 1 }, ops: [{ op: 'add', path: '/a', value: [1] }], want: { a: [1] } },
    { name: 'add inserts into an array', doc: { l: ['x', 'z'] }, ops: [{ op: 'add', path: '/l/1', value: 'y' }], want: { l: ['x', 'y', 'z'] } },
    { name: 'add at index == length appends', doc: { l: ['x'] }, ops: [{ op: 'add', path: '/l/1', value: 'y' }], want: { l: ['x', 'y'] } },
    { name: 'add with - appends', doc: { l: [1, 2] }, ops: [{ op: 'add', path: '/l/-', value: 3 }], want: { l: [1, 2, 3] } },
    { name: 'add an array value as one element', doc: { l: [1] }, ops: [{ op: 'add', path: '/l/-', value: [2, 3] }], want: { l: [1, [2, 3]] } },
    { name: 'add a nested member', doc: { a: {} }, ops: [{ op: 'add', path: '/a/b', value: { c: 1 } }], want: { a: { b: { c: 1 } } } },
    { name: 'add at the root replaces the document', doc: { a: 1 }, ops: [{ op: 'add', path: '', value: [1] }], want: [1] },
    { name: 'remove an object member', doc: { a: 1, b: 2 }, ops: [{ op: 'remove', path: '/a' }], want: { b: 2 } },
    { name: 'remove an array element shifts the rest', doc: { l: [1, 2, 3] }, ops: [{ op: 'remove', path: '/l/0' }], want: { l: [2, 3] } },
    { name: 'replace a member', doc: { a: 1 }, ops: [{ op: 'replace', path: '/a', value: { b: null } }], want: { a: { b: null } } },
    { name: 'replace an array element', doc: { l: [1, 2] }, ops: [{ op: 'replace', path: '/l/1', value: 9 }], want: { l: [1, 9] } },
    { name: 'replace the root', doc: { a: 1 }, ops: [{ op: 'replace', path: '', value: 'x' }], want: 'x' },
    { name: 'move a member', doc: { a: { b: 1 }, c: {} }, ops: [{ op: 'move', from: '/a/b', path: '/c/d' }], want: { a: {}, c: { d: 1 } } },
    { name: 'move an array element', doc: { l: ['a', 'b', 'c', 'd'] }, ops: [{ op: 'move', from: '/l/1', path: '/l/3' }], want: { l: ['a', 'c', 'd', 'b'] } },
    { name: 'move to the same place is a no-op', doc: { a: 1 }, ops: [{ op: 'move', from: '/a', path: '/a' }], want: { a: 1 } },
    { name: 'copy a member (a deep copy)', doc: { a: { b: [1] } }, ops: [{ op: 'copy', from: '/a', path: '/c' }, { op: 'add', path: '/c/b/-', value: 2 }], want: { a: { b: [1] }, c: { b: [1, 2] } } },
    { name: 'test passes, key order ignored', doc: { a: { x: 1, y: [1, 2] } }, ops: [{ op: 'test', path: '/a', value: { y: [1, 2], x: 1 } }], want: { a: { x: 1, y: [1, 2] } } },
    { name: 'test an array element', doc: { l: ['a', 'b'] }, ops: [{ op: 'test', path: '/l/1', value: 'b' }], want: { l: ['a', 'b'] } },
    { name: '~1 is "/" and ~0 is "~"', doc: { 'a/b': 1, 'm~n': 2 }, ops: [{ op: 'replace', path: '/a~1b', value: 3 }, { op: 'remove', path: '/m~0n' }], want: { 'a/b': 3 } },
    { name: '~01 decodes to "~1", not "/"', doc: { '~1': 1, '/': 2 }, ops: [{ op: 'remove', path: '/~01' }], want: { '/': 2 } },
    { name: 'unknown members of an operation are ignored', doc: {}, ops: [{ op: 'add', path: '/a', value: 1, xyz: true }], want: { a: 1 } },
    { name: 'ops apply in order', doc: {}, ops: [{ op: 'add', path: '/a', value: [] }, { op: 'add', path: '/a/-', value: 1 }, { op: 'test', path: '/a/0', value: 1 }], want: { a: [1] } },
    { name: '"constructor" is an ordinary member', doc: {}, ops: [{ op: 'add', path: '/constructor', value: 1 }, { op: 'test', path: '/constructor', value: 1 }], want: { constructor: 1 } },
    { name: 'an empty key is a member named ""', doc: { '': 1 }, ops: [{ op: 'replace', path: '/', value: 2 }], want: { '': 2 } },
  ];
  for (const c of ok) {
    it(c.name, () => {
      const doc = deepFreeze(structuredClone(c.doc));
      assert.deepEqual(jsonPatch(doc, c.ops), c.want);
      assert.deepEqual(doc, c.doc);
    });
  }

  const bad: { name: string; doc: unknown; ops: unknown; msg: RegExp }[] = [
    { name: 'not an array', doc: {}, ops: { op: 'add' }, msg: /must be an array/ },
    { name: 'operation is not an object', doc: {}, ops: ['add'], msg: /operation 0 is not an object/ },
    { name: 'unknown op', doc: {}, ops: [{ op: 'merge', path: '/a' }], msg: /unexpected kind of operation/ },
    { name: 'missing path', doc: {}, ops: [{ op: 'add', value: 1 }], msg: /"path"/ },
    { name: 'non-string path on move', doc: { a: 1 }, ops: [{ op: 'move', from: '/a', path: 7 }], msg: /"path"/ },
    { name: 'pointer without leading slash', doc: { a: 1 }, ops: [{ op: 'remove', path: 'a' }], msg: /must start with "\/"/ },
    { name: 'add without value', doc: {}, ops: [{ op: 'add', path: '/a' }], msg: /has no "value"/ },
    { name: 'replace without value', doc: { a: 1 }, ops: [{ op: 'replace', path: '/a' }], msg: /has no "value"/ },
    { name: 'add under a missing parent', doc: { a: 1 }, ops: [{ op: 'add', path: '/b/c', value: 1 }], msg: /does not exist/ },
    { name: 'add into a scalar', doc: { a: 1 }, ops: [{ op: 'add', path: '/a/b', value: 1 }], msg: /does not exist/ },
    { name: 'add past the end of an array', doc: { l: [1] }, ops: [{ op: 'add', path: '/l/2', value: 1 }], msg: /out of bounds/ },
    { name: 'negative array index', doc: { l: [1] }, ops: [{ op: 'add', path: '/l/-1', value: 1 }], msg: /invalid array index/ },
    { name: 'leading zero index', doc: { l: [1, 2] }, ops: [{ op: 'replace', path: '/l/01', value: 1 }], msg: /invalid array index/ },
    { name: 'remove at index == length', doc: { l: [1] }, ops: [{ op: 'remove', path: '/l/1' }], msg: /out of bounds/ },
    { name: 'remove with -', doc: { l: [1] }, ops: [{ op: 'remove', path: '/l/-' }], msg: /invalid array index/ },
    { name: 'replace at index == length', doc: { l: [1] }, ops: [{ op: 'replace', path: '/l/1', value: 2 }], msg: /out of bounds/ },
    { name: 'remove of a missing key', doc: { a: 1 }, ops: [{ op: 'remove', path: '/b' }], msg: /nonexistent key "b"/ },
    { name: 'remove of an inherited name', doc: {}, ops: [{ op: 'remove', path: '/toString' }], msg: /nonexistent key/ },
    { name: 'replace of a missing key', doc: { a: 1 }, ops: [{ op: 'replace', path: '/b', value: 1 }], msg: /doc is missing key: \/b/ },
    { name: 'remove the whole document', doc: { a: 1 }, ops: [{ op: 'remove', path: '' }], msg: /whole document/ },
    { name: 'move into its own child', doc: { a: { b: {} } }, ops: [{ op: 'move', from: '/a', path: '/a/b/c' }], msg: /into its own child/ },
    { name: 'move from a missing path', doc: { a: 1 }, ops: [{ op: 'move', from: '/x', path: '/y' }], msg: /nonexistent key/ },
    { name: 'move without from', doc: { a: 1 }, ops: [{ op: 'move', path: '/y' }], msg: /has no "from"/ },
    { name: 'copy from a missing path', doc: { a: 1 }, ops: [{ op: 'copy', from: '/x', path: '/y' }], msg: /does not exist/ },
    { name: 'copy from an inherited name', doc: {}, ops: [{ op: 'copy', from: '/constructor', path: '/y' }], msg: /does not exist/ },
    { name: 'test fails on a different value', doc: { a: 'x' }, ops: [{ op: 'test', path: '/a', value: 'y' }], msg: /testing value \/a failed/ },
    { name: 'test compares types: "10" is not 10', doc: { a: '10' }, ops: [{ op: 'test', path: '/a', value: 10 }], msg: /failed/ },
    { name: 'test compares array order', doc: { l: [1, 2] }, ops: [{ op: 'test', path: '/l', value: [2, 1] }], msg: /failed/ },
    { name: 'test of a missing path', doc: {}, ops: [{ op: 'test', path: '/a', value: null }], msg: /does not exist/ },
  ];
  for (const c of bad) {
    it(`refuses: ${c.name}`, () => {
      const doc = deepFreeze(structuredClone(c.doc));
      assert.throws(() => jsonPatch(doc, c.ops), (e: unknown) => e instanceof PatchError && c.msg.test(e.message));
      assert.deepEqual(doc, c.doc);
    });
  }

  it('a failing op leaves nothing half-applied: the input is untouched and nothing is returned', () => {
    const doc = { a: 1, l: [1] };
    assert.throws(() => jsonPatch(doc, [{ op: 'add', path: '/b', value: 2 }, { op: 'remove', path: '/l/0' }, { op: 'test', path: '/a', value: 2 }]), PatchError);
    assert.deepEqual(doc, { a: 1, l: [1] });
  });

  it('the added value is copied, not shared with the patch', () => {
    const value = { x: [1] };
    const out = jsonPatch({}, [{ op: 'add', path: '/a', value }]) as { a: { x: number[] } };
    out.a.x.push(2);
    assert.deepEqual(value, { x: [1] });
  });

  it('a member named __proto__ is stored as data and does not change the prototype', () => {
    const out = jsonPatch({}, json('[{"op":"add","path":"/__proto__","value":{"polluted":true}}]')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":true}}');
  });
});

describe('mergePatch (RFC 7386)', () => {
  // The examples of RFC 7386 Appendix A.
  const cases: [string, string, string][] = [
    ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
    ['{"a":"b"}', '{"a":null}', '{}'],
    ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
    ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
    ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
    ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
    ['["a","b"]', '["c","d"]', '["c","d"]'],
    ['{"a":"b"}', '["c"]', '["c"]'],
    ['{"a":"foo"}', 'null', 'null'],
    ['{"a":"foo"}', '"bar"', '"bar"'],
    ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
    ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
    ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
  ];
  for (const [target, patch, want] of cases) {
    it(`${target} + ${patch} = ${want}`, () => {
      const t = deepFreeze(json(target));
      assert.deepEqual(mergePatch(t, json(patch)), json(want));
      assert.deepEqual(t, json(target));
    });
  }

  it('the result shares nothing with the patch', () => {
    const patch = { a: { b: [1] } };
    const out = mergePatch({}, patch) as { a: { b: number[] } };
    out.a.b.push(2);
    assert.deepEqual(patch, { a: { b: [1] } });
  });

  it('a member named __proto__ is merged as data', () => {
    const out = mergePatch({ a: 1 }, json('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(JSON.stringify(out), '{"a":1,"__proto__":{"polluted":true}}');
  });

  it('"constructor" in the patch is an ordinary member', () => {
    assert.deepEqual(mergePatch({}, { constructor: { a: 1 } }), { constructor: { a: 1 } });
  });
});

describe('patch bounds', () => {
  it('refuses more than 10,000 operations before applying any', () => {
    const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '', value: {} }));
    assert.throws(() => jsonPatch({}, ops), (e: unknown) => e instanceof PatchTooLargeError && /maximum operations in a JSON patch is 10000, got 10001/.test((e as Error).message));
    assert.doesNotThrow(() => jsonPatch({}, ops.slice(0, 10_000)));
  });
  it('stops copies that double a value before they are made: 24 doublings of 1 KiB', () => {
    const ops: unknown[] = [{ op: 'add', path: '/v', value: ['x'.repeat(1024)] }];
    for (let i = 0; i < 24; i++) ops.push({ op: 'copy', from: '/v', path: '/v/-' });
    const before = process.memoryUsage().heapUsed;
    assert.throws(() => jsonPatch({}, ops), (e: unknown) => e instanceof PatchError && /exceed the limit of 3 MiB/.test((e as Error).message));
    assert.ok(process.memoryUsage().heapUsed - before < 64 << 20, 'no large intermediate value was built');
  });
  it('a copy chain under 3 MiB applies', () => {
    const ops: unknown[] = [{ op: 'add', path: '/v', value: ['x'.repeat(1024)] }];
    for (let i = 0; i < 10; i++) ops.push({ op: 'copy', from: '/v', path: '/v/-' });
    const out = jsonPatch({}, ops) as { v: unknown[] };
    assert.equal(JSON.stringify(out).length > 1024 * 1024, true);
  });
  it('copies into itself build deep values without recursion; test compares them', () => {
    const ops: unknown[] = [{ op: 'add', path: '/v', value: [] }];
    let path = '/v';
    for (let i = 0; i < 3000; i++) {
      ops.push({ op: 'add', path: `${path}/-`, value: [] });
      path += '/0';
    }
    const out = jsonPatch({}, ops);
    assert.doesNotThrow(() => jsonPatch(out, [{ op: 'test', path: '', value: out }]));
  });
  it('merge patch merges 50,000 levels deep without recursion', () => {
    const deep = JSON.parse('{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000));
    const out = mergePatch({ b: 1 }, deep) as Record<string, unknown>;
    assert.equal(out.b, 1);
    assert.ok('a' in out);
  });
});
