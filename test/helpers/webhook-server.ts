// An admission webhook for tests: HTTPS on 127.0.0.1 with its own CA, answering AdmissionReview v1
// on each configured path as the test says (allow, deny, JSONPatch, warnings, a delay, or a raw
// malformed answer), and recording every review it received.

import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateCA, issueCert } from '../../src/pki/certs.js';

/** admission.k8s.io/v1 AdmissionRequest as it arrives. */
export interface AdmissionRequestV1 {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  requestKind?: { group: string; version: string; kind: string };
  requestResource?: { group: string; version: string; resource: string };
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: string;
  userInfo: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object: any;
  oldObject: any;
  dryRun?: boolean;
  options: any;
}

export interface ReceivedReview {
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: { apiVersion: string; kind: string; request: AdmissionRequestV1 };
}

export interface Reply {
  /** Defaults to true. */
  allowed?: boolean;
  status?: { code?: number; message?: string; reason?: string };
  /** RFC 6902 operations, sent base64 with patchType JSONPatch. */
  patch?: unknown[];
  warnings?: string[];
  /** Answer only after this long (timeouts). */
  delayMs?: number;
  /** Replaces the whole HTTP answer (malformed responses). */
  raw?: { status: number; body: string };
}

export type Handler = (req: AdmissionRequestV1) => Reply | Promise<Reply>;

export const allow = (): Handler => () => ({});
export const deny = (message: string, code?: number, reason?: string): Handler => () => ({ allowed: false, status: { message, ...(code ? { code } : {}), ...(reason ? { reason } : {}) } });
export const patch = (...ops: unknown[]): Handler => () => ({ patch: ops });
export const warn = (...warnings: string[]): Handler => () => ({ warnings });
export const delay = (ms: number): Handler => () => ({ delayMs: ms });

export class WebhookServer {
  readonly received: ReceivedReview[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: https.Server,
    readonly url: string,
    readonly caCert: string,
  ) {}

  /** `dnsNames` go into the serving certificate, e.g. `hooks.webhooks.svc` for a service reference. */
  static async start(o: { dnsNames?: string[] } = {}): Promise<WebhookServer> {
    const ca = await generateCA('test-webhook-ca');
    const serving = await issueCert(ca, { cn: 'webhook', dnsNames: ['localhost', ...(o.dnsNames ?? [])], ips: ['127.0.0.1'], server: true, days: 1 });
    let self!: WebhookServer;
    const server = https.createServer({ ...serving }, (req, res) => void self.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new WebhookServer(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca.cert);
    return self;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** The CA as a webhook configuration's `caBundle` carries it. */
  get caBundle(): string {
    return Buffer.from(this.caCert).toString('base64');
  }

  /** A `clientConfig` with `url` pointing at `path` here. */
  clientConfig(path: string): { url: string; caBundle: string } {
    return { url: `${this.url}${path}`, caBundle: this.caBundle };
  }

  /** Sets how `path` answers; unknown paths answer 404. */
  on(path: string, h: Handler): this {
    this.handlers.set(path, h);
    return this;
  }

  /** Reviews received on `path`. */
  reviews(path: string): AdmissionRequestV1[] {
    return this.received.filter((r) => r.path === path).map((r) => r.body.request);
  }

  clear(): void {
    this.received.length = 0;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const h = this.handlers.get(u.pathname);
    if (req.method !== 'POST' || !h) return void res.writeHead(404).end();
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedReview['body'];
    this.received.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, body });
    const r = await h(body.request);
    if (r.delayMs) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, r.delayMs);
        this.timers.add(t);
      });
    }
    if (res.destroyed) return; // the caller gave up
    if (r.raw) return void res.writeHead(r.raw.status, { 'Content-Type': 'application/json' }).end(r.raw.body);
    const response = {
      uid: body.request.uid,
      allowed: r.allowed ?? true,
      ...(r.status ? { status: r.status } : {}),
      ...(r.patch ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(r.patch)).toString('base64') } : {}),
      ...(r.warnings ? { warnings: r.warnings } : {}),
    };
    const text = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
}
