// Bearer tokens reviewed by the local cluster: a token of its --token-auth-file and a ServiceAccount
// token it minted authenticate, a deleted ServiceAccount's token no longer does; the TokenReview on
// the wire, the cache and the chain's 401. The faults it cannot produce (a 500, an answer for other
// audiences, no answer at all) come from the fault wrapper in front of it, which records what passed.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { AuthenticationChain } from '../../src/auth/authn/chain.js';
import { TokenReviewAuthenticator } from '../../src/auth/authn/token-review.js';
import { ClusterFaults, serverServiceAccount } from '../helpers/cluster-faults.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { call, mintPKI, startAuthServer } from './fixture.js';
import { KubeClient } from '../../src/kube/client.js';

const REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
// As kube-apiserver answers: the token file's groups and system:authenticated.
const ALICE = { name: 'alice', uid: 'u-1', groups: ['devs', 'ops', 'system:authenticated'] };
let cluster: TestCluster;
let faults: ClusterFaults;
let kc: k8s.KubeConfig;
let dir: string;
let serverToken: string;
let deployerToken: string;
let deployerUid: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'token-review-'));
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, 'alice-token,alice,u-1,"devs,ops"\n');
  cluster = await TestCluster.start({ tokenAuthFile: tokenFile });
  faults = await ClusterFaults.start(cluster);
  serverToken = await serverServiceAccount(cluster);
  kc = new k8s.KubeConfig();
  kc.loadFromFile(await faults.kubeconfigForToken('gitops-toolkit', serverToken));
  assert.equal((await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } } })).status, 201);
  deployerToken = await cluster.serviceAccountToken('team-a', 'deployer');
  deployerUid = (await cluster.request('GET', '/api/v1/namespaces/team-a/serviceaccounts/deployer')).json().metadata.uid;
});
after(async () => {
  await faults?.stop();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  faults.clearRequests();
  faults.clearFaults();
});

const reviews = () => faults.requests.filter((r) => r.path === REVIEW_PATH);

test('a TokenReview is posted as kube posts it, with the server\'s own credentials, and the token file\'s user returned', async () => {
  const a = new TokenReviewAuthenticator(new KubeClient(kc));
  assert.deepEqual(await a.authenticateToken('alice-token'), ALICE);
  assert.equal(reviews().length, 1);
  const r = reviews()[0];
  assert.equal(r.method, 'POST');
  assert.equal(r.bearer, ClusterFaults.bearerOf(serverToken), 'sent with the server\'s ServiceAccount token');
  assert.equal(r.status, 201);
  assert.deepEqual(r.body, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'alice-token' } });
});

test('a ServiceAccount token the cluster minted authenticates as its ServiceAccount, until the ServiceAccount is deleted', async () => {
  const user = await new TokenReviewAuthenticator(new KubeClient(kc)).authenticateToken(deployerToken);
  assert.equal(user?.name, 'system:serviceaccount:team-a:deployer');
  assert.equal(user?.uid, deployerUid);
  assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
  assert.match(user?.extra?.['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^JTI=/);

  const doomed = await cluster.serviceAccountToken('team-a', 'doomed');
  assert.equal((await new TokenReviewAuthenticator(new KubeClient(kc)).authenticateToken(doomed))?.name, 'system:serviceaccount:team-a:doomed');
  assert.equal((await cluster.request('DELETE', '/api/v1/namespaces/team-a/serviceaccounts/doomed')).status, 200);
  assert.equal(await new TokenReviewAuthenticator(new KubeClient(kc)).authenticateToken(doomed), undefined, 'revoked with its ServiceAccount');
});

test('answers are cached for the TTL, both yes and no, then asked again', async () => {
  const a = new TokenReviewAuthenticator(new KubeClient(kc), { cacheTTLMs: 300 });
  assert.equal((await a.authenticateToken('alice-token'))?.name, 'alice');
  assert.equal(await a.authenticateToken('bad-token'), undefined);
  assert.equal(reviews().length, 2);
  assert.equal((await a.authenticateToken('alice-token'))?.name, 'alice');
  assert.equal(await a.authenticateToken('bad-token'), undefined);
  assert.equal(reviews().length, 2, 'second lookups come from the cache');
  await sleep(400);
  await a.authenticateToken('alice-token');
  await a.authenticateToken('bad-token');
  assert.equal(reviews().length, 4, 'expired entries are reviewed again');
});

test('concurrent lookups of one token share one review', async () => {
  faults.inject({ path: REVIEW_PATH }, { delayMs: 50 });
  const a = new TokenReviewAuthenticator(new KubeClient(kc));
  const users = await Promise.all(Array.from({ length: 5 }, () => a.authenticateToken('alice-token')));
  assert.ok(users.every((u) => u?.name === 'alice'), 'every caller gets the user');
  assert.equal(reviews().length, 1);
});

test('audiences are sent, and an answer for other audiences is no', async () => {
  const a = new TokenReviewAuthenticator(new KubeClient(kc), { audiences: ['https://gitops.toolkit'] });
  assert.equal((await a.authenticateToken('alice-token'))?.name, 'alice');
  assert.deepEqual((reviews()[0].body as { spec: unknown }).spec, { token: 'alice-token', audiences: ['https://gitops.toolkit'] });

  // The local cluster answers without audiences (its authenticators do not check them); a
  // kube-apiserver answers with the audiences the token is valid for, which may be others.
  faults.inject(
    { path: REVIEW_PATH },
    { respond: { status: 201, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status: { authenticated: true, user: { username: 'x' }, audiences: ['https://elsewhere'] } } } },
  );
  assert.equal(await new TokenReviewAuthenticator(new KubeClient(kc), { audiences: ['https://gitops.toolkit'] }).authenticateToken('alice-token'), undefined);
});

test('a review the cluster refuses (403: no auth-delegator) or fails (500) throws, names no token, and is not cached', async () => {
  const nobody = new k8s.KubeConfig();
  nobody.loadFromFile(await faults.kubeconfigForToken('nobody', await cluster.serviceAccountToken('team-a', 'nobody')));
  await assert.rejects(new TokenReviewAuthenticator(new KubeClient(nobody)).authenticateToken('alice-token'), (e: Error) => e.message === 'TokenReview failed: HTTP 403');

  const a = new TokenReviewAuthenticator(new KubeClient(kc));
  faults.inject({ path: REVIEW_PATH }, { respond: { status: 500, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500 } } });
  await assert.rejects(a.authenticateToken('alice-token'), (e: Error) => e.message === 'TokenReview failed: HTTP 500');
  faults.clearFaults();
  assert.equal((await a.authenticateToken('alice-token'))?.name, 'alice');
  assert.equal(reviews().length, 3);
});

test('a review not answered in time fails', async () => {
  faults.inject({ path: REVIEW_PATH }, { hang: true });
  await assert.rejects(new TokenReviewAuthenticator(new KubeClient(kc), { timeoutMs: 300 }).authenticateToken('alice-token'), /^Error: TokenReview failed: .*abort/i);
});

test('through the chain: a reviewed token authenticates, a rejected one is a 401', async () => {
  const pki = await mintPKI();
  const chain = new AuthenticationChain({ config: () => ({}), tokens: [new TokenReviewAuthenticator(new KubeClient(kc))] });
  const s = await startAuthServer(pki, chain, undefined);
  try {
    const ok = await call(s, pki, { headers: { Authorization: `Bearer ${deployerToken}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
    const no = await call(s, pki, { headers: { Authorization: 'Bearer forged' } });
    assert.equal(no.status, 401);
    assert.deepEqual(reviews().map((r) => (r.body as { spec: { token: string } }).spec.token), [deployerToken, 'forged']);
  } finally {
    await s.close();
  }
});
