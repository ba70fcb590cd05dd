/**
 * Hand-written `default`s for the built-in kinds, laid over the generated schemas.
 *
 * kube-apiserver defaults built-in objects in Go (the SetDefaults_* functions of
 * k8s.io/kubernetes/pkg/apis/<group>/<version>/defaults.go), not from the OpenAPI schema; its published
 * /openapi/v2 carries no `default`s at all. Our registry defaults from the schema (ajv useDefaults), so
 * the unconditional part of those functions is restated here, one entry per field, each naming the
 * function it mirrors. ajv applies a `default` only where the parent object exists: `spec.replicas`
 * is filled in when `spec` is there. Conditional defaults stay with code, noted per entry or below:
 *
 *  - Container.imagePullPolicy: kube sets `Always` when the image has no tag or the tag `:latest`,
 *    `IfNotPresent` otherwise; the schema says IfNotPresent and code must correct it for :latest.
 *  - ServicePort.targetPort = port; Service internalTrafficPolicy `Cluster` for non-ExternalName types;
 *    Job completions/parallelism (each 1 unless the other is set), podReplacementPolicy; Volume with
 *    no source → emptyDir; ResourceRequirements requests ← limits; hostPort ← containerPort under
 *    hostNetwork; PodSpec.enableServiceLinks (SetDefaults_Pod: Pods only, not templates);
 *    rbac Subject.apiGroup (by kind); NetworkPolicy policyTypes.
 *
 * `definition` is a kube OpenAPI definition name, `property` one of its (flattened) properties.
 */
export interface DefaultEntry {
  definition: string;
  property: string;
  default: unknown;
  /** The kube function this mirrors, e.g. `core/v1 SetDefaults_PodSpec`. */
  mirrors: string;
}

const core = (t: string) => `io.k8s.api.core.v1.${t}`;
const apps = (t: string) => `io.k8s.api.apps.v1.${t}`;
const batch = (t: string) => `io.k8s.api.batch.v1.${t}`;
const admission = (t: string) => `io.k8s.api.admissionregistration.v1.${t}`;

const containerDefaults = (definition: string, mirrors: string): DefaultEntry[] => [
  { definition, property: 'terminationMessagePath', default: '/dev/termination-log', mirrors },
  { definition, property: 'terminationMessagePolicy', default: 'File', mirrors },
  // Always for an image without a tag or with :latest: left to code (see above).
  { definition, property: 'imagePullPolicy', default: 'IfNotPresent', mirrors },
];

const webhookDefaults = (definition: string, mirrors: string): DefaultEntry[] => [
  { definition, property: 'failurePolicy', default: 'Fail', mirrors },
  { definition, property: 'matchPolicy', default: 'Equivalent', mirrors },
  { definition, property: 'namespaceSelector', default: {}, mirrors },
  { definition, property: 'objectSelector', default: {}, mirrors },
  { definition, property: 'timeoutSeconds', default: 10, mirrors },
];

export const DEFAULTS: DefaultEntry[] = [
  // ---- core/v1 (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go)
  { definition: core('ContainerPort'), property: 'protocol', default: 'TCP', mirrors: 'core/v1 SetDefaults_ContainerPort' },
  { definition: core('ServicePort'), property: 'protocol', default: 'TCP', mirrors: 'core/v1 SetDefaults_Service (ports loop)' },
  { definition: core('EndpointPort'), property: 'protocol', default: 'TCP', mirrors: 'core/v1 SetDefaults_EndpointPort' },
  ...containerDefaults(core('Container'), 'core/v1 SetDefaults_Container'),
  ...containerDefaults(core('EphemeralContainer'), 'core/v1 SetDefaults_EphemeralContainer (→ SetDefaults_Container)'),
  { definition: core('PodSpec'), property: 'restartPolicy', default: 'Always', mirrors: 'core/v1 SetDefaults_PodSpec' },
  { definition: core('PodSpec'), property: 'dnsPolicy', default: 'ClusterFirst', mirrors: 'core/v1 SetDefaults_PodSpec' },
  { definition: core('PodSpec'), property: 'schedulerName', default: 'default-scheduler', mirrors: 'core/v1 SetDefaults_PodSpec' },
  { definition: core('PodSpec'), property: 'terminationGracePeriodSeconds', default: 30, mirrors: 'core/v1 SetDefaults_PodSpec' },
  { definition: core('PodSpec'), property: 'securityContext', default: {}, mirrors: 'core/v1 SetDefaults_PodSpec' },
  { definition: core('ServiceSpec'), property: 'type', default: 'ClusterIP', mirrors: 'core/v1 SetDefaults_Service' },
  { definition: core('ServiceSpec'), property: 'sessionAffinity', default: 'None', mirrors: 'core/v1 SetDefaults_Service' },
  { definition: core('Probe'), property: 'timeoutSeconds', default: 1, mirrors: 'core/v1 SetDefaults_Probe' },
  { definition: core('Probe'), property: 'periodSeconds', default: 10, mirrors: 'core/v1 SetDefaults_Probe' },
  { definition: core('Probe'), property: 'successThreshold', default: 1, mirrors: 'core/v1 SetDefaults_Probe' },
  { definition: core('Probe'), property: 'failureThreshold', default: 3, mirrors: 'core/v1 SetDefaults_Probe' },
  { definition: core('HTTPGetAction'), property: 'path', default: '/', mirrors: 'core/v1 SetDefaults_HTTPGetAction' },
  { definition: core('HTTPGetAction'), property: 'scheme', default: 'HTTP', mirrors: 'core/v1 SetDefaults_HTTPGetAction' },
  { definition: core('ObjectFieldSelector'), property: 'apiVersion', default: 'v1', mirrors: 'core/v1 SetDefaults_ObjectFieldSelector' },
  { definition: core('SecretVolumeSource'), property: 'defaultMode', default: 0o644, mirrors: 'core/v1 SetDefaults_SecretVolumeSource' },
  { definition: core('ConfigMapVolumeSource'), property: 'defaultMode', default: 0o644, mirrors: 'core/v1 SetDefaults_ConfigMapVolumeSource' },
  { definition: core('DownwardAPIVolumeSource'), property: 'defaultMode', default: 0o644, mirrors: 'core/v1 SetDefaults_DownwardAPIVolumeSource' },
  { definition: core('ProjectedVolumeSource'), property: 'defaultMode', default: 0o644, mirrors: 'core/v1 SetDefaults_ProjectedVolumeSource' },
  { definition: core('Secret'), property: 'type', default: 'Opaque', mirrors: 'core/v1 SetDefaults_Secret' },
  { definition: core('PersistentVolumeClaimSpec'), property: 'volumeMode', default: 'Filesystem', mirrors: 'core/v1 SetDefaults_PersistentVolumeClaimSpec' },

  // ---- apps/v1 (k8s.io/kubernetes/pkg/apis/apps/v1/defaults.go)
  { definition: apps('DeploymentSpec'), property: 'replicas', default: 1, mirrors: 'apps/v1 SetDefaults_Deployment' },
  { definition: apps('DeploymentSpec'), property: 'revisionHistoryLimit', default: 10, mirrors: 'apps/v1 SetDefaults_Deployment' },
  { definition: apps('DeploymentSpec'), property: 'progressDeadlineSeconds', default: 600, mirrors: 'apps/v1 SetDefaults_Deployment' },
  // Strategy: RollingUpdate 25%/25% when absent; a given strategy with type RollingUpdate but no
  // rollingUpdate gets its 25%s from code.
  { definition: apps('DeploymentSpec'), property: 'strategy', default: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } }, mirrors: 'apps/v1 SetDefaults_Deployment' },
  { definition: apps('DeploymentStrategy'), property: 'type', default: 'RollingUpdate', mirrors: 'apps/v1 SetDefaults_Deployment' },
  { definition: apps('RollingUpdateDeployment'), property: 'maxUnavailable', default: '25%', mirrors: 'apps/v1 SetDefaults_Deployment' },
  { definition: apps('RollingUpdateDeployment'), property: 'maxSurge', default: '25%', mirrors: 'apps/v1 SetDefaults_Deployment' },
  { definition: apps('StatefulSetSpec'), property: 'replicas', default: 1, mirrors: 'apps/v1 SetDefaults_StatefulSet' },
  { definition: apps('StatefulSetSpec'), property: 'podManagementPolicy', default: 'OrderedReady', mirrors: 'apps/v1 SetDefaults_StatefulSet' },
  { definition: apps('StatefulSetSpec'), property: 'revisionHistoryLimit', default: 10, mirrors: 'apps/v1 SetDefaults_StatefulSet' },
  { definition: apps('StatefulSetSpec'), property: 'updateStrategy', default: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, mirrors: 'apps/v1 SetDefaults_StatefulSet' },
  { definition: apps('StatefulSetSpec'), property: 'persistentVolumeClaimRetentionPolicy', default: { whenDeleted: 'Retain', whenScaled: 'Retain' }, mirrors: 'apps/v1 SetDefaults_StatefulSet (StatefulSetAutoDeletePVC, beta on in 1.32)' },
  { definition: apps('DaemonSetSpec'), property: 'revisionHistoryLimit', default: 10, mirrors: 'apps/v1 SetDefaults_DaemonSet' },
  { definition: apps('DaemonSetSpec'), property: 'updateStrategy', default: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, mirrors: 'apps/v1 SetDefaults_DaemonSet' },
  { definition: apps('ReplicaSetSpec'), property: 'replicas', default: 1, mirrors: 'apps/v1 SetDefaults_ReplicaSet' },

  // ---- batch/v1 (k8s.io/kubernetes/pkg/apis/batch/v1/defaults.go)
  // backoffLimit is 6 unless backoffLimitPerIndex is set (then MaxInt32): the usual case here, the other in code.
  { definition: batch('JobSpec'), property: 'backoffLimit', default: 6, mirrors: 'batch/v1 SetDefaults_Job' },
  { definition: batch('JobSpec'), property: 'completionMode', default: 'NonIndexed', mirrors: 'batch/v1 SetDefaults_Job' },
  { definition: batch('JobSpec'), property: 'suspend', default: false, mirrors: 'batch/v1 SetDefaults_Job' },
  { definition: batch('CronJobSpec'), property: 'concurrencyPolicy', default: 'Allow', mirrors: 'batch/v1 SetDefaults_CronJob' },
  { definition: batch('CronJobSpec'), property: 'suspend', default: false, mirrors: 'batch/v1 SetDefaults_CronJob' },
  { definition: batch('CronJobSpec'), property: 'successfulJobsHistoryLimit', default: 3, mirrors: 'batch/v1 SetDefaults_CronJob' },
  { definition: batch('CronJobSpec'), property: 'failedJobsHistoryLimit', default: 1, mirrors: 'batch/v1 SetDefaults_CronJob' },

  // ---- discovery.k8s.io/v1, networking.k8s.io/v1
  { definition: 'io.k8s.api.discovery.v1.EndpointPort', property: 'protocol', default: 'TCP', mirrors: 'discovery/v1 SetDefaults_EndpointPort' },
  { definition: 'io.k8s.api.networking.v1.NetworkPolicyPort', property: 'protocol', default: 'TCP', mirrors: 'networking/v1 SetDefaults_NetworkPolicyPort' },

  // ---- admissionregistration.k8s.io/v1 (k8s.io/kubernetes/pkg/apis/admissionregistration/v1/defaults.go)
  ...webhookDefaults(admission('ValidatingWebhook'), 'admissionregistration/v1 SetDefaults_ValidatingWebhook'),
  ...webhookDefaults(admission('MutatingWebhook'), 'admissionregistration/v1 SetDefaults_MutatingWebhook'),
  { definition: admission('MutatingWebhook'), property: 'reinvocationPolicy', default: 'Never', mirrors: 'admissionregistration/v1 SetDefaults_MutatingWebhook' },
  { definition: admission('RuleWithOperations'), property: 'scope', default: '*', mirrors: 'admissionregistration/v1 SetDefaults_Rule' },
  { definition: admission('ServiceReference'), property: 'port', default: 443, mirrors: 'admissionregistration/v1 SetDefaults_ServiceReference' },
];
