// Bearer tokens reviewed by the (stand-in) cluster: the TokenReview on the wire, the cache, failures,
// and the chain's 401 for a rejected token.

import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { AuthenticationChain } from '../../src/auth/authn/chain.js';
import { TokenReviewAuthenticator } from '../../src/auth/authn/token-review.js';
import { FakeKubeApiserver } from '../helpers/kube-apiserver.js';
import { call, mintPKI, startAuthServer } from './fixture.js';

const REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
let kube: FakeKubeApiserver;
let kc: k8s.KubeConfig;

before(async () => {
  kube = await FakeKubeApiserver.start();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfig());
  kube.tokens.set('good-token', { username: 'system:serviceaccount:team-a:deployer', uid: 'sa-uid', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a'], extra: { 'authentication.kubernetes.io/pod-name': ['p-1'] } });
});
after(() => kube.stop());
beforeEach(() => {
  kube.clearRequests();
  kube.fault = undefined;
});

const reviews = () => kube.requests.filter((r) => r.path === REVIEW_PATH);

test('a TokenReview is posted as kube posts it and its user returned', async () => {
  const a = new TokenReviewAuthenticator(kc);
  const user = await a.authenticateToken('good-token');
  assert.deepEqual(user, {
    name: 'system:serviceaccount:team-a:deployer',
    uid: 'sa-uid',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a'],
    extra: { 'authentication.kubernetes.io/pod-name': ['p-1'] },
  });
  assert.equal(reviews().length, 1);
  const r = reviews()[0];
  assert.equal(r.method, 'POST');
  assert.equal(r.user, FakeKubeApiserver.SERVER_USER, 'sent with the server\'s own credentials');
  assert.deepEqual(r.body, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'good-token' } });
});

test('answers are cached for the TTL, both yes and no, then asked again', async () => {
  const a = new TokenReviewAuthenticator(kc, { cacheTTLMs: 300 });
  assert.equal((await a.authenticateToken('good-token'))?.name, 'system:serviceaccount:team-a:deployer');
  assert.equal(await a.authenticateToken('bad-token'), undefined);
  assert.equal(reviews().length, 2);
  assert.equal((await a.authenticateToken('good-token'))?.name, 'system:serviceaccount:team-a:deployer');
  assert.equal(await a.authenticateToken('bad-token'), undefined);
  assert.equal(reviews().length, 2, 'second lookups come from the cache');
  await sleep(400);
  await a.authenticateToken('good-token');
  await a.authenticateToken('bad-token');
  assert.equal(reviews().length, 4, 'expired entries are reviewed again');
});

test('concurrent lookups of one token share one review', async () => {
  const a = new TokenReviewAuthenticator(kc);
  const users = await Promise.all(Array.from({ length: 5 }, () => a.authenticateToken('good-token')));
  assert.ok(users.every((u) => u?.name === 'system:serviceaccount:team-a:deployer'), 'every caller gets the user');
  assert.equal(reviews().length, 1);
});

test('audiences are sent, and an answer for other audiences is no', async () => {
  const a = new TokenReviewAuthenticator(kc, { audiences: ['https://gitops.toolkit'] });
  assert.equal((await a.authenticateToken('good-token'))?.name, 'system:serviceaccount:team-a:deployer');
  assert.deepEqual((reviews()[0].body as { spec: unknown }).spec, { token: 'good-token', audiences: ['https://gitops.toolkit'] });

  kube.fault = (r) =>
    r.path === REVIEW_PATH
      ? { status: 201, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status: { authenticated: true, user: { username: 'x' }, audiences: ['https://elsewhere'] } } }
      : undefined;
  assert.equal(await new TokenReviewAuthenticator(kc, { audiences: ['https://gitops.toolkit'] }).authenticateToken('good-token'), undefined);
});

test('a failed review throws, names no token, and is not cached', async () => {
  const a = new TokenReviewAuthenticator(kc);
  kube.fault = (r) => (r.path === REVIEW_PATH ? { status: 500, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500 } } : undefined);
  await assert.rejects(a.authenticateToken('good-token'), (e: Error) => e.message === 'TokenReview failed: HTTP 500');
  kube.fault = undefined;
  assert.equal((await a.authenticateToken('good-token'))?.name, 'system:serviceaccount:team-a:deployer');
  assert.equal(reviews().length, 2);
});

test('a review not answered in time fails', async () => {
  const pki = await mintPKI();
  const hanging = https.createServer(pki.serving, () => {}); // reads the request, never answers
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  try {
    const slow = new k8s.KubeConfig();
    slow.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${(hanging.address() as AddressInfo).port}`, caData: Buffer.from(pki.serverCA.cert).toString('base64') }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(new TokenReviewAuthenticator(slow, { timeoutMs: 300 }).authenticateToken('good-token'), /^Error: TokenReview failed: .*abort/i);
  } finally {
    hanging.closeAllConnections();
    hanging.close();
  }
});

test('through the chain: a reviewed token authenticates, a rejected one is a 401', async () => {
  const pki = await mintPKI();
  const chain = new AuthenticationChain({ config: () => ({}), tokens: [new TokenReviewAuthenticator(kc)] });
  const s = await startAuthServer(pki, chain, undefined);
  try {
    const ok = await call(s, pki, { headers: { Authorization: 'Bearer good-token' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
    const no = await call(s, pki, { headers: { Authorization: 'Bearer forged' } });
    assert.equal(no.status, 401);
    assert.deepEqual(reviews().map((r) => (r.body as { spec: { token: string } }).spec.token), ['good-token', 'forged']);
  } finally {
    await s.close();
  }
});
