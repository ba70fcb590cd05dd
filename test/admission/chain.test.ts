// clusterAdmission: the chain the server builds from a kubeconfig, with kube-apiserver's plugin names
// selecting what runs; against the local cluster (webhook configurations stored in it), read as the
// server's ServiceAccount through the fault wrapper, which records what was asked.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { clusterAdmission } from '../../src/admission/chain.js';
import { gitRepository } from '../../src/apis/v1/git-repository.js';
import { StatusError } from '../../src/apis/meta/errors.js';
import { ResourceStore, type WriteContext } from '../../src/registry/store.js';
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { ClusterFaults, serverServiceAccount } from '../helpers/cluster-faults.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { deny, patch, WebhookServer } from '../helpers/webhook-server.js';
import { eventually } from '../helpers/eventually.js';
import { KubeClient } from '../../src/kube/client.js';

const REG = '/apis/admissionregistration.k8s.io/v1';
const repo = (name: string) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1h', url: 'https://example.com/r.git' } });

describe('clusterAdmission', () => {
  let cluster: TestCluster;
  let faults: ClusterFaults;
  let hooks: WebhookServer;
  let kc: k8s.KubeConfig;
  let storage: SqliteStorage;
  let store: ResourceStore;

  before(async () => {
    cluster = await TestCluster.start();
    faults = await ClusterFaults.start(cluster);
    hooks = await WebhookServer.start();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(await faults.kubeconfigForToken('gitops-toolkit', await serverServiceAccount(cluster)));
    storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    store = new ResourceStore(gitRepository, storage);
    hooks.on('/deny', deny('no')).on('/mutate', patch({ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }));
    const webhook = (name: string, path: string) => ({
      name,
      clientConfig: hooks.clientConfig(path),
      rules: [{ operations: ['CREATE'], apiGroups: ['gitops.toolkit'], apiVersions: ['v1'], resources: ['gitrepositories'] }],
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
    });
    const put = async (kind: string, plural: string, name: string, webhooks: object[]) => {
      const r = await cluster.request('POST', `${REG}/${plural}`, { body: { apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name }, webhooks } });
      assert.equal(r.status, 201, r.body);
    };
    await put('ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', 'deny-all', [webhook('deny.example.com', '/deny')]);
    await put('MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', 'label', [webhook('label.example.com', '/mutate')]);
  });
  after(async () => {
    await storage.close();
    await hooks.stop();
    await faults?.stop();
    await cluster?.stop();
  });

  const ctx = (admission: WriteContext['admission']): WriteContext => ({ dryRun: false, fieldManager: 'test', fieldValidation: 'Strict', warnings: [], admission });

  it('runs all three plugins when asked, and reports when its caches have synced', async () => {
    const admission = clusterAdmission(new KubeClient(kc), { plugins: ['NamespaceLifecycle', 'MutatingAdmissionWebhook', 'ValidatingAdmissionWebhook'] });
    assert.equal(admission.hasSynced, false);
    admission.start();
    try {
      await eventually(() => admission.hasSynced);
      await assert.rejects(store.create('missing', repo('a'), ctx(admission)), (e: StatusError) => e.code === 404 && e.message === 'namespaces "missing" not found');
      await assert.rejects(store.create('default', repo('a'), ctx(admission)), (e: StatusError) => e.message === 'admission webhook "deny.example.com" denied the request: no');
      assert.equal(hooks.reviews('/mutate').length, 1, 'mutating ran before validating');
    } finally {
      await admission.stop();
    }
  });

  it('leaves out the plugins not named', async () => {
    faults.clearRequests();
    hooks.clear();
    const admission = clusterAdmission(new KubeClient(kc), { plugins: ['MutatingAdmissionWebhook'] });
    admission.start();
    try {
      await eventually(() => admission.hasSynced);
      const o = await store.create('missing', repo('b'), ctx(admission));
      assert.deepEqual(o.metadata.labels, { mutated: 'yes' });
      assert.equal(hooks.reviews('/deny').length, 0);
      assert.ok(faults.requests.some((r) => r.path.endsWith('/mutatingwebhookconfigurations') && r.status === 200), 'the mutating configurations were read');
      assert.ok(!faults.requests.some((r) => r.path.endsWith('/validatingwebhookconfigurations')), 'the validating ones were not');
    } finally {
      await admission.stop();
    }
  });
});
