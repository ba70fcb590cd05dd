// isomorphic-git's HTTP plugin on node:http/https: a private CA, Basic or Bearer credentials sent on
// every request (so a poll costs one round trip, not a 401 and a retry), an inactivity timeout and an
// AbortSignal. Credentials live only in the Authorization header; nothing here logs.

import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { GitRemoteError, type GitAuth } from './types.js';

export interface HttpOptions {
  signal?: AbortSignal;
  /** Socket inactivity timeout (connect, headers, and between body chunks); default 60 s. */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 5;
// Shared keep-alive pools: many sources on one host reuse connections. The https agent keys its
// pool by TLS options, so sources with different CAs never share a socket.
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

/** The Authorization header for `auth` (Flux's rule: a bearer token wins over username/password). */
export function authorizationHeader(auth: GitAuth): string | undefined {
  if (auth.bearerToken) return `Bearer ${auth.bearerToken}`;
  if (auth.password && !auth.username) throw new GitRemoteError("invalid credentials: 'password' requires 'username' to be set", 'Invalid');
  if (auth.username) return `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
  return undefined;
}

export function createHttpClient(auth: GitAuth = {}, o: HttpOptions = {}): HttpClient {
  const authorization = authorizationHeader(auth);
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body ? await collect(req.body as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) : undefined;
      const origin = new URL(req.url).origin;
      let url = req.url;
      for (let hop = 0; ; hop++) {
        const headers: Record<string, string> = { ...req.headers };
        delete headers.authorization;
        delete headers.Authorization;
        // Never carry credentials to another origin after a redirect.
        if (authorization && new URL(url).origin === origin) headers.Authorization = authorization;
        if (body) headers['content-length'] = String(body.length);
        const res = await send(url, req.method ?? 'GET', headers, body, auth.caCert, o);
        const location = res.headers.location;
        if (res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && location && hop < MAX_REDIRECTS) {
          res.resume();
          url = new URL(location, url).toString();
          continue;
        }
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
        return {
          url,
          method: req.method,
          statusCode: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: flat,
          body: res[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>,
        };
      }
    },
  };
}

async function collect(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

function send(url: string, method: string, headers: Record<string, string>, body: Buffer | undefined, ca: string | undefined, o: HttpOptions): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const timeoutMs = o.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      u,
      {
        method,
        headers,
        agent: secure ? httpsAgent : httpAgent,
        signal: o.signal,
        // Like Flux (go-git), ca.crt adds to the system roots rather than replacing them.
        ...(secure && ca ? { ca: [...tls.rootCertificates, ca] } : {}),
      },
      (res) => {
        // The timeout keeps guarding the socket while isomorphic-git reads the body.
        res.on('end', () => req.setTimeout(0));
        resolve(res);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no response from ${u.host} for ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}
