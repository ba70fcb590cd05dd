// The local cluster's aggregation layer, as kube-aggregator: APIServices say who serves each group
// version. The cluster registers a Local APIService for every group version it serves itself (built-in
// ones at start, a CRD's when it is served) and keeps them Available; one with `spec.service` is an
// aggregated server, resolved through its Service and EndpointSlices, checked (GET /apis/<g>/<v>,
// TLS verified against caBundle, front-proxy certificate) at start, every interval and on any change
// of APIServices, Services or EndpointSlices, and its Available condition written as kube words it.
// Requests for an available remote group version are proxied after the cluster's own authentication
// and authorization (server.ts runs them before the hook); its group is merged into /apis (legacy
// and aggregated v2) and its OpenAPI v3 document into /openapi/v3. /openapi/v2 stays the cluster's
// own: merging Swagger 2 documents (definitions renamed on conflicts) is not done — kubectl 1.32
// explains and validates from v3.

import type { NextFunction, Request, Response } from 'express';
import { StatusError } from '../../apis/meta/errors.js';
import type { KubeObject } from '../../apis/meta/types.js';
import type { AggregatorHooks } from '../../apiserver/server.js';
import type { Logger } from '../../observability/logger.js';
import { rfc3339 } from '../../registry/meta.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import type { ResourceStore, WriteContext } from '../../registry/store.js';
import { StoreFollowers } from '../../registry/watch-store.js';
import { APIREGISTRATION, AUTOMANAGED_LABEL, apiServiceName, localAPIService, orderedGroups, type APIService, type APIServiceCondition, type VersionPriority } from './apiservices.js';
import { endpointURL, ResolveError, type ServiceEndpoints } from './endpoints.js';
import type { FrontProxyCerts } from './front-proxy.js';
import { backendRequest, proxy, type BackendTarget } from './proxy.js';

export interface AggregatorOptions {
  stores: ResourceStores;
  endpoints: ServiceEndpoints;
  frontProxy: FrontProxyCerts;
  /** The group versions the cluster serves itself, now (built-in kinds, reviews, CRDs). */
  localGroupVersions: () => { group: string; version: string }[];
  /** Group versions of the built-in kinds (their APIServices are labelled `onstart`, a CRD's `true`). */
  builtin: Set<string>;
  log: Logger;
  /** How often every remote APIService is checked again (kube: 30 s). */
  availabilityIntervalMs?: number;
  /** How long one discovery check may take (kube: 5 s). */
  checkTimeoutMs?: number;
}

/** What the last check of a remote APIService found. */
interface RemoteState {
  available: boolean;
  /** Its version entry of aggregated discovery (from the backend's document, or built from its APIResourceList). */
  discovery?: Record<string, unknown>;
  /** Hash of its OpenAPI v3 document, from the backend's /openapi/v3 index. */
  openapiHash?: string;
}

const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const CHECK_USER = { 'X-Remote-User': 'system:kube-aggregator', 'X-Remote-Group': 'system:masters' };
const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'kube-apiserver', fieldValidation: 'Ignore', warnings: [] });
export const unavailable = () => new StatusError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');

const sameCondition = (a: APIServiceCondition | undefined, b: APIServiceCondition) => !!a && a.status === b.status && a.reason === b.reason && a.message === b.message;

export class Aggregator implements AggregatorHooks {
  private readonly apiServices = new Map<string, APIService>();
  private readonly remote = new Map<string, RemoteState>();
  private readonly followers: StoreFollowers;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private unlisten: (() => void)[] = [];
  /** Bumped whenever merged discovery or OpenAPI would change: server.ts re-renders on a new value. */
  generation = 0;

  constructor(private readonly o: AggregatorOptions) {
    this.followers = new StoreFollowers(o.log);
  }

  private get store(): ResourceStore {
    return this.o.stores.get(APIREGISTRATION, 'v1', 'apiservices')!;
  }

  /** Registers the Local APIServices and checks every remote one once before returning. */
  async start(): Promise<void> {
    await this.followers.follow(this.store, (t, a) => this.put(t, a));
    this.unlisten.push(this.o.endpoints.onChange(() => this.trigger()));
    this.unlisten.push(this.o.stores.onChange(() => this.trigger()));
    await this.sync();
    this.timer = setInterval(() => this.trigger(), this.o.availabilityIntervalMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    for (const u of this.unlisten) u();
    await this.followers.stop();
    await this.running;
  }

  private put(type: string, o: KubeObject): void {
    const a = o as APIService;
    const name = a.metadata.name!;
    const prev = this.apiServices.get(name);
    if (type === 'DELETED') {
      this.apiServices.delete(name);
      this.remote.delete(name);
      this.generation++;
      this.trigger();
      return;
    }
    this.apiServices.set(name, a);
    // Our own status writes come back here too: only a changed spec calls for a check.
    if (!prev || JSON.stringify(prev.spec) !== JSON.stringify(a.spec)) {
      if (prev && JSON.stringify(prev.spec.service ?? null) !== JSON.stringify(a.spec.service ?? null)) this.remote.delete(name);
      this.generation++;
      this.trigger();
    }
  }

  /** A sync soon: a burst of changes (an apply of a Service, a slice and an APIService) costs one. */
  private trigger(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.sync(), 20);
    this.debounce.unref();
  }

  /** One sync at a time; a trigger during one runs another after it. */
  private sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.syncOnce();
        } catch (e) {
          if (!this.stopped) this.o.log.error('APIService sync failed', { err: e });
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    await this.registerLocal();
    await Promise.all(
      [...this.apiServices.values()].map(async (a) => {
        const cond = a.spec.service ? await this.check(a) : { type: 'Available', status: 'True' as const, reason: 'Local', message: 'Local APIServices are always available' };
        await this.setAvailable(a, cond);
      }),
    );
  }

  /** A Local APIService for each group version served here; automanaged ones no longer served are removed. */
  private async registerLocal(): Promise<void> {
    const served = new Set<string>();
    for (const gv of this.o.localGroupVersions()) {
      const name = apiServiceName(gv.group, gv.version);
      served.add(name);
      if (this.apiServices.has(name)) continue;
      const obj = localAPIService(gv.group, gv.version, this.o.builtin.has(name));
      try {
        const created = (await this.store.create('', obj, ctx())) as APIService;
        this.apiServices.set(name, created);
        this.generation++;
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 409)) throw e;
      }
    }
    for (const [name, a] of this.apiServices) {
      if (served.has(name) || a.spec.service || !a.metadata.labels?.[AUTOMANAGED_LABEL]) continue;
      try {
        await this.store.delete('', name, {}, ctx());
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
  }

  private target(a: APIService): BackendTarget {
    const s = a.spec.service!;
    const endpoint = this.o.endpoints.resolve(s.namespace, s.name, s.port ?? 443);
    return {
      endpoint,
      ca: a.spec.caBundle ? Buffer.from(a.spec.caBundle, 'base64').toString('utf8') : undefined,
      insecureSkipTLSVerify: !!a.spec.insecureSkipTLSVerify,
      servername: `${s.name}.${s.namespace}.svc`,
      client: this.o.frontProxy.client,
    };
  }

  /** kube's availability check: the Service resolves to a ready endpoint that answers its discovery document. */
  private async check(a: APIService): Promise<APIServiceCondition> {
    const name = a.metadata.name!;
    const state: RemoteState = { ...(this.remote.get(name) ?? {}), available: false };
    const done = (c: APIServiceCondition) => {
      const prev = this.remote.get(name);
      if (prev?.available !== state.available || JSON.stringify(prev?.discovery) !== JSON.stringify(state.discovery) || prev?.openapiHash !== state.openapiHash) this.generation++;
      this.remote.set(name, state);
      return c;
    };
    let target: BackendTarget;
    try {
      target = this.target(a);
    } catch (e) {
      if (e instanceof ResolveError) return done({ type: 'Available', status: 'False', reason: e.reason, message: e.message });
      throw e;
    }
    const group = a.spec.group ?? '';
    const path = `/apis/${group}/${a.spec.version}`;
    const url = `${endpointURL(target.endpoint)}${path}`;
    let resourceList: { resources?: ResourceListEntry[] };
    try {
      const r = await this.get(target, path, 'application/json');
      if (r.status < 200 || r.status >= 300) return done({ type: 'Available', status: 'False', reason: 'FailedDiscoveryCheck', message: `failing or missing response from ${url}: bad status from ${url}: ${r.status}` });
      resourceList = JSON.parse(r.body);
    } catch (e) {
      return done({ type: 'Available', status: 'False', reason: 'FailedDiscoveryCheck', message: `failing or missing response from ${url}: Get "${url}": ${(e as Error).message}` });
    }
    state.available = true;
    // The documents merged into the cluster's: a failure here keeps the last ones, it does not make the group unavailable.
    const [aggregated, index] = await Promise.all([this.get(target, '/apis', AGGREGATED_V2).catch(() => undefined), this.get(target, '/openapi/v3', 'application/json').catch(() => undefined)]);
    state.discovery = versionEntry(aggregated, group, a.spec.version) ?? fromResourceList(resourceList, group, a.spec.version) ?? state.discovery;
    if (index?.status === 200) {
      try {
        const url = (JSON.parse(index.body) as { paths?: Record<string, { serverRelativeURL?: string }> }).paths?.[`apis/${group}/${a.spec.version}`]?.serverRelativeURL;
        state.openapiHash = url ? (new URL(url, 'https://x').searchParams.get('hash') ?? '') : undefined;
      } catch {
        // keep the last one
      }
    }
    return done({ type: 'Available', status: 'True', reason: 'Passed', message: 'all checks passed' });
  }

  private get(target: BackendTarget, path: string, accept: string): Promise<{ status: number; body: string }> {
    const timeoutMs = this.o.checkTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const req = backendRequest(target, { method: 'GET', path, headers: { Accept: accept, ...CHECK_USER }, timeoutMs });
      const timer = setTimeout(() => req.destroy(new Error('context deadline exceeded')), timeoutMs);
      req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
      req.on('error', (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
      req.on('response', (res: import('node:http').IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 64 * 1024 * 1024) req.destroy(new Error('response too large'));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end();
    });
  }

  private async setAvailable(a: APIService, want: APIServiceCondition): Promise<void> {
    const current = this.apiServices.get(a.metadata.name!) ?? a;
    if (sameCondition(current.status?.conditions?.find((c) => c.type === 'Available'), want)) return;
    const now = rfc3339();
    try {
      const updated = await this.store.systemUpdate('', a.metadata.name!, (o) => {
        const status = ((o as APIService).status ??= {});
        const conditions = [...(status.conditions ?? [])];
        const i = conditions.findIndex((c) => c.type === 'Available');
        const prev = conditions[i];
        const next = { type: 'Available', status: want.status, lastTransitionTime: prev && prev.status === want.status ? prev.lastTransitionTime : now, reason: want.reason, message: want.message };
        if (i >= 0) conditions[i] = next;
        else conditions.push(next);
        status.conditions = conditions;
      });
      this.apiServices.set(a.metadata.name!, updated as APIService);
      if (a.spec.service) this.o.log.info('APIService availability', { apiservice: a.metadata.name, status: want.status, reason: want.reason, message: want.message });
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
  }

  // ---- the hooks server.ts calls ----

  /** The remote APIService serving `group/version`, if one does. */
  private remoteFor(group: string, version: string): APIService | undefined {
    const a = this.apiServices.get(apiServiceName(group, version));
    return a?.spec.service ? a : undefined;
  }

  handle = (req: Request, res: Response, next: NextFunction): void => {
    const path = req.path;
    let m = /^\/apis\/([^/]+)\/([^/]+)(?:\/.*)?$/.exec(path) ?? /^\/openapi\/v3\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) {
      const a = this.remoteFor(m[1], m[2]);
      if (a) return this.proxyTo(a, req, res, next);
      return next();
    }
    m = /^\/apis\/([^/]+)\/?$/.exec(path);
    if (m && [...this.apiServices.values()].some((a) => a.spec.service && (a.spec.group ?? '') === m![1])) {
      const g = this.groupList([]).groups.find((x) => x.name === m![1]);
      if (!g) return next();
      res.status(200).setHeader('Content-Type', 'application/json');
      return void res.end(JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...g }));
    }
    next();
  };

  private proxyTo(a: APIService, req: Request, res: Response, next: NextFunction): void {
    if (!this.remote.get(a.metadata.name!)?.available) return next(unavailable());
    let target: BackendTarget;
    try {
      target = this.target(a);
    } catch (e) {
      if (e instanceof ResolveError) return next(unavailable());
      return next(e);
    }
    req.url = req.originalUrl;
    proxy(req, res, target, req.user!, (e) => next(new StatusError(503, 'ServiceUnavailable', `error trying to reach service: ${e.message}`)));
  }

  /** Every group version in discovery order: the APIServices' priorities; a local one without an APIService yet gets the CRD default. */
  private priorities(local: { group: string; version: string }[]): VersionPriority[] {
    const localNames = new Set(local.map((gv) => apiServiceName(gv.group, gv.version)));
    const out: VersionPriority[] = [];
    const seen = new Set<string>();
    for (const [name, a] of this.apiServices) {
      if (!a.spec.service && !localNames.has(name)) continue; // a stale Local one: nothing serves it
      out.push({ group: a.spec.group ?? '', version: a.spec.version, groupPriorityMinimum: a.spec.groupPriorityMinimum, versionPriority: a.spec.versionPriority });
      seen.add(name);
    }
    for (const gv of local) if (!seen.has(apiServiceName(gv.group, gv.version))) out.push({ ...gv, groupPriorityMinimum: 1000, versionPriority: 100 });
    return out;
  }

  /** Legacy /apis: every APIService's group, remote ones whether available or not (as kube lists them). */
  groupList(local: { group: string; version: string }[]) {
    const groups = orderedGroups(this.priorities(local).filter((p) => p.group !== ''));
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((g) => {
        const versions = g.versions.map((version) => ({ groupVersion: `${g.group}/${version}`, version }));
        return { name: g.group, versions, preferredVersion: versions[0] };
      }),
    };
  }

  /** Aggregated /apis: the local document's groups and the remote versions whose documents were fetched. */
  aggregatedDiscovery(localDoc: { items: { metadata: { name?: string }; versions: { version: string }[] }[] } & Record<string, unknown>, local: { group: string; version: string }[]) {
    const localItems = new Map(localDoc.items.map((i) => [i.metadata.name ?? '', i]));
    const items = [];
    for (const g of orderedGroups(this.priorities(local).filter((p) => p.group !== ''))) {
      const versions: Record<string, unknown>[] = [];
      for (const version of g.versions) {
        const a = this.remoteFor(g.group, version);
        if (a) {
          const state = this.remote.get(a.metadata.name!);
          if (state?.discovery) versions.push({ ...state.discovery, freshness: state.available ? 'Current' : 'Stale' });
        } else {
          const v = localItems.get(g.group)?.versions.find((x) => x.version === version);
          if (v) versions.push(v);
        }
      }
      if (versions.length) items.push({ ...(localItems.get(g.group) ?? { metadata: { name: g.group, creationTimestamp: null } }), versions });
    }
    return { ...localDoc, items };
  }

  /** /openapi/v3: the local paths and each available remote group version's, with the backend's hash. */
  openAPIv3Index(localIndex: { paths: Record<string, unknown> }) {
    const paths = { ...localIndex.paths };
    for (const a of this.apiServices.values()) {
      if (!a.spec.service) continue;
      const state = this.remote.get(a.metadata.name!);
      if (!state?.available || state.openapiHash === undefined) continue;
      const path = `apis/${a.spec.group ?? ''}/${a.spec.version}`;
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}${state.openapiHash ? `?hash=${state.openapiHash}` : ''}` };
    }
    return { ...localIndex, paths };
  }

  /** Resolves once `name` is Available (true), or when `timeoutMs` passes (false). */
  async waitAvailable(name: string, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && !this.stopped) {
      if (this.availability(name)?.status === 'True') return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.availability(name)?.status === 'True';
  }

  /** The conditions now, for tests and tools: name → Available condition. */
  availability(name: string): APIServiceCondition | undefined {
    return this.apiServices.get(name)?.status?.conditions?.find((c) => c.type === 'Available');
  }
}

interface ResourceListEntry {
  name: string;
  singularName?: string;
  namespaced?: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs?: string[];
  shortNames?: string[];
  categories?: string[];
}

/** The backend's own aggregated entry for the group version, when it serves aggregated discovery. */
function versionEntry(r: { status: number; body: string } | undefined, group: string, version: string): Record<string, unknown> | undefined {
  if (!r || r.status !== 200) return undefined;
  try {
    const doc = JSON.parse(r.body) as { kind?: string; items?: { metadata?: { name?: string }; versions?: { version?: string }[] }[] };
    if (doc.kind !== 'APIGroupDiscoveryList') return undefined;
    return doc.items?.find((i) => i.metadata?.name === group)?.versions?.find((v) => v.version === version) as Record<string, unknown> | undefined;
  } catch {
    return undefined;
  }
}

/** An aggregated entry built from an APIResourceList, as kube does for servers without aggregated discovery. */
function fromResourceList(list: { resources?: ResourceListEntry[] }, group: string, version: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list.resources)) return undefined;
  const top = list.resources.filter((r) => !r.name.includes('/'));
  return {
    version,
    resources: top.map((r) => ({
      resource: r.name,
      responseKind: { group: r.group ?? group, version: r.version ?? version, kind: r.kind },
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: r.singularName ?? '',
      verbs: r.verbs ?? [],
      ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories?.length ? { categories: r.categories } : {}),
      subresources: list
        .resources!.filter((s) => s.name.startsWith(`${r.name}/`))
        .map((s) => ({ subresource: s.name.slice(r.name.length + 1), responseKind: { group: s.group ?? group, version: s.version ?? version, kind: s.kind }, verbs: s.verbs ?? [] })),
    })),
    freshness: 'Current',
  };
}
