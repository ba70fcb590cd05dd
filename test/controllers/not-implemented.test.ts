// Kinds stored and validated but not reconciled yet are told so: each object gets Stalled=True and
// Ready=False with reason NotImplemented and a message naming what is not done, and has no finalizer
// (nothing outside the object to clean up), so it deletes at once.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { TestServer } from '../helpers/server.js';

const G = 'gitops.toolkit/v1';
const OBJECTS = [
  { kind: 'OCIRepository', plural: 'ocirepositories', spec: { interval: '5m', url: 'oci://registry.example.com/app' }, what: /nothing is pulled from the registry/ },
  { kind: 'HelmRepository', plural: 'helmrepositories', spec: { interval: '5m', url: 'https://charts.example.com' }, what: /no index is fetched/ },
  { kind: 'HelmChart', plural: 'helmcharts', spec: { interval: '5m', chart: 'app', sourceRef: { kind: 'HelmRepository', name: 'charts' } }, what: /no chart is fetched or packaged/ },
  { kind: 'Bucket', plural: 'buckets', spec: { interval: '5m', bucketName: 'app', endpoint: 'storage.example.com' }, what: /nothing is fetched from the bucket/ },
  { kind: 'HelmRelease', plural: 'helmreleases', spec: { interval: '5m', chart: { spec: { chart: 'app', sourceRef: { kind: 'HelmRepository', name: 'charts' } } } }, what: /no chart is installed or upgraded/ },
];

describe('kinds not reconciled yet', () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start();
  });
  after(() => s?.cleanup());

  it('each is Stalled and not Ready with reason NotImplemented, saying what is not done; kubectl wait and get show it', async () => {
    const docs = OBJECTS.map((o) => yaml.dump({ apiVersion: G, kind: o.kind, metadata: { name: 'x', namespace: 'default' }, spec: o.spec })).join('---\n');
    const applied = await s.kubectl(['apply', '-f', '-'], { input: docs });
    assert.equal(applied.code, 0, applied.stderr);
    for (const o of OBJECTS) {
      const wait = await s.kubectl(['wait', '-n', 'default', `${o.plural}/x`, '--for=condition=Stalled', '--timeout=20s']);
      assert.equal(wait.code, 0, `${o.kind}: ${wait.stderr}`);
      const obj = JSON.parse((await s.kubectl(['get', '-n', 'default', `${o.plural}/x`, '-o', 'json'])).stdout);
      const ready = obj.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      assert.equal(ready.status, 'False', o.kind);
      assert.equal(ready.reason, 'NotImplemented', o.kind);
      assert.match(ready.message, new RegExp(`^${o.kind} reconciliation is not implemented in this version of gitops-toolkit`));
      assert.match(ready.message, o.what);
      assert.equal(obj.status.observedGeneration, obj.metadata.generation, `${o.kind}: observed`);
      assert.deepEqual(obj.metadata.finalizers ?? [], [], `${o.kind}: no finalizer`);
    }
    const table = await s.kubectl(['get', 'hr', '-n', 'default']);
    assert.match(table.stdout, /\nx\s+.*False\s+HelmRelease reconciliation is not implemented/);
    const del = await s.kubectl(['delete', '-n', 'default', 'hr/x', '--timeout=10s']);
    assert.equal(del.code, 0, del.stderr);
  });

  it('--controllers=-helmrelease leaves HelmReleases alone (nothing writes their status)', async () => {
    const t = await TestServer.start(['--controllers=*,-helmrelease']);
    try {
      const o = OBJECTS.find((x) => x.kind === 'HelmRelease')!;
      assert.equal((await t.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: G, kind: o.kind, metadata: { name: 'y', namespace: 'default' }, spec: o.spec }) })).code, 0);
      await new Promise((r) => setTimeout(r, 1500));
      const obj = JSON.parse((await t.kubectl(['get', '-n', 'default', 'hr/y', '-o', 'json'])).stdout);
      assert.equal(obj.status?.conditions, undefined);
    } finally {
      await t.cleanup();
    }
  });
});
