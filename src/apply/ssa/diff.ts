// What applying would change, without changing anything: applyAll's preview (each object read and
// applied with a server-side dry run: the cluster's own defaulting, admission and field ownership
// decide), compared with the live object. Used by a Kustomization's `diff` view (what Flux can only
// do client-side with `flux diff`). Secrets' values never appear: their changed keys are named only.

import type { KubeClient, KubeObject } from '../../kube/client.js';
import { previewAll } from './manager.js';
import type { FieldSet } from './takeover.js';
import { isSecretValue, REDACTED } from '../redact.js';
import type { IgnoreRule } from './ignore.js';

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
const MAX_CHANGES = 100;

function walk(live: unknown, desired: unknown, path: string[], out: FieldChange[], obj: KubeObject): void {
  if (out.length >= MAX_CHANGES) return;
  if (JSON.stringify(live) === JSON.stringify(desired)) return;
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(live) && isObj(desired)) {
    const a = live as Record<string, unknown>;
    const b = desired as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (path.length === 1 && path[0] === 'metadata' && CHURN.has(k)) continue;
      walk(a[k], b[k], [...path, k], out, obj);
    }
    return;
  }
  if (Array.isArray(live) && Array.isArray(desired) && live.length === desired.length) {
    for (let i = 0; i < live.length; i++) walk(live[i], desired[i], [...path.slice(0, -1), `${path[path.length - 1]}[${i}]`], out, obj);
    return;
  }
  const redact = isSecretValue(obj, path);
  const hide = (v: unknown) => (v === undefined ? undefined : redact ? REDACTED : v);
  out.push({ path: path.join('.'), ...(live !== undefined ? { live: hide(live) } : {}), ...(desired !== undefined ? { desired: hide(desired) } : {}) });
}

/** The field changes between two versions of an object (metadata churn and status left out). */
export function fieldChanges(live: KubeObject, desired: KubeObject): FieldChange[] {
  const out: FieldChange[] = [];
  for (const k of [...new Set([...Object.keys(live), ...Object.keys(desired)])].sort()) {
    if (k === 'status') continue;
    walk((live as Record<string, unknown>)[k], (desired as Record<string, unknown>)[k], [k], out, desired);
  }
  return out;
}

/**
 * The fields of `taken` (FieldsV1, object keys `f:` only) that `live` has and `applied` does not: the
 * apply removes them once they are its own. List items (`k:`, `i:`, `v:`) are not followed.
 */
function removedByTakeover(live: KubeObject, applied: KubeObject, taken: FieldSet): FieldChange[] {
  const out: FieldChange[] = [];
  const walk = (fs: FieldSet, l: unknown, a: unknown, path: string[]) => {
    for (const [key, sub] of Object.entries(fs)) {
      if (!key.startsWith('f:') || out.length >= MAX_CHANGES) continue;
      const name = key.slice(2);
      const lv = l && typeof l === 'object' && !Array.isArray(l) ? (l as Record<string, unknown>)[name] : undefined;
      const av = a && typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, unknown>)[name] : undefined;
      if (lv === undefined) continue;
      const at = [...path, name];
      if (av === undefined) {
        if (!(at[0] === 'metadata' && ['managedFields', 'resourceVersion'].includes(at[1] ?? '')) && at[0] !== 'status')
          out.push({ path: at.join('.'), live: isSecretValue(live, at) ? REDACTED : lv });
      } else if (sub && typeof sub === 'object') walk(sub as FieldSet, lv, av, at);
    }
  };
  walk(taken, live, applied, []);
  return out;
}

/**
 * What a reconcile would change, one entry per object in apply order: applyAll's own preview (the same
 * policies, spec.ignore and takeover decisions), with the changed fields of each configured object.
 */
export async function diffAll(client: KubeClient, objects: KubeObject[], o: { fieldManager?: string; signal?: AbortSignal; ignore?: IgnoreRule[]; force?: boolean } = {}): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  for (const p of await previewAll(client, objects, o)) {
    const { ref, action, apiVersion, kind, name, namespace } = p.entry;
    const object = { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
    if (p.error) {
      out.push({ ref, action: 'failed', message: p.error.message });
      continue;
    }
    const entry: DiffEntry = { ref, object, action };
    if (action === 'skipped') entry.message = 'left alone by its kustomize.toolkit.fluxcd.io/ssa annotation (Ignore, or IfNotPresent once it exists)';
    if (action === 'configured' && p.live && p.dry) {
      // The dry run is of our field manager before the takeover; the takeover makes kubectl's fields
      // ours, so those Git no longer has are removed by the apply too.
      const removed = p.takenFields && p.applied ? removedByTakeover(p.live, p.applied, p.takenFields) : [];
      const seen = new Set(removed.map((c) => c.path));
      entry.changes = [...removed, ...fieldChanges(p.live, p.dry).filter((c) => !seen.has(c.path))].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    if (p.entry.recreated) entry.message = 'an immutable field changes: the object would be deleted and created again (force)';
    else if (p.takeover?.length) entry.message = `fields set by ${p.takeover.join(', ')} would be taken over: those Git no longer has are removed`;
    out.push(entry);
  }
  return out;
}
