// What applying would change, without changing anything: each object is read and applied with a
// server-side dry run (the cluster's own defaulting, admission and field ownership decide), and the
// result is compared with the live object. Used by a Kustomization's `diff` view (what Flux can only
// do client-side with `flux diff`). Secrets' values never appear: their changed keys are named only.

import { DEFAULT_FIELD_MANAGER, KubeError, UnknownKindError, type KubeClient, type KubeObject } from '../../kube/client.js';
import { hasDrifted, refOf, ssaPolicy } from './manager.js';
import { sortObjects } from './sort.js';
import { ignoredPaths, withoutIgnored, type IgnoreRule } from './ignore.js';

export interface FieldChange {
  /** Dotted path, `spec.replicas`, `spec.template.spec.containers[0].image`. */
  path: string;
  /** Absent when the field is added; Secrets' values are shown as `<redacted>`. */
  live?: unknown;
  /** Absent when the field is removed. */
  desired?: unknown;
}

export interface DiffEntry {
  ref: string;
  action: 'created' | 'configured' | 'unchanged' | 'skipped' | 'failed' | 'pruned';
  /** The object as it would be applied (namespace resolved), when it could be resolved. */
  object?: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
  changes?: FieldChange[];
  /** Why it was skipped or failed. */
  message?: string;
}

const CHURN = new Set(['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid', 'selfLink']);
const REDACTED = '<redacted>';
const MAX_CHANGES = 100;

function walk(live: unknown, desired: unknown, path: string, out: FieldChange[], redact: boolean): void {
  if (out.length >= MAX_CHANGES) return;
  if (JSON.stringify(live) === JSON.stringify(desired)) return;
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(live) && isObj(desired)) {
    const a = live as Record<string, unknown>;
    const b = desired as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (path === 'metadata' && CHURN.has(k)) continue;
      walk(a[k], b[k], path ? `${path}.${k}` : k, out, redact);
    }
    return;
  }
  if (Array.isArray(live) && Array.isArray(desired) && live.length === desired.length) {
    for (let i = 0; i < live.length; i++) walk(live[i], desired[i], `${path}[${i}]`, out, redact);
    return;
  }
  const hide = (v: unknown) => (v === undefined ? undefined : redact ? REDACTED : v);
  out.push({ path, ...(live !== undefined ? { live: hide(live) } : {}), ...(desired !== undefined ? { desired: hide(desired) } : {}) });
}

/** The field changes between two versions of an object (metadata churn and status left out). */
export function fieldChanges(live: KubeObject, desired: KubeObject): FieldChange[] {
  const out: FieldChange[] = [];
  const secret = desired.kind === 'Secret' && (desired.apiVersion === 'v1' || !desired.apiVersion);
  for (const k of [...new Set([...Object.keys(live), ...Object.keys(desired)])].sort()) {
    if (k === 'status') continue;
    const redact = secret && (k === 'data' || k === 'stringData');
    walk((live as Record<string, unknown>)[k], (desired as Record<string, unknown>)[k], k, out, redact);
  }
  return out;
}

/** Dry-runs every object; one entry each, in apply order. An object the cluster refuses is `failed` with its message. */
export async function diffAll(client: KubeClient, objects: KubeObject[], o: { fieldManager?: string; signal?: AbortSignal; ignore?: IgnoreRule[] } = {}): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  for (const obj of sortObjects(objects)) {
    o.signal?.throwIfAborted();
    let ref = refOf(obj.kind ?? '?', obj.metadata?.name ?? '?', obj.metadata?.namespace);
    try {
      const info = await client.resourceFor({ apiVersion: obj.apiVersion!, kind: obj.kind! }, { signal: o.signal });
      const namespace = info.namespaced ? obj.metadata!.namespace || client.namespace : undefined;
      const target = { ...obj, metadata: { ...obj.metadata!, ...(namespace ? { namespace } : {}) } };
      if (!namespace) delete (target.metadata as { namespace?: string }).namespace;
      ref = refOf(obj.kind!, obj.metadata!.name!, namespace);
      const live = await client.getOptional({ apiVersion: obj.apiVersion!, kind: obj.kind!, name: obj.metadata!.name!, namespace }, { signal: o.signal });
      const id = { apiVersion: obj.apiVersion!, kind: obj.kind!, metadata: { name: obj.metadata!.name!, ...(namespace ? { namespace } : {}) } };
      const policy = ssaPolicy(obj);
      if (policy === 'Ignore' || (live && ssaPolicy(live) === 'Ignore') || (policy === 'IfNotPresent' && live)) {
        out.push({ ref, object: id, action: 'skipped', message: `ssa: ${policy === 'Ignore' || !live || ssaPolicy(live) !== 'Ignore' ? policy : 'Ignore'}` });
        continue;
      }
      // As the apply: spec.ignore's paths are not applied to an object that exists.
      const applied = live && o.ignore?.length ? withoutIgnored(target, ignoredPaths(target, o.ignore)) : target;
      const dry = await client.apply(applied, { fieldManager: o.fieldManager ?? DEFAULT_FIELD_MANAGER, force: true, dryRun: true, signal: o.signal });
      if (!live) out.push({ ref, object: id, action: 'created' });
      else if (!hasDrifted(live, dry)) out.push({ ref, object: id, action: 'unchanged' });
      else out.push({ ref, object: id, action: 'configured', changes: fieldChanges(live, dry) });
    } catch (e) {
      if (e instanceof KubeError || e instanceof UnknownKindError) out.push({ ref, action: 'failed', message: (e as Error).message });
      else throw e;
    }
  }
  return out;
}
