// The aggregator's proxy (kube-aggregator's handler_proxy): a request the cluster has authenticated
// and authorized goes to the aggregated server over TLS verified against the APIService's caBundle
// (server name <service>.<namespace>.svc), presenting the front-proxy client certificate, with the
// user in X-Remote-* headers and every credential of the caller removed. Bodies and responses are
// streamed both ways, so watches and large lists pass through as they come.

import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { UserInfo } from '../../auth/types.js';
import type { CertKeyPair } from '../../pki/certs.js';
import type { Endpoint } from './endpoints.js';

/** Where and how to reach one aggregated server. */
export interface BackendTarget {
  endpoint: Endpoint;
  /** PEM; unset with insecureSkipTLSVerify. */
  ca?: string;
  insecureSkipTLSVerify: boolean;
  /** `<service>.<namespace>.svc`: the name the serving certificate must carry. */
  servername: string;
  client: CertKeyPair;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's, not the message's.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** Characters a header name may hold (RFC 9110 token); any other byte of an extra key is percent-encoded. */
const TOKEN_CHAR = /[A-Za-z0-9!#$&'*+\-.^_`|~]/;
export function escapeExtraKey(key: string): string {
  let out = '';
  for (const b of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && TOKEN_CHAR.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The caller's headers without credentials and identity claims, plus the front-proxy identity of `user`. */
export function proxiedHeaders(incoming: IncomingHttpHeaders, user: UserInfo): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (name === 'authorization' || name.startsWith('impersonate-') || name.startsWith('x-remote-')) continue;
    out[name] = value;
  }
  out['X-Remote-User'] = user.name;
  if (user.groups.length) out['X-Remote-Group'] = [...user.groups];
  for (const [key, values] of Object.entries(user.extra ?? {})) if (values.length) out[`X-Remote-Extra-${escapeExtraKey(key)}`] = [...values];
  return out;
}

// One pool of kept-alive connections; Node keys it by endpoint, CA, client certificate and server name.
const agent = new https.Agent({ keepAlive: true, maxSockets: Infinity });

export function backendRequest(target: BackendTarget, o: { method: string; path: string; headers: Record<string, string | string[] | number>; timeoutMs?: number }): ClientRequest {
  return https.request({
    agent,
    host: target.endpoint.host,
    port: target.endpoint.port,
    method: o.method,
    path: o.path,
    headers: o.headers,
    ca: target.ca,
    servername: target.servername,
    rejectUnauthorized: !target.insecureSkipTLSVerify,
    cert: target.client.cert,
    key: target.client.key,
    timeout: o.timeoutMs,
  });
}

/**
 * Sends `req` to the backend and its answer back; `onError` is called, before anything is written to
 * `res`, when the backend cannot be reached (the caller answers 503). A client that goes away ends the
 * backend request too.
 */
export function proxy(req: IncomingMessage, res: ServerResponse, target: BackendTarget, user: UserInfo, onError: (e: Error) => void): void {
  const headers = proxiedHeaders(req.headers, user);
  const up = backendRequest(target, { method: req.method ?? 'GET', path: req.url ?? '/', headers });
  let answered = false;
  up.on('response', (r: IncomingMessage) => {
    answered = true;
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(r.headers)) if (value !== undefined && value !== null && !HOP_BY_HOP.has(name)) out[name] = value as string | string[];
    res.writeHead(r.statusCode ?? 502, out);
    // Flushed chunk by chunk: a watch's events reach the client as the backend sends them.
    r.pipe(res);
    r.on('error', () => res.destroy());
  });
  up.on('error', (e: Error) => {
    if (!answered && !res.headersSent) onError(e);
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
}
