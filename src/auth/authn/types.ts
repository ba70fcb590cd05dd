// The pieces of kube's delegating authenticator are Authenticators that answer with a user, with
// nothing (no credential they understand), or throw InvalidCredentials when a credential is present
// but wrong; only the chain, which never throws, is given to the server.

import type { UserInfo } from '../types.js';

/** A credential was presented and rejected; like kube, it keeps an anonymous fallback from applying. */
export class InvalidCredentials extends Error {
  override name = 'InvalidCredentials';
}

/** Looks up a bearer token: a user, undefined for an unknown token, or a throw when it cannot tell. */
export interface TokenAuthenticator {
  authenticateToken(token: string): Promise<UserInfo | undefined>;
}
