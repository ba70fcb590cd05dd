// The REST handlers of /apis/gitops.toolkit/v1/...: get, list, watch, create, update, patch, delete,
// deletecollection, the /status subresource, the /artifact subresource of source kinds and the
// read-only views a kind declares (views.ts).

import type { Request, Response } from 'express';
import yaml from 'js-yaml';
import type { KubeObject } from '../../apis/meta/types.js';
import type { SubresourceAction } from '../../apis/meta/resource.js';
import type { AdmissionChain } from '../../admission/types.js';
import type { Logger } from '../../observability/logger.js';
import type { DeleteOptions, FieldValidation, KubeList, PatchType, ResourceStore, WatchEventOut, WriteContext } from '../../registry/store.js';
import { applyPatchDocument, checkURLName, checkURLNamespace } from '../../registry/store.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import { defaultManager } from '../../registry/fieldmanager/index.js';
import { decodeObjectBody, mediaType, parseApplyBody, parseJSON, parseYAML, PROTOBUF, readBody } from '../body.js';
import { decodeProtobufObject, type MessageSchema } from '../protobuf.js';
import { decodeBuiltinProtobuf, hasProtobufMessage } from '../protobuf-objects.js';
import { definitionNameOf, kindSchema } from '../../cluster/builtin/schemas.js';
import { duplicateFields } from '../duplicate-fields.js';
import { badRequest, invalid, methodNotAllowed, notAcceptable, notFound, StatusError } from '../../apis/meta/errors.js';
import { negotiateObject, SERVED_OBJECT_TYPES, type ObjectOutput } from '../negotiation.js';
import type { RequestInfo } from '../request-info.js';
import { partialObjectMetadata, toTable, type IncludeObject } from '../tables.js';
import { warningHeaders } from '../warnings.js';
import { serveView, type ViewServingOptions } from './views.js';

/** Serves a source's artifact; the artifact store arrives with the source reconcilers. */
export interface ArtifactServer {
  serve(req: Request, res: Response, store: ResourceStore, obj: KubeObject): Promise<void>;
}

export interface ResourceHandlerOptions {
  stores: ResourceStores;
  maxBodyBytes: number;
  minRequestTimeoutSeconds: number;
  artifacts: ArtifactServer;
  /** The handlers of the kinds' views, and their time and size bounds. */
  views: ViewServingOptions;
  log: Logger;
  /** NamespaceLifecycle and webhooks, in cluster; none standalone. */
  admission?: AdmissionChain;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
  'application/strategic-merge-patch+json': 'strategic',
};

export function resourceHandler(o: ResourceHandlerOptions) {
  return async (req: Request, res: Response, info: RequestInfo): Promise<void> => {
    const query = new URLSearchParams(req.url.split('?')[1] ?? '');
    if (!info.resource) throw notFound({ group: info.apiGroup ?? '', resource: '' }, '');
    const store = o.stores.get(info.apiGroup ?? '', info.apiVersion ?? '', info.resource);
    const missing = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (!store) throw missing();
    if (info.name !== undefined) checkURLName(info.name);
    const name = info.name;
    const sub = info.subresource;
    let ns = info.namespace;
    if (!store.def.namespaced) {
      // `/api/v1/namespaces/NAME` names the namespace in the namespace position too (kube's RequestInfo).
      if (ns !== undefined && !(store.def.plural === 'namespaces' && ns === name)) throw missing();
      ns = '';
    } else {
      if (ns !== undefined) checkURLNamespace(ns);
      if (name !== undefined && ns === undefined) throw missing();
    }
    const action = sub === undefined ? undefined : store.def.actions?.find((a) => a.name === sub);
    const view = sub === undefined ? undefined : store.def.views?.find((v) => v.name === sub);
    const subresourceServed = (sub === 'status' && store.def.hasStatus !== false) || (sub === 'artifact' && store.def.hasArtifact) || (sub === 'scale' && !!store.def.scale) || !!action || !!view;
    if (sub !== undefined && !subresourceServed) throw missing();
    if (view) {
      if (info.verb !== 'get') throw methodNotAllowed(req.method, info.path);
      return serveView(req, res, store, await store.get(ns!, name!), view, o.views);
    }
    if (action) {
      if (info.verb !== 'create' || name === undefined) throw methodNotAllowed(req.method, info.path);
      const raw = await readBody(req, o.maxBodyBytes);
      const body = decodeActionBody(raw, req.headers['content-type'], action);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON or YAML object');
      const out = await action.create(ns!, name, body as Record<string, unknown>, { user: req.user, dryRun: query.getAll('dryRun').includes('All') });
      res.status(201).setHeader('Content-Type', 'application/json');
      return void res.end(JSON.stringify(out));
    }
    if (sub === 'scale') return serveScale(req, res, store, ns!, name!, info.verb, query, o);
    includeObject(query); // checked before any write, so a bad value cannot fail a committed one's answer

    switch (info.verb) {
      case 'get': {
        if (sub === 'artifact') return o.artifacts.serve(req, res, store, await store.get(ns!, name!));
        const out = negotiate(req, false);
        const obj = await store.get(ns!, name!);
        return sendObject(res, 200, store, obj, out, query);
      }
      case 'list': {
        if (sub) throw methodNotAllowed(req.method, info.path);
        const out = negotiate(req, true);
        const list = await store.list(ns, listQuery(query));
        return sendList(res, store, list, out, query);
      }
      case 'watch':
        if (sub) throw methodNotAllowed(req.method, info.path);
        return serveWatch(req, res, store, ns, name, query, o);
      case 'create': {
        if (name !== undefined || ns === undefined) throw methodNotAllowed(req.method, info.path);
        const out = negotiate(req, false);
        const ctx = writeContext(req, query, o.admission);
        const body = decodeBody(await readBody(req, o.maxBodyBytes), req.headers['content-type'], ctx, definitionOf(store));
        const obj = await store.create(ns, body, ctx);
        return sendWritten(res, 201, store, obj, out, query, ctx.warnings, o.log);
      }
      case 'update': {
        if (name === undefined || sub === 'artifact') throw methodNotAllowed(req.method, info.path);
        const out = negotiate(req, false);
        const ctx = writeContext(req, query, o.admission);
        const body = decodeBody(await readBody(req, o.maxBodyBytes), req.headers['content-type'], ctx, definitionOf(store));
        const obj = await store.update(ns!, name, body, ctx, sub === 'status' ? 'status' : undefined);
        return sendWritten(res, 200, store, obj, out, query, ctx.warnings, o.log);
      }
      case 'patch': {
        if (name === undefined || sub === 'artifact') throw methodNotAllowed(req.method, info.path);
        const out = negotiate(req, false);
        const type = PATCH_TYPES[mediaType(req.headers['content-type'])];
        if (!type) {
          throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
        }
        const ctx = writeContext(req, query, o.admission, type === 'apply');
        const force = parseBool(query.get('force'), 'force');
        if (force !== undefined && type !== 'apply') throw badRequest('force: Forbidden: may not be specified for non-apply patch');
        const raw = await readBody(req, o.maxBodyBytes);
        const smp = type === 'strategic' && store.def.strategicMergePatch;
        const body = type === 'apply' ? parseApplyBody(raw) : type === 'strategic' && !smp ? null : parseJSON(raw);
        if ((type === 'merge' || smp) && ctx.fieldValidation !== 'Ignore') ctx.duplicateFields = duplicateFields(raw.toString('utf8'));
        const { object, created } = await store.patch(ns!, name, type, body, ctx, { force, subresource: sub === 'status' ? 'status' : undefined });
        return sendWritten(res, created ? 201 : 200, store, object, out, query, ctx.warnings, o.log);
      }
      case 'delete': {
        if (name === undefined || sub) throw methodNotAllowed(req.method, info.path);
        const out = negotiate(req, false);
        const ctx = writeContext(req, query, o.admission);
        const opts = await deleteOptions(req, query, o.maxBodyBytes, ctx);
        const { object } = await store.delete(ns!, name, opts, ctx);
        return sendWritten(res, 200, store, object, out, query, ctx.warnings, o.log);
      }
      case 'deletecollection': {
        if (sub) throw methodNotAllowed(req.method, info.path);
        const out = negotiate(req, true);
        const ctx = writeContext(req, query, o.admission);
        const opts = await deleteOptions(req, query, o.maxBodyBytes, ctx);
        const list = await store.deleteCollection(ns, listQuery(query), opts, ctx);
        return afterWrite(res, 200, list, o.log, () => sendList(res, store, list, out, query, ctx.warnings));
      }
      default:
        throw methodNotAllowed(req.method, info.path);
    }
  };
}

/** GET, PUT and PATCH of /scale: the object seen as an autoscaling/v1 Scale (what kubectl scale uses). */
async function serveScale(req: Request, res: Response, store: ResourceStore, ns: string, name: string, verb: string, query: URLSearchParams, o: ResourceHandlerOptions): Promise<void> {
  const out: ObjectOutput = { as: 'object', format: 'json' };
  if (verb === 'get') return send(res, 200, await store.getScale(ns, name), out);
  if (verb !== 'update' && verb !== 'patch') throw methodNotAllowed(req.method, req.path);
  const ctx = writeContext(req, query, o.admission, false);
  const raw = await readBody(req, o.maxBodyBytes);
  let scale: KubeObject;
  if (verb === 'update') {
    const body = decodeBody(raw, req.headers['content-type'], ctx, 'io.k8s.api.autoscaling.v1.Scale');
    scale = await store.writeScale(ns, name, ctx, () => body);
  } else {
    const type = PATCH_TYPES[mediaType(req.headers['content-type'])];
    if (!type || type === 'apply') throw new StatusError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json');
    const patch = parseJSON(raw);
    // A Scale has no lists to merge by key: strategic merge patch is a merge patch here, as in kube.
    scale = await store.writeScale(ns, name, ctx, (current) => applyPatchDocument(type === 'json' ? 'json' : 'merge', current, patch));
  }
  afterWrite(res, 200, scale, o.log, () => {
    setWarnings(res, ctx.warnings);
    send(res, 200, scale, out);
  });
}

/**
 * Decodes a create/update body; for JSON also notes repeated keys, which fieldValidation judges.
 * `definition`: the kube definition name of the body's kind, which lets a built-in kind come as protobuf.
 */
function decodeBody(raw: Buffer, contentType: string | undefined, ctx: WriteContext, definition?: string): unknown {
  const body = decodeObjectBody(raw, contentType, definition);
  const type = mediaType(contentType);
  if (ctx.fieldValidation !== 'Ignore' && type !== 'application/yaml' && type !== PROTOBUF) ctx.duplicateFields = duplicateFields(raw.toString('utf8'));
  return body;
}

/** The kube definition name of a store's kind (`io.k8s.api.core.v1.ConfigMap`): built-in kinds only. */
const definitionOf = (store: ResourceStore): string | undefined => definitionNameOf(store.def.schema);

/** A subresource action's body: protobuf by the generated message of its kind when there is one, else by its own field map. */
function decodeActionBody(raw: Buffer, contentType: string | undefined, action: SubresourceAction): unknown {
  if (mediaType(contentType) !== PROTOBUF) return decodeObjectBody(raw, contentType);
  let definition: string | undefined;
  try {
    definition = definitionNameOf(kindSchema(action.kind.group, action.kind.version, action.kind.kind));
  } catch {
    definition = undefined; // not a built-in kind
  }
  if (hasProtobufMessage(definition)) return decodeObjectBody(raw, contentType, definition);
  return decodeProtobufObject(raw, (action.protobuf ?? {}) as MessageSchema);
}

function negotiate(req: Request, isList: boolean): ObjectOutput {
  const out = negotiateObject(req.headers.accept, isList);
  if (!out) throw notAcceptable(SERVED_OBJECT_TYPES);
  return out;
}

function parseBool(v: string | null, name: string): boolean | undefined {
  if (v === null) return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0' || v === '') return false;
  throw badRequest(`${name}: Invalid value: "${v}": must be a boolean`);
}

const INT64_MAX = 2n ** 63n - 1n;
/** Past this a limit or a timeout means "no bound" here: SQLite and timers take 32-bit values. */
const INT32_MAX = 2 ** 31 - 1;

/** kube's query integers are int64: anything else is a 400, never a float reaching storage. */
function parseIntParam(v: string | null, name: string): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^-?\d{1,30}$/.test(v) || BigInt(v) > INT64_MAX || BigInt(v) < -INT64_MAX - 1n) {
    throw badRequest(`${name}: Invalid value: "${v.slice(0, 100)}": must be a 64-bit integer`);
  }
  return Math.max(-INT32_MAX, Math.min(INT32_MAX, Number(v)));
}

function listQuery(q: URLSearchParams) {
  const limit = parseIntParam(q.get('limit'), 'limit');
  return {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    limit,
    continue: q.get('continue') || undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') || undefined,
  };
}

function writeContext(req: Request, q: URLSearchParams, admission: AdmissionChain | undefined, isApply = false): WriteContext {
  const dryRun = q.getAll('dryRun');
  for (const d of dryRun) if (d !== 'All') throw badRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (!['Strict', 'Warn', 'Ignore'].includes(fv)) throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  let manager = q.get('fieldManager') ?? '';
  if (manager.length > 128) throw invalid('meta.k8s.io', 'PatchOptions', '', [{ type: 'FieldValueTooLong', field: 'fieldManager', message: 'may not be more than 128 characters' }]);
  if (isApply && !manager) throw invalid('meta.k8s.io', 'PatchOptions', '', [{ type: 'FieldValueRequired', field: 'fieldManager', message: 'is required for apply patch' }]);
  if (!manager) manager = defaultManager(req.headers['user-agent']);
  return { dryRun: dryRun.length > 0, fieldManager: manager, fieldValidation: fv as FieldValidation, warnings: [], user: req.user, admission };
}

const DELETE_OPTIONS = 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions';

async function deleteOptions(req: Request, q: URLSearchParams, limit: number, ctx: WriteContext): Promise<DeleteOptions> {
  const raw = await readBody(req, limit);
  let body: Record<string, unknown> = {};
  if (raw.length && raw.toString('utf8').trim()) {
    const type = mediaType(req.headers['content-type']);
    // client-go's typed clients (helm purging its release Secrets) send DeleteOptions in protobuf.
    const v = type === 'application/yaml' ? parseYAML(raw) : type === PROTOBUF ? decodeBuiltinProtobuf(raw, DELETE_OPTIONS) : parseJSON(raw);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('DeleteOptions must be an object');
    body = v as Record<string, unknown>;
    checkDeleteOptions(body);
    if (Array.isArray(body.dryRun)) {
      for (const d of body.dryRun) if (d !== 'All') throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(d)}: supported values: "All"`);
      if (body.dryRun.length) ctx.dryRun = true;
    }
  }
  const pre = body.preconditions as DeleteOptions['preconditions'];
  return {
    propagationPolicy: (q.get('propagationPolicy') ?? (body.propagationPolicy as string | undefined)) || undefined,
    gracePeriodSeconds: parseIntParam(q.get('gracePeriodSeconds'), 'gracePeriodSeconds') ?? (body.gracePeriodSeconds as number | undefined),
    preconditions: pre ?? undefined,
    orphanDependents: parseBool(q.get('orphanDependents'), 'orphanDependents') ?? (body.orphanDependents as boolean | undefined) ?? undefined,
  };
}

/** The types DeleteOptions' fields decode to in kube: anything else is the 400 its decoder gives. */
function checkDeleteOptions(body: Record<string, unknown>): void {
  const wrong = (field: string, type: string, v: unknown) =>
    badRequest(`DeleteOptions.${field}: Invalid value: must be ${type}, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`);
  const isType = (v: unknown, t: string) => v === undefined || v === null || typeof v === t;
  for (const f of ['propagationPolicy', 'kind', 'apiVersion'] as const) if (!isType(body[f], 'string')) throw wrong(f, 'a string', body[f]);
  if (!isType(body.orphanDependents, 'boolean')) throw wrong('orphanDependents', 'a boolean', body.orphanDependents);
  const g = body.gracePeriodSeconds;
  if (g !== undefined && g !== null && !Number.isSafeInteger(g)) throw wrong('gracePeriodSeconds', 'an integer', g);
  if (body.dryRun !== undefined && body.dryRun !== null && (!Array.isArray(body.dryRun) || body.dryRun.some((d) => typeof d !== 'string'))) throw wrong('dryRun', 'a list of strings', body.dryRun);
  const pre = body.preconditions;
  if (pre === undefined || pre === null) return;
  if (typeof pre !== 'object' || Array.isArray(pre)) throw wrong('preconditions', 'an object', pre);
  for (const f of ['uid', 'resourceVersion'] as const) {
    const v = (pre as Record<string, unknown>)[f];
    if (!isType(v, 'string')) throw wrong(`preconditions.${f}`, 'a string', v);
  }
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Metadata' && v !== 'Object') throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`);
  return v;
}

function setWarnings(res: Response, warnings: string[] = []): void {
  const headers = warningHeaders(warnings);
  if (headers.length) res.setHeader('Warning', headers);
}

/**
 * The answer to a write that is already committed: whatever goes wrong while rendering it (a
 * header, a table, YAML) is logged and the client still gets the outcome, as plain JSON.
 */
export function afterWrite(res: Response, code: number, obj: unknown, log: Logger, render: () => void): void {
  try {
    render();
  } catch (err) {
    log.error('rendering the response to a committed write failed; answering with plain JSON', { err });
    if (res.headersSent) return void res.end();
    try {
      res.removeHeader('Warning');
      res.status(code).setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(obj));
    } catch (again) {
      log.error('answering a committed write failed', { err: again });
      res.end();
    }
  }
}

function sendWritten(res: Response, code: number, store: ResourceStore, obj: KubeObject, out: ObjectOutput, q: URLSearchParams, warnings: string[], log: Logger): void {
  afterWrite(res, code, obj, log, () => sendObject(res, code, store, obj, out, q, warnings));
}

function send(res: Response, code: number, body: unknown, out: ObjectOutput): void {
  if (out.as === 'object' && out.format === 'yaml') {
    res.status(code).type('application/yaml').send(yaml.dump(body, { noRefs: true, lineWidth: -1 }));
    return;
  }
  const text = JSON.stringify(body);
  res.status(code).setHeader('Content-Type', 'application/json');
  res.end(text);
}

function sendObject(res: Response, code: number, store: ResourceStore, obj: KubeObject, out: ObjectOutput, q: URLSearchParams, warnings?: string[]): void {
  setWarnings(res, warnings);
  if (out.as === 'Table') return send(res, code, toTable(store.def, [obj], { resourceVersion: obj.metadata.resourceVersion }, { includeObject: includeObject(q), apiVersion: `meta.k8s.io/${out.version}` }), out);
  if (out.as === 'PartialObjectMetadata') return send(res, code, { ...partialObjectMetadata(obj), apiVersion: `meta.k8s.io/${out.version}` }, out);
  send(res, code, obj, out);
}

function sendList(res: Response, store: ResourceStore, list: KubeList, out: ObjectOutput, q: URLSearchParams, warnings?: string[]): void {
  setWarnings(res, warnings);
  if (out.as === 'Table') return send(res, 200, toTable(store.def, list.items, list.metadata, { includeObject: includeObject(q), apiVersion: `meta.k8s.io/${out.version}` }), out);
  if (out.as === 'PartialObjectMetadata') {
    const apiVersion = `meta.k8s.io/${out.version}`;
    return send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion, metadata: list.metadata, items: list.items.map((i) => ({ ...partialObjectMetadata(i), apiVersion })) }, out);
  }
  send(res, 200, list, out);
}

/** Watch: a JSON object per line, flushed as it happens, until timeout, client close or an ERROR. */
async function serveWatch(req: Request, res: Response, store: ResourceStore, ns: string | undefined, name: string | undefined, q: URLSearchParams, o: ResourceHandlerOptions): Promise<void> {
  const out = negotiate(req, true);
  if (out.as === 'object' && out.format === 'yaml') throw notAcceptable(['application/json', 'application/json;as=Table;v=v1;g=meta.k8s.io']);
  const base = listQuery(q);
  let fieldSelector = base.fieldSelector;
  if (name !== undefined) fieldSelector = fieldSelector ? `${fieldSelector},metadata.name=${name}` : `metadata.name=${name}`;
  const timeoutSeconds = parseIntParam(q.get('timeoutSeconds'), 'timeoutSeconds');
  const min = o.minRequestTimeoutSeconds;
  // Timers hold 32-bit milliseconds; a longer timeout (kube takes int64) is as good as forever.
  const seconds = Math.min(timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds : min + Math.random() * min, INT32_MAX / 1000);

  const allowBookmarks = parseBool(q.get('allowWatchBookmarks'), 'allowWatchBookmarks') ?? false;
  const abort = new AbortController();
  const events = await store.watch(
    ns,
    {
      labelSelector: base.labelSelector,
      fieldSelector,
      resourceVersion: base.resourceVersion,
      resourceVersionMatch: base.resourceVersionMatch,
      allowWatchBookmarks: allowBookmarks,
      sendInitialEvents: parseBool(q.get('sendInitialEvents'), 'sendInitialEvents'),
    },
    abort.signal,
  );
  const stop = () => abort.abort();
  const timer = setTimeout(stop, seconds * 1000);
  res.on('close', stop);
  // kube's watch cache sends a BOOKMARK shortly before the deadline, so the client resumes from a
  // recent resourceVersion instead of the last change it saw. Every event up to lastRevision was sent.
  let lastRevision = events.startRevision;
  const beforeDeadline = allowBookmarks
    ? setTimeout(() => {
        if (started && !abort.signal.aborted && !res.writableEnded) res.write(`${encode({ type: 'BOOKMARK', object: store.bookmarkObject(lastRevision) })}\n`);
      }, Math.max(0, seconds * 1000 - Math.min(1000, seconds * 250)))
    : undefined;
  let started = false;
  let tableHeaderSent = false;
  const include = out.as === 'Table' ? includeObject(q) : 'Metadata';
  const encode = (ev: WatchEventOut): string => {
    if (out.as === 'Table' && (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')) {
      const table = toTable(store.def, [ev.object as KubeObject], {}, { includeObject: include, apiVersion: `meta.k8s.io/${out.version}`, noHeaders: tableHeaderSent });
      tableHeaderSent = true;
      return JSON.stringify({ type: ev.type, object: table });
    }
    if (out.as === 'PartialObjectMetadata' && ev.type !== 'ERROR') {
      return JSON.stringify({ type: ev.type, object: { ...partialObjectMetadata(ev.object as KubeObject), apiVersion: `meta.k8s.io/${out.version}` } });
    }
    return JSON.stringify(ev);
  };
  try {
    res.status(200).setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-cache, private');
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    started = true;
    let step = await events.next();
    while (!step.done && !abort.signal.aborted) {
      // The largest revision sent: initial events come in key order, not revision order.
      const rv = (step.value.object as KubeObject).metadata?.resourceVersion;
      if (step.value.type !== 'ERROR' && rv && /^\d+$/.test(rv) && BigInt(rv) > BigInt(lastRevision)) lastRevision = rv;
      const ok = res.write(`${encode(step.value)}\n`);
      if (step.value.type === 'ERROR') break;
      if (!ok) await new Promise<void>((r) => res.once('drain', r).once('close', r));
      step = await events.next();
    }
  } catch (e) {
    if (!started) throw e;
    if (!abort.signal.aborted) {
      const status = e instanceof StatusError ? e.toStatus() : new StatusError(500, 'InternalError', 'watch ended unexpectedly').toStatus();
      if (!(e instanceof StatusError)) o.log.error('watch failed', { err: e, resource: store.def.plural });
      res.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    }
  } finally {
    clearTimeout(timer);
    clearTimeout(beforeDeadline);
    abort.abort();
    await events.return(undefined).catch(() => undefined);
    if (started) res.end();
  }
}
