// Bearer tokens checked by the cluster: an authentication.k8s.io/v1 TokenReview per unknown token,
// as kube's delegating webhook token authenticator does. Answers, yes and no alike, are reused for a
// short TTL so a burst of requests costs one review; concurrent lookups of one token share it.
// The cache is keyed by a keyed sha256 of the token; tokens are never stored or logged.

import { createHmac, randomBytes } from 'node:crypto';
import { KubeError, type KubeClient } from '../../kube/client.js';
import type { UserInfo } from '../types.js';
import type { TokenAuthenticator } from './types.js';

export interface TokenReviewOptions {
  /** How long an answer is reused (kube's --authentication-token-webhook-cache-ttl); 0 disables the cache. */
  cacheTTLMs?: number;
  /** A review not answered within this fails (and is not cached). */
  timeoutMs?: number;
  /** Sent as spec.audiences; a reviewer that answers with status.audiences must share one of them. */
  audiences?: string[];
  /** Entries kept at most; beyond it expired ones go first, then the oldest. */
  maxEntries?: number;
}

/** The part of a TokenReview's answer read here. */
interface TokenReviewAnswer {
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    audiences?: string[];
  };
}

interface Entry {
  until: number;
  user?: UserInfo;
}

export class TokenReviewAuthenticator implements TokenAuthenticator {
  private readonly cache = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<UserInfo | undefined>>();
  private readonly hashKey = randomBytes(32);
  private readonly ttl: number;
  private readonly timeoutMs: number;
  private readonly audiences: string[];
  private readonly maxEntries: number;

  constructor(
    private readonly client: KubeClient,
    o: TokenReviewOptions = {},
  ) {
    this.ttl = o.cacheTTLMs ?? 10_000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.audiences = o.audiences ?? [];
    this.maxEntries = o.maxEntries ?? 10_000;
  }

  /** The token's user, undefined when the cluster says it is not authenticated; throws when the review fails. */
  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    const key = createHmac('sha256', this.hashKey).update(token).digest('base64');
    const hit = this.cache.get(key);
    if (hit && Date.now() < hit.until) return hit.user;
    let p = this.pending.get(key);
    if (!p) {
      p = this.review(token)
        .then((user) => {
          this.remember(key, user);
          return user;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async review(token: string): Promise<UserInfo | undefined> {
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(this.audiences.length ? { audiences: this.audiences } : {}) },
    };
    let r: TokenReviewAnswer | undefined;
    try {
      // Our own signal, not only the client's deadline: a review cut short fails as an abort, as it always has.
      const signal = AbortSignal.timeout(this.timeoutMs);
      r = await this.client.request<TokenReviewAnswer>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { body, signal, timeoutMs: this.timeoutMs });
    } catch (e) {
      throw new Error(`TokenReview failed: ${e instanceof KubeError && e.code ? `HTTP ${e.code}` : (e as Error).message.split('\n')[0]}`);
    }
    const s = r?.status;
    if (!s?.authenticated || !s.user?.username) return undefined;
    if (this.audiences.length && s.audiences?.length && !s.audiences.some((a) => this.audiences.includes(a))) return undefined;
    return {
      name: s.user.username,
      ...(s.user.uid ? { uid: s.user.uid } : {}),
      groups: s.user.groups ?? [],
      ...(s.user.extra ? { extra: s.user.extra } : {}),
    };
  }

  private remember(key: string, user: UserInfo | undefined) {
    if (this.ttl <= 0) return;
    const now = Date.now();
    if (this.cache.size >= this.maxEntries) {
      for (const [k, e] of this.cache) if (e.until <= now) this.cache.delete(k);
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.delete(key); // re-inserted last, so the oldest stay first
    this.cache.set(key, { until: now + this.ttl, user });
  }
}
