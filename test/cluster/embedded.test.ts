// `npm start` with no host cluster: the server starts an embedded local cluster, registers itself
// into it (Service, EndpointSlice, APIService v1.gitops.toolkit) and writes
// certs/local-cluster.kubeconfig, with which one kubectl call lists built-in kinds and ours, through
// the aggregator; the direct kubeconfig keeps working as standalone. --local-cluster=false: no cluster.

import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestServer } from '../helpers/server.js';
import { kubectl as runKubectl } from '../helpers/run.js';

const kubectl = (kubeconfig: string, args: string[], input = '') => runKubectl(kubeconfig, args, { input });

describe('npm start with the embedded local cluster', () => {
  let s: TestServer;
  let localKubeconfig: string;
  before(async () => {
    s = await TestServer.start(['--controllers=', '--local-cluster=true', '--local-cluster-port', '0']);
    localKubeconfig = /local-cluster kubeconfig: (.+)\n/.exec(s.logs)?.[1] ?? '';
  });
  after(async () => {
    await s?.cleanup();
  });

  it('prints certs/local-cluster.kubeconfig, a copy of the cluster\'s admin kubeconfig', async () => {
    assert.equal(localKubeconfig, join(s.certDir, 'local-cluster.kubeconfig'), s.logs);
    assert.ok((await stat(join(s.certDir, 'local-cluster', 'kubeconfig'))).isFile());
    assert.ok((await stat(join(s.dataDir, 'local-cluster', 'cluster.db'))).isFile());
  });

  it('one kubectl call lists namespaces, Deployments, ConfigMaps, GitRepositories and Kustomizations, through the aggregator', async () => {
    const repo = 'apiVersion: gitops.toolkit/v1\nkind: GitRepository\nmetadata: {name: app, namespace: default}\nspec: {interval: 5m, url: "https://example.com/a.git"}\n';
    // Created through the cluster, seen directly: the same server behind both.
    let r = await kubectl(localKubeconfig, ['apply', '-f', '-'], repo);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(localKubeconfig, ['get', 'ns,deploy,cm,gitrepositories,kustomizations', '-A']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\/gitops-system/);
    assert.match(r.stdout, /kube-system\s+configmap\/extension-apiserver-authentication/);
    assert.match(r.stdout, /default\s+gitrepository.gitops.toolkit\/app/);
    r = await kubectl(localKubeconfig, ['get', 'apiservice', 'v1.gitops.toolkit']);
    assert.match(r.stdout, /gitops-system\/gitops-toolkit\s+True/);
    assert.match(await s.k(['get', 'gitrepositories', '-n', 'default']), /app/);
  });

  it('the direct kubeconfig works as standalone (no namespace lifecycle from the cluster)', async () => {
    const r = await s.request('POST', '/apis/gitops.toolkit/v1/namespaces/not-in-the-cluster/gitrepositories', {
      body: JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'x' }, spec: { interval: '5m', url: 'https://example.com/a.git' } }),
    });
    assert.equal(r.status, 201, r.body);
  });
});

describe('--local-cluster=false', () => {
  it('starts no cluster', async () => {
    const s = await TestServer.start(['--controllers=', '--local-cluster=false', '--local-cluster-port', '0']);
    try {
      assert.doesNotMatch(s.logs, /local-cluster kubeconfig/);
      await assert.rejects(stat(join(s.certDir, 'local-cluster')), { code: 'ENOENT' });
      await assert.rejects(stat(join(s.certDir, 'local-cluster.kubeconfig')), { code: 'ENOENT' });
    } finally {
      await s.cleanup();
    }
  });
});
