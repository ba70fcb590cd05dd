// Field-manager takeover, as Flux's kustomize-controller does before applying: the managedFields
// entries left by kubectl (client-side apply's `kubectl-client-side-apply`, `kubectl-edit`,
// `kubectl-patch`, … — every `kubectl*` Update — server-side `kubectl` Apply, and `before-first-apply`)
// are moved to our field manager as an Apply entry, and client-side apply's
// `kubectl.kubernetes.io/last-applied-configuration` annotation is removed. The next server-side apply
// then owns those fields, so a field removed from the source is removed from the cluster and an edit
// is reverted — except the fields spec.ignore names (object-key paths), which stay with their manager.

import type { ManagedFieldsEntry } from '../../apis/meta/types.js';
import type { KubeObject } from '../../kube/client.js';

export interface FieldManagerMatch {
  /** A prefix of the manager's name (as Flux matches). */
  name: string;
  operation: 'Apply' | 'Update';
}

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** The managers Flux takes over (prefix match, main resource only). */
export const DEFAULT_TAKEOVER: FieldManagerMatch[] = [
  { name: 'kubectl', operation: 'Apply' },
  { name: 'kubectl', operation: 'Update' },
  { name: 'before-first-apply', operation: 'Update' },
];

export interface JsonPatchOp {
  op: 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

export type FieldSet = Record<string, unknown>;

/** The union of two FieldsV1 sets (nested objects whose leaves are `{}`). */
export function mergeFieldSets(a: FieldSet | undefined, b: FieldSet | undefined): FieldSet {
  const out: FieldSet = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b ?? {})) {
    const prev = out[k];
    out[k] = prev && typeof prev === 'object' && v && typeof v === 'object' ? mergeFieldSets(prev as FieldSet, v as FieldSet) : (v ?? prev);
  }
  return out;
}

/**
 * `fs` split at `path` (object keys, as FieldsV1 spells them `f:<key>`): what lies at or below it, and
 * the rest. Used to leave spec.ignore's fields with the manager that set them.
 */
function splitAt(fs: FieldSet, path: string[]): { rest: FieldSet; kept?: FieldSet } {
  const key = `f:${path[0]}`;
  if (!(key in fs)) return { rest: fs };
  if (path.length === 1) {
    const { [key]: kept, ...rest } = fs;
    return { rest, kept: { [key]: kept } };
  }
  const inner = fs[key];
  if (!inner || typeof inner !== 'object') return { rest: fs };
  const sub = splitAt(inner as FieldSet, path.slice(1));
  return { rest: { ...fs, [key]: sub.rest }, kept: sub.kept && { [key]: sub.kept } };
}

const matches = (e: ManagedFieldsEntry, ms: FieldManagerMatch[], owner: string) =>
  !e.subresource && e.manager !== owner && ms.some((m) => (e.manager ?? '').startsWith(m.name) && e.operation === m.operation);

/** The union of the fields takeoverPatch moves to `owner` (those under `keep` stay with their managers). */
export function takenOverFields(live: KubeObject, owner: string, managers: FieldManagerMatch[] = DEFAULT_TAKEOVER, keep: string[][] = []): FieldSet {
  let all: FieldSet = {};
  for (const e of live.metadata?.managedFields ?? []) {
    if (!matches(e, managers, owner)) continue;
    let rest = (e.fieldsV1 ?? {}) as FieldSet;
    for (const path of keep) rest = splitAt(rest, path).rest;
    all = mergeFieldSets(all, rest);
  }
  return all;
}

/** The names of the managers takeoverPatch moves fields from. */
export function takenOver(live: KubeObject, owner: string, managers: FieldManagerMatch[] = DEFAULT_TAKEOVER): string[] {
  return [...new Set((live.metadata?.managedFields ?? []).filter((e) => matches(e, managers, owner)).map((e) => e.manager ?? ''))];
}

/**
 * The JSON patch that moves the matching managers' fields to `owner` (one Apply entry per apiVersion,
 * merged with an Apply entry `owner` already has) and removes the last-applied annotation; empty when
 * there is nothing to take over.
 */
export function takeoverPatch(live: KubeObject, owner: string, managers: FieldManagerMatch[] = DEFAULT_TAKEOVER, keep: string[][] = []): JsonPatchOp[] {
  const entries = live.metadata?.managedFields ?? [];
  const ops: JsonPatchOp[] = [];
  if (entries.some((e) => matches(e, managers, owner))) {
    const out: ManagedFieldsEntry[] = [];
    const ownerAt = new Map<string, number>(); // apiVersion → index in out of owner's Apply entry
    const put = (e: ManagedFieldsEntry) => {
      const key = e.apiVersion ?? '';
      const at = ownerAt.get(key);
      if (at === undefined) {
        ownerAt.set(key, out.length);
        out.push({ ...e, manager: owner, operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: e.fieldsV1 ?? {} });
      } else {
        const prev = out[at];
        out[at] = { ...prev, time: [prev.time, e.time].filter(Boolean).sort().pop(), fieldsV1: mergeFieldSets(prev.fieldsV1, e.fieldsV1) };
      }
    };
    for (const e of entries) {
      if (matches(e, managers, owner)) {
        // Fields under `keep` (spec.ignore) stay with the manager that set them.
        let rest = (e.fieldsV1 ?? {}) as FieldSet;
        let kept: FieldSet | undefined;
        for (const path of keep) {
          const s = splitAt(rest, path);
          rest = s.rest;
          if (s.kept) kept = mergeFieldSets(kept, s.kept);
        }
        put({ ...e, fieldsV1: rest });
        if (kept) out.push({ ...e, fieldsV1: kept });
      } else if (e.manager === owner && e.operation === 'Apply' && !e.subresource) put(e);
      else out.push(e);
    }
    ops.push({ op: 'replace', path: '/metadata/managedFields', value: out });
  }
  if (live.metadata?.annotations && LAST_APPLIED_ANNOTATION in live.metadata.annotations)
    ops.push({ op: 'remove', path: `/metadata/annotations/${escapePointer(LAST_APPLIED_ANNOTATION)}` });
  if (ops.length && live.metadata?.resourceVersion) ops.unshift({ op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion });
  return ops;
}
