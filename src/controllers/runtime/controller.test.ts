import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Condition, KubeObject } from '../../apis/meta/types.js';
import { gitRepository } from '../../apis/v1/git-repository.js';
import { kustomization } from '../../apis/v1/kustomization.js';
import { createLogger } from '../../observability/logger.js';
import { Metrics } from '../../observability/metrics.js';
import { ResourceStore, type WriteContext } from '../../registry/store.js';
import { openSqliteStorage, type SqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { Controller, dependencyKey, FLUX_REQUESTED_AT, REQUESTED_AT, type ReconcilerDefinition, type StepContext } from './controller.js';
import { ReconcileError, StallingError } from './errors.js';
import { eventually } from '../../../test/helpers/eventually.js';

const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'test', fieldValidation: 'Strict', warnings: [] });
const repo = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'gitops.toolkit/v1',
  kind: 'GitRepository',
  metadata: { name },
  spec: { interval: '1h', url: 'https://example.com/r.git', ...spec },
});

const ready = (o: KubeObject) => (o.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'Ready');

describe('controller runtime', () => {
  let storage: SqliteStorage;
  let store: ResourceStore;
  let controller: Controller;
  const calls: string[] = [];
  const finalized: string[] = [];
  const behaviour = new Map<string, (c: StepContext) => Promise<void>>();
  const metrics = new Metrics();

  before(() => {
    storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    store = new ResourceStore(gitRepository, storage);
    const reconciler: ReconcilerDefinition = {
      kind: 'GitRepository',
      finalizer: 'gitops.toolkit/test',
      steps: [
        async (c) => {
          calls.push(c.obj.metadata.name!);
          const b = behaviour.get(c.obj.metadata.name!);
          if (b) await b(c);
          c.ready = { reason: 'Succeeded', message: `done ${c.obj.metadata.generation}` };
        },
      ],
      finalize: async (o) => void finalized.push(o.metadata.name!),
    };
    controller = new Controller({ store, reconciler, concurrency: 2, log: createLogger('error'), metrics, backoff: { baseDelayMs: 50, maxDelayMs: 200 } });
    controller.start();
  });
  after(async () => {
    await controller.stop();
    await storage.close();
  });

  const get = (name: string) => store.get('default', name);
  const count = (name: string) => calls.filter((c) => c === name).length;

  it('adds its finalizer, runs the steps, and writes Ready with observedGeneration once', async () => {
    await store.create('default', repo('ok'), ctx());
    const o = await eventually(async () => {
      const o = await get('ok');
      return ready(o)?.status === 'True' && o;
    });
    assert.deepEqual(o.metadata.finalizers, ['gitops.toolkit/test']);
    assert.equal(o.status!.observedGeneration, 1);
    assert.equal(ready(o)!.message, 'done 1');
    assert.equal(count('ok'), 1, 'its own status and finalizer writes do not trigger another reconcile');
  });

  it('reconciles again on a spec change, not on a label change', async () => {
    const o = await get('ok');
    await store.patch('default', 'ok', 'merge', { metadata: { labels: { a: 'b' } } }, ctx());
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(count('ok'), 1);
    await store.patch('default', 'ok', 'merge', { spec: { interval: '2h' } }, ctx());
    const after = await eventually(async () => {
      const x = await get('ok');
      return x.status!.observedGeneration === 2 && x;
    });
    assert.equal(count('ok'), 2);
    assert.equal(ready(after)!.message, 'done 2');
    assert.equal(ready(after)!.lastTransitionTime, ready(o)!.lastTransitionTime, 'Ready stayed True: no transition');
  });

  it('the requestedAt annotation reconciles now and is echoed in lastHandledReconcileAt', async () => {
    await store.patch('default', 'ok', 'merge', { metadata: { annotations: { [REQUESTED_AT]: '12345' } } }, ctx());
    const o = await eventually(async () => {
      const x = await get('ok');
      return x.status!.lastHandledReconcileAt === '12345' && x;
    });
    assert.equal(count('ok'), 3);
    assert.ok(o);
  });

  it("Flux's reconcile.fluxcd.io/requestedAt (what `flux reconcile` sets) is honoured too", async () => {
    await store.patch('default', 'ok', 'merge', { metadata: { annotations: { [FLUX_REQUESTED_AT]: 'flux-1' } } }, ctx());
    await eventually(async () => (await get('ok')).status!.lastHandledReconcileAt === 'flux-1');
    assert.equal(count('ok'), 4);
    // ours again, with Flux's still set: the new one is what is handled
    await store.patch('default', 'ok', 'merge', { metadata: { annotations: { [REQUESTED_AT]: '67890' } } }, ctx());
    await eventually(async () => (await get('ok')).status!.lastHandledReconcileAt === '67890');
    assert.equal(count('ok'), 5);
  });

  it('requeues at spec.interval', async () => {
    await store.create('default', repo('fast', { interval: '300ms' }), ctx());
    await eventually(async () => count('fast') >= 3, 5000);
  });

  it('a stalling error sets Stalled and is not retried', async () => {
    behaviour.set('stuck', async () => {
      throw new StallingError('ssh is not supported', 'UnsupportedURL', 'FetchFailed');
    });
    await store.create('default', repo('stuck'), ctx());
    const o = await eventually(async () => {
      const x = await get('stuck');
      return ready(x)?.status === 'False' && x;
    });
    const conds = o.status!.conditions as { type: string; status: string; reason: string }[];
    assert.deepEqual(
      conds.map((c) => `${c.type}=${c.status}:${c.reason}`),
      ['Ready=False:UnsupportedURL', 'Stalled=True:UnsupportedURL', 'FetchFailed=True:UnsupportedURL'],
    );
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(count('stuck'), 1);
  });

  it('a failure is retried with backoff and Reconciling says so; success clears it', async () => {
    let failures = 2;
    behaviour.set('flaky', async () => {
      if (failures-- > 0) throw new ReconcileError('remote unreachable', 'GitOperationFailed', 'FetchFailed');
    });
    await store.create('default', repo('flaky'), ctx());
    const failed = await eventually(async () => {
      const x = await get('flaky');
      return ready(x)?.status === 'False' && x;
    });
    const conds = failed.status!.conditions as { type: string; status: string; reason: string }[];
    assert.ok(conds.some((c) => c.type === 'Reconciling' && c.status === 'True' && c.reason === 'ProgressingWithRetry'));
    const o = await eventually(async () => {
      const x = await get('flaky');
      return ready(x)?.status === 'True' && x;
    });
    assert.equal(count('flaky'), 3);
    const types = (o.status!.conditions as { type: string }[]).map((c) => c.type);
    assert.ok(!types.includes('Reconciling') && !types.includes('Stalled'));
    assert.ok(types.includes('FetchFailed'), 'a kind condition stays until the kind clears it');
  });

  it('spec.timeout aborts a slow step', async () => {
    behaviour.set('slow', async (c) => {
      await new Promise((resolve, reject) => {
        c.signal.addEventListener('abort', () => reject(new ReconcileError('aborted', 'ReconciliationTimeout')));
        setTimeout(resolve, 10_000).unref();
      });
    });
    await store.create('default', repo('slow', { timeout: '200ms' }), ctx());
    const o = await eventually(async () => {
      const x = await get('slow');
      return ready(x)?.status === 'False' && x;
    });
    assert.equal(ready(o)!.reason, 'ReconciliationTimeout');
    behaviour.delete('slow');
  });

  it('suspend stops reconciling', async () => {
    await store.create('default', repo('paused', { suspend: true }), ctx());
    await eventually(async () => (await get('paused')).metadata.finalizers?.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(count('paused'), 0);
    assert.equal(ready(await get('paused')), undefined);
  });

  it('deletion runs finalize, removes the finalizer, and the object goes', async () => {
    await store.delete('default', 'ok', {}, ctx());
    await eventually(async () => {
      try {
        await get('ok');
        return false;
      } catch {
        return true;
      }
    });
    assert.deepEqual(finalized, ['ok']);
  });

  it('records metrics by kind and result', async () => {
    const text = await metrics.registry.metrics();
    assert.match(text, /gitops_toolkit_reconcile_total\{kind="GitRepository",result="success"\} \d+/);
    assert.match(text, /gitops_toolkit_reconcile_total\{kind="GitRepository",result="stalled"\} 1/);
    assert.match(text, /gitops_toolkit_reconcile_duration_seconds_bucket/);
  });
});

describe('controller runtime: state, condition summary, progress, retryInterval, dependencies', () => {
  let storage: SqliteStorage;
  let store: ResourceStore;
  let sources: ResourceStore;
  let controller: Controller;
  const calls: string[] = [];
  const behaviour = new Map<string, (c: StepContext<{ seen: string[] }>) => Promise<void>>();

  before(() => {
    storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    store = new ResourceStore(kustomization, storage);
    sources = new ResourceStore(gitRepository, storage);
    const reconciler: ReconcilerDefinition<{ seen: string[] }> = {
      kind: 'Kustomization',
      newState: () => ({ seen: [] }),
      negativeConditions: ['FetchFailed', 'Degraded'],
      dependencies: {
        refs: (o) => ((o.spec as { dependsOn?: { name: string }[] }).dependsOn ?? []).map((d) => dependencyKey('GitRepository', o.metadata.namespace, d.name)),
        watch: [{ store: sources, fingerprint: (o) => String((o.spec as { url?: string }).url) }],
      },
      steps: [
        async (c) => {
          c.state.seen.push('first');
        },
        async (c) => {
          assert.deepEqual(c.state.seen, ['first'], 'each reconcile starts from a fresh state, shared by its steps');
          calls.push(c.obj.metadata.name!);
          await behaviour.get(c.obj.metadata.name!)?.(c);
        },
      ],
      finalize: async () => {},
    };
    controller = new Controller({ store, reconciler, concurrency: 2, log: createLogger('error'), backoff: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    controller.start();
  });
  after(async () => {
    await controller.stop();
    await storage.close();
  });
  const ks = (name: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'gitops.toolkit/v1',
    kind: 'Kustomization',
    metadata: { name },
    spec: { interval: '1h', prune: true, sourceRef: { kind: 'GitRepository', name: 'src' }, ...spec },
  });
  const get = (name: string) => store.get('default', name);
  const count = (name: string) => calls.filter((c) => c === name).length;
  const types = (o: KubeObject) => ((o.status?.conditions ?? []) as Condition[]).map((c) => `${c.type}=${c.status}`);

  it('a negative condition holds for one reconcile: it cannot stay beside Ready=True', async () => {
    let fail = true;
    behaviour.set('neg', async () => {
      if (fail) throw new ReconcileError('remote unreachable', 'GitOperationFailed', 'FetchFailed');
    });
    await store.create('default', ks('neg'), ctx());
    await eventually(async () => types(await get('neg')).includes('FetchFailed=True'));
    fail = false;
    await store.patch('default', 'neg', 'merge', { metadata: { annotations: { [REQUESTED_AT]: '1' } } }, ctx());
    const o = await eventually(async () => {
      const x = await get('neg');
      return ready(x)?.status === 'True' && x;
    });
    assert.deepEqual(types(o), ['Ready=True']);
  });

  it('a negative condition left True by steps that did not throw makes Ready False with its reason', async () => {
    behaviour.set('degraded', async (c) => {
      c.conditions.set({ type: 'Degraded', status: 'True', reason: 'HalfDone', message: 'two of three applied' });
    });
    await store.create('default', ks('degraded'), ctx());
    const o = await eventually(async () => {
      const x = await get('degraded');
      return ready(x)?.status === 'False' && x;
    });
    assert.equal(ready(o)!.reason, 'HalfDone');
    assert.equal(ready(o)!.message, 'two of three applied');
  });

  it('progress() writes Reconciling and Ready=Unknown with the message while a step runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    behaviour.set('slow', async (c) => {
      await c.progress('waiting for Deployment/default/web');
      await gate;
    });
    await store.create('default', ks('slow'), ctx());
    const during = await eventually(async () => {
      const x = await get('slow');
      return ready(x)?.status === 'Unknown' && x;
    });
    assert.equal(ready(during)!.message, 'waiting for Deployment/default/web');
    assert.ok(types(during).includes('Reconciling=True'));
    release();
    const o = await eventually(async () => {
      const x = await get('slow');
      return ready(x)?.status === 'True' && x;
    });
    assert.deepEqual(types(o), ['Ready=True']);
  });

  it('spec.retryInterval replaces the backoff after a failure', async () => {
    behaviour.set('retry', async () => {
      throw new ReconcileError('not yet', 'HealthCheckFailed');
    });
    // The backoff here is a minute: only retryInterval can bring the next attempts this soon.
    await store.create('default', ks('retry', { retryInterval: '200ms' }), ctx());
    await eventually(async () => count('retry') >= 3, 5000);
  });

  it('a change of a watched object of another kind reconciles its dependents at once', async () => {
    await store.create('default', ks('dependent', { dependsOn: [{ name: 'src' }] }), ctx());
    await store.create('default', ks('bystander'), ctx());
    await eventually(async () => count('dependent') === 1 && count('bystander') === 1);
    await sources.create('default', repo('src'), ctx());
    await eventually(async () => count('dependent') === 2, 3000);
    await sources.patch('default', 'src', 'merge', { metadata: { labels: { a: 'b' } } }, ctx());
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(count('dependent'), 2, 'a change outside the fingerprint wakes nobody');
    await sources.patch('default', 'src', 'merge', { spec: { url: 'https://example.com/new.git' } }, ctx());
    await eventually(async () => count('dependent') === 3, 3000);
    assert.equal(count('bystander'), 1);
    // The index follows the dependent's spec: once it names nothing, a source change leaves it alone.
    await store.patch('default', 'dependent', 'json', [{ op: 'remove', path: '/spec/dependsOn' }], ctx());
    await eventually(async () => count('dependent') === 4, 3000);
    await sources.patch('default', 'src', 'merge', { spec: { url: 'https://example.com/newer.git' } }, ctx());
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(count('dependent'), 4);
  });
});

describe('controller runtime: timeoutDefaultsToInterval', () => {
  it('without spec.timeout a reconcile is bounded by spec.interval', async () => {
    const storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    const store = new ResourceStore(kustomization, storage);
    const reconciler: ReconcilerDefinition = {
      kind: 'Kustomization',
      timeoutDefaultsToInterval: true,
      defaultTimeoutMs: 60_000,
      steps: [
        (c) =>
          new Promise((_, reject) => {
            c.signal.addEventListener('abort', () => reject(new ReconcileError('waited too long', 'HealthCheckFailed')));
          }),
      ],
      finalize: async () => {},
    };
    const controller = new Controller({ store, reconciler, concurrency: 1, log: createLogger('error') });
    controller.start();
    try {
      await store.create('default', { apiVersion: 'gitops.toolkit/v1', kind: 'Kustomization', metadata: { name: 'k' }, spec: { interval: '300ms', prune: false, sourceRef: { kind: 'GitRepository', name: 's' } } }, ctx());
      const o = await eventually(async () => {
        const x = await store.get('default', 'k');
        return ready(x)?.status === 'False' && x;
      }, 5000);
      assert.equal(ready(o)!.reason, 'HealthCheckFailed');
    } finally {
      await controller.stop();
      await storage.close();
    }
  });
});
