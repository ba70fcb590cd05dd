// Kubernetes Events about this server's objects, posted to the host cluster (core/v1), so
// `kubectl describe` and `kubectl get events` show what reconciles did, as with Flux. The same
// event repeated within a window is sent once. Messages are the conditions' own, never credentials.

import { hostname } from 'node:os';
import type { KubeObject } from '../apis/meta/types.js';
import type { Logger } from '../observability/logger.js';
import type { KubeClient } from './client.js';
import { briefError } from './client-errors.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

/** Standalone: there is no cluster to tell; nothing is sent. */
export const noEvents: EventRecorder = { event: () => undefined };

const COMPONENT = 'gitops-toolkit';

export class ClusterEventRecorder implements EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly instance = hostname();
  /** Keeps names unique within one millisecond (client-go's are nanoseconds). */
  private seq = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly dedupMs = 5 * 60_000,
  ) {}

  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const ns = obj.metadata.namespace ?? 'default';
    const key = `${obj.metadata.uid}|${type}|${reason}|${message}`;
    const now = Date.now();
    if ((this.recent.get(key) ?? 0) > now - this.dedupMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) for (const [k, t] of this.recent) if (t <= now - this.dedupMs) this.recent.delete(k);
    const time = new Date(now).toISOString();
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      // Named as client-go's recorder names them: a generateName ending in "." is not a valid prefix.
      metadata: { name: `${obj.metadata.name}.${(BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`, namespace: ns },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: ns, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
      type,
      reason,
      message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    };
    // Fire and forget: an event that cannot be posted must not fail or slow a reconcile.
    this.client
      .request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, { body })
      .catch((e: Error) => this.log.warn('could not post event', { reason, err: briefError(e) }));
  }
}
