// Discovery documents for any set of group versions: /api and /apis (plain, or aggregated
// apidiscovery.k8s.io v2/v2beta1), /apis/<group>, /apis/<group>/<version> and /api/v1 — what kubectl
// api-resources, short names and categories come from.

import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceDefinition } from '../apis/meta/resource.js';

export const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const STATUS_VERBS = ['get', 'patch', 'update'];
export const ARTIFACT_VERBS = ['get'];
/** A view (ResourceDefinition.views) is read-only. */
export const VIEW_VERBS = ['get'];

/** One served group version and its kinds. */
export interface GroupVersionResources {
  group: string;
  version: string;
  defs: ResourceDefinition[];
}

/** The groups of `gvs` (not the core group, which is /api's), each with its versions; the first is preferred. */
function groups(gvs: GroupVersionResources[]) {
  const out = new Map<string, { groupVersion: string; version: string }[]>();
  for (const gv of gvs) {
    if (!gv.group) continue;
    const versions = out.get(gv.group) ?? [];
    versions.push({ groupVersion: apiVersionOf(gv), version: gv.version });
    out.set(gv.group, versions);
  }
  return [...out].map(([name, versions]) => ({ name, versions, preferredVersion: versions[0] }));
}

/** /apis/<group>; undefined when the group is not served. */
export function apiGroup(gvs: GroupVersionResources[], group: string) {
  const g = groups(gvs).find((x) => x.name === group);
  return g && { kind: 'APIGroup', apiVersion: 'v1', ...g };
}

export function apiGroupList(gvs: GroupVersionResources[]) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups(gvs) };
}

/** /api: the core group's versions. */
export function apiVersions(gvs: GroupVersionResources[]) {
  return { kind: 'APIVersions', versions: gvs.filter((g) => !g.group).map((g) => g.version), serverAddressByClientCIDRs: null };
}

/** A short hash kube publishes so clients can notice a changed resource (storageVersionHash). */
const storageVersionHash = (def: ResourceDefinition) => createHash('sha256').update(`${def.group}/${def.version}/${def.kind}`).digest('base64').slice(0, 11);

/** The subresources a kind serves, with their verbs. */
/** In name order, as kube-apiserver lists them (deployments/scale before deployments/status). */
function subresources(def: ResourceDefinition): { name: string; verbs: string[]; kind?: { group: string; version: string; kind: string } }[] {
  return [
    ...(def.hasStatus !== false ? [{ name: 'status', verbs: STATUS_VERBS }] : []),
    ...(def.scale ? [{ name: 'scale', verbs: STATUS_VERBS, kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } }] : []),
    ...(def.hasArtifact ? [{ name: 'artifact', verbs: ARTIFACT_VERBS }] : []),
    ...(def.actions ?? []).map((a) => ({ name: a.name, verbs: ['create'], kind: a.kind })),
    ...(def.views ?? []).map((v) => ({ name: v.name, verbs: VIEW_VERBS })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function apiResourceList(gv: GroupVersionResources) {
  const resources = gv.defs.flatMap((def) => [
    {
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: def.verbs ?? RESOURCE_VERBS,
      ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
      ...(def.categories.length ? { categories: def.categories } : {}),
      storageVersionHash: storageVersionHash(def),
    },
    ...subresources(def).map((sub) => ({
      name: `${def.plural}/${sub.name}`,
      singularName: '',
      namespaced: def.namespaced,
      ...(sub.kind ? { group: sub.kind.group, version: sub.kind.version } : {}),
      kind: sub.kind?.kind ?? def.kind,
      verbs: sub.verbs,
    })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(gv), resources };
}

/** Aggregated discovery (apidiscovery.k8s.io): `core` picks /api's document (the core group) or /apis's (all others). */
export function aggregatedDiscovery(gvs: GroupVersionResources[], version: 'v2' | 'v2beta1', core = false) {
  const responseKind = (def: ResourceDefinition) => ({ group: def.group, version: def.version, kind: def.kind });
  const byGroup = new Map<string, GroupVersionResources[]>();
  for (const gv of gvs) if (!gv.group === core) byGroup.set(gv.group, [...(byGroup.get(gv.group) ?? []), gv]);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: [...byGroup].map(([group, versions]) => ({
      metadata: { ...(group ? { name: group } : {}), creationTimestamp: null },
      versions: versions.map((gv) => ({
        version: gv.version,
        resources: gv.defs.map((def) => ({
          resource: def.plural,
          responseKind: responseKind(def),
          scope: def.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: def.singular,
          verbs: def.verbs ?? RESOURCE_VERBS,
          ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
          ...(def.categories.length ? { categories: def.categories } : {}),
          subresources: subresources(def).map((sub) => ({ subresource: sub.name, responseKind: sub.kind ?? responseKind(def), verbs: sub.verbs })),
        })),
        freshness: 'Current',
      })),
    })),
  };
}

export const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
