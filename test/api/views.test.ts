// Read-only views served by code (ResourceDefinition.views; a Kustomization's build and diff): a real
// in-process server with the gitops kinds and the shipped RBAC roles, and fake view handlers
// registered on it — GET answers what the handler returns in its media type, every other verb is a
// 405, a missing object a 404, an unregistered view a 503, a slow one a 504 and an oversized one a
// 500; discovery and OpenAPI list the views; view may not get them, edit may.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { StatusError } from '../../src/apis/meta/errors.js';
import type { KubeObject } from '../../src/apis/meta/types.js';
import { resources } from '../../src/apis/v1/index.js';
import { createApiServer, type ApiServer } from '../../src/apiserver/server.js';
import type { ViewContext, ViewHandler } from '../../src/apiserver/handlers/views.js';
import { CABundle, X509Authenticator } from '../../src/auth/authn/x509.js';
import { bootstrapPolicy } from '../../src/auth/authz/bootstrap.js';
import { parseRBACDocuments } from '../../src/auth/authz/rbac-loader.js';
import { RBACAuthorizer, type RBACObject } from '../../src/auth/authz/rbac.js';
import { bootstrapRBAC } from '../../src/cluster/bootstrap.js';
import { createLogger } from '../../src/observability/logger.js';
import { issueCert } from '../../src/pki/certs.js';
import { ensureStandaloneCerts, type StandaloneCerts } from '../../src/pki/standalone.js';
import { ResourceStores } from '../../src/registry/resource-stores.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { Storage } from '../../src/storage/types.js';
import { httpsCall } from '../helpers/https.js';
import { kubectl } from '../helpers/run.js';
import { freePort } from '../helpers/server.js';

const G = 'gitops.toolkit';
const KS = `/apis/${G}/v1/namespaces/team-a/kustomizations`;
const TIMEOUT_MS = 400;
const MAX_BYTES = 4096;
const BUILD = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: team-a\ndata:\n  a: "1"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: team-a\ndata:\n  token: "**redacted**"\n';

type Cred = { cert: string; key: string };
let dir: string;
let storage: Storage;
let api: ApiServer;
let port: number;
let certs: StandaloneCerts;
const users: Record<string, Cred> = {};
/** What the registered handlers do next; each test sets it. */
let behave: (view: string, obj: KubeObject, o: ViewContext) => Promise<{ contentType: string; body: string | Buffer }>;
const calls: { view: string; name?: string; user?: string; query: string }[] = [];
const unregister: (() => void)[] = [];

const call = (method: string, path: string, o: { as?: string; body?: string; contentType?: string; accept?: string } = {}) =>
  httpsCall(new URL(path, `https://127.0.0.1:${port}`), {
    method,
    ca: certs.caCert,
    cert: o.as ? users[o.as] : { cert: certs.adminCert, key: certs.adminKey },
    headers: { ...(o.body !== undefined ? { 'Content-Type': o.contentType ?? 'application/json' } : {}), ...(o.accept ? { Accept: o.accept } : {}) },
    body: o.body,
  });

const register = () => {
  for (const view of ['build', 'diff']) {
    const handler: ViewHandler = (obj, o) => {
      calls.push({ view, name: obj.metadata.name, user: o.user?.name, query: o.query.toString() });
      return behave(view, obj, o);
    };
    unregister.push(api.views.register(G, 'Kustomization', view, handler));
  }
};
const fine = async (view: string) => (view === 'build' ? { contentType: 'application/yaml', body: BUILD } : { contentType: 'application/json', body: JSON.stringify({ changes: [{ kind: 'ConfigMap', name: 'app', action: 'configured' }] }) });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'views-'));
  port = await freePort();
  certs = await ensureStandaloneCerts(join(dir, 'certs'), { bindAddress: '127.0.0.1', port });
  const ca = { cert: certs.caCert, key: certs.caKey };
  for (const name of ['alice', 'erin', 'vic', 'ed', 'nobody']) users[name] = await issueCert(ca, { cn: name, client: true, days: 1 });
  const binding = (name: string, role: string) =>
    yaml.dump({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: 'team-a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }],
    });
  const shipped = await readFile(new URL('../../manifests/rbac-user-roles.yaml', import.meta.url), 'utf8');
  const policy = [
    ...bootstrapPolicy(),
    // the cluster's aggregated view/edit roles, which the shipped roles join by label
    ...(bootstrapRBAC() as unknown as RBACObject[]).filter((o) => o.kind === 'ClusterRole' && ['view', 'edit'].includes(o.metadata.name)),
    ...parseRBACDocuments(shipped, 'rbac-user-roles.yaml'),
    ...parseRBACDocuments([binding('alice', 'gitops-toolkit-view'), binding('erin', 'gitops-toolkit-edit'), binding('vic', 'view'), binding('ed', 'edit')].join('---\n'), 'bindings'),
  ];
  storage = openSqliteStorage({ path: join(dir, 'db.sqlite') });
  const caBundle = new CABundle(certs.caCert);
  api = createApiServer({
    stores: new ResourceStores(resources, storage),
    tls: { key: certs.servingKey, cert: certs.servingCert, clientCA: certs.caCert },
    authenticators: [new X509Authenticator(() => caBundle)],
    authorizer: new RBACAuthorizer(policy),
    artifacts: { serve: async () => assert.fail('no artifacts here') },
    log: createLogger('error'),
    maxBodyBytes: 3 << 20,
    minRequestTimeoutSeconds: 1800,
    requestTimeoutMs: 60_000,
    viewTimeoutMs: TIMEOUT_MS,
    maxViewBytes: MAX_BYTES,
  });
  await api.listen(port, '127.0.0.1');
  const ks = { apiVersion: `${G}/v1`, kind: 'Kustomization', metadata: { name: 'app', namespace: 'team-a' }, spec: { interval: '5m', path: './', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' } } };
  const created = await call('POST', KS, { body: JSON.stringify(ks) });
  assert.equal(created.status, 201, created.body);
  const repo = { apiVersion: `${G}/v1`, kind: 'GitRepository', metadata: { name: 'app', namespace: 'team-a' }, spec: { interval: '5m', url: 'https://example.com/app.git' } };
  assert.equal((await call('POST', `/apis/${G}/v1/namespaces/team-a/gitrepositories`, { body: JSON.stringify(repo) })).status, 201);
});

after(async () => {
  await api?.close();
  await storage?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  behave = fine;
  calls.length = 0;
  if (!unregister.length) register();
});

describe('view subresources', () => {
  it('GET answers the handler’s body in its content type, for the stored object and the caller', async () => {
    const build = await call('GET', `${KS}/app/build?level=1`, { accept: 'application/json, */*' });
    assert.equal(build.status, 200, build.body);
    assert.equal(build.headers['content-type'], 'application/yaml');
    assert.equal(build.headers['x-content-type-options'], 'nosniff');
    assert.equal(build.body, BUILD);
    const diff = await call('GET', `${KS}/app/diff`);
    assert.equal(diff.status, 200, diff.body);
    assert.equal(diff.headers['content-type'], 'application/json');
    assert.equal(diff.json().changes[0].action, 'configured');
    assert.deepEqual(calls, [
      { view: 'build', name: 'app', user: 'admin', query: 'level=1' },
      { view: 'diff', name: 'app', user: 'admin', query: '' },
    ]);
  });

  it('kubectl get --raw prints the view as it is', async () => {
    const r = await kubectl(certs.kubeconfigPath, ['get', '--raw', `${KS}/app/build`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, BUILD);
  });

  it('every verb but get is a 405, and nothing reaches the handler', async () => {
    for (const view of ['build', 'diff']) {
      // (no body with DELETE: Node's client would send it unframed)
      for (const [method, contentType] of [['POST', 'application/json'], ['PUT', 'application/json'], ['PATCH', 'application/merge-patch+json'], ['DELETE']]) {
        const r = await call(method, `${KS}/app/${view}`, contentType ? { body: '{}', contentType } : {});
        assert.equal(r.status, 405, `${method} ${view}: ${r.body}`);
        assert.equal(r.json().reason, 'MethodNotAllowed');
      }
    }
    assert.deepEqual(calls, []);
  });

  it('an undeclared subresource, or a view of a kind that does not declare it, is a 404', async () => {
    for (const path of [`${KS}/app/render`, `${KS}/app/build/more`, `/apis/${G}/v1/namespaces/team-a/gitrepositories/app/build`]) {
      const r = await call('GET', path);
      assert.equal(r.status, 404, `${path}: ${r.body}`);
      assert.equal(r.json().reason, 'NotFound');
    }
    assert.deepEqual(calls, []);
  });

  it('a view of a missing object is the 404 a get of it is', async () => {
    const r = await call('GET', `${KS}/nope/build`);
    assert.equal(r.status, 404);
    assert.equal(r.json().message, (await call('GET', `${KS}/nope`)).json().message);
    assert.match(r.json().message, /kustomizations\.gitops\.toolkit "nope" not found/);
    assert.deepEqual(calls, []);
  });

  it('a view no handler serves is a 503 ServiceUnavailable that says so', async () => {
    unregister.splice(0).forEach((u) => u());
    const r = await call('GET', `${KS}/app/build`);
    assert.equal(r.status, 503, r.body);
    assert.equal(r.json().reason, 'ServiceUnavailable');
    assert.match(r.json().message, /the build of kustomizations\.gitops\.toolkit "app" is not served by this server/);
    register();
    assert.equal((await call('GET', `${KS}/app/build`)).status, 200, 'served again once registered');
  });

  it('a handler slower than the bound is a 504 Timeout within it, and its signal is aborted', async () => {
    let aborted: Promise<void> | undefined;
    behave = (_v, _obj, o) => {
      aborted = new Promise((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
      return new Promise((_, reject) => setTimeout(() => reject(new Error('too late, and ignored')), TIMEOUT_MS * 3)); // ignores its signal
    };
    const start = Date.now();
    const r = await call('GET', `${KS}/app/diff`);
    const took = Date.now() - start;
    assert.equal(r.status, 504, r.body);
    assert.equal(r.json().reason, 'Timeout');
    assert.ok(took >= TIMEOUT_MS - 50 && took < TIMEOUT_MS + 2000, `answered after ${took} ms`);
    await aborted;
    await new Promise((r) => setTimeout(r, TIMEOUT_MS * 3)); // its late failure does not crash the server
    assert.equal((await call('GET', `/apis/${G}/v1/namespaces/team-a/kustomizations/app`)).status, 200);
  });

  it('a body over the size bound is an error, not a truncated document', async () => {
    behave = async () => ({ contentType: 'application/yaml', body: 'x'.repeat(MAX_BYTES + 1) });
    const r = await call('GET', `${KS}/app/build`);
    assert.equal(r.status, 500, r.body);
    assert.equal(r.json().reason, 'InternalError');
    assert.match(r.json().message, new RegExp(`the build output of kustomizations\\.gitops\\.toolkit "app" is larger than ${MAX_BYTES} bytes`));
    behave = async () => ({ contentType: 'application/octet-stream', body: Buffer.alloc(MAX_BYTES) });
    assert.equal((await call('GET', `${KS}/app/build`)).status, 200, 'the bound itself is fine');
  });

  it('a StatusError the handler throws is the answer; any other error a 500 that hides it', async () => {
    behave = async () => {
      throw new StatusError(409, 'Conflict', 'the Kustomization has not fetched its source yet');
    };
    const conflict = await call('GET', `${KS}/app/build`);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.json().message, 'the Kustomization has not fetched its source yet');
    behave = async () => {
      throw new Error('secret internals');
    };
    const broken = await call('GET', `${KS}/app/build`);
    assert.equal(broken.status, 500);
    assert.doesNotMatch(broken.body, /secret internals/);
  });

  it('discovery lists kustomizations/build and kustomizations/diff with verbs [get], legacy and aggregated', async () => {
    const list = (await call('GET', `/apis/${G}/v1`)).json();
    for (const name of ['kustomizations/build', 'kustomizations/diff']) {
      const r = list.resources.find((x: { name: string }) => x.name === name);
      assert.ok(r, name);
      assert.deepEqual([r.verbs, r.namespaced, r.kind], [['get'], true, 'Kustomization']);
    }
    assert.ok(!list.resources.some((x: { name: string }) => x.name === 'helmreleases/build'));
    const agg = (await call('GET', '/apis', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' })).json();
    const ks = agg.items.find((g: any) => g.metadata.name === G).versions[0].resources.find((r: any) => r.resource === 'kustomizations');
    const subs = Object.fromEntries(ks.subresources.map((s: any) => [s.subresource, s.verbs]));
    assert.deepEqual(subs, { build: ['get'], diff: ['get'], status: ['get', 'patch', 'update'] });
  });

  it('OpenAPI v2 and v3 have a GET path for each view, producing its media type', async () => {
    const path = (view: string) => `/apis/${G}/v1/namespaces/{namespace}/kustomizations/{name}/${view}`;
    const v2 = (await call('GET', '/openapi/v2')).json();
    const v3 = (await call('GET', `/openapi/v3/apis/${G}/v1`)).json();
    for (const [view, type] of [['build', 'application/yaml'], ['diff', 'application/json']]) {
      const op2 = v2.paths[path(view)];
      assert.deepEqual(Object.keys(op2).sort(), ['get', 'parameters'], view);
      assert.deepEqual(op2.get.produces, [type]);
      assert.equal(op2.get['x-kubernetes-action'], 'get');
      assert.match(op2.get.operationId, new RegExp(`^readGitopsToolkitV1NamespacedKustomization${view[0].toUpperCase()}${view.slice(1)}$`));
      const op3 = v3.paths[path(view)];
      assert.deepEqual(Object.keys(op3.get.responses['200'].content), [type]);
    }
    assert.equal(v2.paths[`/apis/${G}/v1/namespaces/{namespace}/gitrepositories/{name}/artifact`].get.produces[0], 'application/gzip', 'artifacts unchanged');
  });

  it('RBAC: the shipped view roles may not get build or diff (403), the edit roles may', async () => {
    for (const view of ['build', 'diff']) {
      for (const [user, code] of [['alice', 403], ['vic', 403], ['nobody', 403], ['erin', 200], ['ed', 200]] as const) {
        const r = await call('GET', `${KS}/app/${view}`, { as: user });
        assert.equal(r.status, code, `${user} ${view}: ${r.body}`);
        if (code === 403) assert.match(r.json().message, new RegExp(`User "${user}" cannot get resource "kustomizations/${view}" in API group "gitops.toolkit" in the namespace "team-a"`));
      }
      assert.equal((await call('GET', `${KS}/app`, { as: 'alice' })).status, 200, 'view still reads the object');
    }
    assert.equal((await call('GET', `/apis/${G}/v1/namespaces/team-b/kustomizations/app/build`, { as: 'erin' })).status, 403, 'edit only where bound');
    const canI = async (user: string, view: string) => (await kubectl(certs.kubeconfigPath, ['auth', 'can-i', 'get', 'kustomizations', `--subresource=${view}`, '-n', 'team-a', `--as=${user}`])).stdout.trim();
    assert.deepEqual([await canI('alice', 'build'), await canI('alice', 'diff'), await canI('erin', 'build'), await canI('erin', 'diff')], ['no', 'no', 'yes', 'yes']);
  });
});
