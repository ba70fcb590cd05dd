import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { objectRef, objectStatus, SCHEDULE_WINDOW_MS } from './kstatus.js';

type Any = Record<string, any>;
const T = '2025-01-01T00:00:00Z';
const cond = (type: string, status: string, reason = '', message = '') => ({ type, status, reason, message, lastTransitionTime: T });

const meta = (name: string, generation = 1, extra: Any = {}) => ({ name, namespace: 'default', uid: `uid-${name}`, generation, creationTimestamp: T, ...extra });

function deployment(o: { replicas?: number; generation?: number; status?: Any; spec?: Any; meta?: Any } = {}): Any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('web', o.generation ?? 1, o.meta),
    spec: { replicas: o.replicas ?? 3, progressDeadlineSeconds: 600, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } }, ...o.spec },
    ...(o.status ? { status: o.status } : {}),
  };
}
const rolledOut = (n: number, gen = 1) => ({
  observedGeneration: gen,
  replicas: n,
  updatedReplicas: n,
  readyReplicas: n,
  availableReplicas: n,
  conditions: [cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'), cond('Progressing', 'True', 'NewReplicaSetAvailable', 'ReplicaSet "web-7d9f" has successfully progressed.')],
});

describe('objectStatus: generic rules', () => {
  it('not found is NotFound', () => {
    assert.equal(objectStatus(undefined).status, 'NotFound');
    assert.equal(objectStatus(null).status, 'NotFound');
  });
  it('a deletionTimestamp is Terminating, whatever the status says', () => {
    const d = deployment({ status: rolledOut(3), meta: { deletionTimestamp: T, finalizers: ['example.com/x'] } });
    assert.deepEqual(objectStatus(d), { status: 'Terminating', message: 'being deleted' });
  });
  it('an old observedGeneration is InProgress, even when the rest looks rolled out', () => {
    const h = objectStatus(deployment({ generation: 4, status: rolledOut(3, 3) }));
    assert.equal(h.status, 'InProgress');
    assert.match(h.message, /generation 4 not observed/);
  });
  it('Reconciling=True is InProgress and Stalled=True is Failed, on any kind', () => {
    const cr = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: meta('w', 2), status: { observedGeneration: 2, conditions: [cond('Reconciling', 'True', 'Progressing', 'fetching revision main@sha1:abc')] } };
    assert.deepEqual(objectStatus(cr), { status: 'InProgress', message: 'fetching revision main@sha1:abc' });
    cr.status.conditions = [cond('Stalled', 'True', 'InvalidSpec', 'spec.url is not a URL'), cond('Ready', 'False', 'InvalidSpec', 'spec.url is not a URL')];
    assert.deepEqual(objectStatus(cr), { status: 'Failed', message: 'spec.url is not a URL' });
  });
  it('Ready condition of other kinds: True Current, False and Unknown InProgress', () => {
    const cr = (status: string) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: meta('repo', 1), status: { observedGeneration: 1, conditions: [cond('Ready', status, 'Succeeded', 'stored artifact for revision main@sha1:abc')] } });
    assert.deepEqual(objectStatus(cr('True')), { status: 'Current', message: 'stored artifact for revision main@sha1:abc' });
    assert.equal(objectStatus(cr('False')).status, 'InProgress');
    assert.equal(objectStatus(cr('Unknown')).status, 'InProgress');
  });
  it('objects without status (or with one that says nothing) are Current', () => {
    assert.equal(objectStatus({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('sa') }).status, 'Current');
    assert.equal(objectStatus({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: meta('w'), status: { phase: 'whatever' } }).status, 'Current');
    assert.equal(objectStatus({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta('i'), spec: {} }).status, 'Current');
  });
  it('Secret, ConfigMap and CronJob are always Current', () => {
    for (const [apiVersion, kind] of [['v1', 'Secret'], ['v1', 'ConfigMap'], ['batch/v1', 'CronJob']]) assert.equal(objectStatus({ apiVersion, kind, metadata: meta('x') }).status, 'Current');
  });
  it('a kind matches only in its group: a custom Deployment kind uses the generic rules', () => {
    assert.equal(objectStatus({ apiVersion: 'example.com/v1', kind: 'Deployment', metadata: meta('d'), spec: { replicas: 3 } }).status, 'Current');
  });
});

describe('objectStatus: Deployment', () => {
  it('just created (no status) is InProgress', () => {
    assert.deepEqual(objectStatus(deployment()), { status: 'InProgress', message: '0 of 3 replicas created' });
  });
  it('rolled out is Current', () => {
    assert.deepEqual(objectStatus(deployment({ status: rolledOut(3) })), { status: 'Current', message: 'rolled out: 3 of 3 replicas available' });
  });
  it('rolling: replicas created but not updated, not available, not ready', () => {
    const s = { ...rolledOut(3), updatedReplicas: 1, conditions: [cond('Progressing', 'True', 'ReplicaSetUpdated', 'ReplicaSet "web-8f" is progressing.')] };
    assert.deepEqual(objectStatus(deployment({ status: s })), { status: 'InProgress', message: '1 of 3 replicas updated' });
    assert.deepEqual(objectStatus(deployment({ status: { ...rolledOut(3), availableReplicas: 2 } })), { status: 'InProgress', message: '2 of 3 updated replicas available' });
    assert.deepEqual(objectStatus(deployment({ status: { ...rolledOut(3), readyReplicas: 0 } })), { status: 'InProgress', message: '0 of 3 replicas ready' });
    assert.deepEqual(objectStatus(deployment({ status: { ...rolledOut(3), replicas: 4 } })), { status: 'InProgress', message: '1 old replicas still terminating' });
  });
  it('all replicas there but the new ReplicaSet not reported available, or the Deployment not Available', () => {
    const s = { ...rolledOut(3), conditions: [cond('Available', 'True', 'MinimumReplicasAvailable'), cond('Progressing', 'True', 'ReplicaSetUpdated')] };
    assert.equal(objectStatus(deployment({ status: s })).message, 'new ReplicaSet not available yet');
    const s2 = { ...rolledOut(3), conditions: [cond('Available', 'False', 'MinimumReplicasUnavailable'), cond('Progressing', 'True', 'NewReplicaSetAvailable')] };
    assert.equal(objectStatus(deployment({ status: s2 })).message, 'Deployment does not have minimum availability');
  });
  it('without progressDeadlineSeconds the Progressing condition is not waited for', () => {
    const d = deployment({ status: { ...rolledOut(3), conditions: [cond('Available', 'True')] } });
    delete d.spec.progressDeadlineSeconds;
    assert.equal(objectStatus(d).status, 'Current');
  });
  it('ProgressDeadlineExceeded is Failed', () => {
    const s = { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 0, availableReplicas: 0, conditions: [cond('Available', 'False', 'MinimumReplicasUnavailable'), cond('Progressing', 'False', 'ProgressDeadlineExceeded', 'ReplicaSet "web-7d9f" has timed out progressing.')] };
    const h = objectStatus(deployment({ status: s }));
    assert.equal(h.status, 'Failed');
    assert.match(h.message, /progress deadline exceeded: ReplicaSet "web-7d9f" has timed out progressing/);
  });
  it('spec.replicas defaults to 1; scaled to 0 with a rolled-out status is Current', () => {
    const d = deployment({ status: rolledOut(1) });
    delete d.spec.replicas;
    assert.equal(objectStatus(d).status, 'Current');
    assert.equal(objectStatus(deployment({ replicas: 0, status: rolledOut(0) })).status, 'Current');
  });
});

describe('objectStatus: StatefulSet', () => {
  const sts = (status?: Any, spec: Any = {}, generation = 1): Any => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('db', generation), spec: { replicas: 3, serviceName: 'db', selector: {}, template: {}, ...spec }, ...(status ? { status } : {}) });
  const done = { observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: 'db-6c5', updateRevision: 'db-6c5' };
  it('rolled out is Current', () => assert.equal(objectStatus(sts(done)).status, 'Current'));
  it('just created is InProgress', () => assert.deepEqual(objectStatus(sts()), { status: 'InProgress', message: '0 of 3 replicas created' }));
  it('not all ready', () => assert.deepEqual(objectStatus(sts({ ...done, readyReplicas: 1 })), { status: 'InProgress', message: '1 of 3 replicas ready' }));
  it('rolling to a new revision', () => {
    assert.equal(objectStatus(sts({ ...done, currentReplicas: 2, updatedReplicas: 1, updateRevision: 'db-7f1' })).message, '2 of 3 replicas at the current revision');
    const h = objectStatus(sts({ ...done, updateRevision: 'db-7f1' }));
    assert.equal(h.status, 'InProgress');
    assert.match(h.message, /revision db-7f1/);
  });
  it('partitioned rollout: Current once the ordinals above the partition are updated', () => {
    const spec = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
    assert.equal(objectStatus(sts({ ...done, updatedReplicas: 0, updateRevision: 'db-7f1' }, spec)).status, 'InProgress');
    assert.equal(objectStatus(sts({ ...done, updatedReplicas: 1, updateRevision: 'db-7f1' }, spec)).status, 'Current');
  });
  it('OnDelete is Current', () => assert.equal(objectStatus(sts({ ...done, readyReplicas: 0 }, { updateStrategy: { type: 'OnDelete' } })).status, 'Current'));
  it('old generation is InProgress', () => assert.equal(objectStatus(sts(done, {}, 2)).status, 'InProgress'));
});

describe('objectStatus: DaemonSet', () => {
  const ds = (status?: Any, generation = 1): Any => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('agent', generation), spec: { selector: {}, template: {} }, ...(status ? { status } : {}) });
  const done = { observedGeneration: 1, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 3, numberAvailable: 3, numberMisscheduled: 0 };
  it('rolled out is Current', () => assert.deepEqual(objectStatus(ds(done)), { status: 'Current', message: 'rolled out: 3 of 3 Pods ready' }));
  it('not yet observed by its controller is InProgress', () => assert.match(objectStatus(ds()).message, /not observed by its controller/));
  it('rolling', () => {
    assert.equal(objectStatus(ds({ ...done, currentNumberScheduled: 2 })).message, '2 of 3 Pods scheduled');
    assert.equal(objectStatus(ds({ ...done, updatedNumberScheduled: 1 })).message, '1 of 3 Pods updated');
    assert.equal(objectStatus(ds({ ...done, numberAvailable: 2 })).message, '2 of 3 Pods available');
    assert.equal(objectStatus(ds({ ...done, numberReady: 2 })).message, '2 of 3 Pods ready');
    const { desiredNumberScheduled: _, ...noDesired } = done;
    assert.equal(objectStatus(ds(noDesired)).status, 'InProgress');
  });
  it('old generation is InProgress', () => assert.equal(objectStatus(ds(done, 2)).status, 'InProgress'));
});

describe('objectStatus: ReplicaSet', () => {
  const rs = (status: Any = {}): Any => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta('web-7d9f'), spec: { replicas: 2 }, status: { observedGeneration: 1, ...status } });
  it('all available and ready is Current', () => assert.equal(objectStatus(rs({ replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).status, 'Current'));
  it('not available is InProgress', () => assert.equal(objectStatus(rs({ replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1 })).message, '1 of 2 replicas available'));
  it('ReplicaFailure is InProgress (kstatus does not fail it)', () => {
    const h = objectStatus(rs({ replicas: 0, conditions: [cond('ReplicaFailure', 'True', 'FailedCreate', 'pods "web-7d9f-x" is forbidden: exceeded quota')] }));
    assert.equal(h.status, 'InProgress');
    assert.match(h.message, /exceeded quota/);
  });
});

describe('objectStatus: Job', () => {
  const job = (status?: Any, spec: Any = {}): Any => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta('migrate'), spec: { completions: 1, template: {}, ...spec }, ...(status ? { status } : {}) });
  it('not started is InProgress', () => assert.deepEqual(objectStatus(job()), { status: 'InProgress', message: 'not started yet' }));
  it('running is Current (as kstatus: a started Job is not waited for to finish)', () => assert.equal(objectStatus(job({ startTime: T, active: 1 })).status, 'Current'));
  it('Complete is Current', () => assert.deepEqual(objectStatus(job({ startTime: T, succeeded: 1, conditions: [cond('SuccessCriteriaMet', 'True'), cond('Complete', 'True', 'CompletionsReached')] })), { status: 'Current', message: 'complete: 1 of 1 succeeded' }));
  it('Failed is Failed', () => {
    const h = objectStatus(job({ startTime: T, failed: 6, conditions: [cond('FailureTarget', 'True'), cond('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] }));
    assert.equal(h.status, 'Failed');
    assert.match(h.message, /6 Pods failed.*BackoffLimitExceeded/);
  });
  it('Suspended is Current', () => assert.equal(objectStatus(job({ conditions: [cond('Suspended', 'True', 'JobSuspended')] }, { suspend: true })).status, 'Current'));
  it('completions default to parallelism', () => assert.match(objectStatus(job({ startTime: T, succeeded: 3, conditions: [cond('Complete', 'True')] }, { completions: undefined, parallelism: 3 })).message, /3 of 3/));
});

describe('objectStatus: Pod', () => {
  const now = Date.parse(T) + 60_000;
  const pod = (status?: Any, created = T): Any => ({ apiVersion: 'v1', kind: 'Pod', metadata: { ...meta('web-7d9f-abcde', 0), creationTimestamp: created }, spec: { containers: [{ name: 'web' }, { name: 'sidecar' }] }, ...(status ? { status } : {}) });
  it('no phase is InProgress', () => assert.equal(objectStatus(pod(), now).status, 'InProgress'));
  it('Running and Ready is Current', () => assert.equal(objectStatus(pod({ phase: 'Running', conditions: [cond('Ready', 'True')] }), now).status, 'Current'));
  it('Running, not ready is InProgress', () => assert.deepEqual(objectStatus(pod({ phase: 'Running', conditions: [cond('Ready', 'False', 'ContainersNotReady')] }), now), { status: 'InProgress', message: 'running, not ready' }));
  it('crash-looping containers are Failed, named', () => {
    const cs = [
      { name: 'web', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } } },
      { name: 'sidecar', ready: true, restartCount: 0, state: { running: { startedAt: T } } },
    ];
    assert.deepEqual(objectStatus(pod({ phase: 'Running', conditions: [cond('Ready', 'False')], containerStatuses: cs }), now), { status: 'Failed', message: 'containers crash-looping: web' });
  });
  it('Succeeded and Failed phases are finished: Current', () => {
    assert.equal(objectStatus(pod({ phase: 'Succeeded' }), now).status, 'Current');
    assert.equal(objectStatus(pod({ phase: 'Failed', reason: 'Evicted' }), now).status, 'Current');
  });
  it('Pending is InProgress; unschedulable is Failed after the schedule window', () => {
    assert.equal(objectStatus(pod({ phase: 'Pending' }), now).status, 'InProgress');
    const unsched = { phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'Unschedulable', '0/3 nodes are available: 3 Insufficient cpu.')] };
    assert.equal(objectStatus(pod(unsched), Date.parse(T) + SCHEDULE_WINDOW_MS - 1000).status, 'InProgress');
    const h = objectStatus(pod(unsched), now);
    assert.equal(h.status, 'Failed');
    assert.match(h.message, /Insufficient cpu/);
  });
  it('an unknown phase is Unknown', () => assert.equal(objectStatus(pod({ phase: 'Weird' }), now).status, 'Unknown'));
  it('terminating', () => assert.equal(objectStatus({ ...pod({ phase: 'Running' }), metadata: { ...meta('p'), deletionTimestamp: T } }, now).status, 'Terminating'));
});

describe('objectStatus: PVC, Service, PodDisruptionBudget, CRD', () => {
  it('PVC: Bound is Current, Pending InProgress', () => {
    const pvc = (phase?: string) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('data', 0), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, ...(phase ? { status: { phase } } : {}) });
    assert.deepEqual(objectStatus(pvc('Bound')), { status: 'Current', message: 'bound' });
    assert.deepEqual(objectStatus(pvc('Pending')), { status: 'InProgress', message: 'not bound (phase Pending)' });
    assert.equal(objectStatus(pvc()).status, 'InProgress');
  });
  it('Service: Current, except a LoadBalancer without a cluster IP', () => {
    const svc = (spec: Any) => ({ apiVersion: 'v1', kind: 'Service', metadata: meta('web', 0), spec: { ports: [{ port: 80 }], ...spec } });
    assert.equal(objectStatus(svc({ type: 'ClusterIP', clusterIP: '10.96.0.10' })).status, 'Current');
    assert.equal(objectStatus(svc({ type: 'LoadBalancer' })).status, 'InProgress');
    assert.equal(objectStatus(svc({ type: 'LoadBalancer', clusterIP: '10.96.0.11' })).status, 'Current');
  });
  it('PodDisruptionBudget: Current once its generation is observed', () => {
    const pdb = (observedGeneration: number) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('web', 2), spec: { minAvailable: 1 }, status: { observedGeneration, currentHealthy: 0, desiredHealthy: 1, disruptionsAllowed: 0, expectedPods: 0 } });
    assert.equal(objectStatus(pdb(2)).status, 'Current');
    assert.equal(objectStatus(pdb(1)).status, 'InProgress');
  });
  it('CRD: Established Current, installing InProgress, NamesAccepted=False Failed', () => {
    const crd = (conditions?: Any[]) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com', generation: 1 }, spec: {}, ...(conditions ? { status: { conditions } } : {}) });
    assert.equal(objectStatus(crd([cond('NamesAccepted', 'True', 'NoConflicts'), cond('Established', 'True', 'InitialNamesAccepted')])).status, 'Current');
    assert.equal(objectStatus(crd()).status, 'InProgress');
    assert.equal(objectStatus(crd([cond('NamesAccepted', 'True'), cond('Established', 'False', 'Installing')])).status, 'InProgress');
    const h = objectStatus(crd([cond('NamesAccepted', 'False', 'MultipleNamesConflict', '"widget" is already in use'), cond('Established', 'False', 'NotAccepted')]));
    assert.equal(h.status, 'Failed');
    assert.match(h.message, /already in use/);
    assert.equal(objectStatus(crd([cond('Established', 'False', 'NotAccepted', 'not all names are accepted')])).status, 'Failed');
  });
});

describe('objectRef', () => {
  it('names namespaced and cluster-scoped objects', () => {
    assert.equal(objectRef({ kind: 'Deployment', metadata: { namespace: 'default', name: 'web' } }), 'Deployment/default/web');
    assert.equal(objectRef({ kind: 'Namespace', metadata: { name: 'apps' } }), 'Namespace/apps');
  });
});
