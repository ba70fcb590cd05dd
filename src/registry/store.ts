// The generic REST store: one per kind. It owns the order of a write, as kube-apiserver's generic
// registry does — decode checks → prune unknown fields → prepare (system fields, generation, status)
// → defaults + schema → ObjectMeta → the kind's rules → managed fields → compare-and-swap in storage.
// Nothing is written unless every step passed, so a rejected request leaves no trace.

import { randomUUID } from 'node:crypto';
import type { AdmissionChain, Operation } from '../admission/types.js';
import { apiVersionOf, type FieldError, type ResourceDefinition } from '../apis/meta/resource.js';
import type { UserInfo } from '../auth/types.js';
import type { KubeObject, ListMeta } from '../apis/meta/types.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  notFound,
  StatusError,
  requestEntityTooLarge,
  unsupportedMediaType,
} from '../apis/meta/errors.js';
import {
  AlreadyExistsError,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  NotFoundError,
  type KeyValue,
  type Revision,
  type Storage,
} from '../storage/types.js';
import { WatcherOverflowError } from '../storage/errors.js';
import { apply as applyFields, ApplyBadRequestError, ApplyConflictError, recordUpdate } from './fieldmanager/index.js';
import { generateNameSuffix, jsonEqual, rfc3339 } from './meta.js';
import { cloneJSON, formatBytes, MAX_OBJECT_BYTES, nestingProblem } from './limits.js';
import { jsonPatch, mergePatch, PatchError, PatchTooLargeError } from './patch.js';
import { strategicMergePatch } from './strategic-merge-patch.js';
import { typedDecodeMessage } from './decode-errors.js';
import {
  formatLabelSelector,
  labelSelectorFromObject,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectedName,
  selectedNamespace,
  SelectorError,
  type FieldSelector,
  type LabelSelector,
} from './selectors/index.js';
import { defaultAndValidate, nameErrors, namespaceErrors, precompile, pruneUnknownFields, validateObjectMeta } from './validation.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What a write request carries besides its body. */
export interface WriteContext {
  dryRun: boolean;
  fieldManager: string;
  fieldValidation: FieldValidation;
  /** Collected Warning headers. */
  warnings: string[];
  /** Keys the request body repeated (JSON.parse kept the last); reported like unknown fields. */
  duplicateFields?: string[];
  /** Who asks: admission webhooks are told. */
  user?: UserInfo;
  /** Mutating and validating admission; none when unset. */
  admission?: AdmissionChain;
  /** Set by create and update: the body is a whole object, decoded (for built-in kinds) as kube decodes it. */
  typedBody?: boolean;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface WatchQuery {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

export interface KubeList {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: KubeObject[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEventOut {
  type: WatchEventType;
  object: KubeObject | ReturnType<StatusError['toStatus']>;
}

export type PatchType = 'json' | 'merge' | 'apply' | 'strategic';

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
  /** Deprecated in kube: true is propagationPolicy Orphan, false Background. */
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
}

export const FIELD_SELECTABLE = ['metadata.name', 'metadata.namespace'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
const MAX_CAS_RETRIES = 20;

interface Selectors {
  labels?: LabelSelector;
  fields?: FieldSelector;
}

/**
 * The REST store of one resource of any group and version, namespaced or cluster-scoped. For a
 * cluster-scoped resource every `ns` argument is ignored (pass '').
 */
export class ResourceStore {
  readonly ref: { group: string; resource: string };
  /** `gitops.toolkit/v1`, or `v1` for the core group. */
  readonly apiVersion: string;
  private readonly root: string;

  constructor(
    readonly def: ResourceDefinition,
    private readonly storage: Storage,
    o: { precompile?: boolean } = {},
  ) {
    this.ref = { group: def.group, resource: def.plural };
    this.apiVersion = apiVersionOf(def);
    // kube's etcd layout: /registry/<group>/<resource>/, the core group without a group segment.
    this.root = def.group ? `/registry/${def.group}/${def.plural}/` : `/registry/${def.plural}/`;
    // Built-in workload schemas take ~300 ms each to compile: the local cluster compiles on first write.
    if (o.precompile !== false) precompile(def);
  }

  key(ns: string, name: string): string {
    return this.def.namespaced ? `${this.root}${ns}/${name}` : `${this.root}${name}`;
  }

  private prefix(ns?: string): string {
    return ns && this.def.namespaced ? `${this.root}${ns}/` : this.root;
  }

  /** Stored bytes never carry resourceVersion: it is the key's modRevision, set on the way out. */
  decode(kv: KeyValue): KubeObject {
    const obj = JSON.parse(Buffer.from(kv.value).toString('utf8')) as KubeObject;
    obj.metadata.resourceVersion = String(kv.modRevision);
    // The versions of a custom resource share their objects (conversion strategy None): each reads as its own.
    obj.apiVersion = this.apiVersion;
    return obj;
  }

  /** The bytes to store; refuses an object over the stored-object limit, on every write path. */
  private encode(obj: KubeObject): Uint8Array {
    // A patch or a webhook can deepen what the body did not; before JSON.stringify, which recurses.
    const problem = nestingProblem(obj);
    if (problem) {
      const why = `the object ${problem}`;
      throw new StatusError(422, 'Invalid', `${qualifiedKind(this.def)} "${obj.metadata.name ?? ''}" is invalid: ${why}`, { name: obj.metadata.name, group: this.def.group, kind: this.def.kind, causes: [{ reason: 'FieldValueInvalid', message: why }] });
    }
    const { resourceVersion: _rv, ...metadata } = obj.metadata;
    const bytes = Buffer.from(JSON.stringify({ ...obj, metadata }));
    if (bytes.length > MAX_OBJECT_BYTES) {
      throw requestEntityTooLarge(`the ${this.def.kind} "${obj.metadata.name ?? ''}" would be ${formatBytes(bytes.length)} when stored, over the limit of ${formatBytes(MAX_OBJECT_BYTES)} for one object`);
    }
    return bytes;
  }

  // ---- reads ----

  async get(ns: string, name: string): Promise<KubeObject> {
    const kv = await this.storage.get(this.key(ns, name));
    if (!kv) throw notFound(this.ref, name);
    return this.decode(kv);
  }

  private parseSelectors(q: { labelSelector?: string; fieldSelector?: string }): Selectors {
    try {
      return {
        labels: q.labelSelector ? parseLabelSelector(q.labelSelector) : undefined,
        fields: q.fieldSelector ? parseFieldSelector(q.fieldSelector, this.selectable) : undefined,
      };
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message);
      throw e;
    }
  }

  private matches(sel: Selectors, obj: KubeObject): boolean {
    if (sel.labels && !matchesLabels(sel.labels, obj.metadata.labels)) return false;
    if (sel.fields && !matchesFields(sel.fields, this.fieldsOf(obj, sel.fields))) return false;
    return true;
  }

  /** Field labels this kind's selectors accept: metadata's two, plus the kind's own (kube's per-kind field label conversion, a CRD's selectableFields). */
  private get selectable(): string[] {
    return [...FIELD_SELECTABLE, ...Object.keys(this.def.selectableFields ?? {})];
  }

  /** The values of the fields `sel` reads, as strings (a missing field reads as ''). */
  private fieldsOf(obj: KubeObject, sel: FieldSelector): Record<string, string> {
    const out: Record<string, string> = { 'metadata.name': obj.metadata.name ?? '', 'metadata.namespace': obj.metadata.namespace ?? '' };
    for (const r of sel.requirements) {
      const path = this.def.selectableFields?.[r.field];
      if (path === undefined) continue;
      let v: unknown = obj;
      for (const seg of path.split('.')) v = v !== null && typeof v === 'object' && Object.hasOwn(v, seg) ? (v as Record<string, unknown>)[seg] : undefined;
      out[r.field] = v === undefined || v === null || typeof v === 'object' ? '' : String(v);
    }
    return out;
  }

  /** The narrowest key prefix a query can use: a field selector pinning the namespace or name helps. */
  private scanPrefix(ns: string | undefined, sel: Selectors): string {
    const pinnedNs = sel.fields ? selectedNamespace(sel.fields) : undefined;
    if (!this.def.namespaced) {
      const pinnedName = sel.fields ? selectedName(sel.fields) : undefined;
      if (pinnedNs !== undefined && pinnedNs !== '') return `${this.root}\0none`; // cluster-scoped objects have no namespace
      return pinnedName ? this.key('', pinnedName) : this.root;
    }
    if (ns && pinnedNs !== undefined && pinnedNs !== ns) return `${this.prefix(ns)}\0none`; // cannot match
    const effectiveNs = ns ?? pinnedNs;
    const pinnedName = sel.fields ? selectedName(sel.fields) : undefined;
    if (effectiveNs && pinnedName) return this.key(effectiveNs, pinnedName);
    return this.prefix(effectiveNs);
  }

  async list(ns: string | undefined, q: ListQuery): Promise<KubeList> {
    const sel = this.parseSelectors(q);
    const limit = q.limit && q.limit > 0 ? q.limit : undefined;
    let revision: Revision | undefined;
    let startAfter: string | undefined;
    const prefix = this.scanPrefix(ns, sel);

    if (q.continue) {
      if (q.resourceVersion && q.resourceVersion !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      const token = decodeContinue(q.continue);
      revision = token.rv > 0n ? token.rv : undefined;
      startAfter = `${prefix}${token.start}`;
    } else {
      revision = await this.listRevision(q, limit !== undefined);
    }

    const items: KubeObject[] = [];
    let more = false;
    let lastKey: string | undefined;
    let remaining: number | undefined;
    let readAt: Revision;
    const exactKey = !prefix.endsWith('/');
    try {
      for (;;) {
        const want = limit ? Math.max(limit - items.length, sel.labels || sel.fields ? 100 : 0) : undefined;
        const page = await this.storage.list(prefix, { limit: want, startAfter, revision });
        readAt = page.revision;
        revision = page.revision;
        let i = 0;
        for (; i < page.items.length; i++) {
          const kv = page.items[i];
          startAfter = kv.key;
          if (exactKey && kv.key !== prefix) continue;
          const obj = this.decode(kv);
          if (!this.matches(sel, obj)) continue;
          items.push(obj);
          lastKey = kv.key;
          if (limit && items.length >= limit) {
            i++;
            break;
          }
        }
        if (limit && items.length >= limit) {
          more = i < page.items.length || page.more;
          if (more && !sel.labels && !sel.fields && page.remaining !== undefined) remaining = page.remaining + (page.items.length - i);
          break;
        }
        if (!page.more) break;
      }
    } catch (e) {
      if (e instanceof CompactedError) {
        if (q.continue)
          throw expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          );
        throw expired(`The resourceVersion for the provided list is too old.`);
      }
      if (e instanceof FutureRevisionError) throw tooLargeResourceVersion(e.requested, e.current);
      throw e;
    }
    const metadata: ListMeta = { resourceVersion: String(readAt!) };
    if (more && lastKey) {
      metadata.continue = encodeContinue(readAt!, lastKey.slice(prefix.length));
      if (remaining !== undefined) metadata.remainingItemCount = remaining;
    }
    return { apiVersion: this.apiVersion, kind: this.def.listKind, metadata, items };
  }

  /** kube's resourceVersion/resourceVersionMatch rules for list. Undefined = the latest state. */
  private async listRevision(q: ListQuery, paged: boolean): Promise<Revision | undefined> {
    const match = q.resourceVersionMatch;
    const rv = q.resourceVersion;
    if (match && match !== 'Exact' && match !== 'NotOlderThan') throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
    if (match && !rv) throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (!rv || rv === '0') {
      if (match === 'Exact') throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
      return undefined;
    }
    const n = parseRevision(rv);
    if (match === 'Exact' || (!match && paged)) return n;
    const current = await this.storage.currentRevision();
    if (n > current) throw tooLargeResourceVersion(n, current);
    return undefined; // NotOlderThan: the latest state is never older
  }

  // ---- watch ----

  /**
   * Checks the query and fixes where the watch starts, then returns the event stream: validation
   * errors are thrown here, before a handler commits to a 200 streaming response.
   */
  async watch(ns: string | undefined, q: WatchQuery, signal: AbortSignal): Promise<AsyncGenerator<WatchEventOut> & { startRevision: string }> {
    const sel = this.parseSelectors(q);
    const prefix = this.scanPrefix(ns, sel);
    const rv = q.resourceVersion;
    if (q.sendInitialEvents !== undefined) {
      if (!q.allowWatchBookmarks && q.sendInitialEvents)
        throw invalid(this.def.group, 'ListOptions', '', [{ type: 'FieldValueForbidden', field: 'allowWatchBookmarks', message: 'allowWatchBookmarks must be set to true when sendInitialEvents is true' }]);
      if (q.resourceVersionMatch !== 'NotOlderThan')
        throw invalid(this.def.group, 'ListOptions', '', [{ type: 'FieldValueForbidden', field: 'resourceVersionMatch', message: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' }]);
    } else if (q.resourceVersionMatch) {
      throw badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch');
    }
    const current = await this.storage.currentRevision();
    const initial = q.sendInitialEvents ?? (!rv || rv === '0');
    let after: Revision;
    if (initial) {
      if (rv && rv !== '0' && parseRevision(rv) > current) throw tooLargeResourceVersion(parseRevision(rv), current);
      after = current; // the initial state is read at this revision, changes follow from it
    } else {
      after = rv ? parseRevision(rv) : current;
      if (after > current) throw tooLargeResourceVersion(after, current);
    }
    // Where the stream starts: every event it yields is after this revision (the initial ones are at it).
    return Object.assign(this.stream(prefix, sel, after, initial, q, signal), { startRevision: String(after) });
  }

  /** A BOOKMARK event's object: the kind and a resourceVersion, nothing else, as kube sends it. */
  bookmarkObject(resourceVersion: string): KubeObject {
    return this.bookmark(BigInt(resourceVersion));
  }

  private async *stream(prefix: string, sel: Selectors, after: Revision, initial: boolean, q: WatchQuery, signal: AbortSignal): AsyncGenerator<WatchEventOut> {
    const exactKey = !prefix.endsWith('/');
    try {
      if (initial) {
        // Synthetic ADDED events for the state at `after`, read in pages of one snapshot.
        let startAfter: string | undefined;
        for (;;) {
          const page = await this.storage.list(prefix, { limit: 500, startAfter, revision: after });
          for (const kv of page.items) {
            if (exactKey && kv.key !== prefix) continue;
            const obj = this.decode(kv);
            if (this.matches(sel, obj)) yield { type: 'ADDED', object: obj };
          }
          if (!page.more || page.items.length === 0) break;
          startAfter = page.items[page.items.length - 1].key;
        }
        if (q.sendInitialEvents && q.allowWatchBookmarks) yield { type: 'BOOKMARK', object: this.bookmark(after, { 'k8s.io/initial-events-end': 'true' }) };
      }
      for await (const ev of this.storage.watch(prefix, after, signal)) {
        if (ev.type === 'progress') {
          if (q.allowWatchBookmarks) yield { type: 'BOOKMARK', object: this.bookmark(ev.revision) };
          continue;
        }
        if (exactKey && ev.kv.key !== prefix) continue;
        const prev = ev.prev ? this.decode(ev.prev) : undefined;
        const prevMatched = prev ? this.matches(sel, prev) : false;
        if (ev.type === 'delete') {
          // The last state, with the deletion's revision, as kube sends it.
          const obj = prev ?? this.decode(ev.kv);
          obj.metadata.resourceVersion = String(ev.kv.modRevision);
          if (prevMatched || (!prev && this.matches(sel, obj))) yield { type: 'DELETED', object: obj };
          continue;
        }
        const obj = this.decode(ev.kv);
        const nowMatches = this.matches(sel, obj);
        if (nowMatches && prevMatched) yield { type: 'MODIFIED', object: obj };
        else if (nowMatches) yield { type: 'ADDED', object: obj };
        else if (prevMatched) yield { type: 'DELETED', object: obj };
      }
    } catch (e) {
      if (e instanceof CompactedError) {
        yield { type: 'ERROR', object: expired(`too old resource version: ${after} (${e.compacted + 1n})`).toStatus() };
        return;
      }
      // A consumer too slow to keep up is cut off, as kube's watch cache does; the client resumes
      // from the last resourceVersion it saw, which the history still holds.
      if (e instanceof WatcherOverflowError) return;
      throw e;
    }
  }

  private bookmark(revision: Revision, annotations?: Record<string, string>): KubeObject {
    return { apiVersion: this.apiVersion, kind: this.def.kind, metadata: { resourceVersion: String(revision), ...(annotations ? { annotations } : {}) } };
  }

  // ---- writes ----

  /**
   * Built-in kinds decode a create or update body into their Go type with the URL's group version kind
   * as the default: the body may leave apiVersion and kind out (an apply body may not, nor a custom resource's).
   */
  private withTypeMeta(body: unknown): unknown {
    if (!this.def.defaultTypeMeta || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
    const obj = body as KubeObject;
    if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = this.apiVersion;
    if (obj.kind === undefined || obj.kind === '') obj.kind = this.def.kind;
    return obj;
  }

  /** Checks what kube's decoder and rest.BeforeCreate/BeforeUpdate check before any strategy runs. */
  private checkBody(body: unknown, ns: string, urlName?: string): KubeObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON or YAML object');
    const obj = body as KubeObject;
    if (obj.apiVersion !== this.apiVersion || obj.kind !== this.def.kind) {
      if (!obj.kind || !obj.apiVersion) throw badRequest(`Object 'Kind' is missing in '${preview(body)}'`);
      throw badRequest(`the object provided is unrecognized (expected ${this.apiVersion}, Kind=${this.def.kind}, got ${preview(obj.apiVersion)}, Kind=${preview(obj.kind)})`);
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) throw badRequest('metadata must be an object');
    // What kube's decoder would refuse as the wrong type; messages below print these fields.
    for (const f of ['name', 'generateName', 'namespace', 'resourceVersion', 'uid'] as const) {
      const v = obj.metadata[f] as unknown;
      if (v !== undefined && v !== null && typeof v !== 'string') throw badRequest(`metadata.${f}: Invalid value: must be a string, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      if (v === null) delete obj.metadata[f];
    }
    if (!this.def.namespaced) delete obj.metadata.namespace; // kube clears it for cluster-scoped kinds
    else {
      if (obj.metadata.namespace && obj.metadata.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      obj.metadata.namespace = ns;
    }
    if (urlName !== undefined && obj.metadata.name !== urlName) {
      if (!obj.metadata.name) obj.metadata.name = urlName;
      else throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${urlName})`);
    }
    return obj;
  }

  private pruneAndReport(obj: KubeObject, ctx: WriteContext): void {
    const unknown = pruneUnknownFields(this.def, obj);
    const msgs = [...(ctx.duplicateFields ?? []).map((f) => `duplicate field "${f}"`), ...unknown.map((f) => `unknown field "${f}"`)];
    ctx.duplicateFields = undefined; // reported once, even when a patch is retried
    if (msgs.length === 0 || ctx.fieldValidation === 'Ignore') return;
    if (ctx.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${msgs.join(', ')}`);
    ctx.warnings.push(...msgs);
  }

  /**
   * kube's order: defaults → mutating admission → the strategy's PrepareForCreate/Update (system
   * fields, generation, status kept apart), so a webhook can neither see nor set what those own →
   * schema, ObjectMeta and the kind's own rules (every problem at once) → validating admission.
   * Returns the object to store.
   */
  private async admit(obj: KubeObject, old: KubeObject | undefined, ctx: WriteContext, op: Operation, prepare: (o: KubeObject) => KubeObject, subresource?: string): Promise<KubeObject> {
    if (ctx.admission) {
      defaultAndValidate(this.def, obj); // defaults only: the errors are judged after mutation
      const mutated = await ctx.admission.mutate(this.attributes(op, obj, old, ctx, subresource));
      if (mutated && mutated !== obj) {
        const problem = nestingProblem(mutated);
        if (problem) throw new StatusError(422, 'Invalid', `${qualifiedKind(this.def)} "${obj.metadata.name ?? ''}" is invalid: a mutating webhook's patch makes the object: ${problem}`);
        obj = mutated;
        pruneUnknownFields(this.def, obj); // a webhook cannot add fields the schema does not know
      }
    }
    obj = prepare(obj);
    const errors: FieldError[] = [...validateObjectMeta(obj, this.def.nameRule), ...defaultAndValidate(this.def, obj)];
    if (old) {
      for (const f of ['uid', 'name', 'namespace'] as const)
        if (obj.metadata[f] && obj.metadata[f] !== old.metadata[f]) errors.push({ type: 'FieldValueInvalid', field: `metadata.${f}`, value: obj.metadata[f], message: 'field is immutable' });
      if (old.metadata.deletionTimestamp && Array.isArray(obj.metadata.finalizers)) {
        const before = Array.isArray(old.metadata.finalizers) ? old.metadata.finalizers : [];
        const added = obj.metadata.finalizers.filter((f) => !before.includes(f));
        if (added.length)
          errors.push({ type: 'FieldValueForbidden', field: 'metadata.finalizers', message: `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}` });
      }
    }
    if (errors.length === 0) errors.push(...this.def.validate(obj, old));
    if (errors.length) {
      // A built-in kind's create or update body is decoded into its Go type first: a wrong type is kube's 400.
      const wrongType = ctx.typedBody && this.def.defaultTypeMeta ? errors.find((e) => e.type === 'FieldValueTypeInvalid') : undefined;
      const decode = wrongType && typedDecodeMessage(this.def.kind, this.def.version, this.def.schema, wrongType.field, String(wrongType.value));
      if (decode) throw badRequest(decode);
      throw invalid(this.def.group, this.def.kind, obj.metadata.name ?? obj.metadata.generateName ?? '', errors);
    }
    if (ctx.admission) await ctx.admission.validate(this.attributes(op, obj, old, ctx, subresource));
    ctx.warnings.push(...this.def.warnings(obj));
    return obj;
  }

  private attributes(op: Operation, obj: KubeObject | undefined, old: KubeObject | undefined, ctx: WriteContext, subresource?: string) {
    const meta = (obj ?? old)!.metadata;
    return {
      operation: op,
      kind: { group: this.def.group, version: this.def.version, kind: this.def.kind },
      resource: { group: this.def.group, version: this.def.version, resource: this.def.plural },
      ...(subresource ? { subResource: subresource } : {}),
      name: meta.name ?? '',
      namespace: meta.namespace ?? '',
      object: obj,
      oldObject: old,
      userInfo: ctx.user ?? { name: 'system:anonymous', groups: ['system:unauthenticated'] },
      dryRun: ctx.dryRun,
      warnings: ctx.warnings,
      options: {
        kind: op === 'CREATE' ? 'CreateOptions' : op === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions',
        apiVersion: 'meta.k8s.io/v1',
        ...(ctx.dryRun ? { dryRun: ['All'] } : {}),
        ...(op === 'DELETE' ? {} : { fieldManager: ctx.fieldManager, fieldValidation: ctx.fieldValidation }),
      },
    };
  }

  async create(ns: string, body: unknown, ctx: WriteContext): Promise<KubeObject> {
    ctx = { ...ctx, typedBody: true, warnings: ctx.warnings };
    const obj = this.checkBody(this.withTypeMeta(body), ns);
    this.pruneAndReport(obj, ctx);
    const generated = !obj.metadata.name && !!obj.metadata.generateName;
    const admitted = await this.admit(obj, undefined, ctx, 'CREATE', (o) => this.prepareForCreate(o));
    let stored = recordUpdate(undefined, admitted, this.fieldOptions(ctx.fieldManager));
    let bytes = this.encode(stored); // before a dry run returns too: it must refuse what the write would
    if (ctx.dryRun) {
      // kube's dry run reaches storage's existence check: a taken name is 409 there too.
      if (await this.storage.get(this.key(ns, stored.metadata.name!))) throw alreadyExists(this.ref, stored.metadata.name!);
      return stored;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const kv = await this.storage.create(this.key(ns, stored.metadata.name!), bytes);
        stored.metadata.resourceVersion = String(kv.modRevision); // what decode(kv) would give, without parsing it back
        return stored;
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
        // kube retries a generated name a few times before giving up.
        if (!generated || attempt >= 7) throw alreadyExists(this.ref, stored.metadata.name!);
        stored = { ...stored, metadata: { ...stored.metadata, name: generatedName(stored.metadata.generateName!) } };
        bytes = this.encode(stored);
      }
    }
  }

  private prepareForCreate(obj: KubeObject): KubeObject {
    const m = obj.metadata;
    if (!m.name && m.generateName) m.name = generatedName(m.generateName);
    m.uid = randomUUID();
    m.creationTimestamp = rfc3339();
    if (this.def.generation !== false) m.generation = 1;
    else delete m.generation;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    // With a status subresource, status is written there only (kube's status strategy).
    if (this.def.hasStatus !== false) delete obj.status;
    this.def.prepareForCreate?.(obj);
    return obj;
  }

  private fieldOptions(manager: string, subresource?: string) {
    return { schema: this.def.schema, apiVersion: this.apiVersion, kind: this.def.kind, now: rfc3339(), manager, ...(subresource ? { subresource } : {}) };
  }

  /**
   * Carries the parts a request may not change over from the stored object: status for the main
   * resource, everything but status for /status; system metadata always. Bumps generation on a spec change.
   */
  private prepareForUpdate(obj: KubeObject, old: KubeObject, subresource?: 'status'): KubeObject {
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...cloneJSON(old), status: obj.status };
      if (next.status === undefined) delete next.status;
      next.metadata.managedFields = obj.metadata.managedFields ?? old.metadata.managedFields;
    } else {
      next = obj;
      if (this.def.hasStatus === false) {
        // no status subresource: status is just another field of the object
      } else if (old.status !== undefined) next.status = old.status;
      else delete next.status;
    }
    const m = next.metadata;
    const o = old.metadata;
    m.uid ||= o.uid;
    m.creationTimestamp = o.creationTimestamp;
    m.generation = o.generation;
    if (o.deletionTimestamp) {
      m.deletionTimestamp = o.deletionTimestamp;
      m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    delete m.selfLink;
    // The kind's own rules first (what they carry over or default is no change of the spec), then
    // the generation, as kube's PrepareForUpdate compares the defaulted spec with the stored one.
    this.def.prepareForUpdate?.(next, old, subresource);
    if (this.def.generation === false) delete m.generation;
    else if (subresource !== 'status' && (!jsonEqual(specOf(next), specOf(old)) || (this.def.annotationsBumpGeneration && !jsonEqual(m.annotations ?? {}, o.annotations ?? {})))) m.generation = (o.generation ?? 0) + 1;
    return next;
  }

  /**
   * Read-modify-write with compare-and-swap, retried on a conflict unless the caller pinned a
   * resourceVersion (then a conflict is the caller's answer). `mutate` returns the object to store.
   */
  private async guaranteedUpdate(
    ns: string,
    name: string,
    ctx: WriteContext,
    mutate: (current: KubeObject | undefined) => Promise<{ next: KubeObject; pinned: boolean }>,
  ): Promise<{ object: KubeObject; created: boolean }> {
    const key = this.key(ns, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.storage.get(key);
      const current = kv ? this.decode(kv) : undefined;
      const { next, pinned } = await mutate(current);
      if (!current) {
        // Only server-side apply creates through PATCH.
        const bytes = this.encode(next);
        if (ctx.dryRun) return { object: next, created: true };
        try {
          return { object: this.decode(await this.storage.create(key, bytes)), created: true };
        } catch (e) {
          if (e instanceof AlreadyExistsError && attempt < MAX_CAS_RETRIES) continue;
          throw e;
        }
      }
      if (pinned && next.metadata.resourceVersion !== current.metadata.resourceVersion) throw conflict(this.ref, name);
      // The finalizers are gone from an object being deleted: the update completes the deletion.
      const finishDelete = !!next.metadata.deletionTimestamp && !(next.metadata.finalizers?.length) && !this.def.deletion?.holds(next);
      if (!finishDelete && jsonEqual(withoutVolatile(next), withoutVolatile(current))) return { object: current, created: false };
      const bytes = finishDelete ? undefined : this.encode(next);
      if (ctx.dryRun) return { object: next, created: false };
      try {
        if (!bytes) {
          await this.storage.delete(key, kv!.modRevision);
          return { object: next, created: false };
        }
        return { object: this.decode(await this.storage.update(key, bytes, kv!.modRevision)), created: false };
      } catch (e) {
        if (e instanceof ConflictError || e instanceof NotFoundError) {
          if (pinned) throw conflict(this.ref, name);
          if (attempt < MAX_CAS_RETRIES) continue;
          throw conflict(this.ref, name);
        }
        throw e;
      }
    }
  }

  /**
   * A system write from inside the server (no admission, no strategy, no managedFields entry): what
   * kube's controllers do through dedicated subresources, such as a Namespace's /finalize. Completes a
   * held deletion when `change` releases the last hold.
   */
  async systemUpdate(ns: string, name: string, change: (obj: KubeObject) => void): Promise<KubeObject> {
    const ctx: WriteContext = { dryRun: false, fieldManager: 'system', fieldValidation: 'Ignore', warnings: [] };
    const { object } = await this.guaranteedUpdate(ns, name, ctx, async (current) => {
      if (!current) throw notFound(this.ref, name);
      const next = cloneJSON(current);
      change(next);
      return { next, pinned: false };
    });
    return object;
  }

  /** PUT of the object or its /status. */
  async update(ns: string, name: string, body: unknown, ctx: WriteContext, subresource?: 'status'): Promise<KubeObject> {
    ctx = { ...ctx, typedBody: true, warnings: ctx.warnings };
    const obj = this.checkBody(this.withTypeMeta(body), ns, name);
    this.pruneAndReport(obj, ctx);
    const pinned = !!obj.metadata.resourceVersion;
    if (!pinned && !this.def.unconditionalUpdate) {
      throw invalid(this.def.group, this.def.kind, name, [{ type: 'FieldValueInvalid', field: 'metadata.resourceVersion', value: 0, message: 'must be specified for an update' }]);
    }
    const { object } = await this.guaranteedUpdate(ns, name, ctx, async (current) => {
      if (!current) throw notFound(this.ref, name);
      return { next: await this.updatePipeline(cloneJSON(obj), current, ctx, subresource), pinned };
    });
    return object;
  }

  /** `recordAs` names the subresource the managedFields entry records when it is not `subresource` (a /scale write changes the main resource's spec). */
  private async updatePipeline(obj: KubeObject, current: KubeObject, ctx: WriteContext, subresource?: 'status', recordAs: string | undefined = subresource): Promise<KubeObject> {
    const rv = obj.metadata.resourceVersion;
    const next = await this.admit(obj, current, ctx, 'UPDATE', (o) => this.prepareForUpdate(o, current, subresource), recordAs);
    const recorded = recordUpdate(current, next, this.fieldOptions(ctx.fieldManager, recordAs));
    recorded.metadata.resourceVersion = rv;
    return recorded;
  }

  async patch(ns: string, name: string, type: PatchType, body: unknown, ctx: WriteContext, o: { force?: boolean; subresource?: 'status' } = {}): Promise<{ object: KubeObject; created: boolean }> {
    // kube serves strategic merge patch for built-in kinds only (their schemas carry the merge keys).
    if (type === 'strategic' && !this.def.strategicMergePatch) throw unsupportedMediaType('application/strategic-merge-patch+json', PATCH_TYPES);
    if (type === 'apply') return this.applyPatch(ns, name, body, ctx, o);
    return this.guaranteedUpdate(ns, name, ctx, async (current) => {
      if (!current) throw notFound(this.ref, name);
      const patched = applyPatchDocument(type, current, body, this.def.schema);
      const obj = this.checkBody(patched, ns, name);
      // A patch may pin the resourceVersion (optimistic concurrency); otherwise it applies to the latest.
      const pinned = !!obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion;
      if (!pinned) obj.metadata.resourceVersion = current.metadata.resourceVersion;
      this.pruneAndReport(obj, ctx);
      return { next: await this.updatePipeline(obj, current, ctx, o.subresource), pinned };
    });
  }

  private async applyPatch(ns: string, name: string, body: unknown, ctx: WriteContext, o: { force?: boolean; subresource?: 'status' }) {
    const applied = this.checkBody(body, ns, name);
    if (!applied.metadata.name) applied.metadata.name = name;
    this.pruneAndReport(applied, ctx);
    const opts = { ...this.fieldOptions(ctx.fieldManager, o.subresource), force: !!o.force };
    return this.guaranteedUpdate(ns, name, ctx, async (current) => {
      let merged: KubeObject;
      try {
        merged = applyFields(current, cloneJSON(applied), opts);
      } catch (e) {
        if (e instanceof ApplyConflictError) throw applyConflict(this.ref, name, e);
        if (e instanceof ApplyBadRequestError) throw badRequest(e.message);
        throw e;
      }
      if (!current) {
        if (o.subresource) throw notFound(this.ref, name);
        const managed = merged.metadata.managedFields;
        const prepare = (o: KubeObject) => {
          this.prepareForCreate(o);
          o.metadata.managedFields = managed; // what apply recorded, not the body's
          return o;
        };
        return { next: await this.admit(merged, undefined, ctx, 'CREATE', prepare), pinned: false };
      }
      const pinned = !!applied.metadata.resourceVersion;
      merged.metadata.resourceVersion = pinned ? applied.metadata.resourceVersion : current.metadata.resourceVersion;
      const next = await this.admit(merged, current, ctx, 'UPDATE', (x) => this.prepareForUpdate(x, current, o.subresource), o.subresource);
      next.metadata.resourceVersion = merged.metadata.resourceVersion;
      return { next, pinned };
    });
  }

  // ---- the scale subresource ----

  /** The object's autoscaling/v1 Scale, read through the kind's replica paths. */
  scaleOf(obj: KubeObject): KubeObject {
    const sc = this.def.scale!;
    const m = obj.metadata;
    const selector = sc.labelSelectorPath ? scaleSelector(valueAt(obj, sc.labelSelectorPath)) : undefined;
    return {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
      spec: { replicas: Number(valueAt(obj, sc.specReplicasPath) ?? 0) },
      status: { replicas: Number(valueAt(obj, sc.statusReplicasPath) ?? 0), ...(typeof selector === 'string' ? { selector } : {}) },
    };
  }

  async getScale(ns: string, name: string): Promise<KubeObject> {
    return this.scaleOf(await this.get(ns, name));
  }

  /**
   * PUT or PATCH of /scale: the change is made to the Scale, and its spec.replicas written to the
   * object's replica path (a resourceVersion in the Scale is a precondition, as in kube).
   */
  async writeScale(ns: string, name: string, ctx: WriteContext, change: (scale: KubeObject) => unknown): Promise<KubeObject> {
    const sc = this.def.scale!;
    const { object } = await this.guaranteedUpdate(ns, name, ctx, async (current) => {
      if (!current) throw notFound(this.ref, name);
      const scale = change(this.scaleOf(current)) as KubeObject;
      if (!scale || typeof scale !== 'object' || (scale as { kind?: unknown }).kind !== 'Scale') throw badRequest('the body must be an autoscaling/v1 Scale');
      const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
      if (!Number.isSafeInteger(replicas) || (replicas as number) < 0 || (replicas as number) > 2 ** 31 - 1)
        throw invalid('autoscaling', 'Scale', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', value: replicas, message: 'must be greater than or equal to 0' }]);
      const next = cloneJSON(current);
      const pinned = typeof scale.metadata?.resourceVersion === 'string' && scale.metadata.resourceVersion !== '';
      if (pinned) next.metadata.resourceVersion = scale.metadata!.resourceVersion;
      setValueAt(next, sc.specReplicasPath, replicas);
      return { next: await this.updatePipeline(next, current, ctx, undefined, 'scale'), pinned };
    });
    return this.scaleOf(object);
  }

  async delete(ns: string, name: string, opts: DeleteOptions, ctx: WriteContext): Promise<{ object: KubeObject; deleted: boolean }> {
    checkPropagationPolicy(opts.propagationPolicy);
    const key = this.key(ns, name);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const kv = await this.storage.get(key);
      if (!kv) throw notFound(this.ref, name);
      const current = this.decode(kv);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== current.metadata.uid)
        throw conflict(this.ref, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
        throw conflict(this.ref, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
      if (ctx.admission) {
        const a = this.attributes('DELETE', undefined, current, ctx);
        await ctx.admission.mutate(a); // kube calls mutating webhooks on DELETE too; nothing to mutate
        await ctx.admission.validate(a);
      }
      try {
        const finalizers = finalizersFor(current.metadata.finalizers ?? [], opts);
        const held = this.def.deletion?.holds(current) ?? false;
        if (finalizers.length || held) {
          // Finalizers hold the object: mark it, and the last finalizer removed completes the delete.
          // The garbage collector owns orphan and foregroundDeletion, which the policy asks for.
          const same = finalizers.length === (current.metadata.finalizers ?? []).length && finalizers.every((f, i) => f === current.metadata.finalizers![i]);
          if (current.metadata.deletionTimestamp && same) return { object: current, deleted: false };
          const next = cloneJSON(current);
          if (finalizers.length) next.metadata.finalizers = finalizers;
          this.def.deletion?.terminating?.(next);
          next.metadata.deletionTimestamp ??= rfc3339();
          next.metadata.deletionGracePeriodSeconds ??= 0;
          if (ctx.dryRun) return { object: next, deleted: false };
          return { object: this.decode(await this.storage.update(key, this.encode(next), kv.modRevision)), deleted: false };
        }
        if (ctx.dryRun) return { object: current, deleted: true };
        const gone = await this.storage.delete(key, kv.modRevision);
        const object = this.decode(gone);
        return { object, deleted: true };
      } catch (e) {
        if (e instanceof ConflictError || e instanceof NotFoundError) continue;
        throw e;
      }
    }
    throw conflict(this.ref, name);
  }

  async deleteCollection(ns: string | undefined, q: ListQuery, opts: DeleteOptions, ctx: WriteContext): Promise<KubeList> {
    checkPropagationPolicy(opts.propagationPolicy);
    const list = await this.list(ns, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
    const items: KubeObject[] = [];
    for (const item of list.items) {
      try {
        items.push((await this.delete(item.metadata.namespace!, item.metadata.name!, { propagationPolicy: opts.propagationPolicy, orphanDependents: opts.orphanDependents }, ctx)).object);
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) continue; // deleted meanwhile
        throw e;
      }
    }
    return { ...list, items };
  }
}

/** `GitRepository.gitops.toolkit`, `ConfigMap` for the core group: how kube names a kind in messages. */
const qualifiedKind = (def: ResourceDefinition) => (def.group ? `${def.kind}.${def.group}` : def.kind);

/**
 * A JSON, merge or strategic merge patch applied to `target` (a stored object, or a Scale), with
 * kube's answers to a bad one: 413 for too many operations, 422 for the rest, and for a result that
 * nests too deep (a JSON patch can nest what it copies into itself; nothing recursive may see that).
 */
export function applyPatchDocument(type: 'json' | 'merge' | 'strategic', target: unknown, body: unknown, schema?: ResourceDefinition['schema']): unknown {
  let patched: unknown;
  try {
    patched = type === 'json' ? jsonPatch(target, body) : type === 'strategic' && schema ? strategicMergePatch(target, body, schema) : mergePatch(target, body);
  } catch (e) {
    if (e instanceof PatchTooLargeError) throw requestEntityTooLarge(e.message);
    if (e instanceof PatchError) throw patchRejected(e.message);
    throw e;
  }
  const problem = nestingProblem(patched);
  if (problem) throw patchRejected(`the patched object ${problem}`);
  return patched;
}

const patchRejected = (why: string) => new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${why}`);

/** A value for a message: strings as they are, anything else as the start of its JSON (bodies are depth-checked). */
const preview = (v: unknown) => (typeof v === 'string' ? v : String(JSON.stringify(v))).slice(0, 200);

/** kube's SimpleNameGenerator: the prefix is cut to 58 characters so the name fits in 63. */
const generatedName = (prefix: string) => `${prefix.slice(0, 58)}${generateNameSuffix()}`;

/** A URL name that can never be an object's (kube's path-segment rule plus the name rule). */
export function checkURLName(name: string): void {
  if (name === '.' || name === '..' || name.includes('/') || name.includes('%')) throw badRequest(`invalid name "${name}": may not be '.', '..', or contain '/' or '%'`);
}

export function checkURLNamespace(ns: string): void {
  const errs = namespaceErrors(ns);
  if (errs.length) throw badRequest(`invalid namespace "${ns}": ${errs[0]}`);
}

export { nameErrors };

/** The garbage collector's finalizers, which a delete's propagation policy asks for (kube's names). */
export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/**
 * kube's deletionFinalizersForGarbageCollection: Orphan adds `orphan`, Foreground adds
 * `foregroundDeletion`, Background removes both; unset keeps what the object has (orphanDependents,
 * deprecated, means Orphan).
 */
function finalizersFor(current: string[], opts: DeleteOptions): string[] {
  const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : undefined);
  if (!policy) return current;
  const rest = current.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (policy === 'Orphan') return [...rest, ORPHAN_FINALIZER];
  if (policy === 'Foreground') return [...rest, FOREGROUND_FINALIZER];
  return rest;
}

function checkPropagationPolicy(p: string | undefined): void {
  if (p !== undefined && !['Orphan', 'Background', 'Foreground'].includes(p))
    throw invalid('meta.k8s.io', 'DeleteOptions', '', [{ type: 'FieldValueNotSupported', field: 'propagationPolicy', value: p, message: 'supported values: "Foreground", "Background", "Orphan"' }]);
}

function applyConflict(ref: { group: string; resource: string }, name: string, e: ApplyConflictError): StatusError {
  return new StatusError(409, 'Conflict', e.message, { name, group: ref.group, kind: ref.resource, causes: e.causes });
}

const specOf = (o: KubeObject) => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
};

/** What changes on every write without meaning anything: ignored when deciding whether to write. */
function withoutVolatile(o: KubeObject): KubeObject {
  const { resourceVersion: _rv, managedFields, ...metadata } = o.metadata;
  return { ...o, metadata: { ...metadata, managedFields: managedFields?.map(({ time: _t, ...e }) => e) } as KubeObject['metadata'] };
}

/** The value at a simple JSONPath such as `.spec.replicas` (what CRD scale paths are). */
/**
 * A Scale's status.selector: the string a CRD's labelSelectorPath names, or the metav1.LabelSelector a
 * built-in kind's path names (spec.selector) in its string form, as kube's Deployment, ReplicaSet and
 * StatefulSet registries write it. Nothing for anything else (a selector kube could not parse).
 */
function scaleSelector(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  try {
    return formatLabelSelector(labelSelectorFromObject(v));
  } catch (e) {
    if (e instanceof SelectorError) return undefined;
    throw e;
  }
}

function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const seg of path.replace(/^\./, '').split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Own properties only, defined as data: a path can never reach or replace a prototype. */
function setValueAt(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.replace(/^\./, '').split('.');
  const define = (o: Record<string, unknown>, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  let cur = obj;
  for (const seg of segs.slice(0, -1)) {
    const next = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
    if (next === null || typeof next !== 'object' || Array.isArray(next)) define(cur, seg, {});
    cur = cur[seg] as Record<string, unknown>;
  }
  define(cur, segs[segs.length - 1], value);
}

/** Revisions are int64 in storage (SQLite's INTEGER, etcd's int64). */
const MAX_REVISION = 2n ** 63n - 1n;

function parseRevision(rv: string): Revision {
  if (!/^[0-9]+$/.test(rv)) throw badRequest(`Invalid value: "${rv.slice(0, 100)}": resourceVersion must be a decimal number`);
  const n = BigInt(rv);
  if (n > MAX_REVISION) throw badRequest(`Invalid value: "${rv.slice(0, 100)}": resourceVersion is out of range`);
  return n;
}

function tooLargeResourceVersion(requested: Revision, current: Revision): StatusError {
  return new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

// kube's continue token: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key after prefix>"}.
function encodeContinue(rv: Revision, lastKeySuffix: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(rv), start: `${lastKeySuffix}\u0000` })).toString('base64url');
}

function decodeContinue(token: string): { rv: Revision; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; rv?: number; start?: string };
    if (t.v !== 'meta.k8s.io/v1' || !Number.isSafeInteger(t.rv) || typeof t.start !== 'string' || !t.start.endsWith('\u0000')) throw new Error('bad token');
    if (t.start.includes('..') || t.start.startsWith('/')) throw new Error('bad token');
    return { rv: BigInt(t.rv as number), start: t.start.slice(0, -1) };
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}
