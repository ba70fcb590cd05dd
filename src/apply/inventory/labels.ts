// Owner labels: the reconciler stamps them on every object it applies, and prune deletes only objects
// that still carry its own. Decision: both prefixes are written. `kustomize.toolkit.fluxcd.io/*` keeps
// Flux's tooling (flux tree, flux trace, `kubectl get -l`) and a migration to or from Flux working;
// `gitops.toolkit/*` is this project's own name for the same thing. On reading, either pair counts, and
// an object whose pair (of either prefix) names another Kustomization belongs to that one.

export const FLUX_PREFIX = 'kustomize.toolkit.fluxcd.io';
export const OWN_PREFIX = 'gitops.toolkit';
export const PREFIXES = [FLUX_PREFIX, OWN_PREFIX] as const;

/** `<prefix>/prune: disabled` as a label or annotation: never pruned, never deleted with the Kustomization. */
export const PRUNE_KEYS = PREFIXES.map((p) => `${p}/prune`);
export const PRUNE_DISABLED = 'disabled';

export interface Owner {
  name: string;
  namespace: string;
}

/** The labels stamped on applied objects: `<prefix>/name` and `<prefix>/namespace`, both prefixes. */
export function ownerLabels(ksName: string, ksNamespace: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of PREFIXES) {
    out[`${p}/name`] = ksName;
    out[`${p}/namespace`] = ksNamespace;
  }
  return out;
}

export type Ownership = { owned: true } | { owned: false; reason: string };

/** Whether labels say the object is `owner`'s: at least one pair names it, and no pair names another. */
export function ownership(labels: Record<string, string> | undefined, owner: Owner): Ownership {
  const l = labels ?? {};
  let ours = false;
  for (const p of PREFIXES) {
    const name = l[`${p}/name`];
    const namespace = l[`${p}/namespace`];
    if (name === undefined && namespace === undefined) continue;
    if (name === owner.name && namespace === owner.namespace) ours = true;
    else return { owned: false, reason: `managed by Kustomization ${namespace ?? ''}/${name ?? ''} (${p} labels)` };
  }
  return ours ? { owned: true } : { owned: false, reason: `not labelled as managed by Kustomization ${owner.namespace}/${owner.name}` };
}

/** Whether labels or annotations carry `prune: disabled` (either prefix). */
export function pruneDisabled(labels: Record<string, string> | undefined, annotations: Record<string, string> | undefined): string | undefined {
  for (const k of PRUNE_KEYS) {
    if (labels?.[k] === PRUNE_DISABLED) return `label ${k}: ${PRUNE_DISABLED}`;
    if (annotations?.[k] === PRUNE_DISABLED) return `annotation ${k}: ${PRUNE_DISABLED}`;
  }
  return undefined;
}
