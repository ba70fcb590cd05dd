// Front-proxy authentication (kube's headerrequest): kube-apiserver, having authenticated the user,
// proxies the request with the identity in X-Remote-* headers over a connection whose client
// certificate comes from the request-header CA. Only such a connection is believed; on any other one
// the headers are not read at all.

import type { IncomingMessage } from 'node:http';
import type { Authenticator, UserInfo } from '../types.js';
import { InvalidCredentials } from './types.js';
import { commonName, tlsSocket, type CABundle } from './x509.js';

export interface RequestHeaderConfig {
  /** The request-header (front-proxy) CA: distinct from the client CA. */
  ca: CABundle;
  /** Common names a proxy certificate may have; empty allows any the CA signed. */
  allowedNames: string[];
  /** Checked in order; the first with a value names the user. */
  usernameHeaders: string[];
  uidHeaders: string[];
  /** Every value of every one is a group (a value is never split on commas). */
  groupHeaders: string[];
  /** `<prefix><key>: value` adds value to extra[key], key lowercased and percent-decoded. */
  extraHeaderPrefixes: string[];
}

/** Reads the config on every request, so a reload takes effect at once. */
export class RequestHeaderAuthenticator implements Authenticator {
  constructor(private readonly config: () => RequestHeaderConfig | undefined) {}

  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const c = this.config();
    const socket = tlsSocket(req);
    if (!c || !socket) return undefined;
    const leaf = c.ca.verifiedClient(socket);
    if (!leaf) return undefined;
    const cn = commonName(leaf) ?? '';
    if (c.allowedNames.length > 0 && !c.allowedNames.includes(cn)) throw new InvalidCredentials(`x509: subject with cn=${cn} is not in the allowed list`);
    return userFromHeaders(req, c);
  }
}

function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key; // kept as sent rather than dropped, as kube does
  }
}

/** The identity in the headers (removed from the request once read), or undefined without a user name. */
export function userFromHeaders(req: IncomingMessage, c: Omit<RequestHeaderConfig, 'ca' | 'allowedNames'>): UserInfo | undefined {
  const h = req.headersDistinct; // lower-cased names, repeated headers kept apart
  const first = (names: string[]) => names.map((n) => h[n.toLowerCase()]?.[0]).find((v) => v);
  const name = first(c.usernameHeaders);
  if (!name) return undefined;
  const uid = first(c.uidHeaders);
  const groups = c.groupHeaders.flatMap((n) => h[n.toLowerCase()] ?? []).filter((g) => g !== '');
  const extra: Record<string, string[]> = {};
  const used = [...c.usernameHeaders, ...c.uidHeaders, ...c.groupHeaders].map((n) => n.toLowerCase());
  for (const prefix of c.extraHeaderPrefixes.map((p) => p.toLowerCase())) {
    for (const [header, values] of Object.entries(h)) {
      if (!header.startsWith(prefix) || values === undefined) continue;
      (extra[decodeKey(header.slice(prefix.length))] ??= []).push(...values);
      used.push(header);
    }
  }
  for (const header of used) {
    delete req.headers[header];
    delete h[header];
  }
  return { name, ...(uid ? { uid } : {}), groups, ...(Object.keys(extra).length ? { extra } : {}) };
}
