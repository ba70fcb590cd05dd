// Prune: the deletion of inventory entries, after fluxcd/pkg ssa's DeleteAll as kustomize-controller
// calls it: in reverse apply order, propagation Background, only objects whose owner labels are the
// Kustomization's own (the inclusions), never one marked `prune: disabled` (the exclusions); an object
// already gone counts as deleted. Beyond Flux: an entry whose kind is no longer served (its CRD was
// deleted) counts as deleted too — no object of it can exist — and the delete is conditioned on the
// uid read, so an object recreated meanwhile by someone else is not removed.

import { KubeError, UnknownKindError, type CallOptions, type KubeClient, type KubeObject, type ObjectRef, type PropagationPolicy } from '../../kube/client.js';
import { apiVersionOf, fmtEntry, parseEntry, type InventoryEntry, type ObjMetadata } from './entries.js';
import { ownership, pruneDisabled, type Owner } from './labels.js';
import { deletionOrder } from './order.js';

export interface PruneOptions extends CallOptions {
  /** The Kustomization whose objects these are (its owner labels are required on what is deleted). */
  owner: Owner;
  /** Ask the server for a dry run: nothing is deleted, results say what would be. */
  dryRun?: boolean;
  /** Default Background, as Flux. */
  propagationPolicy?: PropagationPolicy;
}

export type PruneAction = 'deleted' | 'skipped' | 'failed';

export interface PruneResult {
  /** `Kind/namespace/name` (Flux's format). */
  ref: string;
  entry: InventoryEntry;
  /**
   * `deleted`: deleted now, already gone, or its kind no longer served (or, dry run, would be deleted);
   * `skipped`: kept on purpose (prune disabled, another owner, not labelled as ours);
   * `failed`: the server refused or could not be reached (`error` holds why); the others still ran.
   */
  action: PruneAction;
  reason: string;
  error?: KubeError | Error;
  /** The object as it stood before deletion (absent when it was already gone). */
  object?: KubeObject;
  /** The apiVersion it was read and deleted with (the entry's own, or another served version of the kind). */
  apiVersion?: string;
  /** The kind is no longer served: nothing is left to wait for. */
  kindGone?: boolean;
}

/** Where an entry's object is read: its own version, or, when that version is no longer served, another served version of the same group and kind. */
async function resolve(client: KubeClient, m: ObjMetadata, version: string, o: CallOptions): Promise<ObjectRef | undefined> {
  const ref: ObjectRef = { apiVersion: apiVersionOf(m, version), kind: m.kind, name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}) };
  try {
    await client.resourceFor(ref, o);
    return ref;
  } catch (e) {
    if (!(e instanceof UnknownKindError)) throw e;
  }
  const other = (await client.resources(o)).find((r) => r.group === m.group && r.kind === m.kind);
  return other ? { ...ref, apiVersion: apiVersionOf(m, other.version) } : undefined;
}

const isNotFound = (e: unknown) => e instanceof KubeError && e.code === 404;

/** Deletes one entry (see `prune`). */
export async function pruneEntry(client: KubeClient, entry: InventoryEntry, opts: PruneOptions): Promise<PruneResult> {
  let m: ObjMetadata;
  try {
    m = parseEntry(entry.id);
  } catch (e) {
    return { ref: entry.id, entry, action: 'failed', reason: (e as Error).message, error: e as Error };
  }
  const ref = fmtEntry(m);
  const call: CallOptions = { impersonate: opts.impersonate, signal: opts.signal, timeoutMs: opts.timeoutMs };
  const fail = (e: unknown, what: string): PruneResult => ({ ref, entry, action: 'failed', reason: `${what}: ${(e as Error).message}`, error: e as Error });
  let target: ObjectRef | undefined;
  try {
    target = await resolve(client, m, entry.v, call);
  } catch (e) {
    return fail(e, 'discovery failed');
  }
  if (!target) return { ref, entry, action: 'deleted', reason: `kind ${m.kind} of group ${JSON.stringify(m.group)} is no longer served`, kindGone: true };

  let obj: KubeObject | undefined;
  try {
    obj = await client.getOptional(target, call);
  } catch (e) {
    if (e instanceof UnknownKindError) return { ref, entry, action: 'deleted', reason: `kind ${m.kind} is no longer served`, apiVersion: target.apiVersion, kindGone: true };
    return fail(e, 'query failed');
  }
  if (!obj) return { ref, entry, action: 'deleted', reason: 'already gone', apiVersion: target.apiVersion };

  const base = { ref, entry, object: obj, apiVersion: target.apiVersion };
  const disabled = pruneDisabled(obj.metadata?.labels, obj.metadata?.annotations);
  if (disabled) return { ...base, action: 'skipped', reason: `prune disabled (${disabled})` };
  const own = ownership(obj.metadata?.labels, opts.owner);
  if (!own.owned) return { ...base, action: 'skipped', reason: own.reason };

  try {
    await client.delete(target, {
      ...call,
      propagationPolicy: opts.propagationPolicy ?? 'Background',
      dryRun: opts.dryRun,
      preconditions: obj.metadata?.uid ? { uid: obj.metadata.uid } : undefined,
    });
  } catch (e) {
    if (e instanceof UnknownKindError) return { ...base, action: 'deleted', reason: `kind ${m.kind} is no longer served`, kindGone: true };
    if (isNotFound(e)) return { ...base, action: 'deleted', reason: 'already gone' };
    if (e instanceof KubeError && e.code === 409) return { ...base, action: 'skipped', reason: `replaced since read (uid ${obj.metadata?.uid} no longer there): ${e.message}` };
    return { ...base, ...fail(e, 'delete failed') };
  }
  const terminating = obj.metadata?.deletionTimestamp ? ' (was already terminating)' : '';
  return { ...base, action: 'deleted', reason: opts.dryRun ? 'would be deleted (dry run)' : `deleted${terminating}` };
}

/**
 * Deletes the stale entries (`diff(previous, current)`), one at a time in reverse apply order, so that
 * custom resources go before their CRD and namespaced objects before their Namespace. Every entry gets
 * a result, in deletion order; a failing one does not stop the rest.
 */
export async function prune(client: KubeClient, entries: InventoryEntry[], opts: PruneOptions): Promise<PruneResult[]> {
  const out: PruneResult[] = [];
  let ordered: InventoryEntry[];
  try {
    ordered = deletionOrder(entries);
  } catch {
    // a malformed id: keep the given order, pruneEntry reports the bad one
    ordered = entries;
  }
  for (const e of ordered) {
    opts.signal?.throwIfAborted();
    out.push(await pruneEntry(client, e, opts));
  }
  return out;
}

/** `deleted: 2, skipped: 1 (ConfigMap/default/keep: prune disabled …), failed: …` for a condition message. */
export function summarize(results: PruneResult[]): string {
  const by = (a: PruneAction) => results.filter((r) => r.action === a);
  const parts = [`deleted: ${by('deleted').length}`];
  for (const a of ['skipped', 'failed'] as const) {
    const rs = by(a);
    if (rs.length) parts.push(`${a}: ${rs.length} (${rs.map((r) => `${r.ref}: ${r.reason}`).join('; ')})`);
  }
  return parts.join(', ');
}
