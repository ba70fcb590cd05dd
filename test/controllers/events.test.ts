// With a host cluster, reconcile outcomes become Kubernetes Events on it (as Flux's do), posted once
// per distinct outcome, naming the object; credentials never appear in them. The host cluster is the
// local cluster, the server its ServiceAccount (allowed to create events by manifests/rbac-server.yaml),
// and the events are read back from it, by kubectl too.

import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { serverServiceAccount } from '../helpers/cluster-faults.js';
import { GitServer } from '../helpers/git-server.js';
import { eventually as waitFor } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { TestServer } from '../helpers/server.js';

let dir: string;
let cluster: TestCluster;
let git: GitServer;
let s: TestServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'events-'));
  const tokens = join(dir, 'tokens.csv');
  await writeFile(tokens, 'tok-admin,admin,,"system:masters"\n');
  cluster = await TestCluster.start({ tokenAuthFile: tokens });
  git = await GitServer.start();
  await git.createRepo('app', { files: { 'a.yaml': 'a: 1\n' } });
  const kubeconfig = await cluster.kubeconfigForToken('gitops-toolkit', await serverServiceAccount(cluster));
  s = await TestServer.start(['--kubeconfig', kubeconfig, '--authorization-mode=AlwaysAllow']);
});
after(async () => {
  await s?.cleanup();
  await git?.stop();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
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

/** The Events stored in the cluster's default namespace. */
let seen: any[] = [];
const events = async (): Promise<any[]> => (seen = (await cluster.request('GET', '/api/v1/namespaces/default/events')).json().items);
const eventEntries = () => JSON.stringify(seen.map((e) => [e.type, e.reason, e.message]));
const eventually = <T>(f: () => Promise<T | undefined>) => waitFor(f, 30_000, () => `no such event; got ${eventEntries()}`);
const repo = (name: string, url: string) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1m', url } });

it('a new artifact is a Normal event on the object, in the cluster', async () => {
  const created = await call('POST', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories', repo('app', git.url('app')));
  assert.equal(created.status, 201);
  const ev = await eventually(async () => (await events()).find((e) => e.involvedObject?.name === 'app' && e.type === 'Normal'));
  assert.equal(ev.involvedObject.kind, 'GitRepository');
  assert.equal(ev.involvedObject.apiVersion, 'gitops.toolkit/v1');
  assert.equal(ev.involvedObject.uid, created.json.metadata.uid);
  assert.equal(ev.reason, 'Succeeded');
  assert.match(ev.message, /stored artifact for revision 'main@sha1:[0-9a-f]{40}'/);
  assert.equal(ev.source.component, 'gitops-toolkit');
  // (Not --field-selector involvedObject.name=app: the local cluster does not support Event field selectors yet.)
  const k = await cluster.kubectl(['get', 'events', '-n', 'default', '-o', 'custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.kind,NAME:.involvedObject.name', '--no-headers']);
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stdout, /^Normal\s+Succeeded\s+GitRepository\s+app$/m);
});

it('a failure is a Warning event, sent once however often it repeats; no credentials in it', async () => {
  await call('POST', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories', repo('down', 'http://user:hunter2@127.0.0.1:9/x.git'));
  const ev = await eventually(async () => (await events()).find((e) => e.involvedObject?.name === 'down' && e.type === 'Warning'));
  assert.equal(ev.reason, 'GitOperationFailed');
  assert.doesNotMatch(JSON.stringify(ev), /hunter2/);
  await new Promise((r) => setTimeout(r, 4000)); // retries with backoff meanwhile
  const warnings = (await events()).filter((e) => e.involvedObject?.name === 'down' && e.type === 'Warning');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].count ?? 1, 1, 'not even counted up');
});
