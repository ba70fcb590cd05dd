// With a host cluster, reconcile outcomes become Kubernetes Events on it (as Flux's do), posted once
// per distinct outcome, naming the object; credentials never appear in them.

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, it } from 'node:test';
import { generateCA } from '../../src/pki/certs.js';
import { GitServer } from '../helpers/git-server.js';
import { FakeKubeApiserver } from '../helpers/kube-apiserver.js';
import { eventually as waitFor } from '../helpers/eventually.js';
import { TestServer } from '../helpers/server.js';

let kube: FakeKubeApiserver;
let git: GitServer;
let s: TestServer;

before(async () => {
  kube = await FakeKubeApiserver.start();
  git = await GitServer.start();
  await git.createRepo('app', { files: { 'a.yaml': 'a: 1\n' } });
  const ca = await generateCA('unused client CA');
  kube.setObject('/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'extension-apiserver-authentication', namespace: 'kube-system' },
    data: { 'client-ca-file': ca.cert },
  });
  kube.tokens.set('tok-admin', { username: 'admin', groups: ['system:masters'] });
  s = await TestServer.start(['--kubeconfig', kube.kubeconfig(), '--authorization-mode=AlwaysAllow']);
});
after(async () => {
  await s?.cleanup();
  await git?.stop();
  await kube?.stop();
});

function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: s.port, method, path, ca: s.caCert, headers: { Authorization: 'Bearer tok-admin', 'Content-Type': 'application/json' } }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: b ? JSON.parse(b) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const events = () => kube.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/namespaces/default/events').map((r) => r.body as any);
const eventEntries = () => JSON.stringify(events().map((e) => [e.type, e.reason, e.message]));
const eventually = <T>(f: () => T | undefined) => waitFor(f, 30_000, () => `no such event; got ${eventEntries()}`);
const repo = (name: string, url: string) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1m', url } });

it('a new artifact is a Normal event on the object', async () => {
  const created = await call('POST', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories', repo('app', git.url('app')));
  assert.equal(created.status, 201);
  const ev = await eventually(() => events().find((e) => e.involvedObject?.name === 'app' && e.type === 'Normal'));
  assert.equal(ev.involvedObject.kind, 'GitRepository');
  assert.equal(ev.involvedObject.apiVersion, 'gitops.toolkit/v1');
  assert.equal(ev.involvedObject.uid, created.json.metadata.uid);
  assert.equal(ev.reason, 'Succeeded');
  assert.match(ev.message, /stored artifact for revision 'main@sha1:[0-9a-f]{40}'/);
  assert.equal(ev.source.component, 'gitops-toolkit');
});

it('a failure is a Warning event, sent once however often it repeats; no credentials in it', async () => {
  await call('POST', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories', repo('down', 'http://user:hunter2@127.0.0.1:9/x.git'));
  const ev = await eventually(() => events().find((e) => e.involvedObject?.name === 'down' && e.type === 'Warning'));
  assert.equal(ev.reason, 'GitOperationFailed');
  assert.doesNotMatch(JSON.stringify(ev), /hunter2/);
  await new Promise((r) => setTimeout(r, 4000)); // retries with backoff meanwhile
  assert.equal(events().filter((e) => e.involvedObject?.name === 'down' && e.type === 'Warning').length, 1);
});
