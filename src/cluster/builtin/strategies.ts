// What kube's registry does per built-in kind beyond the generic store: the PrepareForCreate/Update,
// validation and deletion rules of pkg/registry/<group>/<kind>/strategy.go that clients can see — a
// Namespace's phase and finalizer, a Service's cluster IP and target ports, a Secret's stringData, the
// workload kinds' selector rules. Only what an API-only cluster needs: nothing here runs a Pod.

import { randomInt, randomUUID } from 'node:crypto';
import type { FieldError, ResourceDefinition } from '../../apis/meta/resource.js';
import type { KubeObject } from '../../apis/meta/types.js';

export type Strategy = Partial<Pick<ResourceDefinition, 'validate' | 'warnings' | 'prepareForCreate' | 'prepareForUpdate' | 'deletion'>>;

type Any = Record<string, any>;
const spec = (o: KubeObject) => ((o as Any).spec ??= {}) as Any;

/** The finalizer kube puts in every Namespace's spec: the namespace controller removes it once the namespace is empty. */
export const NAMESPACE_FINALIZER = 'kubernetes';
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const namespace: Strategy = {
  prepareForCreate(o) {
    const s = spec(o);
    s.finalizers = [NAMESPACE_FINALIZER];
    (o as Any).status = { phase: 'Active' };
    o.metadata.labels = { ...o.metadata.labels, [NAMESPACE_NAME_LABEL]: o.metadata.name! };
  },
  prepareForUpdate(o, old, subresource) {
    // spec.finalizers change through /finalize only (the namespace controller here).
    if (subresource !== 'status') spec(o).finalizers = (old as Any).spec?.finalizers ?? [];
    o.metadata.labels = { ...o.metadata.labels, [NAMESPACE_NAME_LABEL]: o.metadata.name! };
    // A terminating namespace stays Terminating whatever a client writes.
    if (old.metadata.deletionTimestamp) (o as Any).status = { ...(o as Any).status, phase: 'Terminating' };
  },
  deletion: {
    holds: (o) => ((o as Any).spec?.finalizers ?? []).length > 0,
    terminating(o) {
      (o as Any).status = { ...(o as Any).status, phase: 'Terminating' };
    },
  },
};

/** A random address of kube's default service range 10.96.0.0/12, skipping the network and the API server's .1. */
function clusterIP(): string {
  const n = randomInt(2, 1 << 20);
  return `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

const service: Strategy = {
  prepareForCreate(o) {
    const s = spec(o);
    s.type ??= 'ClusterIP';
    s.sessionAffinity ??= 'None';
    for (const p of (s.ports ?? []) as Any[]) {
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined && s.type !== 'ExternalName') p.targetPort = p.port;
      if ((s.type === 'NodePort' || s.type === 'LoadBalancer') && !p.nodePort) p.nodePort = randomInt(30000, 32768);
    }
    if (s.type !== 'ExternalName') {
      if (!s.clusterIP) s.clusterIP = s.clusterIPs?.[0] ?? clusterIP();
      s.clusterIPs ??= [s.clusterIP];
      if (s.clusterIP !== 'None') {
        s.ipFamilies ??= ['IPv4'];
        s.ipFamilyPolicy ??= 'SingleStack';
      }
      s.internalTrafficPolicy ??= 'Cluster';
    }
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
    (o as Any).status = { loadBalancer: {} };
  },
  prepareForUpdate(o, old, subresource) {
    if (subresource === 'status') return;
    const s = spec(o);
    const was = (old as Any).spec ?? {};
    // The allocated IP stays unless the client names one (changing it is refused below).
    if (s.type !== 'ExternalName' && was.clusterIP) {
      s.clusterIP ??= was.clusterIP;
      s.clusterIPs ??= was.clusterIPs;
      if (s.clusterIP !== 'None') {
        s.ipFamilies ??= was.ipFamilies;
        s.ipFamilyPolicy ??= was.ipFamilyPolicy;
      }
      s.internalTrafficPolicy ??= was.internalTrafficPolicy ?? 'Cluster';
    }
    s.type ??= 'ClusterIP';
    s.sessionAffinity ??= 'None';
    const oldPorts = new Map(((was.ports ?? []) as Any[]).map((p) => [`${p.port}/${p.protocol ?? 'TCP'}`, p]));
    for (const p of (s.ports ?? []) as Any[]) {
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined && s.type !== 'ExternalName') p.targetPort = p.port;
      if ((s.type === 'NodePort' || s.type === 'LoadBalancer') && !p.nodePort) p.nodePort = oldPorts.get(`${p.port}/${p.protocol}`)?.nodePort ?? randomInt(30000, 32768);
    }
  },
  validate(o, old) {
    const s = (o as Any).spec ?? {};
    const errors: FieldError[] = [];
    if (s.type !== 'ExternalName' && !(s.ports ?? []).length && s.clusterIP !== 'None') errors.push({ type: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' });
    const was = (old as Any | undefined)?.spec;
    if (was?.clusterIP && s.clusterIP !== was.clusterIP && s.type !== 'ExternalName' && was.type !== 'ExternalName')
      errors.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', value: s.clusterIP, message: 'may not change once set' });
    errors.push(...servicePortErrors((s.ports ?? []) as Any[]));
    return errors;
  },
};

const PORT_RANGE = 'must be between 1 and 65535, inclusive';
const IANA_SVC_NAME = /^(?=.{1,15}$)(?!-)(?!.*--)[a-z0-9-]*[a-z][a-z0-9-]*(?<!-)$/;

/** kube's ValidateService port rules: port and nodePort ranges, targetPort a port or an IANA name, unique names (the protocol is the schema's enum). */
function servicePortErrors(ports: Any[]): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) errors.push({ type: 'FieldValueInvalid', field: `${f}.port`, value: p.port, message: PORT_RANGE });
    if (p.nodePort !== undefined && p.nodePort !== 0 && (!Number.isInteger(p.nodePort) || p.nodePort < 1 || p.nodePort > 65535))
      errors.push({ type: 'FieldValueInvalid', field: `${f}.nodePort`, value: p.nodePort, message: PORT_RANGE });
    const t = p.targetPort;
    if (typeof t === 'number' && (!Number.isInteger(t) || t < 1 || t > 65535)) errors.push({ type: 'FieldValueInvalid', field: `${f}.targetPort`, value: t, message: PORT_RANGE });
    if (typeof t === 'string' && !IANA_SVC_NAME.test(t))
      errors.push({ type: 'FieldValueInvalid', field: `${f}.targetPort`, value: t, message: 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters, at least one letter, no hyphen at either end or next to another' });
    if (ports.length > 1 && !p.name) errors.push({ type: 'FieldValueRequired', field: `${f}.name`, message: 'Required value' });
    if (p.name) {
      if (names.has(p.name)) errors.push({ type: 'FieldValueDuplicate', field: `${f}.name`, value: p.name, message: 'Duplicate value' });
      names.add(p.name);
    }
  });
  return errors;
}

const secret: Strategy = {
  prepareForCreate: secretData,
  prepareForUpdate: (o) => secretData(o),
  validate(o, old) {
    const type = (o as Any).type;
    if (old && (old as Any).type !== type) return [{ type: 'FieldValueInvalid', field: 'type', value: type, message: 'field is immutable' }];
    return [];
  },
};

/** stringData is write-only: merged into data, base64-encoded, then dropped (kube's Secret strategy). */
function secretData(o: KubeObject): void {
  const s = o as Any;
  s.type ??= 'Opaque';
  if (s.stringData && typeof s.stringData === 'object') {
    s.data ??= {};
    for (const [k, v] of Object.entries(s.stringData)) if (typeof v === 'string') s.data[k] = Buffer.from(v, 'utf8').toString('base64');
  }
  delete s.stringData;
}

const pod: Strategy = {
  prepareForCreate(o) {
    // Stored, never run: the pod stays Pending, as on a cluster with no nodes, and says why (what
    // kube's scheduler writes when no node fits).
    (o as Any).status = {
      phase: 'Pending',
      qosClass: 'BestEffort',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'the local cluster has no nodes: Pods are stored and never run', lastTransitionTime: o.metadata.creationTimestamp }],
    };
  },
};

/** apps/v1: a selector is required, must match the template's labels, and cannot change. */
function selectorRules(kind: string): Strategy['validate'] {
  return (o, old) => {
    const s = (o as Any).spec ?? {};
    const errors: FieldError[] = [];
    const sel = s.selector;
    if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
      errors.push({ type: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' });
      return errors;
    }
    const labels = s.template?.metadata?.labels ?? {};
    if (!selectorMatches(sel, labels)) errors.push({ type: 'FieldValueInvalid', field: 'spec.template.metadata.labels', value: labels, message: '`selector` does not match template `labels`' });
    const was = (old as Any | undefined)?.spec?.selector;
    if (was && JSON.stringify(was) !== JSON.stringify(sel)) errors.push({ type: 'FieldValueInvalid', field: 'spec.selector', value: sel, message: 'field is immutable' });
    if (kind !== 'DaemonSet' && typeof s.replicas === 'number' && s.replicas < 0) errors.push({ type: 'FieldValueInvalid', field: 'spec.replicas', value: s.replicas, message: 'must be greater than or equal to 0' });
    if (!(s.template?.spec?.containers ?? []).length) errors.push({ type: 'FieldValueRequired', field: 'spec.template.spec.containers', message: 'Required value' });
    return errors;
  };
}

/** A metav1.LabelSelector against a label set: matchLabels and the four operators. */
export function selectorMatches(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/**
 * The parts of apps/v1 SetDefaults_Deployment/DaemonSet/StatefulSet that a schema `default` cannot
 * say, because they hang on the strategy's type: a RollingUpdate strategy gets its parameters whether
 * or not the client sent a strategy (the schema's default covers only a missing one). Run on create
 * and on every update, as kube defaults every decoded object: a server-side apply that drops a field
 * kube had defaulted (kubectl's client-side-to-server-side upgrade does) gets it back unchanged.
 */
const updateDefaults: Record<string, (s: Any) => void> = {
  Deployment(s) {
    const st = (s.strategy ??= {});
    st.type ??= 'RollingUpdate';
    if (st.type !== 'RollingUpdate') return;
    const ru = (st.rollingUpdate ??= {});
    ru.maxUnavailable ??= '25%';
    ru.maxSurge ??= '25%';
  },
  DaemonSet(s) {
    const st = (s.updateStrategy ??= {});
    st.type ??= 'RollingUpdate';
    if (st.type !== 'RollingUpdate') return;
    const ru = (st.rollingUpdate ??= {});
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  },
  StatefulSet(s) {
    const st = (s.updateStrategy ??= {});
    if (st.type == null) {
      st.type = 'RollingUpdate';
      st.rollingUpdate ??= {};
    }
    if (st.type === 'RollingUpdate' && st.rollingUpdate != null) st.rollingUpdate.partition ??= 0;
  },
};

const workload = (kind: string): Strategy => ({
  validate: selectorRules(kind),
  prepareForCreate(o) {
    if (kind !== 'DaemonSet') spec(o).replicas ??= 1;
    updateDefaults[kind]?.(spec(o));
  },
  prepareForUpdate(o, _old, subresource) {
    if (subresource !== 'status') updateDefaults[kind]?.(spec(o));
  },
});

/**
 * apps/v1 Deployment (pkg/registry/apps/deployment/strategy.go): PrepareForCreate resets the status to
 * apps.DeploymentStatus{}, which kube writes as `{}` (every field omitempty, the struct never omitted).
 */
const deploymentWorkload = workload('Deployment');
const deployment: Strategy = {
  ...deploymentWorkload,
  prepareForCreate(o) {
    deploymentWorkload.prepareForCreate!(o);
    (o as Any).status = {};
  },
};

/** batch/v1 Job: the selector and the template's labels are generated from the Job's uid, as kube does unless manualSelector. */
const job: Strategy = {
  prepareForCreate(o) {
    const s = spec(o);
    if (s.manualSelector) return;
    const uid = o.metadata.uid ?? randomUUID();
    const name = o.metadata.name!;
    s.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const t = (s.template ??= {});
    t.metadata ??= {};
    t.metadata.labels = { ...t.metadata.labels, 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
    s.suspend ??= false;
    s.parallelism ??= 1;
    s.completions ??= 1;
    s.podReplacementPolicy ??= 'TerminatingOrFailed';
  },
  prepareForUpdate(o, old, subresource) {
    if (subresource === 'status') return;
    const s = spec(o);
    const was = (old as Any).spec ?? {};
    // Generated fields a client does not send again (kubectl apply) are kept.
    s.selector ??= was.selector;
    const t = (s.template ??= {});
    t.metadata ??= {};
    t.metadata.labels = { ...(was.template?.metadata?.labels ?? {}), ...t.metadata.labels };
  },
  validate(o, old) {
    const was = (old as Any | undefined)?.spec;
    if (!was) return [];
    const s = (o as Any).spec ?? {};
    const errors: FieldError[] = [];
    if (JSON.stringify(s.selector) !== JSON.stringify(was.selector)) errors.push({ type: 'FieldValueInvalid', field: 'spec.selector', value: s.selector, message: 'field is immutable' });
    if (JSON.stringify(s.template) !== JSON.stringify(was.template) && !s.suspend)
      errors.push({ type: 'FieldValueInvalid', field: 'spec.template', value: s.template, message: 'field is immutable' });
    return errors;
  },
};

const binding: Strategy = {
  validate(o, old) {
    const ref = (o as Any).roleRef;
    const errors: FieldError[] = [];
    if (!ref?.name) errors.push({ type: 'FieldValueRequired', field: 'roleRef.name', message: 'Required value' });
    if (old && JSON.stringify((old as Any).roleRef) !== JSON.stringify(ref)) errors.push({ type: 'FieldValueInvalid', field: 'roleRef', value: ref, message: 'cannot change roleRef' });
    return errors;
  },
};

const configMapLike: Strategy = {
  validate(o, old) {
    if (old && (old as Any).immutable === true && (JSON.stringify((o as Any).data) !== JSON.stringify((old as Any).data) || JSON.stringify((o as Any).binaryData) !== JSON.stringify((old as Any).binaryData)))
      return [{ type: 'FieldValueForbidden', field: 'data', message: 'field is immutable when `immutable` is set' }];
    return [];
  },
};

/** Keyed by `group/Kind` ('' for core). */
export const strategies: Record<string, Strategy> = {
  '/Namespace': namespace,
  '/Service': service,
  '/Secret': { ...secret, validate: (o, old) => [...secret.validate!(o, old), ...configMapLike.validate!(o, old)] },
  '/ConfigMap': configMapLike,
  '/Pod': pod,
  'apps/Deployment': deployment,
  'apps/StatefulSet': workload('StatefulSet'),
  'apps/DaemonSet': workload('DaemonSet'),
  'apps/ReplicaSet': workload('ReplicaSet'),
  'batch/Job': job,
  'rbac.authorization.k8s.io/RoleBinding': binding,
  'rbac.authorization.k8s.io/ClusterRoleBinding': binding,
};
