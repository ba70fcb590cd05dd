// Prometheus metrics (prom-client), served at /metrics: API request latency by verb and code,
// reconcile duration and count by kind and result, work queue depth, artifact bytes stored.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly apiRequestDuration = new Histogram({
    name: 'gitops_toolkit_api_request_duration_seconds',
    help: 'API request latency by verb, resource and HTTP code (watches are counted when they end).',
    labelNames: ['verb', 'resource', 'code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly reconcileDuration = new Histogram({
    name: 'gitops_toolkit_reconcile_duration_seconds',
    help: 'Time one reconcile took, by kind and result (success, error, stalled, waiting, suspended).',
    labelNames: ['kind', 'result'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly reconcileTotal = new Counter({
    name: 'gitops_toolkit_reconcile_total',
    help: 'Reconciles by kind and result.',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'gitops_toolkit_workqueue_depth',
    help: 'Objects waiting in a kind\'s work queue.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Read when /metrics is scraped; set by whoever owns the artifact store. */
  artifactBytesSource?: () => Promise<number>;

  readonly artifactBytes = new Gauge({
    name: 'gitops_toolkit_artifact_storage_bytes',
    help: 'Bytes of artifacts kept in the artifact store.',
    registers: [this.registry],
    collect: async () => {
      if (this.artifactBytesSource) this.artifactBytes.set(await this.artifactBytesSource());
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gitops_toolkit_' });
  }
}
