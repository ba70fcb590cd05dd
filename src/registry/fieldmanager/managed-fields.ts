// metadata.managedFields <-> managers and their field sets, as kube's managedfields package reads,
// sorts and caps them.

import type { ManagedFieldsEntry } from '../../apis/meta/types.js';
import { FieldSet } from './field-set.js';
import { compareStrings } from './path.js';

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Managers by identity (see managerId). */
export type Managers = Map<string, Manager>;

/**
 * kube's manager identifier: the entry without fields and time, as JSON in Go's field order. An
 * applier keeps one identity across API versions, so its apiVersion is left out.
 */
export function managerId(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify({
    manager: m.manager || undefined,
    operation: m.operation,
    apiVersion: m.operation === 'Update' ? m.apiVersion : undefined,
    subresource: m.subresource || undefined,
  });
}

/** Throws on an entry kube would refuse to decode. */
export function decodeManagedFields(entries: unknown): Managers {
  const out: Managers = new Map();
  if (entries == null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((e: ManagedFieldsEntry, i) => {
    if (e?.operation !== 'Apply' && e?.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (e.fieldsType !== 'FieldsV1') {
      throw new Error(e.fieldsType ? `invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}` : `missing fieldsType in managed fields entry ${i}`);
    }
    const m: Manager = { manager: e.manager ?? '', operation: e.operation, apiVersion: e.apiVersion, set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}) };
    if (e.subresource) m.subresource = e.subresource;
    if (e.time) m.time = e.time;
    out.set(managerId(m), m);
  });
  return out;
}

/** Whole seconds, as kube compares entry times; no time sorts first. */
function seconds(t: string | undefined): number {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

// kube's order: Apply before Update, then oldest first, then manager, apiVersion, subresource.
function byKubeOrder(p: Manager, q: Manager): number {
  if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
  return (
    seconds(p.time) - seconds(q.time) ||
    compareStrings(p.manager, q.manager) ||
    compareStrings(p.apiVersion, q.apiVersion) ||
    compareStrings(p.subresource ?? '', q.subresource ?? '')
  );
}

/** The entries to store; undefined when nobody manages anything (kube then drops the field). */
export function encodeManagedFields(managers: Managers): ManagedFieldsEntry[] | undefined {
  if (managers.size === 0) return undefined;
  return [...managers.values()].sort(byKubeOrder).map((m) => ({
    manager: m.manager,
    operation: m.operation,
    apiVersion: m.apiVersion,
    ...(m.time ? { time: m.time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: m.set.toFieldsV1(),
    ...(m.subresource ? { subresource: m.subresource } : {}),
  }));
}

export const MAX_UPDATE_MANAGERS = 10;
const ANCIENT = 'ancient-changes';

/**
 * Keeps at most `max` Update entries, as kube does: the oldest are merged, per API version, into one
 * `ancient-changes` entry.
 */
export function capUpdateManagers(managers: Managers, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managers].filter(([, m]) => m.operation === 'Update').map(([id]) => id);
  if (updaters.length <= max) return;
  updaters.sort((a, b) => seconds(managers.get(a)!.time) - seconds(managers.get(b)!.time) || compareStrings(a, b));
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const id = updaters[i];
    const m = managers.get(id)!;
    const bucket = managerId({ manager: ANCIENT, operation: 'Update', apiVersion: m.apiVersion });
    const first = firstOfVersion.get(m.apiVersion);
    if (first === undefined || id === bucket) {
      firstOfVersion.set(m.apiVersion, first ?? id);
      continue;
    }
    if (!managers.has(bucket)) {
      const f = managers.get(first)!;
      managers.delete(first);
      managers.set(bucket, { manager: ANCIENT, operation: 'Update', apiVersion: m.apiVersion, set: f.set });
    }
    // The bucket takes the time of the newest update merged into it.
    managers.set(bucket, { ...managers.get(bucket)!, set: m.set.union(managers.get(bucket)!.set), time: m.time });
    managers.delete(id);
    length--;
  }
}
