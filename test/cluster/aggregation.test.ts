// The aggregation layer end to end: the local cluster in-process, the real gitops server as a child
// process in cluster mode against it (front-proxy authn from the extension-apiserver-authentication
// ConfigMap the cluster publishes, TokenReview, SubjectAccessReview back to the cluster), registered
// by Service + EndpointSlice + APIService; the real kubectl through the cluster as admin, as a user
// with only view, and as a ServiceAccount token; the backend down (503, Available=False) and back.
// An echo backend checks the front-proxy headers, body and response piping, streaming, and the
// ServiceNotFound/MissingEndpoints conditions; a webhook behind a Service checks the resolver.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { LocalSecretReader } from '../../src/cluster/embedded.js';
import { generateCA, issueCert, type CertKeyPair } from '../../src/pki/certs.js';
import { eventually } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { TestServer } from '../helpers/server.js';

type Any = Record<string, any>;
let c: TestCluster;
let s: TestServer;
let dir: string;
let backendCA: CertKeyPair;
let viewer: string;

const docs = (...objs: unknown[]) => objs.map((o) => yaml.dump(o)).join('---\n');
async function k(args: string[], o: { input?: string; kubeconfig?: string } = {}): Promise<string> {
  const r = await c.kubectl(args, o);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
const apply = (...objs: unknown[]) => k(['apply', '-f', '-'], { input: docs(...objs) });

/** Service + EndpointSlice pointing at 127.0.0.1:port, as the endpoints controller would for a Pod. */
const registration = (ns: string, name: string, port: number, o: { ready?: boolean } = {}) => [
  { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'https', port: 443, targetPort: port }] } },
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: o.ready ?? true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  },
];
const apiService = (group: string, version: string, ns: string, name: string, ca: string, priority = 1000) => ({
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name: `${version}.${group}` },
  spec: { group, version, service: { namespace: ns, name, port: 443 }, caBundle: Buffer.from(ca).toString('base64'), groupPriorityMinimum: priority, versionPriority: 15 },
});

const available = (name: string) => c.cluster.aggregator.availability(name);
const waitAvailable = (name: string, status: 'True' | 'False', reason?: string) =>
  eventually(
    () => {
      const a = available(name);
      return a?.status === status && (!reason || a.reason === reason) && a;
    },
    20_000,
    () => `${name}: wanted Available=${status} ${reason ?? ''}, have ${JSON.stringify(available(name))}`,
  );

before(async () => {
  c = await TestCluster.start({ availabilityIntervalMs: 200 });
  dir = await mkdtemp(join(tmpdir(), 'aggregation-'));
  // The backend's serving certificate names the Service, as the aggregator verifies it.
  backendCA = await generateCA('gitops backend CA');
  const serving = await issueCert(backendCA, { cn: 'gitops-toolkit', dnsNames: ['gitops-toolkit.gitops-system.svc', 'localhost'], ips: ['127.0.0.1'], server: true, days: 1 });
  await writeFile(join(dir, 'tls.crt'), serving.cert);
  await writeFile(join(dir, 'tls.key'), serving.key);
  s = await TestServer.start(['--controllers=', '--kubeconfig', c.kubeconfig, '--authorization-mode=Webhook', '--tls-cert-file', join(dir, 'tls.crt'), '--tls-private-key-file', join(dir, 'tls.key'), '--authorization-webhook-cache-ttl=1ms']);
  await k(['apply', '-f', 'manifests/rbac-user-roles.yaml']);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gitops-system' } }, ...registration('gitops-system', 'gitops-toolkit', s.port), apiService('gitops.toolkit', 'v1', 'gitops-system', 'gitops-toolkit', backendCA.cert));
  viewer = await c.kubeconfigFor('viewer');
  await apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'viewer' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }] });
  await waitAvailable('v1.gitops.toolkit', 'True', 'Passed');
});
after(async () => {
  await s?.cleanup();
  await c?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const repo = (ns: string, name: string) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name, namespace: ns }, spec: { interval: '5m', url: 'https://example.com/a.git' } });

describe('aggregation through the local cluster', () => {
  it('publishes kube-system/extension-apiserver-authentication as kube writes it', async () => {
    const cm = JSON.parse(await k(['get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '-o', 'json']));
    assert.equal(cm.data['client-ca-file'], c.caCert);
    assert.equal(cm.data['requestheader-client-ca-file'], c.cluster.frontProxy.ca.cert);
    assert.equal(cm.data['requestheader-allowed-names'], '["front-proxy-client"]');
    assert.equal(cm.data['requestheader-username-headers'], '["X-Remote-User"]');
    assert.equal(cm.data['requestheader-group-headers'], '["X-Remote-Group"]');
    assert.equal(cm.data['requestheader-extra-headers-prefix'], '["X-Remote-Extra-"]');
    // Kept: a change is written back.
    await k(['patch', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '--type=merge', '-p', '{"data":{"requestheader-allowed-names":"[]"}}']);
    await eventually(async () => JSON.parse(await k(['get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '-o', 'json'])).data['requestheader-allowed-names'] === '["front-proxy-client"]', 10_000);
  });

  it('registers a Local APIService for each built-in group version, Available as kube reports it', async () => {
    const list = JSON.parse(await k(['get', 'apiservices', '-o', 'json'])).items as Any[];
    const byName = new Map(list.map((a) => [a.metadata.name, a]));
    for (const name of ['v1.', 'v1.apps', 'v1.rbac.authorization.k8s.io', 'v1.apiregistration.k8s.io', 'v1.authorization.k8s.io']) {
      const a = byName.get(name);
      assert.ok(a, `${name} missing`);
      assert.equal(a.spec.service, undefined);
      const cond = a.status.conditions.find((x: Any) => x.type === 'Available');
      assert.deepEqual([cond.status, cond.reason, cond.message], ['True', 'Local', 'Local APIServices are always available']);
    }
    const gitops = byName.get('v1.gitops.toolkit')!;
    assert.deepEqual(
      (({ status, reason, message }) => ({ status, reason, message }))(gitops.status.conditions[0]),
      { status: 'True', reason: 'Passed', message: 'all checks passed' },
    );
    assert.match(await k(['get', 'apiservice', 'v1.gitops.toolkit']), /gitops-system\/gitops-toolkit\s+True/);
  });

  it('admin: kubectl get/apply gitrepositories through the cluster, discovery and explain merged', async () => {
    await apply(repo('default', 'app'));
    assert.match(await k(['get', 'gitrepositories', '-A']), /default\s+app\s+https:\/\/example.com\/a.git/);
    assert.match(await k(['get', 'ns,deploy,cm,gitrepositories,kustomizations', '-A']), /gitrepository.gitops.toolkit\/app/);
    // Legacy /apis in priority order: built-in groups first, then ours (1000).
    const groups = (JSON.parse(await k(['get', '--raw', '/apis'])).groups as Any[]).map((g) => g.name);
    assert.equal(groups[0], 'apiregistration.k8s.io');
    assert.equal(groups.indexOf('apps'), 1);
    assert.equal(groups.at(-1), 'gitops.toolkit');
    assert.deepEqual(JSON.parse(await k(['get', '--raw', '/apis/gitops.toolkit'])).preferredVersion, { groupVersion: 'gitops.toolkit/v1', version: 'v1' });
    assert.ok((JSON.parse(await k(['get', '--raw', '/apis/gitops.toolkit/v1'])).resources as Any[]).some((r) => r.name === 'gitrepositories/artifact'));
    // Aggregated discovery v2 carries the group (what kubectl 1.32 reads).
    const agg = await c.request('GET', '/apis', { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' } });
    const item = (agg.json().items as Any[]).find((i) => i.metadata.name === 'gitops.toolkit');
    assert.ok(item?.versions[0].resources.some((r: Any) => r.resource === 'kustomizations'), agg.body.slice(0, 300));
    assert.match(await k(['api-resources', '--api-group=gitops.toolkit']), /gitrepositories\s+gitrepo/);
    const index = JSON.parse(await k(['get', '--raw', '/openapi/v3'])).paths;
    assert.match(index['apis/gitops.toolkit/v1'].serverRelativeURL, /^\/openapi\/v3\/apis\/gitops.toolkit\/v1\?hash=/);
    assert.ok(index['apis/apps/v1']);
    assert.match(await k(['explain', 'gitrepositories.spec.url']), /FIELD: url <string>/);
  });

  it('a user with only view: get allowed, create and artifact download denied', async () => {
    assert.match(await k(['get', 'gitrepositories', '-A'], { kubeconfig: viewer }), /app/);
    const create = await c.kubectl(['apply', '-f', '-'], { kubeconfig: viewer, input: docs(repo('default', 'other')) });
    assert.notEqual(create.code, 0);
    assert.match(create.stderr, /Forbidden|forbidden/);
    assert.match(create.stderr, /User "viewer" cannot (create|patch|get)/);
    const artifact = await c.kubectl(['get', '--raw', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories/app/artifact'], { kubeconfig: viewer });
    assert.notEqual(artifact.code, 0);
    assert.match(artifact.stderr, /Forbidden|forbidden/);
    // Admin passes the cluster's authorization and reaches the backend, which has no artifact yet.
    const asAdmin = await c.kubectl(['get', '--raw', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories/app/artifact']);
    assert.doesNotMatch(asAdmin.stderr, /Forbidden|forbidden/);
    assert.match(asAdmin.stderr, /NotFound|not found|no artifact/i);
  });

  it('a ServiceAccount token: allowed where its RoleBinding says, denied elsewhere', async () => {
    const token = await c.serviceAccountToken('default', 'robot');
    await apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'robot-edit', namespace: 'default' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: 'default' }] });
    const kc = await c.kubeconfigForToken('robot', token);
    assert.match(await k(['get', 'gitrepositories', '-n', 'default'], { kubeconfig: kc }), /app/);
    await k(['apply', '-f', '-'], { kubeconfig: kc, input: docs(repo('default', 'by-robot')) });
    // The backend saw the ServiceAccount (its SubjectAccessReview went back to the cluster as that user).
    const obj = JSON.parse(await k(['get', 'gitrepository', '-n', 'default', 'by-robot', '-o', 'json']));
    assert.equal(obj.metadata.name, 'by-robot');
    const denied = await c.kubectl(['get', 'gitrepositories', '-A'], { kubeconfig: kc });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /system:serviceaccount:default:robot" cannot list resource "gitrepositories" in API group "gitops.toolkit" at the cluster scope/);
  });

  it('the backend down: 503 and Available=False (FailedDiscoveryCheck); back: Available=True', async () => {
    await s.stop();
    const down = await waitAvailable('v1.gitops.toolkit', 'False', 'FailedDiscoveryCheck');
    assert.match(down.message!, new RegExp(`failing or missing response from https://127.0.0.1:${s.port}/apis/gitops.toolkit/v1: .*ECONNREFUSED`));
    const r = await c.request('GET', '/apis/gitops.toolkit/v1/gitrepositories');
    assert.equal(r.status, 503);
    assert.deepEqual((({ reason, message, code }) => ({ reason, message, code }))(r.json()), { reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request', code: 503 });
    const get = await c.kubectl(['get', 'gitrepositories', '-A']);
    assert.notEqual(get.code, 0);
    assert.match(get.stderr, /the server is currently unable to handle the request/);
    // Built-in kinds keep working.
    await k(['get', 'ns']);
    await s.restart();
    await waitAvailable('v1.gitops.toolkit', 'True', 'Passed');
    assert.match(await k(['get', 'gitrepositories', '-A']), /app/);
  });

  it('Secrets of the cluster are readable in process (what the embedded server reads spec.secretRef from)', async () => {
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, stringData: { username: 'git', password: 's3cret' } });
    const data = await new LocalSecretReader(c.cluster.stores).get('default', 'creds');
    assert.equal(data?.password.toString(), 's3cret');
    assert.equal(await new LocalSecretReader(c.cluster.stores).get('default', 'nope'), undefined);
  });
});

describe('the proxy and the availability checks, against an echo backend', () => {
  let echo: https.Server;
  let echoPort = 0;
  const seen: { method: string; url: string; headers: Any; raw: string[]; body: string; cn?: string }[] = [];
  let echoCA: CertKeyPair;

  before(async () => {
    echoCA = await generateCA('echo CA');
    const serving = await issueCert(echoCA, { cn: 'echo', dnsNames: ['echo.default.svc'], server: true, days: 1 });
    echo = https.createServer({ ...serving, ca: c.cluster.frontProxy.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d) => chunks.push(d));
      req.on('end', () => {
        const cn = String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN);
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, raw: req.rawHeaders, body: Buffer.concat(chunks).toString(), cn });
        if (req.url === '/apis/echo.example/v1') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return void res.end(JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'echo.example/v1', resources: [{ name: 'echoes', singularName: 'echo', namespaced: true, kind: 'Echo', verbs: ['get', 'list', 'create', 'watch'] }] }));
        }
        if (req.url?.startsWith('/apis/echo.example/v1/echoes?watch=true')) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"type":"ADDED"}\n');
          return void setTimeout(() => res.end('{"type":"DELETED"}\n'), 300);
        }
        if (req.url?.startsWith('/apis/echo.example/')) {
          res.writeHead(201, { 'Content-Type': 'application/json', 'X-Echo': 'yes' });
          return void res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString() }));
        }
        res.writeHead(404);
        res.end();
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as AddressInfo).port;
  });
  after(async () => {
    echo?.closeAllConnections();
    await new Promise((r) => echo?.close(r));
  });

  it('reports ServiceNotFound, then MissingEndpoints, then Passed as the Service and its endpoints appear', async () => {
    await apply(apiService('echo.example', 'v1', 'default', 'echo', echoCA.cert, 500));
    const nf = await waitAvailable('v1.echo.example', 'False', 'ServiceNotFound');
    assert.equal(nf.message, 'service/echo in "default" is not present');
    assert.equal((await c.request('GET', '/apis/echo.example/v1/echoes')).status, 503);
    await apply(...registration('default', 'echo', echoPort, { ready: false }));
    const missing = await waitAvailable('v1.echo.example', 'False', 'MissingEndpoints');
    assert.equal(missing.message, 'endpoints for service/echo in "default" have no addresses with port name "https"');
    await apply(...registration('default', 'echo', echoPort));
    await waitAvailable('v1.echo.example', 'True', 'Passed');
    // The check went with the front-proxy certificate, as the aggregator itself.
    const check = seen.find((x) => x.url === '/apis/echo.example/v1')!;
    assert.equal(check.cn, 'front-proxy-client');
    assert.equal(check.headers['x-remote-user'], 'system:kube-aggregator');
  });

  it('proxies with the front-proxy identity, credentials stripped, body and answer piped', async () => {
    seen.length = 0;
    const r = await c.request('POST', '/apis/echo.example/v1/namespaces/default/echoes?dryRun=All', {
      body: { hello: 'world' },
      headers: { 'Impersonate-User': 'jane', 'Impersonate-Group': 'system:masters', 'Impersonate-Extra-Acme.com%2Fproject': 'p1', 'X-Remote-User': 'mallory', 'X-Remote-Group': 'system:masters' },
    });
    assert.equal(r.status, 201, r.body);
    assert.equal(r.headers['x-echo'], 'yes');
    assert.deepEqual(r.json(), { method: 'POST', body: '{"hello":"world"}' });
    const got = seen.find((x) => x.method === 'POST')!;
    assert.equal(got.cn, 'front-proxy-client');
    assert.equal(got.url, '/apis/echo.example/v1/namespaces/default/echoes?dryRun=All');
    assert.equal(got.headers['x-remote-user'], 'jane');
    // One header per group.
    assert.deepEqual(got.raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === 'x-remote-group' ? [got.raw[i + 1]] : [])), ['system:masters', 'system:authenticated']);
    assert.equal(got.headers['x-remote-extra-acme.com%2fproject'], 'p1');
    for (const h of Object.keys(got.headers)) assert.ok(!h.startsWith('impersonate-') && h !== 'authorization', `${h} reached the backend`);
  });

  it('streams a watch as the backend writes it', async () => {
    const first = await new Promise<{ chunk: string; at: number; end: Promise<number> }>((resolve, reject) => {
      const req = https.request(new URL('/apis/echo.example/v1/echoes?watch=true', c.url), { ca: c.caCert, cert: c.cluster.certs.adminCert, key: c.cluster.certs.adminKey }, (res) => {
        const start = Date.now();
        const end = new Promise<number>((r) => res.on('end', () => r(Date.now() - start)));
        res.once('data', (d) => resolve({ chunk: String(d), at: Date.now() - start, end }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(first.chunk, '{"type":"ADDED"}\n');
    assert.ok((await first.end) >= 250, 'the second event came later, on the same response');
  });

  it('the echo group is in discovery; unknown group versions still 404 locally', async () => {
    const groups = (JSON.parse(await k(['get', '--raw', '/apis'])).groups as Any[]).map((g) => g.name);
    assert.ok(groups.indexOf('echo.example') > groups.indexOf('gitops.toolkit'), 'lower groupPriorityMinimum sorts later');
    assert.equal((await c.request('GET', '/apis/nothing.example/v1/things')).status, 404);
  });
});

describe('admission webhooks behind a Service', () => {
  it('are reached through the Service\'s EndpointSlice', async () => {
    const ca = await generateCA('webhook CA');
    const serving = await issueCert(ca, { cn: 'hook', dnsNames: ['hook.default.svc'], server: true, days: 1 });
    const reviews: Any[] = [];
    const hook = https.createServer(serving, (req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const review = JSON.parse(body);
        reviews.push(review);
        const deny = review.request.object?.metadata?.name === 'forbidden';
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: !deny, ...(deny ? { status: { message: 'no such name' } } : {}) } }));
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const port = (hook.address() as AddressInfo).port;
      await apply(...registration('default', 'hook', port), {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'names' },
        webhooks: [
          {
            name: 'names.example.com',
            clientConfig: { service: { namespace: 'default', name: 'hook', path: '/validate', port: 443 }, caBundle: Buffer.from(ca.cert).toString('base64') },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            failurePolicy: 'Fail',
          },
        ],
      });
      await eventually(async () => {
        // apply, not create: kubectl's imperative create sends protobuf.
        const r = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: docs({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'forbidden', namespace: 'default' } }) });
        return /denied the request: no such name/.test(r.stderr);
      }, 10_000);
      await k(['apply', '-f', '-'], { input: docs({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'allowed', namespace: 'default' } }) });
      assert.ok(reviews.some((r) => r.request.name === 'allowed' || r.request.object?.metadata?.name === 'allowed'));
    } finally {
      await k(['delete', 'validatingwebhookconfiguration', 'names', '--ignore-not-found']);
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    }
  });
});
