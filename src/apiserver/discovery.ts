// Discovery documents: /apis (plain APIGroupList, or aggregated apidiscovery.k8s.io v2/v2beta1),
// /apis/gitops.toolkit and /apis/gitops.toolkit/v1 — what kubectl api-resources, short names and
// categories come from.

import { createHash } from 'node:crypto';
import type { ResourceDefinition } from '../apis/meta/resource.js';
import { API_VERSION, GROUP, VERSION } from '../apis/v1/common.js';

export const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const STATUS_VERBS = ['get', 'patch', 'update'];
export const ARTIFACT_VERBS = ['get'];

const groupVersion = { groupVersion: API_VERSION, version: VERSION };

export function apiGroup() {
  return { kind: 'APIGroup', apiVersion: 'v1', name: GROUP, versions: [groupVersion], preferredVersion: groupVersion };
}

export function apiGroupList() {
  const { kind: _k, apiVersion: _a, ...group } = apiGroup();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
}

/** A short hash kube publishes so clients can notice a changed resource (storageVersionHash). */
const storageVersionHash = (def: ResourceDefinition) => createHash('sha256').update(`${GROUP}/${VERSION}/${def.kind}`).digest('base64').slice(0, 11);

export function apiResourceList(defs: ResourceDefinition[]) {
  const resources = defs.flatMap((def) => [
    {
      name: def.plural,
      singularName: def.singular,
      namespaced: true,
      kind: def.kind,
      verbs: RESOURCE_VERBS,
      ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
      categories: def.categories,
      storageVersionHash: storageVersionHash(def),
    },
    { name: `${def.plural}/status`, singularName: '', namespaced: true, kind: def.kind, verbs: STATUS_VERBS },
    ...(def.hasArtifact ? [{ name: `${def.plural}/artifact`, singularName: '', namespaced: true, kind: def.kind, verbs: ARTIFACT_VERBS }] : []),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: API_VERSION, resources };
}

export function aggregatedDiscovery(defs: ResourceDefinition[], version: 'v2' | 'v2beta1') {
  const responseKind = (def: ResourceDefinition) => ({ group: GROUP, version: VERSION, kind: def.kind });
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: [
      {
        metadata: { name: GROUP, creationTimestamp: null },
        versions: [
          {
            version: VERSION,
            resources: defs.map((def) => ({
              resource: def.plural,
              responseKind: responseKind(def),
              scope: 'Namespaced',
              singularResource: def.singular,
              verbs: RESOURCE_VERBS,
              ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
              categories: def.categories,
              subresources: [
                { subresource: 'status', responseKind: responseKind(def), verbs: STATUS_VERBS },
                ...(def.hasArtifact ? [{ subresource: 'artifact', responseKind: responseKind(def), verbs: ARTIFACT_VERBS }] : []),
              ],
            })),
            freshness: 'Current',
          },
        ],
      },
    ],
  };
}

export const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
