import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { FakeKubeApiserver } from '../../../test/helpers/kube-apiserver.js';
import { createLogger } from '../../observability/logger.js';
import type { RequestAttributes } from '../types.js';
import { SubjectAccessReviewAuthorizer, type SubjectAccessReviewAuthorizerOptions } from './sar.js';

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

describe('SubjectAccessReviewAuthorizer', () => {
  let api: FakeKubeApiserver;
  let kc: k8s.KubeConfig;
  let clock: number;
  let logs: string[];
  const make = (o: SubjectAccessReviewAuthorizerOptions = {}) =>
    new SubjectAccessReviewAuthorizer(kc, { now: () => clock, logger: createLogger('info', {}, (l) => logs.push(l)), retry: { initialDelayMs: 10, attempts: 1 }, ...o });
  const reviews = () => api.requests.filter((r) => r.path === '/apis/authorization.k8s.io/v1/subjectaccessreviews');

  before(async () => {
    api = await FakeKubeApiserver.start();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(api.kubeconfig());
  });
  after(() => api.stop());
  beforeEach(() => {
    api.clearRequests();
    api.authorize = () => ({ allowed: false });
    api.fault = undefined;
    clock = 1_000_000;
    logs = [];
  });

  it('sends kube-apiserver\'s body for a resource request with a subresource, as the server\'s own identity', async () => {
    api.authorize = (spec) => ({ allowed: spec.resourceAttributes?.subresource === 'artifact', reason: 'RBAC: allowed by test' });
    const d = await make().authorize(artifact);
    assert.deepEqual(d, { allowed: true, reason: 'RBAC: allowed by test' });
    const [r] = reviews();
    assert.equal(r.method, 'POST');
    assert.equal(r.user, FakeKubeApiserver.SERVER_USER);
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
  });

  it('omits empty attributes (a cluster-wide list) and sends non-resource requests as path and verb', async () => {
    const bob = { name: 'bob', groups: ['system:authenticated'] };
    const a = make();
    await a.authorize({ user: bob, verb: 'list', path: '/apis/gitops.toolkit/v1/gitrepositories', resourceRequest: true, apiGroup: 'gitops.toolkit', apiVersion: 'v1', resource: 'gitrepositories' });
    await a.authorize({ user: bob, verb: 'get', path: '/openapi/v2', resourceRequest: false });
    assert.deepEqual(
      reviews().map((r) => (r.body as { spec: unknown }).spec),
      [
        { resourceAttributes: { verb: 'list', group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' }, user: 'bob', groups: ['system:authenticated'] },
        { nonResourceAttributes: { path: '/openapi/v2', verb: 'get' }, user: 'bob', groups: ['system:authenticated'] },
      ],
    );
  });

  it('caches allowed and denied answers for 10 s, keyed by every attribute', async () => {
    let allow = true;
    api.authorize = () => ({ allowed: allow, reason: allow ? 'yes' : 'no' });
    const a = make();
    assert.equal((await a.authorize(artifact)).allowed, true);
    allow = false;
    clock += 9_999;
    assert.deepEqual(await a.authorize(artifact), { allowed: true, reason: 'yes' });
    assert.equal(reviews().length, 1);
    // Another group, another name, another verb: each is its own review.
    await a.authorize({ ...artifact, user: { ...alice, groups: ['devs'] } });
    await a.authorize({ ...artifact, name: 'other' });
    await a.authorize({ ...artifact, verb: 'update' });
    assert.equal(reviews().length, 4);
    clock += 2;
    assert.deepEqual(await a.authorize(artifact), { allowed: false, reason: 'no' });
    assert.equal(reviews().length, 5);
    clock += 9_999;
    allow = true;
    assert.deepEqual(await a.authorize(artifact), { allowed: false, reason: 'no' }, 'a deny is cached too');
    clock += 2;
    assert.equal((await a.authorize(artifact)).allowed, true);
    assert.equal(reviews().length, 6);
  });

  it('honours configured TTLs and shares one review between concurrent identical requests', async () => {
    api.authorize = async () => {
      await new Promise((r) => setTimeout(r, 50));
      return { allowed: true };
    };
    const a = make({ allowedTTLMs: 0 });
    const ds = await Promise.all([a.authorize(artifact), a.authorize(artifact), a.authorize(artifact)]);
    assert.deepEqual(ds, [{ allowed: true }, { allowed: true }, { allowed: true }]);
    assert.equal(reviews().length, 1);
    await a.authorize(artifact);
    assert.equal(reviews().length, 2, 'TTL 0: not cached');
  });

  it('denies when the reviewer says both allowed and denied', async () => {
    api.authorize = () => ({ allowed: true, denied: true, reason: 'confused' });
    assert.deepEqual(await make().authorize(artifact), { allowed: false, reason: 'confused' });
  });

  it('lets system:masters through without a review', async () => {
    assert.deepEqual(await make().authorize({ ...artifact, user: { name: 'admin', groups: ['system:masters'] } }), { allowed: true });
    assert.equal(reviews().length, 0);
  });

  it('denies with a clear reason on a failed review, logs it, retries transient failures and caches nothing', async () => {
    api.authorize = () => {
      throw new Error('boom');
    };
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
    api.authorize = () => ({ allowed: true });
    assert.equal((await a.authorize(artifact)).allowed, true, 'the failure was not cached');
  });

  it('does not retry a 403 and passes its message on', async () => {
    const msg = 'subjectaccessreviews.authorization.k8s.io is forbidden: User "system:serviceaccount:gitops-toolkit:gitops-toolkit" cannot create resource "subjectaccessreviews"';
    api.fault = (r) => (r.path.endsWith('/subjectaccessreviews') ? { status: 403, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: msg } } : undefined);
    const d = await make({ retry: { initialDelayMs: 5, attempts: 3 } }).authorize(artifact);
    assert.deepEqual(d, { allowed: false, reason: `error authorizing the request: SubjectAccessReview failed: HTTP 403: ${msg}` });
    assert.equal(reviews().length, 1);
  });

  it('denies on a timeout and on an unreachable cluster', async () => {
    api.authorize = () => new Promise((r) => setTimeout(() => r({ allowed: true }), 2_000));
    const slow = await make({ timeoutMs: 100 }).authorize(artifact);
    assert.deepEqual(slow, { allowed: false, reason: 'error authorizing the request: SubjectAccessReview timed out after 100 ms' });

    const down = new k8s.KubeConfig();
    down.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const d = await new SubjectAccessReviewAuthorizer(down, { logger: createLogger('error', {}, () => {}) }).authorize(artifact);
    assert.equal(d.allowed, false);
    assert.match(d.reason!, /^error authorizing the request: SubjectAccessReview to https:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
  });
});
