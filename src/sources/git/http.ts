// HTTP for Git on node:http/https, one `send` for everything that talks to a remote (the ref
// advertisement through isomorphic-git's plugin interface, and our upload-pack client): a private CA,
// Basic or Bearer credentials sent on every request (so a poll costs one round trip, not a 401 and a
// retry) and never to another origin after a redirect, an inactivity timeout and an AbortSignal, and
// an optional HTTP proxy. Credentials live only in the Authorization and Proxy-Authorization headers;
// nothing here logs.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { redactUrl } from './errors.js';
import { FetchLimitError, MAX_ADVERTISEMENT_BYTES } from './limits.js';
import { GitRemoteError, type GitAuth, type GitProxy } from './types.js';

export interface HttpOptions {
  signal?: AbortSignal;
  /** Socket inactivity timeout (connect, headers, and between body chunks); default 60 s. */
  timeoutMs?: number;
  proxy?: GitProxy;
}

/** Where the proxy listens and what to send it as Proxy-Authorization. */
interface ProxyRoute {
  host: string;
  port: number;
  authorization?: string;
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

/** Checks the proxy address once, so a bad one fails before any request (credentials never in messages). */
function proxyRoute(p: GitProxy): ProxyRoute {
  let u: URL;
  try {
    u = new URL(p.url);
  } catch {
    throw new GitRemoteError(`invalid proxy address ${JSON.stringify(redactUrl(p.url))}: expected http://host:port`, 'Invalid');
  }
  if (u.protocol !== 'http:') throw new GitRemoteError(`unsupported proxy address scheme ${u.protocol} (only http:// proxies)`, 'Unsupported');
  // The secret's username/password win over credentials in the address, as with Git URLs.
  const username = p.username || decodeURIComponent(u.username);
  const password = p.username ? (p.password ?? '') : decodeURIComponent(u.password);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 80),
    ...(username ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } : {}),
  };
}

/** One request as a Git client makes it; the body is small (a ref list or a list of wants). */
export interface SendRequest {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Buffer;
}

/** The final response after redirects; `url` is where it came from. Read or resume `body`. */
export interface SendResponse {
  url: string;
  statusCode: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

export type Send = (req: SendRequest) => Promise<SendResponse>;

/** A `send` bound to one remote's credentials, CA, proxy, timeout and signal. */
export function createSend(auth: GitAuth = {}, o: HttpOptions = {}): Send {
  const authorization = authorizationHeader(auth);
  const proxy = o.proxy && proxyRoute(o.proxy);
  return async (req) => {
    const origin = new URL(req.url).origin;
    let url = req.url;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { ...req.headers };
      delete headers.authorization;
      delete headers.Authorization;
      // Never carry credentials to another origin after a redirect.
      if (authorization && new URL(url).origin === origin) headers.Authorization = authorization;
      if (req.body) headers['content-length'] = String(req.body.length);
      const res = await sendOnce(url, req.method, headers, req.body, auth.caCert, proxy, o);
      const location = res.headers.location;
      if (res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && location && hop < MAX_REDIRECTS) {
        res.resume();
        url = new URL(location, url).toString();
        continue;
      }
      return { url, statusCode: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, body: res };
    }
  };
}

/** isomorphic-git's plugin, and whether a body was cut off. */
export interface BoundedHttpClient extends HttpClient {
  /** Throws the FetchLimitError when a response was longer than the bound. */
  assertComplete(): void;
}

/**
 * isomorphic-git's HTTP plugin over `send`, for the ref advertisement. isomorphic-git reads a
 * response whole, so the body is cut off past `maxBodyBytes`; isomorphic-git takes a failing body
 * for its end, so the caller asks `assertComplete()` afterwards.
 */
export function createHttpClient(auth: GitAuth = {}, o: HttpOptions = {}, maxBodyBytes = MAX_ADVERTISEMENT_BYTES): BoundedHttpClient {
  const send = createSend(auth, o);
  let cut: FetchLimitError | undefined;
  async function* bounded(body: http.IncomingMessage): AsyncIterableIterator<Uint8Array> {
    let n = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > maxBodyBytes) {
        body.destroy();
        throw (cut = new FetchLimitError('refs', maxBodyBytes, maxBodyBytes));
      }
      yield chunk;
    }
  }
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body ? await collect(req.body as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) : undefined;
      const res = await send({ url: req.url, method: req.method === 'POST' ? 'POST' : 'GET', headers: req.headers, body });
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
      return { url: res.url, method: req.method, statusCode: res.statusCode, statusMessage: res.statusMessage, headers: flat, body: bounded(res.body) };
    },
    assertComplete() {
      if (cut) throw cut;
    },
  };
}

async function collect(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

async function sendOnce(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  ca: string | undefined,
  proxy: ProxyRoute | undefined,
  o: HttpOptions,
): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const timeoutMs = o.timeoutMs ?? 60_000;
  // Like Flux (go-git), ca.crt adds to the system roots rather than replacing them.
  const trust = secure && ca ? { ca: [...tls.rootCertificates, ca] } : {};
  let route: https.RequestOptions;
  if (!proxy) route = { agent: secure ? httpsAgent : httpAgent, ...trust };
  else if (secure) {
    // TLS to the remote itself, inside the tunnel: the proxy sees only host:port.
    const socket = await tunnel(u, proxy, timeoutMs, o.signal);
    const servername = net.isIP(u.hostname) ? undefined : u.hostname;
    route = { createConnection: () => tls.connect({ socket, host: u.hostname, servername, ...trust }) };
  } else {
    // Absolute-URI form: the connection goes to the proxy, the request line names the remote.
    route = { agent: httpAgent, hostname: proxy.host, port: proxy.port, path: u.href };
    headers = { ...headers, host: u.host, ...(proxy.authorization ? { 'proxy-authorization': proxy.authorization } : {}) };
  }
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = (secure ? https : http).request(u, { method, headers, signal: o.signal, ...route }, (res) => {
      // The timeout keeps guarding the socket while the caller reads the body.
      res.on('end', () => req.setTimeout(0));
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no response from ${u.host} for ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
  if (proxy && !secure && res.statusCode === 407) {
    res.resume();
    throw proxyRefused(res, proxy, u);
  }
  return res;
}

/** A CONNECT tunnel through the proxy to the remote's host:port. */
function tunnel(u: URL, proxy: ProxyRoute, timeoutMs: number, signal: AbortSignal | undefined): Promise<net.Socket> {
  const authority = `${u.hostname}:${u.port || 443}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: authority,
      agent: false,
      signal,
      headers: { host: authority, ...(proxy.authorization ? { 'proxy-authorization': proxy.authorization } : {}) },
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer from proxy ${proxy.host}:${proxy.port} for ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.on('connect', (res, socket, head) => {
      req.setTimeout(0);
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(proxyRefused(res, proxy, u));
      }
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * 407 is AuthenticationFailed: only a change to the proxy secret's credentials can fix it, which is
 * what that reason tells the user. Any other refusal (403, 502, …) is Unreachable.
 */
function proxyRefused(res: http.IncomingMessage, proxy: ProxyRoute, u: URL): GitRemoteError {
  const via = `proxy ${proxy.host}:${proxy.port}`;
  const status = `HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  if (res.statusCode === 407) {
    const what = proxy.authorization ? 'rejected the credentials' : 'requires authentication';
    return new GitRemoteError(`cannot reach ${u.host}: ${via} ${what} (${status}); check username and password in the proxy secret`, 'AuthenticationFailed');
  }
  return new GitRemoteError(`cannot reach ${u.host}: ${via} refused the tunnel (${status})`, 'Unreachable');
}
