// Staged server-side apply, after Flux's ssa ResourceManager (ApplyAllStaged / ApplyAll):
//
// 1. cluster definitions (CRDs, Namespaces, ClusterRoles) are applied, then waited for (a CRD until
//    Established, a Namespace until Active; bounded), 2. class-like kinds, 3. the rest.
// Inside a stage every object is first read and applied with a server-side dry run; an object the
// cluster refuses stops the stage before anything of it is written (an ApplyError naming it). An
// object whose dry-run result equals the live object (metadata churn ignored) is `unchanged` and not
// written (its resourceVersion stays); the others are applied with our field manager and force.
//
// Per object, annotations under `kustomize.toolkit.fluxcd.io/` or `gitops.toolkit/`:
//   ssa: Override (default) | Merge (no field-manager takeover: fields other managers own are kept)
//        | IfNotPresent (created when missing, else skipped) | Ignore (skipped);
//   force: enabled — on an immutable-field error the object is deleted and applied again.

import type { Status } from '../../apis/meta/types.js';
import { DEFAULT_FIELD_MANAGER, KubeError, UnknownKindError, type KubeClient, type KubeObject, type ResourceInfo } from '../../kube/client.js';
import { isCRD, isNamespace, sortObjects, stagesOf } from './sort.js';
import { DEFAULT_TAKEOVER, takenOver, takenOverFields, takeoverPatch, type FieldManagerMatch, type FieldSet } from './takeover.js';
import { ignoredPaths, withoutIgnored, type IgnoreRule } from './ignore.js';

export const ANNOTATION_PREFIXES = ['kustomize.toolkit.fluxcd.io/', 'gitops.toolkit/'] as const;

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'skipped';
export type SsaPolicy = 'Override' | 'Merge' | 'IfNotPresent' | 'Ignore';

export interface ChangeSetEntry {
  /** `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object (Flux's form). */
  ref: string;
  action: ApplyAction;
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  /** Set when the object was deleted and created again (immutable field, force). */
  recreated?: boolean;
}

export interface ChangeSet {
  entries: ChangeSetEntry[];
}

export interface ApplyAllOptions {
  /** Field manager (default `gitops-toolkit`). */
  fieldManager?: string;
  /** Recreate every object whose change hits an immutable field (a Kustomization's `spec.force`). */
  force?: boolean;
  /** Bound of the wait for the cluster definitions (default 60 s). */
  waitTimeoutMs?: number;
  /** Poll interval of that wait (default 250 ms). */
  waitIntervalMs?: number;
  /** spec.ignore: paths left alone on objects that exist already (see ignore.ts). */
  ignore?: IgnoreRule[];
  /** Managers whose fields are taken over (default: kubectl's and before-first-apply, as Flux). */
  takeover?: FieldManagerMatch[];
  signal?: AbortSignal;
  /** Dry runs only: nothing is written, deleted or taken over (see previewAll). */
  preview?: boolean;
}

/** An apply that stopped: `ref` names the object, `changeSet` holds what was done before. */
export class ApplyError extends Error {
  constructor(
    message: string,
    readonly ref: string,
    readonly changeSet: ChangeSet,
    readonly reason: 'DryRunFailed' | 'ApplyFailed' | 'UnknownKind' | 'Immutable' | 'RecreateFailed' | 'WaitFailed' | 'TakeoverFailed' | 'Invalid',
    readonly status?: Status,
  ) {
    super(message);
    this.name = 'ApplyError';
  }
}

/** The value of `key` under either prefix (Flux's first), or undefined. */
export function annotationOf(o: KubeObject | undefined, key: string): string | undefined {
  const a = o?.metadata?.annotations;
  if (!a) return undefined;
  for (const p of ANNOTATION_PREFIXES) if (a[p + key] !== undefined) return a[p + key];
  return undefined;
}

/** The object's `ssa` policy (case-insensitive; Override when unset or unknown). */
export function ssaPolicy(o: KubeObject | undefined): SsaPolicy {
  const v = (annotationOf(o, 'ssa') ?? '').toLowerCase();
  return v === 'merge' ? 'Merge' : v === 'ifnotpresent' ? 'IfNotPresent' : v === 'ignore' ? 'Ignore' : 'Override';
}

const forceEnabled = (o: KubeObject | undefined) => (annotationOf(o, 'force') ?? '').toLowerCase() === 'enabled';

export function refOf(kind: string, name: string, namespace?: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** kube's answers to a change of a field that cannot change (Flux's immutable-error test). */
export function isImmutableError(e: unknown): boolean {
  if (!(e instanceof KubeError) || e.code !== 422) return false;
  const texts = [e.message, ...e.causes.map((c) => c.message ?? '')];
  return texts.some((t) => /field is immutable|is immutable|may not change once set|cannot be changed|updates to .* are forbidden|field is not allowed to be changed/i.test(t));
}

const METADATA_CHURN = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid', 'selfLink'];

function normalized(o: KubeObject): unknown {
  const copy = structuredClone(o) as Record<string, unknown>;
  const meta = { ...((copy.metadata as Record<string, unknown>) ?? {}) };
  for (const k of METADATA_CHURN) delete meta[k];
  copy.metadata = meta;
  delete copy.status;
  return copy;
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, (val as Record<string, unknown>)[k]])) : val,
  );
}

/** Whether applying would change the live object: the dry-run result differs beyond metadata churn and status. */
export function hasDrifted(live: KubeObject | undefined, dryRun: KubeObject): boolean {
  if (!live || !dryRun.metadata?.resourceVersion) return true;
  return canonical(normalized(live)) !== canonical(normalized(dryRun));
}

interface Planned {
  obj: KubeObject;
  info: ResourceInfo;
  entry: ChangeSetEntry;
  live?: KubeObject;
  /** The dry-run result (what the object would become). */
  dry?: KubeObject;
  /** Preview only: the kubectl managers whose fields the apply would take over, and those fields. */
  takeover?: string[];
  takenFields?: FieldSet;
}

/** What applying one object would do, without doing it (see previewAll). */
export interface Preview {
  entry: ChangeSetEntry;
  live?: KubeObject;
  dry?: KubeObject;
  /** The kubectl managers whose fields would be taken over: fields of theirs that Git no longer has go. */
  takeover?: string[];
  /** Those fields (FieldsV1). */
  takenFields?: FieldSet;
  /** The object as it would be applied (spec.ignore's paths cut out of an existing one). */
  applied?: KubeObject;
  /** Why the cluster would refuse the object (the apply would stop its stage there). */
  error?: ApplyError;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

const PARALLEL = 8;

/**
 * `fn` over `items`, PARALLEL at a time; the results in order. A failure stops new calls and, once the
 * running ones settled, the first failure in item order is thrown (the same object a sequential loop
 * would name, whichever answered first).
 */
async function inOrder<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: { i: number; e: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && !errors.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (e) {
        errors.push({ i, e });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  if (errors.length) throw errors.sort((a, b) => a.i - b.i)[0]!.e;
  return results;
}

class Applier {
  readonly changeSet: ChangeSet = { entries: [] };
  readonly fieldManager: string;
  readonly waitTimeoutMs: number;
  readonly waitIntervalMs: number;

  constructor(
    readonly client: KubeClient,
    readonly o: ApplyAllOptions,
  ) {
    this.fieldManager = o.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.waitTimeoutMs = o.waitTimeoutMs ?? 60_000;
    this.waitIntervalMs = o.waitIntervalMs ?? 250;
  }

  private fail(message: string, ref: string, reason: ApplyError['reason'], e?: unknown): ApplyError {
    return new ApplyError(message, ref, { entries: [...this.changeSet.entries] }, reason, e instanceof KubeError ? e.status : undefined);
  }

  async plan(obj: KubeObject): Promise<Planned> {
    const kind = obj.kind ?? '';
    const name = obj.metadata?.name ?? '';
    const provisional = refOf(kind || '?', name || '?', obj.metadata?.namespace);
    if (!obj.apiVersion || !kind || !name) throw this.fail(`${provisional}: an object needs apiVersion, kind and metadata.name`, provisional, 'Invalid');
    let info: ResourceInfo;
    try {
      info = await this.client.resourceFor({ apiVersion: obj.apiVersion, kind }, { signal: this.o.signal });
    } catch (e) {
      if (e instanceof UnknownKindError)
        throw this.fail(`${provisional}: unknown kind ${kind} in ${obj.apiVersion} (${e.message}; is its CustomResourceDefinition installed?)`, provisional, 'UnknownKind', e);
      throw e;
    }
    const namespace = info.namespaced ? obj.metadata?.namespace || this.client.namespace : undefined;
    const metadata = { ...obj.metadata, name };
    if (namespace) metadata.namespace = namespace;
    else delete metadata.namespace;
    const o2 = { ...obj, metadata };
    return { obj: o2, info, entry: { ref: refOf(kind, name, namespace), action: 'unchanged', apiVersion: obj.apiVersion, kind, name, ...(namespace ? { namespace } : {}) } };
  }

  private refOfPlanned(p: Planned) {
    return { apiVersion: p.obj.apiVersion!, kind: p.obj.kind!, name: p.entry.name, namespace: p.entry.namespace };
  }

  private objectPath(p: Planned): string {
    const { group, version, resource } = p.info;
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const ns = p.entry.namespace ? `/namespaces/${encodeURIComponent(p.entry.namespace)}` : '';
    return `${base}${ns}/${resource}/${encodeURIComponent(p.entry.name)}`;
  }

  private async dryRun(p: Planned): Promise<KubeObject> {
    return this.client.apply(p.obj, { fieldManager: this.fieldManager, force: true, dryRun: true, signal: this.o.signal });
  }

  /** Deletes the live object and waits until it is gone (bounded). */
  private async recreate(p: Planned): Promise<void> {
    const ref = this.refOfPlanned(p);
    try {
      await this.client.delete(ref, { propagationPolicy: 'Background', signal: this.o.signal });
    } catch (e) {
      if (!(e instanceof KubeError && e.code === 404)) throw this.fail(`${p.entry.ref} immutable field detected, failed to delete object: ${(e as Error).message}`, p.entry.ref, 'RecreateFailed', e);
    }
    const deadline = Date.now() + this.waitTimeoutMs;
    while (await this.client.getOptional(ref, { signal: this.o.signal })) {
      if (Date.now() > deadline) throw this.fail(`${p.entry.ref} immutable field detected, the deleted object is still there after ${this.waitTimeoutMs} ms`, p.entry.ref, 'RecreateFailed');
      await sleep(this.waitIntervalMs, this.o.signal);
    }
    p.live = undefined;
    p.entry.recreated = true;
  }

  /** Dry run, skip rules, recreate and takeover of one object; whether it is to be written. */
  async prepare(p: Planned): Promise<boolean> {
    p.live = await this.client.getOptional(this.refOfPlanned(p), { signal: this.o.signal });
    const ignored = p.live && this.o.ignore?.length ? ignoredPaths(p.obj, this.o.ignore) : [];
    if (ignored.length) p.obj = withoutIgnored(p.obj, ignored);
    const policy = ssaPolicy(p.obj);
    // As Flux: Ignore on the object or the live one; IfNotPresent on the object, once it exists.
    if (policy === 'Ignore' || (p.live && ssaPolicy(p.live) === 'Ignore') || (policy === 'IfNotPresent' && p.live)) {
      p.entry.action = 'skipped';
      return false;
    }
    let dry: KubeObject;
    for (;;) {
      try {
        dry = await this.dryRun(p);
        break;
      } catch (e) {
        if (p.live && isImmutableError(e)) {
          if (this.o.force || forceEnabled(p.obj)) {
            if (this.o.preview) {
              // It would be deleted and created anew: what it becomes is the object as Git has it.
              p.entry.recreated = true;
              p.entry.action = 'configured';
              p.dry = p.obj;
              return false;
            }
            await this.recreate(p);
            continue;
          }
          throw this.fail(
            `${p.entry.ref} immutable field changed: ${(e as Error).message} (set the annotation kustomize.toolkit.fluxcd.io/force: enabled, or force, to recreate it)`,
            p.entry.ref,
            'Immutable',
            e,
          );
        }
        if (e instanceof KubeError && !e.transport && !(e instanceof UnknownKindError))
          throw this.fail(`${p.entry.ref} dry-run failed (${e.reason}): ${e.message}`, p.entry.ref, 'DryRunFailed', e);
        if (e instanceof UnknownKindError) throw this.fail(`${p.entry.ref}: unknown kind ${p.entry.kind} in ${p.entry.apiVersion} (${e.message})`, p.entry.ref, 'UnknownKind', e);
        throw e;
      }
    }
    p.dry = dry;
    let tookOver = false;
    if (p.live && ssaPolicy(p.obj) !== 'Merge') {
      const patch = takeoverPatch(p.live, this.fieldManager, this.o.takeover ?? DEFAULT_TAKEOVER, ignored);
      if (patch.length && this.o.preview) {
        const managers = takenOver(p.live, this.fieldManager, this.o.takeover ?? DEFAULT_TAKEOVER);
        p.takeover = managers.length ? managers : ['kubectl client-side apply (its last-applied-configuration)'];
        p.takenFields = takenOverFields(p.live, this.fieldManager, this.o.takeover ?? DEFAULT_TAKEOVER, ignored);
        tookOver = true;
      } else if (patch.length) {
        try {
          await this.client.request('PATCH', this.objectPath(p), {
            body: patch,
            contentType: 'application/json-patch+json',
            query: { fieldManager: this.fieldManager },
            signal: this.o.signal,
          });
        } catch (e) {
          throw this.fail(`${p.entry.ref} metadata.managedFields takeover failed: ${(e as Error).message}`, p.entry.ref, 'TakeoverFailed', e);
        }
        tookOver = true;
      }
    }
    if (!tookOver && !hasDrifted(p.live, dry)) {
      p.entry.action = 'unchanged';
      return false;
    }
    p.entry.action = p.live ? 'configured' : 'created';
    return true;
  }

  private async write(p: Planned): Promise<void> {
    try {
      await this.client.apply(p.obj, { fieldManager: this.fieldManager, force: true, signal: this.o.signal });
    } catch (e) {
      throw this.fail(`${p.entry.ref} apply failed${e instanceof KubeError ? ` (${e.reason})` : ''}: ${(e as Error).message}`, p.entry.ref, 'ApplyFailed', e);
    }
  }

  /**
   * One stage: every object planned and dry-run before any is written (a refusal stops the stage).
   * Reads, dry runs and writes go out PARALLEL at a time: one after another they made a reconcile of a
   * few objects a dozen round trips long.
   */
  async stage(objects: KubeObject[]): Promise<Planned[]> {
    const planned: Planned[] = [];
    for (const obj of objects) planned.push(await this.plan(obj));
    const write = await inOrder(planned, (p) => this.prepare(p));
    await inOrder(
      planned.filter((_, i) => write[i]),
      (p) => this.write(p),
    );
    this.changeSet.entries.push(...planned.map((p) => p.entry));
    return planned;
  }

  /** Waits until each CRD is Established (and its kind served) and each Namespace Active. */
  async waitForDefinitions(planned: Planned[]): Promise<void> {
    const deadline = Date.now() + this.waitTimeoutMs;
    for (const p of planned) {
      if (!isCRD(p.obj) && !isNamespace(p.obj)) continue;
      for (;;) {
        const live = await this.client.getOptional(this.refOfPlanned(p), { signal: this.o.signal });
        if (live && ready(live)) break;
        if (Date.now() > deadline)
          throw this.fail(`${p.entry.ref} not ${isCRD(p.obj) ? 'Established' : 'Active'} after ${this.waitTimeoutMs} ms${live ? `: ${conditionText(live)}` : ''}`, p.entry.ref, 'WaitFailed');
        await sleep(this.waitIntervalMs, this.o.signal);
      }
    }
    if (planned.some((p) => isCRD(p.obj))) this.client.invalidateDiscovery();
  }
}

function ready(o: KubeObject): boolean {
  const status = (o.status ?? {}) as { phase?: string; conditions?: { type?: string; status?: string }[] };
  if (o.kind === 'Namespace') return status.phase === 'Active';
  return (status.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

function conditionText(o: KubeObject): string {
  const status = (o.status ?? {}) as { phase?: string; conditions?: { type?: string; status?: string; message?: string }[] };
  if (status.phase) return `phase ${status.phase}`;
  return (status.conditions ?? []).map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`).join(', ') || 'no conditions';
}

/**
 * What applyAll would do now, object by object in apply order, changing nothing: the same planning,
 * ssa policies, spec.ignore, dry runs and takeover decisions, with each refusal recorded on its object
 * instead of stopping. Kinds a CRD of the same build would define are not served yet, so they come
 * back refused as unknown.
 */
export async function previewAll(client: KubeClient, objects: KubeObject[], opts: Omit<ApplyAllOptions, 'preview'> = {}): Promise<Preview[]> {
  const a = new Applier(client, { ...opts, preview: true });
  const out: Preview[] = [];
  for (const obj of sortObjects(objects)) {
    opts.signal?.throwIfAborted();
    let p: Planned | undefined;
    try {
      p = await a.plan(obj);
      await a.prepare(p);
      out.push({ entry: p.entry, live: p.live, dry: p.dry, takeover: p.takeover, takenFields: p.takenFields, applied: p.obj });
    } catch (e) {
      if (!(e instanceof ApplyError)) throw e;
      const entry = p?.entry ?? { ref: e.ref, action: 'skipped' as const, apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', name: obj.metadata?.name ?? '' };
      out.push({ entry, live: p?.live, error: e });
    }
  }
  return out;
}

/**
 * Applies `objects` in Flux's stages and order; the change set, one entry per object in apply order.
 * Stops at the first object the cluster refuses, with an ApplyError naming it (its `changeSet` holds
 * the entries of the stages done before).
 */
export async function applyAll(client: KubeClient, objects: KubeObject[], opts: ApplyAllOptions = {}): Promise<ChangeSet> {
  const a = new Applier(client, opts);
  const { definitions, classes, rest } = stagesOf(objects);
  if (definitions.length) {
    const planned = await a.stage(definitions);
    await a.waitForDefinitions(planned);
  }
  if (classes.length) await a.stage(classes);
  if (rest.length) await a.stage(rest);
  return a.changeSet;
}
