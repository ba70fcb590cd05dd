// Every controller this build has, in one table: its --controllers name, its kind, and how its
// reconciler is made from what the server shares with controllers. main.ts starts what --controllers
// enables and wires none by hand; a kind whose reconciler is not built yet gets the NotImplemented
// one, so no kind ever sits silently.

import { join } from 'node:path';
import { GROUP, VERSION } from '../apis/v1/common.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { Options } from '../config/options.js';
import type { KubeClient } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { SecretReader } from '../kube/secrets.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import { gitRepositoryReconciler } from './git-repository/reconciler.js';
import { kustomizationReconciler } from './kustomization/reconciler.js';
import { notImplementedReconciler } from './not-implemented/reconciler.js';
import { Controller, type ReconcilerDefinition } from './runtime/controller.js';
import type { WorkerPool } from './runtime/worker-pool.js';

/** What the server shares with its controllers. */
export interface ControllerDeps {
  options: Options;
  stores: ResourceStores;
  artifacts: ArtifactStore;
  secrets: SecretReader;
  pool: WorkerPool;
  dataDir: string;
  /** The base of status.artifact.url. */
  baseURL: string;
  /** The cluster Kustomizations apply to and read Secrets and ConfigMaps from: the host or the embedded local cluster. */
  cluster?: KubeClient;
  events: EventRecorder;
  log: Logger;
  metrics?: Metrics;
}

export interface ControllerRegistration {
  /** The --controllers name. */
  name: string;
  kind: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each reconciler has its own state type
  reconciler(d: ControllerDeps): ReconcilerDefinition<any>;
  /** Objects reconciled at once (default --concurrent). */
  concurrency?(d: ControllerDeps): number;
}

const notImplemented = (kind: string): ControllerRegistration => ({ name: kind.toLowerCase(), kind, reconciler: () => notImplementedReconciler(kind), concurrency: () => 1 });

export const CONTROLLERS: ControllerRegistration[] = [
  {
    name: 'gitrepository',
    kind: 'GitRepository',
    reconciler: (d) =>
      gitRepositoryReconciler({
        store: d.stores.forKind(GROUP, VERSION, 'GitRepository'),
        artifacts: d.artifacts,
        secrets: d.secrets,
        pool: d.pool,
        cacheDir: join(d.dataDir, 'git-cache'),
        maxArtifactSize: d.options.maxArtifactSize,
        maxFileSize: d.options.maxFileSize,
        retention: d.options.artifactRetentionRecords,
        artifactURL: (ns, name) => `${d.baseURL}/apis/${GROUP}/${VERSION}/namespaces/${ns}/gitrepositories/${name}/artifact`,
      }),
  },
  notImplemented('OCIRepository'),
  notImplemented('HelmRepository'),
  notImplemented('HelmChart'),
  notImplemented('Bucket'),
  {
    name: 'kustomization',
    kind: 'Kustomization',
    reconciler: (d) =>
      kustomizationReconciler({
        stores: d.stores,
        artifacts: d.artifacts,
        cluster: d.cluster,
        workDir: join(d.dataDir, 'kustomize-builds'),
        noCrossNamespaceRefs: d.options.noCrossNamespaceRefs,
        defaultServiceAccount: d.options.defaultServiceAccount || undefined,
        requeueDependencyMs: d.options.requeueDependencyMs,
        maxUnpackBytes: d.options.maxArtifactSize * 4,
        buildTimeoutMs: d.options.kustomizeBuildTimeoutMs,
        events: d.events,
      }),
    // Its reconciles mostly wait on the cluster (requests, health checks), not on the CPU or the
    // worker threads --concurrent sizes: four times as many run at once.
    concurrency: (d) => d.options.concurrent * 4,
  },
  notImplemented('HelmRelease'),
];

/** kube-controller-manager's --controllers rule: '*' is all, 'name' adds one, '-name' removes one. */
export function enabled(list: string[], name: string): boolean {
  if (list.includes(`-${name}`)) return false;
  return list.includes(name) || list.includes('*');
}

/** The controllers --controllers enables, started. */
export function startControllers(d: ControllerDeps): Controller[] {
  const out: Controller[] = [];
  for (const r of CONTROLLERS) {
    if (!enabled(d.options.controllers, r.name)) continue;
    const c = new Controller({
      store: d.stores.forKind(GROUP, VERSION, r.kind),
      reconciler: r.reconciler(d),
      concurrency: r.concurrency?.(d) ?? d.options.concurrent,
      log: d.log,
      metrics: d.metrics,
      events: d.events,
    });
    c.start();
    out.push(c);
  }
  return out;
}
