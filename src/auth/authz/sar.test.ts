// The SubjectAccessReview authorizer against the local cluster: its decisions are the cluster's RBAC
// (a RoleBinding allows, its deletion denies), asked with the server's own ServiceAccount. The
// faults the cluster cannot produce (a 500, a slow or dropped answer, a reviewer saying both allowed
// and denied) come from the fault wrapper in front of it, which also records what was sent.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { accessReview, ClusterFaults, serverServiceAccount } from '../../../test/helpers/cluster-faults.js';
import { eventually } from '../../../test/helpers/eventually.js';
import { TestCluster } from '../../../test/helpers/local-cluster.js';
import { createLogger } from '../../observability/logger.js';
import type { RequestAttributes } from '../types.js';
import { SubjectAccessReviewAuthorizer, type SubjectAccessReviewAuthorizerOptions } from './sar.js';
import { KubeClient } from '../../kube/client.js';

const SAR_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
const RBAC = '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a';
const alice = { name: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: { 'scopes.example.com': ['b', 'a'], 'authentication.kubernetes.io/pod-name': ['p'] } };
const artifact: RequestAttributes = {
  user: alice,
  verb: 'get',
  path: '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories/app/artifact',
  resourceRequest: true,
  namespace: 'team-a',
  apiGroup: 'gitops.toolkit',
  apiVersion: 'v1',
  resource: 'gitrepositories',
  subresource: 'artifact',
  name: 'app',
};
const ALLOWED = { allowed: true, reason: 'RBAC: allowed by RoleBinding "alice-artifact/team-a" of Role "artifact-reader" to User "alice"' };

describe('SubjectAccessReviewAuthorizer', () => {
  let cluster: TestCluster;
  let faults: ClusterFaults;
  let kc: k8s.KubeConfig;
  let serverToken: string;
  let clock: number;
  let logs: string[];
  const make = (o: SubjectAccessReviewAuthorizerOptions = {}, config = kc) =>
    new SubjectAccessReviewAuthorizer(new KubeClient(config), { now: () => clock, logger: createLogger('info', {}, (l) => logs.push(l)), retry: { initialDelayMs: 10, attempts: 1 }, ...o });
  const reviews = () => faults.requests.filter((r) => r.path === SAR_PATH);
  /** What the cluster itself decides for alice's artifact request now. */
  const clusterSays = () =>
    accessReview(cluster, { user: 'alice', groups: ['devs'], resourceAttributes: { namespace: 'team-a', verb: 'get', group: 'gitops.toolkit', resource: 'gitrepositories', subresource: 'artifact', name: 'app' } });

  /** Binds alice to the artifact-reader Role and waits until the cluster's RBAC applies it. */
  async function grant() {
    const r = await cluster.request('POST', `${RBAC}/rolebindings`, {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-artifact' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'artifact-reader' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }] },
    });
    assert.equal(r.status, 201, r.body);
    await eventually(async () => (await clusterSays()).allowed);
  }
  /** Deletes the binding (when there is one) and waits until the cluster denies. */
  async function revoke() {
    const r = await cluster.request('DELETE', `${RBAC}/rolebindings/alice-artifact`);
    assert.ok(r.status === 200 || r.status === 404, r.body);
    await eventually(async () => !(await clusterSays()).allowed);
  }

  before(async () => {
    cluster = await TestCluster.start();
    faults = await ClusterFaults.start(cluster);
    serverToken = await serverServiceAccount(cluster);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(await faults.kubeconfigForToken('gitops-toolkit', serverToken));
    assert.equal((await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } } })).status, 201);
    const role = await cluster.request('POST', `${RBAC}/roles`, {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'artifact-reader' }, rules: [{ apiGroups: ['gitops.toolkit'], resources: ['gitrepositories/artifact'], resourceNames: ['app'], verbs: ['get'] }] },
    });
    assert.equal(role.status, 201, role.body);
  });
  after(async () => {
    await faults?.stop();
    await cluster?.stop();
  });
  beforeEach(async () => {
    await revoke();
    faults.clearFaults();
    faults.clearRequests();
    clock = 1_000_000;
    logs = [];
  });

  it('sends kube-apiserver\'s body for a resource request with a subresource, as the server\'s own identity, and gets the cluster\'s RBAC decision', async () => {
    assert.deepEqual(await make().authorize(artifact), { allowed: false }, 'no binding: denied');
    await grant();
    assert.deepEqual(await make().authorize(artifact), ALLOWED, 'the RoleBinding allows it');
    assert.deepEqual(await make().authorize({ ...artifact, name: 'other' }), { allowed: false }, 'the Role names only "app"');
    const [r] = reviews();
    assert.equal(r.method, 'POST');
    assert.equal(r.bearer, ClusterFaults.bearerOf(serverToken), 'sent with the server\'s ServiceAccount token');
    assert.equal(r.status, 201);
    assert.deepEqual(r.body, {
      kind: 'SubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: {
        resourceAttributes: { namespace: 'team-a', verb: 'get', group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories', subresource: 'artifact', name: 'app' },
        user: 'alice',
        groups: ['devs', 'system:authenticated'],
        extra: { 'authentication.kubernetes.io/pod-name': ['p'], 'scopes.example.com': ['b', 'a'] },
        uid: 'u-1',
      },
      status: { allowed: false },
    });
    await revoke();
    assert.deepEqual(await make().authorize(artifact), { allowed: false }, 'the binding deleted: denied');
  });

  it('omits empty attributes (a cluster-wide list) and sends non-resource requests as path and verb', async () => {
    const bob = { name: 'bob', groups: ['system:authenticated'] };
    const a = make();
    await a.authorize({ user: bob, verb: 'list', path: '/apis/gitops.toolkit/v1/gitrepositories', resourceRequest: true, apiGroup: 'gitops.toolkit', apiVersion: 'v1', resource: 'gitrepositories' });
    // system:public-info-viewer, bound to system:authenticated by the bootstrap policy, allows /version.
    assert.equal((await a.authorize({ user: bob, verb: 'get', path: '/version', resourceRequest: false })).allowed, true);
    assert.deepEqual(
      reviews().map((r) => (r.body as { spec: unknown }).spec),
      [
        { resourceAttributes: { verb: 'list', group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' }, user: 'bob', groups: ['system:authenticated'] },
        { nonResourceAttributes: { path: '/version', verb: 'get' }, user: 'bob', groups: ['system:authenticated'] },
      ],
    );
  });

  it('caches allowed and denied answers for 10 s, keyed by every attribute', async () => {
    await grant();
    const a = make();
    assert.deepEqual(await a.authorize(artifact), ALLOWED);
    await revoke();
    clock += 9_999;
    assert.deepEqual(await a.authorize(artifact), ALLOWED, 'still the cached allow');
    assert.equal(reviews().length, 1);
    // Another group, another name, another verb: each is its own review.
    await a.authorize({ ...artifact, user: { ...alice, groups: ['devs'] } });
    await a.authorize({ ...artifact, name: 'other' });
    await a.authorize({ ...artifact, verb: 'update' });
    assert.equal(reviews().length, 4);
    clock += 2;
    assert.deepEqual(await a.authorize(artifact), { allowed: false }, 'expired: asked again, and the binding is gone');
    assert.equal(reviews().length, 5);
    await grant();
    clock += 9_999;
    assert.deepEqual(await a.authorize(artifact), { allowed: false }, 'a deny is cached too');
    clock += 2;
    assert.deepEqual(await a.authorize(artifact), ALLOWED);
    assert.equal(reviews().length, 6);
  });

  it('honours configured TTLs and shares one review between concurrent identical requests', async () => {
    await grant();
    faults.inject({ path: SAR_PATH }, { delayMs: 50 });
    const a = make({ allowedTTLMs: 0 });
    const ds = await Promise.all([a.authorize(artifact), a.authorize(artifact), a.authorize(artifact)]);
    assert.deepEqual(ds, [ALLOWED, ALLOWED, ALLOWED]);
    assert.equal(reviews().length, 1);
    await a.authorize(artifact);
    assert.equal(reviews().length, 2, 'TTL 0: not cached');
  });

  it('denies when the reviewer says both allowed and denied', async () => {
    // The cluster's RBAC never says both; a broken webhook authorizer behind kube-apiserver could.
    faults.inject({ path: SAR_PATH }, { respond: { status: 201, body: { kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', status: { allowed: true, denied: true, reason: 'confused' } } } });
    assert.deepEqual(await make().authorize(artifact), { allowed: false, reason: 'confused' });
  });

  it('lets system:masters through without a review', async () => {
    assert.deepEqual(await make().authorize({ ...artifact, user: { name: 'admin', groups: ['system:masters'] } }), { allowed: true });
    assert.equal(reviews().length, 0);
  });

  it('denies with a clear reason on a failed review, logs it, retries transient failures and caches nothing', async () => {
    await grant();
    faults.inject({ path: SAR_PATH }, { respond: { status: 500, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Internal error occurred: boom', reason: 'InternalError', code: 500 } } });
    const a = make({ retry: { initialDelayMs: 5, attempts: 3 } });
    const d = await a.authorize(artifact);
    assert.equal(d.allowed, false);
    assert.match(d.reason!, /^error authorizing the request: SubjectAccessReview failed: HTTP 500: Internal error occurred: boom$/);
    assert.equal(reviews().length, 3, '500 is retried');
    assert.equal(logs.length, 1);
    assert.deepEqual(
      (({ level, msg, user, err }) => ({ level, msg, user, err }))(JSON.parse(logs[0])),
      { level: 'error', msg: 'SubjectAccessReview failed; denying the request', user: 'alice', err: 'SubjectAccessReview failed: HTTP 500: Internal error occurred: boom' },
    );
    faults.clearFaults();
    assert.deepEqual(await a.authorize(artifact), ALLOWED, 'the failure was not cached');
  });

  it('retries a dropped connection', async () => {
    await grant();
    faults.inject({ path: SAR_PATH }, { close: true }, { times: 1 });
    assert.deepEqual(await make({ retry: { initialDelayMs: 5, attempts: 3 } }).authorize(artifact), ALLOWED);
    assert.deepEqual(reviews().map((r) => r.fault !== undefined), [true, false]);
  });

  it('does not retry a 403 and passes its message on: an identity the cluster does not let review', async () => {
    const nobody = await cluster.serviceAccountToken('team-a', 'nobody');
    const nkc = new k8s.KubeConfig();
    nkc.loadFromFile(await faults.kubeconfigForToken('nobody', nobody));
    const d = await make({ retry: { initialDelayMs: 5, attempts: 3 } }, nkc).authorize(artifact);
    assert.equal(d.allowed, false);
    assert.match(
      d.reason!,
      /^error authorizing the request: SubjectAccessReview failed: HTTP 403: subjectaccessreviews\.authorization\.k8s\.io is forbidden: User "system:serviceaccount:team-a:nobody" cannot create resource "subjectaccessreviews" in API group "authorization\.k8s\.io" at the cluster scope/,
    );
    assert.equal(reviews().length, 1);
    assert.equal(reviews()[0].status, 403);
  });

  it('denies on a timeout and on an unreachable cluster', async () => {
    faults.inject({ path: SAR_PATH }, { delayMs: 2_000 });
    const slow = await make({ timeoutMs: 100 }).authorize(artifact);
    assert.deepEqual(slow, { allowed: false, reason: 'error authorizing the request: SubjectAccessReview timed out after 100 ms' });

    const down = new k8s.KubeConfig();
    down.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const d = await new SubjectAccessReviewAuthorizer(new KubeClient(down), { logger: createLogger('error', {}, () => {}) }).authorize(artifact);
    assert.equal(d.allowed, false);
    assert.match(d.reason!, /^error authorizing the request: SubjectAccessReview to https:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
  });
});
