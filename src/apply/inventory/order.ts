// Apply order of kinds, after fluxcd/pkg ssa's ReconcileOrder: definitions and namespaces first, then
// cluster-wide classes, RBAC, configuration, workloads; kinds not listed (custom resources among them)
// after those, and admission webhooks last. Deletion runs in the reverse: webhooks and custom resources
// before the workloads, namespaced objects before their Namespace, CRDs last.

import { parseEntry, type InventoryEntry, type ObjMetadata } from './entries.js';
import { kindRank } from '../kind-order.js';

export { kindRank };

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Apply order of two objects: kind rank, then namespace, name, kind, group. */
export function compareApply(a: ObjMetadata, b: ObjMetadata): number {
  return kindRank(a.kind) - kindRank(b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.kind, b.kind) || cmp(a.group, b.group);
}

/** Entries in the order they are deleted: the reverse of apply order. */
export function deletionOrder(entries: InventoryEntry[]): InventoryEntry[] {
  return entries
    .map((e) => ({ e, m: parseEntry(e.id) }))
    .sort((x, y) => compareApply(y.m, x.m))
    .map((x) => x.e);
}
