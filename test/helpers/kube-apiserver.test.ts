// The stand-in checked with the clients that will talk to it: @kubernetes/client-node and kubectl.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { FakeKubeApiserver } from './kube-apiserver.js';

const exec = promisify(execFile);

describe('FakeKubeApiserver', () => {
  let api: FakeKubeApiserver;
  let kc: k8s.KubeConfig;

  before(async () => {
    api = await FakeKubeApiserver.start();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(api.kubeconfig());
  });
  after(() => api.stop());

  it('lists namespaces with a resourceVersion, then watches changes after it', async () => {
    api.setObject('/api/v1/namespaces/team-a', { metadata: { labels: { team: 'a' } }, status: { phase: 'Active' } });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespace();
    assert.deepEqual(list.items.map((n) => n.metadata!.name), ['default', 'kube-node-lease', 'kube-public', 'kube-system', 'team-a']);
    const rv = list.metadata!.resourceVersion!;
    assert.match(rv, /^\d+$/);

    const events: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const ctl = await new k8s.Watch(kc).watch(
      '/api/v1/namespaces',
      { resourceVersion: rv },
      (type, obj: k8s.V1Namespace) => {
        events.push(`${type} ${obj.metadata!.name} ${obj.status?.phase ?? ''}`.trim());
        if (type === 'DELETED') done();
      },
      () => done(),
    );
    api.setObject('/api/v1/namespaces/team-b', { metadata: {} });
    api.setObject('/api/v1/namespaces/team-a', { metadata: {}, status: { phase: 'Terminating' } });
    api.deleteObject('/api/v1/namespaces/team-a');
    await finished;
    ctl.abort();
    assert.deepEqual(events, ['ADDED team-b', 'MODIFIED team-a Terminating', 'DELETED team-a Terminating']);
    const w = api.requests.find((r) => r.path === '/api/v1/namespaces' && r.query.watch === 'true');
    assert.equal(w?.query.resourceVersion, rv);
    assert.equal(w?.user, FakeKubeApiserver.SERVER_USER);
  });

  it('replays events missed since an old resourceVersion, and answers 410 Expired once compacted', async () => {
    const rv = (await kc.makeApiClient(k8s.CoreV1Api).listNamespace()).metadata!.resourceVersion!;
    api.setObject('/api/v1/namespaces/late', { metadata: {} });
    const collect = (from: string) =>
      new Promise<unknown[]>((resolve) => {
        const got: unknown[] = [];
        void new k8s.Watch(kc).watch('/api/v1/namespaces', { resourceVersion: from, timeoutSeconds: 1 }, (type, obj) => got.push([type, (obj as any).metadata?.name ?? (obj as any).code]), () => resolve(got));
      });
    assert.deepEqual(await collect(rv), [['ADDED', 'late']]);
    api.compact();
    assert.deepEqual(await collect(rv), [['ERROR', 410]]);
  });

  it('watches one ConfigMap by field selector, in its namespace only, with label-selector transitions', async () => {
    const cm = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
    api.setObject(cm, { data: { 'client-ca-file': 'one' } });
    const got: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const ctl = await new k8s.Watch(kc).watch(
      '/api/v1/namespaces/kube-system/configmaps',
      { fieldSelector: 'metadata.name=extension-apiserver-authentication', labelSelector: 'reload!=no' },
      (type, obj: k8s.V1ConfigMap) => {
        got.push(`${type} ${obj.metadata!.namespace}/${obj.metadata!.name} ${obj.data?.['client-ca-file']}`);
        if (got.length === 4) done();
      },
      () => done(),
    );
    api.setObject('/api/v1/namespaces/kube-system/configmaps/other', { data: {} });
    api.setObject('/api/v1/namespaces/kube-system-2/configmaps/extension-apiserver-authentication', { data: { 'client-ca-file': 'elsewhere' } });
    api.setObject(cm, { data: { 'client-ca-file': 'two' } });
    api.setObject(cm, { metadata: { labels: { reload: 'no' } }, data: { 'client-ca-file': 'hidden' } });
    api.setObject(cm, { data: { 'client-ca-file': 'three' } });
    await finished;
    ctl.abort();
    const x = 'kube-system/extension-apiserver-authentication';
    assert.deepEqual(got, [`ADDED ${x} one`, `MODIFIED ${x} two`, `DELETED ${x} hidden`, `ADDED ${x} three`]);
  });

  it('pages a list with limit and continue', async () => {
    for (const n of ['p1', 'p2', 'p3']) api.setObject(`/api/v1/namespaces/default/secrets/${n}`, { type: 'Opaque' });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const first = await core.listNamespacedSecret({ namespace: 'default', limit: 2 });
    assert.deepEqual(first.items.map((i) => i.metadata!.name), ['p1', 'p2']);
    assert.equal(first.metadata!.remainingItemCount, 1);
    const rest = await core.listNamespacedSecret({ namespace: 'default', limit: 2, _continue: first.metadata!._continue });
    assert.deepEqual(rest.items.map((i) => i.metadata!.name), ['p3']);
    assert.equal(rest.metadata!._continue, undefined);
  });

  it('answers TokenReview for known and unknown tokens', async () => {
    api.tokens.set('alice-token', { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a'] } });
    const authn = kc.makeApiClient(k8s.AuthenticationV1Api);
    const ok = await authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'alice-token' } } });
    assert.equal(ok.status?.authenticated, true);
    assert.deepEqual({ ...ok.status?.user }, { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a'] } });
    const bad = await authn.createTokenReview({ body: { spec: { token: 'nope' } } });
    assert.notEqual(bad.status?.authenticated, true);
    assert.deepEqual(api.requests.at(-1)?.body, { spec: { token: 'nope' } });
  });

  it('answers SubjectAccessReview from the test-provided decision, and validates the spec like kube', async () => {
    api.authorize = (spec) => (spec.user === 'alice' && spec.resourceAttributes?.verb === 'get' ? { allowed: true, reason: 'test says so' } : { allowed: false, denied: true, reason: 'no' });
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const yes = await authz.createSubjectAccessReview({ body: { spec: { user: 'alice', resourceAttributes: { verb: 'get', group: 'gitops.toolkit', resource: 'gitrepositories' } } } });
    assert.deepEqual({ ...yes.status }, { allowed: true, reason: 'test says so' });
    const no = await authz.createSubjectAccessReview({ body: { spec: { user: 'bob', nonResourceAttributes: { path: '/metrics', verb: 'get' } } } });
    assert.deepEqual({ ...no.status }, { allowed: false, denied: true, reason: 'no' });
    await assert.rejects(authz.createSubjectAccessReview({ body: { spec: { user: 'bob' } } }), (e: any) => e.code === 422 && /exactly one of nonResourceAttributes or resourceAttributes/.test(e.body));
  });

  it('rejects a request without the right bearer token with a 401 Status', async () => {
    const wrong = new k8s.KubeConfig();
    wrong.loadFromOptions({ clusters: kc.clusters, contexts: kc.contexts, currentContext: kc.currentContext, users: [{ name: 'gitops-toolkit', token: 'wrong' }] });
    await assert.rejects(wrong.makeApiClient(k8s.CoreV1Api).listNamespace(), (e: any) => e.code === 401);
    assert.equal(api.requests.at(-1)?.user, undefined);
    // client-node drops a 401 body; read the Status raw.
    const raw = await new Promise<{ status?: number; body: string }>((resolve, reject) =>
      https.get(`${api.url}/api/v1/namespaces`, { ca: api.caCert }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject),
    );
    assert.equal(raw.status, 401);
    assert.deepEqual(JSON.parse(raw.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });

  it('creates Events, refusing a missing namespace, and reports NotFound as a Status', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ev = await core.createNamespacedEvent({ namespace: 'default', body: { metadata: { generateName: 'x.' }, involvedObject: { name: 'x' }, reason: 'Test' } });
    assert.match(ev.metadata!.name!, /^x\./);
    await assert.rejects(core.createNamespacedEvent({ namespace: 'missing', body: { metadata: { name: 'e' }, involvedObject: {} } }), (e: any) => e.code === 404 && JSON.parse(e.body).message === 'namespaces "missing" not found');
    await assert.rejects(core.readNamespacedConfigMap({ namespace: 'kube-system', name: 'absent' }), (e: any) => e.code === 404 && JSON.parse(e.body).reason === 'NotFound');
  });

  it('serves kubectl get namespaces', async () => {
    api.setObject('/api/v1/namespaces/from-kubectl', { metadata: {} });
    const { stdout } = await exec('kubectl', ['--kubeconfig', api.kubeconfig(), 'get', 'namespaces']);
    assert.match(stdout, /^NAME\s+CREATED AT$/m);
    assert.match(stdout, /^from-kubectl\s+\d{4}-/m);
    const { stdout: byLabel } = await exec('kubectl', ['--kubeconfig', api.kubeconfig(), 'get', 'ns', '-l', 'team=a', '-o', 'name']);
    assert.equal(byLabel, '');
    api.setObject('/api/v1/namespaces/labelled', { metadata: { labels: { team: 'a' } } });
    const { stdout: again } = await exec('kubectl', ['--kubeconfig', api.kubeconfig(), 'get', 'ns', '-l', 'team=a', '-o', 'name']);
    assert.equal(again, 'namespace/labelled\n');
  });
});
