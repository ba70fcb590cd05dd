// Kustomization reconciliation as kustomize-controller does it, as steps of the shared runtime:
// check the spec → dependsOn → the source's artifact → build → staged server-side apply → prune what
// left the inventory → wait for health. Each step that fails says why in a condition; what was applied
// before a failure is kept in the inventory, so the next reconcile can finish or prune it.

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { KubeObject } from '../../apis/meta/types.js';
import { GROUP, VERSION } from '../../apis/v1/common.js';
import { SOURCE_KINDS, type KustomizationSpec, type ReconcileSnapshot, type ResourceInventory } from '../../apis/v1/kustomization.js';
import { applyAll, ApplyError, type ChangeSet } from '../../apply/ssa/index.js';
import { diff as inventoryDiff, finalizeInventory, inventoryOf, normalize, prune, refOf, summarize } from '../../apply/inventory/index.js';
import type { KubeClient, ObjectRef } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import type { Logger } from '../../observability/logger.js';
import { rfc3339 } from '../../registry/meta.js';
import { dependencyKey, type ReconcilerDefinition, type StepContext } from '../runtime/controller.js';
import { ReconcileError, StallingError } from '../runtime/errors.js';
import { checkDependencies, dependencyKeys } from './dependencies.js';
import { HEALTHY, healthRefs, waitHealthy } from './health.js';
import { checkRenderable, render, resolveSource, sourceRefOf, type RenderDeps, type SourceArtifact } from './render.js';
import { TargetClients } from './target.js';

export const FINALIZER = 'gitops.toolkit/finalizer';

export interface KustomizationDeps extends RenderDeps {
  events?: EventRecorder;
  /** --default-service-account: impersonated when a Kustomization names none (Flux's lockdown flag). */
  defaultServiceAccount?: string;
  /** Health polling interval (default 2 s). */
  healthPollMs?: number;
}

interface KsState {
  started: number;
  client?: KubeClient;
  source?: KubeObject;
  artifact?: SourceArtifact;
  objects?: KubeObject[];
  changeSet?: ChangeSet;
  inventory?: ResourceInventory;
}

type Ctx = StepContext<KsState>;
const specOf = (ctx: Ctx) => ctx.obj.spec as unknown as KustomizationSpec;
const owner = (obj: KubeObject) => ({ name: obj.metadata.name!, namespace: obj.metadata.namespace! });
const HISTORY = 5;

/** The objects of an inventory as references for reads. */
const refsOf = (inv: ResourceInventory | undefined): ObjectRef[] => (inv?.entries ?? []).map(refOf);

/** What a reconcile records as applied: a digest of the objects, as Flux's history keys its entries. */
function digestOf(objects: KubeObject[]): string {
  const h = createHash('sha256');
  for (const o of objects) h.update(JSON.stringify(o));
  return `sha256:${h.digest('hex')}`;
}

function recordHistory(status: Record<string, unknown>, digest: string, revision: string, startedMs: number, result: string): void {
  const now = rfc3339();
  const history = ((status.history as ReconcileSnapshot[] | undefined) ?? []).slice();
  const duration = `${((Date.now() - startedMs) / 1000).toFixed(3)}s`;
  const first = history[0];
  if (first && first.digest === digest) {
    history[0] = { ...first, lastReconciled: now, lastReconciledDuration: duration, lastReconciledStatus: result, totalReconciliations: first.totalReconciliations + 1, metadata: { revision } };
  } else {
    history.unshift({ digest, firstReconciled: now, lastReconciled: now, lastReconciledDuration: duration, lastReconciledStatus: result, totalReconciliations: 1, metadata: { revision } });
  }
  status.history = history.slice(0, HISTORY);
}

export function kustomizationReconciler(d: KustomizationDeps): ReconcilerDefinition<KsState> {
  const targets = new TargetClients(d.cluster, { requeueMs: d.requeueDependencyMs, defaultServiceAccount: d.defaultServiceAccount });
  let workDirReady: Promise<unknown> | undefined;

  async function checkSpec(ctx: Ctx): Promise<void> {
    checkRenderable(d, ctx.obj);
    ctx.state.client = await targets.clientFor(ctx.obj);
  }

  async function dependencies(ctx: Ctx): Promise<void> {
    await checkDependencies(d.stores, ctx.obj, d.requeueDependencyMs, { noCrossNamespaceRefs: d.noCrossNamespaceRefs });
  }

  async function source(ctx: Ctx): Promise<void> {
    const { source, artifact } = await resolveSource(d, ctx.obj);
    ctx.state.source = source;
    ctx.state.artifact = artifact;
    ctx.status.lastAttemptedRevision = artifact.revision;
    ctx.fields.revision = artifact.revision;
  }

  async function build(ctx: Ctx): Promise<void> {
    workDirReady ??= mkdir(d.workDir, { recursive: true });
    await workDirReady;
    const rendered = await render(d, ctx.obj, { source: ctx.state.source!, artifact: ctx.state.artifact! }, ctx.signal);
    ctx.state.objects = rendered.objects;
  }

  async function apply(ctx: Ctx): Promise<void> {
    const spec = specOf(ctx);
    const previous = ctx.status.inventory as ResourceInventory | undefined;
    let changeSet: ChangeSet;
    try {
      changeSet = await applyAll(ctx.state.client!, ctx.state.objects!, { force: spec.force, ignore: spec.ignore, signal: ctx.signal });
    } catch (e) {
      if (e instanceof ApplyError) {
        // Keep what was applied before the failure in the inventory, so a later reconcile prunes it if it leaves Git.
        ctx.status.inventory = { entries: normalize([...(previous?.entries ?? []), ...inventoryOf(appliedObjects(e.changeSet)).entries]) };
        throw new ReconcileError(e.message, e.reason === 'Immutable' ? 'ImmutableFieldChanged' : 'ReconciliationFailed');
      }
      throw e;
    }
    ctx.state.changeSet = changeSet;
    const inventory = inventoryOf(appliedObjects(changeSet));
    ctx.state.inventory = inventory;
    const counts = { created: 0, configured: 0, unchanged: 0, skipped: 0 };
    for (const e of changeSet.entries) counts[e.action]++;
    Object.assign(ctx.fields, counts);
    const changed = changeSet.entries.filter((e) => e.action === 'created' || e.action === 'configured');
    if (changed.length) d.events?.event(ctx.obj, 'Normal', 'Progressing', changed.map((e) => `${e.ref} ${e.action}${e.recreated ? ' (recreated)' : ''}`).join('\n'));

    if (spec.prune) {
      const stale = inventoryDiff(previous, inventory);
      if (stale.length) {
        const results = await prune(ctx.state.client!, stale, { owner: owner(ctx.obj), signal: ctx.signal });
        const failed = results.filter((r) => r.action === 'failed');
        ctx.fields.pruned = results.filter((r) => r.action === 'deleted').length;
        const deleted = results.filter((r) => r.action === 'deleted');
        if (deleted.length) d.events?.event(ctx.obj, 'Normal', 'Progressing', deleted.map((r) => `${r.ref} deleted`).join('\n'));
        if (failed.length) {
          ctx.status.inventory = { entries: normalize([...inventory.entries, ...failed.map((r) => r.entry)]) };
          throw new ReconcileError(`prune failed: ${summarize(results)}`, 'PruneFailed');
        }
      } else ctx.fields.pruned = 0;
    }
    ctx.status.inventory = inventory;
  }

  async function health(ctx: Ctx): Promise<void> {
    const spec = specOf(ctx);
    const revision = ctx.state.artifact!.revision;
    const applied = refsOf(ctx.state.inventory);
    const refs = healthRefs(spec, ctx.obj.metadata.namespace!, applied);
    if (refs.length) {
      ctx.conditions.set({ type: HEALTHY, status: 'Unknown', reason: 'Progressing', message: 'health check in progress' });
      const srcRef = sourceRefOf(ctx.obj);
      let message: string;
      try {
        message = await waitHealthy({
          client: ctx.state.client!,
          stores: d.stores,
          refs,
          exprs: spec.healthCheckExprs?.map((e) => ({ ...e, kind: e.kind ?? '' })),
          signal: ctx.signal,
          pollMs: d.healthPollMs ?? 2000,
          progress: ctx.progress,
          superseded: async () => {
            const now = await d.stores.forKind(GROUP, VERSION, srcRef.kind).get(srcRef.namespace, srcRef.name).catch(() => undefined);
            const rev = (now?.status?.artifact as SourceArtifact | undefined)?.revision;
            return !!rev && rev !== revision;
          },
        });
      } catch (e) {
        const err = e as Error & { reason?: string };
        if (err.reason === 'HealthCheckFailed') ctx.conditions.set({ type: HEALTHY, status: 'False', reason: 'HealthCheckFailed', message: err.message });
        throw e;
      }
      ctx.conditions.set({ type: HEALTHY, status: 'True', reason: 'Succeeded', message });
    } else ctx.conditions.delete(HEALTHY);

    ctx.status.lastAppliedRevision = revision;
    const origin = ctx.state.artifact!.metadata?.['org.opencontainers.image.revision'];
    if (origin) ctx.status.lastAppliedOriginRevision = origin;
    else delete ctx.status.lastAppliedOriginRevision;
    recordHistory(ctx.status, digestOf(ctx.state.objects!), revision, ctx.state.started, 'ReconciliationSucceeded');
    ctx.ready = { reason: 'ReconciliationSucceeded', message: `Applied revision: ${revision}` };
  }

  return {
    kind: 'Kustomization',
    finalizer: FINALIZER,
    // Flux's default: spec.timeout falls back to spec.interval.
    timeoutDefaultsToInterval: true,
    defaultTimeoutMs: 5 * 60_000,
    newState: () => ({ started: Date.now() }),
    steps: [checkSpec, dependencies, source, build, apply, health],
    // As Flux: an attempt that got as far as a build is recorded in history with its failure reason.
    failed(ctx, reason) {
      if (ctx.state.objects && ctx.state.artifact) recordHistory(ctx.status, digestOf(ctx.state.objects), ctx.state.artifact.revision, ctx.state.started, reason);
    },
    dependencies: {
      refs: (obj) => {
        const src = sourceRefOf(obj);
        return [dependencyKey(src.kind, src.namespace, src.name), ...dependencyKeys(obj)];
      },
      // A source's new artifact, or a dependency's change of readiness, wakes what points at it.
      watch: [...SOURCE_KINDS, 'Kustomization', 'HelmRelease', 'HelmRepository', 'HelmChart']
        .filter((k, i, all) => all.indexOf(k) === i)
        .map((kind) => ({ store: d.stores.forKind(GROUP, VERSION, kind), fingerprint: readinessFingerprint })),
    },
    async finalize(obj: KubeObject, log: Logger) {
      const spec = obj.spec as unknown as KustomizationSpec;
      const inventory = (obj.status?.inventory as ResourceInventory | undefined) ?? undefined;
      if (spec.suspend || !inventory?.entries.length) return; // as Flux: a suspended Kustomization's objects are left
      let client: KubeClient;
      try {
        client = await targets.clientFor(obj);
      } catch (e) {
        // Holding the deletion until the cluster returns could hold it forever (a cluster gone for good);
        // the objects are left and the user is told, in the log and in an Event.
        const message = `the applied objects were left in place: ${(e as Error).message}`;
        log.warn('objects left in place: the target cluster cannot be used', { err: (e as Error).message });
        d.events?.event(obj, 'Warning', 'FinalizeSkipped', message);
        return;
      }
      const result = await finalizeInventory(client, inventory, spec.deletionPolicy, { owner: owner(obj), prune: spec.prune });
      log.info('finalized inventory', { policy: result.policy, message: result.message });
      d.events?.event(obj, result.results.some((r) => r.action === 'failed') ? 'Warning' : 'Normal', 'Finalized', result.message);
    },
  };
}

/** What of a dependency or source wakes its dependents: readiness, its generation, a new artifact or applied revision. */
function readinessFingerprint(o: KubeObject): string {
  const s = (o.status ?? {}) as { conditions?: { type: string; status: string }[]; observedGeneration?: number; artifact?: { digest?: string }; lastAppliedRevision?: string };
  const ready = s.conditions?.find((c) => c.type === 'Ready')?.status ?? '';
  return `${ready}|${s.observedGeneration ?? ''}|${o.metadata.generation ?? ''}|${s.artifact?.digest ?? ''}|${s.lastAppliedRevision ?? ''}`;
}

/** The objects of a change set (namespaces as the applier resolved them), for the inventory. */
function appliedObjects(changeSet: ChangeSet): KubeObject[] {
  return changeSet.entries.map((e) => ({ apiVersion: e.apiVersion, kind: e.kind, metadata: { name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) } }) as KubeObject);
}
