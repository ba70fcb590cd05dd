// ownerReference garbage collection with each propagationPolicy, as kube's garbage collector does it,
// driven by the real kubectl (`delete --cascade=background|foreground|orphan`) against the server with
// no reconciler running (the collector is part of the API's semantics and runs regardless).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start(['--controllers=']);
});
after(async () => {
  await s?.cleanup();
});

const NS = 'gc';
const release = (name: string) => ({
  apiVersion: 'gitops.toolkit/v1',
  kind: 'HelmRelease',
  metadata: { name, namespace: NS },
  spec: { interval: '10m', chart: { spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } } } },
});
const chart = (name: string, owners: { name: string; uid: string; block?: boolean }[], extra: Record<string, unknown> = {}) => ({
  apiVersion: 'gitops.toolkit/v1',
  kind: 'HelmChart',
  metadata: {
    name,
    namespace: NS,
    ownerReferences: owners.map((o) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'HelmRelease', name: o.name, uid: o.uid, ...(o.block ? { blockOwnerDeletion: true, controller: true } : {}) })),
    ...extra,
  },
  spec: { interval: '10m', chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } },
});

async function apply(obj: unknown): Promise<any> {
  return JSON.parse(await s.k(['create', '-o', 'json', '-f', '-'], { input: JSON.stringify(obj) }));
}
async function get(kind: string, name: string): Promise<any | undefined> {
  const r = await s.kubectl(['get', '-n', NS, kind, name, '-o', 'json', '--ignore-not-found']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
}
const gone = (kind: string, name: string) => eventually(async () => (await get(kind, name)) === undefined, 10_000);

describe('garbage collection', () => {
  it('background (the default): the owner goes at once, its dependents after it', async () => {
    const owner = await apply(release('bg'));
    await apply(chart('bg-chart', [{ name: 'bg', uid: owner.metadata.uid, block: true }]));
    await s.k(['delete', '-n', NS, 'helmrelease', 'bg']);
    assert.equal(await get('helmrelease', 'bg'), undefined);
    await gone('helmchart', 'bg-chart');
  });

  it('foreground: the owner waits, with foregroundDeletion, until the dependents that block it are gone', async () => {
    const owner = await apply(release('fg'));
    const uid = owner.metadata.uid;
    // one blocking dependent held by a finalizer of its own, one that does not block
    await apply(chart('fg-held', [{ name: 'fg', uid, block: true }], { finalizers: ['example.com/hold'] }));
    await apply(chart('fg-free', [{ name: 'fg', uid }]));
    await s.k(['delete', '-n', NS, 'helmrelease', 'fg', '--cascade=foreground', '--wait=false']);
    await gone('helmchart', 'fg-free');
    await eventually(async () => !!(await get('helmchart', 'fg-held'))?.metadata.deletionTimestamp, 10_000);
    const waiting = await get('helmrelease', 'fg');
    assert.ok(waiting?.metadata.deletionTimestamp, 'the owner is being deleted');
    assert.deepEqual(waiting.metadata.finalizers, ['foregroundDeletion']);
    // release the dependent: then the owner goes too
    await s.k(['patch', '-n', NS, 'helmchart', 'fg-held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await gone('helmchart', 'fg-held');
    await gone('helmrelease', 'fg');
  });

  it('kubectl delete --cascade=foreground waits for the dependents and returns when all are gone', async () => {
    const owner = await apply(release('fgw'));
    await apply(chart('fgw-a', [{ name: 'fgw', uid: owner.metadata.uid, block: true }]));
    await apply(chart('fgw-b', [{ name: 'fgw', uid: owner.metadata.uid, block: true }]));
    await s.k(['delete', '-n', NS, 'helmrelease', 'fgw', '--cascade=foreground', '--timeout=20s']);
    assert.equal(await get('helmrelease', 'fgw'), undefined);
    assert.equal(await get('helmchart', 'fgw-a'), undefined);
    assert.equal(await get('helmchart', 'fgw-b'), undefined);
  });

  it('orphan: the owner goes, its dependents stay without the reference to it', async () => {
    const owner = await apply(release('or'));
    const other = await apply(release('or-other'));
    await apply(chart('or-chart', [{ name: 'or', uid: owner.metadata.uid, block: true }, { name: 'or-other', uid: other.metadata.uid }]));
    await s.k(['delete', '-n', NS, 'helmrelease', 'or', '--cascade=orphan']);
    await gone('helmrelease', 'or');
    const left = await get('helmchart', 'or-chart');
    assert.ok(left && !left.metadata.deletionTimestamp, 'the dependent stays');
    assert.deepEqual(left.metadata.ownerReferences.map((r: any) => r.name), ['or-other']);
  });

  it('dangling owners: a reference to a gone owner is dropped, an object whose owners are all gone is collected', async () => {
    const owner = await apply(release('live'));
    await apply(chart('half', [{ name: 'live', uid: owner.metadata.uid }, { name: 'never', uid: '00000000-0000-0000-0000-000000000001' }]));
    await apply(chart('orphaned', [{ name: 'never', uid: '00000000-0000-0000-0000-000000000002' }]));
    await gone('helmchart', 'orphaned');
    await eventually(async () => (await get('helmchart', 'half'))?.metadata.ownerReferences?.length === 1, 10_000);
    assert.equal((await get('helmchart', 'half')).metadata.ownerReferences[0].name, 'live');
    // an owner with the right name but another uid is not the owner
    await apply(chart('wrong-uid', [{ name: 'live', uid: '00000000-0000-0000-0000-000000000003' }]));
    await gone('helmchart', 'wrong-uid');
  });

  it('deletions left half-done are finished after a restart', async () => {
    const owner = await apply(release('restart'));
    await apply(chart('restart-chart', [{ name: 'restart', uid: owner.metadata.uid, block: true }], { finalizers: ['example.com/hold'] }));
    await s.k(['delete', '-n', NS, 'helmrelease', 'restart', '--cascade=foreground', '--wait=false']);
    await eventually(async () => !!(await get('helmchart', 'restart-chart'))?.metadata.deletionTimestamp, 10_000);
    await s.stop();
    await s.restart();
    await s.k(['patch', '-n', NS, 'helmchart', 'restart-chart', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await gone('helmrelease', 'restart');
  });
});
