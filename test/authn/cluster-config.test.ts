// The authentication config from ConfigMap kube-system/extension-apiserver-authentication as the
// local cluster publishes it (its client CA, its front-proxy CA and header names): loaded at start,
// watched and reloaded without a restart when the ConfigMap really changes — edited, then restored by
// the cluster as kube-apiserver restores it — and overridden by flags. Read as the server's
// ServiceAccount (manifests/rbac-server.yaml binds it to the reader Role), through the fault wrapper,
// which records the requests, drops watches, and hides the ConfigMap for the one test that needs it
// missing (the cluster recreates it at once).

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
import { accessReview, ClusterFaults, SERVER_SERVICE_ACCOUNT, serverServiceAccount } from '../helpers/cluster-faults.js';
import { eventually } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { call, mintPKI, startAuthServer, type AuthServer, type PKI } from './fixture.js';
import { KubeClient } from '../../src/kube/client.js';

const CM_PATH = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
const IDENTITY = { 'X-Remote-User': 'alice', 'X-Remote-Uid': 'u-1', 'X-Remote-Group': 'devs', 'X-Remote-Extra-Scopes': 's' };

let cluster: TestCluster;
let faults: ClusterFaults;
let kc: k8s.KubeConfig;
let pki: PKI;
let frontProxyCA2: CertKeyPair;
let proxy1: CertKeyPair;
let proxy2: CertKeyPair;
let bob: CertKeyPair;
let dir: string;

/** What the cluster publishes, read at the start. */
let published: Record<string, string>;
/** The published ConfigMap's data with another request-header CA and `over`. */
const configMap = (requestHeaderCA: string, over: Record<string, string> = {}) => ({ data: { ...published, 'requestheader-client-ca-file': requestHeaderCA, ...over } });
const sameData = (a: Record<string, string> | undefined, b: Record<string, string>) => !!a && JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
/** Waits until the cluster has restored its own ConfigMap. */
const restoredByCluster = () => eventually(async () => {
  const r = await cluster.request('GET', CM_PATH);
  return r.status === 200 && sameData(r.json().data, published);
});

/** Replaces the ConfigMap's data in the cluster, as an admin editing it would. */
async function putConfigMap(cm: { data: Record<string, string> }): Promise<void> {
  const cur = await cluster.request('GET', CM_PATH);
  const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extension-apiserver-authentication', namespace: 'kube-system', ...(cur.status === 200 ? { resourceVersion: cur.json().metadata.resourceVersion } : {}) }, ...cm };
  const r = cur.status === 200 ? await cluster.request('PUT', CM_PATH, { body: obj }) : await cluster.request('POST', '/api/v1/namespaces/kube-system/configmaps', { body: obj });
  assert.ok(r.status === 200 || r.status === 201, r.body);
}

async function deleteConfigMap(): Promise<void> {
  const r = await cluster.request('DELETE', CM_PATH);
  assert.ok(r.status === 200 || r.status === 404, r.body);
}

before(async () => {
  cluster = await TestCluster.start();
  faults = await ClusterFaults.start(cluster);
  kc = new k8s.KubeConfig();
  kc.loadFromFile(await faults.kubeconfigForToken('gitops-toolkit', await serverServiceAccount(cluster)));
  // kube authorizes a list or watch with fieldSelector=metadata.name=X as a request on X: the reader
  // Role (resourceNames: [extension-apiserver-authentication]) is all the server needs to watch it.
  assert.equal((await accessReview(cluster, { user: SERVER_SERVICE_ACCOUNT, resourceAttributes: { namespace: 'kube-system', verb: 'watch', resource: 'configmaps' } })).allowed, false, 'no watch of every ConfigMap');
  // The cluster's client CA and front-proxy CA stand in the PKI's places.
  assert.ok(cluster.cluster.frontProxy, 'the local cluster has a front-proxy CA');
  pki = { ...(await mintPKI()), clientCA: { cert: cluster.cluster.certs.caCert, key: cluster.cluster.certs.caKey }, frontProxyCA: cluster.cluster.frontProxy.ca };
  const cm = await cluster.request('GET', CM_PATH);
  assert.equal(cm.status, 200, 'the cluster publishes extension-apiserver-authentication');
  published = cm.json().data;
  frontProxyCA2 = await generateCA('front-proxy-ca-2');
  [proxy1, proxy2, bob] = await Promise.all([
    issueCert(pki.frontProxyCA, { cn: 'front-proxy-client', client: true, days: 1 }),
    issueCert(frontProxyCA2, { cn: 'front-proxy-client', client: true, days: 1 }),
    issueCert(pki.clientCA, { cn: 'bob', client: true, days: 1 }),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'authn-config-'));
});
after(async () => {
  await faults?.stop();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A source wired the way main wires it: the chain reads it per request, changes reset the TLS CAs. */
async function setup(flags: Partial<AuthenticationFlags> = {}) {
  const logs: string[] = [];
  const log = createLogger('debug', {}, (l) => logs.push(l));
  const source = await AuthenticationConfigSource.start({ flags: { ...DEFAULT_AUTHENTICATION_FLAGS, ...flags }, cluster: new KubeClient(kc), log, retryMs: 50 });
  const server = await startAuthServer(pki, new AuthenticationChain({ config: () => source.current(), log }), trustedClientCAs(source.current()));
  const tlsUpdates: (string | undefined)[] = [];
  const waiting: ((c: AuthenticationConfig) => void)[] = [];
  source.onChange((c) => {
    const ca = trustedClientCAs(c);
    server.server.setSecureContext({ ...pki.serving, ca });
    tlsUpdates.push(ca);
    waiting.shift()?.(c);
  });
  const nextChange = () =>
    new Promise<AuthenticationConfig>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no config change within 10 s')), 10_000);
      waiting.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(cond(), 'condition not reached');
  };
  return { source, server, tlsUpdates, nextChange, logs, until };
}

describe('with the ConfigMap in the cluster', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    await restoredByCluster();
    faults.clearRequests();
    t = await setup();
  });
  afterEach(async () => {
    await t.source.stop();
    await t.server.close();
  });

  test('the front-proxy and client CAs come from it', async () => {
    const r = await call(t.server, pki, { cert: proxy1, headers: IDENTITY });
    // Kubernetes 1.32 publishes no requestheader-uid-headers (RemoteRequestHeaderUID is alpha): no uid.
    assert.deepEqual(r.user, { name: 'alice', groups: ['devs', 'system:authenticated'], extra: { scopes: ['s'] } });
    assert.equal((await call(t.server, pki, { cert: bob })).user?.name, 'bob');
    assert.equal((await call(t.server, pki, { cert: proxy2, headers: IDENTITY })).status, 401);
    const get = faults.requests.find((q) => q.path === CM_PATH);
    assert.equal(get?.method, 'GET');
    assert.equal(get?.status, 200);
    const watch = faults.requests.find((q) => q.watch);
    assert.equal(watch?.path, '/api/v1/namespaces/kube-system/configmaps');
    assert.equal(watch?.query.fieldSelector, 'metadata.name=extension-apiserver-authentication');
  });

  test('a new request-header CA takes effect without a restart, and the TLS CAs are updated', async () => {
    const changed = t.nextChange();
    const restored = t.nextChange();
    await putConfigMap(configMap(frontProxyCA2.cert));
    const c = await changed;
    assert.equal(c.requestHeader?.ca.pem, frontProxyCA2.cert);
    assert.ok(t.tlsUpdates[0]!.includes(frontProxyCA2.cert) && t.tlsUpdates[0]!.includes(pki.clientCA.cert), 'the TLS layer trusts the new request-header CA and the client CA');
    assert.ok(!t.tlsUpdates[0]!.includes(pki.frontProxyCA.cert), 'the old request-header CA is no longer trusted');
    // The cluster puts its own CA back, as kube-apiserver does; that change is followed too.
    assert.equal((await restored).requestHeader?.ca.pem, pki.frontProxyCA.cert);
    assert.equal(t.tlsUpdates.length, 2);
    assert.ok(t.tlsUpdates[1]!.includes(pki.frontProxyCA.cert) && !t.tlsUpdates[1]!.includes(frontProxyCA2.cert));
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: IDENTITY })).user?.name, 'alice');
    assert.equal((await call(t.server, pki, { cert: proxy2, headers: IDENTITY })).status, 401);
  });

  test('the watch resumes after the stream drops; new header names apply', async () => {
    await eventually(() => faults.requests.some((q) => q.watch && q.status === 200));
    faults.endWatches();
    // The watch is open again before the change, so the change arrives by the resumed watch.
    await eventually(() => faults.requests.filter((q) => q.watch && q.status === 200).length >= 2);
    const changed = t.nextChange();
    const restored = t.nextChange();
    await putConfigMap(configMap(pki.frontProxyCA.cert, { 'requestheader-username-headers': '["X-Proxy-User"]' }));
    assert.deepEqual((await changed).requestHeader?.usernameHeaders, ['X-Proxy-User']);
    assert.deepEqual((await restored).requestHeader?.usernameHeaders, ['X-Remote-User']);
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: { 'X-Remote-User': 'zoe' } })).user?.name, 'zoe');
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: { 'X-Proxy-User': 'zoe' } })).status, 401);
  });

  test('a key that does not parse keeps its previous value; the rest still reloads', async () => {
    const clientCA2 = await generateCA('client-ca-2');
    const changed = t.nextChange();
    const restored = t.nextChange();
    await putConfigMap(configMap(pki.frontProxyCA.cert, { 'client-ca-file': clientCA2.cert, 'requestheader-group-headers': 'X-Remote-Group' }));
    const c = await changed;
    assert.equal(c.clientCA?.pem, clientCA2.cert);
    assert.deepEqual(c.requestHeader?.groupHeaders, ['X-Remote-Group']);
    assert.ok(t.logs.some((l) => l.includes('requestheader-group-headers is not a JSON array of strings')), 'the bad key is logged');
    assert.equal((await restored).clientCA?.pem, pki.clientCA.cert);
    assert.deepEqual((await call(t.server, pki, { cert: proxy1, headers: IDENTITY })).user?.groups, ['devs', 'system:authenticated']);
  });

  test('a deleted ConfigMap keeps the last config', async () => {
    const before = t.source.current();
    await deleteConfigMap();
    await t.until(() => t.logs.some((l) => l.includes('deleted; keeping the last authentication config')));
    assert.equal(t.source.current(), before);
    await restoredByCluster(); // recreated by the cluster with the same content: no change
    assert.deepEqual(t.source.current(), before);
    assert.equal((await call(t.server, pki, { cert: proxy1, headers: IDENTITY })).user?.name, 'alice');
  });
});

describe('flags and start-up', () => {
  beforeEach(() => {
    faults.clearRequests();
    faults.clearFaults();
  });

  test('--requestheader-client-ca-file brings the whole front-proxy config from flags; the client CA still comes from the cluster', async () => {
    await restoredByCluster();
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
      assert.equal(faults.requests.length, 0);
      assert.equal((await call(t.server, pki, { cert: proxy1, headers: { 'X-Remote-User': 'yan', 'X-Remote-Uid': 'not-a-default' } })).user?.uid, undefined);
    } finally {
      await t.source.stop();
      await t.server.close();
    }
  });

  test('a missing ConfigMap is waited for', async () => {
    // The cluster recreates its ConfigMap at once, so its absence is injected: a NotFound for the
    // GET, and failed lists and watches until it "appears".
    faults.inject({ method: 'GET', path: CM_PATH }, { respond: { status: 404, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "extension-apiserver-authentication" not found', reason: 'NotFound', details: { name: 'extension-apiserver-authentication', kind: 'configmaps' }, code: 404 } } });
    faults.inject({ method: 'GET', path: '/api/v1/namespaces/kube-system/configmaps' }, { respond: { status: 500, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'etcdserver: leader changed', reason: 'InternalError', code: 500 } } });
    const t = await setup();
    try {
      assert.deepEqual(t.source.current(), {});
      assert.equal((await call(t.server, pki, { cert: bob })).status, 401);
      const changed = t.nextChange();
      faults.clearFaults();
      await changed;
      assert.equal((await call(t.server, pki, { cert: bob })).user?.name, 'bob');
    } finally {
      await t.source.stop();
      await t.server.close();
    }
  });

  test('a forbidden ConfigMap fails the start with the fix in the message', async () => {
    // A ServiceAccount the cluster's RBAC does not let read it: a real 403.
    const unbound = new k8s.KubeConfig();
    unbound.loadFromFile(await faults.kubeconfigForToken('unbound', await cluster.serviceAccountToken('gitops-system', 'unbound')));
    await assert.rejects(
      AuthenticationConfigSource.start({ flags: DEFAULT_AUTHENTICATION_FLAGS, cluster: new KubeClient(unbound), log: createLogger('error', {}, () => {}) }),
      /reading ConfigMap kube-system\/extension-apiserver-authentication: HTTP 403 \(bind the Role kube-system\/extension-apiserver-authentication-reader/,
    );
  });

  test('the generated CA is a client CA unless --client-ca-file names another: alone standalone, beside the cluster\'s with --kubeconfig', async () => {
    const log = createLogger('error', {}, () => {});
    const standalone = await AuthenticationConfigSource.start({ flags: DEFAULT_AUTHENTICATION_FLAGS, standaloneClientCA: pki.clientCA.cert, log });
    assert.equal(standalone.current().clientCA?.pem, pki.clientCA.cert);
    assert.equal(standalone.current().requestHeader, undefined);
    const file = join(dir, 'other-ca.crt');
    await writeFile(file, pki.otherCA.cert);
    const flagged = await AuthenticationConfigSource.start({ flags: { ...DEFAULT_AUTHENTICATION_FLAGS, clientCAFile: file }, standaloneClientCA: pki.clientCA.cert, log });
    assert.equal(flagged.current().clientCA?.pem, pki.otherCA.cert);
    const inCluster = await AuthenticationConfigSource.start({ flags: DEFAULT_AUTHENTICATION_FLAGS, cluster: new KubeClient(kc), standaloneClientCA: pki.otherCA.cert, log });
    // `npm start -- --kubeconfig …` on a workstation: the printed admin kubeconfig (signed by the generated
    // CA) still works, and so do the cluster's own client certificates.
    assert.equal(inCluster.current().clientCA?.pem, `${cluster.caCert}\n${pki.otherCA.cert}`, 'the cluster\'s client CA and the generated one');
    await inCluster.stop();
    const inClusterFlagged = await AuthenticationConfigSource.start({ flags: { ...DEFAULT_AUTHENTICATION_FLAGS, clientCAFile: file }, cluster: new KubeClient(kc), standaloneClientCA: pki.clientCA.cert, log });
    assert.equal(inClusterFlagged.current().clientCA?.pem, pki.otherCA.cert, '--client-ca-file replaces both');
    await inClusterFlagged.stop();
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
