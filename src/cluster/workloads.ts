// --simulate-workloads: the local cluster runs no Pods, so a Deployment would never become Ready. Opt
// in, and after a delay each Deployment, StatefulSet and DaemonSet is reported rolled out at its
// current generation and each Job complete — what kwok's stages do for a cluster of fake nodes — so
// health checks (kstatus) can be tested and shown. The status says what it is: no Pod exists.

import type { KubeObject } from '../apis/meta/types.js';
import { StatusError } from '../apis/meta/errors.js';
import type { Logger } from '../observability/logger.js';
import { rfc3339 } from '../registry/meta.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import type { ResourceStore, WriteContext } from '../registry/store.js';
import { watchStore } from '../registry/watch-store.js';

const KINDS: [string, string][] = [
  ['apps', 'deployments'],
  ['apps', 'statefulsets'],
  ['apps', 'daemonsets'],
  ['batch', 'jobs'],
];
export const SIMULATED_BY = 'local-cluster-workload-simulator';

type Any = Record<string, any>;

const condition = (type: string, reason: string, message: string, now: string) => ({ type, status: 'True', reason, message, lastUpdateTime: now, lastTransitionTime: now });

/** The status a finished rollout (or Job) of `obj` at its generation would have. */
export function simulatedStatus(kind: string, obj: KubeObject): Any {
  const spec = (obj as Any).spec ?? {};
  const generation = obj.metadata.generation;
  const now = rfc3339();
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const note = 'simulated by the local cluster (--simulate-workloads): no Pod runs';
  switch (kind) {
    case 'Deployment':
      return {
        observedGeneration: generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [condition('Available', 'MinimumReplicasAvailable', `Deployment has minimum availability (${note}).`, now), condition('Progressing', 'NewReplicaSetAvailable', `ReplicaSet "${obj.metadata.name}" has successfully progressed (${note}).`, now)],
      };
    case 'StatefulSet': {
      const revision = `${obj.metadata.name}-${generation}`;
      return { observedGeneration: generation, replicas, readyReplicas: replicas, currentReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas, currentRevision: revision, updateRevision: revision, collisionCount: 0 };
    }
    case 'DaemonSet':
      // One simulated node.
      return { observedGeneration: generation, desiredNumberScheduled: 1, currentNumberScheduled: 1, updatedNumberScheduled: 1, numberReady: 1, numberAvailable: 1, numberMisscheduled: 0 };
    case 'Job': {
      const completions = typeof spec.completions === 'number' ? spec.completions : 1;
      const started = (obj as Any).status?.startTime ?? now;
      return {
        startTime: started,
        completionTime: now,
        succeeded: completions,
        active: 0,
        ready: 0,
        terminating: 0,
        uncountedTerminatedPods: {},
        conditions: [
          { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: `Reached expected number of succeeded pods (${note})`, lastProbeTime: now, lastTransitionTime: now },
          { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: `Reached expected number of succeeded pods (${note})`, lastProbeTime: now, lastTransitionTime: now },
        ],
      };
    }
  }
  return {};
}

/** Whether `obj`'s status already reports what the simulator would. */
function settled(kind: string, obj: KubeObject): boolean {
  const st = (obj as Any).status ?? {};
  if (kind === 'Job') return (st.conditions ?? []).some((c: Any) => c.type === 'Complete' && c.status === 'True') || (obj as Any).spec?.suspend === true;
  const want = simulatedStatus(kind, obj);
  return st.observedGeneration === obj.metadata.generation && ['replicas', 'readyReplicas', 'desiredNumberScheduled'].every((k) => want[k] === undefined || st[k] === want[k]);
}

export class WorkloadSimulator {
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly stores: ResourceStores,
    private readonly log: Logger,
    private readonly o: { delayMs: number },
  ) {}

  start(): void {
    for (const [group, plural] of KINDS) {
      const store = this.stores.get(group, 'v1', plural)!;
      this.loops.push(watchStore(store, (type, obj) => (type === 'DELETED' ? this.cancel(store, obj) : this.schedule(store, obj)), this.abort.signal, this.log));
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers.values()) clearTimeout(t);
    await Promise.all(this.loops);
  }

  private key = (store: ResourceStore, obj: KubeObject) => `${store.def.plural}/${obj.metadata.namespace}/${obj.metadata.name}`;

  private cancel(store: ResourceStore, obj: KubeObject): void {
    const k = this.key(store, obj);
    clearTimeout(this.timers.get(k));
    this.timers.delete(k);
  }

  private schedule(store: ResourceStore, obj: KubeObject): void {
    if (obj.metadata.deletionTimestamp || settled(store.def.kind, obj)) return;
    const k = this.key(store, obj);
    if (this.timers.has(k)) return; // the timer reads the object as it is then
    const t = setTimeout(() => {
      this.timers.delete(k);
      void this.complete(store, obj.metadata.namespace!, obj.metadata.name!);
    }, this.o.delayMs);
    t.unref();
    this.timers.set(k, t);
  }

  private async complete(store: ResourceStore, ns: string, name: string): Promise<void> {
    if (this.abort.signal.aborted) return;
    const ctx: WriteContext = { dryRun: false, fieldManager: SIMULATED_BY, fieldValidation: 'Ignore', warnings: [] };
    try {
      const obj = await store.get(ns, name);
      if (obj.metadata.deletionTimestamp || settled(store.def.kind, obj)) return;
      await store.update(ns, name, { ...obj, status: { ...(obj as Any).status, ...simulatedStatus(store.def.kind, obj) } }, ctx, 'status');
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return;
      if (e instanceof StatusError && e.code === 409) {
        const again = await store.get(ns, name).catch(() => undefined);
        if (again) this.schedule(store, again);
        return;
      }
      this.log.warn('simulated status not written', { resource: store.def.plural, namespace: ns, name, err: (e as Error).message });
    }
  }
}
