// ServiceAccount tokens as kube-apiserver issues and accepts them: RS256 JWTs with kube's claims
// (`iss`, `sub` system:serviceaccount:NS:NAME, `aud`, `exp`, `nbf`, `iat`, `jti`, and the
// `kubernetes.io` claim naming the namespace and the service account's name and uid). The local
// cluster signs them for the `token` subresource (TokenRequest) and `kubectl create token`, and its
// authenticator verifies them; whether the service account still exists is the caller's check.

import { createHash, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { UserInfo } from '../types.js';
import type { TokenAuthenticator } from './types.js';
import { InvalidCredentials } from './types.js';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
  uid: string;
}

interface Claims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
/** kube's key id: the base64url SHA-256 of the public key's DER, so verifiers can pick the key. */
const keyId = (key: KeyObject) => b64url(createHash('sha256').update(createPublicKey(key).export({ type: 'spki', format: 'der' })).digest());

/** Signs a token for `sa`, valid `expirationSeconds` from `now` (kube's default TokenRequest: an hour). */
export function signServiceAccountToken(
  privateKey: KeyObject,
  o: { issuer: string; audiences: string[]; sa: ServiceAccountRef; expirationSeconds?: number; now?: number },
): { token: string; expirationTimestamp: string } {
  const now = Math.floor((o.now ?? Date.now()) / 1000);
  const exp = now + (o.expirationSeconds ?? 3600);
  const claims: Claims = {
    iss: o.issuer,
    sub: `system:serviceaccount:${o.sa.namespace}:${o.sa.name}`,
    aud: o.audiences,
    exp,
    nbf: now,
    iat: now,
    jti: randomUUID(),
    'kubernetes.io': { namespace: o.sa.namespace, serviceaccount: { name: o.sa.name, uid: o.sa.uid } },
  };
  const head = b64url(JSON.stringify({ alg: 'RS256', kid: keyId(privateKey) }));
  const body = b64url(JSON.stringify(claims));
  const signature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), privateKey);
  return { token: `${head}.${body}.${b64url(signature)}`, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/**
 * Verifies tokens signed by one of `publicKeys` for `issuers`, with an audience among `audiences`;
 * a token that is not a JWT is left to the next authenticator (undefined), a bad one is refused.
 */
export class ServiceAccountTokenAuthenticator implements TokenAuthenticator {
  constructor(
    private readonly o: { publicKeys: KeyObject[]; issuers: string[]; audiences: string[]; leewaySeconds?: number; now?: () => number },
  ) {}

  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let header: { alg?: string; kid?: string };
    let claims: Partial<Claims>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return undefined; // not a JWT: another authenticator's token
    }
    if (typeof claims?.iss !== 'string' || !this.o.issuers.includes(claims.iss)) return undefined; // another issuer's
    if (header.alg !== 'RS256') throw new InvalidCredentials(`service account token: unsupported algorithm ${String(header.alg)}`);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2], 'base64url');
    if (!this.o.publicKeys.some((k) => verify('RSA-SHA256', signed, k, signature))) throw new InvalidCredentials('service account token: invalid signature');
    const now = Math.floor((this.o.now?.() ?? Date.now()) / 1000);
    const leeway = this.o.leewaySeconds ?? 60;
    if (typeof claims.exp !== 'number' || claims.exp + leeway < now) throw new InvalidCredentials('service account token: expired');
    if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) throw new InvalidCredentials('service account token: not valid yet');
    const aud = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === 'string' ? [claims.aud] : [];
    if (!aud.some((a) => this.o.audiences.includes(a))) throw new InvalidCredentials('service account token: no accepted audience');
    const k = claims['kubernetes.io'];
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? '');
    if (!m || !k || k.namespace !== m[1] || k.serviceaccount?.name !== m[2]) throw new InvalidCredentials('service account token: malformed claims');
    return {
      name: claims.sub!,
      uid: k.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${m[1]}`],
      ...(claims.jti ? { extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] } } : {}),
    };
  }
}
