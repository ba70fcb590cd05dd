// KubeClient against the real local cluster in process: discovery and the kind mapping (refreshed when
// a CRD appears), server-side apply, dry run, conflicts and force, delete with propagation, list by
// label, impersonation, typed errors, and a client from kubeconfig text.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubeClient, KubeError, UnknownKindError, serviceAccountIdentity, type KubeObject } from '../../src/kube/client.js';
import { KubeApi, KubeApiError } from '../../src/kube/informer.js';
import { eventually } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';

const CM = { apiVersion: 'v1', kind: 'ConfigMap' };
const SECRET = { apiVersion: 'v1', kind: 'Secret' };

async function failure(p: Promise<unknown>): Promise<KubeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KubeError) return e;
    throw e;
  }
  assert.fail('expected a KubeError');
}

const configMap = (name: string, data: Record<string, string>, extra: Partial<KubeObject['metadata']> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', ...extra },
  data,
});

describe('KubeClient', () => {
  let cluster: TestCluster;
  let kc: k8s.KubeConfig;
  let client: KubeClient;

  before(async () => {
    cluster = await TestCluster.start();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    client = new KubeClient(kc);
  });
  after(() => cluster?.stop());

  it('discovers built-in kinds and maps them to resources', async () => {
    assert.deepEqual(await client.resourceFor(CM), { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true });
    assert.deepEqual(await client.resourceFor({ apiVersion: 'apps/v1', kind: 'Deployment' }), { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true });
    const cr = await client.resourceFor({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' });
    assert.equal(cr.resource, 'clusterroles');
    assert.equal(cr.namespaced, false);
    assert.equal((await client.resourceFor({ apiVersion: 'v1', kind: 'Namespace' })).namespaced, false);
    const all = await client.resources();
    assert.ok(all.some((r) => r.group === 'apiextensions.k8s.io' && r.kind === 'CustomResourceDefinition'));
    assert.ok(!all.some((r) => r.resource.includes('/')), 'no subresources in the mapping');
  });

  it('fails an unknown kind as a typed error, refreshing discovery at most once per interval', async () => {
    const c = new KubeClient(kc, { discoveryMinIntervalMs: 60_000 });
    const e = await failure(c.resourceFor({ apiVersion: 'nope.example.com/v1', kind: 'Nope' }));
    assert.ok(e instanceof UnknownKindError);
    assert.equal(e.code, 404);
    assert.equal(e.reason, 'NotFound');
    assert.match(e.message, /no matches for kind "Nope" in version "nope.example.com\/v1"/);
    await failure(c.resourceFor({ apiVersion: 'nope.example.com/v1', kind: 'Nope' }));
    await failure(c.get({ apiVersion: 'nope.example.com/v1', kind: 'Nope', name: 'x' }));
    assert.equal(c.discoveryRefreshes, 1, 'misses within the interval do not rediscover');
  });

  it("maps a CRD's kind once the CRD is created", async () => {
    const widget = { apiVersion: 'widgets.example.com/v1', kind: 'Widget' };
    const bounded = new KubeClient(kc, { discoveryMinIntervalMs: 60_000 });
    const eager = new KubeClient(kc, { discoveryMinIntervalMs: 0 });
    assert.ok((await failure(bounded.resourceFor(widget))) instanceof UnknownKindError);
    assert.ok((await failure(eager.resourceFor(widget))) instanceof UnknownKindError);
    await client.apply({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.widgets.example.com' },
      spec: {
        group: 'widgets.example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    const info = await eventually(() => eager.resourceFor(widget).catch(() => undefined), 10_000, () => 'Widget never appeared in discovery');
    assert.deepEqual(info, { group: 'widgets.example.com', version: 'v1', resource: 'widgets', kind: 'Widget', namespaced: true });
    assert.ok((await failure(bounded.resourceFor(widget))) instanceof UnknownKindError, 'a client that just refreshed waits out its interval');
    // The client that applied the CRD refreshes on the next miss, whatever its interval.
    await eventually(() => client.apply({ ...widget, metadata: { name: 'w1', namespace: 'default' }, spec: { size: 3 } }).catch(() => undefined), 10_000);
    assert.deepEqual((await client.get({ ...widget, name: 'w1', namespace: 'default' })).spec, { size: 3 });
  });

  it('creates, updates and leaves alone with server-side apply, as field manager gitops-toolkit', async () => {
    const created = await client.apply(configMap('ssa', { a: '1' }));
    assert.equal(created.data && (created.data as Record<string, string>).a, '1');
    const mf = created.metadata?.managedFields ?? [];
    assert.ok(
      mf.some((m) => m.manager === 'gitops-toolkit' && m.operation === 'Apply'),
      JSON.stringify(mf),
    );
    const updated = await client.apply(configMap('ssa', { a: '2', b: '3' }));
    assert.deepEqual(updated.data, { a: '2', b: '3' });
    assert.notEqual(updated.metadata?.resourceVersion, created.metadata?.resourceVersion);
    const same = await client.apply(configMap('ssa', { a: '2', b: '3' }));
    assert.equal(same.metadata?.resourceVersion, updated.metadata?.resourceVersion, 'an unchanged apply writes nothing');
    // A field the manager no longer applies is removed.
    const pruned = await client.apply(configMap('ssa', { a: '2' }));
    assert.deepEqual(pruned.data, { a: '2' });
  });

  it('writes nothing on a dry run', async () => {
    const dry = await client.apply(configMap('dry', { a: '1' }), { dryRun: true });
    assert.equal(dry.metadata?.name, 'dry');
    const e = await failure(client.get({ ...CM, name: 'dry', namespace: 'default' }));
    assert.equal(e.code, 404);
    assert.equal(e.reason, 'NotFound');
    assert.equal(await client.getOptional({ ...CM, name: 'dry', namespace: 'default' }), undefined);

    const real = await client.apply(configMap('dry', { a: '1' }));
    const dryUpdate = await client.apply(configMap('dry', { a: '2' }), { dryRun: true });
    assert.deepEqual(dryUpdate.data, { a: '2' });
    const still = await client.get({ ...CM, name: 'dry', namespace: 'default' });
    assert.deepEqual(still.data, { a: '1' });
    assert.equal(still.metadata?.resourceVersion, real.metadata?.resourceVersion);
    await client.delete({ ...CM, name: 'dry', namespace: 'default' }, { dryRun: true });
    assert.ok(await client.getOptional({ ...CM, name: 'dry', namespace: 'default' }), 'a dry-run delete leaves the object');
  });

  it('fails on a field another manager owns (409 with causes) and takes it over with force', async () => {
    await client.apply(configMap('owned', { a: '1' }), { fieldManager: 'other' });
    const e = await failure(client.apply(configMap('owned', { a: '2' })));
    assert.equal(e.code, 409);
    assert.equal(e.reason, 'Conflict');
    assert.ok(
      e.causes.some((c) => c.reason === 'FieldManagerConflict' && c.field === '.data.a' && /other/.test(c.message ?? '')),
      JSON.stringify(e.causes),
    );
    assert.deepEqual((await client.get({ ...CM, name: 'owned', namespace: 'default' })).data, { a: '1' });

    const forced = await client.apply(configMap('owned', { a: '2' }), { force: true });
    assert.deepEqual(forced.data, { a: '2' });
    const mine = forced.metadata?.managedFields?.find((m) => m.manager === 'gitops-toolkit');
    assert.ok(mine && JSON.stringify(mine.fieldsV1).includes('f:a'), JSON.stringify(forced.metadata?.managedFields));
    const theirs = forced.metadata?.managedFields?.find((m) => m.manager === 'other');
    assert.ok(!theirs || !JSON.stringify(theirs.fieldsV1).includes('f:a'), 'the other manager lost the field');
  });

  describe('delete with a propagation policy', () => {
    const ownerWithDependent = async (name: string) => {
      const owner = await client.apply(configMap(`${name}-owner`, { role: 'owner' }));
      await client.apply(
        configMap(`${name}-dep`, { role: 'dependent' }, {
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid!, blockOwnerDeletion: true }],
        }),
      );
      return { owner: { ...CM, name: `${name}-owner`, namespace: 'default' }, dep: { ...CM, name: `${name}-dep`, namespace: 'default' } };
    };

    it('Background: the owner goes at once, its dependents after', async () => {
      const { owner, dep } = await ownerWithDependent('bg');
      await client.delete(owner, { propagationPolicy: 'Background' });
      assert.equal(await client.getOptional(owner), undefined);
      await eventually(async () => (await client.getOptional(dep)) === undefined, 10_000, () => 'dependent not collected');
    });

    it('Foreground: the owner waits with foregroundDeletion until its dependents are gone', async () => {
      const { owner, dep } = await ownerWithDependent('fg');
      const pending = await client.delete(owner, { propagationPolicy: 'Foreground' });
      assert.ok(pending, 'the owner is answered, still there');
      assert.ok(pending.metadata?.finalizers?.includes('foregroundDeletion'), JSON.stringify(pending.metadata));
      assert.ok(pending.metadata?.deletionTimestamp);
      await eventually(async () => (await client.getOptional(dep)) === undefined && (await client.getOptional(owner)) === undefined, 10_000, () => 'owner or dependent left');
    });

    it('Orphan: the dependents stay, without the reference', async () => {
      const { owner, dep } = await ownerWithDependent('orphan');
      await client.delete(owner, { propagationPolicy: 'Orphan' });
      await eventually(async () => (await client.getOptional(owner)) === undefined, 10_000, () => 'owner left');
      const left = await eventually(async () => {
        const d = await client.getOptional(dep);
        return d && !d.metadata?.ownerReferences?.length ? d : undefined;
      }, 10_000, () => 'ownerReferences not removed');
      assert.deepEqual(left.data, { role: 'dependent' });
    });

    it('a missing object is a 404', async () => {
      const e = await failure(client.delete({ ...CM, name: 'never-was', namespace: 'default' }));
      assert.equal(e.code, 404);
      assert.equal(e.reason, 'NotFound');
    });
  });

  it('lists by label selector across kinds, each item with its apiVersion and kind', async () => {
    await client.apply(configMap('lbl-cm', { a: '1' }, { labels: { app: 'lbl' } }));
    await client.apply({ ...SECRET, metadata: { name: 'lbl-secret', namespace: 'default', labels: { app: 'lbl' } }, stringData: { k: 'v' } });
    await client.apply(configMap('lbl-other', { a: '1' }, { labels: { app: 'other' } }));
    const got = await client.listAcross([CM, SECRET], { labelSelector: 'app=lbl' });
    assert.deepEqual(
      got.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`).sort(),
      ['v1 ConfigMap default/lbl-cm', 'v1 Secret default/lbl-secret'],
    );
    assert.deepEqual(
      (await client.list(CM, { namespace: 'kube-system', labelSelector: 'app=lbl' })).map((o) => o.metadata?.name),
      [],
      'a namespace narrows the list',
    );
  });

  it('impersonates a ServiceAccount: forbidden without rights, allowed with a RoleBinding', async () => {
    await client.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: 'default' } });
    const sa = serviceAccountIdentity('default', 'deployer');
    assert.deepEqual(sa, { user: 'system:serviceaccount:default:deployer', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] });
    const e = await failure(client.apply(configMap('as-sa', { a: '1' }), { impersonate: sa }));
    assert.equal(e.code, 403);
    assert.equal(e.reason, 'Forbidden');
    assert.match(e.message, /system:serviceaccount:default:deployer/);
    assert.equal(await client.getOptional({ ...CM, name: 'as-sa', namespace: 'default' }), undefined);

    await client.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'deployer-edit', namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'default' }],
    });
    const asSa = client.as(sa);
    const made = await eventually(() => asSa.apply(configMap('as-sa', { a: '1' })).catch(() => undefined), 10_000, () => 'the RoleBinding never took effect');
    assert.ok(made.metadata?.managedFields?.some((m) => m.manager === 'gitops-toolkit'));
    // Elsewhere it still has no rights.
    const other = await failure(asSa.list(CM, { namespace: 'kube-system' }));
    assert.equal(other.code, 403);
    assert.match(other.message, /system:serviceaccount:default:deployer/);
  });

  it('fails fast and typed when the server is unreachable or silent, and bounds a response', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const to = (port: number) => {
      const k = new k8s.KubeConfig();
      k.loadFromOptions({
        clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 'x' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      return k;
    };
    let t0 = Date.now();
    const refused = await failure(new KubeClient(to(closed)).get({ ...CM, name: 'x', namespace: 'default' }));
    assert.equal(refused.code, 0);
    assert.equal(refused.reason, 'Unreachable');
    assert.ok(refused.transport);
    assert.match(refused.message, /ECONNREFUSED/);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);

    // A server that accepts and never answers.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      t0 = Date.now();
      const timedOut = await failure(new KubeClient(to((silent.address() as net.AddressInfo).port), { timeoutMs: 300 }).getPath('/api'));
      assert.equal(timedOut.reason, 'Timeout');
      assert.equal(timedOut.code, 0);
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }

    const small = new KubeClient(kc, { maxResponseBytes: 512 });
    const big = await failure(small.getPath('/openapi/v2'));
    assert.equal(big.reason, 'ResponseTooLarge');
  });

  it('builds a client from kubeconfig text, refusing exec plugins and local file paths', async () => {
    const text = await readFile(cluster.kubeconfig, 'utf8');
    const c = KubeClient.fromKubeconfigText(text);
    const ns = await c.get({ apiVersion: 'v1', kind: 'Namespace', name: 'default' });
    assert.equal(ns.metadata?.name, 'default');

    const withUser = (user: Record<string, unknown>) =>
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${cluster.url}"}}]\nusers: [{name: u, user: ${JSON.stringify(user)}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;
    assert.throws(() => KubeClient.fromKubeconfigText(withUser({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh' } })), (e: KubeError) => e instanceof KubeError && /exec/.test(e.message));
    assert.throws(() => KubeClient.fromKubeconfigText(withUser({ tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' })), (e: KubeError) => e instanceof KubeError && /tokenFile/.test(e.message));
    assert.throws(() => KubeClient.fromKubeconfigText('current-context: nowhere\n'), KubeError);
    assert.throws(() => KubeClient.fromKubeconfigText(': : :'), KubeError);
  });

  it('keeps KubeApi working over the client, its errors KubeApiError', async () => {
    const api = new KubeApi(client);
    const list = await api.get<{ items: unknown[] }>('/api/v1/namespaces');
    assert.ok(list.items.length > 0);
    const e = await api.get('/api/v1/namespaces/nope').catch((x) => x);
    assert.ok(e instanceof KubeApiError && e.code === 404 && e.status?.reason === 'NotFound');
  });
});

describe('KubeClient legacy discovery', () => {
  // A server without aggregated discovery: /api, /apis and one document per group version, one of them failing.
  const accepts: string[] = [];
  let server: http.Server;
  let client: KubeClient;
  before(async () => {
    const docs: Record<string, unknown> = {
      '/api': { kind: 'APIVersions', versions: ['v1'] },
      '/apis': { kind: 'APIGroupList', groups: [{ name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }] }, { name: 'broken.example.com', versions: [{ groupVersion: 'broken.example.com/v1', version: 'v1' }] }] },
      '/api/v1': { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'pods', kind: 'Pod', namespaced: true }, { name: 'pods/log', kind: 'Pod', namespaced: true }, { name: 'nodes', kind: 'Node', namespaced: false }] },
      '/apis/apps/v1': { kind: 'APIResourceList', groupVersion: 'apps/v1', resources: [{ name: 'deployments', kind: 'Deployment', namespaced: true }, { name: 'deployments/scale', kind: 'Scale', namespaced: true }] },
    };
    server = http.createServer((req, res) => {
      accepts.push(`${req.url} ${req.headers.accept}`);
      const doc = docs[req.url ?? ''];
      res.setHeader('Content-Type', 'application/json');
      if (!doc) res.statusCode = 503;
      res.end(JSON.stringify(doc ?? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 503, reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const k = new k8s.KubeConfig();
    k.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    client = new KubeClient(k);
  });
  after(() => new Promise((r) => server.close(r)));

  it('maps kinds from per-group-version documents, skipping subresources and a failing group', async () => {
    assert.deepEqual(await client.resourceFor({ apiVersion: 'v1', kind: 'Pod' }), { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true });
    assert.deepEqual(await client.resourceFor({ apiVersion: 'v1', kind: 'Node' }), { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false });
    assert.deepEqual(await client.resourceFor({ apiVersion: 'apps/v1', kind: 'Deployment' }), { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true });
    assert.ok((await failure(client.resourceFor({ apiVersion: 'apps/v1', kind: 'Scale' }))) instanceof UnknownKindError, 'a subresource is no kind of its own');
    assert.ok(accepts.some((a) => a.startsWith('/apis ') && a.includes('g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList')), 'asks for aggregated discovery first');
    const e = await failure(client.getPath('/apis/broken.example.com/v1'));
    assert.equal(e.code, 503);
    assert.equal(e.reason, 'ServiceUnavailable');
  });
});
