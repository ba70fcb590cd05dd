// Kustomization health, end to end on the embedded local cluster with simulated workloads (one bed):
// `wait` and `healthChecks` hold Ready back until a Deployment's simulated rollout, with progress on
// the way; a PersistentVolumeClaim (never bound: the simulator does not touch PVCs) times out;
// `healthCheckExprs` judge a custom resource whose status is patched by hand; a new revision ends the
// wait for the old one; and postBuild substitution with defaults, substituteFrom and opt-outs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deploymentYaml, KustomizationBed } from '../helpers/kustomization.js';
import { eventually } from '../helpers/eventually.js';

const deployment = (name: string) => deploymentYaml(name);
const configMap = (name: string, data: Record<string, string> = { a: 'b' }) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: default}
data: ${JSON.stringify(data)}
`;
const pvc = (name: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`;
const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;
const widget = (name: string) => `apiVersion: example.com/v1
kind: Widget
metadata: {name: ${name}, namespace: default}
spec: {size: 1}
`;
const WIDGET_EXPRS = [
  {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    inProgress: "status.phase == 'Progressing'",
    failed: "status.phase == 'Failed'",
    current: "status.phase == 'Ready'",
  },
];

type Cond = { status: string; reason: string; message: string };

describe('Kustomization health and postBuild on the local cluster (simulated workloads)', () => {
  let bed: KustomizationBed;
  before(async () => {
    bed = await KustomizationBed.start({ serverArgs: ['--local-cluster-simulate-workloads=true', '--local-cluster-simulated-rollout-delay', '1500ms'] });
  });
  after(async () => bed?.stop());

  const cond = async (name: string, type: string): Promise<Cond | undefined> => condOf((await bed.get('kustomization', name)).status, type);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of a status
  const condOf = (status: any, type: string): Cond | undefined => (status?.conditions ?? []).find((c: { type: string }) => c.type === type);

  /** The whole status of Kustomization `name` once `match` holds for it (one read: its conditions agree). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of a status
  async function statusWhen(name: string, match: (status: any) => boolean, timeoutMs = 30_000): Promise<any> {
    let last: unknown;
    return eventually(
      async () => {
        const st = (await bed.get('kustomization', name)).status;
        last = st;
        return st && match(st) && st;
      },
      timeoutMs,
      () => `kustomization ${name}: status not as expected: ${JSON.stringify(last)}\nserver log tail:\n${bed.server.logs.slice(-2000)}`,
    );
  }
  const readyIs = (status: string, message?: string) => (st: unknown) => {
    const c = condOf(st, 'Ready');
    return c?.status === status && (message === undefined || c.message.includes(message));
  };

  /** Ready waits for the Deployment: progress naming it first, then Ready and Healthy True after the rollout. */
  async function readyAfterRollout(ks: string, deploy: string): Promise<void> {
    const waiting = await statusWhen(ks, readyIs('Unknown', `Deployment/default/${deploy}`));
    const progress = condOf(waiting, 'Ready')!;
    assert.equal(progress.reason, 'Progressing');
    assert.match(progress.message, /^waiting for 1 of \d+ object\(s\) to become ready: Deployment\/default\/[a-z-]+: /);
    assert.deepEqual(condOf(waiting, 'Reconciling'), { ...condOf(waiting, 'Reconciling'), status: 'True', reason: 'Progressing', message: progress.message });
    assert.equal(condOf(waiting, 'Healthy')?.status, 'Unknown');
    const done = await statusWhen(ks, readyIs('True'));
    assert.match(condOf(done, 'Ready')!.message, /^Applied revision: main@sha1:/);
    const healthy = condOf(done, 'Healthy');
    assert.equal(healthy?.status, 'True', JSON.stringify(healthy));
    assert.match(healthy!.message, /Health check passed in/);
    assert.equal(condOf(done, 'Reconciling'), undefined);
    const d = await bed.get('deployment', deploy);
    assert.equal(d.status.readyReplicas, 2, 'Ready=True only once the Deployment rolled out');
    assert.equal(d.status.observedGeneration, d.metadata.generation);
  }

  it('wait: true holds Ready back until the Deployment rolled out, with progress naming it', async () => {
    await bed.source('wait', { 'web.yaml': deployment('web-wait'), 'cm.yaml': configMap('cm-wait') });
    await bed.kustomization('wait', { wait: true, timeout: '1m' });
    await readyAfterRollout('wait', 'web-wait');
  });

  it('healthChecks listing a Deployment does the same without wait', async () => {
    await bed.source('checks', { 'web.yaml': deployment('web-checks') });
    await bed.kustomization('checks', { healthChecks: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-checks' }], timeout: '1m' });
    await readyAfterRollout('checks', 'web-checks');
  });

  it('healthChecks without apiVersion: the kind is looked up in the cluster (a Deployment) or this API (a GitRepository)', async () => {
    await bed.source('noav', { 'web.yaml': deployment('web-noav') });
    await bed.kustomization('noav', { healthChecks: [{ kind: 'Deployment', name: 'web-noav' }, { kind: 'GitRepository', name: 'noav' }], timeout: '1m' });
    await readyAfterRollout('noav', 'web-noav');
  });

  it('times out on an object that never becomes ready: Ready=False HealthCheckFailed naming it', async () => {
    await bed.source('slow', { 'pvc.yaml': pvc('data-slow'), 'cm.yaml': configMap('cm-slow') });
    const started = Date.now();
    // Besides every applied object, a health check of a kind nobody serves: waited for as not found.
    await bed.kustomization('slow', { wait: true, timeout: '5s', healthChecks: [{ apiVersion: 'example.com/v1', kind: 'Gadget', name: 'g' }] });
    // (Ready=False ArtifactFailed first, if the Kustomization came before the source's first artifact.)
    const st = await statusWhen('slow', (x) => readyIs('False')(x) && condOf(x, 'Ready')?.reason !== 'ArtifactFailed');
    const ready = condOf(st, 'Ready')!;
    assert.equal(ready.reason, 'HealthCheckFailed', JSON.stringify(ready));
    assert.match(ready.message, /^timeout waiting for: \[PersistentVolumeClaim\/default\/data-slow status: 'InProgress'/);
    assert.match(ready.message, /, \[Gadget\/default\/g status: 'NotFound': kind Gadget is not served in example.com\/v1\]$/);
    assert.doesNotMatch(ready.message, /cm-slow/, 'only what is not ready is named');
    const healthy = condOf(st, 'Healthy');
    assert.equal(healthy?.status, 'False', JSON.stringify(healthy));
    assert.equal(healthy!.reason, 'HealthCheckFailed');
    assert.equal(healthy!.message, ready.message);
    assert.ok(Date.now() - started >= 5000, 'not before spec.timeout');
    // Applied regardless: the inventory holds both; the revision was attempted, not applied.
    assert.ok(st.lastAttemptedRevision);
    assert.equal(st.lastAppliedRevision, undefined);
    assert.deepEqual(st.inventory.entries.map((e: { id: string }) => e.id).sort(), ['default_cm-slow__ConfigMap', 'default_data-slow__PersistentVolumeClaim']);
  });

  it('healthCheckExprs judge a custom resource: Ready only once current is true; failed is HealthCheckFailed', async () => {
    await bed.apply(CRD);
    await eventually(async () => (await bed.run(['get', 'widgets'])).code === 0, 20_000, () => 'the Widget CRD is not served');
    await bed.source('widgets', { 'w.yaml': widget('w1') });
    await bed.kustomization('widgets', { wait: true, timeout: '2m', healthCheckExprs: WIDGET_EXPRS });

    // No status yet: the expressions cannot be evaluated, so the wait goes on, naming the Widget.
    await statusWhen('widgets', readyIs('Unknown', 'Widget/default/w1'));
    await bed.k(['patch', 'widget/w1', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Progressing"}}']);
    const progressing = await statusWhen('widgets', readyIs('Unknown', 'Widget/default/w1: inProgress expression is true'));
    assert.equal(condOf(progressing, 'Healthy')?.status, 'Unknown');
    await bed.k(['patch', 'widget/w1', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Ready"}}']);
    const done = await statusWhen('widgets', readyIs('True'));
    assert.equal(condOf(done, 'Healthy')?.status, 'True');

    // A second Widget that fails: the wait ends early (long before the 2m timeout), naming it.
    const sha = await bed.push('widgets', { 'w2.yaml': widget('w2') });
    await statusWhen('widgets', readyIs('Unknown', 'Widget/default/w2'));
    const failedAt = Date.now();
    await bed.k(['patch', 'widget/w2', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Failed"}}']);
    const st = await statusWhen('widgets', readyIs('False'));
    assert.ok(Date.now() - failedAt < 20_000, 'a failed object ends the wait before the timeout');
    const failed = condOf(st, 'Ready')!;
    assert.equal(failed.reason, 'HealthCheckFailed');
    assert.match(failed.message, /^health check failed after [\d.]+s: Widget\/default\/w2: failed expression is true/);
    const healthy = condOf(st, 'Healthy');
    assert.equal(healthy?.status, 'False');
    assert.equal(healthy!.reason, 'HealthCheckFailed');
    assert.ok(st.lastAttemptedRevision.endsWith(sha));
    assert.ok(!st.lastAppliedRevision.endsWith(sha), 'the failed revision is not recorded as applied');
  });

  it('a new revision pushed during a wait ends the old wait: the new one is attempted without waiting for the timeout', async () => {
    await bed.source('moving', { 'pvc.yaml': pvc('data-moving') });
    await bed.kustomization('moving', { wait: true, timeout: '5m' });
    const waiting = await statusWhen('moving', readyIs('Unknown', 'PersistentVolumeClaim/default/data-moving'));
    const pushed = Date.now();
    const sha = await bed.push('moving', { 'cm.yaml': configMap('cm-moving') }, { remove: ['pvc.yaml'] });
    const st = await statusWhen('moving', readyIs('True'));
    assert.ok(Date.now() - pushed < 30_000, 'long before the 5m timeout');
    assert.notEqual(waiting.lastAttemptedRevision, st.lastAttemptedRevision);
    assert.ok(st.lastAttemptedRevision.endsWith(sha));
    assert.equal(st.lastAppliedRevision, st.lastAttemptedRevision);
    assert.ok(condOf(st, 'Ready')!.message.endsWith(sha));
    assert.equal(await bed.exists('persistentvolumeclaim', 'data-moving'), false, 'the PVC of the abandoned revision is pruned');
    assert.equal(await bed.exists('configmap', 'cm-moving'), true);
  });

  it('postBuild: substitute with defaults, substituteFrom ConfigMap and Secret, optional sources, $${} and the opt-out', async () => {
    await bed.apply(configMap('vars-cm', { color: 'blue', region: 'from-configmap' }));
    await bed.k(['create', 'secret', 'generic', 'vars-secret', '--from-literal=password=s3cret', '--from-literal=color=red']);
    const out = `apiVersion: v1
kind: ConfigMap
metadata: {name: sub-out, namespace: default}
data:
  color: \${color}
  password: \${password}
  region: \${region:=eu-west-1}
  zone: \${zone:=zone-a}
  inline: \${inline}
  literal: $\${color}
`;
    const optOut = `apiVersion: v1
kind: ConfigMap
metadata:
  name: sub-off
  namespace: default
  annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}
data:
  color: \${color}
`;
    await bed.source('subst', { 'out.yaml': out, 'off.yaml': optOut });
    const postBuild = {
      substitute: { inline: 'from-spec', color: 'green' },
      substituteFrom: [
        { kind: 'ConfigMap', name: 'vars-cm' },
        { kind: 'Secret', name: 'vars-secret' },
        { kind: 'ConfigMap', name: 'not-there', optional: true },
      ],
    };
    await bed.kustomization('subst', { postBuild });
    await bed.ready('subst', { timeoutMs: 30_000 });
    const data = (await bed.get('configmap', 'sub-out')).data;
    assert.deepEqual(data, {
      color: 'green', // ConfigMap blue < Secret red < inline green: later wins
      password: 's3cret', // from the Secret, base64-decoded
      region: 'from-configmap', // set, so the default is not used
      zone: 'zone-a', // unset: the default
      inline: 'from-spec',
      literal: '${color}', // $${} escapes
    });
    assert.deepEqual((await bed.get('configmap', 'sub-off')).data, { color: '${color}' }, 'the opt-out annotation leaves the object as it is');

    // A required (optional: false) source that is missing: Ready=False naming it, nothing applied anew.
    await bed.kustomization('subst', { postBuild: { ...postBuild, substituteFrom: [...postBuild.substituteFrom, { kind: 'ConfigMap', name: 'required-vars', optional: false }] } });
    const failed = condOf(await statusWhen('subst', readyIs('False')), 'Ready')!;
    assert.match(failed.message, /ConfigMap\/required-vars/);
    assert.match(failed.message, /not found/);
    // Once it exists, the next reconcile goes through.
    await bed.apply(configMap('required-vars', { zone: 'zone-b' }));
    await bed.requestReconcile('kustomization', 'subst');
    await eventually(async () => (await bed.get('configmap', 'sub-out')).data.zone === 'zone-b', 30_000, () => 'the required source was not used');
    await bed.ready('subst', { timeoutMs: 30_000 });
  });
});
