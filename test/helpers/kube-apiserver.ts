// A stand-in for the host kube-apiserver in tests: HTTPS with its own CA, bearer-token authentication,
// and kube's wire format (paths, verbs, JSON bodies, metav1.Status errors, list resourceVersion,
// line-delimited watch streams) for exactly what gitops-toolkit calls: TokenReview,
// SubjectAccessReview, Namespaces, ConfigMaps, Secrets, Events and admission webhook configurations.
// Every request is recorded so tests can assert what was sent.

import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCA, issueCert } from '../../src/pki/certs.js';

/** authorization.k8s.io/v1 SubjectAccessReviewSpec as it travels in JSON. */
export interface SubjectAccessReviewSpec {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes?: {
    namespace?: string;
    verb?: string;
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    name?: string;
  };
  nonResourceAttributes?: { path?: string; verb?: string };
}

export interface SubjectAccessReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

export interface TokenUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  /** The authenticated caller; undefined when the request was rejected with 401. */
  user?: string;
}

/** A canned answer that replaces the normal handling of one request (to inject failures). */
export interface FaultResponse {
  status: number;
  body?: unknown;
}

interface ResourceDef {
  groupVersion: string;
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
}

type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, any>; [k: string]: unknown };

interface Target {
  def: ResourceDef;
  namespace?: string;
  name?: string;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  obj: Obj;
  prev?: Obj;
}

interface Watcher {
  def: ResourceDef;
  namespace?: string;
  match: (o: Obj) => boolean;
  res: ServerResponse;
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const RESOURCES: ResourceDef[] = [
  { groupVersion: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, verbs: RW.filter((v) => v !== 'deletecollection'), shortNames: ['ns'] },
  { groupVersion: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, verbs: RW, shortNames: ['cm'] },
  { groupVersion: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, verbs: RW },
  { groupVersion: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, verbs: RW, shortNames: ['ev'] },
  { groupVersion: 'events.k8s.io/v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, verbs: RW, shortNames: ['ev'] },
  { groupVersion: 'admissionregistration.k8s.io/v1', resource: 'validatingwebhookconfigurations', singular: 'validatingwebhookconfiguration', kind: 'ValidatingWebhookConfiguration', namespaced: false, verbs: RW },
  { groupVersion: 'admissionregistration.k8s.io/v1', resource: 'mutatingwebhookconfigurations', singular: 'mutatingwebhookconfiguration', kind: 'MutatingWebhookConfiguration', namespaced: false, verbs: RW },
  { groupVersion: 'authentication.k8s.io/v1', resource: 'tokenreviews', singular: 'tokenreview', kind: 'TokenReview', namespaced: false, verbs: ['create'] },
  { groupVersion: 'authorization.k8s.io/v1', resource: 'subjectaccessreviews', singular: 'subjectaccessreview', kind: 'SubjectAccessReview', namespaced: false, verbs: ['create'] },
];
const GROUP_VERSIONS = [...new Set(RESOURCES.map((r) => r.groupVersion))];
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

const gvPrefix = (gv: string) => (gv === 'v1' ? '/api/v1' : `/apis/${gv}`);
const groupOf = (gv: string) => (gv.includes('/') ? gv.split('/')[0] : '');
const qualified = (def: ResourceDef) => (groupOf(def.groupVersion) ? `${def.resource}.${groupOf(def.groupVersion)}` : def.resource);
const storeKey = (def: ResourceDef, ns: string | undefined, name: string) => `${def.groupVersion}|${def.resource}|${ns ?? ''}|${name}`;
/** Keys of one namespace's objects, or of all namespaces' when `ns` is undefined. */
const collectionPrefix = (def: ResourceDef, ns: string | undefined) => `${def.groupVersion}|${def.resource}|${ns === undefined ? '' : `${ns}|`}`;
const clone = <T>(o: T): T => structuredClone(o);
const nowRFC3339 = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const truthy = (v: string | null) => v !== null && v !== '0' && v.toLowerCase() !== 'false';

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
  toStatus() {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

const notFound = (def: ResourceDef, name: string) =>
  new StatusError(404, 'NotFound', `${qualified(def)} "${name}" not found`, { name, ...(groupOf(def.groupVersion) ? { group: groupOf(def.groupVersion) } : {}), kind: def.resource });
const invalid = (kind: string, group: string, name: string, causes: string) =>
  new StatusError(422, 'Invalid', `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${causes}`, { name, group, kind });

/** Parses `/api/v1/...` or `/apis/G/V/...` into the served resource, namespace and name. */
function parseTarget(path: string): Target | undefined {
  const gv = GROUP_VERSIONS.find((g) => path.startsWith(gvPrefix(g) + '/'));
  if (!gv) return undefined;
  const segs = path.slice(gvPrefix(gv).length + 1).split('/').map(decodeURIComponent);
  let namespace: string | undefined;
  let rest = segs;
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    namespace = segs[1];
    rest = segs.slice(2);
  }
  if (rest.length > 2 || rest.some((s) => s === '')) return undefined;
  const def = RESOURCES.find((r) => r.groupVersion === gv && r.resource === rest[0]);
  if (!def) return undefined;
  if (namespace !== undefined && !def.namespaced) return undefined;
  // A namespaced resource across all namespaces is a collection only.
  if (namespace === undefined && def.namespaced && rest[1] !== undefined) return undefined;
  return { def, namespace, name: rest[1] };
}

/** kube's field selectors on metadata (the only fields every resource supports). */
function fieldMatcher(sel: string | null): (o: Obj) => boolean {
  if (!sel) return () => true;
  const reqs = sel.split(',').map((r) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(r.trim());
    if (!m) throw new StatusError(400, 'BadRequest', `invalid selector: '${sel}'; can't understand '${r}'`);
    const [, field, op, value] = m;
    if (field !== 'metadata.name' && field !== 'metadata.namespace')
      throw new StatusError(400, 'BadRequest', `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    const key = field.slice('metadata.'.length);
    return (o: Obj) => ((o.metadata[key] ?? '') === value) === (op !== '!=');
  });
  return (o) => reqs.every((r) => r(o));
}

/** kube's label selector grammar: k=v, k==v, k!=v, k, !k, k in (a,b), k notin (a,b). */
function labelMatcher(sel: string | null): (o: Obj) => boolean {
  if (!sel) return () => true;
  const parts = sel.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  const reqs = parts.map((raw) => {
    const r = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(r))) {
      const [, k, op, list] = m;
      const set = new Set(list.split(',').map((s) => s.trim()));
      return (l: Record<string, string>) => (k in l && set.has(l[k])) === (op === 'in');
    }
    if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(r))) {
      const [, k, op, v] = m;
      return (l: Record<string, string>) => (l[k] === v) === (op !== '!=');
    }
    if ((m = /^(!?)([^!=\s()]+)$/.exec(r))) {
      const [, not, k] = m;
      return (l: Record<string, string>) => k in l === !not;
    }
    throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${r}`);
  });
  return (o) => reqs.every((r) => r(o.metadata.labels ?? {}));
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeKubeApiserver {
  /** The identity `token` authenticates as: gitops-toolkit's own ServiceAccount. */
  static readonly SERVER_USER = 'system:serviceaccount:gitops-toolkit:gitops-toolkit';

  readonly requests: RecordedRequest[] = [];
  /** Bearer tokens TokenReview knows; they also authenticate requests to this server, as on a real cluster. */
  tokens = new Map<string, TokenUser>();
  /** The SubjectAccessReview decision; no opinion unless a test says otherwise. A throw answers 500. */
  authorize: (spec: SubjectAccessReviewSpec) => SubjectAccessReviewStatus | Promise<SubjectAccessReviewStatus> = () => ({ allowed: false });
  /** Consulted before normal handling; return a response to fail or override that request. */
  fault?: (r: RecordedRequest) => FaultResponse | undefined;

  private readonly objects = new Map<string, Obj>();
  private history: HistoryEvent[] = [];
  private rv = 1;
  private compactedAt = 0;
  private readonly watchers = new Set<Watcher>();

  private constructor(
    private readonly server: https.Server,
    readonly url: string,
    readonly caCert: string,
    readonly token: string,
    private readonly dir: string,
  ) {
    for (const name of SYSTEM_NAMESPACES) this.setObject(`/api/v1/namespaces/${name}`, { metadata: {}, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  }

  /** Starts on a random loopback port, with the namespaces every cluster has (default, kube-system, kube-public, kube-node-lease). */
  static async start(): Promise<FakeKubeApiserver> {
    const ca = await generateCA('fake-kube-apiserver-ca');
    const serving = await issueCert(ca, { cn: 'kube-apiserver', dnsNames: ['localhost', 'kubernetes.default.svc'], ips: ['127.0.0.1'], server: true, days: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'fake-kube-apiserver-'));
    let self!: FakeKubeApiserver;
    const server = https.createServer({ ...serving }, (req, res) => void self.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    self = new FakeKubeApiserver(server, url, ca.cert, randomUUID(), dir);
    return self;
  }

  /** Writes a kubeconfig (server, CA, the server's token) and returns its path. */
  kubeconfig(): string {
    const path = join(this.dir, 'kubeconfig');
    const cfg = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.caCert).toString('base64') } }],
      users: [{ name: 'gitops-toolkit', user: { token: this.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'gitops-toolkit' } }],
      'current-context': 'fake',
    };
    writeFileSync(path, JSON.stringify(cfg));
    return path;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Creates or replaces the object at `apiPath` (name and namespace come from the path), emitting ADDED or MODIFIED. */
  setObject(apiPath: string, obj: object): void {
    const t = parseTarget(apiPath);
    if (!t?.name) throw new Error(`setObject: ${apiPath} is not an object path of a served resource`);
    this.put(t, clone(obj) as Obj);
  }

  /** Removes the object at `apiPath`, emitting DELETED. */
  deleteObject(apiPath: string): void {
    const t = parseTarget(apiPath);
    if (!t?.name || !this.objects.has(storeKey(t.def, t.namespace, t.name))) throw new Error(`deleteObject: nothing at ${apiPath}`);
    this.remove(t);
  }

  /** The stored object at `apiPath`, or undefined. */
  getObject(apiPath: string): Obj | undefined {
    const t = parseTarget(apiPath);
    const o = t?.name ? this.objects.get(storeKey(t.def, t.namespace, t.name)) : undefined;
    return o && clone(o);
  }

  /** Forgets the event history: a watch from an older resourceVersion then gets 410 Expired, as after etcd compaction. */
  compact(): void {
    this.history = [];
    this.compactedAt = this.rv;
  }

  /** Ends every open watch stream, as an apiserver restart or a load balancer timeout would. */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  async stop(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private put(t: Target, o: Obj): Obj {
    const key = storeKey(t.def, t.namespace, t.name!);
    const prev = this.objects.get(key);
    o.apiVersion = t.def.groupVersion;
    o.kind = t.def.kind;
    o.metadata = { ...(o.metadata ?? {}), name: t.name };
    if (t.def.namespaced) o.metadata.namespace = t.namespace;
    o.metadata.uid = prev?.metadata.uid ?? o.metadata.uid ?? randomUUID();
    o.metadata.creationTimestamp = prev?.metadata.creationTimestamp ?? o.metadata.creationTimestamp ?? nowRFC3339();
    o.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, o);
    this.emit({ rv: this.rv, type: prev ? 'MODIFIED' : 'ADDED', key, obj: o, prev });
    return o;
  }

  private remove(t: Target): Obj {
    const key = storeKey(t.def, t.namespace, t.name!);
    const prev = this.objects.get(key)!;
    this.objects.delete(key);
    const o = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(++this.rv) } };
    this.emit({ rv: this.rv, type: 'DELETED', key, obj: o, prev });
    return o;
  }

  private emit(e: HistoryEvent): void {
    this.history.push(e);
    for (const w of this.watchers) this.sendEvent(w, e);
  }

  /** Writes `e` as seen through the watcher's selectors: an object moving in or out of them is ADDED or DELETED. */
  private sendEvent(w: Watcher, e: HistoryEvent): void {
    if (!e.key.startsWith(collectionPrefix(w.def, w.namespace))) return;
    const now = e.type !== 'DELETED' && w.match(e.obj);
    const before = e.prev !== undefined && w.match(e.prev);
    let type: string;
    if (e.type === 'DELETED') type = before ? 'DELETED' : '';
    else if (now) type = before ? 'MODIFIED' : 'ADDED';
    else type = before ? 'DELETED' : '';
    if (type) w.res.write(JSON.stringify({ type, object: e.obj }) + '\n');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: u.pathname, query: Object.fromEntries(u.searchParams) };
    this.requests.push(rec);
    try {
      if (raw) {
        try {
          rec.body = JSON.parse(raw);
        } catch {
          throw new StatusError(400, 'BadRequest', `the body of the request was in an unknown format - accepted media types include: application/json`);
        }
      }
      if (['/healthz', '/livez', '/readyz'].includes(u.pathname)) return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      rec.user = bearer === this.token ? FakeKubeApiserver.SERVER_USER : bearer ? this.tokens.get(bearer)?.username : undefined;
      if (!rec.user) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
      const f = this.fault?.(rec);
      if (f) return void send(res, f.status, f.body);
      await this.route(req, res, u, rec);
    } catch (e) {
      const err = e instanceof StatusError ? e : new StatusError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
      if (!res.headersSent) send(res, err.code, err.toStatus());
      else res.end();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, u: URL, rec: RecordedRequest): Promise<void> {
    const path = u.pathname.replace(/\/$/, '');
    const method = rec.method;
    if (method === 'GET') {
      const disco = this.discovery(path);
      if (disco) return send(res, 200, disco);
    }
    const t = parseTarget(path);
    if (!t) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    const { def } = t;
    const verb =
      method === 'GET' ? (t.name ? 'get' : truthy(u.searchParams.get('watch')) ? 'watch' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : method === 'DELETE' ? (t.name ? 'delete' : 'deletecollection') : '';
    // Across all namespaces a namespaced resource is only listed and watched.
    const allNamespaces = def.namespaced && t.namespace === undefined;
    if (!def.verbs.includes(verb) || (verb === 'create' && t.name) || (allNamespaces && verb !== 'list' && verb !== 'watch')) throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const body = rec.body as Obj | undefined;
    switch (verb) {
      case 'create':
        if (def.resource === 'tokenreviews') return send(res, 201, this.tokenReview(body));
        if (def.resource === 'subjectaccessreviews') return send(res, 201, await this.subjectAccessReview(body));
        return send(res, 201, this.create(t, body));
      case 'get': {
        const o = this.objects.get(storeKey(def, t.namespace, t.name!));
        if (!o) throw notFound(def, t.name!);
        return send(res, 200, wantsTable(req) ? this.table([o]) : o);
      }
      case 'list':
        return send(res, 200, this.list(t, u.searchParams, wantsTable(req)));
      case 'watch':
        return this.watch(t, u.searchParams, res);
      case 'update': {
        const key = storeKey(def, t.namespace, t.name!);
        const cur = this.objects.get(key);
        if (!cur) throw notFound(def, t.name!);
        if (!body?.metadata) throw new StatusError(400, 'BadRequest', 'the body of the request was in an unknown format');
        if (body.metadata.name !== undefined && body.metadata.name !== t.name) throw new StatusError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
        const rv = body.metadata.resourceVersion;
        if (rv && rv !== cur.metadata.resourceVersion) throw conflict(def, t.name!);
        return send(res, 200, this.put(t, clone(body)));
      }
      case 'patch': {
        const cur = this.objects.get(storeKey(def, t.namespace, t.name!));
        if (!cur) throw notFound(def, t.name!);
        const ct = req.headers['content-type'] ?? '';
        // Strategic merge on these kinds differs from JSON merge only for keyed lists, which nothing patches here.
        if (!/^application\/(merge-patch|strategic-merge-patch)\+json/.test(ct)) throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json`);
        return send(res, 200, this.put(t, mergePatch(clone(cur), body) as Obj));
      }
      case 'delete': {
        if (!this.objects.has(storeKey(def, t.namespace, t.name!))) throw notFound(def, t.name!);
        return send(res, 200, this.remove(t));
      }
      case 'deletecollection': {
        for (const o of this.matching(t, u.searchParams)) this.remove({ def, namespace: o.metadata.namespace, name: o.metadata.name });
        return send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
      }
    }
  }

  private discovery(path: string): object | undefined {
    if (path === '/version') return { major: '1', minor: '32', gitVersion: 'v1.32.0', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64' };
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: new URL(this.url).host }] };
    const groupOfGV = (gv: string) => ({ groupVersion: gv, version: gv.split('/')[1] });
    const groups = [...new Set(GROUP_VERSIONS.filter((g) => g !== 'v1').map(groupOf))].map((name) => {
      const versions = GROUP_VERSIONS.filter((g) => groupOf(g) === name).map(groupOfGV);
      return { name, versions, preferredVersion: versions[0] };
    });
    if (path === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups };
    const g = groups.find((x) => path === `/apis/${x.name}`);
    if (g) return { kind: 'APIGroup', apiVersion: 'v1', ...g };
    const gv = GROUP_VERSIONS.find((x) => path === gvPrefix(x));
    if (!gv) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: gv,
      resources: RESOURCES.filter((r) => r.groupVersion === gv).map((r) => ({
        name: r.resource,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      })),
    };
  }

  private create(t: Target, body: Obj | undefined): Obj {
    const { def } = t;
    if (!body || typeof body !== 'object') throw new StatusError(400, 'BadRequest', 'the body of the request was in an unknown format');
    const meta = body.metadata ?? {};
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== t.namespace)
      throw new StatusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    let name: string | undefined = meta.name;
    if (!name && meta.generateName) name = meta.generateName + randomUUID().slice(0, 5);
    if (!name) throw invalid(def.kind, groupOf(def.groupVersion), '', 'metadata.name: Required value: name or generateName is required');
    // NamespaceLifecycle: nothing is created in a namespace that does not exist.
    if (def.namespaced && !this.objects.has(storeKey(RESOURCES[0], undefined, t.namespace!))) throw notFound(RESOURCES[0], t.namespace!);
    if (this.objects.has(storeKey(def, t.namespace, name))) throw new StatusError(409, 'AlreadyExists', `${qualified(def)} "${name}" already exists`, { name, ...(groupOf(def.groupVersion) ? { group: groupOf(def.groupVersion) } : {}), kind: def.resource });
    const o = clone(body);
    delete o.metadata?.resourceVersion;
    return this.put({ def, namespace: t.namespace, name }, o);
  }

  private matching(t: Target, q: URLSearchParams): Obj[] {
    const fm = fieldMatcher(q.get('fieldSelector'));
    const lm = labelMatcher(q.get('labelSelector'));
    const prefix = collectionPrefix(t.def, t.namespace);
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && fm(o) && lm(o))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o);
  }

  private list(t: Target, q: URLSearchParams, table: boolean): object {
    let items = this.matching(t, q);
    const cont = q.get('continue');
    const key = (o: Obj) => storeKey(t.def, o.metadata.namespace, o.metadata.name);
    if (cont) {
      const after = Buffer.from(cont, 'base64url').toString();
      items = items.filter((o) => key(o) > after);
    }
    const limit = Number(q.get('limit') ?? 0);
    const metadata: Record<string, unknown> = { resourceVersion: String(this.rv) };
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      metadata.continue = Buffer.from(key(last)).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    if (table) return { ...this.table(items), metadata };
    // List items of built-in kinds carry no kind/apiVersion on the wire.
    const bare = items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    return { kind: `${t.def.kind}List`, apiVersion: t.def.groupVersion, metadata, items: bare };
  }

  /** kube's default table: Name and Created At, with PartialObjectMetadata rows. */
  private table(items: Obj[]): object {
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: String(this.rv) },
      columnDefinitions: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Created At', type: 'date', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      rows: items.map((o) => ({ cells: [o.metadata.name, o.metadata.creationTimestamp], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata } })),
    };
  }

  private watch(t: Target, q: URLSearchParams, res: ServerResponse): void {
    const fm = fieldMatcher(q.get('fieldSelector'));
    const lm = labelMatcher(q.get('labelSelector'));
    const w: Watcher = { def: t.def, namespace: t.namespace, match: (o) => fm(o) && lm(o), res };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const rvParam = q.get('resourceVersion');
    if (!rvParam || rvParam === '0') {
      for (const o of this.matching(t, q)) res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    } else {
      const from = Number(rvParam);
      if (!Number.isInteger(from) || from < this.compactedAt) {
        const gone = new StatusError(410, 'Expired', `too old resource version: ${rvParam} (${this.compactedAt})`);
        res.end(JSON.stringify({ type: 'ERROR', object: gone.toStatus() }) + '\n');
        return;
      }
      for (const e of this.history) if (e.rv > from) this.sendEvent(w, e);
    }
    this.watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watchers.delete(w);
    });
  }

  private tokenReview(body: Obj | undefined): object {
    const spec = (body?.spec ?? {}) as { token?: string; audiences?: string[] };
    if (!spec.token) throw new StatusError(400, 'BadRequest', 'token is required for TokenReview in authentication');
    const u = this.tokens.get(spec.token);
    const status = u
      ? { authenticated: true, user: { username: u.username, ...(u.uid ? { uid: u.uid } : {}), ...(u.groups ? { groups: u.groups } : {}), ...(u.extra ? { extra: u.extra } : {}) }, audiences: spec.audiences?.length ? spec.audiences : [API_AUDIENCE] }
      : { user: {}, error: 'invalid bearer token' };
    return { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status };
  }

  private async subjectAccessReview(body: Obj | undefined): Promise<object> {
    const spec = (body?.spec ?? {}) as SubjectAccessReviewSpec;
    const errs: string[] = [];
    if (!spec.resourceAttributes === !spec.nonResourceAttributes)
      errs.push(`spec.resourceAttributes: Invalid value: ${JSON.stringify(spec.resourceAttributes ?? null)}: exactly one of nonResourceAttributes or resourceAttributes must be specified`);
    if (!spec.user && !spec.groups?.length) errs.push('spec.user: Invalid value: "": at least one of user or group must be specified');
    if (errs.length) throw invalid('SubjectAccessReview', 'authorization.k8s.io', '', errs.length > 1 ? `[${errs.join(', ')}]` : errs[0]);
    const status = await this.authorize(clone(spec));
    return { kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status };
  }
}

const conflict = (def: ResourceDef, name: string) =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(def)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
    name,
    ...(groupOf(def.groupVersion) ? { group: groupOf(def.groupVersion) } : {}),
    kind: def.resource,
  });

function wantsTable(req: IncomingMessage): boolean {
  return /;\s*as=Table/.test(req.headers.accept ?? '');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
