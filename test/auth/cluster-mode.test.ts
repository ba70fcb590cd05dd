// The whole server in cluster mode against the kube-apiserver stand-in: settings from the
// extension-apiserver-authentication ConfigMap, bearer tokens through TokenReview, front-proxy
// headers, every request authorized by a SubjectAccessReview whose attributes are kube's, and
// NamespaceLifecycle admission.

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { generateCA, issueCert } from '../../src/pki/certs.js';
import { FakeKubeApiserver, type SubjectAccessReviewSpec } from '../helpers/kube-apiserver.js';
import { TestServer } from '../helpers/server.js';

let kube: FakeKubeApiserver;
let s: TestServer;
let proxy: { cert: string; key: string };
let impostor: { cert: string; key: string };

before(async () => {
  kube = await FakeKubeApiserver.start();
  const clientCA = await generateCA('cluster client CA');
  const frontProxyCA = await generateCA('front-proxy CA');
  proxy = await issueCert(frontProxyCA, { cn: 'front-proxy-client', client: true, days: 1 });
  impostor = await issueCert(clientCA, { cn: 'front-proxy-client', client: true, days: 1 });
  kube.setObject('/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'extension-apiserver-authentication', namespace: 'kube-system' },
    data: {
      'client-ca-file': clientCA.cert,
      'requestheader-client-ca-file': frontProxyCA.cert,
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    },
  });
  kube.setObject('/api/v1/namespaces/team-a', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' }, status: { phase: 'Active' } });
  kube.tokens.set('tok-alice', { username: 'alice', uid: 'u-1', groups: ['dev'] });
  // The cluster's RBAC, as the stand-in answers SubjectAccessReviews: alice may read and create in team-a.
  kube.authorize = (spec: SubjectAccessReviewSpec) => {
    const r = spec.resourceAttributes;
    if (spec.user === 'alice' && r?.namespace === 'team-a' && ['get', 'list', 'create'].includes(r.verb ?? '')) return { allowed: true, reason: 'test policy' };
    if (spec.user === 'bob') return { allowed: true };
    return { allowed: false, reason: 'no rule' };
  };
  s = await TestServer.start(['--controllers=', '--kubeconfig', kube.kubeconfig(), '--authorization-mode=Webhook']);
});
after(async () => {
  await s?.cleanup();
  await kube?.stop();
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

const sars = () => kube.requests.filter((r) => r.path === '/apis/authorization.k8s.io/v1/subjectaccessreviews').map((r) => (r.body as { spec: SubjectAccessReviewSpec }).spec);
const repo = (ns: string) => JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'app', namespace: ns }, spec: { interval: '5m', url: 'https://example.com/a.git' } });

describe('cluster mode', () => {
  it('a bearer token is checked with a TokenReview and the request with a SubjectAccessReview carrying kube\'s attributes', async () => {
    kube.clearRequests();
    const r = await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories', { token: 'tok-alice' });
    assert.equal(r.status, 200, r.body);
    const review = kube.requests.find((x) => x.path === '/apis/authentication.k8s.io/v1/tokenreviews');
    assert.deepEqual((review?.body as { spec: unknown }).spec, { token: 'tok-alice' });
    const [spec] = sars();
    assert.deepEqual(spec, {
      resourceAttributes: { namespace: 'team-a', verb: 'list', group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' },
      user: 'alice',
      groups: ['dev', 'system:authenticated'],
      uid: 'u-1',
    });
  });

  it('a denied request is a 403 naming the user; an unknown token is a 401', async () => {
    const r = await call('DELETE', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories/x', { token: 'tok-alice' });
    assert.equal(r.status, 403);
    assert.match(JSON.parse(r.body).message, /User "alice" cannot delete resource "gitrepositories" in API group "gitops.toolkit" in the namespace "team-a": no rule/);
    assert.equal((await call('GET', '/apis/gitops.toolkit/v1/gitrepositories', { token: 'wrong' })).status, 401);
    assert.equal((await call('GET', '/apis/gitops.toolkit/v1/gitrepositories')).status, 401);
  });

  it('the artifact subresource is authorized as get on gitrepositories/artifact', async () => {
    kube.clearRequests();
    await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories/app/artifact', { token: 'tok-alice' });
    assert.deepEqual(sars()[0].resourceAttributes, { namespace: 'team-a', verb: 'get', group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories', subresource: 'artifact', name: 'app' });
  });

  it('front-proxy headers are believed only from the front proxy\'s certificate', async () => {
    kube.clearRequests();
    const headers = { 'X-Remote-User': 'bob', 'X-Remote-Group': 'ops', 'X-Remote-Extra-Acme.com%2FProject': 'a%2Fb' };
    const viaProxy = await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories', { cert: proxy, headers });
    assert.equal(viaProxy.status, 200, viaProxy.body);
    const spec = sars()[0];
    assert.equal(spec.user, 'bob');
    assert.deepEqual(spec.groups, ['ops', 'system:authenticated']);
    assert.deepEqual(spec.extra, { 'acme.com/project': ['a%2Fb'] }, 'keys are lowercased and percent-decoded, values kept, as kube does');
    kube.clearRequests();
    // Same CN, but from the client CA: it is itself, not the user it names.
    await call('GET', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories', { cert: impostor, headers });
    assert.equal(sars()[0]?.user, 'front-proxy-client');
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
