import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldChanges } from './ssa/diff.js';
import { redactSecret, REDACTED } from './redact.js';

const LA = 'kubectl.kubernetes.io/last-applied-configuration';
const secret = (pw: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { [LA]: `{"data":{"pw":"${pw}"}}` } }, data: { pw }, stringData: { other: pw } });

test("a Secret's values are redacted in builds and in diffs, the last-applied copy included; other kinds are left alone", () => {
  const r = redactSecret(secret('c2VjcmV0') as never) as ReturnType<typeof secret>;
  assert.deepEqual(r.data, { pw: REDACTED });
  assert.deepEqual(r.stringData, { other: REDACTED });
  assert.equal(r.metadata.annotations[LA], REDACTED);
  const changes = fieldChanges(secret('b2xk') as never, secret('bmV3') as never);
  assert.deepEqual(changes.map((c) => c.path).sort(), [`metadata.annotations.${LA}`, 'data.pw', 'stringData.other'].sort());
  assert.ok(!JSON.stringify(changes).includes('b2xk') && !JSON.stringify(changes).includes('bmV3'), JSON.stringify(changes));
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } };
  assert.equal(redactSecret(cm as never), cm);
  assert.deepEqual(fieldChanges(cm as never, { ...cm, data: { k: 'w' } } as never), [{ path: 'data.k', live: 'v', desired: 'w' }]);
});
