// Fidelity of the local cluster, proven by the real kubectl 1.32: what a user does with kubectl against
// kube-apiserver (apply, edit, scale, patch, diff, label, delete with each propagation policy, namespace
// deletion, wait, get -w, auth, ServiceAccount tokens, explain, tables, discovery) behaves the same here.
// One cluster for the whole file; each block works in its own namespace.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { eventually } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';

let c: TestCluster;
before(async () => {
  c = await TestCluster.start();
});
after(async () => {
  await c?.stop();
});

type Any = Record<string, any>;

/** kubectl as admin; fails the test on a non-zero exit. */
async function k(args: string[], o: { input?: string; env?: Record<string, string>; kubeconfig?: string } = {}): Promise<string> {
  const r = await c.kubectl(args, o);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
const getJSON = async (args: string[]): Promise<Any> => JSON.parse(await k(['get', ...args, '-o', 'json']));
const docs = (...objs: unknown[]) => objs.map((o) => yaml.dump(o)).join('---\n');
const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

const deployment = (ns: string, name: string, o: { replicas?: number; image?: string } = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns, labels: { app: name } },
  spec: {
    replicas: o.replicas ?? 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          { name: 'web', image: o.image ?? 'nginx:1.27', ports: [{ containerPort: 80 }] },
          { name: 'sidecar', image: 'busybox:1.36', command: ['sleep', 'infinity'] },
        ],
      },
    },
  },
});
const service = (ns: string, name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});
const configMap = (ns: string, name: string, data: Record<string, string> = { greeting: 'hello' }, meta: Any = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ...meta },
  data,
});

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.fidelity.example.com' },
  spec: {
    group: 'fidelity.example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wdg'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  size: { type: 'integer', minimum: 1 },
                  color: { type: 'string', default: 'blue' },
                },
              },
            },
          },
        },
      },
    ],
  },
};
const widget = (ns: string, name: string, size: number) => ({ apiVersion: 'fidelity.example.com/v1', kind: 'Widget', metadata: { name, namespace: ns }, spec: { size } });

describe('apply', () => {
  before(async () => {
    await k(['apply', '-f', '-'], { input: docs(namespace('apply-csa'), namespace('apply-ssa')) });
  });

  it('client-side apply creates a Deployment, Service and ConfigMap; a second apply is "unchanged"', async () => {
    const input = docs(deployment('apply-csa', 'web'), service('apply-csa', 'web'), configMap('apply-csa', 'web'));
    const first = await k(['apply', '-f', '-'], { input });
    assert.match(first, /^deployment\.apps\/web created$/m);
    assert.match(first, /^service\/web created$/m);
    assert.match(first, /^configmap\/web created$/m);
    const second = await k(['apply', '-f', '-'], { input });
    assert.match(second, /^deployment\.apps\/web unchanged$/m);
    assert.match(second, /^service\/web unchanged$/m);
    assert.match(second, /^configmap\/web unchanged$/m);

    const d = await getJSON(['-n', 'apply-csa', 'deploy', 'web', '--show-managed-fields']);
    assert.equal(d.metadata.generation, 1);
    assert.ok(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.deepEqual(
      d.metadata.managedFields.map((m: Any) => [m.manager, m.operation]),
      [['kubectl-client-side-apply', 'Update']],
    );
    // kube's defaults, as its defaulting functions set them.
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.equal(d.spec.template.spec.containers[0].ports[0].protocol, 'TCP');
    const svc = await getJSON(['-n', 'apply-csa', 'svc', 'web']);
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.match(svc.spec.clusterIP, /^10\.\d+\.\d+\.\d+$/);
    assert.equal(svc.spec.ports[0].protocol, 'TCP');
    assert.equal(svc.spec.ports[0].targetPort, 8080);
  });

  it('a changed manifest is "configured" through a strategic merge patch that keeps what others set', async () => {
    await k(['-n', 'apply-csa', 'label', 'deploy', 'web', 'set-by=someone-else']);
    const out = await k(['apply', '-f', '-'], { input: docs(deployment('apply-csa', 'web', { image: 'nginx:1.28' })) });
    assert.match(out, /^deployment\.apps\/web configured$/m);
    const d = await getJSON(['-n', 'apply-csa', 'deploy', 'web']);
    assert.deepEqual(
      d.spec.template.spec.containers.map((x: Any) => [x.name, x.image]),
      [
        ['web', 'nginx:1.28'],
        ['sidecar', 'busybox:1.36'],
      ],
    );
    assert.equal(d.metadata.labels['set-by'], 'someone-else');
    assert.equal(d.metadata.generation, 2);
  });

  it('server-side apply creates and re-applies the same objects without a change', async () => {
    const input = docs(deployment('apply-ssa', 'web'), service('apply-ssa', 'web'), configMap('apply-ssa', 'web'));
    const first = await k(['apply', '--server-side', '-f', '-'], { input });
    assert.match(first, /^deployment\.apps\/web serverside-applied$/m);
    assert.match(first, /^service\/web serverside-applied$/m);
    assert.match(first, /^configmap\/web serverside-applied$/m);
    const before = await getJSON(['-n', 'apply-ssa', 'deploy', 'web', '--show-managed-fields']);
    assert.equal(before.metadata.generation, 1);
    const mine = before.metadata.managedFields.find((m: Any) => m.manager === 'kubectl');
    assert.equal(mine.operation, 'Apply');
    assert.ok(mine.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"sidecar"}']);
    await k(['apply', '--server-side', '-f', '-'], { input });
    const again = await getJSON(['-n', 'apply-ssa', 'deploy', 'web']);
    assert.equal(again.metadata.resourceVersion, before.metadata.resourceVersion, 'an identical apply writes nothing');
  });

  it('server-side apply over client-side applied objects takes them over without changing their spec', async () => {
    // kubectl applies, then moves the client-side manager's fields to its own (csaupgrade): the
    // defaulted fields kube set must come back, so the spec and its generation do not change.
    const input = docs(deployment('apply-csa', 'web', { image: 'nginx:1.28' }), service('apply-csa', 'web'), configMap('apply-csa', 'web'));
    const before = await getJSON(['-n', 'apply-csa', 'deploy', 'web']);
    assert.match(await k(['apply', '--server-side', '-f', '-'], { input }), /deployment\.apps\/web serverside-applied/);
    const d = await getJSON(['-n', 'apply-csa', 'deploy', 'web', '--show-managed-fields']);
    assert.deepEqual(d.spec, before.spec);
    // A Deployment's generation counts annotation changes too (kube's strategy: they are copied to its
    // ReplicaSets); kubectl rewrites last-applied-configuration here, so it moves exactly when that did.
    const annotationsChanged = JSON.stringify(d.metadata.annotations ?? {}) !== JSON.stringify(before.metadata.annotations ?? {});
    assert.equal(d.metadata.generation, before.metadata.generation + (annotationsChanged ? 1 : 0));
    assert.ok(d.metadata.managedFields.some((m: Any) => m.manager === 'kubectl' && m.operation === 'Apply'));
    assert.ok(!d.metadata.managedFields.some((m: Any) => m.manager === 'kubectl-client-side-apply'), 'client-side manager upgraded');
  });

  it('a CRD and its custom resource: Established, defaults applied, a minimum refused with kube’s message', async () => {
    assert.match(await k(['apply', '-f', '-'], { input: docs(CRD) }), /customresourcedefinition\.apiextensions\.k8s\.io\/widgets\.fidelity\.example\.com created/);
    assert.match(await k(['wait', '--for=condition=Established', 'crd/widgets.fidelity.example.com', '--timeout=20s']), /condition met/);
    const crd = await getJSON(['crd', 'widgets.fidelity.example.com']);
    const cond = (t: string) => crd.status.conditions.find((x: Any) => x.type === t)?.status;
    assert.equal(cond('NamesAccepted'), 'True');
    assert.equal(cond('Established'), 'True');
    assert.deepEqual(crd.status.acceptedNames.shortNames, ['wdg']);

    assert.match(await k(['apply', '-f', '-'], { input: docs(widget('apply-csa', 'w1', 3)) }), /widget\.fidelity\.example\.com\/w1 created/);
    assert.match(await k(['apply', '-f', '-'], { input: docs(widget('apply-csa', 'w1', 3)) }), /widget\.fidelity\.example\.com\/w1 unchanged/);
    assert.match(await k(['apply', '--server-side', '-f', '-'], { input: docs(widget('apply-ssa', 'w1', 3)) }), /widget\.fidelity\.example\.com\/w1 serverside-applied/);
    for (const ns of ['apply-csa', 'apply-ssa']) assert.deepEqual((await getJSON(['-n', ns, 'wdg', 'w1'])).spec, { size: 3, color: 'blue' });

    for (const mode of [[], ['--server-side']]) {
      const r = await c.kubectl(['apply', ...mode, '-f', '-'], { input: docs(widget('apply-csa', 'w1', 0)) });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /The Widget "w1" is invalid: spec\.size: Invalid value: 0: spec\.size in body should be greater than or equal to 1/);
    }
    assert.equal((await getJSON(['-n', 'apply-csa', 'wdg', 'w1'])).spec.size, 3);
    assert.equal((await c.kubectl(['-n', 'apply-csa', 'get', 'wdg', 'w2'])).code, 1);
  });
});

describe('edit, scale, patch, diff, label', () => {
  const ns = 'mutate';
  before(async () => {
    await k(['apply', '-f', '-'], { input: docs(namespace(ns), deployment(ns, 'web')) });
  });

  it('edit with a scripted KUBE_EDITOR sends a strategic merge patch: the other container is kept', async () => {
    const editor = join(c.dir, 'edit-image.sh');
    await writeFile(editor, `#!/bin/sh\nsed -i 's#image: nginx:1.27#image: nginx:1.29#' "$1"\n`);
    await chmod(editor, 0o755);
    const r = await c.kubectl(['-n', ns, 'edit', 'deploy', 'web', '-v=8'], { env: { KUBE_EDITOR: editor } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/web edited/);
    // kubectl computed a strategic merge patch naming only the changed container, with the list's order.
    assert.match(r.stderr, /Content-Type: application\/strategic-merge-patch\+json/);
    assert.match(r.stderr, /\$setElementOrder\/containers/);
    const d = await getJSON(['-n', ns, 'deploy', 'web', '--show-managed-fields']);
    assert.deepEqual(
      d.spec.template.spec.containers.map((x: Any) => [x.name, x.image]),
      [
        ['web', 'nginx:1.29'],
        ['sidecar', 'busybox:1.36'],
      ],
    );
    assert.deepEqual(d.spec.template.spec.containers[1].command, ['sleep', 'infinity']);
    assert.equal(d.metadata.generation, 2);
    assert.ok(d.metadata.managedFields.some((m: Any) => m.manager === 'kubectl-edit' && m.operation === 'Update'));
  });

  it('scale deploy --replicas sets spec.replicas through /scale and bumps generation', async () => {
    const before = await getJSON(['-n', ns, 'deploy', 'web']);
    const r = await c.kubectl(['-n', ns, 'scale', 'deploy', 'web', '--replicas=5', '-v=6']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/web scaled/);
    assert.match(r.stderr, /PATCH https:\/\/\S+\/apis\/apps\/v1\/namespaces\/mutate\/deployments\/web\/scale/);
    const d = await getJSON(['-n', ns, 'deploy', 'web']);
    assert.equal(d.spec.replicas, 5);
    assert.equal(d.metadata.generation, before.metadata.generation + 1);
    const raw = JSON.parse(await k(['get', '--raw', `/apis/apps/v1/namespaces/${ns}/deployments/web/scale`]));
    assert.equal(raw.kind, 'Scale');
    assert.equal(raw.spec.replicas, 5);
    assert.equal(raw.status.selector, 'app=web');
  });

  it('patch --type=strategic: $patch: delete removes a container by its merge key, $setElementOrder orders the list', async () => {
    await k(['-n', ns, 'patch', 'deploy', 'web', '--type=strategic', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } })]);
    let d = await getJSON(['-n', ns, 'deploy', 'web']);
    assert.deepEqual(
      d.spec.template.spec.containers.map((x: Any) => x.name),
      ['web'],
    );
    const add = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'init' }, { name: 'web' }],
            containers: [{ name: 'init', image: 'busybox:1.36' }],
          },
        },
      },
    };
    await k(['-n', ns, 'patch', 'deploy', 'web', '--type=strategic', '-p', JSON.stringify(add)]);
    d = await getJSON(['-n', ns, 'deploy', 'web']);
    assert.deepEqual(
      d.spec.template.spec.containers.map((x: Any) => [x.name, x.image]),
      [
        ['init', 'busybox:1.36'],
        ['web', 'nginx:1.29'],
      ],
    );
    // A port list merges by containerPort: the new port is added, the old one kept.
    await k(['-n', ns, 'patch', 'deploy', 'web', '--type=strategic', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'web', ports: [{ containerPort: 443 }] }] } } } })]);
    d = await getJSON(['-n', ns, 'deploy', 'web']);
    assert.deepEqual(
      d.spec.template.spec.containers[1].ports.map((p: Any) => p.containerPort).sort(),
      [443, 80],
    );
  });

  it('patch --type=merge and --type=json', async () => {
    await k(['-n', ns, 'patch', 'deploy', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"tier":"front"}},"spec":{"minReadySeconds":7}}']);
    await k(['-n', ns, 'patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/annotations","value":{"via":"json-patch"}}]']);
    const d = await getJSON(['-n', ns, 'deploy', 'web']);
    assert.equal(d.metadata.labels.tier, 'front');
    assert.equal(d.spec.minReadySeconds, 7);
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.metadata.annotations.via, 'json-patch');
    const bad = await c.kubectl(['-n', ns, 'patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":9}]']);
    assert.notEqual(bad.code, 0);
    assert.equal((await getJSON(['-n', ns, 'deploy', 'web'])).spec.replicas, 3);
  });

  it('a strategic merge patch of a custom resource is refused with 415, as kube does', async () => {
    await k(['wait', '--for=condition=Established', 'crd/widgets.fidelity.example.com', '--timeout=20s']);
    await k(['apply', '-f', '-'], { input: docs(widget(ns, 'w', 2)) });
    const r = await c.kubectl(['-n', ns, 'patch', 'wdg', 'w', '--type=strategic', '-p', '{"spec":{"size":4}}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /application\/strategic-merge-patch\+json is not supported by fidelity\.example\.com\/v1, Kind=Widget/);
    assert.match(r.stderr, /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/);
    const raw = await c.request('PATCH', `/apis/fidelity.example.com/v1/namespaces/${ns}/widgets/w`, { body: '{"spec":{"size":4}}', contentType: 'application/strategic-merge-patch+json' });
    assert.equal(raw.status, 415);
    assert.equal(raw.json().reason, 'UnsupportedMediaType');
    assert.match(await k(['-n', ns, 'patch', 'wdg', 'w', '--type=merge', '-p', '{"spec":{"size":4}}']), /patched/);
    assert.equal((await getJSON(['-n', ns, 'wdg', 'w'])).spec.size, 4);
  });

  it('diff exits 1 showing the changed field, 0 when the live object equals the manifest', async () => {
    await k(['apply', '-f', '-'], { input: docs(configMap(ns, 'diffed', { mode: 'a' })) });
    const same = await c.kubectl(['diff', '-f', '-'], { input: docs(configMap(ns, 'diffed', { mode: 'a' })) });
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout, '');
    const changed = await c.kubectl(['diff', '-f', '-'], { input: docs(configMap(ns, 'diffed', { mode: 'b' })) });
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stdout, /^-\s+mode: a$/m);
    assert.match(changed.stdout, /^\+\s+mode: b$/m);
    const serverSide = await c.kubectl(['diff', '--server-side', '-f', '-'], { input: docs(configMap(ns, 'diffed', { mode: 'c' })) });
    assert.equal(serverSide.code, 1, serverSide.stderr);
    assert.match(serverSide.stdout, /^\+\s+mode: c$/m);
    assert.equal((await getJSON(['-n', ns, 'cm', 'diffed'])).data.mode, 'a', 'diff writes nothing');
  });

  it('label and annotate: set, refuse to overwrite without --overwrite, overwrite, remove', async () => {
    assert.match(await k(['-n', ns, 'label', 'deploy', 'web', 'env=prod']), /deployment\.apps\/web labeled/);
    assert.match(await k(['-n', ns, 'annotate', 'deploy', 'web', 'owner=alice']), /deployment\.apps\/web annotated/);
    const clash = await c.kubectl(['-n', ns, 'label', 'deploy', 'web', 'env=dev']);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /'env' already has a value \(prod\), and --overwrite is false/);
    await k(['-n', ns, 'label', 'deploy', 'web', 'env=dev', '--overwrite']);
    assert.equal((await k(['-n', ns, 'get', 'deploy', '-l', 'env=dev', '-o', 'name'])).trim(), 'deployment.apps/web');
    assert.equal((await getJSON(['-n', ns, 'deploy', 'web'])).metadata.annotations.owner, 'alice');
    await k(['-n', ns, 'label', 'deploy', 'web', 'env-']);
    await k(['-n', ns, 'annotate', 'deploy', 'web', 'owner-']);
    const d = await getJSON(['-n', ns, 'deploy', 'web']);
    assert.equal(d.metadata.labels.env, undefined);
    assert.equal(d.metadata.annotations?.owner, undefined);
    assert.equal(d.metadata.labels.app, 'web');
  });
});

describe('delete with each propagation policy', () => {
  const ns = 'cascade';
  before(async () => {
    await k(['apply', '-f', '-'], { input: docs(namespace(ns)) });
  });

  /** An owner Deployment and two dependents (a ReplicaSet and a ConfigMap) pointing at it by ownerReferences. */
  async function family(name: string, o: { holdDependent?: boolean } = {}): Promise<string> {
    await k(['apply', '-f', '-'], { input: docs(deployment(ns, name)) });
    const uid = (await getJSON(['-n', ns, 'deploy', name])).metadata.uid;
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name, uid, controller: true, blockOwnerDeletion: true };
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `${name}-rs`, namespace: ns, labels: { app: name }, ownerReferences: [ref] },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
    };
    const cm = configMap(ns, `${name}-cm`, {}, { ownerReferences: [{ ...ref, controller: false }], ...(o.holdDependent ? { finalizers: ['fidelity.example.com/hold'] } : {}) });
    await k(['apply', '-f', '-'], { input: docs(rs, cm) });
    return uid;
  }
  const exists = async (kind: string, name: string) => (await c.kubectl(['-n', ns, 'get', kind, name])).code === 0;

  it('--cascade=background: the owner goes at once, its dependents are collected', async () => {
    await family('bg');
    assert.match(await k(['-n', ns, 'delete', 'deploy', 'bg', '--cascade=background']), /deployment\.apps "bg" deleted/);
    assert.equal(await exists('deploy', 'bg'), false);
    await eventually(async () => !(await exists('rs', 'bg-rs')) && !(await exists('cm', 'bg-cm')), 10_000, () => 'dependents of bg not collected');
  });

  it('--cascade=orphan: the owner goes, its dependents stay without the ownerReference', async () => {
    await family('orph');
    assert.match(await k(['-n', ns, 'delete', 'deploy', 'orph', '--cascade=orphan']), /deployment\.apps "orph" deleted/);
    assert.equal(await exists('deploy', 'orph'), false);
    for (const [kind, name] of [
      ['rs', 'orph-rs'],
      ['cm', 'orph-cm'],
    ]) {
      const o = await eventually(async () => {
        const obj = await getJSON(['-n', ns, kind, name]);
        return (obj.metadata.ownerReferences ?? []).length === 0 && obj;
      }, 10_000, () => `${name} still has its ownerReference`);
      assert.equal(o.metadata.deletionTimestamp, undefined);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await exists('rs', 'orph-rs'), true, 'an orphan is not collected later');
  });

  it('--cascade=foreground: the owner waits (foregroundDeletion) for a blocking dependent, then goes', async () => {
    await family('fg', { holdDependent: true });
    assert.match(await k(['-n', ns, 'delete', 'deploy', 'fg', '--cascade=foreground', '--wait=false']), /deployment\.apps "fg" deleted/);
    const owner = await getJSON(['-n', ns, 'deploy', 'fg']);
    assert.ok(owner.metadata.deletionTimestamp);
    assert.deepEqual(owner.metadata.finalizers, ['foregroundDeletion']);
    // The free dependent goes; the held one is deleting, and holds the owner.
    await eventually(async () => !(await exists('rs', 'fg-rs')), 10_000, () => 'fg-rs not collected');
    const held = await getJSON(['-n', ns, 'cm', 'fg-cm']);
    assert.ok(held.metadata.deletionTimestamp);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await exists('deploy', 'fg'), true, 'the owner waits for its blocking dependent');
    await k(['-n', ns, 'patch', 'cm', 'fg-cm', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await eventually(async () => !(await exists('deploy', 'fg')) && !(await exists('cm', 'fg-cm')), 10_000, () => 'fg not deleted after its dependent went');
  });

  it('delete waits for the object to be gone by default (foreground with kubectl’s --wait)', async () => {
    await family('waited');
    const r = await c.kubectl(['-n', ns, 'delete', 'deploy', 'waited', '--cascade=foreground', '--timeout=20s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await exists('deploy', 'waited'), false);
    assert.equal(await exists('rs', 'waited-rs'), false, 'foreground: dependents are gone before the owner');
    assert.equal(await exists('cm', 'waited-cm'), false);
  });
});

describe('namespace deletion', () => {
  it('Terminating while a finalizer holds a ConfigMap, new content refused, gone once it is removed', async () => {
    await k(['apply', '-f', '-'], { input: docs(namespace('doomed'), configMap('doomed', 'held', {}, { finalizers: ['fidelity.example.com/hold'] }), configMap('doomed', 'free'), deployment('doomed', 'web')) });
    assert.match(await k(['delete', 'ns', 'doomed', '--wait=false']), /namespace "doomed" deleted/);
    assert.match(await k(['get', 'ns', 'doomed']), /^doomed\s+Terminating\s+/m);
    await eventually(async () => (await k(['-n', 'doomed', 'get', 'cm,deploy', '-o', 'name'])).trim() === 'configmap/held', 10_000, () => 'contents not deleted');
    const ns = await eventually(async () => {
      const o = await getJSON(['ns', 'doomed']);
      return (o.status.conditions ?? []).some((x: Any) => x.type === 'NamespaceFinalizersRemaining' && x.status === 'True') && o;
    }, 10_000, () => 'no NamespaceFinalizersRemaining condition');
    assert.equal(ns.status.phase, 'Terminating');
    assert.match(ns.status.conditions.find((x: Any) => x.type === 'NamespaceFinalizersRemaining').message, /fidelity\.example\.com\/hold in 1 resource instances/);
    assert.deepEqual(ns.spec.finalizers, ['kubernetes']);

    const refused = await c.kubectl(['apply', '-f', '-'], { input: docs(configMap('doomed', 'late')) });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Error from server \(Forbidden\): error when creating "STDIN": configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated/);

    await k(['-n', 'doomed', 'patch', 'cm', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await eventually(async () => (await c.kubectl(['get', 'ns', 'doomed'])).code !== 0, 10_000, () => 'namespace not gone');
    const r = await c.kubectl(['get', 'ns', 'doomed']);
    assert.match(r.stderr, /Error from server \(NotFound\): namespaces "doomed" not found/);
  });

  it('kubectl delete ns waits until the namespace and its contents are gone', async () => {
    await k(['apply', '-f', '-'], { input: docs(namespace('short'), configMap('short', 'a'), service('short', 'web')) });
    const r = await c.kubectl(['delete', 'ns', 'short', '--timeout=20s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await c.kubectl(['get', 'ns', 'short'])).code, 1);
  });
});

describe('watch', () => {
  it('get -w prints the change made meanwhile', async () => {
    await k(['apply', '-f', '-'], { input: docs(configMap('default', 'watched', { a: '1' })) });
    const p = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'get', 'cm', 'watched', '-w', '--output-watch-events']);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    try {
      await eventually(() => /ADDED\s+watched\s+1\s+\d+s/.test(out), 10_000, () => `no initial event: ${out}`);
      await k(['patch', 'cm', 'watched', '--type=merge', '-p', '{"data":{"b":"2"}}']);
      await eventually(() => /MODIFIED\s+watched\s+2\s+\d+s/.test(out), 10_000, () => `no MODIFIED event: ${out}`);
      await k(['delete', 'cm', 'watched']);
      await eventually(() => /DELETED\s+watched\s+2\s+\d+s/.test(out), 10_000, () => `no DELETED event: ${out}`);
    } finally {
      p.kill();
    }
  });

  it('get -w with the default table prints the new row', async () => {
    await k(['apply', '-f', '-'], { input: docs(deployment('default', 'watched-deploy', { replicas: 1 })) });
    const p = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'get', 'deploy', 'watched-deploy', '-w']);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    try {
      await eventually(() => /^watched-deploy\s+0\/1\s+0\s+0\s+\d+s$/m.test(out), 10_000, () => `no first row: ${out}`);
      await k(['scale', 'deploy', 'watched-deploy', '--replicas=4']);
      await eventually(() => /^watched-deploy\s+0\/4\s+/m.test(out), 10_000, () => `no row for the change: ${out}`);
      assert.match(out.split('\n')[0], /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    } finally {
      p.kill();
    }
  });
});

describe('RBAC and ServiceAccount tokens', () => {
  const ns = 'rbac';
  const readerRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'cm-reader', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
  };
  const binding = (name: string, subject: Any) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
    subjects: [subject],
  });
  before(async () => {
    await k(['apply', '-f', '-'], { input: docs(namespace(ns), readerRole, configMap(ns, 'visible'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot', namespace: ns } }) });
  });

  const canI = async (...args: string[]) => {
    const r = await c.kubectl(['auth', 'can-i', ...args]);
    return `${r.stdout.trim()}:${r.code}`;
  };

  it('auth can-i --as follows RoleBindings (yes/no, exit codes 0/1)', async () => {
    assert.equal(await canI('get', 'configmaps', '-n', ns, '--as=alice'), 'no:1');
    await k(['apply', '-f', '-'], { input: docs(binding('alice-reads', { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' })) });
    await eventually(async () => (await canI('get', 'configmaps', '-n', ns, '--as=alice')) === 'yes:0', 5000, () => 'binding not in force');
    assert.equal(await canI('list', 'configmaps', '-n', ns, '--as=alice'), 'yes:0');
    assert.equal(await canI('delete', 'configmaps', '-n', ns, '--as=alice'), 'no:1');
    assert.equal(await canI('get', 'configmaps', '-n', 'default', '--as=alice'), 'no:1');
    assert.equal(await canI('get', 'secrets', '-n', ns, '--as=alice'), 'no:1');
    assert.equal(await canI('get', 'configmaps', '-n', ns, '--as=bob', '--as-group=system:masters'), 'yes:0');
    const listed = await k(['auth', 'can-i', '--list', '-n', ns, '--as=alice']);
    assert.match(listed, /^configmaps\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
  });

  it('kubectl create token: the token is denied (Forbidden) until a RoleBinding allows it', async () => {
    const r = await c.kubectl(['-n', ns, 'create', 'token', 'robot', '--duration=10m']);
    assert.equal(r.code, 0, `kubectl create token: ${r.stderr}`);
    const token = r.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, `system:serviceaccount:${ns}:robot`);
    assert.ok(claims.exp - claims.iat <= 600 && claims.exp - claims.iat > 590);

    const kc = await c.kubeconfigForToken('robot', token);
    assert.match(await k(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig: kc }), /^system:serviceaccount:rbac:robot$/);
    const denied = await c.kubectl(['-n', ns, 'get', 'cm'], { kubeconfig: kc });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Error from server \(Forbidden\): configmaps is forbidden: User "system:serviceaccount:rbac:robot" cannot list resource "configmaps" in API group "" in the namespace "rbac"/);

    await k(['apply', '-f', '-'], { input: docs(binding('robot-reads', { kind: 'ServiceAccount', name: 'robot', namespace: ns })) });
    await eventually(async () => (await c.kubectl(['-n', ns, 'get', 'cm', 'visible'], { kubeconfig: kc })).code === 0, 5000, () => 'the RoleBinding did not allow the token');
    assert.match(await k(['-n', ns, 'get', 'cm', 'visible', '-o', 'name'], { kubeconfig: kc }), /configmap\/visible/);
    const write = await c.kubectl(['-n', ns, 'delete', 'cm', 'visible'], { kubeconfig: kc });
    assert.match(write.stderr, /Error from server \(Forbidden\): configmaps "visible" is forbidden: User "system:serviceaccount:rbac:robot" cannot delete resource "configmaps" in API group "" in the namespace "rbac"/);
    const elsewhere = await c.kubectl(['-n', 'default', 'get', 'cm'], { kubeconfig: kc });
    assert.match(elsewhere.stderr, /Forbidden/);
  });

  it('a token minted for another audience, or tampered with, is not accepted', async () => {
    const token = (await k(['-n', ns, 'create', 'token', 'robot', '--audience=https://elsewhere.example.com'])).trim();
    const r = await c.kubectl(['-n', ns, 'get', 'cm'], { kubeconfig: await c.kubeconfigForToken('robot-elsewhere', token) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized|must be logged in/);
  });
});

describe('reading: explain, tables, discovery', () => {
  before(async () => {
    await k(['apply', '-f', '-'], {
      input: docs(namespace('tables'), deployment('tables', 'web', { replicas: 3 }), service('tables', 'web'), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tables' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }),
    });
  });

  it('explain deployment.spec.template prints kube’s description and fields', async () => {
    const out = await k(['explain', 'deployment.spec.template']);
    assert.match(out, /^GROUP:\s+apps$/m);
    assert.match(out, /^KIND:\s+Deployment$/m);
    assert.match(out, /^VERSION:\s+v1$/m);
    assert.match(out, /^FIELD: template <PodTemplateSpec>$/m);
    assert.match(out, /Template describes the pods that will be created\. The only allowed\s+template\.spec\.restartPolicy value is "Always"\./);
    assert.match(out, /^\s+metadata\s+<ObjectMeta>$/m);
    assert.match(out, /^\s+spec\s+<PodSpec>$/m);
    const v2 = await k(['explain', 'deployment.spec.template.spec.containers.imagePullPolicy', '--output=plaintext-openapiv2']);
    assert.match(v2, /FIELD:\s+imagePullPolicy <string>/);
    assert.match(v2, /Image pull policy\. One of Always, Never, IfNotPresent\./);
  });

  it('get prints kube’s columns for deployments, services, pods and namespaces', async () => {
    const rows = async (args: string[]) => (await k(['-n', 'tables', 'get', ...args])).trimEnd().split('\n');
    let t = await rows(['deploy']);
    assert.match(t[0], /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    assert.match(t[1], /^web\s+0\/3\s+0\s+0\s+\d+s$/);
    t = await rows(['deploy', '-o', 'wide']);
    assert.match(t[0], /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/);
    assert.match(t[1], /^web\s+0\/3\s+0\s+0\s+\d+s\s+web,sidecar\s+nginx:1\.27,busybox:1\.36\s+app=web$/);
    t = await rows(['svc', '-o', 'wide']);
    assert.match(t[0], /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR$/);
    assert.match(t[1], /^web\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s\s+app=web$/);
    t = await rows(['pods']);
    assert.match(t[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.match(t[1], /^p\s+0\/1\s+Pending\s+0\s+\d+s$/);
    t = await rows(['pods', '-o', 'wide']);
    assert.match(t[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    assert.match(t[1], /^p\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>\s+<none>\s+<none>$/);
    t = await rows(['ns']);
    assert.match(t[0], /^NAME\s+STATUS\s+AGE$/);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'tables']) assert.ok(t.some((l) => new RegExp(`^${n}\\s+Active\\s+\\d+`).test(l)), `${n} missing:\n${t.join('\n')}`);
    const all = await k(['get', 'deploy,svc', '-A']);
    assert.match(all, /^NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    assert.match(all, /^default\s+service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\d+/m);
  });

  it('api-resources lists the built-in kinds with kube’s short names', async () => {
    const out = await k(['api-resources']);
    const expect: [string, string, string, boolean, string][] = [
      ['configmaps', 'cm', 'v1', true, 'ConfigMap'],
      ['namespaces', 'ns', 'v1', false, 'Namespace'],
      ['pods', 'po', 'v1', true, 'Pod'],
      ['services', 'svc', 'v1', true, 'Service'],
      ['serviceaccounts', 'sa', 'v1', true, 'ServiceAccount'],
      ['persistentvolumeclaims', 'pvc', 'v1', true, 'PersistentVolumeClaim'],
      ['endpoints', 'ep', 'v1', true, 'Endpoints'],
      ['events', 'ev', 'v1', true, 'Event'],
      ['limitranges', 'limits', 'v1', true, 'LimitRange'],
      ['resourcequotas', 'quota', 'v1', true, 'ResourceQuota'],
      ['secrets', '', 'v1', true, 'Secret'],
      ['deployments', 'deploy', 'apps/v1', true, 'Deployment'],
      ['daemonsets', 'ds', 'apps/v1', true, 'DaemonSet'],
      ['replicasets', 'rs', 'apps/v1', true, 'ReplicaSet'],
      ['statefulsets', 'sts', 'apps/v1', true, 'StatefulSet'],
      ['cronjobs', 'cj', 'batch/v1', true, 'CronJob'],
      ['jobs', '', 'batch/v1', true, 'Job'],
      ['ingresses', 'ing', 'networking.k8s.io/v1', true, 'Ingress'],
      ['networkpolicies', 'netpol', 'networking.k8s.io/v1', true, 'NetworkPolicy'],
      ['poddisruptionbudgets', 'pdb', 'policy/v1', true, 'PodDisruptionBudget'],
      ['customresourcedefinitions', 'crd,crds', 'apiextensions.k8s.io/v1', false, 'CustomResourceDefinition'],
      ['clusterroles', '', 'rbac.authorization.k8s.io/v1', false, 'ClusterRole'],
      ['rolebindings', '', 'rbac.authorization.k8s.io/v1', true, 'RoleBinding'],
      ['leases', '', 'coordination.k8s.io/v1', true, 'Lease'],
      ['endpointslices', '', 'discovery.k8s.io/v1', true, 'EndpointSlice'],
      ['apiservices', '', 'apiregistration.k8s.io/v1', false, 'APIService'],
      ['tokenreviews', '', 'authentication.k8s.io/v1', false, 'TokenReview'],
      ['subjectaccessreviews', '', 'authorization.k8s.io/v1', false, 'SubjectAccessReview'],
      ['validatingwebhookconfigurations', '', 'admissionregistration.k8s.io/v1', false, 'ValidatingWebhookConfiguration'],
    ];
    const lines = out.split('\n');
    for (const [name, short, gv, namespaced, kind] of expect) {
      const re = new RegExp(`^${name}\\s+${short ? `${short}\\s+` : ''}${gv.replace(/\./g, '\\.')}\\s+${namespaced}\\s+${kind}$`);
      assert.ok(
        lines.some((l) => re.test(l)),
        `${name} (${short || 'no short name'}, ${gv}, ${kind}) missing from:\n${out}`,
      );
    }
    assert.match(out, /^widgets\s+wdg\s+fidelity\.example\.com\/v1\s+true\s+Widget$/m, 'a CRD’s kind is discovered');
    const cats = await k(['api-resources', '--categories=all', '-o', 'name']);
    assert.deepEqual(cats.trim().split('\n').sort(), ['cronjobs.batch', 'daemonsets.apps', 'deployments.apps', 'jobs.batch', 'pods', 'replicasets.apps', 'services', 'statefulsets.apps']);
  });

  it('get all lists the "all" category in kube’s order: pods, services, then the apps and batch kinds', async () => {
    const out = await k(['-n', 'tables', 'get', 'all']);
    const kinds = out
      .split('\n')
      .filter((l) => /^[a-z.]+\/\S+/.test(l))
      .map((l) => l.split('/')[0]);
    assert.deepEqual([...new Set(kinds)], ['pod', 'service', 'deployment.apps']);
    assert.match(out, /^pod\/p\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    assert.match(out, /^service\/web\s+ClusterIP\s+/m);
    assert.match(out, /^deployment\.apps\/web\s+0\/3\s+0\s+0\s+\d+s$/m);
    const v = await c.kubectl(['-n', 'tables', 'get', 'all', '-v=6']);
    const order = [...v.stderr.matchAll(/GET https:\/\/\S+\/namespaces\/tables\/([a-z]+)\?/g)].map((m) => m[1]);
    assert.deepEqual(order, ['pods', 'services', 'daemonsets', 'deployments', 'replicasets', 'statefulsets', 'cronjobs', 'jobs']);
  });
});
