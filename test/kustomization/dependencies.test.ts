// Kustomization dependsOn, end to end on the embedded local cluster (one bed): a dependent waits
// (DependencyNotReady, naming the dependency) until its dependency is Ready — in the same namespace
// and across namespaces — and then goes on at once, woken by the dependency's change rather than by
// --requeue-dependency (5m here, longer than any wait below); readyExpr; dependencies of other kinds
// (a HelmRelease whose status is written by hand: its controller is off, a GitRepository); cycles;
// missing dependencies.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KustomizationBed } from '../helpers/kustomization.js';
import { eventually } from '../helpers/eventually.js';

const cm = (name: string, namespace = 'default') => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${namespace}}
data: {from: ${name}}
`;

/** Each Kustomization built from the shared repo `deps` applies its own ConfigMap from its own directory. */
const DIRS = ['app', 'orphan', 'ghost', 'rx-true', 'rx-false', 'rx-bad', 'hr-dep', 'gr-dep', 'cyc-a', 'cyc-b'];
const fromShared = (dir: string, spec: Record<string, unknown> = {}) => ({ sourceRef: { kind: 'GitRepository', name: 'deps' }, path: `./${dir}`, ...spec });

/** Longer than every wait of this file: a dependent that goes on did so because it was woken. */
const REQUEUE = '5m';
const PROMPTLY_MS = 20_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of a status
type Status = any;
type Cond = { type: string; status: string; reason: string; message: string };

describe('Kustomization dependsOn on the local cluster', () => {
  let bed: KustomizationBed;
  before(async () => {
    bed = await KustomizationBed.start({ serverArgs: ['--controllers=*,-helmrelease', '--requeue-dependency', REQUEUE] });
    await bed.source('deps', Object.fromEntries(DIRS.map((d) => [`${d}/cm.yaml`, cm(`${d}-cm`)])));
  });
  after(async () => bed?.stop());

  const condOf = (st: Status, type: string): Cond | undefined => (st?.conditions ?? []).find((c: Cond) => c.type === type);

  /** Ready=False DependencyNotReady with `message` in it; returns the condition. */
  const waitingOn = (name: string, message: string, namespace = 'default') =>
    bed.condition(name, 'Ready', (c) => c.status === 'False' && c.reason === 'DependencyNotReady' && c.message.includes(message), { namespace, timeoutMs: 30_000 });

  /** Ready=True of `name` soon after `since` (the moment its dependency became ready). */
  async function readySoonAfter(name: string, since: number, namespace = 'default'): Promise<void> {
    await bed.ready(name, { namespace, timeoutMs: PROMPTLY_MS + 10_000 });
    const took = Date.now() - since;
    assert.ok(took < PROMPTLY_MS, `${name} became Ready ${took}ms after its dependency: not woken by it`);
  }

  it('waits for a dependency in the same namespace until it is Ready, then goes on at once', async () => {
    // `base` is built from a source that does not exist yet: Ready=False.
    await bed.kustomization('base', { sourceRef: { kind: 'GitRepository', name: 'late' } });
    await bed.kustomization('app', fromShared('app', { dependsOn: [{ name: 'base' }] }));
    const waiting = await waitingOn('app', "dependency 'default/base' is not ready");
    assert.match(waiting.message, /Source 'GitRepository\/default\/late' not found/, "the dependency's own message is passed on");
    const st = (await bed.get('kustomization', 'app')).status;
    assert.equal(condOf(st, 'Reconciling')?.status, 'True');
    assert.equal(await bed.exists('configmap', 'app-cm'), false, 'nothing is applied before the dependency is ready');

    await bed.source('late', { 'cm.yaml': cm('late-cm') });
    await bed.ready('base', { timeoutMs: 30_000 });
    await readySoonAfter('app', Date.now());
    assert.equal(await bed.exists('configmap', 'app-cm'), true);
  });

  it('waits for a dependency in another namespace', async () => {
    await bed.k(['create', 'namespace', 'infra']);
    await bed.k(['create', 'namespace', 'apps']);
    await bed.kustomization('infra', { sourceRef: { kind: 'GitRepository', name: 'infra' } }, 'infra');
    await bed.source('apps', { 'cm.yaml': cm('apps-cm', 'apps') }, 'apps');
    await bed.kustomization('apps', { dependsOn: [{ name: 'infra', namespace: 'infra' }] }, 'apps');
    await waitingOn('apps', "dependency 'infra/infra' is not ready", 'apps');
    assert.equal(await bed.exists('configmap', 'apps-cm', 'apps'), false);

    await bed.source('infra', { 'cm.yaml': cm('infra-cm', 'infra') }, 'infra');
    await bed.ready('infra', { namespace: 'infra', timeoutMs: 30_000 });
    await readySoonAfter('apps', Date.now(), 'apps');
    assert.equal(await bed.exists('configmap', 'apps-cm', 'apps'), true);
  });

  it('waits for a dependency that does not exist, naming it, and goes on once it appears and is Ready', async () => {
    await bed.kustomization('orphan', fromShared('orphan', { dependsOn: [{ name: 'ghost' }] }));
    await waitingOn('orphan', "dependency 'default/ghost' not found");
    assert.equal(await bed.exists('configmap', 'orphan-cm'), false);
    await bed.kustomization('ghost', fromShared('ghost'));
    await bed.ready('ghost', { timeoutMs: 30_000 });
    await readySoonAfter('orphan', Date.now());
  });

  it('readyExpr: true goes on even when Ready is not True, false waits, one that does not parse stalls', async () => {
    // `never` has no source, so it is never Ready; a readyExpr replaces the Ready check.
    await bed.kustomization('never', { sourceRef: { kind: 'GitRepository', name: 'nosuch' } });
    await bed.condition('never', 'Ready', (c) => c.status === 'False', { timeoutMs: 30_000 });
    await bed.kustomization('rx-true', fromShared('rx-true', { dependsOn: [{ name: 'never', readyExpr: "dep.metadata.name == 'never' && self.metadata.name == 'rx-true'" }] }));
    await bed.ready('rx-true', { timeoutMs: 30_000 });
    assert.equal(await bed.exists('configmap', 'rx-true-cm'), true);

    // `base` is Ready, but the expression asks for a label it does not have yet.
    const gold = "has(dep.metadata.labels) && 'tier' in dep.metadata.labels && dep.metadata.labels['tier'] == 'gold'";
    await bed.kustomization('rx-false', fromShared('rx-false', { dependsOn: [{ name: 'base', readyExpr: gold }] }));
    const waiting = await waitingOn('rx-false', "dependency 'default/base' is not ready: readyExpr is false");
    assert.equal(waiting.status, 'False');
    assert.equal(await bed.exists('configmap', 'rx-false-cm'), false);
    await bed.k(['label', 'kustomization/base', 'tier=gold']);
    await bed.requestReconcile('kustomization', 'rx-false');
    await bed.ready('rx-false', { timeoutMs: 30_000 });

    await bed.kustomization('rx-bad', fromShared('rx-bad', { dependsOn: [{ name: 'base', readyExpr: "dep.status.conditions.exists(c, c.type == 'Ready'" }] }));
    const stalled = await bed.condition('rx-bad', 'Stalled', (c) => c.status === 'True', { timeoutMs: 30_000 });
    assert.equal(stalled.reason, 'InvalidReadyExpr');
    assert.match(stalled.message, /dependency 'default\/base': readyExpr .* does not parse/);
    const st = (await bed.get('kustomization', 'rx-bad')).status;
    assert.deepEqual([condOf(st, 'Ready')?.status, condOf(st, 'Ready')?.reason], ['False', 'InvalidReadyExpr']);
    assert.equal(condOf(st, 'Reconciling'), undefined, 'stalled: not retried');
  });

  it('dependsOn kind HelmRelease: goes on once its status says Ready for its generation', async () => {
    await bed.apply({
      apiVersion: 'gitops.toolkit/v1',
      kind: 'HelmRelease',
      metadata: { name: 'hr', namespace: 'default' },
      spec: { interval: '1h', chart: { spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'charts' } } } },
    });
    await bed.kustomization('hr-dep', fromShared('hr-dep', { dependsOn: [{ kind: 'HelmRelease', name: 'hr' }] }));
    await waitingOn('hr-dep', "dependency 'HelmRelease/default/hr' is not ready");
    assert.equal((await bed.get('helmrelease', 'hr')).status?.conditions, undefined, 'no controller writes the HelmRelease status');

    // Ready=True, but of an older generation than the object's: still not ready.
    const hr = await bed.get('helmrelease', 'hr');
    const status = (observedGeneration: number) =>
      JSON.stringify({ status: { observedGeneration, conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'installed by hand', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } });
    await bed.k(['patch', 'helmrelease/hr', '--subresource=status', '--type=merge', '-p', status(hr.metadata.generation - 1)]);
    const token = `old-generation-${Date.now()}`;
    await bed.k(['annotate', 'kustomization/hr-dep', '--overwrite', `gitops.toolkit/requestedAt=${token}`]);
    const after = await eventually(async () => {
      const st = (await bed.get('kustomization', 'hr-dep')).status;
      return st?.lastHandledReconcileAt === token && st;
    }, 30_000, () => 'the reconcile request was not handled');
    const ready = condOf(after, 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'DependencyNotReady'], JSON.stringify(ready));
    assert.match(ready!.message, /dependency 'HelmRelease\/default\/hr' is not ready/);
    assert.equal(await bed.exists('configmap', 'hr-dep-cm'), false);

    const since = Date.now();
    await bed.k(['patch', 'helmrelease/hr', '--subresource=status', '--type=merge', '-p', status(hr.metadata.generation)]);
    await readySoonAfter('hr-dep', since);
    assert.equal(await bed.exists('configmap', 'hr-dep-cm'), true);
  });

  it('dependsOn kind GitRepository: missing, then fetched', async () => {
    await bed.kustomization('gr-dep', fromShared('gr-dep', { dependsOn: [{ kind: 'GitRepository', name: 'gr-later' }] }));
    await waitingOn('gr-dep', "dependency 'GitRepository/default/gr-later' not found");
    await bed.source('gr-later', { 'x.yaml': cm('unused') });
    await bed.ready('gr-later', { kind: 'gitrepository', timeoutMs: 30_000 });
    await readySoonAfter('gr-dep', Date.now());
  });

  it('a dependency cycle stalls both members naming the cycle; breaking it lets both reconcile', async () => {
    await bed.kustomization('cyc-a', fromShared('cyc-a', { dependsOn: [{ name: 'cyc-b' }] }));
    await bed.kustomization('cyc-b', fromShared('cyc-b', { dependsOn: [{ name: 'cyc-a' }] }));
    for (const [name, cycle] of [
      ['cyc-a', 'default/cyc-a -> default/cyc-b -> default/cyc-a'],
      ['cyc-b', 'default/cyc-b -> default/cyc-a -> default/cyc-b'],
    ]) {
      const stalled = await bed.condition(name!, 'Stalled', (c) => c.status === 'True', { timeoutMs: 30_000 });
      assert.equal(stalled.reason, 'DependencyCycle');
      assert.equal(stalled.message, `dependency cycle: ${cycle}`);
      const ready = condOf((await bed.get('kustomization', name!)).status, 'Ready');
      assert.deepEqual([ready?.status, ready?.reason], ['False', 'DependencyCycle']);
    }
    assert.equal(await bed.exists('configmap', 'cyc-a-cm'), false);

    await bed.k(['patch', 'kustomization/cyc-b', '--type=json', '-p', '[{"op":"remove","path":"/spec/dependsOn"}]']);
    await bed.ready('cyc-b', { timeoutMs: 30_000 });
    // cyc-a stalled (not retried), yet is woken by cyc-b's change.
    await readySoonAfter('cyc-a', Date.now());
    const st = (await bed.get('kustomization', 'cyc-a')).status;
    assert.equal(condOf(st, 'Stalled'), undefined);
    assert.equal(await bed.exists('configmap', 'cyc-a-cm'), true);
  });
});
