// The per-kind rules of the built-in kinds, through the generic store (as the API serves them).

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ResourceStores } from '../../registry/resource-stores.js';
import type { WriteContext } from '../../registry/store.js';
import { openSqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { builtinDefinitions } from './kinds.js';

const storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
const stores = new ResourceStores(builtinDefinitions(), storage, { precompile: false });
after(async () => {
  await storage.close();
});
const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'test', fieldValidation: 'Strict', warnings: [] });
type Any = Record<string, any>;

const workload = (kind: string, name: string, spec: Any = {}) => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
    ...spec,
  },
});

describe('workload update strategies are defaulted as kube’s SetDefaults_* do', () => {
  const deployments = stores.forKind('apps', 'v1', 'Deployment');

  it('a Deployment with a RollingUpdate strategy but no parameters gets 25%/25%; Recreate gets none', async () => {
    const d = (await deployments.create('default', workload('Deployment', 'typed', { strategy: { type: 'RollingUpdate' } }), ctx())) as Any;
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    const half = (await deployments.create('default', workload('Deployment', 'half', { strategy: { rollingUpdate: { maxSurge: 3 } } }), ctx())) as Any;
    assert.deepEqual(half.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 3 } });
    const recreate = (await deployments.create('default', workload('Deployment', 'recreate', { strategy: { type: 'Recreate' } }), ctx())) as Any;
    assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });
  });

  it('an update or apply that drops the defaulted parameters gets them back: no spec change, no new generation', async () => {
    const created = (await deployments.create('default', workload('Deployment', 'web'), ctx())) as Any;
    assert.equal(created.metadata.generation, 1);
    const sent = structuredClone(created);
    sent.spec.strategy = { type: 'RollingUpdate' };
    const updated = (await deployments.update('default', 'web', sent, ctx())) as Any;
    assert.deepEqual(updated.spec, created.spec);
    assert.equal(updated.metadata.generation, 1);
    // What kubectl's server-side apply does after taking over a client-side applied object.
    const { object } = await deployments.patch('default', 'web', 'apply', workload('Deployment', 'web'), { ...ctx(), fieldManager: 'kubectl' }, { force: true });
    assert.deepEqual((object as Any).spec.strategy, created.spec.strategy);
    assert.equal(object.metadata.generation, 1);
    const changed = (await deployments.patch('default', 'web', 'merge', { spec: { replicas: 4 } }, ctx())).object as Any;
    assert.equal(changed.metadata.generation, 2, 'a real change still bumps it');
  });

  it('DaemonSets get maxUnavailable 1 / maxSurge 0, StatefulSets partition 0', async () => {
    const ds = (await stores.forKind('apps', 'v1', 'DaemonSet').create('default', workload('DaemonSet', 'agent', { updateStrategy: { type: 'RollingUpdate' } }), ctx())) as Any;
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    const sts = stores.forKind('apps', 'v1', 'StatefulSet');
    const typed = (await sts.create('default', workload('StatefulSet', 'typed', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: {} } }), ctx())) as Any;
    assert.deepEqual(typed.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    // kube adds rollingUpdate only when it defaults the type too.
    const bare = (await sts.create('default', workload('StatefulSet', 'bare', { updateStrategy: { type: 'RollingUpdate' } }), ctx())) as Any;
    assert.deepEqual(bare.spec.updateStrategy, { type: 'RollingUpdate' });
    const ondelete = (await sts.create('default', workload('StatefulSet', 'ondelete', { updateStrategy: { type: 'OnDelete' } }), ctx())) as Any;
    assert.deepEqual(ondelete.spec.updateStrategy, { type: 'OnDelete' });
  });
});

describe('the scale subresource of the built-in workloads', () => {
  it('reports spec.replicas, status.replicas and the selector in its string form, as kube’s registries do', async () => {
    const rs = stores.forKind('apps', 'v1', 'ReplicaSet');
    await rs.create('default', workload('ReplicaSet', 'shop', { replicas: 3, selector: { matchLabels: { app: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, template: { metadata: { labels: { app: 'shop', tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } }), ctx());
    const scale = (await rs.getScale('default', 'shop')) as Any;
    assert.equal(scale.kind, 'Scale');
    assert.deepEqual(scale.spec, { replicas: 3 });
    assert.deepEqual(scale.status, { replicas: 0, selector: 'app=shop,tier in (api,web)' });
    const after = (await rs.writeScale('default', 'shop', ctx(), (s) => ({ ...s, spec: { replicas: 5 } }))) as Any;
    assert.equal(after.spec.replicas, 5);
    assert.equal(after.status.selector, 'app=shop,tier in (api,web)');
  });
});

describe('updates without a resourceVersion (kube’s AllowUnconditionalUpdate)', () => {
  it('most built-in kinds take a PUT without metadata.resourceVersion as “whatever is stored” (helm’s release Secrets)', async () => {
    const secrets = stores.forKind('', 'v1', 'Secret');
    await secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'release' }, stringData: { status: 'pending-install' } }, ctx());
    const updated = (await secrets.update('default', 'release', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'release' }, stringData: { status: 'deployed' } }, ctx())) as Any;
    assert.equal(Buffer.from(updated.data.status, 'base64').toString(), 'deployed');
  });

  it('Leases, PodDisruptionBudgets and webhook configurations still require one, as in kube', async () => {
    const leases = stores.forKind('coordination.k8s.io', 'v1', 'Lease');
    await leases.create('default', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lock' }, spec: { holderIdentity: 'a' } }, ctx());
    await assert.rejects(leases.update('default', 'lock', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lock' }, spec: { holderIdentity: 'b' } }, ctx()), /Lease\.coordination\.k8s\.io "lock" is invalid: metadata\.resourceVersion: Invalid value: 0: must be specified for an update/);
    for (const [group, kind] of [
      ['policy', 'PodDisruptionBudget'],
      ['admissionregistration.k8s.io', 'MutatingWebhookConfiguration'],
      ['admissionregistration.k8s.io', 'ValidatingWebhookConfiguration'],
      ['apiextensions.k8s.io', 'CustomResourceDefinition'],
      ['apiregistration.k8s.io', 'APIService'],
    ])
      assert.ok(!stores.forKind(group, 'v1', kind).def.unconditionalUpdate, kind);
    assert.ok(stores.forKind('apps', 'v1', 'Deployment').def.unconditionalUpdate);
  });
});
