// The health of one object, computed from the object alone (no I/O), with the rules of
// sigs.k8s.io/cli-utils kstatus as Flux's kustomize-controller applies them when it waits:
//
//  1. generic rules, for every kind: a deletionTimestamp is Terminating; a status.observedGeneration
//     that differs from metadata.generation is InProgress (the controller has not seen the latest
//     spec); a `Reconciling=True` condition is InProgress and a `Stalled=True` condition is Failed;
//  2. the rules of the built-in kinds (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod,
//     PersistentVolumeClaim, Service, PodDisruptionBudget, CustomResourceDefinition; Secret,
//     ConfigMap and CronJob are always Current);
//  3. anything else: a `Ready` condition (True is Current, False or Unknown is InProgress);
//  4. no status that says otherwise: Current.
//
// The messages are this project's own words, written for a person reading a Kustomization's
// condition (`0 of 3 replicas ready`).

export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

export interface ObjectHealth {
  status: HealthStatus;
  message: string;
}

type Any = Record<string, any>;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

const result = (status: HealthStatus, message: string): ObjectHealth => ({ status, message });
const inProgress = (message: string) => result('InProgress', message);
const failed = (message: string) => result('Failed', message);
const current = (message: string) => result('Current', message);

/** A whole number at `v`, else `fallback` (kstatus reads ints; a missing or ill-typed field is the default). */
function int(v: unknown, fallback: number): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return fallback;
}
const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);

function conditionsOf(obj: Any): Condition[] {
  const list = obj.status?.conditions;
  if (!Array.isArray(list)) return [];
  return list.filter((c): c is Condition => !!c && typeof c === 'object' && typeof c.type === 'string').map((c) => ({ ...c, status: String(c.status ?? '') }));
}

const find = (conds: Condition[], type: string) => conds.find((c) => c.type === type);
/** A condition's message, or its reason, or `fallback`. */
const say = (c: Condition | undefined, fallback: string) => c?.message || c?.reason || fallback;

const groupOf = (apiVersion: unknown) => {
  const v = str(apiVersion, '');
  const i = v.indexOf('/');
  return i < 0 ? '' : v.slice(0, i);
};

/** Steps 1 of the header: what every kind is judged by before its own rules. */
function generic(obj: Any, kind: string): ObjectHealth | undefined {
  if (obj.metadata?.deletionTimestamp) return result('Terminating', 'being deleted');
  const gen = observedGenerationLag(obj, kind);
  if (gen) return gen;
  const conds = conditionsOf(obj);
  for (const c of conds) {
    if (c.type === 'Reconciling' && c.status === 'True') return inProgress(say(c, 'reconciling'));
    if (c.type === 'Stalled' && c.status === 'True') return failed(say(c, 'stalled'));
  }
  return undefined;
}

function observedGenerationLag(obj: Any, kind: string): ObjectHealth | undefined {
  const generation = obj.metadata?.generation;
  const observed = obj.status?.observedGeneration;
  if (generation === undefined || observed === undefined || observed === null) return undefined;
  if (int(observed, NaN) !== int(generation, NaN)) return inProgress(`${kind} generation ${generation} not observed yet (status is of generation ${observed})`);
  return undefined;
}

function deployment(obj: Any): ObjectHealth {
  const spec = obj.spec ?? {};
  const st = obj.status ?? {};
  // Without a progress deadline the controller never sets Progressing, so it cannot be waited for.
  let progressed = spec.progressDeadlineSeconds === undefined || spec.progressDeadlineSeconds === null;
  let available = false;
  for (const c of conditionsOf(obj)) {
    if (c.type === 'Progressing') {
      if (c.reason === 'ProgressDeadlineExceeded') return failed(`progress deadline exceeded${c.message ? `: ${c.message}` : ''}`);
      if (c.status === 'True' && c.reason === 'NewReplicaSetAvailable') progressed = true;
    } else if (c.type === 'Available' && c.status === 'True') available = true;
  }
  const want = int(spec.replicas, 1);
  const replicas = int(st.replicas, 0);
  const updated = int(st.updatedReplicas, 0);
  const ready = int(st.readyReplicas, 0);
  const avail = int(st.availableReplicas, 0);
  if (want > replicas) return inProgress(`${replicas} of ${want} replicas created`);
  if (want > updated) return inProgress(`${updated} of ${want} replicas updated`);
  if (replicas > want) return inProgress(`${replicas - want} old replicas still terminating`);
  if (updated > avail) return inProgress(`${avail} of ${updated} updated replicas available`);
  if (want > ready) return inProgress(`${ready} of ${want} replicas ready`);
  if (!progressed) return inProgress('new ReplicaSet not available yet');
  if (!available) return inProgress('Deployment does not have minimum availability');
  return current(`rolled out: ${replicas} of ${want} replicas available`);
}

function statefulSet(obj: Any): ObjectHealth {
  const spec = obj.spec ?? {};
  const st = obj.status ?? {};
  if (spec.updateStrategy?.type === 'OnDelete') return current('update strategy OnDelete: Pods are replaced by hand');
  const want = int(spec.replicas, 1);
  const replicas = int(st.replicas, 0);
  const ready = int(st.readyReplicas, 0);
  const currentReplicas = int(st.currentReplicas, 0);
  const updated = int(st.updatedReplicas, 0);
  const partition = int(spec.updateStrategy?.rollingUpdate?.partition, -1);
  if (want > replicas) return inProgress(`${replicas} of ${want} replicas created`);
  if (want > ready) return inProgress(`${ready} of ${want} replicas ready`);
  if (replicas > want) return inProgress(`${replicas - want} extra replicas still terminating`);
  if (partition !== -1) {
    // Only ordinals at or above the partition are updated.
    if (updated < want - partition) return inProgress(`partitioned rollout: ${updated} of ${want - partition} replicas updated`);
    return current(`partitioned rollout complete: ${updated} replicas updated`);
  }
  if (want > currentReplicas) return inProgress(`${currentReplicas} of ${want} replicas at the current revision`);
  const cur = str(st.currentRevision, '');
  const upd = str(st.updateRevision, '');
  if (cur !== upd) return inProgress(`rolling out revision ${upd || '(none)'} (current revision ${cur || '(none)'})`);
  return current(`rolled out: ${ready} of ${want} replicas ready`);
}

function daemonSet(obj: Any, kind: string): ObjectHealth {
  // The DaemonSet controller always writes observedGeneration; until it has, nothing is known.
  if (obj.metadata?.generation === undefined) return inProgress(`${kind} has no metadata.generation`);
  if (obj.status?.observedGeneration === undefined) return inProgress(`${kind} not observed by its controller yet`);
  const st = obj.status ?? {};
  const desired = int(st.desiredNumberScheduled, -1);
  if (desired === -1) return inProgress('number of nodes to schedule on not known yet');
  const scheduled = int(st.currentNumberScheduled, 0);
  const updated = int(st.updatedNumberScheduled, 0);
  const avail = int(st.numberAvailable, 0);
  const ready = int(st.numberReady, 0);
  if (desired > scheduled) return inProgress(`${scheduled} of ${desired} Pods scheduled`);
  if (desired > updated) return inProgress(`${updated} of ${desired} Pods updated`);
  if (desired > avail) return inProgress(`${avail} of ${desired} Pods available`);
  if (desired > ready) return inProgress(`${ready} of ${desired} Pods ready`);
  return current(`rolled out: ${ready} of ${desired} Pods ready`);
}

function replicaSet(obj: Any): ObjectHealth {
  const spec = obj.spec ?? {};
  const st = obj.status ?? {};
  const failure = conditionsOf(obj).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failure) return inProgress(`replica failure: ${say(failure, 'check its Pods')}`);
  const want = int(spec.replicas, 1);
  const replicas = int(st.replicas, 0);
  const labeled = int(st.fullyLabeledReplicas, 0);
  const avail = int(st.availableReplicas, 0);
  const ready = int(st.readyReplicas, 0);
  if (want > labeled) return inProgress(`${labeled} of ${want} replicas labeled`);
  if (want > avail) return inProgress(`${avail} of ${want} replicas available`);
  if (want > ready) return inProgress(`${ready} of ${want} replicas ready`);
  if (replicas > want) return inProgress(`${replicas - want} extra replicas still terminating`);
  return current(`${avail} of ${want} replicas available`);
}

function job(obj: Any): ObjectHealth {
  const spec = obj.spec ?? {};
  const st = obj.status ?? {};
  const parallelism = int(spec.parallelism, 1);
  const completions = int(spec.completions, parallelism);
  const succeeded = int(st.succeeded, 0);
  const active = int(st.active, 0);
  const failedPods = int(st.failed, 0);
  for (const c of conditionsOf(obj)) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete') return current(`complete: ${succeeded} of ${completions} succeeded`);
    if (c.type === 'Failed') return failed(`failed (${failedPods} Pods failed)${c.reason ? `: ${c.reason}` : ''}${c.message ? ` — ${c.message}` : ''}`);
    if (c.type === 'Suspended') return current('suspended');
  }
  // kstatus counts a started Job as Current: waiting for it to finish is what a Failed condition or a timeout is for.
  if (!st.startTime) return inProgress('not started yet');
  return current(`running: ${succeeded} succeeded, ${active} active, ${failedPods} failed`);
}

/** How long an unschedulable Pod is given before it counts as Failed (kstatus: 15 s). */
export const SCHEDULE_WINDOW_MS = 15_000;

function pod(obj: Any, now: number): ObjectHealth {
  const st = obj.status ?? {};
  const conds = conditionsOf(obj);
  const phase = str(st.phase, '');
  switch (phase) {
    case 'Succeeded':
      return current('completed successfully');
    case 'Failed':
      // Finished: kstatus does not wait on it further (a Pod that failed is not rolled back).
      return current(`completed unsuccessfully${st.reason ? `: ${st.reason}` : ''}`);
    case 'Running': {
      if (find(conds, 'Ready')?.status === 'True') return current('running and ready');
      const looping = (Array.isArray(st.containerStatuses) ? st.containerStatuses : []).filter((c: Any) => c?.state?.waiting?.reason === 'CrashLoopBackOff').map((c: Any) => String(c.name));
      if (looping.length) return failed(`containers crash-looping: ${looping.join(', ')}`);
      return inProgress('running, not ready');
    }
    case 'Pending': {
      const sched = conds.find((c) => c.type === 'PodScheduled' && c.status === 'False');
      if (sched?.reason === 'Unschedulable') {
        const created = Date.parse(str(obj.metadata?.creationTimestamp, ''));
        if (Number.isFinite(created) && now - created < SCHEDULE_WINDOW_MS) return inProgress('not scheduled yet');
        return failed(`cannot be scheduled${sched.message ? `: ${sched.message}` : ''}`);
      }
      return inProgress('pending');
    }
    case '':
      return inProgress('no phase reported yet');
    default:
      return result('Unknown', `unknown phase ${phase}`);
  }
}

function pvc(obj: Any): ObjectHealth {
  const phase = str(obj.status?.phase, '');
  return phase === 'Bound' ? current('bound') : inProgress(`not bound (phase ${phase || 'unknown'})`);
}

function service(obj: Any): ObjectHealth {
  // kstatus waits for a LoadBalancer Service's cluster IP only; it does not wait for the balancer's ingress.
  if (str(obj.spec?.type, 'ClusterIP') === 'LoadBalancer' && !str(obj.spec?.clusterIP, '')) return inProgress('LoadBalancer without a cluster IP yet');
  return current('ready');
}

function crd(obj: Any): ObjectHealth {
  for (const c of conditionsOf(obj)) {
    if (c.type === 'NamesAccepted' && c.status === 'False') return failed(`names not accepted: ${say(c, 'name conflict')}`);
    if (c.type === 'Established') {
      if (c.status === 'False' && c.reason !== 'Installing') return failed(`not established: ${say(c, 'unknown reason')}`);
      if (c.status === 'True') return current('established');
    }
  }
  return inProgress('being established');
}

/** The `Ready` condition of anything else (step 3). */
function readyCondition(obj: Any): ObjectHealth | undefined {
  const ready = find(conditionsOf(obj), 'Ready');
  if (!ready) return undefined;
  if (ready.status === 'True') return current(ready.message || 'ready');
  if (ready.status === 'False' || ready.status === 'Unknown') return inProgress(`not ready: ${say(ready, ready.status)}`);
  return undefined;
}

/**
 * The kstatus status of `obj` as read from the cluster; `undefined`/`null` (not found) is NotFound.
 * `now` (ms since the epoch) only matters for a Pod waiting to be scheduled.
 */
export function objectStatus(obj: unknown, now: number = Date.now()): ObjectHealth {
  if (obj === undefined || obj === null) return result('NotFound', 'not found');
  if (typeof obj !== 'object' || Array.isArray(obj)) return result('Unknown', 'not an object');
  const o = obj as Any;
  const kind = str(o.kind, '');
  const g = generic(o, kind || 'object');
  if (g) return g;
  switch (`${groupOf(o.apiVersion)}/${kind}`) {
    case 'apps/Deployment':
    case 'extensions/Deployment':
      return deployment(o);
    case 'apps/StatefulSet':
      return statefulSet(o);
    case 'apps/DaemonSet':
    case 'extensions/DaemonSet':
      return daemonSet(o, kind);
    case 'apps/ReplicaSet':
    case 'extensions/ReplicaSet':
      return replicaSet(o);
    case 'batch/Job':
      return job(o);
    case '/Pod':
      return pod(o, now);
    case '/PersistentVolumeClaim':
      return pvc(o);
    case '/Service':
      return service(o);
    case 'policy/PodDisruptionBudget':
      // Its controller writes no conditions it can fail with; an observed generation (checked above) is all there is.
      return current('allowed disruptions computed');
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      return crd(o);
    case '/Secret':
    case '/ConfigMap':
    case 'batch/CronJob':
      return current('always ready');
  }
  return readyCondition(o) ?? current('no status reports otherwise');
}

/** `Kind/namespace/name` (`Kind/name` when cluster-scoped), as Flux names objects in its messages. */
export function objectRef(obj: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind ?? ''}/${ns ? `${ns}/` : ''}${obj.metadata?.name ?? ''}`;
}
