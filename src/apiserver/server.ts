// The HTTPS API server: authentication, discovery, OpenAPI, health, the resource handlers, and one
// error handler that turns every failure into a metav1.Status.

import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Authenticator, Authorizer, UserInfo } from '../auth/types.js';
import type { AdmissionChain } from '../admission/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, etagOf } from './discovery.js';
import { forbiddenError } from '../auth/authz/forbidden-message.js';
import { badRequest, methodNotAllowed, notAcceptable, StatusError, timeout, unauthorized } from '../apis/meta/errors.js';
import { groupVersionsOf, resourceKey } from '../apis/meta/resource.js';
import { decodeObjectBody, mediaType, readBody } from './body.js';
import { decodeProtobufObject } from './protobuf.js';
import { OPENAPI_V2_PROTOBUF, openAPIv2Protobuf } from './openapi-v2-protobuf.js';
import { reviewResources } from './reviews.js';
import { impersonatedUser } from '../auth/impersonation.js';
import { maxInflight } from './inflight.js';
import { resourceHandler, type ArtifactServer } from './handlers/resources.js';
import { DEFAULT_MAX_VIEW_BYTES, DEFAULT_VIEW_TIMEOUT_MS, SubresourceViews } from './handlers/views.js';
import { negotiateDiscovery, parseMediaRanges, SERVED_DISCOVERY_TYPES } from './negotiation.js';
import { hashOf, openAPIv2, openAPIv3GroupVersion, openAPIv3Index, openAPIv3Path } from './openapi.js';
import { requestInfo, type RequestInfo } from './request-info.js';

/**
 * The local cluster's aggregation layer (src/cluster/aggregator/): unset, the server serves only its
 * own resources, exactly as before. Set, `handle` runs after authentication, authorization and the
 * in-flight limits (proxying the group versions other servers serve, calling `next` for the rest),
 * and discovery and the OpenAPI v3 index are the hooks' merges of the local documents.
 */
export interface AggregatorHooks {
  handle(req: Request, res: Response, next: NextFunction): void;
  /** Legacy /apis. */
  groupList(local: { group: string; version: string }[]): object;
  /** Aggregated /apis (v2 and v2beta1 share the shape). */
  aggregatedDiscovery(localDoc: ReturnType<typeof aggregatedDiscovery>, local: { group: string; version: string }[]): object;
  /** /openapi/v3. */
  openAPIv3Index(localIndex: { paths: Record<string, unknown> }): object;
  /** Changes whenever a merged document would: rendered documents are reused until it does. */
  readonly generation: number;
}

export interface HealthCheck {
  name: string;
  check(): Promise<void>; // throws when unhealthy
}

export interface ApiServerOptions {
  /** The stores of every served resource (any groups and versions), shared with the controllers. */
  stores: ResourceStores;
  tls: { key: string; cert: string; clientCA: string };
  authenticators: Authenticator[];
  authorizer: Authorizer;
  artifacts: ArtifactServer;
  /**
   * The handlers of the kinds' read-only views (ResourceDefinition.views: a Kustomization's build and
   * diff), registered by whatever computes them; a new, empty registry when unset (every view a 503
   * until something registers). Also reachable as ApiServer.views.
   */
  views?: SubresourceViews;
  /** How long a view may take to compute before a 504 (30 s when unset). */
  viewTimeoutMs?: number;
  /** The largest body a view may answer with (16 MiB when unset); a larger one is a 500. */
  maxViewBytes?: number;
  log: Logger;
  maxBodyBytes: number;
  minRequestTimeoutSeconds: number;
  /** A non-watch request still unanswered after this gets a 504 (kube's --request-timeout). */
  requestTimeoutMs: number;
  /** Authenticates a bearer token for a TokenReview (the chain's token authenticators); none: every token is refused. */
  tokenReviewer?: (token: string) => Promise<UserInfo | undefined>;
  /** kube's --max-requests-inflight and --max-mutating-requests-inflight (0: no limit); watches are not counted. */
  maxInflight?: { readOnly: number; mutating: number };
  /** Paths answered without authentication (kube: --authorization-always-allow-paths, plus anonymous). */
  publicPaths?: string[];
  readyChecks?: HealthCheck[];
  /** Admission in the request path (NamespaceLifecycle, webhooks). */
  admission?: AdmissionChain;
  /** Prometheus metrics, served at /metrics (authenticated like every other path). */
  metrics?: Metrics;
  version?: { gitVersion: string };
  aggregator?: AggregatorHooks;
}

export interface ApiServer {
  server: https.Server;
  /** Swaps serving certificate and/or client CAs for new connections, without a restart. */
  setTLS(tls: Partial<ApiServerOptions['tls']>): void;
  stores: ResourceStores;
  /** Where the handlers of the kinds' views are registered. */
  views: SubresourceViews;
  /** The group versions served here now: the stores' and the reviews'. */
  groupVersions(): { group: string; version: string }[];
  listen(port: number, host: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

declare module 'express-serve-static-core' {
  interface Request {
    user?: UserInfo;
    info?: RequestInfo;
  }
}

const DEFAULT_PUBLIC = ['/healthz', '/livez', '/readyz'];
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

export function createApiServer(o: ApiServerOptions): ApiServer {
  const stores = o.stores;
  const reviews = new Map(reviewResources(o.authorizer, o.tokenReviewer).map((r) => [resourceKey(r.def.group, r.def.version, r.def.plural), r]));
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  const publicPaths = new Set(o.publicPaths ?? DEFAULT_PUBLIC);

  // Serialised once, and again whenever a resource is added or removed (a CRD, later).
  const publish = () => {
    const defs = stores.defs;
    const gvs = groupVersionsOf([...defs, ...[...reviews.values()].map((r) => r.def)]);
    // With an aggregator, /openapi/v2 stays this server's own: the aggregated servers' Swagger 2
    // documents are not merged in (kubectl 1.32 explains and validates from /openapi/v3, which is).
    const v2doc = openAPIv2(defs);
    const v3docs = new Map(
      groupVersionsOf(defs).map((gv) => {
        const body = JSON.stringify(openAPIv3GroupVersion(gv.defs));
        return [openAPIv3Path(gv), { body, hash: hashOf(body) }];
      }),
    );
    const v3indexDoc = openAPIv3Index([...v3docs].map(([path, d]) => ({ path, hash: d.hash }))) as { paths: Record<string, unknown> };
    const apisV2 = aggregatedDiscovery(gvs, 'v2');
    const apisV2beta1 = aggregatedDiscovery(gvs, 'v2beta1');
    return {
      gvs,
      apisDocs: { v2: apisV2, v2beta1: apisV2beta1 },
      v3indexDoc,
      v2: JSON.stringify(v2doc),
      v2protobuf: openAPIv2Protobuf(v2doc),
      v3docs,
      v3index: JSON.stringify(v3indexDoc),
      discovery: {
        apis: { v2: JSON.stringify(apisV2), v2beta1: JSON.stringify(apisV2beta1) },
        api: { v2: JSON.stringify(aggregatedDiscovery(gvs, 'v2', true)), v2beta1: JSON.stringify(aggregatedDiscovery(gvs, 'v2beta1', true)) },
      },
      resourceLists: new Map(gvs.map((gv) => [`${gv.group}/${gv.version}`, JSON.stringify(apiResourceList(gv))])),
    };
  };
  // Published again on the first discovery or OpenAPI read after a change, not on the write that made
  // it: a chart's burst of CRDs costs one rebuild (~100 ms for the built-in kinds), not one per CRD.
  let published = publish();
  let stale = false;
  stores.onChange(() => (stale = true));
  const current = () => {
    if (stale) {
      published = publish();
      stale = false;
    }
    return published;
  };
  const localGVs = () => current().gvs.map((gv) => ({ group: gv.group, version: gv.version }));
  // Merged documents, rendered again only when the local ones or the aggregator's state changed.
  const rendered = new Map<string, { docs: ReturnType<typeof publish>; generation: number; body: string }>();
  const merged = (key: string, render: () => object): string => {
    const agg = o.aggregator!;
    const hit = rendered.get(key);
    if (hit && hit.docs === current() && hit.generation === agg.generation) return hit.body;
    const body = JSON.stringify(render());
    rendered.set(key, { docs: current(), generation: agg.generation, body });
    return body;
  };
  const aggregatedApis = (version: 'v2' | 'v2beta1') =>
    o.aggregator ? merged(`apis-${version}`, () => o.aggregator!.aggregatedDiscovery(current().apisDocs[version], localGVs())) : current().discovery.apis[version];
  const version = {
    major: '1',
    minor: '32',
    gitVersion: o.version?.gitVersion ?? 'v0.1.0',
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '',
    goVersion: process.version,
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };

  if (o.metrics) {
    const histogram = o.metrics.apiRequestDuration;
    app.use((req: Request, res: Response, next: NextFunction) => {
      const start = performance.now();
      res.once('close', () => {
        const info = req.info;
        histogram.observe({ verb: info?.verb ?? req.method.toLowerCase(), resource: info?.resource ?? '', code: String(res.statusCode) }, (performance.now() - start) / 1000);
      });
      next();
    });
  }

  // authentication, then authorization
  app.use(async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const path = req.path;
      const info = requestInfo(req.method, req.originalUrl, new URLSearchParams(req.originalUrl.split('?')[1] ?? ''));
      req.info = info;
      if (publicPaths.has(path) || [...publicPaths].some((p) => path.startsWith(`${p}/`))) return next();
      let user: UserInfo | undefined;
      for (const a of o.authenticators) {
        user = await a.authenticate(req);
        if (user) break;
      }
      if (!user) throw unauthorized();
      user = await impersonatedUser(req, user, o.authorizer);
      req.user = user;
      const attributes = {
        user,
        verb: info.verb,
        path: info.path,
        resourceRequest: info.resourceRequest,
        namespace: info.namespace,
        apiGroup: info.apiGroup,
        apiVersion: info.apiVersion,
        resource: info.resource,
        subresource: info.subresource,
        name: info.name ?? info.selectedName,
      };
      const d = await o.authorizer.authorize(attributes);
      if (!d.allowed) throw forbiddenError(attributes, d.reason);
      next();
    } catch (e) {
      next(e);
    }
  });

  if (o.maxInflight) app.use(maxInflight(o.maxInflight));
  if (o.aggregator) app.use(o.aggregator.handle);

  const sendJSON = (res: Response, body: string, contentType = 'application/json', code = 200) => {
    res.status(code).setHeader('Content-Type', contentType);
    res.end(body);
  };

  /** /api and /apis: plain lists, or the aggregated document (with ETag) when the client asks for it. */
  const discoveryRoot = (which: 'api' | 'apis', legacy: () => unknown) => (req: Request, res: Response) => {
    res.setHeader('Vary', 'Accept');
    const out = negotiateDiscovery(req.headers.accept);
    if (!out) throw notAcceptable(SERVED_DISCOVERY_TYPES);
    if (out.as === 'legacy') return sendJSON(res, JSON.stringify(legacy()));
    const body = which === 'apis' ? aggregatedApis(out.version) : current().discovery[which][out.version];
    const etag = etagOf(body);
    res.setHeader('ETag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    sendJSON(res, body, `application/json;g=apidiscovery.k8s.io;v=${out.version};as=APIGroupDiscoveryList`);
  };
  const notServed = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  /** /apis/<group>, /apis/<group>/<version>, /api/<version>: plain JSON only, 406 for any other Accept. */
  const legacyOnly = (req: Request) => {
    if (negotiateDiscovery(req.headers.accept)?.as !== 'legacy') throw notAcceptable(['application/json']);
  };
  app.get('/apis', discoveryRoot('apis', () => (o.aggregator ? o.aggregator.groupList(localGVs()) : apiGroupList(current().gvs))));
  app.get('/api', discoveryRoot('api', () => apiVersions(current().gvs)));
  app.get('/apis/:group', (req, res) => {
    legacyOnly(req);
    const g = apiGroup(current().gvs, req.params.group as string);
    if (!g) throw notServed();
    sendJSON(res, JSON.stringify(g));
  });
  const resourceList = (group: string, version: string, res: Response) => {
    const body = current().resourceLists.get(`${group}/${version}`);
    if (!body) throw notServed();
    sendJSON(res, body);
  };
  app.get('/apis/:group/:version', (req, res) => {
    legacyOnly(req);
    resourceList(req.params.group as string, req.params.version as string, res);
  });
  app.get('/api/:version', (req, res) => {
    legacyOnly(req);
    resourceList('', req.params.version as string, res);
  });
  app.get('/version', (_req, res) => sendJSON(res, JSON.stringify(version)));
  app.get('/metrics', async (_req, res) => {
    if (!o.metrics) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    res.status(200).setHeader('Content-Type', o.metrics.registry.contentType);
    res.end(await o.metrics.registry.metrics());
  });
  app.get('/openapi/v2', (req, res) => {
    res.setHeader('Vary', 'Accept');
    const protobuf = wantsProtobufV2(req.headers.accept);
    if (protobuf === undefined) throw notAcceptable(['application/json', OPENAPI_V2_PROTOBUF]);
    const etag = `"${hashOf(current().v2).slice(0, 32)}${protobuf ? '-pb' : ''}"`;
    res.setHeader('ETag', etag);
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    if (!protobuf) return sendJSON(res, current().v2);
    // The dotted spelling: Go's mime parser (kubectl's) refuses the '@' one in a Content-Type.
    res.status(200).setHeader('Content-Type', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    res.end(current().v2protobuf);
  });
  app.get('/openapi/v3', (_req, res) => sendJSON(res, o.aggregator ? merged('openapi-v3', () => o.aggregator!.openAPIv3Index(current().v3indexDoc)) : current().v3index));
  app.get('/openapi/v3/*path', (req, res) => {
    const doc = current().v3docs.get((req.params.path as unknown as string[]).join('/'));
    if (!doc) throw notServed();
    res.setHeader('ETag', `"${doc.hash}"`);
    if (req.headers['if-none-match'] === `"${doc.hash}"`) return void res.status(304).end();
    // With the hash the client asked for, the document is immutable (kube's rule).
    res.setHeader('Cache-Control', req.query.hash === doc.hash ? 'public, immutable' : 'no-cache, private');
    sendJSON(res, doc.body);
  });

  // health: /healthz, /livez, /readyz (with ?verbose and /<check> sub-paths, as kube serves them)
  const health = (checks: HealthCheck[]) => async (req: Request, res: Response) => {
    const sub = req.params.check;
    const selected = sub ? checks.filter((c) => c.name === sub) : checks;
    if (sub && selected.length === 0) return void res.status(404).type('text/plain').send(`404 page not found\n`);
    const results = await Promise.all(
      [{ name: 'ping', check: async () => {} }, ...selected].map(async (c) => {
        try {
          await c.check();
          return { name: c.name, ok: true };
        } catch (e) {
          return { name: c.name, ok: false, why: (e as Error).message };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    res.status(ok ? 200 : 500).type('text/plain');
    if (req.query.verbose !== undefined || !ok) {
      const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`));
      const base = req.path.split('/')[1];
      return void res.send(`${lines.join('\n')}\n${ok ? `${base} check passed` : `${base} check failed`}\n`);
    }
    res.send('ok');
  };
  const ready = o.readyChecks ?? [];
  app.get(['/healthz', '/healthz/:check'], health(ready));
  app.get(['/livez', '/livez/:check'], health([]));
  app.get(['/readyz', '/readyz/:check'], health(ready));

  const views = o.views ?? new SubresourceViews();
  const handle = resourceHandler({
    stores,
    maxBodyBytes: o.maxBodyBytes,
    minRequestTimeoutSeconds: o.minRequestTimeoutSeconds,
    artifacts: o.artifacts,
    views: { views, timeoutMs: o.viewTimeoutMs ?? DEFAULT_VIEW_TIMEOUT_MS, maxBytes: o.maxViewBytes ?? DEFAULT_MAX_VIEW_BYTES },
    log: o.log,
    admission: o.admission,
  });
  app.use(async (req, res, next) => {
    const info = req.info;
    if (!info?.resourceRequest) return next();
    const review = reviews.get(resourceKey(info.apiGroup ?? '', info.apiVersion ?? '', info.resource ?? ''));
    if (review) {
      try {
        if (info.verb !== 'create' || info.name !== undefined || (info.namespace !== undefined) !== review.def.namespaced) throw methodNotAllowed(req.method, info.path);
        const raw = await readBody(req, o.maxBodyBytes);
        const body = mediaType(req.headers['content-type']) === PROTOBUF ? decodeProtobufObject(raw, review.protobuf) : decodeObjectBody(raw, req.headers['content-type']);
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON or YAML object');
        return void sendJSON(res, JSON.stringify(await review.review(body as Record<string, unknown>, req.user!, info.namespace)), 'application/json', 201);
      } catch (e) {
        return next(e);
      }
    }
    // Like kube, the 504 does not undo a write that completes later; it tells the client to look.
    const timer =
      req.info!.verb === 'watch'
        ? undefined
        : setTimeout(() => {
            if (res.headersSent) return;
            const st = timeout('the request did not complete within the allowed duration').toStatus();
            res.status(504).setHeader('Content-Type', 'application/json');
            res.end(JSON.stringify(st));
          }, o.requestTimeoutMs);
    res.once('close', () => clearTimeout(timer));
    try {
      await handle(req, res, req.info!);
    } catch (e) {
      next(e);
    }
  });

  app.use((req: Request) => {
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    void req;
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return void res.end(); // already answered (a timeout) or streaming
    let status: StatusError;
    if (err instanceof StatusError) status = err;
    else {
      o.log.error('request failed', { err, method: req.method, path: req.path });
      status = new StatusError(500, 'InternalError', 'Internal error occurred: an unexpected error happened while serving the request; see the server log');
    }
    res.status(status.code).setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(status.toStatus()));
  });

  let tls = { ...o.tls };
  const server = https.createServer(
    {
      key: tls.key,
      cert: tls.cert,
      ca: tls.clientCA,
      requestCert: true,
      rejectUnauthorized: false, // unauthenticated clients get a 401 Status, not a TLS failure
      minVersion: 'TLSv1.2',
    },
    app,
  );
  server.on('secureConnection', readThroughStream);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // watches are long-lived; their own timeout ends them

  return {
    server,
    setTLS(next) {
      tls = { ...tls, ...next };
      server.setSecureContext({ key: tls.key, cert: tls.cert, ca: tls.clientCA, minVersion: 'TLSv1.2' });
    },
    stores,
    views,
    groupVersions: localGVs,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Node's HTTP server reads a connection natively ("consumes" the socket) and, when a request arrives
 * while the previous response still needs drain, pauses the socket and its parser; on a TLS socket
 * the rest of that read still reaches the paused parser, which fails with HPE_PAUSED and resets the
 * connection (seen here with 100 KB merge patches from six kept-alive clients). A 'data' listener
 * makes Node read through the stream instead (its documented fallback), where a pause holds.
 */
function readThroughStream(socket: import('node:tls').TLSSocket): void {
  socket.on('data', () => {});
}

/** Whether /openapi/v2 is asked for in protobuf (true), JSON (false), or neither (undefined): the first acceptable range wins. */
function wantsProtobufV2(accept: string | undefined): boolean | undefined {
  if (!accept?.trim()) return false;
  for (const r of parseMediaRanges(accept)) {
    // kube serves the v2 protobuf under both spellings: '@v1.0' and the older '.v1.0'.
    if (r.type === OPENAPI_V2_PROTOBUF || r.type === 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf') return true;
    if (r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*') return false;
  }
  return undefined;
}
