// A raw HTTPS client for tests that need full control of a request: any method, path, query and
// headers, and the body as exact bytes (invalid UTF-8 included). Keep-alive connections, the admin
// client certificate by default, and watches read for a bounded time and then cut.

import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { TestServer } from './server.js';

export interface RawRequest {
  method: string;
  /** Path and query, already percent-encoded where needed (Node refuses unescaped characters). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Read a streaming (watch) response for this long after its headers, then cut the connection. */
  streamForMs?: number;
  /** Node's client default is 16 KiB; a larger one lets a test see, and judge, an oversized header. */
  maxHeaderSize?: number;
  /** Gives up (rejects) when the server has not answered by then. */
  timeoutMs?: number;
  /** Another identity, or none (`null`); the admin certificate otherwise. */
  cert?: { cert: string; key: string } | null;
  /** A connection of its own, closed after the response, instead of a kept-alive one. */
  fresh?: boolean;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names and values as received, in order, repeated headers kept apart. */
  rawHeaders: string[];
  body: Buffer;
  /** Whether the body was cut by streamForMs rather than ended by the server. */
  cut: boolean;
  ms: number;
  text(): string;
  json<T = any>(): T;
}

export class RawClient {
  private readonly agent: https.Agent;
  private readonly plainAgent: https.Agent;

  /** Any server with the admin's client certificate: a TestServer, or a target of test/helpers/api-sets.ts. */
  constructor(private readonly s: Pick<TestServer, 'port' | 'caCert' | 'adminCert' | 'adminKey'>) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: s.caCert, cert: s.adminCert, key: s.adminKey });
    this.plainAgent = new https.Agent({ keepAlive: false, ca: s.caCert });
  }

  request(r: RawRequest): Promise<RawResponse> {
    const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
    const headers: Record<string, string> = { ...r.headers };
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    const start = performance.now();
    const custom = r.cert !== undefined || r.fresh;
    const cert = r.cert === undefined ? { cert: this.s.adminCert, key: this.s.adminKey } : r.cert;
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (f: () => void) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          f();
        }
      };
      const req = https.request(
        {
          host: '127.0.0.1',
          port: this.s.port,
          method: r.method,
          path: r.path,
          headers,
          agent: custom ? (cert ? new https.Agent({ keepAlive: false, ca: this.s.caCert, ...cert }) : this.plainAgent) : this.agent,
          ...(r.maxHeaderSize ? { maxHeaderSize: r.maxHeaderSize } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let cut = false;
          const finish = () =>
            done(() => {
              const buf = Buffer.concat(chunks);
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                rawHeaders: res.rawHeaders,
                body: buf,
                cut,
                ms: performance.now() - start,
                text: () => buf.toString('utf8'),
                json: () => JSON.parse(buf.toString('utf8')),
              });
            });
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', finish);
          res.on('error', (e) => (cut ? finish() : done(() => reject(e))));
          res.on('close', () => (cut || res.complete ? finish() : done(() => reject(new Error('response closed before it ended')))));
          if (r.streamForMs !== undefined) {
            setTimeout(() => {
              if (settled) return;
              cut = true;
              req.destroy();
              finish();
            }, r.streamForMs);
          }
        },
      );
      const timer = setTimeout(() => {
        done(() => reject(new Error(`no answer to ${r.method} ${r.path.slice(0, 200)} in ${r.timeoutMs} ms`)));
        req.destroy();
      }, r.timeoutMs ?? 60_000);
      req.on('error', (e) => done(() => reject(e)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
    this.plainAgent.destroy();
  }
}
