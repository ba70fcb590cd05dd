// NamespaceLifecycle and the watched caches behind it, against the local cluster, driven through a
// real ResourceStore on in-memory SQLite: namespaces the cluster really creates, terminates (held in
// Terminating by a finalizer on their contents) and deletes, and a resourceVersion it really
// compacts away. Read as the server's ServiceAccount through the fault wrapper, which records the
// requests and injects what the cluster cannot produce: failing lists, watches and lookups.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createAdmissionChain, type Admission } from '../../src/admission/chain.js';
import { Informer, KubeApi } from '../../src/kube/informer.js';
import { NamespaceCache, NamespaceLifecycle, type Namespace } from '../../src/admission/namespace-lifecycle.js';
import { gitRepository } from '../../src/apis/v1/git-repository.js';
import { ResourceStore, type WriteContext } from '../../src/registry/store.js';
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { ClusterFaults, serverServiceAccount } from '../helpers/cluster-faults.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { eventually, rejection } from '../helpers/eventually.js';
import { KubeClient } from '../../src/kube/client.js';

const repo = (name: string) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1h', url: 'https://example.com/r.git' } });
const NAMESPACES = '/api/v1/namespaces';
const failure = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'etcdserver: leader changed', reason: 'InternalError', code: 500 };
const unavailable = { ...failure, code: 503, reason: 'ServiceUnavailable' };

let cluster: TestCluster;
let faults: ClusterFaults;
let kc: k8s.KubeConfig;

async function createNamespace(name: string, labels?: Record<string, string>): Promise<void> {
  const r = await cluster.request('POST', NAMESPACES, { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } } });
  assert.equal(r.status, 201, r.body);
}

before(async () => {
  // A short history, so that a watch left behind is really told 410 Expired.
  cluster = await TestCluster.start({ compactionWindow: 30, compactionIntervalMs: 100 });
  faults = await ClusterFaults.start(cluster);
  kc = new k8s.KubeConfig();
  kc.loadFromFile(await faults.kubeconfigForToken('gitops-toolkit', await serverServiceAccount(cluster)));
});
after(async () => {
  await faults?.stop();
  await cluster?.stop();
});

describe('NamespaceLifecycle', () => {
  let storage: SqliteStorage;
  let store: ResourceStore;
  let cache: NamespaceCache;
  let chain: Admission;
  const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'test', fieldValidation: 'Strict', warnings: [], admission: chain });

  before(async () => {
    storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    store = new ResourceStore(gitRepository, storage);
    cache = new NamespaceCache(new KubeApi(new KubeClient(kc)));
    chain = createAdmissionChain({ namespaces: new NamespaceLifecycle(cache) });
    await createNamespace('team-a', { team: 'a' });
    chain.start();
    await eventually(() => chain.hasSynced && faults.requests.some((r) => r.watch && r.status === 200));
    await eventually(() => cache.cached('team-a'));
  });
  after(async () => {
    await chain.stop();
    await storage.close();
  });
  beforeEach(() => {
    faults.clearFaults();
  });

  it('admits a create in an existing namespace from the cache, without asking the cluster', async () => {
    faults.clearRequests();
    const o = await store.create('team-a', repo('ok'), ctx());
    assert.equal(o.metadata.namespace, 'team-a');
    assert.deepEqual(faults.requests.filter((r) => !r.watch), []);
  });

  it('refuses a create in a missing namespace with 404 namespaces "x" not found, after a live lookup', async () => {
    faults.clearRequests();
    assert.deepEqual(await rejection(store.create('nowhere', repo('x'), ctx())), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'namespaces "nowhere" not found',
      reason: 'NotFound',
      details: { name: 'nowhere', kind: 'namespaces' },
      code: 404,
    });
    assert.deepEqual(
      faults.requests.filter((r) => !r.watch).map((r) => `${r.method} ${r.path} ${r.status}`),
      ['GET /api/v1/namespaces/nowhere 404'],
    );
    await assert.rejects(store.get('nowhere', 'x'), /not found/);
  });

  it('finds a namespace created a moment ago, before the watch delivers it, with a live GET', async () => {
    // Watches fail from now on, so the cache cannot learn about the new namespace.
    faults.inject({ watch: true }, { respond: { status: 500, body: failure } });
    faults.endWatches();
    faults.clearRequests();
    await createNamespace('fresh');
    assert.equal(cache.cached('fresh'), undefined);
    const o = await store.create('fresh', repo('new'), ctx());
    assert.equal(o.metadata.namespace, 'fresh');
    assert.ok(faults.requests.some((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/fresh' && r.status === 200));
    faults.clearFaults();
    await eventually(() => cache.cached('fresh'), 20_000);
  });

  it('answers 500 when the live lookup fails', async () => {
    faults.inject({ path: '/api/v1/namespaces/flaky' }, { respond: { status: 500, body: failure } });
    const st = await rejection(store.create('flaky', repo('x'), ctx()));
    assert.equal(st.code, 500);
    assert.equal(st.reason, 'InternalError');
    assert.equal(st.message, 'Internal error occurred: etcdserver: leader changed');
  });

  it('refuses creates in a namespace the cluster is terminating with 403 NamespaceTerminating, but allows updates and deletes', async () => {
    await createNamespace('leaving');
    // Content with a finalizer keeps the namespace Terminating until the test lets it go.
    const held = await cluster.request('POST', '/api/v1/namespaces/leaving/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['test.gitops.toolkit/hold'] } } });
    assert.equal(held.status, 201, held.body);
    await eventually(() => cache.cached('leaving'));
    const existing = await store.create('leaving', repo('stays'), ctx());
    assert.equal((await cluster.request('DELETE', '/api/v1/namespaces/leaving')).status, 200);
    await eventually(() => cache.cached('leaving')?.status?.phase === 'Terminating');
    assert.ok(cache.cached('leaving')?.metadata.deletionTimestamp);

    assert.deepEqual(await rejection(store.create('leaving', repo('late'), ctx())), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'gitrepositories.gitops.toolkit "late" is forbidden: unable to create new content in namespace leaving because it is being terminated',
      reason: 'Forbidden',
      details: {
        name: 'late',
        group: 'gitops.toolkit',
        kind: 'gitrepositories',
        causes: [{ reason: 'NamespaceTerminating', message: 'namespace leaving is being terminated', field: 'metadata.namespace' }],
      },
      code: 403,
    });
    const updated = await store.update('leaving', 'stays', { ...existing, metadata: { ...existing.metadata, labels: { cleanup: 'yes' } } }, ctx());
    assert.deepEqual(updated.metadata.labels, { cleanup: 'yes' });
    const { deleted } = await store.delete('leaving', 'stays', {}, ctx());
    assert.ok(deleted);

    // Released, the cluster finishes the deletion: the namespace is gone, and so a create is a 404.
    const released = await cluster.request('PATCH', '/api/v1/namespaces/leaving/configmaps/held', { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    assert.equal(released.status, 200, released.body);
    await eventually(() => !cache.cached('leaving'), 20_000);
    assert.equal((await rejection(store.create('leaving', repo('after'), ctx()))).code, 404);
  });

  it('refuses with 403 "not yet ready" while its cache has never listed', async () => {
    faults.inject({ path: NAMESPACES, watch: false }, { respond: { status: 500, body: failure } });
    const cold = createAdmissionChain({ namespaces: new NamespaceLifecycle(new NamespaceCache(new KubeApi(new KubeClient(kc))), { readyTimeoutMs: 200 }) });
    cold.start();
    try {
      const st = await rejection(store.create('team-a', repo('cold'), { ...ctx(), admission: cold }));
      assert.equal(st.code, 403);
      assert.equal(st.message, 'gitrepositories.gitops.toolkit "cold" is forbidden: not yet ready to handle request');
      assert.equal(cold.hasSynced, false);
    } finally {
      await cold.stop();
    }
  });
});

describe('Informer', () => {
  let informer: Informer<Namespace>;
  let serverToken: string;

  before(async () => {
    faults.clearFaults();
    faults.clearRequests();
    serverToken = await serverServiceAccount(cluster);
    const skc = new k8s.KubeConfig();
    skc.loadFromFile(await faults.kubeconfigForToken('informer', serverToken));
    informer = new Informer<Namespace>(new KubeApi(new KubeClient(skc)), NAMESPACES, { backoff: { baseMs: 20, maxMs: 100 } });
    informer.start();
    assert.ok(await informer.waitForSync(5000));
  });
  after(async () => {
    await informer.stop();
  });
  beforeEach(() => {
    faults.clearFaults();
  });

  const mine = (r: { bearer?: string }) => r.bearer === ClusterFaults.bearerOf(serverToken);
  const lists = () => faults.requests.filter((r) => mine(r) && r.path === NAMESPACES && !r.watch);
  const watches = () => faults.requests.filter((r) => mine(r) && r.path === NAMESPACES && r.watch);

  it('lists, then watches from the list’s resourceVersion, authenticated as the server', async () => {
    const names = informer.list().map((n) => n.metadata.name);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'gitops-system']) assert.ok(names.includes(n), `${n} listed`);
    const list = lists().filter((r) => r.status === 200).at(-1)!;
    const w = await eventually(() => watches().find((r) => r.status !== undefined)); // answered, not just sent
    const seen = () => JSON.stringify(faults.requests.filter(mine).map((r) => [r.path, r.query, r.status]));
    assert.ok(list, seen());
    assert.equal(w.status, 200, seen());
    assert.equal(w.query.allowWatchBookmarks, 'true');
    assert.ok(Number(w.query.timeoutSeconds) >= 300 && Number(w.query.timeoutSeconds) < 600);
    assert.equal(w.query.resourceVersion, (list.response as { metadata: { resourceVersion: string } }).metadata.resourceVersion, seen());
  });

  it('follows adds, updates and deletes', async () => {
    await createNamespace('a', { v: '1' });
    await eventually(() => informer.get('a')?.metadata.labels?.v === '1');
    const r = await cluster.request('PATCH', '/api/v1/namespaces/a', { body: { metadata: { labels: { v: '2' } } }, contentType: 'application/merge-patch+json' });
    assert.equal(r.status, 200, r.body);
    await eventually(() => informer.get('a')?.metadata.labels?.v === '2');
    assert.equal((await cluster.request('DELETE', '/api/v1/namespaces/a')).status, 200);
    // Empty, it is finalized and removed by the cluster's namespace controller.
    await eventually(() => !informer.get('a'), 20_000);
  });

  it('resumes a dropped watch from the last resourceVersion seen, without listing again', async () => {
    await createNamespace('b');
    await eventually(() => informer.get('b'));
    const rv = Number(informer.get('b')!.metadata.resourceVersion);
    // The watch drops, and fails for a while: the change made meanwhile must still arrive.
    faults.inject({ watch: true }, { respond: { status: 503, body: unavailable } });
    faults.clearRequests();
    faults.endWatches();
    await createNamespace('c');
    await eventually(() => watches().length >= 2);
    faults.clearFaults();
    await eventually(() => informer.get('c'));
    const from = new Set(watches().map((w) => w.query.resourceVersion));
    assert.equal(from.size, 1, `one resourceVersion resumed from: ${[...from]}`);
    assert.ok(Number([...from][0]) >= rv);
    assert.equal(lists().length, 0);
  });

  it('lists again when its resourceVersion is too old (410 Expired)', async () => {
    faults.inject({ watch: true }, { respond: { status: 503, body: unavailable } });
    faults.endWatches();
    const stale = informer.get('c')!.metadata.resourceVersion!;
    await createNamespace('d');
    // More writes than the cluster keeps history for; then wait until it has really compacted.
    for (let i = 0; i < 40; i++) assert.equal((await cluster.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `filler-${i}` } } })).status, 201);
    await eventually(async () => {
      const r = await cluster.request('GET', `${NAMESPACES}?watch=true&resourceVersion=${stale}&timeoutSeconds=1`);
      return r.status === 410 || r.body.includes('"code":410');
    }, 10_000);
    faults.clearRequests();
    faults.clearFaults();
    await eventually(() => informer.get('d'));
    assert.ok(lists().length >= 1, 'listed again after the watch was told 410');
  });
});
