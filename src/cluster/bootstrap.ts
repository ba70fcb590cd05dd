// What kube-apiserver creates in every cluster at start (its post-start hooks): the four system
// namespaces, the `kubernetes` Service, and the bootstrap RBAC policy — the user-facing roles
// cluster-admin, admin, edit and view (aggregated from the system:aggregate-to-* roles, so CRDs and
// aggregated APIs extend them by label) and the system roles every authenticated user is bound to.
// Like kube, missing objects are created and existing ones left as the cluster's admins made them.

import type { KubeObject } from '../apis/meta/types.js';
import { bootstrapPolicy } from '../auth/authz/bootstrap.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import { StatusError } from '../apis/meta/errors.js';
import type { WriteContext } from '../registry/store.js';

const RBAC = 'rbac.authorization.k8s.io';
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** The first address of the service range, as kube gives the `kubernetes` Service. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

const rule = (apiGroups: string[], resources: string[], verbs: string[]) => ({ apiGroups, resources, verbs });

const viewRules = [
  rule([''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status'], READ),
  rule([''], ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status'], READ),
  rule([''], ['namespaces'], READ),
  rule(['discovery.k8s.io'], ['endpointslices'], READ),
  rule(['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'], READ),
  rule(['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], READ),
  rule(['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], READ),
  rule(['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status'], READ),
  rule(['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies'], READ),
];
const editRules = [
  rule([''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'], READ),
  rule([''], ['serviceaccounts'], ['impersonate']),
  rule([''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], WRITE),
  rule([''], ['pods/eviction'], ['create']),
  rule([''], ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy'], WRITE),
  rule([''], ['serviceaccounts/token'], ['create']),
  rule(['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale'], WRITE),
  rule(['autoscaling'], ['horizontalpodautoscalers'], WRITE),
  rule(['batch'], ['cronjobs', 'jobs'], WRITE),
  rule(['policy'], ['poddisruptionbudgets'], WRITE),
  rule(['networking.k8s.io'], ['ingresses', 'networkpolicies'], WRITE),
  rule(['coordination.k8s.io'], ['leases'], [...READ, ...WRITE]),
  rule(['discovery.k8s.io'], ['endpointslices'], WRITE),
];
const adminRules = [rule(['authorization.k8s.io'], ['localsubjectaccessreviews'], ['create']), rule([RBAC], ['rolebindings', 'roles'], [...READ, ...WRITE])];

const aggregated = (name: string, to: string[]) => ({
  kind: 'ClusterRole',
  metadata: { name },
  aggregationRule: { clusterRoleSelectors: to.map((t) => ({ matchLabels: { [`${RBAC}/aggregate-to-${t}`]: 'true' } })) },
  rules: [],
});
const aggregateTo = (name: string, into: string, rules: object[]) => ({ kind: 'ClusterRole', metadata: { name, labels: { [`${RBAC}/aggregate-to-${into}`]: 'true' } }, rules });

/** The bootstrap RBAC objects, as stored objects of rbac.authorization.k8s.io/v1. */
export function bootstrapRBAC(): KubeObject[] {
  const objects: Record<string, unknown>[] = [
    ...(bootstrapPolicy() as unknown as Record<string, unknown>[]),
    {
      kind: 'ClusterRole',
      metadata: { name: 'cluster-admin' },
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ],
    },
    { kind: 'ClusterRoleBinding', metadata: { name: 'cluster-admin' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ apiGroup: RBAC, kind: 'Group', name: 'system:masters' }] },
    aggregated('admin', ['admin']),
    aggregated('edit', ['edit']),
    aggregated('view', ['view']),
    // kube chains them: whatever view may, edit may; whatever edit may, admin may.
    aggregateTo('system:aggregate-to-admin', 'admin', adminRules),
    { kind: 'ClusterRole', metadata: { name: 'system:aggregate-to-edit', labels: { [`${RBAC}/aggregate-to-admin`]: 'true', [`${RBAC}/aggregate-to-edit`]: 'true' } }, rules: editRules },
    { kind: 'ClusterRole', metadata: { name: 'system:aggregate-to-view', labels: { [`${RBAC}/aggregate-to-admin`]: 'true', [`${RBAC}/aggregate-to-edit`]: 'true', [`${RBAC}/aggregate-to-view`]: 'true' } }, rules: viewRules },
    {
      kind: 'ClusterRole',
      metadata: { name: 'system:public-info-viewer' },
      rules: [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }],
    },
    {
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:public-info-viewer' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:public-info-viewer' },
      subjects: [
        { apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' },
        { apiGroup: RBAC, kind: 'Group', name: 'system:unauthenticated' },
      ],
    },
    // Aggregated API servers read the front-proxy settings from kube-system with this role (their manifests bind it).
    {
      kind: 'Role',
      metadata: { name: 'extension-apiserver-authentication-reader', namespace: 'kube-system' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['extension-apiserver-authentication'], verbs: ['get', 'list', 'watch'] }],
    },
  ];
  return objects.map((o) => ({ apiVersion: `${RBAC}/v1`, ...o }) as KubeObject);
}

const systemContext = (): WriteContext => ({ dryRun: false, fieldManager: 'kube-apiserver', fieldValidation: 'Strict', warnings: [] });

/** Creates `obj` unless an object of that name exists. */
export async function ensureObject(stores: ResourceStores, group: string, plural: string, obj: KubeObject): Promise<void> {
  const store = stores.get(group, 'v1', plural);
  if (!store) throw new Error(`bootstrap: ${group}/v1 ${plural} is not served`);
  try {
    await store.create(obj.metadata.namespace ?? '', structuredClone(obj), systemContext());
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 409)) throw e;
  }
}

/** The namespaces, the `kubernetes` Service and the RBAC policy of a new cluster. */
export async function bootstrapCluster(stores: ResourceStores, o: { apiServerPort: number }): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) await ensureObject(stores, '', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await ensureObject(stores, '', 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: KUBERNETES_SERVICE_IP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.apiServerPort }], sessionAffinity: 'None', type: 'ClusterIP' },
  } as KubeObject);
  for (const obj of bootstrapRBAC()) {
    const plural = { Role: 'roles', RoleBinding: 'rolebindings', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings' }[obj.kind]!;
    await ensureObject(stores, RBAC, plural, obj);
  }
}
