// The whole server in cluster mode against the local cluster: authentication settings from the
// cluster's extension-apiserver-authentication ConfigMap (its client CA, its front-proxy CA), bearer
// tokens of its --token-auth-file checked with TokenReview, front-proxy headers from its front-proxy
// client certificate, every request authorized by a SubjectAccessReview that the cluster's RBAC
// answers, and NamespaceLifecycle admission over its namespaces. The server talks to the cluster as
// its ServiceAccount, through the fault wrapper, which records the reviews it sends.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issueCert } from '../../src/pki/certs.js';
import { accessReview, ClusterFaults, serverServiceAccount } from '../helpers/cluster-faults.js';
import { eventually } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { TestServer } from '../helpers/server.js';

interface SARSpec {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes?: Record<string, string>;
}

const RBAC_API = 'rbac.authorization.k8s.io';
let dir: string;
let cluster: TestCluster;
let faults: ClusterFaults;
let s: TestServer;
let proxy: { cert: string; key: string };
let impostor: { cert: string; key: string };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cluster-mode-'));
  const tokens = join(dir, 'tokens.csv');
  await writeFile(tokens, 'tok-alice,alice,u-1,"dev"\n');
  cluster = await TestCluster.start({ tokenAuthFile: tokens });
  faults = await ClusterFaults.start(cluster);
  // The cluster's own front-proxy client certificate (what its aggregator presents), and one with the
  // same CN from its client CA.
  assert.ok(cluster.cluster.frontProxy, 'the local cluster has a front-proxy CA');
  proxy = cluster.cluster.frontProxy.client;
  impostor = await issueCert({ cert: cluster.cluster.certs.caCert, key: cluster.cluster.certs.caKey }, { cn: 'front-proxy-client', client: true, days: 1 });

  const post = async (path: string, body: object) => {
    const r = await cluster.request('POST', path, { body });
    assert.equal(r.status, 201, r.body);
  };
  await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
  // The cluster's RBAC: alice may read and create GitRepositories in team-a, bob may do anything.
  await post(`/apis/${RBAC_API}/v1/namespaces/team-a/roles`, {
    apiVersion: `${RBAC_API}/v1`,
    kind: 'Role',
    metadata: { name: 'repos' },
    rules: [{ apiGroups: ['gitops.toolkit'], resources: ['gitrepositories', 'gitrepositories/artifact'], verbs: ['get', 'list', 'create'] }],
  });
  await post(`/apis/${RBAC_API}/v1/namespaces/team-a/rolebindings`, {
    apiVersion: `${RBAC_API}/v1`,
    kind: 'RoleBinding',
    metadata: { name: 'alice-repos' },
    roleRef: { apiGroup: RBAC_API, kind: 'Role', name: 'repos' },
    subjects: [{ apiGroup: RBAC_API, kind: 'User', name: 'alice' }],
  });
  await post(`/apis/${RBAC_API}/v1/clusterrolebindings`, {
    apiVersion: `${RBAC_API}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'bob-admin' },
    roleRef: { apiGroup: RBAC_API, kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: RBAC_API, kind: 'User', name: 'bob' }],
  });
  const token = await serverServiceAccount(cluster);
  await eventually(async () => (await accessReview(cluster, { user: 'bob', resourceAttributes: { verb: 'create', group: 'gitops.toolkit', resource: 'gitrepositories', namespace: 'ghost' } })).allowed);
  await eventually(async () => (await accessReview(cluster, { user: 'alice', resourceAttributes: { verb: 'list', group: 'gitops.toolkit', resource: 'gitrepositories', namespace: 'team-a' } })).allowed);
  s = await TestServer.start(['--controllers=', '--kubeconfig', await faults.kubeconfigForToken('gitops-toolkit', token), '--authorization-mode=Webhook']);
});
after(async () => {
  await s?.cleanup();
  await faults?.stop();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

function call(method: string, path: string, o: { token?: string; cert?: { cert: string; key: string }; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: s.port,
        method,
        path,
        ca: s.caCert,
        ...(o.cert ?? {}),
        headers: { ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}), ...(o.body ? { 'Content-Type': 'application/json' } : {}), ...o.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const sars = () => faults.requests.filter((r) => r.path === '/apis/authorization.k8s.io/v1/subjectaccessreviews').map((r) => (r.body as { spec: SARSpec }).spec);
const repo = (ns: string) => JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'app', namespace: ns }, spec: { interval: '5m', url: 'https://example.com/a.git' } });

describe('cluster mode', () => {
  it('a bearer token is checked with a TokenReview and the request with a SubjectAccessReview carrying kube\'s attributes', async () => {
    faults.clearRequests();
    const r = await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories', { token: 'tok-alice' });
    assert.equal(r.status, 200, r.body);
    const review = faults.requests.find((x) => x.path === '/apis/authentication.k8s.io/v1/tokenreviews');
    assert.deepEqual((review?.body as { spec: unknown }).spec, { token: 'tok-alice' });
    assert.equal(review?.status, 201);
    const [spec] = sars();
    assert.deepEqual(spec, {
      resourceAttributes: { namespace: 'team-a', verb: 'list', group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' },
      user: 'alice',
      groups: ['dev', 'system:authenticated'],
      uid: 'u-1',
    });
  });

  it('a request the cluster\'s RBAC denies is a 403 naming the user; an unknown token is a 401', async () => {
    const r = await call('DELETE', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories/x', { token: 'tok-alice' });
    assert.equal(r.status, 403);
    assert.match(JSON.parse(r.body).message, /User "alice" cannot delete resource "gitrepositories" in API group "gitops.toolkit" in the namespace "team-a"/);
    const elsewhere = await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-b/gitrepositories', { token: 'tok-alice' });
    assert.equal(elsewhere.status, 403, 'the Role is team-a\'s only');
    assert.equal((await call('GET', '/apis/gitops.toolkit/v1/gitrepositories', { token: 'wrong' })).status, 401);
    assert.equal((await call('GET', '/apis/gitops.toolkit/v1/gitrepositories')).status, 401);
  });

  it('the artifact subresource is authorized as get on gitrepositories/artifact', async () => {
    faults.clearRequests();
    await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories/app/artifact', { token: 'tok-alice' });
    assert.deepEqual(sars()[0].resourceAttributes, { namespace: 'team-a', verb: 'get', group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories', subresource: 'artifact', name: 'app' });
  });

  it('front-proxy headers are believed only from the front proxy\'s certificate', async () => {
    faults.clearRequests();
    const headers = { 'X-Remote-User': 'bob', 'X-Remote-Group': 'ops', 'X-Remote-Extra-Acme.com%2FProject': 'a%2Fb' };
    const viaProxy = await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories', { cert: proxy, headers });
    assert.equal(viaProxy.status, 200, viaProxy.body);
    const spec = sars()[0];
    assert.equal(spec.user, 'bob');
    assert.deepEqual(spec.groups, ['ops', 'system:authenticated']);
    assert.deepEqual(spec.extra, { 'acme.com/project': ['a%2Fb'] }, 'keys are lowercased and percent-decoded, values kept, as kube does');
    faults.clearRequests();
    // Same CN, but from the client CA: it is itself, not the user it names, and RBAC does not know it.
    const asItself = await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories', { cert: impostor, headers });
    assert.equal(sars()[0]?.user, 'front-proxy-client');
    assert.equal(asItself.status, 403);
  });

  it('NamespaceLifecycle: creating in a namespace that does not exist is a 404; in an existing one it works', async () => {
    const missing = await call('POST', '/apis/gitops.toolkit/v1/namespaces/ghost/gitrepositories', { token: 'tok-alice', body: repo('ghost') });
    // alice may not create in ghost; bob (through the proxy) may do anything.
    const asBob = await call('POST', '/apis/gitops.toolkit/v1/namespaces/ghost/gitrepositories', { cert: proxy, headers: { 'X-Remote-User': 'bob' }, body: repo('ghost') });
    assert.equal(missing.status, 403);
    assert.equal(asBob.status, 404, asBob.body);
    assert.match(JSON.parse(asBob.body).message, /namespaces "ghost" not found/);
    const ok = await call('POST', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories', { token: 'tok-alice', body: repo('team-a') });
    assert.equal(ok.status, 201, ok.body);
  });

  it('readiness includes the admission caches', async () => {
    const r = await call('GET', '/readyz?verbose');
    assert.equal(r.status, 200);
    assert.match(r.body, /\[\+\]admission ok/);
  });
});
