import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deletionOrder, diff, entryId, inventoryOf, ownerLabels, ownership, parseEntry, pruneDisabled, refOf } from './index.js';

describe('inventory entries', () => {
  test('ids as Flux writes them: namespace_name_group_kind, empty namespace and group', () => {
    const inv = inventoryOf([
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'apps' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'apps' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'apps' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:reader' } },
    ]);
    assert.deepEqual(inv.entries, [
      { id: '_apps__Namespace', v: 'v1' },
      { id: '_system__reader_rbac.authorization.k8s.io_ClusterRole', v: 'v1' },
      { id: 'apps_cfg__ConfigMap', v: 'v1' },
      { id: 'apps_web_apps_Deployment', v: 'v1' },
    ]);
  });

  test('parseEntry is the inverse of entryId, refOf gives the apiVersion', () => {
    for (const m of [
      { namespace: '', name: 'apps', group: '', kind: 'Namespace' },
      { namespace: 'apps', name: 'web.v2', group: 'apps', kind: 'Deployment' },
      { namespace: 'kube-system', name: 'system:controller:x', group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
      { namespace: '', name: 'widgets.example.com', group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
    ])
      assert.deepEqual(parseEntry(entryId(m)), m);
    assert.deepEqual(refOf({ id: 'apps_web_apps_Deployment', v: 'v1' }), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'apps' });
    assert.deepEqual(refOf({ id: '_apps__Namespace', v: 'v1' }), { apiVersion: 'v1', kind: 'Namespace', name: 'apps' });
    for (const bad of ['', 'a_b', 'ns_na_me__ConfigMap', 'ns___ConfigMap', 'ns_name__']) assert.throws(() => parseEntry(bad), /inventory entry/);
  });

  test('diff: what was applied before and is not now; a new version of an object is not stale', () => {
    const prev = [
      { id: 'apps_web_apps_Deployment', v: 'v1' },
      { id: 'apps_old__ConfigMap', v: 'v1' },
      { id: 'apps_hpa_autoscaling_HorizontalPodAutoscaler', v: 'v1' },
      { id: '_apps__Namespace', v: 'v1' },
    ];
    const cur = [
      { id: 'apps_web_apps_Deployment', v: 'v1' },
      { id: 'apps_hpa_autoscaling_HorizontalPodAutoscaler', v: 'v2' },
    ];
    assert.deepEqual(diff({ entries: prev }, { entries: cur }), [
      { id: '_apps__Namespace', v: 'v1' },
      { id: 'apps_old__ConfigMap', v: 'v1' },
    ]);
    assert.deepEqual(diff(undefined, cur), []);
    assert.deepEqual(diff(prev, undefined).length, 4);
  });

  test('deletion order is reverse apply order: custom resources, workloads, config, Namespace, CRD', () => {
    const ids = deletionOrder([
      { id: '_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition', v: 'v1' },
      { id: '_apps__Namespace', v: 'v1' },
      { id: 'apps_cfg__ConfigMap', v: 'v1' },
      { id: 'apps_w1_example.com_Widget', v: 'v1' },
      { id: 'apps_web_apps_Deployment', v: 'v1' },
      { id: '_hook_admissionregistration.k8s.io_ValidatingWebhookConfiguration', v: 'v1' },
    ]).map((e) => parseEntry(e.id).kind);
    assert.deepEqual(ids, ['ValidatingWebhookConfiguration', 'Widget', 'Deployment', 'ConfigMap', 'Namespace', 'CustomResourceDefinition']);
  });

  test('owner labels: both prefixes; ownership by either, another owner wins', () => {
    const own = { name: 'app', namespace: 'flux-system' };
    const l = ownerLabels('app', 'flux-system');
    assert.deepEqual(l, {
      'kustomize.toolkit.fluxcd.io/name': 'app',
      'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      'gitops.toolkit/name': 'app',
      'gitops.toolkit/namespace': 'flux-system',
    });
    assert.deepEqual(ownership(l, own), { owned: true });
    assert.deepEqual(ownership({ 'gitops.toolkit/name': 'app', 'gitops.toolkit/namespace': 'flux-system' }, own), { owned: true });
    const other = ownership({ ...l, 'kustomize.toolkit.fluxcd.io/name': 'other' }, own);
    assert.equal(other.owned, false);
    assert.match((other as { reason: string }).reason, /flux-system\/other/);
    assert.equal(ownership(undefined, own).owned, false);
    assert.equal(pruneDisabled(undefined, { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }), 'annotation kustomize.toolkit.fluxcd.io/prune: disabled');
    assert.equal(pruneDisabled({ 'gitops.toolkit/prune': 'disabled' }, undefined), 'label gitops.toolkit/prune: disabled');
    assert.equal(pruneDisabled({ 'gitops.toolkit/prune': 'enabled' }, {}), undefined);
  });
});
