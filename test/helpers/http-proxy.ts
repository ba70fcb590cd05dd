// A tiny forward HTTP proxy for tests: absolute-URI requests are forwarded, CONNECT opens a TCP
// tunnel; optional Basic proxy auth (407 otherwise); every request is recorded.

import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ProxyRequestRecord {
  method: string;
  /** The absolute URI, or host:port for CONNECT. */
  target: string;
  status: number;
  /** The Proxy-Authorization header as received. */
  proxyAuthorization?: string;
}

export class HttpProxy {
  readonly requests: ProxyRequestRecord[] = [];
  port = 0;
  private readonly server: http.Server;
  private readonly tunnels = new Set<net.Socket>();

  private constructor(private readonly credentials?: { username: string; password: string }) {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => this.connect(req, client, head));
  }

  /** With credentials, requests without the matching Proxy-Authorization get 407. */
  static async start(credentials?: { username: string; password: string }): Promise<HttpProxy> {
    const p = new HttpProxy(credentials);
    p.server.listen(0, '127.0.0.1');
    await once(p.server, 'listening');
    p.port = (p.server.address() as AddressInfo).port;
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.tunnels) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private record(req: http.IncomingMessage, status: number): void {
    const auth = req.headers['proxy-authorization'];
    this.requests.push({ method: req.method ?? '', target: req.url ?? '', status, ...(auth ? { proxyAuthorization: auth } : {}) });
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (!this.credentials) return true;
    const { username, password } = this.credentials;
    return req.headers['proxy-authorization'] === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!/^http:\/\//.test(req.url ?? '')) {
      this.record(req, 400);
      req.resume();
      return void res.writeHead(400).end('absolute URI required\n');
    }
    if (!this.authorized(req)) {
      this.record(req, 407);
      req.resume();
      return void res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="proxy"' }).end();
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = http.request(req.url!, { method: req.method, headers, agent: false }, (upRes) => {
      this.record(req, upRes.statusCode ?? 0);
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => {
      this.record(req, 502);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  }

  private connect(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    if (!this.authorized(req)) {
      this.record(req, 407);
      return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n');
    }
    const [host, port] = splitHostPort(req.url ?? '');
    let open = false;
    const upstream = net.connect(port, host, () => {
      open = true;
      this.record(req, 200);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      this.tunnels.add(s);
      s.on('close', () => this.tunnels.delete(s));
    }
    upstream.on('error', () => {
      if (open) return void client.destroy();
      this.record(req, 502);
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

function splitHostPort(authority: string): [string, number] {
  const i = authority.lastIndexOf(':');
  return [authority.slice(0, i).replace(/^\[|\]$/g, ''), Number(authority.slice(i + 1))];
}
