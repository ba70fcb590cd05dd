// The user story, end to end: `npm start` with its embedded local cluster, a Git repository
// served by the real git http-backend, a GitRepository and a Kustomization applied with kubectl through
// the local cluster, and the cluster's state asserted with kubectl: objects applied, drift by scale
// reverted at the next reconcile, a file removed from Git pruned, build and diff served.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GitServer } from '../helpers/git-server.js';
import { TestServer } from '../helpers/server.js';
import { kubectl as runKubectl } from '../helpers/run.js';
import { eventually } from '../helpers/eventually.js';

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
`;
const CM = `apiVersion: v1
kind: ConfigMap
metadata: {name: demo, namespace: default}
data: {greeting: hello}
`;

describe('Kustomization: the user story on the embedded local cluster', () => {
  let s: TestServer;
  let git: GitServer;
  let kc: string;
  const k = async (args: string[], input = '') => {
    const r = await runKubectl(kc, args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    git = await GitServer.start();
    await git.createRepo('app', { files: { 'deploy/web.yaml': DEPLOY, 'deploy/cm.yaml': CM } });
    s = await TestServer.start(['--local-cluster=true', '--local-cluster-port', '0']);
    kc = /local-cluster kubeconfig: (.+)\n/.exec(s.logs)?.[1] ?? '';
    assert.ok(kc, s.logs);
  });
  after(async () => {
    await s?.cleanup();
    await git?.stop();
  });

  it('applies what Git says and reports Ready with the revision', async () => {
    await k(['apply', '-f', '-'], `apiVersion: gitops.toolkit/v1
kind: GitRepository
metadata: {name: app, namespace: default}
spec: {interval: 1h, url: "${git.url('app')}", ref: {branch: main}}
---
apiVersion: gitops.toolkit/v1
kind: Kustomization
metadata: {name: app, namespace: default}
spec: {interval: 1h, path: ./deploy, prune: true, sourceRef: {kind: GitRepository, name: app}}
`);
    const w = await runKubectl(kc, ['wait', 'ks/app', '--for=condition=Ready', '--timeout=60s']);
    assert.equal(w.code, 0, `${w.stderr}\n${await k(['get', 'ks/app', '-o', 'yaml'])}\n${s.logs.slice(-3000)}`);
    assert.equal(await k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '2');
    assert.equal(await k(['get', 'cm', 'demo', '-o', 'jsonpath={.data.greeting}']), 'hello');
    const table = await k(['get', 'ks', 'app']);
    assert.match(table, /app\s+.*True\s+Applied revision: main@sha1:[0-9a-f]{40}/);
  });

  it('tells what it did: Events in kubectl describe, the revision with -o wide, a log line with the counts, metrics by kind', async () => {
    const describe = await k(['describe', 'ks', 'app']);
    assert.match(describe, /Events:[\s\S]*Normal\s+Progressing\s+[\s\S]*Deployment\/default\/web created/, describe);
    assert.match(describe, /Normal\s+ReconciliationSucceeded\s+.*Applied revision: main@sha1:/, describe);
    assert.match(await k(['get', 'ks', 'app', '-o', 'wide']), /app\s+.*main@sha1:[0-9a-f]{40}/);
    const line = s.logs
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'reconciled' && l.kind === 'Kustomization' && l.name === 'app' && l.result === 'success');
    assert.ok(line, s.logs.slice(-2000));
    assert.deepEqual([line.created, line.configured, line.unchanged, line.pruned], [2, 0, 0, 0]);
    assert.match(line.revision, /^main@sha1:/);
    const metrics = await s.request('GET', '/metrics');
    assert.match(metrics.body, /gitops_toolkit_reconcile_total\{kind="Kustomization",result="success"\} [1-9]/);
  });

  it('reverts drift at the next reconcile (requestedAt)', async () => {
    await k(['scale', 'deploy/web', '--replicas=5']);
    assert.equal(await k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '5');
    await k(['annotate', 'ks/app', '--overwrite', `gitops.toolkit/requestedAt=${Date.now()}`]);
    await eventually(async () => (await k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])) === '2', 20_000);
  });

  it('prunes what left Git', async () => {
    await git.commit('app', {}, { remove: ['deploy/cm.yaml'] });
    await k(['annotate', 'gitrepository/app', '--overwrite', `gitops.toolkit/requestedAt=${Date.now()}`]);
    await eventually(async () => (await runKubectl(kc, ['get', 'cm', 'demo'])).code !== 0, 30_000);
    const inv = JSON.parse(await k(['get', 'ks/app', '-o', 'json'])).status.inventory.entries.map((e: { id: string }) => e.id);
    assert.deepEqual(inv, ['default_web_apps_Deployment']);
  });

  it('serves build and diff', async () => {
    const build = await k(['get', '--raw', '/apis/gitops.toolkit/v1/namespaces/default/kustomizations/app/build']);
    assert.match(build, /kind: Deployment/);
    assert.match(build, /kustomize.toolkit.fluxcd.io\/name: app/);
    await k(['scale', 'deploy/web', '--replicas=3']);
    const diff = JSON.parse(await k(['get', '--raw', '/apis/gitops.toolkit/v1/namespaces/default/kustomizations/app/diff']));
    const web = diff.entries.find((e: { ref: string }) => e.ref === 'Deployment/default/web');
    assert.equal(web.action, 'configured', JSON.stringify(diff));
    assert.deepEqual(web.changes, [{ path: 'spec.replicas', live: 3, desired: 2 }]);
  });
});
