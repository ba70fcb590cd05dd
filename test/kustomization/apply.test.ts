// Kustomization apply, end to end on the embedded local cluster (one bed, one repo and Kustomization
// per test), the cluster's state asserted with kubectl: a CRD and its custom resource staged in one
// apply; prune and its exclusions (prune: disabled, another Kustomization's objects); each ssa policy;
// drift by kubectl edit, scale, patch and delete reverted; fields removed from Git removed from the
// cluster, for an object first created by client-side apply too; force on immutable fields;
// deletionPolicy; the status Flux writes; and a no-change reconcile that writes nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { deploymentYaml, KustomizationBed } from '../helpers/kustomization.js';
import { eventually } from '../helpers/eventually.js';
import { kubectl as runKubectl } from '../helpers/run.js';

interface Meta {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}
const cm = (name: string, data: Record<string, string>, o: Meta & { immutable?: boolean } = {}) =>
  yaml.dump({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', ...(o.labels ? { labels: o.labels } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) },
    ...(o.immutable ? { immutable: true } : {}),
    data,
  });
const deployment = deploymentYaml;
const crd = (singular: string, kind: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${singular}s.apply.example.com}
spec:
  group: apply.example.com
  scope: Namespaced
  names: {plural: ${singular}s, singular: ${singular}, kind: ${kind}, listKind: ${kind}List}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;
const custom = (kind: string, name: string) => `apiVersion: apply.example.com/v1
kind: ${kind}
metadata: {name: ${name}, namespace: default}
spec: {size: 3}
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of arbitrary objects
type Any = any;
type Cond = { type: string; status: string; reason: string; message: string };
const condOf = (o: Any, type: string): Cond | undefined => (o?.status?.conditions ?? []).find((c: Cond) => c.type === type);
const ids = (ks: Any): string[] => (ks.status?.inventory?.entries ?? []).map((e: { id: string }) => e.id);

describe('Kustomization apply on the embedded local cluster', { concurrency: 3 }, () => {
  let bed: KustomizationBed;
  before(async () => {
    bed = await KustomizationBed.start();
  });
  after(async () => bed?.stop());

  /** A repo, its GitRepository and a Kustomization of the same name; the Kustomization once Ready. */
  async function setup(name: string, files: Record<string, string>, spec: Record<string, unknown> = {}): Promise<Any> {
    await bed.source(name, files);
    await bed.kustomization(name, spec);
    await bed.ready(name);
    return bed.get('kustomization', name);
  }

  /**
   * Requests a reconcile and waits until it is done: status.lastHandledReconcileAt echoes the request
   * and Ready is no longer Unknown. The Kustomization as it was then.
   */
  async function reconcile(name: string): Promise<Any> {
    const token = `apply-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await bed.k(['annotate', `ks/${name}`, '--overwrite', `gitops.toolkit/requestedAt=${token}`]);
    let last: Any;
    return eventually(
      async () => {
        last = await bed.get('kustomization', name);
        const ready = condOf(last, 'Ready');
        return last.status?.lastHandledReconcileAt === token && ready && ready.status !== 'Unknown' && last;
      },
      30_000,
      () => `kustomization ${name}: reconcile ${token} not done; status: ${JSON.stringify(last?.status)}\nserver log tail:\n${bed.server.logs.slice(-2000)}`,
    );
  }
  /** reconcile(), asserting Ready=True. */
  async function reconcileReady(name: string): Promise<Any> {
    const ks = await reconcile(name);
    assert.equal(condOf(ks, 'Ready')?.status, 'True', JSON.stringify(ks.status));
    return ks;
  }
  const jsonpath = (kind: string, name: string, path: string) => bed.k(['get', `${kind}/${name}`, '-o', `jsonpath={${path}}`]);
  /** `manager/operation` of each managedFields entry (kubectl hides them unless asked). */
  const managers = async (kind: string, name: string): Promise<string[]> =>
    JSON.parse(await bed.k(['get', `${kind}/${name}`, '-o', 'json', '--show-managed-fields'])).metadata.managedFields.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`);
  /** The server's `reconciled` log lines of Kustomization `ks`, oldest first. */
  const reconciledLines = (ks: string): Any[] =>
    bed.server.logs
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"reconciled"'))
      .map((l) => JSON.parse(l))
      .filter((r) => r.msg === 'reconciled' && r.kind === 'Kustomization' && r.name === ks && r.namespace === 'default');
  /**
   * A further reconcile finds nothing to do and writes nothing: every object `unchanged` in its log
   * line, and their resourceVersions as they were.
   */
  async function settled(ks: string, objects: [kind: string, name: string, namespace?: string][]): Promise<void> {
    const versions = () => Promise.all(objects.map(async ([k, n, ns]) => `${k}/${n}@${(await bed.get(k, n, ns)).metadata.resourceVersion}`));
    const before = await versions();
    const seen = reconciledLines(ks).length;
    await reconcileReady(ks);
    assert.deepEqual(await versions(), before, `${ks}: a reconcile with nothing to do wrote`);
    const line = await eventually(() => reconciledLines(ks)[seen], 5000, () => `${ks}: no log line of the reconcile`);
    assert.deepEqual([line.created, line.configured, line.unchanged, line.pruned ?? 0], [0, 0, objects.length, 0], JSON.stringify(line));
  }
  const dataOf = async (name: string): Promise<Record<string, string>> => (await bed.get('configmap', name)).data ?? {};

  it('applies a CRD and a custom resource of it in one Kustomization (staged: the CRD first, Established, then the CR)', async () => {
    const ks = await setup('ap-crd', { 'crd.yaml': crd('gadget', 'Gadget'), 'gadget.yaml': custom('Gadget', 'g1') });
    assert.match(condOf(ks, 'Ready')!.message, /^Applied revision: main@sha1:[0-9a-f]{40}$/);
    assert.deepEqual(ids(ks), ['_gadgets.apply.example.com_apiextensions.k8s.io_CustomResourceDefinition', 'default_g1_apply.example.com_Gadget']);
    const definition = await bed.get('crd', 'gadgets.apply.example.com', '');
    assert.equal(definition.status.conditions.find((c: Cond) => c.type === 'Established')?.status, 'True');
    const g = await bed.get('gadget', 'g1');
    assert.equal(g.spec.size, 3);
    assert.equal(g.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'ap-crd');
    assert.equal(g.metadata.labels['gitops.toolkit/name'], 'ap-crd');
  });

  it("prune: what left Git is deleted; prune: disabled (either spelling) and another Kustomization's object are kept", async () => {
    await setup('ap-prune', {
      'gone.yaml': cm('prune-gone', { a: '1' }),
      'stay.yaml': cm('prune-stay', { a: '1' }),
      'keep-flux.yaml': cm('prune-keep-flux', { a: '1' }, { annotations: { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' } }),
      'keep-own.yaml': cm('prune-keep-own', { a: '1' }, { annotations: { 'gitops.toolkit/prune': 'disabled' } }),
      'moved.yaml': cm('prune-moved', { a: '1' }),
    });
    // prune-moved moves to another Kustomization, which applies it (and so labels it as its own).
    await setup('ap-prune-b', { 'moved.yaml': cm('prune-moved', { a: '2' }) });
    const moved = await bed.get('configmap', 'prune-moved');
    assert.equal(moved.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'ap-prune-b');
    const movedUid = moved.metadata.uid;

    await bed.push('ap-prune', {}, { remove: ['gone.yaml', 'keep-flux.yaml', 'keep-own.yaml', 'moved.yaml'] });
    const ks = await reconcileReady('ap-prune');
    assert.equal(await bed.exists('configmap', 'prune-gone'), false, 'removed from Git: pruned');
    assert.equal(await bed.exists('configmap', 'prune-stay'), true);
    assert.equal(await bed.exists('configmap', 'prune-keep-flux'), true, 'kustomize.toolkit.fluxcd.io/prune: disabled is kept');
    assert.equal(await bed.exists('configmap', 'prune-keep-own'), true, 'gitops.toolkit/prune: disabled is kept');
    const after = await bed.get('configmap', 'prune-moved');
    assert.equal(after.metadata.uid, movedUid, "another Kustomization's object is not deleted");
    assert.equal(after.data.a, '2');
    assert.deepEqual(ids(ks), ['default_prune-stay__ConfigMap'], 'what left Git left the inventory, kept or not');
    // Left out of pruning for good: a further reconcile does not touch them.
    await reconcileReady('ap-prune');
    assert.equal(await bed.exists('configmap', 'prune-keep-flux'), true);
    assert.equal(await bed.exists('configmap', 'prune-keep-own'), true);
    assert.deepEqual(ids(await bed.get('kustomization', 'ap-prune-b')), ['default_prune-moved__ConfigMap']);
  });

  it('ssa: Override reverts, Merge keeps what another manager added, IfNotPresent creates only, Ignore never applies', async () => {
    const ssa = (v: string, prefix = 'kustomize.toolkit.fluxcd.io') => ({ annotations: { [`${prefix}/ssa`]: v } });
    // An object that exists before, with a value Git does not have; Git says Ignore (our own spelling).
    await bed.apply(cm('ssa-ignore-live', { a: 'live' }));
    const ignoreLiveRv = (await bed.get('configmap', 'ssa-ignore-live')).metadata.resourceVersion;
    const files = (a: string) => ({
      'override.yaml': cm('ssa-override', { a }),
      'merge.yaml': cm('ssa-merge', { a }, ssa('Merge')),
      'ifnp.yaml': cm('ssa-ifnp', { a }, ssa('IfNotPresent')),
      'ignore.yaml': cm('ssa-ignore', { a }, ssa('Ignore')),
      'ignore-live.yaml': cm('ssa-ignore-live', { a }, ssa('Ignore', 'gitops.toolkit')),
    });
    await setup('ap-ssa', files('1'));
    assert.deepEqual(await dataOf('ssa-override'), { a: '1' });
    assert.deepEqual(await dataOf('ssa-merge'), { a: '1' });
    assert.deepEqual(await dataOf('ssa-ifnp'), { a: '1' }, 'IfNotPresent: created when missing');
    assert.equal(await bed.exists('configmap', 'ssa-ignore'), false, 'Ignore: never applied');
    assert.equal((await bed.get('configmap', 'ssa-ignore-live')).metadata.resourceVersion, ignoreLiveRv, 'gitops.toolkit/ssa: Ignore: not changed');

    // Another manager (kubectl patch) changes a and adds b everywhere.
    for (const name of ['ssa-override', 'ssa-merge', 'ssa-ifnp'])
      await bed.k(['patch', `configmap/${name}`, '--type', 'merge', '-p', JSON.stringify({ data: { a: 'changed', b: 'added' } })]);
    await reconcileReady('ap-ssa');
    assert.deepEqual(await dataOf('ssa-override'), { a: '1' }, 'Override: the change reverted, the added key removed (kubectl-patch taken over)');
    assert.deepEqual(await dataOf('ssa-merge'), { a: '1', b: 'added' }, "Merge: Git's value applied, the key another manager added kept");
    assert.deepEqual(await dataOf('ssa-ifnp'), { a: 'changed', b: 'added' }, 'IfNotPresent: not changed once it exists');

    // A new revision in Git: still not applied to IfNotPresent and Ignore objects.
    await bed.push('ap-ssa', files('2'));
    await reconcileReady('ap-ssa');
    assert.deepEqual(await dataOf('ssa-override'), { a: '2' });
    assert.deepEqual(await dataOf('ssa-merge'), { a: '2', b: 'added' });
    assert.deepEqual(await dataOf('ssa-ifnp'), { a: 'changed', b: 'added' });
    assert.equal(await bed.exists('configmap', 'ssa-ignore'), false);
    assert.deepEqual(await dataOf('ssa-ignore-live'), { a: 'live' });

    // IfNotPresent: created again when deleted.
    await bed.k(['delete', 'configmap/ssa-ifnp']);
    await reconcileReady('ap-ssa');
    assert.deepEqual(await dataOf('ssa-ifnp'), { a: '2' });

    // Ignore on the live object (Git says nothing of it): left as it is from then on.
    await bed.k(['annotate', 'configmap/ssa-override', 'kustomize.toolkit.fluxcd.io/ssa=Ignore']);
    await bed.k(['patch', 'configmap/ssa-override', '-p', '{"data":{"a":"mine"}}']);
    await reconcileReady('ap-ssa');
    assert.deepEqual(await dataOf('ssa-override'), { a: 'mine' }, 'ssa: Ignore on the live object: not changed');
  });

  it('spec.ignore: the paths of matching objects are left to whoever changed them; everything else is still corrected', async () => {
    await setup('ap-ignore', { 'web.yaml': deployment('ignore-web'), 'cm.yaml': cm('ignore-cm', { a: '1', b: '2' }) }, {
      ignore: [{ paths: ['/spec/replicas'], target: { kind: 'Deploy.*', labelSelector: 'kustomize.toolkit.fluxcd.io/name=ap-ignore' } }, { paths: ['/data/b'], target: { kind: 'ConfigMap', name: 'ignore-.*' } }],
    });
    assert.equal(await jsonpath('deploy', 'ignore-web', '.spec.replicas'), '2', 'created whole, as Git says');
    assert.deepEqual(await dataOf('ignore-cm'), { a: '1', b: '2' });
    await bed.k(['scale', 'deploy/ignore-web', '--replicas=5']); // as an HPA would
    await bed.k(['patch', 'configmap/ignore-cm', '-p', '{"data":{"a":"changed","b":"changed"}}']);
    await bed.k(['patch', 'deploy/ignore-web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:0.1"}]']);
    await reconcileReady('ap-ignore');
    assert.equal(await jsonpath('deploy', 'ignore-web', '.spec.replicas'), '5', 'ignored: kept');
    assert.equal(await jsonpath('deploy', 'ignore-web', '.spec.template.spec.containers[0].image'), 'nginx:1.27', 'not ignored: reverted');
    assert.deepEqual(await dataOf('ignore-cm'), { a: '1', b: 'changed' });
  });

  it('drift by kubectl edit, scale, patch and delete is reverted at the next reconcile', async () => {
    await setup('ap-drift', { 'web.yaml': deployment('drift-web'), 'cm.yaml': cm('drift-cm', { a: '1' }) });
    const image = () => jsonpath('deploy', 'drift-web', '.spec.template.spec.containers[0].image');

    // kubectl edit, with an editor that rewrites the image.
    const edit = await runKubectl(bed.kubeconfig, ['edit', 'deploy/drift-web'], { env: { EDITOR: 'sed -i s/nginx:1.27/nginx:9.9/', KUBE_EDITOR: '' } });
    assert.equal(edit.code, 0, edit.stderr);
    assert.equal(await image(), 'nginx:9.9');
    const editors = await managers('deploy', 'drift-web');
    assert.ok(editors.includes('kubectl-edit/Update'), JSON.stringify(editors));
    await reconcileReady('ap-drift');
    assert.equal(await image(), 'nginx:1.27', 'kubectl edit reverted');

    await bed.k(['scale', 'deploy/drift-web', '--replicas=5']);
    assert.equal(await jsonpath('deploy', 'drift-web', '.spec.replicas'), '5');
    await reconcileReady('ap-drift');
    assert.equal(await jsonpath('deploy', 'drift-web', '.spec.replicas'), '2', 'kubectl scale reverted');

    await bed.k(['patch', 'configmap/drift-cm', '-p', '{"data":{"a":"patched","added":"x"}}']);
    await bed.k(['patch', 'deploy/drift-web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:0.1"}]']);
    await reconcileReady('ap-drift');
    assert.deepEqual(await dataOf('drift-cm'), { a: '1' }, 'kubectl patch reverted: the value, and the key it added');
    assert.equal(await image(), 'nginx:1.27', 'kubectl patch (json) reverted');

    const uid = (await bed.get('configmap', 'drift-cm')).metadata.uid;
    await bed.k(['delete', 'configmap/drift-cm', 'deploy/drift-web']);
    await reconcileReady('ap-drift');
    const again = await bed.get('configmap', 'drift-cm');
    assert.notEqual(again.metadata.uid, uid);
    assert.deepEqual(again.data, { a: '1' }, 'kubectl delete reverted');
    assert.equal(await image(), 'nginx:1.27');
    await settled('ap-drift', [['deploy', 'drift-web'], ['configmap', 'drift-cm']]);
  });

  it('a field removed from Git is removed from the cluster, for an object first created by client-side kubectl apply too', async () => {
    const meta = { labels: { team: 'a', extra: 'yes' }, annotations: { note: 'x' } };
    // fields-csa exists before, created with client-side apply (last-applied-configuration, kubectl-client-side-apply).
    await bed.apply(cm('fields-csa', { keep: '1', drop: '2' }, meta));
    const csa = await bed.get('configmap', 'fields-csa');
    assert.ok(csa.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.ok((await managers('configmap', 'fields-csa')).includes('kubectl-client-side-apply/Update'));

    await setup('ap-fields', { 'ssa.yaml': cm('fields-ssa', { keep: '1', drop: '2' }, meta), 'csa.yaml': cm('fields-csa', { keep: '1', drop: '2' }, meta) });
    const taken = await bed.get('configmap', 'fields-csa');
    assert.equal(taken.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], undefined, 'last-applied-configuration removed on takeover');
    assert.deepEqual(await managers('configmap', 'fields-csa'), ['gitops-toolkit/Apply'], 'every field now ours');

    const slim = { labels: { team: 'a' } };
    await bed.push('ap-fields', { 'ssa.yaml': cm('fields-ssa', { keep: '1' }, slim), 'csa.yaml': cm('fields-csa', { keep: '1' }, slim) });
    await reconcileReady('ap-fields');
    for (const name of ['fields-ssa', 'fields-csa']) {
      const o = await bed.get('configmap', name);
      assert.deepEqual(o.data, { keep: '1' }, `${name}: the data key removed`);
      assert.equal(o.metadata.labels.extra, undefined, `${name}: the label removed`);
      assert.equal(o.metadata.labels.team, 'a');
      assert.equal(o.metadata.annotations?.note, undefined, `${name}: the annotation removed`);
    }
    await settled('ap-fields', [['configmap', 'fields-ssa'], ['configmap', 'fields-csa']]);
  });

  it('an immutable-field change: Ready=False naming the object without force; spec.force or the force annotation recreates it', async () => {
    const imm = (name: string, v: string, force = false) => cm(name, { v }, { immutable: true, ...(force ? { annotations: { 'kustomize.toolkit.fluxcd.io/force': 'enabled' } } : {}) });
    await setup('ap-force', { 'cm.yaml': imm('force-imm', '1') });
    const uid = (await bed.get('configmap', 'force-imm')).metadata.uid;
    await bed.push('ap-force', { 'cm.yaml': imm('force-imm', '2') });
    const failed = await reconcile('ap-force');
    const ready = condOf(failed, 'Ready')!;
    assert.equal(ready.status, 'False', JSON.stringify(failed.status));
    assert.match(ready.message, /ConfigMap\/default\/force-imm/);
    assert.match(ready.message, /immutable/);
    assert.match(failed.status.lastAttemptedRevision, /^main@sha1:/);
    assert.notEqual(failed.status.lastAppliedRevision, failed.status.lastAttemptedRevision);
    // The failed attempt is in history, as Flux records it: its revision and the failure's reason.
    assert.equal(failed.status.history[0].lastReconciledStatus, 'ImmutableFieldChanged');
    assert.equal(failed.status.history[0].metadata.revision, failed.status.lastAttemptedRevision);
    assert.equal(failed.status.history[1].lastReconciledStatus, 'ReconciliationSucceeded');
    const still = await bed.get('configmap', 'force-imm');
    assert.equal(still.metadata.uid, uid);
    assert.deepEqual(still.data, { v: '1' });

    await bed.k(['patch', 'ks/ap-force', '--type', 'merge', '-p', '{"spec":{"force":true}}']);
    await bed.ready('ap-force');
    const recreated = await bed.get('configmap', 'force-imm');
    assert.notEqual(recreated.metadata.uid, uid, 'spec.force: recreated');
    assert.deepEqual(recreated.data, { v: '2' });

    // The annotation on the object, without spec.force.
    await setup('ap-force-ann', { 'cm.yaml': imm('force-ann', '1', true) });
    const uid2 = (await bed.get('configmap', 'force-ann')).metadata.uid;
    await bed.push('ap-force-ann', { 'cm.yaml': imm('force-ann', '2', true) });
    await reconcileReady('ap-force-ann');
    const recreated2 = await bed.get('configmap', 'force-ann');
    assert.notEqual(recreated2.metadata.uid, uid2, 'kustomize.toolkit.fluxcd.io/force: enabled: recreated');
    assert.deepEqual(recreated2.data, { v: '2' });
  });

  it('deletionPolicy when the Kustomization is deleted: MirrorPrune with prune deletes, Orphan keeps, Delete deletes without prune', async () => {
    await setup('ap-del-mirror', { 'cm.yaml': cm('del-mirror', { a: '1' }), 'keep.yaml': cm('del-mirror-keep', { a: '1' }, { annotations: { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' } }) });
    await setup('ap-del-orphan', { 'cm.yaml': cm('del-orphan', { a: '1' }) }, { deletionPolicy: 'Orphan' });
    await setup('ap-del-delete', { 'cm.yaml': cm('del-delete', { a: '1' }) }, { deletionPolicy: 'Delete', prune: false });
    for (const name of ['ap-del-mirror', 'ap-del-orphan', 'ap-del-delete']) await bed.k(['delete', `ks/${name}`, '--timeout=30s']);
    for (const name of ['ap-del-mirror', 'ap-del-orphan', 'ap-del-delete']) assert.equal(await bed.exists('kustomization', name), false);
    assert.equal(await bed.exists('configmap', 'del-mirror'), false, 'MirrorPrune with prune: deleted');
    assert.equal(await bed.exists('configmap', 'del-mirror-keep'), true, 'prune: disabled is kept on deletion too');
    assert.equal(await bed.exists('configmap', 'del-orphan'), true, 'Orphan: kept');
    assert.equal(await bed.exists('configmap', 'del-delete'), false, 'Delete: deleted, though prune is false');
  });

  it("status as Flux writes it: inventory ids and versions, revisions, observedGeneration, history", async () => {
    const ns = `apiVersion: v1
kind: Namespace
metadata: {name: ap-status-ns}
`;
    const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "ap-status:reader"}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
`;
    const first = await setup('ap-status', { 'ns.yaml': ns, 'role.yaml': role, 'web.yaml': deployment('status-web'), 'cm.yaml': cm('status-cm', { a: '1' }) });
    assert.deepEqual(first.status.inventory.entries, [
      { id: '_ap-status-ns__Namespace', v: 'v1' },
      { id: '_ap-status__reader_rbac.authorization.k8s.io_ClusterRole', v: 'v1' },
      { id: 'default_status-cm__ConfigMap', v: 'v1' },
      { id: 'default_status-web_apps_Deployment', v: 'v1' },
    ]);
    const sha1 = await bed.git.rev('ap-status');
    assert.equal(first.status.lastAppliedRevision, `main@sha1:${sha1}`);
    assert.equal(first.status.lastAttemptedRevision, `main@sha1:${sha1}`);
    assert.equal(first.status.observedGeneration, first.metadata.generation);
    assert.equal(first.status.history.length, 1);
    const h = first.status.history[0];
    assert.match(h.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(h.lastReconciledStatus, 'ReconciliationSucceeded');
    assert.ok(h.totalReconciliations >= 1, JSON.stringify(h));
    assert.deepEqual(h.metadata, { revision: `main@sha1:${sha1}` });
    assert.match(h.lastReconciledDuration, /^\d+(\.\d+)?s$/);
    assert.ok(!Number.isNaN(Date.parse(h.firstReconciled)) && h.firstReconciled === h.lastReconciled, JSON.stringify(h));

    // The same objects again: the entry counts up.
    const again = await reconcileReady('ap-status');
    assert.equal(again.status.history.length, 1);
    assert.equal(again.status.history[0].digest, h.digest);
    assert.ok(again.status.history[0].totalReconciliations > h.totalReconciliations, JSON.stringify(again.status.history));
    assert.equal(again.status.history[0].firstReconciled, h.firstReconciled);

    // A new revision with other objects: a new entry first; a spec change: observedGeneration follows.
    const sha2 = await bed.push('ap-status', { 'cm.yaml': cm('status-cm', { a: '2' }) });
    await bed.k(['patch', 'ks/ap-status', '--type', 'merge', '-p', '{"spec":{"interval":"59m"}}']);
    const next = await reconcileReady('ap-status');
    assert.equal(next.metadata.generation, first.metadata.generation + 1);
    assert.equal(next.status.observedGeneration, next.metadata.generation);
    assert.equal(next.status.lastAppliedRevision, `main@sha1:${sha2}`);
    assert.equal(next.status.lastAttemptedRevision, `main@sha1:${sha2}`);
    assert.equal(next.status.history.length, 2);
    assert.notEqual(next.status.history[0].digest, h.digest);
    assert.deepEqual(next.status.history[0].metadata, { revision: `main@sha1:${sha2}` });
    // (the new revision woke it too: how often it was reconciled since is not counted here)
    assert.ok(Date.parse(next.status.history[0].firstReconciled) >= Date.parse(next.status.history[1].lastReconciled));
    assert.deepEqual(next.status.history[1], again.status.history[0], 'the older entry kept as it was');
  });

  it('a reconcile that finds nothing to do writes nothing: resourceVersions unchanged', async () => {
    const secret = `apiVersion: v1
kind: Secret
metadata: {name: quiet-secret, namespace: default}
stringData: {token: abc}
`;
    const svc = `apiVersion: v1
kind: Service
metadata: {name: quiet-svc, namespace: default}
spec:
  selector: {app: quiet-web}
  ports: [{port: 80, targetPort: 8080}]
`;
    const objects: [string, string, string][] = [
      ['configmap', 'quiet-cm', 'default'],
      ['secret', 'quiet-secret', 'default'],
      ['service', 'quiet-svc', 'default'],
      ['deployment', 'quiet-web', 'default'],
      ['crd', 'gizmos.apply.example.com', ''],
      ['gizmo', 'quiet-gizmo', 'default'],
    ];
    await setup('ap-quiet', {
      'cm.yaml': cm('quiet-cm', { a: '1' }),
      'secret.yaml': secret,
      'svc.yaml': svc,
      'web.yaml': deployment('quiet-web'),
      'crd.yaml': crd('gizmo', 'Gizmo'),
      'gizmo.yaml': custom('Gizmo', 'quiet-gizmo'),
    });
    await settled('ap-quiet', objects);
  });
});
