// The authentication config from ConfigMap kube-system/extension-apiserver-authentication in the
// (stand-in) cluster: loaded at start, watched and reloaded without a restart, overridden by flags.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { AuthenticationChain } from '../../src/auth/authn/chain.js';
import { AuthenticationConfigSource, DEFAULT_AUTHENTICATION_FLAGS, type AuthenticationConfig, type AuthenticationFlags } from '../../src/auth/authn/cluster-config.js';
import { trustedClientCAs } from '../../src/auth/authn/tls.js';
import { createLogger } from '../../src/observability/logger.js';
import { generateCA, issueCert, type CertKeyPair } from '../../src/pki/certs.js';
import { FakeKubeApiserver } from '../helpers/kube-apiserver.js';
import { call, mintPKI, startAuthServer, type AuthServer, type PKI } from './fixture.js';

const CM_PATH = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
const IDENTITY = { 'X-Remote-User': 'alice', 'X-Remote-Uid': 'u-1', 'X-Remote-Group': 'devs', 'X-Remote-Extra-Scopes': 's' };

let kube: FakeKubeApiserver;
let kc: k8s.KubeConfig;
let pki: PKI;
let frontProxyCA2: CertKeyPair;
let proxy1: CertKeyPair;
let proxy2: CertKeyPair;
let bob: CertKeyPair;
let dir: string;

/** The ConfigMap as kube-apiserver writes it. */
const configMap = (requestHeaderCA: string, over: Record<string, string> = {}) => ({
  metadata: {},
  data: {
    'client-ca-file': pki.clientCA.cert,
    'requestheader-client-ca-file': requestHeaderCA,
    'requestheader-allowed-names': '["front-proxy-client"]',
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-uid-headers': '["X-Remote-Uid"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    ...over,
  },
});

before(async () => {
  kube = await FakeKubeApiserver.start();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfig());
  pki = await mintPKI();
  frontProxyCA2 = await generateCA('front-proxy-ca-2');
  [proxy1, proxy2, bob] = await Promise.all([
    issueCert(pki.frontProxyCA, { cn: 'front-proxy-client', client: true, days: 1 }),
    issueCert(frontProxyCA2, { cn: 'front-proxy-client', client: true, days: 1 }),
    issueCert(pki.clientCA, { cn: 'bob', client: true, days: 1 }),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'authn-config-'));
});
after(async () => {
  await kube.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A source wired the way main wires it: the chain reads it per request, changes reset the TLS CAs. */
async function setup(flags: Partial<AuthenticationFlags> = {}) {
  const logs: string[] = [];
  const log = createLogger('debug', {}, (l) => logs.push(l));
  const source = await AuthenticationConfigSource.start({ flags: { ...DEFAULT_AUTHENTICATION_FLAGS, ...flags }, kubeConfig: kc, log, retryMs: 50 });
  const server = await startAuthServer(pki, new AuthenticationChain({ config: () => source.current(), log }), trustedClientCAs(source.current()));
  const tlsUpdates: (string | undefined)[] = [];
  const waiting: ((c: AuthenticationConfig) => void)[] = [];
  source.onChange((c) => {
    const ca = trustedClientCAs(c);
    server.server.setSecureContext({ ...pki.serving, ca });
    tlsUpdates.push(ca);
    waiting.shift()?.(c);
  });
  const nextChange = () => new Promise<AuthenticationConfig>((resolve) => waiting.push(resolve));
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(cond(), 'condition not reached');
  };
  return { source, server, tlsUpdates, nextChange, logs, until };
}

describe('with the ConfigMap in the cluster', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    kube.setObject(CM_PATH, configMap(pki.frontProxyCA.cert));
    t = await setup();
  });
  afterEach(async () => {
    await t.source.stop();
    await t.server.close();
  });

  test('the front-proxy and client CAs come from it', async () => {
    const r = await call(t.server, pki, { cert: proxy1, headers: IDENTITY });
    assert.deepEqual(r.user, { name: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: { scopes: ['s'] } });
    assert.equal((await call(t.server, pki, { cert: bob })).user?.name, 'bob');
    assert.equal((await call(t.server, pki, { cert: proxy2, headers: IDENTITY })).status, 401);
    const get = kube.requests.find((q) => q.path === CM_PATH);
    assert.equal(get?.method, 'GET');
    const watch = kube.requests.find((q) => q.query.watch === 'true');
    assert.equal(watch?.path, '/api/v1/namespaces/kube-system/configmaps');
    assert.equal(watch?.query.fieldSelector, 'metadata.name=extension-apiserver-authentication');
  });

  test('a new request-header CA takes effect without a restart, and the TLS CAs are updated', async () => {
    const changed = t.nextChange();
    kube.setObject(CM_PATH, configMap(frontProxyCA2.cert));
    const c = await changed;
    assert.equal(c.requestHeader?.ca.pem, frontProxyCA2.cert);
    assert.equal((await call(t.server, pki, { cert: proxy2, headers: IDENTITY })).user?.name, 'alice');
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: IDENTITY })).status, 401);
    assert.equal(t.tlsUpdates.length, 1);
    assert.ok(t.tlsUpdates[0]!.includes(frontProxyCA2.cert) && t.tlsUpdates[0]!.includes(pki.clientCA.cert), 'the TLS layer trusts the new request-header CA and the client CA');
    assert.ok(!t.tlsUpdates[0]!.includes(pki.frontProxyCA.cert), 'the old request-header CA is no longer trusted');
  });

  test('the watch resumes after the stream drops; new header names apply', async () => {
    kube.closeWatches();
    const changed = t.nextChange();
    kube.setObject(CM_PATH, configMap(pki.frontProxyCA.cert, { 'requestheader-username-headers': '["X-Proxy-User"]' }));
    await changed;
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: { 'X-Proxy-User': 'zoe' } })).user?.name, 'zoe');
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: { 'X-Remote-User': 'zoe' } })).status, 401);
  });

  test('a key that does not parse keeps its previous value; the rest still reloads', async () => {
    const clientCA2 = await generateCA('client-ca-2');
    const changed = t.nextChange();
    kube.setObject(CM_PATH, configMap(pki.frontProxyCA.cert, { 'client-ca-file': clientCA2.cert, 'requestheader-group-headers': 'X-Remote-Group' }));
    const c = await changed;
    assert.equal(c.clientCA?.pem, clientCA2.cert);
    assert.deepEqual(c.requestHeader?.groupHeaders, ['X-Remote-Group']);
    assert.ok(t.logs.some((l) => l.includes('requestheader-group-headers is not a JSON array of strings')), 'the bad key is logged');
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: IDENTITY })).user?.name, 'alice');
  });

  test('a deleted ConfigMap keeps the last config', async () => {
    const before = t.source.current();
    kube.deleteObject(CM_PATH);
    await t.until(() => t.logs.some((l) => l.includes('deleted; keeping the last authentication config')));
    assert.equal(t.source.current(), before);
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: IDENTITY })).user?.name, 'alice');
  });
});

describe('flags and start-up', () => {
  beforeEach(() => {
    kube.clearRequests();
    kube.fault = undefined;
  });

  test('--requestheader-client-ca-file brings the whole front-proxy config from flags; the client CA still comes from the cluster', async () => {
    kube.setObject(CM_PATH, configMap(pki.frontProxyCA.cert));
    const caFile = join(dir, 'front-proxy-ca-2.crt');
    await writeFile(caFile, frontProxyCA2.cert);
    const t = await setup({ requestHeaderClientCAFile: caFile, requestHeaderUIDHeaders: ['X-Remote-Uid'] });
    try {
      const r = await call(t.server, pki, { cert: proxy2, headers: IDENTITY });
      assert.deepEqual(r.user, { name: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: { scopes: ['s'] } });
      assert.equal((await call(t.server, pki, { cert: proxy1, headers: IDENTITY })).status, 401);
      assert.equal((await call(t.server, pki, { cert: bob })).user?.name, 'bob');
    } finally {
      await t.source.stop();
      await t.server.close();
    }
  });

  test('with both CA flags the cluster is not read', async () => {
    const clientFile = join(dir, 'client-ca.crt');
    const rhFile = join(dir, 'rh-ca.crt');
    await writeFile(clientFile, pki.clientCA.cert);
    await writeFile(rhFile, pki.frontProxyCA.cert);
    const t = await setup({ clientCAFile: clientFile, requestHeaderClientCAFile: rhFile });
    try {
      assert.equal(kube.requests.length, 0);
      assert.equal((await call(t.server, pki, { cert: proxy1, headers: { 'X-Remote-User': 'yan', 'X-Remote-Uid': 'not-a-default' } })).user?.uid, undefined);
    } finally {
      await t.source.stop();
      await t.server.close();
    }
  });

  test('a missing ConfigMap is waited for', async () => {
    if (kube.getObject(CM_PATH)) kube.deleteObject(CM_PATH);
    const t = await setup();
    try {
      assert.deepEqual(t.source.current(), {});
      assert.equal((await call(t.server, pki, { cert: bob })).status, 401);
      const changed = t.nextChange();
      kube.setObject(CM_PATH, configMap(pki.frontProxyCA.cert));
      await changed;
      assert.equal((await call(t.server, pki, { cert: bob })).user?.name, 'bob');
    } finally {
      await t.source.stop();
      await t.server.close();
    }
  });

  test('a forbidden ConfigMap fails the start with the fix in the message', async () => {
    kube.fault = (r) => (r.path === CM_PATH ? { status: 403, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 } } : undefined);
    await assert.rejects(
      AuthenticationConfigSource.start({ flags: DEFAULT_AUTHENTICATION_FLAGS, kubeConfig: kc, log: createLogger('error', {}, () => {}) }),
      /reading ConfigMap kube-system\/extension-apiserver-authentication: HTTP 403 \(bind the Role kube-system\/extension-apiserver-authentication-reader/,
    );
  });

  test('standalone, the generated CA is the client CA unless --client-ca-file names another; a cluster ignores it', async () => {
    const log = createLogger('error', {}, () => {});
    const standalone = await AuthenticationConfigSource.start({ flags: DEFAULT_AUTHENTICATION_FLAGS, standaloneClientCA: pki.clientCA.cert, log });
    assert.equal(standalone.current().clientCA?.pem, pki.clientCA.cert);
    assert.equal(standalone.current().requestHeader, undefined);
    const file = join(dir, 'other-ca.crt');
    await writeFile(file, pki.otherCA.cert);
    const flagged = await AuthenticationConfigSource.start({ flags: { ...DEFAULT_AUTHENTICATION_FLAGS, clientCAFile: file }, standaloneClientCA: pki.clientCA.cert, log });
    assert.equal(flagged.current().clientCA?.pem, pki.otherCA.cert);
    if (kube.getObject(CM_PATH)) kube.deleteObject(CM_PATH);
    const inCluster = await AuthenticationConfigSource.start({ flags: DEFAULT_AUTHENTICATION_FLAGS, kubeConfig: kc, standaloneClientCA: pki.clientCA.cert, log });
    assert.equal(inCluster.current().clientCA, undefined);
    await inCluster.stop();
  });

  test('a bad CA file or an empty header name fails the start', async () => {
    const bad = join(dir, 'bad.crt');
    await writeFile(bad, 'not a certificate');
    const log = createLogger('error', {}, () => {});
    await assert.rejects(AuthenticationConfigSource.start({ flags: { ...DEFAULT_AUTHENTICATION_FLAGS, clientCAFile: bad }, log }), /--client-ca-file=.*bad\.crt: no PEM certificate found/);
    const good = join(dir, 'good.crt');
    await writeFile(good, pki.frontProxyCA.cert);
    await assert.rejects(
      AuthenticationConfigSource.start({ flags: { ...DEFAULT_AUTHENTICATION_FLAGS, requestHeaderClientCAFile: good, requestHeaderExtraHeadersPrefix: [' '] }, log }),
      /--requestheader-extra-headers-prefix: empty header name/,
    );
  });
});
