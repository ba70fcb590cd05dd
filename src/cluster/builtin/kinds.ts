// The built-in kinds of the local cluster: Kubernetes 1.32's names, scopes, subresources and printer
// columns, each on the schema Kubernetes publishes for it (schemas.ts) and, where kube's registry has
// one, its own strategy (strategies.ts). Everything else (storage, SSA, watch, tables) is the generic
// registry's, exactly as for gitops.toolkit/v1.

import type { PrinterColumn, ResourceDefinition } from '../../apis/meta/resource.js';
import type { KubeObject } from '../../apis/meta/types.js';
import { formatLabelSelector, labelSelectorFromObject, SelectorError } from '../../registry/selectors/index.js';
import { apiextensionsDefinitions } from './apiextensions.js';
import { apiregistrationDefinitions } from './apiregistration.js';
import { kindSchema } from './schemas.js';
import { humanDuration } from '../../apiserver/tables.js';
import { strategies } from './strategies.js';

interface KindEntry {
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** A status subresource (status written apart from spec). */
  status?: boolean;
  /** metadata.generation kept and bumped on spec changes (the apps, batch and policy kinds). */
  generation?: boolean;
  scale?: boolean;
  verbs?: string[];
  columns?: PrinterColumn[];
  nameRule?: ResourceDefinition['nameRule'];
  /** kube's AllowUnconditionalUpdate is false for this kind: a PUT must name a resourceVersion. */
  conditionalUpdate?: boolean;
  annotationsBumpGeneration?: boolean;
  /** Field selector labels besides metadata's (kube's field label conversion funcs for the kind). */
  fields?: Record<string, string>;
}

const same = (...paths: string[]) => Object.fromEntries(paths.map((p) => [p, p]));
const EVENT_FIELDS = { ...same('involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'type'), source: 'source.component' };

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };
const CREATED_AT: PrinterColumn = { name: 'Created At', type: 'date', format: 'date-time', jsonPath: '.metadata.creationTimestamp', description: 'The time the object was created.', value: (o) => o.metadata.creationTimestamp };

type Obj = KubeObject & { spec?: Record<string, any>; status?: Record<string, any>; data?: Record<string, unknown>; binaryData?: Record<string, unknown> };
const col = (name: string, type: PrinterColumn['type'], description: string, value: (o: Obj) => unknown, priority = 0): PrinterColumn => ({
  name,
  type,
  description,
  jsonPath: '.',
  priority,
  value: value as (o: KubeObject) => unknown,
});
const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const ratio = (ready: unknown, want: unknown) => `${num(ready)}/${num(want)}`;
const none = (v: unknown) => (v === undefined || v === null || v === '' ? '<none>' : v);
const selectorText = (s: Record<string, unknown> | undefined) =>
  none(
    Object.entries(s ?? {})
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(','),
  );
const servicePorts = (o: Obj) =>
  none(
    ((o.spec?.ports ?? []) as { port: number; protocol?: string; nodePort?: number }[])
      .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
      .join(','),
  );
const condition = (o: Obj, type: string) => ((o.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === type)?.status;
const containersOf = (o: Obj) => (o.spec?.template?.spec?.containers ?? []) as { name: string; image: string }[];
/** metav1.FormatLabelSelector: a LabelSelector in its string form, `<none>` when it selects everything. */
const labelSelectorText = (s: unknown) => {
  try {
    return none(formatLabelSelector(labelSelectorFromObject(s && typeof s === 'object' ? s : {})));
  } catch (e) {
    if (e instanceof SelectorError) return '<error>';
    throw e;
  }
};
const wideSelector = col('Selector', 'string', 'The label selector.', (o) => labelSelectorText(o.spec?.selector), 1);
/** The pod's readiness gates whose condition is True, of all its gates (`<none>` without gates). */
const readinessGates = (o: Obj) => {
  const gates = (o.spec?.readinessGates ?? []) as { conditionType: string }[];
  if (!gates.length) return '<none>';
  const conditions = (o.status?.conditions ?? []) as { type: string; status: string }[];
  return `${gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length}/${gates.length}`;
};
const wideContainers = [
  col('Containers', 'string', 'Names of each container in the template.', (o) => containersOf(o).map((c) => c.name).join(','), 1),
  col('Images', 'string', 'Images referenced by each container in the template.', (o) => containersOf(o).map((c) => c.image).join(','), 1),
];

const core: KindEntry[] = [
  { kind: 'Namespace', fields: same('status.phase'), plural: 'namespaces', namespaced: false, shortNames: ['ns'], status: true, generation: false, nameRule: 'label', columns: [col('Status', 'string', 'The phase of the namespace.', (o) => o.status?.phase), AGE] },
  {
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespaced: true,
    shortNames: ['cm'],
    generation: false,
    columns: [col('Data', 'integer', 'The number of keys.', (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length), AGE],
  },
  {
    kind: 'Secret',
    fields: same('type'),
    plural: 'secrets',
    namespaced: true,
    generation: false,
    columns: [col('Type', 'string', 'The type of the secret.', (o) => (o as { type?: string }).type), col('Data', 'integer', 'The number of keys.', (o) => Object.keys(o.data ?? {}).length), AGE],
  },
  {
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    nameRule: 'dns1035-label',
    categories: ['all'],
    status: true,
    generation: false,
    columns: [
      col('Type', 'string', 'The type of the service.', (o) => o.spec?.type),
      col('Cluster-IP', 'string', 'The IP address of the service.', (o) => none(o.spec?.clusterIP)),
      col('External-IP', 'string', 'The external IP addresses of the service.', (o) => none((o.spec?.externalIPs ?? []).join(',') || o.spec?.externalName)),
      col('Port(s)', 'string', 'The ports of the service.', servicePorts),
      AGE,
      col('Selector', 'string', 'The label selector of the service.', (o) => selectorText(o.spec?.selector), 1),
    ],
  },
  {
    kind: 'Endpoints',
    plural: 'endpoints',
    namespaced: true,
    shortNames: ['ep'],
    generation: false,
    columns: [
      col('Endpoints', 'string', 'The endpoints.', (o) =>
        none(
          ((o as { subsets?: { addresses?: { ip: string }[]; ports?: { port: number }[] }[] }).subsets ?? [])
            .flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip])))
            .join(','),
        ),
      ),
      AGE,
    ],
  },
  { kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'], generation: false, columns: [col('Secrets', 'integer', 'The number of secrets.', (o) => ((o as { secrets?: unknown[] }).secrets ?? []).length), AGE] },
  {
    kind: 'Pod',
    fields: same('spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'),
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    status: true,
    generation: false,
    columns: [
      col('Ready', 'string', 'Ready containers of all containers.', (o) => ratio(((o.status?.containerStatuses ?? []) as { ready?: boolean }[]).filter((c) => c.ready).length, (o.spec?.containers ?? []).length)),
      col('Status', 'string', 'The phase of the pod (no pod runs in the local cluster).', (o) => o.status?.phase),
      col('Restarts', 'string', 'Container restarts.', () => '0'),
      AGE,
      col('IP', 'string', 'The IP address of the pod.', (o) => none(o.status?.podIP), 1),
      col('Node', 'string', 'The node the pod is bound to.', (o) => none(o.spec?.nodeName), 1),
      col('Nominated Node', 'string', 'The node the scheduler nominated for the pod.', (o) => none(o.status?.nominatedNodeName), 1),
      col('Readiness Gates', 'string', 'Readiness gates whose condition is True, of all the pod’s gates.', readinessGates, 1),
    ],
  },
  { kind: 'PodTemplate', plural: 'podtemplates', namespaced: true, generation: false, columns: [AGE] },
  {
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    shortNames: ['pvc'],
    status: true,
    generation: false,
    columns: [
      col('Status', 'string', 'The phase of the claim.', (o) => o.status?.phase),
      col('Volume', 'string', 'The bound volume.', (o) => o.spec?.volumeName ?? ''),
      col('Capacity', 'string', 'The capacity of the volume.', (o) => o.status?.capacity?.storage ?? ''),
      col('Access Modes', 'string', 'The access modes.', (o) => (o.status?.accessModes ?? []).join(',')),
      col('StorageClass', 'string', 'The storage class.', (o) => none(o.spec?.storageClassName)),
      AGE,
    ],
  },
  {
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    shortNames: ['ev'],
    generation: false,
    fields: EVENT_FIELDS,
    columns: [
      col('Type', 'string', 'The type of the event.', (o) => (o as { type?: string }).type),
      col('Reason', 'string', 'The reason of the event.', (o) => (o as { reason?: string }).reason),
      col('Object', 'string', 'The object the event is about.', (o) => {
        const io = (o as { involvedObject?: { kind?: string; name?: string } }).involvedObject;
        return `${(io?.kind ?? '').toLowerCase()}/${io?.name ?? ''}`;
      }),
      col('Message', 'string', 'The message of the event.', (o) => (o as { message?: string }).message),
    ],
  },
  { kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true, shortNames: ['quota'], status: true, generation: false, columns: [AGE] },
  { kind: 'LimitRange', plural: 'limitranges', namespaced: true, shortNames: ['limits'], generation: false, columns: [CREATED_AT] },
];

const apps: KindEntry[] = [
  {
    kind: 'Deployment',
    plural: 'deployments',
    annotationsBumpGeneration: true,
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    status: true,
    scale: true,
    columns: [
      col('Ready', 'string', 'Ready replicas of the desired ones.', (o) => ratio(o.status?.readyReplicas, o.spec?.replicas)),
      col('Up-to-date', 'integer', 'Replicas updated to the latest template.', (o) => num(o.status?.updatedReplicas)),
      col('Available', 'integer', 'Available replicas.', (o) => num(o.status?.availableReplicas)),
      AGE,
      ...wideContainers,
      wideSelector,
    ],
  },
  {
    kind: 'StatefulSet',
    plural: 'statefulsets',
    namespaced: true,
    shortNames: ['sts'],
    categories: ['all'],
    status: true,
    scale: true,
    columns: [col('Ready', 'string', 'Ready replicas of the desired ones.', (o) => ratio(o.status?.readyReplicas, o.spec?.replicas)), AGE, ...wideContainers],
  },
  {
    kind: 'DaemonSet',
    plural: 'daemonsets',
    namespaced: true,
    shortNames: ['ds'],
    categories: ['all'],
    status: true,
    columns: [
      col('Desired', 'integer', 'Nodes that should run the pod.', (o) => num(o.status?.desiredNumberScheduled)),
      col('Current', 'integer', 'Nodes running the pod.', (o) => num(o.status?.currentNumberScheduled)),
      col('Ready', 'integer', 'Nodes with the pod ready.', (o) => num(o.status?.numberReady)),
      col('Up-to-date', 'integer', 'Nodes running the latest template.', (o) => num(o.status?.updatedNumberScheduled)),
      col('Available', 'integer', 'Nodes with the pod available.', (o) => num(o.status?.numberAvailable)),
      col('Node Selector', 'string', 'The node selector of the template.', (o) => selectorText(o.spec?.template?.spec?.nodeSelector)),
      AGE,
      ...wideContainers,
      wideSelector,
    ],
  },
  {
    kind: 'ReplicaSet',
    fields: same('status.replicas'),
    plural: 'replicasets',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    status: true,
    scale: true,
    columns: [
      col('Desired', 'integer', 'Desired replicas.', (o) => num(o.spec?.replicas)),
      col('Current', 'integer', 'Current replicas.', (o) => num(o.status?.replicas)),
      col('Ready', 'integer', 'Ready replicas.', (o) => num(o.status?.readyReplicas)),
      AGE,
      ...wideContainers,
      wideSelector,
    ],
  },
  { kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true, generation: false, columns: [AGE] },
];

const batch: KindEntry[] = [
  {
    kind: 'Job',
    fields: same('status.successful'),
    plural: 'jobs',
    namespaced: true,
    categories: ['all'],
    status: true,
    columns: [
      col('Status', 'string', 'Whether the job is running, complete or failed.', (o) => (condition(o, 'Complete') === 'True' ? 'Complete' : condition(o, 'Failed') === 'True' ? 'Failed' : o.spec?.suspend ? 'Suspended' : 'Running')),
      col('Completions', 'string', 'Succeeded pods of the desired completions.', (o) => ratio(o.status?.succeeded, o.spec?.completions ?? 1)),
      col('Duration', 'string', 'How long the job has run, or ran until it completed.', (o) => {
        const start = Date.parse(o.status?.startTime ?? '');
        if (Number.isNaN(start)) return '';
        const end = Date.parse(o.status?.completionTime ?? '');
        return humanDuration((Number.isNaN(end) ? Date.now() : end) - start);
      }),
      AGE,
      ...wideContainers,
      wideSelector,
    ],
  },
  {
    kind: 'CronJob',
    plural: 'cronjobs',
    namespaced: true,
    shortNames: ['cj'],
    categories: ['all'],
    status: true,
    columns: [
      col('Schedule', 'string', 'The schedule.', (o) => o.spec?.schedule),
      col('Timezone', 'string', 'The time zone.', (o) => none(o.spec?.timeZone)),
      col('Suspend', 'boolean', 'Whether it is suspended.', (o) => !!o.spec?.suspend),
      col('Active', 'integer', 'Running jobs.', (o) => (o.status?.active ?? []).length),
      col('Last Schedule', 'string', 'When a job was last scheduled.', (o) => {
        const t = Date.parse(o.status?.lastScheduleTime ?? '');
        return Number.isNaN(t) ? '<none>' : humanDuration(Date.now() - t);
      }),
      AGE,
      col('Containers', 'string', 'Names of each container in the job template.', (o) => ((o.spec?.jobTemplate?.spec?.template?.spec?.containers ?? []) as { name: string }[]).map((c) => c.name).join(','), 1),
      col('Images', 'string', 'Images referenced by each container in the job template.', (o) => ((o.spec?.jobTemplate?.spec?.template?.spec?.containers ?? []) as { image: string }[]).map((c) => c.image).join(','), 1),
      col('Selector', 'string', 'The label selector of the job template.', (o) => labelSelectorText(o.spec?.jobTemplate?.spec?.selector), 1),
    ],
  },
];

const bindingRole = col('Role', 'string', 'The role bound.', (o) => {
  const r = (o as { roleRef?: { kind: string; name: string } }).roleRef;
  return r ? `${r.kind}/${r.name}` : '';
});
const rbac: KindEntry[] = [
  { kind: 'Role', nameRule: 'path-segment', plural: 'roles', namespaced: true, generation: false, columns: [CREATED_AT] },
  { kind: 'RoleBinding', nameRule: 'path-segment', plural: 'rolebindings', namespaced: true, generation: false, columns: [bindingRole, AGE] },
  { kind: 'ClusterRole', nameRule: 'path-segment', plural: 'clusterroles', namespaced: false, generation: false, columns: [CREATED_AT] },
  { kind: 'ClusterRoleBinding', nameRule: 'path-segment', plural: 'clusterrolebindings', namespaced: false, generation: false, columns: [bindingRole, AGE] },
];

const networking: KindEntry[] = [
  {
    kind: 'Ingress',
    plural: 'ingresses',
    namespaced: true,
    shortNames: ['ing'],
    status: true,
    columns: [
      col('Class', 'string', 'The ingress class.', (o) => none(o.spec?.ingressClassName)),
      col('Hosts', 'string', 'The hosts.', (o) => (o.spec?.rules ?? []).map((r: { host?: string }) => r.host ?? '*').join(',') || '*'),
      col('Address', 'string', 'The load balancer addresses.', (o) => (o.status?.loadBalancer?.ingress ?? []).map((i: { ip?: string; hostname?: string }) => i.ip ?? i.hostname).join(',')),
      col('Ports', 'string', 'The ports.', (o) => (o.spec?.tls?.length ? '80, 443' : '80')),
      AGE,
    ],
  },
  { kind: 'IngressClass', plural: 'ingressclasses', namespaced: false, generation: false, columns: [col('Controller', 'string', 'The controller.', (o) => o.spec?.controller), AGE] },
  { kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true, shortNames: ['netpol'], columns: [col('Pod-Selector', 'string', 'The pods selected.', (o) => selectorText(o.spec?.podSelector?.matchLabels)), AGE] },
];

const others: { group: string; entries: KindEntry[] }[] = [
  {
    group: 'policy',
    entries: [
      {
        kind: 'PodDisruptionBudget',
        conditionalUpdate: true,
        plural: 'poddisruptionbudgets',
        namespaced: true,
        shortNames: ['pdb'],
        status: true,
        columns: [
          col('Min Available', 'string', 'The minimum available pods.', (o) => none(o.spec?.minAvailable)),
          col('Max Unavailable', 'string', 'The maximum unavailable pods.', (o) => none(o.spec?.maxUnavailable)),
          col('Allowed Disruptions', 'integer', 'Disruptions allowed now.', (o) => num(o.status?.disruptionsAllowed)),
          AGE,
        ],
      },
    ],
  },
  {
    group: 'discovery.k8s.io',
    entries: [
      {
        kind: 'EndpointSlice',
        plural: 'endpointslices',
        namespaced: true,
        generation: false,
        columns: [
          col('AddressType', 'string', 'The type of the addresses.', (o) => (o as { addressType?: string }).addressType),
          col('Ports', 'string', 'The ports.', (o) => none(((o as { ports?: { port?: number }[] }).ports ?? []).map((p) => p.port).join(','))),
          col('Endpoints', 'string', 'The addresses.', (o) => none(((o as { endpoints?: { addresses: string[] }[] }).endpoints ?? []).flatMap((e) => e.addresses).join(','))),
          AGE,
        ],
      },
    ],
  },
  { group: 'coordination.k8s.io', entries: [{ kind: 'Lease', conditionalUpdate: true, plural: 'leases', namespaced: true, generation: false, columns: [col('Holder', 'string', 'The holder.', (o) => o.spec?.holderIdentity ?? ''), AGE] }] },
  { group: 'events.k8s.io', entries: [{ kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'], generation: false, columns: [AGE] }] },
  {
    group: 'admissionregistration.k8s.io',
    entries: [
      { kind: 'MutatingWebhookConfiguration', conditionalUpdate: true, plural: 'mutatingwebhookconfigurations', namespaced: false, columns: [col('Webhooks', 'integer', 'The number of webhooks.', (o) => ((o as { webhooks?: unknown[] }).webhooks ?? []).length), AGE] },
      { kind: 'ValidatingWebhookConfiguration', conditionalUpdate: true, plural: 'validatingwebhookconfigurations', namespaced: false, columns: [col('Webhooks', 'integer', 'The number of webhooks.', (o) => ((o as { webhooks?: unknown[] }).webhooks ?? []).length), AGE] },
    ],
  },
];

const groups: { group: string; version: string; entries: KindEntry[] }[] = [
  { group: '', version: 'v1', entries: core },
  { group: 'apps', version: 'v1', entries: apps },
  { group: 'batch', version: 'v1', entries: batch },
  { group: 'rbac.authorization.k8s.io', version: 'v1', entries: rbac },
  { group: 'networking.k8s.io', version: 'v1', entries: networking },
  ...others.map((o) => ({ ...o, version: 'v1' })),
];

function definitionOf(group: string, version: string, e: KindEntry): ResourceDefinition {
  const strategy = strategies[`${group}/${e.kind}`] ?? {};
  return {
    group,
    version,
    kind: e.kind,
    listKind: `${e.kind}List`,
    plural: e.plural,
    singular: e.kind.toLowerCase(),
    namespaced: e.namespaced,
    shortNames: e.shortNames ?? [],
    categories: e.categories ?? [],
    hasArtifact: false,
    hasStatus: e.status ?? false,
    generation: e.generation ?? true,
    strategicMergePatch: true,
    defaultTypeMeta: true,
    ...(e.verbs ? { verbs: e.verbs } : {}),
    ...(e.nameRule ? { nameRule: e.nameRule } : {}),
    ...(e.annotationsBumpGeneration ? { annotationsBumpGeneration: true } : {}),
    ...(e.fields ? { selectableFields: e.fields } : {}),
    unconditionalUpdate: !e.conditionalUpdate,
    ...(e.scale ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' } } : {}),
    schema: kindSchema(group, version, e.kind),
    printerColumns: e.columns ?? [AGE],
    validate: strategy.validate ?? (() => []),
    warnings: strategy.warnings ?? (() => []),
    ...(strategy.prepareForCreate ? { prepareForCreate: strategy.prepareForCreate } : {}),
    ...(strategy.prepareForUpdate ? { prepareForUpdate: strategy.prepareForUpdate } : {}),
    ...(strategy.deletion ? { deletion: strategy.deletion } : {}),
  };
}

/**
 * Every built-in kind the local cluster serves, in discovery order: core first, and within a group
 * version by resource name, as kube-apiserver registers (and lists) them — what `kubectl get all`
 * follows (pods before services, daemonsets before deployments).
 */
export function builtinDefinitions(): ResourceDefinition[] {
  const byPlural = (a: KindEntry, b: KindEntry) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0);
  return [...groups.flatMap((g) => [...g.entries].sort(byPlural).map((e) => definitionOf(g.group, g.version, e))), ...apiregistrationDefinitions(), ...apiextensionsDefinitions()];
}
