// Staging and ordering of the objects of one apply, as Flux's ssa ResourceManager does: cluster
// definitions (CustomResourceDefinitions, Namespaces, ClusterRoles) first and waited for, then
// class-like kinds (StorageClass, IngressClass, GatewayClass, …), then the rest; inside a stage by kind
// order (../kind-order.ts: the one pruning reverses), then group, kind, namespace and name.

import { parseApiVersion, type KubeObject } from '../../kube/client.js';
import { kindRank } from '../kind-order.js';

const kindIndex = kindRank;
const groupOf = (o: KubeObject) => parseApiVersion(o.apiVersion ?? '').group;

export function isCRD(o: KubeObject): boolean {
  return o.kind === 'CustomResourceDefinition' && groupOf(o) === 'apiextensions.k8s.io';
}

export function isNamespace(o: KubeObject): boolean {
  return o.kind === 'Namespace' && o.apiVersion === 'v1';
}

/** Flux's cluster definitions: CustomResourceDefinitions, Namespaces and ClusterRoles. */
export function isClusterDefinition(o: KubeObject): boolean {
  return isCRD(o) || isNamespace(o) || (o.kind === 'ClusterRole' && groupOf(o) === 'rbac.authorization.k8s.io');
}

/** Flux's class definitions: every kind named `…Class`. */
export function isClassDefinition(o: KubeObject): boolean {
  return (o.kind ?? '').endsWith('Class');
}

/** Kind order, then group, kind, namespace and name (a stable, input-independent order). */
export function compareObjects(a: KubeObject, b: KubeObject): number {
  const ka = a.kind ?? '';
  const kb = b.kind ?? '';
  const ga = groupOf(a);
  const gb = groupOf(b);
  if (ka !== kb || ga !== gb) {
    const ia = kindIndex(ka);
    const ib = kindIndex(kb);
    if (ia !== ib) return ia - ib;
    if (ga !== gb) return ga < gb ? -1 : 1;
    return ka < kb ? -1 : 1;
  }
  const na = a.metadata?.namespace ?? '';
  const nb = b.metadata?.namespace ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  const ma = a.metadata?.name ?? '';
  const mb = b.metadata?.name ?? '';
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

export function sortObjects<T extends KubeObject>(objects: T[]): T[] {
  return [...objects].sort(compareObjects);
}

/** The three stages of a staged apply, each sorted. */
export function stagesOf<T extends KubeObject>(objects: T[]): { definitions: T[]; classes: T[]; rest: T[] } {
  const definitions: T[] = [];
  const classes: T[] = [];
  const rest: T[] = [];
  for (const o of objects) (isClusterDefinition(o) ? definitions : isClassDefinition(o) ? classes : rest).push(o);
  return { definitions: sortObjects(definitions), classes: sortObjects(classes), rest: sortObjects(rest) };
}
