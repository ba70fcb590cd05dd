// NamespaceLifecycle and the watched caches behind it, against the kube-apiserver stand-in, driven
// through a real ResourceStore on in-memory SQLite.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createAdmissionChain, type Admission } from '../../src/admission/chain.js';
import { Informer, KubeApi } from '../../src/kube/informer.js';
import { NamespaceCache, NamespaceLifecycle, type Namespace } from '../../src/admission/namespace-lifecycle.js';
import { gitRepository } from '../../src/apis/v1/git-repository.js';
import { ResourceStore, type WriteContext } from '../../src/registry/store.js';
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { FakeKubeApiserver } from '../helpers/kube-apiserver.js';
import { eventually, rejection } from '../helpers/eventually.js';

const repo = (name: string) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1h', url: 'https://example.com/r.git' } });
const nsPath = (name: string) => `/api/v1/namespaces/${name}`;
const failure = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'etcdserver: leader changed', reason: 'InternalError', code: 500 };

describe('NamespaceLifecycle', () => {
  let kube: FakeKubeApiserver;
  let kc: k8s.KubeConfig;
  let storage: SqliteStorage;
  let store: ResourceStore;
  let cache: NamespaceCache;
  let chain: Admission;
  const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'test', fieldValidation: 'Strict', warnings: [], admission: chain });

  before(async () => {
    kube = await FakeKubeApiserver.start();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kube.kubeconfig());
    storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    store = new ResourceStore(gitRepository, storage);
    cache = new NamespaceCache(new KubeApi(kc));
    chain = createAdmissionChain({ namespaces: new NamespaceLifecycle(cache) });
    kube.setObject(nsPath('team-a'), { metadata: { labels: { team: 'a' } }, status: { phase: 'Active' } });
    chain.start();
    await eventually(() => chain.hasSynced && kube.requests.some((r) => r.query.watch));
  });
  after(async () => {
    await chain.stop();
    await storage.close();
    await kube.stop();
  });
  beforeEach(() => {
    kube.fault = undefined;
  });

  it('admits a create in an existing namespace from the cache, without asking kube-apiserver', async () => {
    kube.clearRequests();
    const o = await store.create('team-a', repo('ok'), ctx());
    assert.equal(o.metadata.namespace, 'team-a');
    assert.deepEqual(kube.requests.filter((r) => !r.query.watch), []);
  });

  it('refuses a create in a missing namespace with 404 namespaces "x" not found, after a live lookup', async () => {
    kube.clearRequests();
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
      kube.requests.filter((r) => !r.query.watch).map((r) => `${r.method} ${r.path}`),
      ['GET /api/v1/namespaces/nowhere'],
    );
    await assert.rejects(store.get('nowhere', 'x'), /not found/);
  });

  it('finds a namespace created a moment ago, before the watch delivers it, with a live GET', async () => {
    // Watches fail from now on, so the cache cannot learn about the new namespace.
    kube.fault = (r) => (r.query.watch ? { status: 500, body: failure } : undefined);
    kube.closeWatches();
    kube.clearRequests();
    kube.setObject(nsPath('fresh'), { metadata: {}, status: { phase: 'Active' } });
    assert.equal(cache.cached('fresh'), undefined);
    const o = await store.create('fresh', repo('new'), ctx());
    assert.equal(o.metadata.namespace, 'fresh');
    assert.ok(kube.requests.some((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/fresh' && !r.query.watch));
    kube.fault = undefined;
    await eventually(() => cache.cached('fresh'));
  });

  it('answers 500 when the live lookup fails', async () => {
    kube.fault = (r) => (r.path === '/api/v1/namespaces/flaky' ? { status: 500, body: failure } : undefined);
    const st = await rejection(store.create('flaky', repo('x'), ctx()));
    assert.equal(st.code, 500);
    assert.equal(st.reason, 'InternalError');
    assert.equal(st.message, 'Internal error occurred: etcdserver: leader changed');
  });

  it('refuses creates in a terminating namespace with 403 NamespaceTerminating, but allows updates and deletes', async () => {
    kube.setObject(nsPath('leaving'), { metadata: {}, status: { phase: 'Active' } });
    await eventually(() => cache.cached('leaving'));
    const existing = await store.create('leaving', repo('stays'), ctx());
    kube.setObject(nsPath('leaving'), { metadata: { deletionTimestamp: '2025-01-01T00:00:00Z' }, status: { phase: 'Terminating' } });
    await eventually(() => cache.cached('leaving')?.status?.phase === 'Terminating');

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
  });

  it('treats a deletionTimestamp alone as terminating', async () => {
    kube.setObject(nsPath('marked'), { metadata: { deletionTimestamp: '2025-01-01T00:00:00Z' } });
    await eventually(() => cache.cached('marked'));
    const st = await rejection(store.create('marked', repo('x'), ctx()));
    assert.equal(st.code, 403);
    assert.equal(st.details?.causes?.[0]?.reason, 'NamespaceTerminating');
  });

  it('refuses with 403 "not yet ready" while its cache has never listed', async () => {
    kube.fault = (r) => (r.path === '/api/v1/namespaces' ? { status: 500, body: failure } : undefined);
    const cold = createAdmissionChain({ namespaces: new NamespaceLifecycle(new NamespaceCache(new KubeApi(kc)), { readyTimeoutMs: 200 }) });
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
  let kube: FakeKubeApiserver;
  let informer: Informer<Namespace>;

  before(async () => {
    kube = await FakeKubeApiserver.start();
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kube.kubeconfig());
    informer = new Informer<Namespace>(new KubeApi(kc), '/api/v1/namespaces', { backoff: { baseMs: 20, maxMs: 100 } });
    informer.start();
    assert.ok(await informer.waitForSync(5000));
  });
  after(async () => {
    await informer.stop();
    await kube.stop();
  });

  const lists = () => kube.requests.filter((r) => r.path === '/api/v1/namespaces' && !r.query.watch);
  const watches = () => kube.requests.filter((r) => r.path === '/api/v1/namespaces' && r.query.watch === 'true');

  it('lists, then watches from the list’s resourceVersion, authenticated as the server', async () => {
    assert.deepEqual(
      informer.list().map((n) => n.metadata.name).sort(),
      ['default', 'kube-node-lease', 'kube-public', 'kube-system'],
    );
    const w = await eventually(() => watches()[0]);
    assert.equal(w.user, FakeKubeApiserver.SERVER_USER);
    assert.equal(w.query.allowWatchBookmarks, 'true');
    assert.ok(Number(w.query.timeoutSeconds) >= 300 && Number(w.query.timeoutSeconds) < 600);
    assert.equal(w.query.resourceVersion, kube.getObject('/api/v1/namespaces/kube-node-lease')!.metadata.resourceVersion);
  });

  it('follows adds, updates and deletes', async () => {
    kube.setObject(nsPath('a'), { metadata: { labels: { v: '1' } } });
    await eventually(() => informer.get('a')?.metadata.labels?.v === '1');
    kube.setObject(nsPath('a'), { metadata: { labels: { v: '2' } } });
    await eventually(() => informer.get('a')?.metadata.labels?.v === '2');
    kube.deleteObject(nsPath('a'));
    await eventually(() => !informer.get('a'));
  });

  it('resumes a dropped watch from the last resourceVersion seen, without listing again', async () => {
    kube.setObject(nsPath('b'), { metadata: {} });
    await eventually(() => informer.get('b'));
    const rv = informer.get('b')!.metadata.resourceVersion;
    // The watch drops, and fails for a while: the change made meanwhile must still arrive.
    kube.fault = (r) => (r.query.watch ? { status: 503, body: { ...failure, code: 503, reason: 'ServiceUnavailable' } } : undefined);
    kube.clearRequests();
    kube.closeWatches();
    kube.setObject(nsPath('c'), { metadata: {} });
    await eventually(() => watches().length >= 2);
    kube.fault = undefined;
    await eventually(() => informer.get('c'));
    assert.ok(watches().every((w) => w.query.resourceVersion === rv));
    assert.equal(lists().length, 0);
  });

  it('lists again when its resourceVersion is too old (410 Expired)', async () => {
    kube.fault = (r) => (r.query.watch ? { status: 503, body: { ...failure, code: 503 } } : undefined);
    kube.closeWatches();
    kube.setObject(nsPath('d'), { metadata: {} });
    kube.compact();
    kube.clearRequests();
    kube.fault = undefined;
    await eventually(() => informer.get('d'));
    assert.ok(lists().length >= 1, 'listed again after the watch was told 410');
  });
});
