// Server-side apply and managedFields bookkeeping, with the behaviour of kube-apiserver's field
// manager for custom resources (k8s.io/apimachinery/pkg/util/managedfields + structured-merge-diff).

import type { JSONSchemaProps } from '../../apis/meta/resource.js';
import type { KubeObject, StatusCause } from '../../apis/meta/types.js';
import { FieldSet } from './field-set.js';
import { capUpdateManagers, decodeManagedFields, encodeManagedFields, managerId, type Manager, type Managers } from './managed-fields.js';
import { compareStrings, goJSON, isObject, pathString } from './path.js';
import { compare, isSame, merge, removeItems, rootSchema, toFieldSet, TRACKED_METADATA, TypedError, type Comparison } from './typed.js';
import { cloneJSON } from '../limits.js';

export interface ManagerOptions {
  /** The kind's whole-object schema (ResourceDefinition.schema). */
  schema: JSONSchemaProps;
  apiVersion: string;
  /** RFC 3339, recorded as the time of the entries this write changes. */
  now: string;
  subresource?: string;
  /** When given, apply refuses a configuration of another kind. */
  kind?: string;
}

export interface ApplyConflict {
  /** The manager name, as in its managedFields entry. */
  manager: string;
  operation: 'Apply' | 'Update';
  subresource?: string;
  /** As kube prints it: `.spec.interval`, `.status.conditions[type="Ready"].status`. */
  field: string;
  /** kube's cause message: `conflict with "flux" using gitops.toolkit/v1`. */
  message: string;
}

/** A 409 Conflict: the message and causes are worded as kube-apiserver words them. */
export class ApplyConflictError extends Error {
  readonly causes: StatusCause[];
  constructor(
    readonly conflicts: ApplyConflict[],
    message: string,
  ) {
    super(message);
    this.causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: c.message, field: c.field }));
  }
}

/** An applied configuration kube refuses with 400 BadRequest. */
export class ApplyBadRequestError extends Error {}

type Obj = Record<string, unknown>;

/** Conflicts found while taking fields over, by manager identity. */
class Conflicts {
  constructor(readonly found: Map<string, { m: Manager; set: FieldSet }>) {}
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
// As kube's stripmeta: nobody owns the metadata node itself (untracked metadata never reaches a set).
const STRIPPED = FieldSet.of([{ field: 'metadata' }]);

interface Ctx {
  o: ManagerOptions;
  s: JSONSchemaProps;
  /** Writes to /status own status (and metadata); the others everything but status. */
  status: boolean;
}

const ctxOf = (o: ManagerOptions): Ctx => ({ o, s: rootSchema(o.schema), status: o.subresource === 'status' });

/**
 * The part of an object field management sees: no apiVersion/kind, only the user's metadata, and
 * either status (for /status) or everything else. kube resets the other part on such writes.
 */
function tracked(obj: KubeObject | undefined, status: boolean): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      const meta = Object.fromEntries(Object.entries(isObject(v) ? v : {}).filter(([mk]) => TRACKED_METADATA.includes(mk)));
      if (Object.keys(meta).length) out.metadata = meta;
    } else if ((k === 'status') === status) out[k] = v;
  }
  return out;
}

function identity(c: Ctx, manager: string, operation: Manager['operation']): Omit<Manager, 'set'> {
  // kube records a request without a manager name as "unknown".
  const m: Omit<Manager, 'set'> = { manager: manager || 'unknown', operation, apiVersion: c.o.apiVersion };
  if (c.o.subresource) m.subresource = c.o.subresource;
  return m;
}

/**
 * SMD's update step: fields changed from `from` to `to` are taken from every manager but `self`
 * (a conflict unless forced); fields removed are dropped from them all; empty managers go.
 */
function takeOver(c: Ctx, from: Obj, to: Obj, managers: Managers, self: string | undefined, force: boolean): Comparison {
  const cmp = compare(from, to, c.s);
  const changed = cmp.modified.union(cmp.added);
  const found = new Map<string, { m: Manager; set: FieldSet }>();
  for (const [id, m] of managers) {
    const set = m.set.intersection(changed);
    if (id !== self && !set.empty()) found.set(id, { m, set });
  }
  if (found.size && !force) throw new Conflicts(found);
  for (const [id, m] of managers) {
    const set = id === self ? m.set : m.set.difference(changed).difference(cmp.removed);
    if (set.empty()) managers.delete(id);
    else managers.set(id, { ...m, set });
  }
  return cmp;
}

/** A non-apply write by `manager`: it now owns what it changed, stamped with the time. */
function recordChanges(c: Ctx, from: Obj, to: Obj, managers: Managers, manager: string): void {
  const cmp = takeOver(c, from, to, managers, undefined, true);
  const own = cmp.modified.union(cmp.added).difference(cmp.removed).difference(STRIPPED);
  if (!own.empty()) {
    const who = identity(c, manager, 'Update');
    const prev = managers.get(managerId(who));
    managers.set(managerId(who), { ...who, time: c.o.now, set: prev ? own.union(prev.set) : own });
  }
  capUpdateManagers(managers);
}

/**
 * Removes what the applier owned last time but no longer applies, unless someone (the applier's new
 * configuration included) still owns it (SMD prune + addBackOwnedItems + addBackDanglingItems).
 */
function prune(c: Ctx, merged: Obj, managers: Managers, lastSet: FieldSet | undefined): Obj {
  if (!lastSet || lastSet.empty()) return merged;
  const mergedSet = toFieldSet(merged, c.s);
  let owned = new FieldSet();
  for (const m of managers.values()) owned = owned.union(m.set);
  const pruned = removeItems(merged, lastSet, c.s);
  const kept = removeItems(merged, mergedSet.difference(toFieldSet(pruned, c.s).union(owned)), c.s);
  return removeItems(merged, mergedSet.difference(toFieldSet(kept, c.s)).intersection(lastSet), c.s);
}

function gvkString(apiVersion: unknown, kind: unknown): string {
  const av = String(apiVersion ?? '');
  const i = av.indexOf('/');
  return `${i < 0 ? '' : av.slice(0, i)}/${i < 0 ? av : av.slice(i + 1)}, Kind=${String(kind ?? '')}`;
}

function applyOnce(c: Ctx, live: KubeObject | undefined, applied: KubeObject, managed: Managers, manager: string, force: boolean) {
  const managers = new Map(managed);
  const from = tracked(live, c.status);
  // Objects that nobody tracked yet: what is there belongs to "before-first-apply" (kube's skipnonapplied).
  if (managers.size === 0) recordChanges(c, {}, from, managers, 'before-first-apply');
  const config = tracked(applied, c.status);
  const who = identity(c, manager, 'Apply');
  const id = managerId(who);
  let merged: Obj;
  let set: FieldSet;
  try {
    merged = merge(from, config, c.s);
    set = toFieldSet(config, c.s).difference(STRIPPED);
  } catch (e) {
    if (!(e instanceof TypedError)) throw e;
    const m = applied.metadata ?? {};
    throw new ApplyBadRequestError(`failed to create typed patch object (${m.namespace ?? ''}/${m.name ?? ''}; ${gvkString(applied.apiVersion, applied.kind)}): ${e.message}`);
  }
  const last = managers.get(id);
  managers.set(id, { ...who, time: last?.time, set });
  const next = prune(c, merged, managers, last?.set);
  const cmp = takeOver(c, from, next, managers, id, force);
  // Only a write that changes the object moves the applier's time (kube's managedfieldsupdater).
  if (!isSame(cmp) && managers.has(id)) managers.set(id, { ...managers.get(id)!, time: c.o.now });
  return { object: assemble(live, applied, next, c.status), managers };
}

/** The stored object: the merged tracked part, everything else from the live object (or the configuration on create). */
function assemble(live: KubeObject | undefined, applied: KubeObject, next: Obj, status: boolean): KubeObject {
  const base: Obj = live ?? { apiVersion: applied.apiVersion, kind: applied.kind, metadata: applied.metadata ?? {} };
  const nextMeta = isObject(next.metadata) ? next.metadata : {};
  const meta: Obj = {};
  for (const [k, v] of Object.entries(isObject(base.metadata) ? base.metadata : {})) {
    if (k === 'managedFields') continue;
    if (!TRACKED_METADATA.includes(k)) meta[k] = v;
    else if (Object.hasOwn(nextMeta, k)) meta[k] = nextMeta[k];
  }
  Object.assign(meta, nextMeta);
  const out: Obj = { apiVersion: base.apiVersion, kind: base.kind, metadata: meta };
  for (const [k, v] of Object.entries(base)) {
    if (k in out) continue;
    if ((k === 'status') !== status) out[k] = v;
    else if (Object.hasOwn(next, k)) out[k] = next[k];
  }
  for (const [k, v] of Object.entries(next)) if (!(k in out)) out[k] = v;
  return cloneJSON(out) as KubeObject;
}

function setManaged(obj: KubeObject, managers: Managers): void {
  const entries = encodeManagedFields(managers);
  if (entries) obj.metadata.managedFields = entries;
  else delete obj.metadata.managedFields;
}

function printManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  return m.operation === 'Update' ? `${s} using ${m.apiVersion}` : s;
}

function conflictError(found: Conflicts['found']): ApplyConflictError {
  const groups = [...found].sort((a, b) => compareStrings(a[0], b[0])).map(([, g]) => ({ m: g.m, fields: g.set.paths().map(pathString) }));
  const conflicts = groups.flatMap(({ m, fields }) =>
    fields.map((field) => ({
      manager: m.manager,
      operation: m.operation,
      ...(m.subresource ? { subresource: m.subresource } : {}),
      field,
      message: `conflict with ${printManager(m)}`,
    })),
  );
  const message =
    conflicts.length === 1
      ? `Apply failed with 1 conflict: ${conflicts[0].message}: ${conflicts[0].field}`
      : `Apply failed with ${conflicts.length} conflicts: ${groups.map((g) => [`conflicts with ${printManager(g.m)}:`, ...g.fields.map((f) => `- ${f}`)].join('\n')).join('\n')}`;
  return new ApplyConflictError(conflicts, message);
}

/**
 * Fields kubectl's client-side apply evidently set (in its annotation and still as it left them): kube
 * lets `kubectl apply --server-side` take those over without conflicts (kube's lastappliedmanager).
 */
function lastAppliedFields(c: Ctx, live: KubeObject | undefined): FieldSet | undefined {
  const raw = live?.metadata.annotations?.[LAST_APPLIED];
  if (!raw) return undefined;
  try {
    const last: unknown = JSON.parse(raw);
    if (!isObject(last) || last.apiVersion !== c.o.apiVersion) return undefined;
    const la = tracked(last as KubeObject, c.status);
    const cmp = compare(la, tracked(live, c.status), c.s);
    return toFieldSet(la, c.s).difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
  } catch {
    return undefined;
  }
}

/** kubectl's server-side apply keeps a client-side annotation in step (kube's lastappliedupdater). */
function syncLastApplied(obj: KubeObject, applied: KubeObject): void {
  const annotations = obj.metadata.annotations;
  if (!annotations?.[LAST_APPLIED]) return;
  const config = cloneJSON(applied);
  if (isObject(config.metadata?.annotations)) delete config.metadata.annotations[LAST_APPLIED];
  // Go's JSON encoder: sorted keys, trailing newline.
  annotations[LAST_APPLIED] = `${goJSON(config)}\n`;
}

/** Server-side apply (PATCH application/apply-patch+yaml). `live` undefined = create. */
export function apply(live: KubeObject | undefined, applied: KubeObject, o: ManagerOptions & { manager: string; force: boolean }): KubeObject {
  if (applied.apiVersion !== o.apiVersion || (o.kind !== undefined && applied.kind !== o.kind)) {
    throw new ApplyBadRequestError(`invalid object type: ${gvkString(applied.apiVersion, applied.kind)}`);
  }
  if (applied.metadata?.managedFields != null) throw new ApplyBadRequestError('metadata.managedFields must be nil');
  const c = ctxOf(o);
  let managed: Managers;
  try {
    managed = decodeManagedFields(live?.metadata.managedFields);
  } catch (e) {
    throw new Error(`failed to decode managed fields: ${(e as Error).message}`);
  }
  let result: ReturnType<typeof applyOnce>;
  try {
    result = applyOnce(c, live, applied, managed, o.manager, o.force);
  } catch (e) {
    if (!(e instanceof Conflicts)) throw e;
    const allowed = o.manager === 'kubectl' ? lastAppliedFields(c, live) : undefined;
    const left: Conflicts['found'] = new Map();
    for (const [id, g] of e.found) {
      const set = allowed ? g.set.difference(allowed) : g.set;
      if (!set.empty()) left.set(id, { m: g.m, set });
    }
    if (left.size) throw conflictError(left);
    result = applyOnce(c, live, applied, managed, o.manager, true);
  }
  if (o.manager === 'kubectl') syncLastApplied(result.object, applied);
  setManaged(result.object, result.managers);
  return result.object;
}

// `managedFields: []` (or one empty entry) asks to reset field management.
const isReset = (mf: unknown) =>
  Array.isArray(mf) && (mf.length === 0 || (mf.length === 1 && isObject(mf[0]) && Object.values(mf[0]).every((v) => v == null || v === '')));

function decodeOrEmpty(mf: unknown): Managers {
  try {
    return decodeManagedFields(mf);
  } catch {
    return new Map();
  }
}

/**
 * After a non-apply write (create, update, JSON/merge patch): `manager` owns, as an Update entry, what
 * it changed (everything it set, on create); other managers lose those fields. Returns `updated` with
 * its managedFields. Like kube, managedFields sent by the client replace the stored ones (`[]` clears
 * them, and then nothing is tracked until the next apply); /status writes cannot touch them.
 */
export function recordUpdate(live: KubeObject | undefined, updated: KubeObject, o: ManagerOptions & { manager: string }): KubeObject {
  const out = cloneJSON(updated);
  out.metadata ??= {};
  delete out.metadata.managedFields;
  const requested = updated.metadata?.managedFields;
  let managers: Managers;
  if (o.subresource) managers = decodeOrEmpty(live?.metadata.managedFields);
  else if (isReset(requested)) managers = new Map();
  else {
    managers = decodeOrEmpty(requested);
    if (managers.size === 0) managers = decodeOrEmpty(live?.metadata.managedFields);
  }
  if (managers.size === 0 && live) return out;
  try {
    const c = ctxOf(o);
    recordChanges(c, tracked(live, c.status), tracked(updated, c.status), managers, o.manager);
    setManaged(out, managers);
  } catch {
    // As kube's UpdateNoErrors: bookkeeping never fails a write; the stored entries stay.
    if (live?.metadata.managedFields) out.metadata.managedFields = live.metadata.managedFields;
  }
  return out;
}

/** The manager kube-apiserver names a request without fieldManager: its User-Agent up to the first '/', printable, at most 128 bytes. */
export function defaultManager(userAgent: string | undefined): string {
  let out = '';
  let bytes = 0;
  for (const ch of (userAgent ?? '').split('/')[0]) {
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) continue;
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > 128) break;
    out += ch;
    bytes += n;
  }
  return out;
}
