// Admission webhooks end to end: configurations stored in the local cluster and watched from it (as
// the server's ServiceAccount), namespaces it really creates and deletes, a real HTTPS webhook, and
// writes through a real ResourceStore on in-memory SQLite.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { createAdmissionChain, type Admission } from '../../src/admission/chain.js';
import { Informer, KubeApi } from '../../src/kube/informer.js';
import { NamespaceCache, NamespaceLifecycle } from '../../src/admission/namespace-lifecycle.js';
import type { AdmissionAttributes } from '../../src/admission/types.js';
import { WebhookAdmission, type MutatingWebhook, type ValidatingWebhook, type WebhookConfiguration } from '../../src/admission/webhooks.js';
import type { KubeObject } from '../../src/apis/meta/types.js';
import { gitRepository } from '../../src/apis/v1/git-repository.js';
import type { UserInfo } from '../../src/auth/types.js';
import { ResourceStore, type WriteContext } from '../../src/registry/store.js';
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { serverServiceAccount } from '../helpers/cluster-faults.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { freePort } from '../helpers/server.js';
import { allow, delay, deny, patch, warn, WebhookServer, type AdmissionRequestV1 } from '../helpers/webhook-server.js';
import { eventually, rejection } from '../helpers/eventually.js';
import { KubeClient } from '../../src/kube/client.js';

const REG = '/apis/admissionregistration.k8s.io/v1';
const VALIDATING = `${REG}/validatingwebhookconfigurations`;
const MUTATING = `${REG}/mutatingwebhookconfigurations`;
const alice: UserInfo = { name: 'alice', uid: 'a-1', groups: ['devs', 'system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=ab'] } };

const repo = (name: string, labels?: Record<string, string>) => ({
  apiVersion: 'gitops.toolkit/v1',
  kind: 'GitRepository',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { interval: '1h', url: 'https://example.com/r.git' },
});

describe('admission webhooks', () => {
  let cluster: TestCluster;
  let hooks: WebhookServer;
  let storage: SqliteStorage;
  let store: ResourceStore;
  let mutating: Informer<WebhookConfiguration<MutatingWebhook>>;
  let validating: Informer<WebhookConfiguration<ValidatingWebhook>>;
  let chain: Admission;
  let namespaces: NamespaceCache;
  const resolved: unknown[] = [];
  const ctx = (o: Partial<WriteContext> = {}): WriteContext => ({ dryRun: false, fieldManager: 'test', fieldValidation: 'Strict', warnings: [], user: alice, admission: chain, ...o });

  /** A webhook on `path` of the test server for creates and updates of gitrepositories. */
  const hook = (name: string, path: string, o: Partial<MutatingWebhook> = {}): MutatingWebhook => ({
    name,
    clientConfig: hooks.clientConfig(path),
    rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['gitops.toolkit'], apiVersions: ['v1'], resources: ['gitrepositories'], scope: 'Namespaced' }],
    failurePolicy: 'Fail',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 5,
    ...o,
  });

  /** Creates or replaces a configuration in the cluster and waits until the informer has it. */
  async function configure(kind: 'validating' | 'mutating', name: string, webhooks: MutatingWebhook[]) {
    const collection = kind === 'validating' ? VALIDATING : MUTATING;
    const cur = await cluster.request('GET', `${collection}/${name}`);
    const obj = { apiVersion: 'admissionregistration.k8s.io/v1', kind: kind === 'validating' ? 'ValidatingWebhookConfiguration' : 'MutatingWebhookConfiguration', metadata: { name, ...(cur.status === 200 ? { resourceVersion: cur.json().metadata.resourceVersion } : {}) }, webhooks };
    const r = cur.status === 200 ? await cluster.request('PUT', `${collection}/${name}`, { body: obj }) : await cluster.request('POST', collection, { body: obj });
    assert.ok(r.status === 200 || r.status === 201, r.body);
    const rv = r.json().metadata.resourceVersion;
    const inf = kind === 'validating' ? validating : mutating;
    await eventually(() => inf.get(name)?.metadata.resourceVersion === rv);
  }

  async function createNamespace(name: string, labels: Record<string, string>) {
    const r = await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } });
    assert.equal(r.status, 201, r.body);
  }

  before(async () => {
    cluster = await TestCluster.start();
    hooks = await WebhookServer.start({ dnsNames: ['hooks.webhooks.svc'] });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(await cluster.kubeconfigForToken('gitops-toolkit', await serverServiceAccount(cluster)));
    storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    store = new ResourceStore(gitRepository, storage);
    const api = new KubeApi(new KubeClient(kc));
    namespaces = new NamespaceCache(api);
    mutating = new Informer(api, MUTATING);
    validating = new Informer(api, VALIDATING);
    const webhooks = new WebhookAdmission({
      mutating,
      validating,
      namespaces,
      resolveService: (svc) => {
        resolved.push(svc);
        return hooks.url;
      },
    });
    chain = createAdmissionChain({ namespaces: new NamespaceLifecycle(namespaces), webhooks });
    await createNamespace('prod', { env: 'prod' });
    await createNamespace('dev', { env: 'dev' });
    chain.start();
    await eventually(() => chain.hasSynced && namespaces.cached('prod') && namespaces.cached('dev'));
  });
  after(async () => {
    await chain.stop();
    await storage.close();
    await hooks.stop();
    await cluster?.stop();
  });
  beforeEach(async () => {
    for (const [path, inf] of [
      [VALIDATING, validating],
      [MUTATING, mutating],
    ] as const)
      for (const c of inf.list()) assert.ok([200, 404].includes((await cluster.request('DELETE', `${path}/${c.metadata.name}`)).status));
    await eventually(() => validating.list().length === 0 && mutating.list().length === 0);
    hooks.clear();
  });

  let n = 0;
  const fresh = () => `r${++n}`;

  it('sends kube-apiserver’s AdmissionReview v1 for a create, with the deadline in the URL', async () => {
    hooks.on('/validate', allow());
    await configure('validating', 'check', [hook('check.example.com', '/validate')]);
    const name = fresh();
    const stored = await store.create('prod', repo(name), ctx());
    const [got] = hooks.received;
    assert.equal(hooks.received.length, 1);
    assert.equal(got.path, '/validate');
    assert.deepEqual(got.query, { timeout: '5s' });
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(got.body.kind, 'AdmissionReview');
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = stored.metadata;
    const gvk = { group: 'gitops.toolkit', version: 'v1', kind: 'GitRepository' };
    const gvr = { group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' };
    assert.match(got.body.request.uid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(got.body.request, {
      uid: got.body.request.uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name,
      namespace: 'prod',
      operation: 'CREATE',
      userInfo: { username: 'alice', uid: 'a-1', groups: ['devs', 'system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['X509SHA256=ab'] } },
      object: { ...stored, metadata: meta },
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'test', fieldValidation: 'Strict' },
    });
  });

  it('sends the old object on an update, and status updates only to rules naming the subresource', async () => {
    hooks.on('/main', allow()).on('/status', allow());
    await configure('validating', 'upd', [
      hook('main.example.com', '/main'),
      hook('status.example.com', '/status', { rules: [{ operations: ['UPDATE'], apiGroups: ['*'], apiVersions: ['*'], resources: ['gitrepositories/status'] }] }),
    ]);
    const name = fresh();
    const created = await store.create('prod', repo(name), ctx());
    const updated = await store.update('prod', name, { ...created, metadata: { ...created.metadata, labels: { x: 'y' } } }, ctx());
    const [, upd] = hooks.reviews('/main');
    assert.equal(upd.operation, 'UPDATE');
    assert.deepEqual(upd.oldObject, created);
    assert.deepEqual(upd.object.metadata.labels, { x: 'y' });
    assert.deepEqual(upd.options, { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'test', fieldValidation: 'Strict' });
    assert.equal(hooks.reviews('/status').length, 0);

    await store.update('prod', name, { ...updated, status: { observedGeneration: 1 } }, ctx(), 'status');
    const [st] = hooks.reviews('/status');
    assert.equal(st.subResource, 'status');
    assert.equal(st.requestSubResource, 'status');
    assert.equal(hooks.reviews('/main').length, 2, 'a rule for the main resource does not see /status');
  });

  it('stores nothing when a validating webhook denies, and answers with the webhook’s status and its name', async () => {
    hooks.on('/deny', deny('only main branches are allowed', 403, 'Forbidden'));
    await configure('validating', 'policy', [hook('policy.example.com', '/deny')]);
    const name = fresh();
    assert.deepEqual(await rejection(store.create('prod', repo(name), ctx())), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'admission webhook "policy.example.com" denied the request: only main branches are allowed',
      reason: 'Forbidden',
      code: 403,
    });
    await assert.rejects(store.get('prod', name), /not found/);
    hooks.on('/deny', deny('no code given'));
    const st = await rejection(store.create('prod', repo(fresh()), ctx()));
    assert.equal(st.code, 400, 'kube raises a missing or sub-400 code to 400');
  });

  it('applies a mutating webhook’s JSONPatch before validation, and validating webhooks see the result', async () => {
    hooks.on('/mutate', patch({ op: 'add', path: '/metadata/labels', value: { 'policy/owner': 'platform' } }, { op: 'replace', path: '/spec/interval', value: '5m' }));
    hooks.on('/validate', allow());
    await configure('mutating', 'defaults', [hook('defaults.example.com', '/mutate')]);
    await configure('validating', 'check', [hook('check.example.com', '/validate')]);
    const name = fresh();
    const created = await store.create('prod', repo(name), ctx());
    assert.deepEqual(created.metadata.labels, { 'policy/owner': 'platform' });
    const stored = await store.get('prod', name);
    assert.equal(stored.spec?.interval, '5m');
    assert.deepEqual(stored.metadata.labels, { 'policy/owner': 'platform' });
    const [seen] = hooks.reviews('/validate');
    assert.equal(seen.object.spec.interval, '5m');
    assert.equal(hooks.reviews('/mutate')[0].object.spec.interval, '1h');
  });

  it('runs mutating webhooks before the strategy prepares the object, as kube does: they see no system fields and cannot set status', async () => {
    hooks.on('/mutate', patch({ op: 'add', path: '/status', value: { observedGeneration: 7 } }, { op: 'add', path: '/metadata/generation', value: 9 }));
    await configure('mutating', 'defaults', [hook('defaults.example.com', '/mutate')]);
    const created = await store.create('prod', { ...repo(''), metadata: { generateName: 'gen-' } }, ctx());
    const [review] = hooks.reviews('/mutate');
    assert.equal(review.object.metadata.uid, undefined, 'uid is set after mutating admission');
    assert.equal(review.object.metadata.creationTimestamp, undefined);
    assert.equal(review.object.metadata.name, undefined, 'generateName is resolved after mutating admission');
    assert.equal(review.name, undefined, 'no name yet: the request omits it, as kube does');
    assert.match(created.metadata.name!, /^gen-[a-z0-9]{5}$/);
    assert.deepEqual(created.status, { observedGeneration: -1 }, 'PrepareForCreate drops the status a webhook set; only the schema default is left');
    assert.equal(created.metadata.generation, 1);
    // On update, PrepareForUpdate keeps the stored status whatever the webhook wrote.
    const current = await store.get('prod', created.metadata.name!);
    await store.update('prod', created.metadata.name!, { ...current, spec: { ...current.spec, interval: '2h' } }, ctx());
    const updated = await store.get('prod', created.metadata.name!);
    assert.deepEqual(updated.status, { observedGeneration: -1 }, 'the stored status, not the webhook’s');
    assert.equal(updated.metadata.generation, 2);
  });

  it('re-runs an IfNeeded mutating webhook once when a later one changed the object', async () => {
    hooks.on('/a', (r: AdmissionRequestV1) => (r.object.metadata.labels?.a ? {} : { patch: [{ op: 'add', path: '/metadata/labels', value: { ...r.object.metadata.labels, a: '1' } }] }));
    hooks.on('/b', patch({ op: 'add', path: '/metadata/annotations', value: { b: '1' } }));
    await configure('mutating', 'a-first', [hook('a.example.com', '/a', { reinvocationPolicy: 'IfNeeded' })]);
    await configure('mutating', 'b-second', [hook('b.example.com', '/b')]);
    const o = await store.create('prod', repo(fresh()), ctx());
    assert.deepEqual(o.metadata.labels, { a: '1' });
    assert.deepEqual(o.metadata.annotations, { b: '1' });
    const a = hooks.reviews('/a');
    assert.equal(a.length, 2);
    assert.deepEqual(a[1].object.metadata.annotations, { b: '1' }, 'the second call sees the later webhook’s change');
    assert.equal(hooks.reviews('/b').length, 1);
    assert.deepEqual(
      hooks.received.map((r) => r.path),
      ['/a', '/b', '/a'],
      'configurations in name order',
    );

    hooks.clear();
    await configure('mutating', 'a-first', [hook('a.example.com', '/a', { reinvocationPolicy: 'Never' })]);
    await store.create('prod', repo(fresh()), ctx());
    assert.equal(hooks.reviews('/a').length, 1);
  });

  it('collects webhooks’ warnings into the attributes’ sink', async () => {
    hooks.on('/m', (r) => ({ warnings: ['mutating says hi'], patch: [{ op: 'add', path: '/metadata/labels', value: { m: r.name ?? '' } }] }));
    hooks.on('/v', warn('spec.interval is short', 'second warning'));
    await configure('mutating', 'm', [hook('m.example.com', '/m')]);
    await configure('validating', 'v', [hook('v.example.com', '/v')]);
    const warnings: string[] = [];
    const object = { ...repo('w'), metadata: { name: 'w', namespace: 'prod' } } as KubeObject;
    const a: AdmissionAttributes = {
      operation: 'CREATE',
      kind: { group: 'gitops.toolkit', version: 'v1', kind: 'GitRepository' },
      resource: { group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' },
      name: 'w',
      namespace: 'prod',
      object,
      userInfo: alice,
      dryRun: false,
      warnings,
    };
    const mutated = await chain.mutate(a);
    assert.deepEqual(mutated?.metadata.labels, { m: 'w' });
    assert.deepEqual(object.metadata.labels, undefined, 'the input object is left alone');
    await chain.validate({ ...a, object: mutated });
    assert.deepEqual(warnings, ['mutating says hi', 'spec.interval is short', 'second warning']);
  });

  it('fails closed on an unreachable webhook with failurePolicy Fail, naming it, and open with Ignore', async () => {
    const port = await freePort();
    const down = { url: `https://127.0.0.1:${port}/gone`, caBundle: hooks.caBundle };
    await configure('validating', 'down', [hook('down.example.com', '/gone', { clientConfig: down })]);
    const name = fresh();
    const st = await rejection(store.create('prod', repo(name), ctx()));
    assert.equal(st.code, 500);
    assert.equal(st.reason, 'InternalError');
    assert.equal(st.message, `Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: Post "https://127.0.0.1:${port}/gone?timeout=5s": connect ECONNREFUSED 127.0.0.1:${port}`);
    await assert.rejects(store.get('prod', name), /not found/);

    await configure('validating', 'down', [hook('down.example.com', '/gone', { clientConfig: down, failurePolicy: 'Ignore' })]);
    const ok = await store.create('prod', repo(name), ctx());
    assert.equal(ok.metadata.name, name);
  });

  it('gives up on a webhook after timeoutSeconds and tells it the deadline', async () => {
    hooks.on('/slow', delay(10_000));
    await configure('validating', 'slow', [hook('slow.example.com', '/slow', { timeoutSeconds: 1 })]);
    const started = Date.now();
    const st = await rejection(store.create('prod', repo(fresh()), ctx()));
    assert.ok(Date.now() - started >= 1000, 'not before the deadline');
    assert.equal(st.code, 500);
    assert.match(st.message, /^Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/slow\?timeout=1s": context deadline exceeded$/);
    assert.deepEqual(hooks.received[0].query, { timeout: '1s' });
  });

  it('honours namespaceSelector against the namespace’s labels', async () => {
    hooks.on('/prod-only', allow());
    await configure('validating', 'ns', [hook('ns.example.com', '/prod-only', { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } })]);
    await store.create('dev', repo(fresh()), ctx());
    assert.equal(hooks.received.length, 0);
    await store.create('prod', repo(fresh()), ctx());
    assert.equal(hooks.reviews('/prod-only').length, 1);
  });

  it('honours objectSelector against the new and the old object’s labels', async () => {
    hooks.on('/labelled', allow());
    await configure('validating', 'obj', [hook('obj.example.com', '/labelled', { objectSelector: { matchLabels: { check: 'yes' } } })]);
    const plain = await store.create('prod', repo(fresh()), ctx());
    assert.equal(hooks.received.length, 0);
    const labelled = await store.create('prod', repo(fresh(), { check: 'yes' }), ctx());
    assert.equal(hooks.received.length, 1);
    // Removing the label: the old object still matches, so the webhook sees the update.
    await store.update('prod', labelled.metadata.name!, { ...labelled, metadata: { ...labelled.metadata, labels: {} } }, ctx());
    assert.equal(hooks.received.length, 2);
    await store.update('prod', plain.metadata.name!, { ...plain, metadata: { ...plain.metadata, labels: { other: 'x' } } }, ctx());
    assert.equal(hooks.received.length, 2);
  });

  it('does not call webhooks whose rules do not match', async () => {
    hooks.on('/never', deny('should not be called'));
    const r = { apiGroups: ['gitops.toolkit'], apiVersions: ['v1'], resources: ['gitrepositories'], operations: ['CREATE'] };
    await configure('validating', 'others', [
      hook('group.example.com', '/never', { rules: [{ ...r, apiGroups: ['source.toolkit.fluxcd.io'] }] }),
      hook('version.example.com', '/never', { rules: [{ ...r, apiVersions: ['v1beta2'] }] }),
      hook('resource.example.com', '/never', { rules: [{ ...r, resources: ['helmreleases', 'gitrepositories/status'] }] }),
      hook('operation.example.com', '/never', { rules: [{ ...r, operations: ['DELETE'] }] }),
      hook('scope.example.com', '/never', { rules: [{ ...r, scope: 'Cluster' }] }),
      hook('none.example.com', '/never', { rules: [] }),
    ]);
    await store.create('prod', repo(fresh()), ctx());
    assert.equal(hooks.received.length, 0);
  });

  it('passes dryRun through and stores nothing; refuses a dry run past a webhook with side effects', async () => {
    hooks.on('/dry', allow());
    await configure('validating', 'dry', [hook('dry.example.com', '/dry', { sideEffects: 'NoneOnDryRun' })]);
    const name = fresh();
    await store.create('prod', repo(name), ctx({ dryRun: true }));
    const [r] = hooks.reviews('/dry');
    assert.equal(r.dryRun, true);
    assert.deepEqual(r.options, { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'], fieldManager: 'test', fieldValidation: 'Strict' });
    await assert.rejects(store.get('prod', name), /not found/);

    await configure('validating', 'dry', [hook('dry.example.com', '/dry', { sideEffects: 'Some', failurePolicy: 'Ignore' })]);
    hooks.clear();
    assert.deepEqual(await rejection(store.create('prod', repo(name), ctx({ dryRun: true }))), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'admission webhook "dry.example.com" does not support dry run',
      reason: 'BadRequest',
      code: 400,
    });
    assert.equal(hooks.received.length, 0);
    await store.create('prod', repo(name), ctx());
    assert.equal(hooks.received.length, 1, 'a real create calls it');
  });

  it('calls a service reference at https://NAME.NAMESPACE.svc:PORT/PATH through the resolver, verifying the service name', async () => {
    hooks.on('/svc', allow());
    await configure('validating', 'svc', [
      hook('svc.example.com', '/svc', { clientConfig: { service: { namespace: 'webhooks', name: 'hooks', path: '/svc', port: 8443 }, caBundle: hooks.caBundle } }),
    ]);
    resolved.length = 0;
    await store.create('prod', repo(fresh()), ctx());
    assert.deepEqual(resolved, [{ namespace: 'webhooks', name: 'hooks', port: 8443 }]);
    assert.equal(hooks.reviews('/svc').length, 1);

    // A certificate not issued for the service name is refused.
    await configure('validating', 'svc', [hook('svc.example.com', '/svc', { clientConfig: { service: { namespace: 'other', name: 'hooks', path: '/svc' }, caBundle: hooks.caBundle } })]);
    const st = await rejection(store.create('prod', repo(fresh()), ctx()));
    assert.equal(st.code, 500);
    assert.match(st.message, /failed calling webhook "svc.example.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/svc\?timeout=5s": Hostname\/IP does not match certificate's altnames/);
  });

  it('admits DELETE: the webhook sees the old object and DeleteOptions, and may not patch', async () => {
    hooks.on('/del', allow());
    const name = fresh();
    const created = await store.create('prod', repo(name), ctx());
    await configure('validating', 'del', [hook('del.example.com', '/del', { rules: [{ operations: ['DELETE'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }] })]);
    await store.delete('prod', name, {}, ctx());
    const [r] = hooks.reviews('/del');
    assert.equal(r.operation, 'DELETE');
    assert.equal(r.object, null);
    assert.deepEqual(r.oldObject, created);
    assert.deepEqual(r.options, { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' });

    hooks.on('/del-patch', patch({ op: 'add', path: '/metadata/labels', value: {} }));
    await configure('mutating', 'del', [hook('delpatch.example.com', '/del-patch', { rules: [{ operations: ['DELETE'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }] })]);
    const other = fresh();
    await store.create('prod', repo(other), ctx());
    const st = await rejection(store.delete('prod', other, {}, ctx()));
    assert.equal(st.code, 500);
    assert.equal(st.message, 'Internal error occurred: admission webhook "delpatch.example.com" attempted to modify the object, which is not supported for this operation');
    assert.ok(await store.get('prod', other));
  });

  it('treats matchConditions, which it cannot evaluate, as an error settled by failurePolicy', async () => {
    hooks.on('/cel', allow());
    const matchConditions = [{ name: 'not-system', expression: "!request.userInfo.username.startsWith('system:')" }];
    await configure('validating', 'cel', [hook('cel.example.com', '/cel', { matchConditions })]);
    const st = await rejection(store.create('prod', repo('cel-x'), ctx()));
    assert.equal(st.code, 403);
    assert.equal(st.message, 'gitrepositories.gitops.toolkit "cel-x" is forbidden: webhook "cel.example.com" has matchConditions, which this server cannot evaluate (no CEL engine)');
    await configure('validating', 'cel', [hook('cel.example.com', '/cel', { matchConditions, failurePolicy: 'Ignore' })]);
    await store.create('prod', repo('cel-x'), ctx());
    assert.equal(hooks.received.length, 0);
  });

  it('treats a malformed answer or an unsupported AdmissionReview version as a call failure', async () => {
    hooks.on('/bad-uid', () => ({ raw: { status: 200, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'nope', allowed: true } }) } }));
    await configure('validating', 'bad', [hook('bad.example.com', '/bad-uid')]);
    let st = await rejection(store.create('prod', repo(fresh()), ctx()));
    assert.match(st.message, /^Internal error occurred: failed calling webhook "bad.example.com": received invalid webhook response: expected response.uid="[0-9a-f-]{36}", got "nope"$/);

    hooks.on('/500', () => ({ raw: { status: 500, body: 'boom' } }));
    await configure('validating', 'bad', [hook('bad.example.com', '/500')]);
    st = await rejection(store.create('prod', repo(fresh()), ctx()));
    assert.match(st.message, /failed calling webhook "bad.example.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/500\?timeout=5s": the server responded with status 500: boom$/);

    await configure('validating', 'bad', [hook('bad.example.com', '/500', { admissionReviewVersions: ['v1beta1'] })]);
    hooks.clear();
    st = await rejection(store.create('prod', repo(fresh()), ctx()));
    assert.equal(st.message, 'Internal error occurred: failed calling webhook "bad.example.com": could not create admission objects: webhook does not accept known AdmissionReview versions (v1)');
    assert.equal(hooks.received.length, 0);
  });

  it('the cluster itself calls webhooks, but never for webhook configurations: one that breaks everything can still be removed', async () => {
    const everything = [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'], scope: '*' }];
    hooks.on('/no', deny('nothing passes'));
    await configure('validating', 'wall', [hook('wall.example.com', '/no', { rules: everything })]);
    const blocked = await cluster.request('POST', '/api/v1/namespaces/prod/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'blocked' } } });
    assert.equal(blocked.status, 400, blocked.body);
    assert.equal(blocked.json().message, 'admission webhook "wall.example.com" denied the request: nothing passes');
    hooks.clear();
    assert.equal((await cluster.request('DELETE', `${VALIDATING}/wall`)).status, 200);
    assert.equal(hooks.received.length, 0, 'not asked about its own configuration');
  });

  it('answers 404 when a namespaceSelector needs a namespace that is gone, as kube does', async () => {
    await createNamespace('short-lived', { env: 'prod' });
    await eventually(() => namespaces.cached('short-lived'));
    const name = fresh();
    await store.create('short-lived', repo(name), ctx());
    // Deleted in the cluster: Terminating, then removed by its namespace controller.
    assert.equal((await cluster.request('DELETE', '/api/v1/namespaces/short-lived')).status, 200);
    await eventually(() => !namespaces.cached('short-lived'), 20_000);
    await configure('validating', 'ns', [hook('ns.example.com', '/x', { namespaceSelector: { matchLabels: { env: 'prod' } }, rules: [{ operations: ['DELETE'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }] })]);
    assert.deepEqual(await rejection(store.delete('short-lived', name, {}, ctx())), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'namespaces "short-lived" not found',
      reason: 'NotFound',
      details: { name: 'short-lived', kind: 'namespaces' },
      code: 404,
    });
  });
});
