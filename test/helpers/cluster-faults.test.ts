// The fault wrapper checked against the local cluster behind it: it passes everything on unchanged
// (kubectl works through it, watches stream), answers only the faults installed, and refuses with
// 501 what it cannot pass on or would have to fake.

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KubeApi } from '../../src/kube/informer.js';
import * as k8s from '@kubernetes/client-node';
import { ClusterFaults } from './cluster-faults.js';
import { TestCluster } from './local-cluster.js';
import { KubeClient } from '../../src/kube/client.js';

describe('ClusterFaults', () => {
  let cluster: TestCluster;
  let faults: ClusterFaults;
  let token: string;
  let kubeconfig: string;

  before(async () => {
    cluster = await TestCluster.start();
    faults = await ClusterFaults.start(cluster);
    token = await cluster.serviceAccountToken('default', 'admin');
    const r = await cluster.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'sa-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'admin', namespace: 'default' }] },
    });
    assert.equal(r.status, 201, r.body);
    kubeconfig = await faults.kubeconfigForToken('admin', token);
  });
  after(async () => {
    await faults?.stop();
    await cluster?.stop();
  });
  beforeEach(() => {
    faults.clearFaults();
    faults.clearRequests();
  });

  const raw = (path: string, o: { cert?: boolean; headers?: Record<string, string> } = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(new URL(path, faults.url), {
        ca: cluster.caCert,
        headers: { Authorization: `Bearer ${token}`, ...o.headers },
        ...(o.cert ? { cert: cluster.cluster.certs.adminCert, key: cluster.cluster.certs.adminKey } : {}),
      }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('passes kubectl\'s requests on unchanged and records them without the token', async () => {
    const k = await cluster.kubectl(['create', 'configmap', 'through', '-n', 'default', '--from-literal=a=b'], { kubeconfig });
    assert.equal(k.code, 0, k.stderr);
    assert.equal((await cluster.request('GET', '/api/v1/namespaces/default/configmaps/through')).json().data.a, 'b', 'really created');
    const post = faults.requests.find((r) => r.method === 'POST');
    assert.equal(post?.path, '/api/v1/namespaces/default/configmaps');
    assert.equal(post?.status, 201);
    assert.equal(post?.bearer, ClusterFaults.bearerOf(token));
    assert.equal(post?.headers.authorization, undefined);
    assert.doesNotMatch(JSON.stringify(faults.requests), new RegExp(token.slice(-20)));
  });

  it('streams watches, and ends them on request', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const ctl = new AbortController();
    const got: string[] = [];
    const done = (async () => {
      for await (const ev of new KubeApi(new KubeClient(kc)).watch<{ metadata: { name: string } }>('/api/v1/namespaces', {}, ctl.signal, 60_000)) got.push(`${ev.type} ${(ev.object as { metadata: { name: string } }).metadata.name}`);
    })();
    while (!got.includes('ADDED default')) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watched' } } })).status, 201);
    while (!got.includes('ADDED watched')) await new Promise((r) => setTimeout(r, 20));
    faults.endWatches();
    await done; // the stream ended
    ctl.abort();
  });

  it('answers installed faults: a status, a delay, a dropped connection, each only while installed', async () => {
    const f = faults.inject({ path: '/api/v1/namespaces/default' }, { respond: { status: 500, body: { kind: 'Status', code: 500 } } }, { times: 1 });
    assert.equal((await raw('/api/v1/namespaces/default')).status, 500);
    assert.equal((await raw('/api/v1/namespaces/default')).status, 200, 'times: 1');
    assert.equal(f.hits, 1);
    faults.inject({ path: '/api/v1/namespaces/default' }, { delayMs: 300 });
    const t0 = Date.now();
    assert.equal((await raw('/api/v1/namespaces/default')).status, 200);
    assert.ok(Date.now() - t0 >= 300);
    faults.clearFaults();
    faults.inject({ path: '/api/v1/namespaces/default' }, { close: true });
    await assert.rejects(raw('/api/v1/namespaces/default'), /socket hang up|ECONNRESET/);
  });

  it('refuses with 501 what it cannot pass on or would have to fake', async () => {
    const cert = await raw('/api/v1/namespaces', { cert: true });
    assert.equal(cert.status, 501);
    assert.match(JSON.parse(cert.body).message, /client certificate cannot be passed on/);
    faults.inject({ watch: true }, { respond: { status: 200, body: '{"type":"ADDED"}' } });
    const fake = await raw('/api/v1/namespaces?watch=true');
    assert.equal(fake.status, 501);
    assert.match(JSON.parse(fake.body).message, /refusing to fake a watch stream/);
    const upgrade = await raw('/api/v1/namespaces/default/pods/p/exec', { headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' } });
    assert.equal(upgrade.status, 501);
    assert.throws(() => faults.inject({}, { rewrite: true } as never), /unsupported fault/);
  });
});
