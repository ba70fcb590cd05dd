import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldSet } from './field-set.js';
import { parsePathElement, pathString, serializePathElement } from './path.js';

// A Deployment entry as kube-apiserver writes it (kubectl create), in the order it writes keys.
const KUBE_FIELDS =
  '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},' +
  '"f:template":{"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{".":{},"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{},"f:protocol":{}}}}}}}}}';

test('FieldsV1 written by kube decodes and re-encodes byte for byte', () => {
  const set = FieldSet.fromFieldsV1(JSON.parse(KUBE_FIELDS));
  assert.equal(JSON.stringify(set.toFieldsV1()), KUBE_FIELDS);
  const paths = set.paths().map(pathString);
  assert.ok(paths.includes('.metadata.labels'), '"." makes the node a member');
  assert.ok(paths.includes('.spec.strategy.rollingUpdate.maxSurge'));
  assert.ok(!paths.includes('.spec.strategy'), 'a node without "." is not a member');
  assert.ok(paths.includes('.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]'));
});

test('keys are sorted the way SMD orders path elements, whatever order they were inserted in', () => {
  const set = FieldSet.of(
    [{ field: 'list' }, { value: 'b' }],
    [{ field: 'list' }, { value: 10 }],
    [{ field: 'list' }, { value: 'a' }],
    [{ field: 'b' }],
    [{ field: 'B' }],
    [{ field: 'items' }, { key: [['type', 'Ready']] }, { field: 'status' }],
    [{ field: 'items' }, { key: [['type', 'Available']] }],
  );
  assert.equal(
    JSON.stringify(set.toFieldsV1()),
    '{"f:B":{},"f:b":{},"f:items":{"k:{\\"type\\":\\"Available\\"}":{},"k:{\\"type\\":\\"Ready\\"}":{"f:status":{}}},"f:list":{"v:10":{},"v:\\"a\\"":{},"v:\\"b\\"":{}}}',
  );
});

test('list keys and set values are written as Go writes JSON: sorted keys, HTML escaped', () => {
  assert.equal(
    serializePathElement({
      key: [
        ['port', 80],
        ['protocol', 'TCP'],
      ],
    }),
    'k:{"port":80,"protocol":"TCP"}',
  );
  assert.equal(serializePathElement({ value: 'a<b>&c' }), 'v:"a\\u003cb\\u003e\\u0026c"');
  assert.deepEqual(parsePathElement('k:{"protocol":"TCP","port":80}'), { key: [['port', 80], ['protocol', 'TCP']] });
  assert.deepEqual(parsePathElement('v:"a\\u003cb"'), { value: 'a<b' });
  assert.deepEqual(parsePathElement('i:3'), { index: 3 });
  assert.equal(parsePathElement('z:whatever'), undefined);
  assert.throws(() => parsePathElement('fspec'));
});

test('unknown element kinds are skipped on read, as kube does', () => {
  const set = FieldSet.fromFieldsV1({ 'f:spec': { 'x:future': {}, 'f:a': {} }, 'q:other': {} });
  assert.deepEqual(set.toFieldsV1(), { 'f:spec': { 'f:a': {} } });
});

test('set algebra works on exact paths: removing a path keeps what is below it', () => {
  const a = FieldSet.of([{ field: 'spec' }], [{ field: 'spec' }, { field: 'x' }], [{ field: 'spec' }, { field: 'y' }]);
  const b = FieldSet.of([{ field: 'spec' }], [{ field: 'spec' }, { field: 'y' }], [{ field: 'status' }]);
  assert.deepEqual(a.difference(b).toFieldsV1(), { 'f:spec': { 'f:x': {} } });
  assert.deepEqual(a.intersection(b).toFieldsV1(), { 'f:spec': { '.': {}, 'f:y': {} } });
  assert.deepEqual(a.union(b).toFieldsV1(), { 'f:spec': { '.': {}, 'f:x': {}, 'f:y': {} }, 'f:status': {} });
  assert.ok(a.difference(a).empty());
});

test('paths print as kube prints conflicts', () => {
  const set = FieldSet.of([{ field: 'status' }, { field: 'conditions' }, { key: [['type', 'Ready']] }, { field: 'status' }], [{ field: 'spec' }, { field: 'tags' }, { value: 'x' }], [{ field: 'spec' }, { field: 'a' }]);
  assert.deepEqual(set.paths().map(pathString), ['.spec.a', '.spec.tags[="x"]', '.status.conditions[type="Ready"].status']);
});
