// Inventory and prune against the local cluster: stale objects deleted (ConfigMap, Deployment), kept
// when marked `prune: disabled` or relabelled to another Kustomization, Namespaces after their
// contents, CRDs after their custom resources, an entry whose kind is gone not failing the rest, and
// each deletionPolicy (WaitForTermination held by a finalizer, and its timeout).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubeClient, type KubeObject } from '../../src/kube/client.js';
import { diff, finalizeInventory, inventoryOf, ownerLabels, prune } from '../../src/apply/inventory/index.js';
import { eventually } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';

const owner = { name: 'apps', namespace: 'flux-system' };
const mine = ownerLabels(owner.name, owner.namespace);

const cm = (name: string, namespace = 'default', meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels: { ...mine }, ...meta },
  data: { a: '1' },
});
const deploy = (name: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { ...mine } },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
});
const crd = (plural: string, kind: string): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.example.com`, labels: { ...mine } },
  spec: {
    group: 'example.com',
    names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
    scope: 'Namespaced',
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
});

describe('inventory and prune on the local cluster', () => {
  let c: TestCluster;
  let client: KubeClient;
  before(async () => {
    c = await TestCluster.start();
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    client = new KubeClient(kc, { discoveryMinIntervalMs: 0 });
  });
  after(() => c?.stop());

  const apply = async (objs: KubeObject[]) => {
    for (const o of objs) await client.apply(o, { force: true });
  };
  const exists = async (o: KubeObject) => (await client.getOptional({ apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata!.name!, namespace: o.metadata!.namespace })) !== undefined;

  test('stale ConfigMap and Deployment are deleted; prune: disabled and another owner kept; dry run deletes nothing', async () => {
    const keep = cm('keep');
    const stale = [
      cm('old'),
      deploy('old-web'),
      cm('pinned', 'default', { annotations: { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' } }),
      cm('pinned-own', 'default', { labels: { ...mine, 'gitops.toolkit/prune': 'disabled' } }),
      cm('moved'),
    ];
    await apply([keep, ...stale]);
    const previous = inventoryOf([keep, ...stale]);
    const current = inventoryOf([keep]);
    // Another Kustomization took `moved` over (its owner labels now name it).
    await apply([{ ...cm('moved'), metadata: { name: 'moved', namespace: 'default', labels: { ...ownerLabels('other', 'team-b') } } }]);

    const toPrune = diff(previous, current);
    assert.equal(toPrune.length, 5);

    const dry = await prune(client, toPrune, { owner, dryRun: true });
    assert.deepEqual(dry.filter((r) => r.action === 'deleted').map((r) => r.reason), ['would be deleted (dry run)', 'would be deleted (dry run)']);
    for (const o of stale) assert.ok(await exists(o), `${o.metadata!.name} still there after a dry run`);

    const results = await prune(client, toPrune, { owner });
    const by = Object.fromEntries(results.map((r) => [r.ref, r]));
    assert.equal(by['Deployment/default/old-web'].action, 'deleted');
    assert.equal(by['ConfigMap/default/old'].action, 'deleted');
    assert.equal(by['ConfigMap/default/pinned'].action, 'skipped');
    assert.match(by['ConfigMap/default/pinned'].reason, /prune disabled \(annotation kustomize\.toolkit\.fluxcd\.io\/prune: disabled\)/);
    assert.equal(by['ConfigMap/default/pinned-own'].action, 'skipped');
    assert.match(by['ConfigMap/default/pinned-own'].reason, /label gitops\.toolkit\/prune/);
    assert.equal(by['ConfigMap/default/moved'].action, 'skipped');
    assert.match(by['ConfigMap/default/moved'].reason, /managed by Kustomization team-b\/other/);
    // The Deployment (a workload) goes before ConfigMaps: reverse apply order.
    assert.equal(results[0].ref, 'Deployment/default/old-web');

    assert.equal(await exists(cm('old')), false);
    assert.equal(await exists(deploy('old-web')), false);
    for (const n of ['keep', 'pinned', 'pinned-own', 'moved']) assert.ok(await exists(cm(n)), `${n} kept`);

    // Pruning again: what is gone counts as deleted.
    const again = await prune(client, toPrune, { owner });
    assert.deepEqual(
      again.filter((r) => r.action === 'deleted').map((r) => [r.ref, r.reason]),
      [
        ['Deployment/default/old-web', 'already gone'],
        ['ConfigMap/default/old', 'already gone'],
      ],
    );
  });

  test('a Namespace is pruned after its contents, a CRD after its custom resources', async () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { ...mine } } };
    const def = crd('widgets', 'Widget');
    await apply([def, ns]);
    const widget: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'team-a', labels: { ...mine } }, spec: { size: 1 } };
    // The CRD's kind is served once it is Established.
    await eventually(async () => client.apply(widget).then(() => true, () => false), 30_000);
    const inner = cm('inner', 'team-a');
    await apply([inner]);

    const results = await prune(client, inventoryOf([def, ns, widget, inner]).entries, { owner });
    assert.deepEqual(
      results.map((r) => [r.ref, r.action]),
      [
        ['Widget/team-a/w1', 'deleted'],
        ['ConfigMap/team-a/inner', 'deleted'],
        ['Namespace/team-a', 'deleted'],
        ['CustomResourceDefinition/widgets.example.com', 'deleted'],
      ],
    );
    await eventually(async () => !(await exists(ns)) && !(await exists(def)), 30_000);
  });

  test('an entry whose kind no longer exists (its CRD deleted) counts as deleted and the rest are pruned', async () => {
    const def = crd('gadgets', 'Gadget');
    await apply([def]);
    const gadget: KubeObject = { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g1', namespace: 'default', labels: { ...mine } } };
    // The CRD's kind is served once it is Established.
    await eventually(async () => client.apply(gadget).then(() => true, () => false), 30_000);
    const other = cm('with-gadget');
    await apply([other]);
    const inv = inventoryOf([gadget, other]);
    // The CRD goes out of band (its custom resources with it).
    await client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'gadgets.example.com' });
    await eventually(async () => !(await exists(def)), 30_000);

    // With discovery still holding the kind, its object reads as 404: already gone.
    const stale = await prune(client, inv.entries.filter((e) => e.id.endsWith('_Gadget')), { owner });
    assert.deepEqual(stale.map((r) => [r.action, r.reason]), [['deleted', 'already gone']]);
    // Once discovery no longer lists the kind: no longer served.
    await client.refreshDiscovery();
    const results = await prune(client, inv.entries, { owner });
    const by = Object.fromEntries(results.map((r) => [r.ref, r]));
    assert.equal(by['Gadget/default/g1'].action, 'deleted');
    assert.equal(by['Gadget/default/g1'].reason, 'kind Gadget of group "example.com" is no longer served');
    assert.equal(by['Gadget/default/g1'].kindGone, true);
    assert.equal(by['ConfigMap/default/with-gadget'].action, 'deleted');
    assert.equal(await exists(other), false);
  });

  test('deletionPolicy: Orphan and MirrorPrune without prune keep, MirrorPrune with prune and Delete delete', async () => {
    const objs = [cm('dp-1'), cm('dp-2')];
    await apply(objs);
    const inv = inventoryOf(objs);

    const orphan = await finalizeInventory(client, inv, 'Orphan', { owner, prune: true });
    assert.equal(orphan.deleting, false);
    assert.equal(orphan.message, '2 object(s) left in place (deletionPolicy Orphan)');
    const mirrorOff = await finalizeInventory(client, inv, undefined, { owner, prune: false });
    assert.equal(mirrorOff.policy, 'MirrorPrune');
    assert.equal(mirrorOff.deleting, false);
    for (const o of objs) assert.ok(await exists(o));

    const mirrorOn = await finalizeInventory(client, { entries: inv.entries.slice(0, 1) }, 'MirrorPrune', { owner, prune: true });
    assert.equal(mirrorOn.deleting, true);
    assert.equal(await exists(objs[0]), false);
    assert.ok(await exists(objs[1]));

    const del = await finalizeInventory(client, inv, 'Delete', { owner, prune: false });
    assert.deepEqual(del.results.map((r) => [r.ref, r.action, r.reason]), [
      // Full reverse of apply order: within a kind too.
      ['ConfigMap/default/dp-2', 'deleted', 'deleted'],
      ['ConfigMap/default/dp-1', 'deleted', 'already gone'],
    ]);
    assert.equal(del.message, 'deleted 2, skipped 0, failed 0 of 2 object(s)');
    assert.equal(await exists(objs[1]), false);
  });

  test('deletionPolicy WaitForTermination: times out while a finalizer holds an object, completes once it is removed', async () => {
    const held = cm('held', 'default', { finalizers: ['example.com/hold'] });
    const free = cm('free');
    await apply([held, free]);
    const inv = inventoryOf([held, free]);

    const timedOut = await finalizeInventory(client, inv, 'WaitForTermination', { owner, prune: false, timeoutMs: 1_000, pollMs: 200 });
    assert.equal(timedOut.terminated, false);
    assert.deepEqual(timedOut.remaining, ['ConfigMap/default/held']);
    assert.equal(
      timedOut.message,
      'deleted 2, skipped 0, failed 0 of 2 object(s); timeout after 1s waiting for termination of 1 object(s): ConfigMap/default/held (finalizers: example.com/hold)',
    );
    assert.equal(await exists(free), false);
    const still = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'held', namespace: 'default' });
    assert.ok(still.metadata?.deletionTimestamp, 'held is terminating');

    // Released while the finalizer waits.
    const release = setTimeout(() => {
      void c.kubectl(['patch', 'configmap', 'held', '-n', 'default', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    }, 500);
    try {
      const done = await finalizeInventory(client, inv, 'WaitForTermination', { owner, prune: false, timeoutMs: 20_000, pollMs: 200 });
      assert.equal(done.terminated, true, done.message);
      assert.deepEqual(done.remaining, []);
      assert.match(done.message, /all deleted objects terminated$/);
    } finally {
      clearTimeout(release);
    }
    assert.equal(await exists(held), false);
  });
});
