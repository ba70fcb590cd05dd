// Delegated authorization: one authorization.k8s.io/v1 SubjectAccessReview per request to the
// cluster, with the body kube-apiserver's webhook authorizer sends (same fields, same omissions), and
// answers reused for a short TTL keyed by the whole spec. A review that fails denies, never allows.

import { KubeError, type KubeClient } from '../../kube/client.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import type { Authorizer, Decision, RequestAttributes } from '../types.js';
import { SUPERUSER_GROUP } from './rbac.js';

export interface SubjectAccessReviewAuthorizerOptions {
  /** How long an allow is reused (kube: --authorization-webhook-cache-authorized-ttl, 10 s for delegated authz). */
  allowedTTLMs?: number;
  /** How long a deny is reused (kube: --authorization-webhook-cache-unauthorized-ttl, 10 s). */
  deniedTTLMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** Retries of transient failures (connection reset, 429, 500, 504): first delay, growing 1.5×, and attempts in all. */
  retry?: { initialDelayMs: number; attempts: number };
  maxEntries?: number;
  logger?: Logger;
  /** The clock the cache reads. */
  now?: () => number;
}

interface SARSpec {
  resourceAttributes?: Record<string, string>;
  nonResourceAttributes?: Record<string, string>;
  user?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  uid?: string;
}

interface SARStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
}

/** Requests whose caller-chosen attributes are this large are not cached (kube: a DoS guard). */
const MAX_CACHED_ATTR_SIZE = 10_000;

/** Drops empty strings, as Go's omitempty does. */
function compact(o: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v)) as Record<string, string>;
}

/** The spec kube's webhook authorizer builds, fields in Go's order so the JSON is also the cache key. */
export function subjectAccessReviewSpec(a: RequestAttributes): SARSpec {
  const spec: SARSpec = a.resourceRequest
    ? {
        resourceAttributes: compact({
          namespace: a.namespace,
          verb: a.verb,
          group: a.apiGroup,
          version: a.apiVersion,
          resource: a.resource,
          subresource: a.subresource,
          name: a.name,
        }),
      }
    : { nonResourceAttributes: compact({ path: a.path, verb: a.verb }) };
  if (a.user.name) spec.user = a.user.name;
  if (a.user.groups.length) spec.groups = a.user.groups;
  // Go marshals map keys sorted.
  const extraKeys = Object.keys(a.user.extra ?? {}).sort();
  if (extraKeys.length) spec.extra = Object.fromEntries(extraKeys.map((k) => [k, a.user.extra![k]]));
  if (a.user.uid) spec.uid = a.user.uid;
  return spec;
}

class ReviewError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export class SubjectAccessReviewAuthorizer implements Authorizer {
  private readonly cache = new Map<string, { until: number; decision: Decision }>();
  private readonly pending = new Map<string, Promise<Decision>>();
  private readonly allowedTTL: number;
  private readonly deniedTTL: number;
  private readonly timeoutMs: number;
  private readonly retry: { initialDelayMs: number; attempts: number };
  private readonly maxEntries: number;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly client: KubeClient,
    o: SubjectAccessReviewAuthorizerOptions = {},
  ) {
    this.allowedTTL = o.allowedTTLMs ?? 10_000;
    this.deniedTTL = o.deniedTTLMs ?? 10_000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.retry = o.retry ?? { initialDelayMs: 500, attempts: 5 };
    this.maxEntries = o.maxEntries ?? 10_000;
    this.log = o.logger ?? createLogger('info', { component: 'subjectaccessreview' });
    this.now = o.now ?? Date.now;
  }

  async authorize(a: RequestAttributes): Promise<Decision> {
    if (a.user.groups.includes(SUPERUSER_GROUP)) return { allowed: true };
    const spec = subjectAccessReviewSpec(a);
    const key = JSON.stringify(spec);
    const hit = this.cache.get(key);
    if (hit && this.now() < hit.until) return hit.decision;
    let p = this.pending.get(key);
    if (!p) {
      p = this.review(spec, key, a).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async review(spec: SARSpec, key: string, a: RequestAttributes): Promise<Decision> {
    let status: SARStatus;
    try {
      status = await this.send(spec);
    } catch (e) {
      const why = (e as Error).message;
      this.log.error('SubjectAccessReview failed; denying the request', { user: a.user.name, verb: a.verb, resource: a.resource, path: a.path, err: why });
      return { allowed: false, reason: `error authorizing the request: ${why}` };
    }
    // Both allowed and denied is a broken reviewer: kube denies.
    const decision: Decision = { allowed: !!status.allowed && !status.denied, ...(status.reason ? { reason: status.reason } : {}) };
    const size = [a.namespace, a.verb, a.apiGroup, a.apiVersion, a.resource, a.subresource, a.name, a.path].reduce((n, s) => n + (s?.length ?? 0), 0);
    if (size < MAX_CACHED_ATTR_SIZE) this.remember(key, decision);
    return decision;
  }

  private async send(spec: SARSpec): Promise<SARStatus> {
    for (let attempt = 1, delay = this.retry.initialDelayMs; ; attempt++, delay *= 1.5) {
      try {
        return await this.post(spec);
      } catch (e) {
        if (!(e instanceof ReviewError && e.transient) || attempt >= this.retry.attempts) throw e;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async post(spec: SARSpec): Promise<SARStatus> {
    if (!this.client.kc.getCurrentCluster()?.server) throw new ReviewError('no cluster in the kubeconfig', false);
    // What a Go client sends for the typed object: empty metadata and status included.
    const body = { kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status: { allowed: false } };
    let answer: { status?: SARStatus } | undefined;
    try {
      answer = await this.client.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { body, timeoutMs: this.timeoutMs });
    } catch (e) {
      throw this.reviewError(e);
    }
    if (!answer?.status) throw new ReviewError('SubjectAccessReview failed: the answer has no status', false);
    return answer.status;
  }

  /** The client's failure in this authorizer's words, and whether it is worth another attempt. */
  private reviewError(e: unknown): ReviewError {
    if (!(e instanceof KubeError)) return new ReviewError((e as Error).message, false);
    if (e.code) return new ReviewError(`SubjectAccessReview failed: HTTP ${e.code}${e.status?.message ? `: ${e.status.message}` : ''}`, [429, 500, 504].includes(e.code));
    if (e.reason === 'Timeout') return new ReviewError(`SubjectAccessReview timed out after ${this.timeoutMs} ms`, false);
    // An answer that is not JSON has no status either.
    if (e.reason === 'InvalidResponse') return new ReviewError('SubjectAccessReview failed: the answer has no status', false);
    const cause = (e.cause ?? e) as NodeJS.ErrnoException;
    return new ReviewError(`SubjectAccessReview to ${new URL(this.client.server).origin}: ${cause.message}`, cause.code === 'ECONNRESET');
  }

  private remember(key: string, decision: Decision): void {
    const ttl = decision.allowed ? this.allowedTTL : this.deniedTTL;
    if (ttl <= 0) return;
    const now = this.now();
    if (this.cache.size >= this.maxEntries) {
      for (const [k, e] of this.cache) if (e.until <= now) this.cache.delete(k);
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.delete(key);
    this.cache.set(key, { until: now + ttl, decision });
  }
}
