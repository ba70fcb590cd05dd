// The one client of a host (or remote) cluster: kube's REST spoken directly over HTTPS with a
// KubeConfig's credentials, applied per request (an in-cluster token file is re-read as it rotates).
//
// - discovery (aggregated discovery v2/v2beta1 when served, else /api, /apis and each group version)
//   and a kind → resource mapping, refreshed when a kind is unknown (a CRD just created), at most once
//   per `discoveryMinIntervalMs`;
// - server-side apply, get, list by label (all pages), delete with a propagation policy, dry runs;
// - per-call impersonation (a Kustomization's `spec.serviceAccountName`);
// - a deadline on every request and a bound on every response body;
// - kube's Status answers as KubeError (code, reason, message, causes).
//
// The raw GET and watch (`getPath`, `watch`) are what informers read through (KubeApi delegates here).

import http from 'node:http';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { ObjectMeta, Status } from '../apis/meta/types.js';
import { KubeError, UnknownKindError } from './client-errors.js';

export { KubeError, UnknownKindError } from './client-errors.js';

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | Status;
}

/** Who a request acts as (`Impersonate-User`, `-Group`, `-Uid`). */
export interface Identity {
  user: string;
  groups?: string[];
  uid?: string;
}

/** A ServiceAccount as kube authenticates it: `system:serviceaccount:NS:NAME` with its groups. */
export function serviceAccountIdentity(namespace: string, name: string): Identity {
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface TypeRef {
  apiVersion: string;
  kind: string;
}

export interface ObjectRef extends TypeRef {
  name: string;
  namespace?: string;
}

/** Where a kind is served. `group` is '' for the core group. */
export interface ResourceInfo {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

export interface KubeClientOptions {
  /** Deadline of one request, answer included (default 30 s). */
  timeoutMs?: number;
  /** Largest response body read (default 64 MiB). */
  maxResponseBytes?: number;
  /** Least time between two discovery refreshes caused by unknown kinds (default 5 s). */
  discoveryMinIntervalMs?: number;
  /** The field manager of apply when a call names none (default `gitops-toolkit`). */
  fieldManager?: string;
  /** An identity every request of this client acts as (a call's own `impersonate` wins). */
  impersonate?: Identity;
}

export interface CallOptions {
  impersonate?: Identity;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface RequestOptions extends CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  maxResponseBytes?: number;
}

export interface ApplyOptions extends CallOptions {
  fieldManager?: string;
  force?: boolean;
  dryRun?: boolean;
}

export interface ListOptions extends CallOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

export interface DeleteOptions extends CallOptions {
  propagationPolicy?: PropagationPolicy;
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface KubeconfigTextOptions extends KubeClientOptions {
  /** Allow `exec` and `auth-provider` users (they run commands / read files in this process; off by default). */
  allowExec?: boolean;
  /** Allow paths to local files (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`; off by default). */
  allowFiles?: boolean;
}

export const DEFAULT_FIELD_MANAGER = 'gitops-toolkit';
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const DEFAULT_DISCOVERY_MIN_INTERVAL_MS = 5_000;
const LIST_PAGE = 500;
const AGGREGATED_ACCEPT = [
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
  'application/json',
].join(',');

/** `apps/v1` → { group: 'apps', version: 'v1' }; `v1` → the core group. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

const mapKey = (group: string, version: string, kind: string) => `${group}/${version}/${kind}`;

const agents = new WeakMap<k8s.KubeConfig, Map<string, https.Agent>>();

/** The keep-alive agent of `kc` for the TLS settings in `opts` (what client-node's agent would carry). */
function keepAliveAgent(kc: k8s.KubeConfig, opts: https.RequestOptions): https.Agent {
  const a = (opts.agent ?? {}) as { options?: https.AgentOptions };
  const tls: https.AgentOptions = { ca: opts.ca ?? a.options?.ca, cert: opts.cert ?? a.options?.cert, key: opts.key ?? a.options?.key, rejectUnauthorized: opts.rejectUnauthorized ?? a.options?.rejectUnauthorized, servername: opts.servername ?? a.options?.servername };
  const id = JSON.stringify([tls.ca, tls.cert, tls.key, tls.rejectUnauthorized, tls.servername].map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
  let byTLS = agents.get(kc);
  if (!byTLS) agents.set(kc, (byTLS = new Map()));
  let agent = byTLS.get(id);
  if (!agent) {
    if (byTLS.size > 8) byTLS.clear(); // rotations: old agents' sockets close on their own when idle
    byTLS.set(id, (agent = new https.Agent({ ...tls, keepAlive: true, maxSockets: 32, timeout: 60_000 })));
  }
  return agent;
}

export class KubeClient {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly discoveryMinIntervalMs: number;
  readonly fieldManager: string;
  /** The namespace of the kubeconfig's context: where namespaced objects without one go. */
  readonly namespace: string;
  private readonly identity?: Identity;
  private readonly discovery: DiscoveryCache;

  constructor(
    readonly kc: k8s.KubeConfig,
    o: KubeClientOptions = {},
    shared?: DiscoveryCache,
  ) {
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.discoveryMinIntervalMs = o.discoveryMinIntervalMs ?? DEFAULT_DISCOVERY_MIN_INTERVAL_MS;
    this.fieldManager = o.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.identity = o.impersonate;
    const ctx = kc.getContextObject(kc.getCurrentContext());
    this.namespace = ctx?.namespace || 'default';
    this.discovery = shared ?? new DiscoveryCache();
  }

  /** A client of the cluster in `text` (a kubeconfig held in a Secret), refusing exec plugins and local file paths unless allowed. */
  static fromKubeconfigText(text: string, o: KubeconfigTextOptions = {}): KubeClient {
    let doc: unknown;
    try {
      doc = yaml.load(text);
    } catch (e) {
      // Only js-yaml's reason and position: its message quotes the lines around the error, and a
      // kubeconfig's lines are its credentials (this message ends up in a Kustomization's status and events).
      const y = e as { reason?: string; mark?: { line?: number; column?: number } };
      const where = y.mark?.line !== undefined ? ` at line ${y.mark.line + 1}, column ${(y.mark.column ?? 0) + 1}` : '';
      throw new KubeError(400, `kubeconfig is not YAML: ${y.reason ?? 'unparsable'}${where}`, undefined, 'Invalid');
    }
    if (!doc || typeof doc !== 'object') throw new KubeError(400, 'kubeconfig is empty', undefined, 'Invalid');
    const cfg = doc as { users?: { name?: string; user?: Record<string, unknown> }[]; clusters?: { name?: string; cluster?: Record<string, unknown> }[] };
    for (const u of cfg.users ?? []) {
      const user = u.user ?? {};
      if (!o.allowExec && (user.exec || user['auth-provider']))
        throw new KubeError(400, `kubeconfig user ${JSON.stringify(u.name)}: exec and auth-provider credentials are not allowed`, undefined, 'Invalid');
      if (!o.allowFiles)
        for (const k of ['client-certificate', 'client-key', 'tokenFile'])
          if (user[k]) throw new KubeError(400, `kubeconfig user ${JSON.stringify(u.name)}: ${k} (a local file path) is not allowed; use ${k === 'tokenFile' ? 'token' : `${k}-data`}`, undefined, 'Invalid');
    }
    if (!o.allowFiles)
      for (const c of cfg.clusters ?? [])
        if (c.cluster?.['certificate-authority'])
          throw new KubeError(400, `kubeconfig cluster ${JSON.stringify(c.name)}: certificate-authority (a local file path) is not allowed; use certificate-authority-data`, undefined, 'Invalid');
    const kc = new k8s.KubeConfig();
    try {
      kc.loadFromString(text);
    } catch (e) {
      throw new KubeError(400, `kubeconfig: ${(e as Error).message}`, undefined, 'Invalid');
    }
    if (!kc.getCurrentCluster()) throw new KubeError(400, 'kubeconfig has no current cluster (current-context)', undefined, 'Invalid');
    return new KubeClient(kc, o);
  }

  /** The same cluster and discovery cache, every request acting as `identity`. */
  as(identity: Identity): KubeClient {
    return new KubeClient(
      this.kc,
      { timeoutMs: this.timeoutMs, maxResponseBytes: this.maxResponseBytes, discoveryMinIntervalMs: this.discoveryMinIntervalMs, fieldManager: this.fieldManager, impersonate: identity },
      this.discovery,
    );
  }

  get server(): string {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new KubeError(0, 'kubeconfig has no current cluster', undefined, 'Unreachable');
    return server.replace(/\/+$/, '');
  }

  // ---- HTTP ----

  /** Opens `method path`; resolves with the response whatever its status (the caller reads or drains it). */
  private async open(method: string, path: string, o: RequestOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    // client-node makes a new agent per call, which is a new TLS handshake per request: reuse one
    // keep-alive agent per set of TLS settings instead (a rotated client certificate gets a new one).
    // (A cluster's proxy-url gets a proxy agent: that one is kept.)
    if (url.protocol === 'https:' && (!opts.agent || (opts.agent as object).constructor === https.Agent)) opts.agent = keepAliveAgent(this.kc, opts);
    const headers: http.OutgoingHttpHeaders = { ...((opts.headers ?? {}) as http.OutgoingHttpHeaders), Accept: o.accept ?? 'application/json' };
    const who = o.impersonate ?? this.identity;
    if (who) {
      for (const h of Object.keys(headers)) if (/^impersonate-/i.test(h)) delete headers[h];
      headers['Impersonate-User'] = who.user;
      if (who.groups?.length) headers['Impersonate-Group'] = who.groups;
      if (who.uid) headers['Impersonate-Uid'] = who.uid;
    }
    let body: Buffer | undefined;
    if (o.body !== undefined) {
      body = Buffer.isBuffer(o.body) ? o.body : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
      headers['Content-Type'] = o.contentType ?? 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, headers, method, signal }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Reads a body up to the bound; a longer one is cut and fails. */
  private async readBody(res: http.IncomingMessage, max: number): Promise<string> {
    const declared = Number(res.headers['content-length']);
    const tooLarge = () => new KubeError(0, `response larger than ${max} bytes`, undefined, 'ResponseTooLarge');
    if (declared > max) {
      res.destroy();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res) {
      size += (c as Buffer).length;
      if (size > max) {
        res.destroy();
        throw tooLarge();
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private errorOf(method: string, path: string, code: number, text: string): KubeError {
    try {
      const parsed = JSON.parse(text) as Status;
      if (parsed?.kind === 'Status') return new KubeError(code, parsed.message ?? `${method} ${path}: ${code}`, parsed);
    } catch {
      // not a Status: the text is the message
    }
    return new KubeError(code, `${method} ${path}: ${code} ${text.slice(0, 200)}`);
  }

  /** Turns what a failed request threw into a KubeError (a caller's own abort stays as it is). */
  private failure(e: unknown, method: string, path: string, deadline: AbortSignal, timeoutMs: number, callerSignal?: AbortSignal): unknown {
    if (e instanceof KubeError) return e;
    if (callerSignal?.aborted) return e;
    if (deadline.aborted) return new KubeError(0, `${method} ${path}: no answer within ${timeoutMs} ms`, undefined, 'Timeout');
    const err = e as NodeJS.ErrnoException;
    return new KubeError(0, `${method} ${this.safeServer()}${path}: ${err.code ? `${err.code} ` : ''}${err.message}`, undefined, 'Unreachable', e);
  }

  private safeServer(): string {
    try {
      return this.server;
    } catch {
      return '';
    }
  }

  /** One request with a deadline; the JSON answer, or a KubeError. An empty 2xx body is undefined. */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, deadline]) : deadline;
    try {
      const res = await this.open(method, path, o, signal);
      const text = await this.readBody(res, o.maxResponseBytes ?? this.maxResponseBytes);
      const code = res.statusCode ?? 0;
      if (code < 200 || code >= 300) throw this.errorOf(method, path, code, text);
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new KubeError(0, `${method} ${path}: answer is not JSON: ${text.slice(0, 200)}`, undefined, 'InvalidResponse');
      }
    } catch (e) {
      throw this.failure(e, method, path, deadline, timeoutMs, o.signal);
    }
  }

  /** GET of a path (what an Informer lists through). */
  getPath<T>(path: string, signal?: AbortSignal, o: CallOptions = {}): Promise<T> {
    return this.request<T>('GET', path, { ...o, signal: signal ?? o.signal });
  }

  /**
   * The watch stream of `path` (JSON lines), until the server ends it, `signal` aborts, or nothing
   * arrives for `idleMs` (a connection that died without a word). The request deadline covers only
   * the wait for the answer's headers.
   */
  async *watch<T>(path: string, query: Record<string, string>, signal: AbortSignal, idleMs: number, o: CallOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const headersDeadline = new AbortController();
    const timer = setTimeout(() => headersDeadline.abort(), timeoutMs);
    let res: http.IncomingMessage;
    try {
      res = await this.open('GET', path, { ...o, query: { ...query, watch: 'true' } }, AbortSignal.any([signal, headersDeadline.signal]));
      clearTimeout(timer);
      if (res.statusCode !== 200) throw this.errorOf('GET', path, res.statusCode ?? 0, await this.readBody(res, 1024 * 1024));
    } catch (e) {
      throw this.failure(e, 'GET', path, headersDeadline.signal, timeoutMs, signal);
    } finally {
      clearTimeout(timer);
    }
    const idle = setTimeout(() => res.destroy(new Error(`watch silent for ${idleMs} ms`)), idleMs);
    let buf = '';
    try {
      for await (const chunk of res) {
        idle.refresh();
        buf += (chunk as Buffer).toString('utf8');
        if (buf.length > this.maxResponseBytes) throw new KubeError(0, `watch event larger than ${this.maxResponseBytes} bytes`, undefined, 'ResponseTooLarge');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent<T>;
        }
      }
    } finally {
      clearTimeout(idle);
      res.destroy();
    }
  }

  // ---- discovery ----

  /** Every kind the cluster serves, after discovering when nothing is known yet. */
  async resources(o: CallOptions = {}): Promise<ResourceInfo[]> {
    if (!this.discovery.loaded) await this.refreshDiscovery(o);
    return [...this.discovery.mapping.values()];
  }

  /** How many discovery refreshes ran (for tests and metrics). */
  get discoveryRefreshes(): number {
    return this.discovery.refreshes;
  }

  /** Re-reads discovery now (concurrent callers share one refresh). */
  refreshDiscovery(o: CallOptions = {}): Promise<void> {
    const d = this.discovery;
    if (!d.inflight) {
      d.inflight = this.discover(o)
        .then((m) => {
          d.mapping = m;
          d.loaded = true;
          d.refreshes++;
          d.last = Date.now();
        })
        .finally(() => (d.inflight = undefined));
    }
    return d.inflight;
  }

  /** Lets the next unknown kind refresh discovery at once (a CRD or APIService was just written). */
  invalidateDiscovery(): void {
    this.discovery.last = 0;
  }

  /** Where `apiVersion`/`kind` is served; an unknown kind refreshes discovery (at most once per interval), then fails as UnknownKindError. */
  async resourceFor(t: TypeRef, o: CallOptions = {}): Promise<ResourceInfo> {
    const { group, version } = parseApiVersion(t.apiVersion);
    const key = mapKey(group, version, t.kind);
    const d = this.discovery;
    if (!d.loaded) await this.refreshDiscovery(o);
    let hit = d.mapping.get(key);
    if (hit) return hit;
    if (d.inflight) await d.inflight;
    else if (Date.now() - d.last >= this.discoveryMinIntervalMs) await this.refreshDiscovery(o);
    hit = d.mapping.get(key);
    if (hit) return hit;
    throw new UnknownKindError(t.apiVersion, t.kind);
  }

  private async discover(o: CallOptions): Promise<Map<string, ResourceInfo>> {
    const m = new Map<string, ResourceInfo>();
    const add = (r: ResourceInfo) => {
      if (!m.has(mapKey(r.group, r.version, r.kind))) m.set(mapKey(r.group, r.version, r.kind), r);
    };
    // Discovery is read as the client itself: kube lets every authenticated user read it.
    const call = { signal: o.signal, timeoutMs: o.timeoutMs, impersonate: this.identity };
    const [core, groups] = await Promise.all([
      this.request<DiscoveryDoc>('GET', '/api', { ...call, accept: AGGREGATED_ACCEPT }),
      this.request<DiscoveryDoc>('GET', '/apis', { ...call, accept: AGGREGATED_ACCEPT }),
    ]);
    const legacy: string[] = [];
    for (const doc of [core, groups]) {
      if (doc?.kind === 'APIGroupDiscoveryList') {
        for (const g of doc.items ?? [])
          for (const v of g.versions ?? [])
            for (const r of v.resources ?? [])
              if (r.responseKind?.kind && r.resource)
                add({ group: g.metadata?.name ?? '', version: v.version, resource: r.resource, kind: r.responseKind.kind, namespaced: r.scope === 'Namespaced' });
      } else if (doc?.kind === 'APIVersions') {
        for (const v of doc.versions ?? []) legacy.push(`/api/${v}`);
      } else if (doc?.kind === 'APIGroupList') {
        for (const g of doc.groups ?? []) for (const v of g.versions ?? []) legacy.push(`/apis/${v.groupVersion}`);
      }
    }
    // Legacy discovery: one document per group version; one that fails (an unavailable APIService) is skipped.
    const lists = await Promise.allSettled(legacy.map((p) => this.request<APIResourceList>('GET', p, call)));
    lists.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      const { group, version } = parseApiVersion(r.value.groupVersion ?? legacy[i].replace(/^\/apis?\//, ''));
      for (const res of r.value.resources ?? []) if (!res.name.includes('/')) add({ group, version, resource: res.name, kind: res.kind, namespaced: res.namespaced });
    });
    return m;
  }

  // ---- objects ----

  private collectionPath(info: ResourceInfo, namespace?: string): string {
    const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
    return info.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${info.resource}` : `${base}/${info.resource}`;
  }

  private objectPath(info: ResourceInfo, name: string, namespace?: string): string {
    if (!name) throw new KubeError(400, `${info.kind}: a name is required`, undefined, 'BadRequest');
    return `${this.collectionPath(info, info.namespaced ? namespace || this.namespace : undefined)}/${encodeURIComponent(name)}`;
  }

  private noteDefinitions(t: TypeRef): void {
    const { group } = parseApiVersion(t.apiVersion);
    if ((group === 'apiextensions.k8s.io' && t.kind === 'CustomResourceDefinition') || (group === 'apiregistration.k8s.io' && t.kind === 'APIService')) this.invalidateDiscovery();
  }

  /** Server-side apply of `obj` (field manager `gitops-toolkit` unless named); the object as the server has (or, dry run, would have) it. */
  async apply<T extends KubeObject>(obj: T, o: ApplyOptions = {}): Promise<T> {
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new KubeError(400, 'apply needs apiVersion, kind and metadata.name', undefined, 'BadRequest');
    const t = { apiVersion: obj.apiVersion, kind: obj.kind };
    const info = await this.resourceFor(t, o);
    const out = await this.request<T>('PATCH', this.objectPath(info, obj.metadata.name, obj.metadata.namespace), {
      ...o,
      body: JSON.stringify(obj), // JSON is YAML
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: o.fieldManager ?? this.fieldManager, force: o.force ? 'true' : undefined, dryRun: o.dryRun ? 'All' : undefined },
    });
    if (!o.dryRun) this.noteDefinitions(t);
    return out;
  }

  /** The object `ref` names; a missing one fails as KubeError 404 NotFound. */
  async get<T extends KubeObject = KubeObject>(ref: ObjectRef, o: CallOptions = {}): Promise<T> {
    const info = await this.resourceFor(ref, o);
    return this.request<T>('GET', this.objectPath(info, ref.name, ref.namespace), o);
  }

  /** The object `ref` names, or undefined when there is none. */
  async getOptional<T extends KubeObject = KubeObject>(ref: ObjectRef, o: CallOptions = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, o);
    } catch (e) {
      if (e instanceof KubeError && e.code === 404 && !(e instanceof UnknownKindError)) return undefined;
      throw e;
    }
  }

  /** Every object of a kind (in `namespace`, or all namespaces), every page, each with its apiVersion and kind set. */
  async list<T extends KubeObject = KubeObject>(t: TypeRef, o: ListOptions = {}): Promise<T[]> {
    const info = await this.resourceFor(t, o);
    const path = this.collectionPath(info, info.namespaced ? o.namespace : undefined);
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.request<{ metadata?: { continue?: string }; items?: T[] }>('GET', path, {
        ...o,
        query: { labelSelector: o.labelSelector || undefined, fieldSelector: o.fieldSelector || undefined, limit: String(LIST_PAGE), continue: cont },
      });
      for (const it of page.items ?? []) items.push({ ...it, apiVersion: t.apiVersion, kind: t.kind });
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  /** `list` over several kinds (the objects of one inventory or one label), in the order of `types`. */
  async listAcross<T extends KubeObject = KubeObject>(types: TypeRef[], o: ListOptions = {}): Promise<T[]> {
    const lists = await Promise.all(types.map((t) => this.list<T>(t, o)));
    return lists.flat();
  }

  /**
   * Deletes `ref`. Resolves with the object when the server answered with one (it stays, with
   * finalizers such as `foregroundDeletion`, or the kind returns what it deleted), undefined when it
   * answered with a Success Status. A missing object fails as 404.
   */
  async delete<T extends KubeObject = KubeObject>(ref: ObjectRef, o: DeleteOptions = {}): Promise<T | undefined> {
    const info = await this.resourceFor(ref, o);
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (o.propagationPolicy) body.propagationPolicy = o.propagationPolicy;
    if (o.dryRun) body.dryRun = ['All'];
    if (o.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = o.gracePeriodSeconds;
    if (o.preconditions) body.preconditions = o.preconditions;
    const out = await this.request<T | Status>('DELETE', this.objectPath(info, ref.name, ref.namespace), { ...o, body });
    if (!o.dryRun) this.noteDefinitions(ref);
    return out && (out as Status).kind === 'Status' ? undefined : (out as T | undefined);
  }
}

/** Discovery shared by a client and its impersonating views (`as`). */
export class DiscoveryCache {
  mapping = new Map<string, ResourceInfo>();
  loaded = false;
  last = 0;
  refreshes = 0;
  inflight?: Promise<void>;
}

interface DiscoveryDoc {
  kind?: string;
  // APIGroupDiscoveryList
  items?: {
    metadata?: { name?: string };
    versions?: { version: string; resources?: { resource: string; responseKind?: { kind?: string }; scope?: string }[] }[];
  }[];
  // APIVersions
  versions?: string[];
  // APIGroupList
  groups?: { name: string; versions?: { groupVersion: string }[] }[];
}

interface APIResourceList {
  groupVersion?: string;
  resources?: { name: string; kind: string; namespaced: boolean }[];
}
