// The order kinds are applied in, after fluxcd/pkg ssa's ReconcileOrder: definitions and namespaces
// first, then cluster-wide classes, RBAC, configuration, workloads; kinds not listed (custom resources
// among them) after those, and admission webhooks last. Shared by the staged apply (src/apply/ssa) and
// pruning (src/apply/inventory), which deletes in the reverse.

const FIRST = [
  'CustomResourceDefinition',
  'Namespace',
  'ClusterClass',
  'RuntimeClass',
  'PriorityClass',
  'StorageClass',
  'VolumeSnapshotClass',
  'IngressClass',
  'GatewayClass',
  'ResourceQuota',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'LimitRange',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

/** The rank of a kind in apply order (lower first). */
export function kindRank(kind: string): number {
  const f = FIRST.indexOf(kind);
  if (f >= 0) return f;
  const l = LAST.indexOf(kind);
  return l >= 0 ? FIRST.length + 1 + l : FIRST.length;
}

