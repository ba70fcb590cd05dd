// The shared controller runtime. A controller watches one kind in the store (no polling), queues
// keys, and runs the kind's steps with per-kind concurrency. The runtime owns everything around the
// steps: finalizers and deletion, suspend, the requestedAt annotation, timeouts, typed per-reconcile
// state, turning typed errors into kstatus conditions, the condition summary (Ready computed once from
// the error and the kind's negative-polarity conditions), progress writes during long steps, writing
// status at the end of each reconcile, requeueing at spec.interval with jitter or after a failure
// (spec.retryInterval, else backoff), and enqueueing the objects that depend on objects of other kinds.

import type { KubeObject } from '../../apis/meta/types.js';
import { parseGoDuration } from '../../apis/v1/common.js';
import type { EventRecorder } from '../../kube/events.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { StatusError } from '../../apis/meta/errors.js';
import type { ResourceStore, WriteContext } from '../../registry/store.js';
import { cloneJSON } from '../../registry/limits.js';
import { watchStore } from '../../registry/watch-store.js';
import { Conditions, READY, RECONCILING, STALLED } from './conditions.js';
import { ReconcileError, StallingError, WaitingError } from './errors.js';
import { WorkQueue } from './queue.js';

export const REQUESTED_AT = 'gitops.toolkit/requestedAt';
/** Flux's spelling (what `flux reconcile` sets), honoured too so Flux users' tooling keeps working. */
export const FLUX_REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

/** Both annotations' values, the change token for "reconcile now". */
const requestToken = (obj: KubeObject) => `${obj.metadata.annotations?.[REQUESTED_AT] ?? ''}\n${obj.metadata.annotations?.[FLUX_REQUESTED_AT] ?? ''}`;

/** The request being handled: whichever annotation differs from the last one handled (ours when both do). */
function requestedAt(obj: KubeObject, lastHandled: unknown): string | undefined {
  const asked = [obj.metadata.annotations?.[REQUESTED_AT], obj.metadata.annotations?.[FLUX_REQUESTED_AT]].filter((v): v is string => !!v);
  return asked.find((v) => v !== lastHandled) ?? asked[0];
}

export interface StepContext<S = unknown> {
  obj: KubeObject;
  /** What the steps of this reconcile hand to each other (the definition's `newState()`). */
  state: S;
  /**
   * Writes Reconciling=True (reason Progressing) and Ready=Unknown with `message` at once, for a step
   * that takes long (a health check): `kubectl get` shows what is being waited for.
   */
  progress(message: string): Promise<void>;
  /** The status being built; the runtime writes it once at the end. */
  status: Record<string, unknown>;
  conditions: Conditions;
  /** Aborts at spec.timeout and when the controller stops. */
  signal: AbortSignal;
  log: Logger;
  /** What Ready=True says when every step passed; steps set it (e.g. "stored artifact for revision …"). */
  ready: { reason: string; message: string };
  /** Log fields a step wants on the reconcile's log line (e.g. the revision). */
  fields: Record<string, unknown>;
}

export type Step<S = unknown> = (ctx: StepContext<S>) => Promise<void>;

/**
 * Objects of other kinds (or of this one) that objects of this kind depend on, so that a change that
 * matters there (a source's new artifact revision, a dependency turning Ready) reconciles the
 * dependents at once instead of at their next interval.
 */
export interface Dependencies {
  /** The keys (`Kind/namespace/name`, see dependencyKey) an object of this kind depends on. */
  refs(obj: KubeObject): string[];
  /** The stores watched, each with the part of an object whose change wakes its dependents. */
  watch: { store: ResourceStore; fingerprint(obj: KubeObject): string }[];
}

export const dependencyKey = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

export interface ReconcilerDefinition<S = unknown> {
  kind: string;
  /** Held on each object until `finalize` ran; none for a reconciler that owns nothing outside the object. */
  finalizer?: string;
  steps: Step<S>[];
  /** A fresh per-reconcile state for the steps (typed, instead of a side channel keyed by the context). */
  newState?(): S;
  /**
   * The kind's negative-polarity conditions (FetchFailed, HealthCheckFailed…): each says something is
   * wrong while True. They hold for one reconcile only: cleared when a reconcile starts and set again by
   * the step that still finds the problem, so none outlives its cause beside Ready=True. One left True
   * by steps that did not throw makes Ready False with its reason and message.
   */
  negativeConditions?: string[];
  dependencies?: Dependencies;
  /** Called with the reconcile's context when a step failed, before status is written (a kind's own failure record, e.g. history). */
  failed?(ctx: StepContext<S>, reason: string, err: Error): void;
  /** Cleans up what the object owns outside the store (artifacts, applied objects) before it goes. */
  finalize(obj: KubeObject, log: Logger): Promise<void>;
  /** spec.timeout default when the object has none. */
  defaultTimeoutMs?: number;
  /** Without spec.timeout, a reconcile may take spec.interval (Flux's rule for Kustomizations and HelmReleases). */
  timeoutDefaultsToInterval?: boolean;
}

export interface ControllerOptions {
  store: ResourceStore;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each definition's own state type
  reconciler: ReconcilerDefinition<any>;
  concurrency: number;
  log: Logger;
  metrics?: Metrics;
  /** Base and cap of the failure backoff. */
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  /** Kubernetes Events about outcomes (a new Ready message, a failure); none standalone. */
  events?: EventRecorder;
}

interface Seen {
  generation?: number;
  requestedAt?: string;
  deleting: boolean;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;

/** Up to 10% more than the interval, so objects created together do not stay in lockstep. */
export const jittered = (ms: number) => Math.round(ms * (1 + Math.random() * 0.1));

export class Controller {
  private readonly queue: WorkQueue;
  private readonly seen = new Map<string, Seen>();
  /** dependency key → keys of this kind's objects that name it. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly refsOf = new Map<string, string[]>();
  private readonly stopping = new AbortController();
  private readonly running: Promise<void>[] = [];
  private readonly ctx: WriteContext;
  private readonly log: Logger;

  constructor(private readonly o: ControllerOptions & { reconciler: ReconcilerDefinition<any> }) {
    this.queue = new WorkQueue(o.backoff);
    this.log = o.log.child({ controller: o.reconciler.kind });
    this.ctx = { dryRun: false, fieldManager: `gitops-toolkit-${o.reconciler.kind.toLowerCase()}-controller`, fieldValidation: 'Ignore', warnings: [] };
  }

  start(): void {
    this.running.push(this.watchLoop());
    for (const w of this.o.reconciler.dependencies?.watch ?? []) this.running.push(this.watchDependencies(w));
    for (let i = 0; i < this.o.concurrency; i++) this.running.push(this.worker());
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.queue.shutdown();
    await Promise.allSettled(this.running);
  }

  /** Queue depth, for metrics and tests. */
  depth(): number {
    return this.queue.len();
  }

  /** Reconcile on create, on a spec change (generation), a new requestedAt, or a deletion. */
  private observe(type: string, obj: KubeObject): void {
    const key = keyOf(obj);
    this.index(key, type === 'DELETED' ? [] : (this.o.reconciler.dependencies?.refs(obj) ?? []));
    if (type === 'DELETED') {
      this.seen.delete(key);
      return;
    }
    const now: Seen = { generation: obj.metadata.generation, requestedAt: requestToken(obj), deleting: !!obj.metadata.deletionTimestamp };
    const before = this.seen.get(key);
    this.seen.set(key, now);
    if (!before || before.generation !== now.generation || before.requestedAt !== now.requestedAt || (now.deleting && !before.deleting)) this.queue.add(key);
  }

  private watchLoop(): Promise<void> {
    return watchStore(this.o.store, (type, obj) => this.observe(type, obj), this.stopping.signal, this.log);
  }

  /** Keeps the reverse index of what `key` depends on. */
  private index(key: string, refs: string[]): void {
    for (const r of this.refsOf.get(key) ?? []) {
      const set = this.dependents.get(r);
      set?.delete(key);
      if (set?.size === 0) this.dependents.delete(r);
    }
    if (refs.length) this.refsOf.set(key, refs);
    else this.refsOf.delete(key);
    for (const r of refs) {
      let set = this.dependents.get(r);
      if (!set) this.dependents.set(r, (set = new Set()));
      set.add(key);
    }
  }

  /** Wakes the dependents of an object of a watched kind when its fingerprint changes (or it appears or goes). */
  private watchDependencies(w: Dependencies['watch'][number]): Promise<void> {
    const last = new Map<string, string>();
    return watchStore(
      w.store,
      (type, obj) => {
        const ref = dependencyKey(w.store.def.kind, obj.metadata.namespace, obj.metadata.name!);
        const print = type === 'DELETED' ? undefined : w.fingerprint(obj);
        if (print === undefined) last.delete(ref);
        else if (last.get(ref) === print) return;
        else last.set(ref, print);
        for (const key of this.dependents.get(ref) ?? []) if (key !== keyOf(obj) || w.store !== this.o.store) this.queue.add(key);
      },
      this.stopping.signal,
      this.log,
    );
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.o.metrics?.queueDepth.set({ kind: this.o.reconciler.kind }, this.queue.len());
      try {
        await this.reconcileKey(key);
      } catch (e) {
        this.log.error('reconcile crashed', { err: e, key });
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    const started = performance.now();
    const kind = this.o.reconciler.kind;
    let obj: KubeObject;
    try {
      obj = await this.o.store.get(namespace, name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return this.queue.forget(key); // gone
      throw e;
    }
    const log = this.log.child({ kind, namespace, name });
    const finish = (result: string, fields: Record<string, unknown> = {}) => {
      const seconds = (performance.now() - started) / 1000;
      this.o.metrics?.reconcileDuration.observe({ kind, result }, seconds);
      this.o.metrics?.reconcileTotal.inc({ kind, result });
      log.info('reconciled', { result, durationMs: Math.round(seconds * 1000), ...fields });
    };

    const finalizer = this.o.reconciler.finalizer;
    if (obj.metadata.deletionTimestamp) {
      if (finalizer && obj.metadata.finalizers?.includes(finalizer)) {
        await this.o.reconciler.finalize(obj, log);
        await this.patchMeta(obj, { finalizers: obj.metadata.finalizers.filter((f) => f !== finalizer) });
      }
      this.queue.forget(key);
      return finish('deleted');
    }
    if (finalizer && !obj.metadata.finalizers?.includes(finalizer)) {
      obj = await this.patchMeta(obj, { finalizers: [...(obj.metadata.finalizers ?? []), finalizer] });
    }
    const spec = (obj.spec ?? {}) as { suspend?: boolean; interval?: string; timeout?: string };
    if (spec.suspend) {
      this.queue.forget(key);
      return finish('suspended');
    }

    const generation = obj.metadata.generation ?? 0;
    const previous = (obj.status ?? {}) as Record<string, unknown>;
    const status: Record<string, unknown> = cloneJSON(previous);
    const conditions = new Conditions(previous.conditions as never, generation);
    const negative = this.o.reconciler.negativeConditions ?? [];
    for (const t of negative) conditions.delete(t);
    const asked = requestedAt(obj, previous.lastHandledReconcileAt);
    if (asked) status.lastHandledReconcileAt = asked;
    const timeoutMs =
      parseGoDuration(spec.timeout ?? '') ?? (this.o.reconciler.timeoutDefaultsToInterval ? parseGoDuration(spec.interval ?? '') : undefined) ?? this.o.reconciler.defaultTimeoutMs ?? 60_000;
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(timeoutMs)]);
    const progress = async (message: string) => {
      conditions.set({ type: RECONCILING, status: 'True', reason: 'Progressing', message });
      conditions.set({ type: READY, status: 'Unknown', reason: 'Progressing', message });
      await this.writeStatus(obj, { ...status, conditions: conditions.toArray() });
    };
    const ctx: StepContext = {
      obj,
      state: this.o.reconciler.newState?.(),
      progress,
      status,
      conditions,
      signal,
      log,
      ready: { reason: 'Succeeded', message: 'reconciliation succeeded' },
      fields: {},
    };

    let result: string;
    let requeueMs: number | undefined;
    let rateLimited = false; // already queued by the backoff
    try {
      for (const step of this.o.reconciler.steps) {
        if (signal.aborted) throw new ReconcileError(`reconciliation timed out after ${timeoutMs / 1000}s`, 'ReconciliationTimeout');
        await step(ctx);
      }
      const degraded = negative.map((t) => conditions.get(t)).find((c) => c?.status === 'True');
      if (degraded) throw new ReconcileError(degraded.message, degraded.reason);
      const before = conditions.get(READY);
      conditions.set({ type: READY, status: 'True', ...ctx.ready });
      if (before?.status !== 'True' || before.message !== ctx.ready.message) this.o.events?.event(obj, 'Normal', ctx.ready.reason, ctx.ready.message);
      conditions.delete(RECONCILING);
      conditions.delete(STALLED);
      result = 'success';
      this.queue.forget(key);
      requeueMs = jittered(parseGoDuration(spec.interval ?? '') ?? 600_000);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const reason = (err as { reason?: string }).reason ?? (signal.aborted ? 'ReconciliationTimeout' : 'ReconciliationFailed');
      const own = (err as { condition?: string }).condition;
      if (own) conditions.set({ type: own, status: 'True', reason, message: err.message });
      conditions.set({ type: READY, status: 'False', reason, message: err.message });
      if (err instanceof StallingError) {
        conditions.set({ type: STALLED, status: 'True', reason, message: err.message });
        conditions.delete(RECONCILING);
        result = 'stalled';
        this.queue.forget(key);
      } else if (err instanceof WaitingError) {
        conditions.set({ type: RECONCILING, status: 'True', reason: 'ProgressingWithRetry', message: err.message });
        conditions.delete(STALLED);
        result = 'waiting';
        requeueMs = err.requeueAfterMs;
      } else {
        conditions.set({ type: RECONCILING, status: 'True', reason: 'ProgressingWithRetry', message: err.message });
        conditions.delete(STALLED);
        result = 'error';
        if (!(err instanceof ReconcileError)) log.error('reconcile step failed', { err });
        // spec.retryInterval, where the kind has one, replaces the backoff (Flux's kustomize-controller).
        const retry = parseGoDuration((spec as { retryInterval?: string }).retryInterval ?? '');
        if (retry) {
          this.queue.forget(key);
          requeueMs = jittered(retry);
        } else {
          requeueMs = this.queue.addRateLimited(key);
          rateLimited = true;
        }
      }
      ctx.fields.error = err.message;
      this.o.reconciler.failed?.(ctx, reason, err);
      this.o.events?.event(obj, 'Warning', reason, err.message);
    }
    status.conditions = conditions.toArray();
    status.observedGeneration = generation;
    await this.writeStatus(obj, status);
    if (requeueMs !== undefined && !rateLimited) this.queue.addAfter(key, requeueMs);
    finish(result, { ...ctx.fields, ...(requeueMs !== undefined ? { requeueAfterMs: requeueMs } : {}) });
  }

  /** Finalizer changes, guarded by the resourceVersion read (a conflict retries the whole reconcile). */
  private async patchMeta(obj: KubeObject, meta: { finalizers: string[] }): Promise<KubeObject> {
    const patch = { metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: meta.finalizers } };
    const { object } = await this.o.store.patch(obj.metadata.namespace!, obj.metadata.name!, 'merge', patch, { ...this.ctx, warnings: [] });
    return object;
  }

  /** The one status write of a reconcile, through the status subresource. */
  private async writeStatus(obj: KubeObject, status: Record<string, unknown>): Promise<void> {
    try {
      await this.o.store.patch(obj.metadata.namespace!, obj.metadata.name!, 'json', [{ op: 'add', path: '/status', value: status }], { ...this.ctx, warnings: [] }, { subresource: 'status' });
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return; // deleted meanwhile
      throw e;
    }
  }
}
