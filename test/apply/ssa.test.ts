// The staged server-side apply library against the local cluster: staging (a CRD and its custom
// resource in one apply), created → unchanged (not written) → configured, drift by kubectl edit /
// scale / patch reverted, takeover of client-side kubectl apply (a removed field is removed), each ssa
// annotation, force recreate on an immutable field, and the errors naming the object.

import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { ApplyError, applyAll, type ChangeSet } from '../../src/apply/ssa/index.js';
import { KubeClient, type KubeObject } from '../../src/kube/client.js';
import { TestCluster } from '../helpers/local-cluster.js';

const actions = (cs: ChangeSet) => Object.fromEntries(cs.entries.map((e) => [e.ref, e.action]));

const deployment = (name: string, o: { replicas?: number; image?: string; annotations?: Record<string, string>; namespace?: string } = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: o.namespace ?? 'default', ...(o.annotations ? { annotations: o.annotations } : {}) },
  spec: {
    replicas: o.replicas ?? 2,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: o.image ?? 'nginx:1.27' }] } },
  },
});

const configMap = (name: string, data: Record<string, string>, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
  data,
});

const crd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
      },
    ],
  },
};

const job = (image: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'migrate', namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image, command: ['true'] }] } } },
});

describe('staged server-side apply on the local cluster', () => {
  let c: TestCluster;
  let client: KubeClient;
  let dir: string;

  before(async () => {
    c = await TestCluster.start();
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    client = new KubeClient(kc);
    dir = await mkdtemp(join(tmpdir(), 'ssa-test-'));
  });
  after(async () => {
    await c?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = (kind: string, apiVersion: string, name: string, namespace?: string) => client.get<Record<string, any>>({ apiVersion, kind, name, namespace });
  const kubectl = async (args: string[], o: { input?: string; env?: Record<string, string> } = {}) => {
    const r = await c.kubectl(args, o);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  /** `kubectl edit` with an "editor" that runs `script` (sed expressions) on the file. */
  const kubectlEdit = async (target: string, sedExpr: string) => {
    const editor = join(dir, `editor-${Date.now()}.sh`);
    await writeFile(editor, `#!/bin/sh\nsed -i '${sedExpr}' "$1"\n`);
    await chmod(editor, 0o755);
    await kubectl(['edit', target, '-n', 'default', '-o', 'yaml'], { env: { KUBE_EDITOR: editor, EDITOR: editor } });
  };

  test('a CRD, a Namespace and a custom resource in one apply: staged, the CR after the CRD is Established', async () => {
    const widget: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'stage' }, spec: { size: 3 } };
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stage' } };
    const cs = await applyAll(client, [widget, ns, crd]);
    assert.deepEqual(
      cs.entries.map((e) => [e.ref, e.action]),
      [
        ['CustomResourceDefinition/widgets.example.com', 'created'],
        ['Namespace/stage', 'created'],
        ['Widget/stage/w1', 'created'],
      ],
    );
    assert.equal((await get('Widget', 'example.com/v1', 'w1', 'stage')).spec.size, 3);
    const again = await applyAll(client, [widget, ns, crd]);
    assert.ok(again.entries.every((e) => e.action === 'unchanged'), JSON.stringify(again.entries));
  });

  test('created → unchanged (not written, same resourceVersion) → configured after a change; sorted by kind', async () => {
    const objs = [deployment('web'), configMap('web-config', { a: '1' })];
    const first = await applyAll(client, objs);
    assert.deepEqual(
      first.entries.map((e) => [e.ref, e.action]),
      [
        ['ConfigMap/default/web-config', 'created'],
        ['Deployment/default/web', 'created'],
      ],
    );
    const rv = (await get('Deployment', 'apps/v1', 'web', 'default')).metadata.resourceVersion;
    const live = await get('Deployment', 'apps/v1', 'web', 'default');
    assert.ok(live.metadata.managedFields.some((m: any) => m.manager === 'gitops-toolkit' && m.operation === 'Apply'));
    const second = await applyAll(client, objs);
    assert.deepEqual(actions(second), { 'ConfigMap/default/web-config': 'unchanged', 'Deployment/default/web': 'unchanged' });
    assert.equal((await get('Deployment', 'apps/v1', 'web', 'default')).metadata.resourceVersion, rv);
    const third = await applyAll(client, [deployment('web', { replicas: 3 }), configMap('web-config', { a: '1' })]);
    assert.deepEqual(actions(third), { 'ConfigMap/default/web-config': 'unchanged', 'Deployment/default/web': 'configured' });
    assert.equal((await get('Deployment', 'apps/v1', 'web', 'default')).spec.replicas, 3);
  });

  test('drift by kubectl edit, scale and patch is reverted by the next apply', async () => {
    const src = deployment('drift');
    await applyAll(client, [src]);
    // edit: image changed and an annotation added (the object has none: no controller-manager here)
    await kubectlEdit('deployment/drift', 's#image: nginx:1.27#image: nginx:9.9#; s#^metadata:#metadata:\\n  annotations:\\n    edited: "yes"#');
    let live = await get('Deployment', 'apps/v1', 'drift', 'default');
    assert.equal(live.spec.template.spec.containers[0].image, 'nginx:9.9');
    assert.equal(live.metadata.annotations?.edited, 'yes');
    assert.ok(live.metadata.managedFields.some((m: any) => m.manager === 'kubectl-edit'));
    assert.deepEqual(actions(await applyAll(client, [src])), { 'Deployment/default/drift': 'configured' });
    live = await get('Deployment', 'apps/v1', 'drift', 'default');
    assert.equal(live.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal(live.metadata.annotations?.edited, undefined, 'a field kubectl edit added is removed');
    assert.ok(!live.metadata.managedFields.some((m: any) => m.manager === 'kubectl-edit'));

    // scale
    await kubectl(['scale', 'deployment/drift', '-n', 'default', '--replicas=5']);
    assert.equal((await get('Deployment', 'apps/v1', 'drift', 'default')).spec.replicas, 5);
    assert.deepEqual(actions(await applyAll(client, [src])), { 'Deployment/default/drift': 'configured' });
    assert.equal((await get('Deployment', 'apps/v1', 'drift', 'default')).spec.replicas, 2);

    // patch: a label and a replica count
    await kubectl(['patch', 'deployment/drift', '-n', 'default', '-p', JSON.stringify({ metadata: { labels: { patched: 'yes' } }, spec: { replicas: 4 } })]);
    assert.deepEqual(actions(await applyAll(client, [src])), { 'Deployment/default/drift': 'configured' });
    live = await get('Deployment', 'apps/v1', 'drift', 'default');
    assert.equal(live.spec.replicas, 2);
    assert.equal(live.metadata.labels?.patched, undefined);
    assert.deepEqual(actions(await applyAll(client, [src])), { 'Deployment/default/drift': 'unchanged' });
  });

  test('takeover of client-side kubectl apply: a field removed from the source is removed from the cluster', async () => {
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(configMap('legacy', { a: '1', b: '2' })) });
    let live = await get('ConfigMap', 'v1', 'legacy', 'default');
    assert.ok(live.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.ok(live.metadata.managedFields.some((m: any) => m.manager === 'kubectl-client-side-apply'));
    assert.deepEqual(actions(await applyAll(client, [configMap('legacy', { a: '1' })])), { 'ConfigMap/default/legacy': 'configured' });
    live = await get('ConfigMap', 'v1', 'legacy', 'default');
    assert.deepEqual(live.data, { a: '1' });
    assert.equal(live.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
    assert.deepEqual(
      live.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`),
      ['gitops-toolkit/Apply'],
    );
    assert.deepEqual(actions(await applyAll(client, [configMap('legacy', { a: '1' })])), { 'ConfigMap/default/legacy': 'unchanged' });
  });

  test('ssa: Ignore skips, IfNotPresent creates only, Merge keeps fields of other managers', async () => {
    // Ignore (Flux's prefix): never created
    const ignored = configMap('ignored', { a: '1' }, { 'kustomize.toolkit.fluxcd.io/ssa': 'Ignore' });
    assert.deepEqual(actions(await applyAll(client, [ignored])), { 'ConfigMap/default/ignored': 'skipped' });
    assert.equal(await client.getOptional({ apiVersion: 'v1', kind: 'ConfigMap', name: 'ignored', namespace: 'default' }), undefined);

    // IfNotPresent (our prefix): created, then left as it is
    const once = (v: string) => configMap('once', { a: v }, { 'gitops.toolkit/ssa': 'IfNotPresent' });
    assert.deepEqual(actions(await applyAll(client, [once('1')])), { 'ConfigMap/default/once': 'created' });
    assert.deepEqual(actions(await applyAll(client, [once('2')])), { 'ConfigMap/default/once': 'skipped' });
    assert.deepEqual((await get('ConfigMap', 'v1', 'once', 'default')).data, { a: '1' });

    // Ignore on the live object: an object already in the cluster, then marked, is left alone
    await applyAll(client, [configMap('frozen', { a: '1' })]);
    await kubectl(['annotate', 'configmap/frozen', '-n', 'default', 'kustomize.toolkit.fluxcd.io/ssa=Ignore']);
    assert.deepEqual(actions(await applyAll(client, [configMap('frozen', { a: '2' })])), { 'ConfigMap/default/frozen': 'skipped' });
    assert.deepEqual((await get('ConfigMap', 'v1', 'frozen', 'default')).data, { a: '1' });

    // Merge: a label added by kubectl is kept, while fields in the source are still enforced
    const merged = (v: string) => configMap('merged', { a: v }, { 'kustomize.toolkit.fluxcd.io/ssa': 'Merge' });
    await applyAll(client, [merged('1')]);
    await kubectl(['patch', 'configmap/merged', '-n', 'default', '-p', JSON.stringify({ metadata: { labels: { extra: 'kept' } }, data: { a: 'drift' } })]);
    assert.deepEqual(actions(await applyAll(client, [merged('1')])), { 'ConfigMap/default/merged': 'configured' });
    const live = await get('ConfigMap', 'v1', 'merged', 'default');
    assert.equal(live.metadata.labels?.extra, 'kept');
    assert.deepEqual(live.data, { a: '1' });

    // Override (the default) under the same drift removes that label
    const over = configMap('over', { a: '1' });
    await applyAll(client, [over]);
    await kubectl(['patch', 'configmap/over', '-n', 'default', '-p', JSON.stringify({ metadata: { labels: { extra: 'gone' } } })]);
    assert.deepEqual(actions(await applyAll(client, [over])), { 'ConfigMap/default/over': 'configured' });
    assert.equal((await get('ConfigMap', 'v1', 'over', 'default')).metadata.labels?.extra, undefined);
  });

  test('an immutable-field change: an error naming the object without force; recreated with force: enabled', async () => {
    assert.deepEqual(actions(await applyAll(client, [job('busybox:1.36')])), { 'Job/default/migrate': 'created' });
    const uid = (await get('Job', 'batch/v1', 'migrate', 'default')).metadata.uid;
    assert.deepEqual(actions(await applyAll(client, [job('busybox:1.36')])), { 'Job/default/migrate': 'unchanged' });

    const err = await applyAll(client, [job('busybox:1.37')]).then(
      () => assert.fail('an immutable change applied without force'),
      (e) => e,
    );
    assert.ok(err instanceof ApplyError, String(err));
    assert.equal(err.ref, 'Job/default/migrate');
    assert.equal(err.reason, 'Immutable');
    assert.match(err.message, /Job\/default\/migrate/);
    assert.match(err.message, /immutable/);
    assert.equal((await get('Job', 'batch/v1', 'migrate', 'default')).metadata.uid, uid);

    const cs = await applyAll(client, [job('busybox:1.37', { 'kustomize.toolkit.fluxcd.io/force': 'enabled' })]);
    assert.equal(cs.entries[0].action, 'created');
    assert.equal(cs.entries[0].recreated, true);
    const live = await get('Job', 'batch/v1', 'migrate', 'default');
    assert.notEqual(live.metadata.uid, uid);
    assert.equal(live.spec.template.spec.containers[0].image, 'busybox:1.37');

    // the apply-wide force (spec.force) does the same without the annotation
    const cs2 = await applyAll(client, [job('busybox:1.38')], { force: true });
    assert.equal(cs2.entries[0].recreated, true);
    assert.equal((await get('Job', 'batch/v1', 'migrate', 'default')).spec.template.spec.containers[0].image, 'busybox:1.38');
  });

  test("a Service's clusterIP is immutable: refused without force, recreated with it", async () => {
    const svc = (clusterIP?: string, annotations?: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'front', namespace: 'default', ...(annotations ? { annotations } : {}) },
      spec: { ...(clusterIP ? { clusterIP } : {}), selector: { app: 'front' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await applyAll(client, [svc()]);
    const ip: string = (await get('Service', 'v1', 'front', 'default')).spec.clusterIP;
    const parts = ip.split('.');
    parts[3] = String(((Number(parts[3]) + 7) % 250) + 2);
    const other = parts.join('.');
    const err = await applyAll(client, [svc(other)]).then(
      () => assert.fail('a clusterIP change applied without force'),
      (e) => e,
    );
    assert.ok(err instanceof ApplyError, String(err));
    assert.equal(err.ref, 'Service/default/front');
    assert.equal(err.reason, 'Immutable');
    const cs = await applyAll(client, [svc(other, { 'gitops.toolkit/force': 'enabled' })]);
    assert.equal(cs.entries[0].recreated, true);
    assert.equal((await get('Service', 'v1', 'front', 'default')).spec.clusterIP, other);
  });

  test('class-like kinds are their own stage, between the cluster definitions and the rest', async () => {
    const ic: KubeObject = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'example.com/ingress' } };
    const cr: KubeObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader' }, rules: [] };
    const cs = await applyAll(client, [configMap('staged', { a: '1' }), ic, cr]);
    assert.deepEqual(
      cs.entries.map((e) => e.ref),
      ['ClusterRole/reader', 'IngressClass/nginx', 'ConfigMap/default/staged'],
    );
  });

  test('an object the cluster refuses stops its stage and is named with the Status message; an unknown kind is named', async () => {
    const bad = deployment('bad', { replicas: -1 });
    const err = await applyAll(client, [configMap('before-bad', { a: '1' }), bad]).then(
      () => assert.fail('a refused object applied'),
      (e) => e,
    );
    assert.ok(err instanceof ApplyError, String(err));
    assert.equal(err.ref, 'Deployment/default/bad');
    assert.equal(err.reason, 'DryRunFailed');
    assert.match(err.message, /Deployment\/default\/bad dry-run failed \(Invalid\): .*spec\.replicas/);
    assert.equal(await client.getOptional({ apiVersion: 'v1', kind: 'ConfigMap', name: 'before-bad', namespace: 'default' }), undefined, 'nothing of the stage written');

    const gadget: KubeObject = { apiVersion: 'example.org/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'default' } };
    const unknown = await applyAll(client, [gadget]).then(
      () => assert.fail('an unknown kind applied'),
      (e) => e,
    );
    assert.ok(unknown instanceof ApplyError, String(unknown));
    assert.equal(unknown.reason, 'UnknownKind');
    assert.match(unknown.message, /Gadget/);
    assert.match(unknown.message, /example\.org\/v1/);
  });
});
