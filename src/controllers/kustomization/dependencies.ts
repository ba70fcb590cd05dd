// dependsOn, as kustomize-controller checks it, and beyond: an entry may name another kind of this API
// (a HelmRelease, a source) with `kind`. A dependency is ready when its Ready condition is True for its
// current generation — or when its `readyExpr` (CEL over `self` and `dep`) says so — and, for a
// Kustomization built from the same source, once it applied the revision this one is about to apply.
// A cycle through dependsOn stalls every member with a message naming the cycle.

import type { Condition, KubeObject } from '../../apis/meta/types.js';
import { GROUP, VERSION } from '../../apis/v1/common.js';
import type { DependencyReference, KustomizationSpec } from '../../apis/v1/kustomization.js';
import { StatusError } from '../../apis/meta/errors.js';
import { evaluateReadyExpr, ReadyExprError } from '../../apply/health/index.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import { dependencyKey } from '../runtime/controller.js';
import { StallingError, WaitingError } from '../runtime/errors.js';

export const DEPENDENCY_NOT_READY = 'DependencyNotReady';

export interface Dependency {
  kind: string;
  namespace: string;
  name: string;
  readyExpr?: string;
}

export function dependenciesOf(obj: KubeObject): Dependency[] {
  const list = ((obj.spec as { dependsOn?: DependencyReference[] })?.dependsOn ?? []) as DependencyReference[];
  return list.map((d) => ({ kind: d.kind ?? obj.kind!, namespace: d.namespace || obj.metadata.namespace!, name: d.name, readyExpr: d.readyExpr }));
}

export const dependencyKeys = (obj: KubeObject) => dependenciesOf(obj).map((d) => dependencyKey(d.kind, d.namespace, d.name));

const label = (d: Dependency) => `${d.kind === 'Kustomization' ? '' : `${d.kind}/`}${d.namespace}/${d.name}`;

async function getDep(stores: ResourceStores, d: Dependency): Promise<KubeObject | undefined> {
  try {
    return await stores.forKind(GROUP, VERSION, d.kind).get(d.namespace, d.name);
  } catch (e) {
    if (e instanceof StatusError && e.code === 404) return undefined;
    throw e;
  }
}

/** A path of dependsOn edges from `obj` back to itself, if there is one (depth-first over the stores). */
async function findCycle(stores: ResourceStores, obj: KubeObject): Promise<string[] | undefined> {
  const start = dependencyKey(obj.kind!, obj.metadata.namespace, obj.metadata.name!);
  const visited = new Set<string>();
  const walk = async (o: KubeObject, path: string[]): Promise<string[] | undefined> => {
    for (const d of dependenciesOf(o)) {
      const key = dependencyKey(d.kind, d.namespace, d.name);
      if (key === start) return [...path, label(d)];
      if (visited.has(key)) continue;
      visited.add(key);
      const next = await getDep(stores, d);
      if (next) {
        const found = await walk(next, [...path, label(d)]);
        if (found) return found;
      }
    }
    return undefined;
  };
  const self = { kind: obj.kind!, namespace: obj.metadata.namespace!, name: obj.metadata.name! };
  return walk(obj, [label(self)]);
}

const readyCondition = (o: KubeObject) => ((o.status?.conditions ?? []) as Condition[]).find((c) => c.type === 'Ready');

/** Throws a WaitingError naming the first dependency that is not ready, or a StallingError for a cycle or a bad readyExpr. */
export async function checkDependencies(stores: ResourceStores, obj: KubeObject, requeueMs: number, o: { noCrossNamespaceRefs?: boolean } = {}): Promise<void> {
  const deps = dependenciesOf(obj);
  if (!deps.length) return;
  // Flux's lockdown: references between objects only within one namespace, dependencies included.
  const foreign = o.noCrossNamespaceRefs ? deps.find((d) => d.namespace !== obj.metadata.namespace) : undefined;
  if (foreign)
    throw new StallingError(`cross-namespace references are disabled on this server (--no-cross-namespace-refs): the dependency '${label(foreign)}' is not in namespace '${obj.metadata.namespace}'`, 'AccessDenied');
  const cycle = await findCycle(stores, obj);
  if (cycle) throw new StallingError(`dependency cycle: ${cycle.join(' -> ')}`, 'DependencyCycle');
  const spec = obj.spec as unknown as KustomizationSpec;
  for (const d of deps) {
    const dep = await getDep(stores, d);
    const what = `dependency '${label(d)}'`;
    if (!dep) throw new WaitingError(`${what} not found`, DEPENDENCY_NOT_READY, requeueMs);
    if (d.readyExpr) {
      let ok: boolean;
      try {
        ok = evaluateReadyExpr(d.readyExpr, obj, dep);
      } catch (e) {
        if (e instanceof ReadyExprError) throw new StallingError(`${what}: ${e.message}`, 'InvalidReadyExpr');
        throw e;
      }
      if (!ok) throw new WaitingError(`${what} is not ready: readyExpr is false`, DEPENDENCY_NOT_READY, requeueMs);
      continue;
    }
    const ready = readyCondition(dep);
    const observed = (dep.status as { observedGeneration?: number } | undefined)?.observedGeneration;
    if (ready?.status !== 'True' || observed !== dep.metadata.generation)
      throw new WaitingError(`${what} is not ready${ready?.message && ready.status !== 'True' ? `: ${ready.message}` : ''}`, DEPENDENCY_NOT_READY, requeueMs);
    // As Flux: a Kustomization of the same source must have applied the revision this one will.
    if (dep.kind === 'Kustomization' && obj.kind === 'Kustomization') {
      const theirs = (dep.spec as unknown as KustomizationSpec).sourceRef;
      const sameSource = theirs.kind === spec.sourceRef.kind && theirs.name === spec.sourceRef.name && (theirs.namespace || dep.metadata.namespace) === (spec.sourceRef.namespace || obj.metadata.namespace);
      const status = dep.status as { lastAppliedRevision?: string; lastAttemptedRevision?: string };
      if (sameSource && status.lastAppliedRevision !== status.lastAttemptedRevision)
        throw new WaitingError(`${what} is not ready: it has not applied revision ${status.lastAttemptedRevision} yet`, DEPENDENCY_NOT_READY, requeueMs);
    }
  }
}
