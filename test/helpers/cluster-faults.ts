// Faults the local cluster cannot produce (a 500, a timeout, a dropped watch, a slow answer, a
// malformed response), injected in front of a real one: an HTTPS reverse proxy that forwards every
// request to a TestCluster unchanged (bodies buffered, answers streamed, watches too) and records what
// passed, except requests that match a fault rule the test installed. It implements no API itself,
// so it can never answer wrongly: what it does not know how to fake it refuses with 501 and says why.
//
// Credentials: a TLS-terminating proxy cannot pass a client certificate on, so clients reach the
// cluster through it with bearer tokens (kubeconfigForToken); a client certificate is refused (501).
//
// Also here: `serverServiceAccount`, the identity gitops-toolkit has in a cluster (manifests/
// rbac-server.yaml applied to ServiceAccount gitops-system/gitops-toolkit), and `accessReview`.

import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { issueCert } from '../../src/pki/certs.js';
import { eventually } from './eventually.js';
import { writeKubeconfig, type TestCluster } from './local-cluster.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One request as it passed the proxy (credentials left out), and what it was answered. */
export interface PassedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The request's headers without Authorization, Proxy-Authorization and Cookie. */
  headers: IncomingHttpHeaders;
  /** A short digest of the bearer token it carried, to tell callers apart without keeping tokens. */
  bearer?: string;
  /** Parsed when JSON, else the text; undefined when the request had none. */
  body?: unknown;
  watch: boolean;
  /** The status answered: the cluster's, or the fault's. */
  status?: number;
  /** The answer's body (parsed when JSON), for requests other than watches. */
  response?: unknown;
  /** The fault that handled it, when one did. */
  fault?: string;
}

export interface FaultMatch {
  method?: string;
  /** The exact path, or a pattern the path must match. */
  path?: string | RegExp;
  /** Only watches (true) or only other requests (false). */
  watch?: boolean;
  /** Any further condition on the request. */
  when?: (r: PassedRequest) => boolean;
}

export type FaultAction =
  /** Answer with this status and body instead of the cluster (not for a 2xx to a watch: no faked streams). */
  | { respond: { status: number; body?: unknown } }
  /** Forward, but only after this long. */
  | { delayMs: number }
  /** Never answer (until the client gives up or the proxy stops). */
  | { hang: true }
  /** Drop the connection without an answer. */
  | { close: true };

export interface Fault {
  readonly description: string;
  /** Requests it has handled so far. */
  hits: number;
  remove(): void;
}

interface Rule extends Fault {
  match: FaultMatch;
  action: FaultAction;
  times: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const RESPONSE_RECORD_LIMIT = 1024 * 1024;
const ACTIONS = ['respond', 'delayMs', 'hang', 'close'];

const tokenDigest = (t: string) => createHash('sha256').update(t).digest('hex').slice(0, 12);
const parse = (text: string): unknown => {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export class ClusterFaults {
  /** Every request that reached the proxy, in arrival order. */
  readonly requests: PassedRequest[] = [];
  private readonly rules: Rule[] = [];
  private readonly watches = new Set<{ res: ServerResponse; upstream?: IncomingMessage }>();
  private readonly held = new Set<Socket>();
  private readonly agent: https.Agent;

  private constructor(
    readonly cluster: TestCluster,
    private readonly server: https.Server,
    readonly url: string,
    private readonly dir: string,
  ) {
    this.agent = new https.Agent({ keepAlive: true, ca: cluster.caCert });
  }

  /** Starts a proxy on a free loopback port, serving with a certificate of the cluster's own CA. */
  static async start(cluster: TestCluster): Promise<ClusterFaults> {
    const serving = await issueCert({ cert: cluster.cluster.certs.caCert, key: cluster.cluster.certs.caKey }, { cn: 'cluster-faults', dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true, days: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'cluster-faults-'));
    let self!: ClusterFaults;
    const server = https.createServer({ ...serving, requestCert: true, rejectUnauthorized: false }, (req, res) => void self.handle(req, res));
    server.on('upgrade', (_req, socket: Socket) => {
      const msg = 'cluster-faults: connection upgrades (exec, attach, port-forward, websockets) are not supported; talk to the cluster directly';
      socket.end(`HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg)}\r\nConnection: close\r\n\r\n${msg}`);
    });
    server.on('connection', (s: Socket) => {
      self.held.add(s);
      s.on('close', () => self.held.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new ClusterFaults(cluster, server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`, dir);
    return self;
  }

  /**
   * Handles requests matching `match` with `action` instead of forwarding them plainly, for the next
   * `times` matching requests (all of them by default). The first rule installed that matches wins.
   */
  inject(match: FaultMatch, action: FaultAction, o: { times?: number } = {}): Fault {
    const keys = Object.keys(action);
    if (keys.length !== 1 || !ACTIONS.includes(keys[0])) throw new Error(`cluster-faults: unsupported fault ${JSON.stringify(action)}; one of ${ACTIONS.join(', ')}`);
    if ('respond' in action && !(Number.isInteger(action.respond.status) && action.respond.status >= 100 && action.respond.status < 600)) throw new Error(`cluster-faults: bad status ${action.respond.status}`);
    if ('delayMs' in action && !(action.delayMs >= 0)) throw new Error(`cluster-faults: bad delay ${action.delayMs}`);
    const description = `${keys[0]} ${match.method ?? '*'} ${match.path ?? '*'}${match.watch === undefined ? '' : match.watch ? ' (watch)' : ' (not watch)'}`;
    const rule: Rule = {
      match,
      action,
      times: o.times ?? Infinity,
      description,
      hits: 0,
      remove: () => {
        const i = this.rules.indexOf(rule);
        if (i >= 0) this.rules.splice(i, 1);
      },
    };
    this.rules.push(rule);
    return rule;
  }

  /** Removes every fault: from now on everything is forwarded. */
  clearFaults(): void {
    this.rules.length = 0;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Ends every watch stream passing through now, as an apiserver restart or a load balancer would. */
  endWatches(): void {
    for (const w of this.watches) {
      w.upstream?.destroy();
      w.res.end();
    }
    this.watches.clear();
  }

  /** The digest `PassedRequest.bearer` holds for `token`. */
  static bearerOf(token: string): string {
    return tokenDigest(token);
  }

  /** A kubeconfig that reaches the cluster through this proxy with `token`. */
  kubeconfigForToken(name: string, token: string): Promise<string> {
    return writeKubeconfig(join(this.dir, `${name}.kubeconfig`), { server: this.url, caCert: this.cluster.caCert, name, user: { token } });
  }

  async stop(): Promise<void> {
    this.endWatches();
    for (const s of this.held) s.destroy();
    this.agent.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private refuse(res: ServerResponse, rec: PassedRequest | undefined, message: string): void {
    const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `cluster-faults: ${message}`, reason: 'NotImplemented', code: 501 });
    if (rec) {
      rec.status = 501;
      rec.response = JSON.parse(body);
    }
    res.writeHead(501, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', this.url);
    const headers: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!CREDENTIAL_HEADERS.has(k)) headers[k] = v;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const query = Object.fromEntries(u.searchParams);
    const rec: PassedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query,
      headers,
      ...(bearer ? { bearer: tokenDigest(bearer) } : {}),
      body: parse(body.toString('utf8')),
      watch: req.method === 'GET' && (query.watch === 'true' || query.watch === '1'),
    };
    this.requests.push(rec);

    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    if (peer && Object.keys(peer).length) return this.refuse(res, rec, 'a client certificate cannot be passed on through this proxy; reach the cluster through it with a bearer token (kubeconfigForToken)');

    const rule = this.rules.find((r) => r.hits < r.times && matches(r.match, rec));
    if (rule) {
      rule.hits++;
      rec.fault = rule.description;
      const a = rule.action;
      if ('respond' in a) {
        if (rec.watch && a.respond.status < 300) return this.refuse(res, rec, `refusing to fake a watch stream (${a.respond.status} to a watch); fail it with a status >= 300, or end it with endWatches()`);
        const text = a.respond.body === undefined ? '' : typeof a.respond.body === 'string' ? a.respond.body : JSON.stringify(a.respond.body);
        rec.status = a.respond.status;
        rec.response = parse(text);
        res.writeHead(a.respond.status, { 'Content-Type': typeof a.respond.body === 'string' ? 'text/plain' : 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
        return;
      }
      if ('close' in a) return void req.socket.destroy();
      if ('hang' in a) return; // the socket is destroyed on stop, or by the client
      await new Promise((r) => setTimeout(r, a.delayMs));
      if (res.destroyed) return;
    }
    this.forward(req, res, rec, body);
  }

  private forward(req: IncomingMessage, res: ServerResponse, rec: PassedRequest, body: Buffer): void {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    if (body.length || req.headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
    const target = new URL(req.url ?? '/', this.cluster.url);
    const entry: { res: ServerResponse; upstream?: IncomingMessage } = { res };
    const up = https.request(target, { method: req.method, headers, agent: this.agent }, (upstream) => {
      rec.status = upstream.statusCode;
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upstream.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(upstream.statusCode ?? 502, out);
      res.flushHeaders();
      if (rec.watch) {
        entry.upstream = upstream;
        this.watches.add(entry);
      }
      const kept: Buffer[] = [];
      let size = 0;
      upstream.on('data', (c: Buffer) => {
        if (!rec.watch && size < RESPONSE_RECORD_LIMIT) {
          kept.push(c);
          size += c.length;
        }
        res.write(c);
      });
      upstream.on('end', () => {
        this.watches.delete(entry);
        if (!rec.watch) rec.response = parse(Buffer.concat(kept).toString('utf8'));
        res.end();
      });
      upstream.on('error', () => {
        this.watches.delete(entry);
        res.destroy();
      });
    });
    up.on('error', (e) => {
      if (res.headersSent) return void res.destroy();
      const text = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `cluster-faults: the cluster did not answer: ${e.message}`, reason: 'ServiceUnavailable', code: 502 });
      rec.status = 502;
      res.writeHead(502, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
    });
    // The client went away (an aborted watch, a timeout): so does the upstream request.
    res.on('close', () => {
      this.watches.delete(entry);
      if (!res.writableFinished) up.destroy();
    });
    up.end(body);
  }
}

function matches(m: FaultMatch, r: PassedRequest): boolean {
  if (m.method && m.method.toUpperCase() !== r.method) return false;
  if (typeof m.path === 'string' && m.path !== r.path) return false;
  if (m.path instanceof RegExp && !m.path.test(r.path)) return false;
  if (m.watch !== undefined && m.watch !== r.watch) return false;
  return !m.when || m.when(r);
}

export const SERVER_SERVICE_ACCOUNT = 'system:serviceaccount:gitops-system:gitops-toolkit';

/**
 * gitops-toolkit's identity in `cluster`, as its manifests deploy it: ServiceAccount
 * gitops-system/gitops-toolkit with manifests/rbac-server.yaml applied (auth-delegator, the
 * extension-apiserver-authentication reader, namespaces, webhook configurations, secrets, events).
 * Waits until the cluster's RBAC has the bindings; returns a token of the ServiceAccount.
 */
export async function serverServiceAccount(cluster: TestCluster): Promise<string> {
  const ns = await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gitops-system' } } });
  if (ns.status !== 201 && ns.status !== 409) throw new Error(`namespace gitops-system: ${ns.status} ${ns.body}`);
  const applied = await cluster.kubectl(['apply', '-f', join(ROOT, 'manifests', 'rbac-server.yaml')]);
  if (applied.code !== 0) throw new Error(`kubectl apply rbac-server.yaml: ${applied.stderr}`);
  const token = await cluster.serviceAccountToken('gitops-system', 'gitops-toolkit');
  const user = { user: SERVER_SERVICE_ACCOUNT, groups: ['system:serviceaccounts', 'system:serviceaccounts:gitops-system', 'system:authenticated'] };
  await eventually(async () => (await accessReview(cluster, { ...user, resourceAttributes: { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' } })).allowed, 10_000, () => 'the server\'s RBAC never applied');
  await eventually(async () => (await accessReview(cluster, { ...user, resourceAttributes: { verb: 'watch', resource: 'namespaces' } })).allowed, 10_000, () => 'the server\'s RBAC never applied');
  return token;
}

/** The cluster's own decision (a SubjectAccessReview as admin) on `spec`. */
export async function accessReview(cluster: TestCluster, spec: Record<string, unknown>): Promise<{ allowed: boolean; reason?: string; denied?: boolean }> {
  const r = await cluster.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec } });
  if (r.status !== 201) throw new Error(`SubjectAccessReview: ${r.status} ${r.body}`);
  return r.json().status;
}
