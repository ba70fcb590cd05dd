// The cluster's admission webhooks, called for this API's requests. kube-apiserver only proxies to an
// aggregated API, so the ValidatingWebhookConfigurations and MutatingWebhookConfigurations that match
// gitops.toolkit resources are this server's to honour, with kube-apiserver's rules: matching
// (rules, scope, namespaceSelector, objectSelector), AdmissionReview v1 on the wire, failurePolicy,
// timeoutSeconds, sideEffects on dry runs, JSONPatch responses, warnings, reinvocation.

import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { KubeObject, StatusDetails } from '../apis/meta/types.js';
import { badRequest, internalError, StatusError } from '../apis/meta/errors.js';
import type { Logger } from '../observability/logger.js';
import { jsonEqual } from '../registry/meta.js';
import { jsonPatch, PatchError } from '../registry/patch.js';
import { labelSelectorFromObject, matchesLabels, SelectorError, type MetaLabelSelector } from '../registry/selectors/index.js';
import type { Syncable } from '../kube/informer.js';
import { admissionForbidden, namespaceNotFound, READY_TIMEOUT_MS, type Namespace, type NamespaceSource } from './namespace-lifecycle.js';
import type { AdmissionAttributes } from './types.js';

// ---- admissionregistration.k8s.io/v1, the fields read here ----

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface ServiceReference {
  namespace: string;
  name: string;
  path?: string;
  port?: number;
}

export interface WebhookClientConfig {
  url?: string;
  service?: ServiceReference;
  /** base64 of PEM certificates; the system roots when empty. */
  caBundle?: string;
}

export interface ValidatingWebhook {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: MetaLabelSelector;
  objectSelector?: MetaLabelSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  matchConditions?: { name: string; expression: string }[];
}

export interface MutatingWebhook extends ValidatingWebhook {
  reinvocationPolicy?: 'Never' | 'IfNeeded';
}

export interface WebhookConfiguration<W extends ValidatingWebhook> {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string };
  webhooks?: W[];
}

/** Where configurations come from: an Informer in a cluster, anything listable in tests. */
export type ConfigurationSource<W extends ValidatingWebhook> = Syncable & { list(): WebhookConfiguration<W>[] };

/** Maps a service reference to the base URL to dial; TLS still verifies `NAME.NAMESPACE.svc`. */
export type ServiceResolver = (svc: { namespace: string; name: string; port: number }) => string;

export interface WebhookAdmissionOptions {
  /** MutatingAdmissionWebhook; off when unset. */
  mutating?: ConfigurationSource<MutatingWebhook>;
  /** ValidatingAdmissionWebhook; off when unset. */
  validating?: ConfigurationSource<ValidatingWebhook>;
  /** Namespace labels for namespaceSelector. */
  namespaces: NamespaceSource;
  resolveService?: ServiceResolver;
  log?: Logger;
  readyTimeoutMs?: number;
}

// ---- matching ----

const anyOf = (items: string[] | undefined, v: string) => (items ?? []).some((i) => i === '*' || i === v);

/**
 * One rule against a request. This API serves one version per group, so matchPolicy Exact and
 * Equivalent select the same requests.
 */
export function ruleMatches(r: RuleWithOperations, a: Pick<AdmissionAttributes, 'operation' | 'resource' | 'subResource' | 'namespace'>): boolean {
  const scope = r.scope ?? '*';
  if (scope === 'Namespaced' ? !a.namespace : scope === 'Cluster' ? !!a.namespace : scope !== '*') return false;
  return (
    anyOf(r.operations, a.operation) &&
    anyOf(r.apiGroups, a.resource.group) &&
    anyOf(r.apiVersions, a.resource.version) &&
    (r.resources ?? []).some((entry) => {
      const slash = entry.indexOf('/');
      const res = slash < 0 ? entry : entry.slice(0, slash);
      const sub = slash < 0 ? '' : entry.slice(slash + 1);
      return (res === '*' || res === a.resource.resource) && (sub === '*' || sub === (a.subResource ?? ''));
    })
  );
}

/** An unset selector selects everything (the v1 default `{}`). */
/** Admission configuration that no webhook sees (kube's IsExemptAdmissionConfigurationResource), so a broken webhook can always be removed. */
const EXEMPT_RESOURCES = new Set([
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'mutatingadmissionpolicies',
  'mutatingadmissionpolicybindings',
]);

export function isExemptConfigurationResource(a: Pick<AdmissionAttributes, 'resource'>): boolean {
  return a.resource.group === 'admissionregistration.k8s.io' && EXEMPT_RESOURCES.has(a.resource.resource);
}

function selector(s: MetaLabelSelector | undefined, webhook: string) {
  try {
    const sel = labelSelectorFromObject(s ?? {});
    return sel.requirements.length === 0 && !sel.nothing ? undefined : sel;
  } catch (e) {
    if (e instanceof SelectorError) throw internalError(`webhook "${webhook}": invalid selector: ${e.message}`);
    throw e;
  }
}

// ---- the wire ----

/** metav1.CreateOptions / UpdateOptions / DeleteOptions as kube sends them, when the caller gave none. */
function operationOptions(a: AdmissionAttributes): Record<string, unknown> {
  if (a.options) return a.options;
  const kind = a.operation === 'CREATE' ? 'CreateOptions' : a.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions';
  return { kind, apiVersion: 'meta.k8s.io/v1', ...(a.dryRun ? { dryRun: ['All'] } : {}) };
}

/** The AdmissionReview v1 body kube-apiserver posts (empty fields omitted as Go's omitempty does). */
export function admissionReview(uid: string, a: AdmissionAttributes) {
  const u = a.userInfo;
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid,
      kind: a.kind,
      resource: a.resource,
      ...(a.subResource ? { subResource: a.subResource } : {}),
      requestKind: a.kind,
      requestResource: a.resource,
      ...(a.subResource ? { requestSubResource: a.subResource } : {}),
      ...(a.name ? { name: a.name } : {}),
      ...(a.namespace ? { namespace: a.namespace } : {}),
      operation: a.operation,
      userInfo: {
        username: u.name,
        ...(u.uid ? { uid: u.uid } : {}),
        ...(u.groups?.length ? { groups: u.groups } : {}),
        ...(u.extra && Object.keys(u.extra).length ? { extra: u.extra } : {}),
      },
      object: a.object ?? null,
      oldObject: a.oldObject ?? null,
      dryRun: a.dryRun,
      options: operationOptions(a),
    },
  };
}

interface AdmissionResponse {
  uid?: string;
  allowed?: boolean;
  status?: { code?: number; message?: string; reason?: string; details?: StatusDetails };
  patch?: string;
  patchType?: string;
  warnings?: string[];
}

/** A failure to get an answer from a webhook: failurePolicy decides what it means. */
class CallingError extends Error {}

/** kube's rejection: the webhook's own status, never below 400, with a message naming the webhook. */
export function deniedError(webhook: string, st: AdmissionResponse['status'] = {}): StatusError {
  const by = `admission webhook "${webhook}" denied the request`;
  const message = st.message ? `${by}: ${st.message}` : st.reason ? `${by}: ${st.reason}` : `${by} without explanation`;
  return new StatusError(Math.max(st.code ?? 0, 400), st.reason ?? '', message, st.details);
}

function post(url: URL, body: unknown, o: { ca?: string; servername?: string; timeoutMs: number }): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(JSON.stringify(body));
  const where = `Post "${url.href}"`;
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(new CallingError(`failed to call webhook: ${where}: ${e.message}`));
    let req: ReturnType<typeof https.request>;
    try {
      req = https.request(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': payload.length },
        ...(o.ca ? { ca: o.ca } : {}),
        ...(o.servername ? { servername: o.servername } : {}),
      });
    } catch (e) {
      return fail(e as Error);
    }
    // The whole exchange, connect to last byte, within timeoutSeconds (Go's "context deadline exceeded").
    const timer = setTimeout(() => req.destroy(new Error('context deadline exceeded')), o.timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => {
        clearTimeout(timer);
        fail(e);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(payload);
  });
}

function parseResponse(res: { status: number; text: string }, url: URL, uid: string, mutating: boolean): AdmissionResponse {
  let body: { apiVersion?: string; kind?: string; response?: AdmissionResponse; message?: string } | undefined;
  try {
    body = JSON.parse(res.text);
  } catch {
    // handled below
  }
  if (res.status < 200 || res.status > 299) {
    const detail = body?.message ?? res.text.slice(0, 200);
    throw new CallingError(`failed to call webhook: Post "${url.href}": the server responded with status ${res.status}${detail ? `: ${detail}` : ''}`);
  }
  const invalid = (why: string) => new CallingError(`received invalid webhook response: ${why}`);
  if (!body || typeof body !== 'object') throw invalid('the body is not a JSON AdmissionReview');
  const r = body.response;
  if (!r) throw invalid('webhook response was absent');
  if (r.uid !== uid) throw invalid(`expected response.uid="${uid}", got "${r.uid ?? ''}"`);
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview')
    throw invalid(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${body.apiVersion ?? ''}, Kind=${body.kind ?? ''}`);
  if (mutating) {
    if (r.patch && r.patchType == null) throw invalid('webhook returned response.patch but not response.patchType');
    if (!r.patch && r.patchType != null) throw invalid('webhook returned response.patchType but not response.patch');
  } else {
    if (r.patch) throw invalid('validating webhook may not return response.patch');
    if (r.patchType != null) throw invalid('validating webhook may not return response.patchType');
  }
  return r;
}

// ---- dispatch ----

interface Hook<W extends ValidatingWebhook> {
  /** configuration name and index: unique while the configuration lives */
  key: string;
  webhook: W;
}

/** Configurations by name, each one's webhooks in their listed order: kube's calling order. */
function hooksOf<W extends ValidatingWebhook>(configs: WebhookConfiguration<W>[]): Hook<W>[] {
  return [...configs]
    .sort((x, y) => (x.metadata.name < y.metadata.name ? -1 : x.metadata.name > y.metadata.name ? 1 : 0))
    .flatMap((c) => (c.webhooks ?? []).map((webhook, i) => ({ key: `${c.metadata.name}/${i}`, webhook })));
}

export class WebhookAdmission {
  /** The caches this plugin reads. */
  private readonly caches: Syncable[];

  constructor(private readonly o: WebhookAdmissionOptions) {
    this.caches = [o.mutating, o.validating, o.namespaces].filter((c) => c !== undefined);
  }

  start(): void {
    for (const c of this.caches) c.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.caches.map((c) => c.stop()));
  }

  get hasSynced(): boolean {
    return this.caches.every((c) => c.hasSynced);
  }

  private async ready(a: AdmissionAttributes): Promise<void> {
    const ms = this.o.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const synced = await Promise.all(this.caches.map((c) => c.waitForSync(ms)));
    if (!synced.every(Boolean)) throw admissionForbidden(a, 'not yet ready to handle request');
  }

  /** Runs the matching mutating webhooks in order and returns the object they leave. */
  async mutate(a: AdmissionAttributes): Promise<KubeObject | undefined> {
    if (!this.o.mutating || isExemptConfigurationResource(a)) return a.object;
    await this.ready(a);
    const hooks = hooksOf(this.o.mutating.list());
    let object = a.object;
    // Reinvocation as kube does it: a change by one webhook makes every earlier IfNeeded webhook
    // due for one more call, in a second round run only when something changed.
    const due = new Set<string>();
    let invokedSinceChange: string[] = [];
    let changed = false;
    for (const round of [0, 1]) {
      if (round === 1 && (!changed || due.size === 0)) break;
      for (const h of hooks) {
        if (round === 1 && !due.has(h.key)) continue;
        const attrs = { ...a, object };
        if (!(await this.shouldCall(h.webhook, attrs))) continue;
        const next = await this.failurePolicy(h.webhook, () => this.callMutating(h.webhook, attrs));
        if (next !== undefined && !jsonEqual(next, object)) {
          object = next;
          changed = true;
          for (const k of invokedSinceChange) due.add(k);
          invokedSinceChange = [];
        }
        if (h.webhook.reinvocationPolicy === 'IfNeeded') invokedSinceChange.push(h.key);
      }
    }
    return object;
  }

  /** Calls the matching validating webhooks in parallel; the first denial (in calling order) wins. */
  async validate(a: AdmissionAttributes): Promise<void> {
    if (!this.o.validating || isExemptConfigurationResource(a)) return;
    await this.ready(a);
    const hooks: ValidatingWebhook[] = [];
    for (const h of hooksOf(this.o.validating.list())) if (await this.shouldCall(h.webhook, a)) hooks.push(h.webhook);
    const errors = await Promise.all(hooks.map((w) => this.failurePolicy(w, () => this.call(w, a, false)).then(() => undefined, (e: unknown) => e)));
    const first = errors.find((e) => e !== undefined);
    if (first !== undefined) throw first;
  }

  /** kube's ShouldCallHook: selectors first, then rules; a selector's error counts only if a rule matches. */
  private async shouldCall(w: ValidatingWebhook, a: AdmissionAttributes): Promise<boolean> {
    const attempt = async (f: () => Promise<boolean> | boolean): Promise<{ match: boolean; err?: unknown }> => {
      try {
        return { match: await f() };
      } catch (err) {
        return { match: false, err };
      }
    };
    const ns = await attempt(() => this.matchNamespace(w, a));
    if (!ns.match && !ns.err) return false;
    const obj = await attempt(() => {
      const sel = selector(w.objectSelector, w.name);
      return !sel || [a.object, a.oldObject].some((o) => !!o && matchesLabels(sel, o.metadata.labels));
    });
    if (!obj.match && !obj.err) return false;
    if (!(w.rules ?? []).some((r) => ruleMatches(r, a))) return false;
    if (ns.err) throw ns.err;
    if (obj.err) throw obj.err;
    if (w.matchConditions?.length) {
      // There is no CEL engine in this server: the conditions cannot be evaluated, and kube settles
      // an evaluation error by failurePolicy — Ignore skips the webhook, Fail refuses the request.
      if (w.failurePolicy === 'Ignore') return false;
      throw admissionForbidden(a, `webhook "${w.name}" has matchConditions, which this server cannot evaluate (no CEL engine)`);
    }
    return true;
  }

  private async matchNamespace(w: ValidatingWebhook, a: AdmissionAttributes): Promise<boolean> {
    if (!a.namespace) return true;
    const sel = selector(w.namespaceSelector, w.name);
    if (!sel) return true;
    let ns: Namespace | undefined;
    try {
      ns = await this.o.namespaces.lookup(a.namespace);
    } catch (e) {
      throw internalError((e as Error).message);
    }
    if (!ns) throw namespaceNotFound(a.namespace);
    return matchesLabels(sel, ns.metadata.labels);
  }

  /** Call failures are the webhook's failurePolicy's to judge; denials and other errors stand. */
  private async failurePolicy<T>(w: ValidatingWebhook, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (e) {
      if (!(e instanceof CallingError)) throw e;
      const message = `failed calling webhook "${w.name}": ${e.message}`;
      if (w.failurePolicy === 'Ignore') {
        this.o.log?.warn('failed calling webhook, failing open', { webhook: w.name, err: message });
        return undefined;
      }
      throw internalError(message);
    }
  }

  private target(cc: WebhookClientConfig, timeoutSeconds: number): { url: URL; servername?: string } {
    let url: URL;
    let servername: string | undefined;
    try {
      if (cc.service) {
        const { namespace, name, path = '/', port = 443 } = cc.service;
        const base = this.o.resolveService?.({ namespace, name, port }) ?? `https://${name}.${namespace}.svc:${port}`;
        url = new URL(base.replace(/\/+$/, '') + path);
        servername = `${name}.${namespace}.svc`;
      } else if (cc.url) {
        url = new URL(cc.url);
      } else {
        throw new Error('clientConfig has neither url nor service');
      }
    } catch (e) {
      throw new CallingError(`could not get REST client: ${(e as Error).message}`);
    }
    // kube tells the webhook its deadline.
    url.searchParams.set('timeout', `${timeoutSeconds}s`);
    return { url, servername };
  }

  private async call(w: ValidatingWebhook, a: AdmissionAttributes, mutating: boolean): Promise<AdmissionResponse> {
    if (a.dryRun) {
      if (!w.sideEffects) throw new CallingError('Webhook SideEffects is nil');
      // Not a call failure: failurePolicy Ignore does not let a dry run past such a webhook.
      if (w.sideEffects !== 'None' && w.sideEffects !== 'NoneOnDryRun') throw badRequest(`admission webhook "${w.name}" does not support dry run`);
    }
    if (!(w.admissionReviewVersions ?? []).includes('v1')) throw new CallingError('could not create admission objects: webhook does not accept known AdmissionReview versions (v1)');
    const uid = randomUUID();
    const timeoutSeconds = w.timeoutSeconds ?? 10;
    const { url, servername } = this.target(w.clientConfig, timeoutSeconds);
    const ca = w.clientConfig.caBundle ? Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8') : undefined;
    const res = await post(url, admissionReview(uid, a), { ca, servername, timeoutMs: timeoutSeconds * 1000 });
    const r = parseResponse(res, url, uid, mutating);
    if (r.warnings?.length) a.warnings?.push(...r.warnings);
    if (!r.allowed) throw deniedError(w.name, r.status);
    return r;
  }

  private async callMutating(w: MutatingWebhook, a: AdmissionAttributes): Promise<KubeObject | undefined> {
    const r = await this.call(w, a, true);
    if (!r.patch) return a.object;
    let ops: unknown;
    try {
      ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8'));
      if (!Array.isArray(ops)) throw new Error('a JSON patch must be an array');
    } catch (e) {
      throw new CallingError(`received undecodable patch in webhook response: ${(e as Error).message}`);
    }
    if (ops.length === 0) return a.object;
    if (!a.object) throw internalError(`admission webhook "${w.name}" attempted to modify the object, which is not supported for this operation`);
    if (r.patchType !== 'JSONPatch') throw new CallingError(`unsupported patch type "${r.patchType}"`);
    try {
      return jsonPatch(a.object, ops) as KubeObject;
    } catch (e) {
      if (e instanceof PatchError) throw internalError(e.message);
      throw e;
    }
  }
}
