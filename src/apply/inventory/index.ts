// Inventory and prune for the Kustomization reconciler: entries (Flux's `status.inventory` ids),
// the stale set (diff), prune in reverse apply order, owner labels, and deletionPolicy on deletion.

export * from './entries.js';
export * from './order.js';
export * from './labels.js';
export * from './prune.js';
export * from './finalize.js';
