// kube's delegating authenticator: front-proxy headers, then client certificates, then bearer tokens
// (the token file, then TokenReview); the first that names a user wins and the user joins
// system:authenticated. Anonymous applies only when enabled and when no credential was presented and
// rejected (kube's union with fail-on-error): a bad token or certificate is a 401, never anonymous.

import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import type { Authenticator, UserInfo } from '../types.js';
import { anonymousUser, AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP } from './anonymous.js';
import type { AuthenticationConfig } from './cluster-config.js';
import { RequestHeaderAuthenticator } from './requestheader.js';
import { InvalidCredentials, type TokenAuthenticator } from './types.js';
import { X509Authenticator } from './x509.js';

/** The token of an `Authorization: Bearer <token>` header, read as kube reads it. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const parts = (req.headers.authorization ?? '').trim().split(' ');
  if (parts.length < 2 || parts[0].toLowerCase() !== 'bearer') return undefined;
  return parts[1] || undefined;
}

class BearerTokenAuthenticator implements Authenticator {
  constructor(private readonly tokens: TokenAuthenticator[]) {}

  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const token = bearerToken(req);
    if (!token) return undefined;
    let failure: unknown;
    for (const t of this.tokens) {
      try {
        const user = await t.authenticateToken(token);
        if (!user) continue;
        delete req.headers.authorization; // nothing downstream may reuse the credential
        return user;
      } catch (e) {
        failure ??= e;
      }
    }
    throw failure ?? new InvalidCredentials('invalid bearer token');
  }
}

export interface ChainOptions {
  /** The CAs, allowed names and header names, read on every request (they reload). */
  config: () => AuthenticationConfig;
  /** Token authenticators in order: the token file, then TokenReview. */
  tokens?: TokenAuthenticator[];
  /** --anonymous-auth: requests without any credential become system:anonymous. */
  anonymous?: boolean;
  log?: Logger;
}

export class AuthenticationChain implements Authenticator, TokenAuthenticator {
  private readonly steps: Authenticator[];

  constructor(private readonly o: ChainOptions) {
    this.steps = [
      new RequestHeaderAuthenticator(() => o.config().requestHeader),
      new X509Authenticator(() => o.config().clientCA),
      ...(o.tokens?.length ? [new BearerTokenAuthenticator(o.tokens)] : []),
    ];
  }

  /** A bearer token alone, as a TokenReview asks: the token authenticators in order; never anonymous. */
  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    for (const t of this.o.tokens ?? []) {
      try {
        const user = await t.authenticateToken(token);
        if (user) return withAuthenticatedGroup(user);
      } catch (e) {
        if (!(e instanceof InvalidCredentials)) this.o.log?.warn('token authenticator failed', { err: (e as Error).message });
      }
    }
    return undefined;
  }

  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const failures: string[] = [];
    for (const step of this.steps) {
      try {
        const user = await step.authenticate(req);
        if (user) return withAuthenticatedGroup(user);
      } catch (e) {
        if (!(e instanceof InvalidCredentials)) this.o.log?.warn('authenticator failed', { err: (e as Error).message });
        failures.push((e as Error).message);
      }
    }
    if (failures.length > 0) {
      this.o.log?.debug('request not authenticated', { reasons: failures });
      return undefined;
    }
    return this.o.anonymous ? anonymousUser() : undefined;
  }
}

/** A fresh user in system:authenticated, unless it already names either of the two groups (kube's rule). */
function withAuthenticatedGroup(u: UserInfo): UserInfo {
  const has = u.groups.includes(AUTHENTICATED_GROUP) || u.groups.includes(UNAUTHENTICATED_GROUP);
  return { ...u, groups: has ? [...u.groups] : [...u.groups, AUTHENTICATED_GROUP] };
}
