// `npm start -- --kubeconfig <a cluster>`: no embedded cluster; Kustomizations apply to the cluster the
// kubeconfig names (here a standalone local cluster standing in for a real one), created through this
// server's own kubeconfig, as a user does before the APIService is installed.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { GitServer } from '../helpers/git-server.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { TestServer } from '../helpers/server.js';
import { deploymentYaml } from '../helpers/kustomization.js';
import { eventually } from '../helpers/eventually.js';

describe('Kustomizations apply to the --kubeconfig cluster', () => {
  let cluster: TestCluster;
  let git: GitServer;
  let s: TestServer;
  before(async () => {
    [cluster, git] = await Promise.all([TestCluster.start(), GitServer.start()]);
    await git.createRepo('app', { files: { 'deploy/web.yaml': deploymentYaml('web') } });
    s = await TestServer.start(['--kubeconfig', cluster.kubeconfig]);
  });
  after(async () => {
    await s?.cleanup();
    await git?.stop();
    await cluster?.stop();
  });

  it('applies into that cluster, with no embedded one started', async () => {
    assert.doesNotMatch(s.logs, /local-cluster kubeconfig/);
    const docs = [
      { apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'app', namespace: 'default' }, spec: { interval: '1h', url: git.url('app'), ref: { branch: 'main' } } },
      { apiVersion: 'gitops.toolkit/v1', kind: 'Kustomization', metadata: { name: 'app', namespace: 'default' }, spec: { interval: '1h', path: './deploy', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' } } },
    ];
    const applied = await s.kubectl(['apply', '-f', '-'], { input: docs.map((d) => yaml.dump(d)).join('---\n') });
    assert.equal(applied.code, 0, applied.stderr);
    const w = await s.kubectl(['wait', '-n', 'default', 'ks/app', '--for=condition=Ready', '--timeout=60s']);
    assert.equal(w.code, 0, `${w.stderr}\n${s.logs.slice(-2000)}`);
    const d = await eventually(async () => {
      const r = await cluster.kubectl(['get', '-n', 'default', 'deploy/web', '-o', 'json', '--show-managed-fields']);
      return r.code === 0 && JSON.parse(r.stdout);
    }, 10_000);
    assert.equal(d.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'app');
    assert.ok(d.metadata.managedFields.some((m: { manager: string }) => m.manager === 'gitops-toolkit'));
  });
});
