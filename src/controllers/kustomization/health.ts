// The wait of a Kustomization: `wait: true` (every applied object) or `healthChecks` (the listed ones,
// of any kind — objects of this API are read from our own stores), judged by kstatus or by
// `healthCheckExprs`, polled until all are Current, one is Failed, or the reconcile's timeout. Progress
// is written while waiting, and a new revision of the source ends the wait for the old one.

import type { KubeObject } from '../../apis/meta/types.js';
import { GROUP, VERSION } from '../../apis/v1/common.js';
import type { KustomizationSpec } from '../../apis/v1/kustomization.js';
import { StatusError } from '../../apis/meta/errors.js';
import { aggregate, healthOf, objectRef, HealthCheckExprError, type HealthCheckExpr, type NamedHealth } from '../../apply/health/index.js';
import { parseApiVersion, UnknownKindError, type KubeClient, type ObjectRef } from '../../kube/client.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import { ReconcileError, StallingError, WaitingError } from '../runtime/errors.js';

export const HEALTHY = 'Healthy';

const refText = (r: ObjectRef) => `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;

export interface HealthWait {
  client: KubeClient;
  stores: ResourceStores;
  refs: ObjectRef[];
  exprs?: HealthCheckExpr[];
  signal: AbortSignal;
  pollMs: number;
  progress(message: string): Promise<void>;
  /** True when the source moved on to another revision: the wait for this one ends. */
  superseded(): Promise<boolean>;
}

/** A kind of this API (read from our own stores, not over HTTP). */
const ours = (stores: ResourceStores, kind: string) => stores.defs.some((d) => d.group === GROUP && d.version === VERSION && d.kind === kind);

/**
 * The object of a health check, or why there is none. A healthChecks entry without apiVersion is the
 * cluster's preferred version of the kind, as the schema documents — a kind of this API, else the first
 * group version discovery lists it in. It used to be taken for gitops.toolkit/v1 always, so
 * `{kind: Deployment, name: web}` failed every reconcile with "kind Deployment is not served in
 * gitops.toolkit/v1". A kind nobody serves (yet) is waited for as not found, saying so, instead of
 * failing the reconcile with an unrelated error.
 */
async function read(w: HealthWait, r: ObjectRef): Promise<{ obj?: KubeObject; why?: string }> {
  let apiVersion = r.apiVersion;
  if (!apiVersion) {
    if (ours(w.stores, r.kind)) apiVersion = `${GROUP}/${VERSION}`;
    else {
      const info = (await w.client.resources({ signal: w.signal })).find((i) => i.kind === r.kind);
      if (!info) return { why: `kind ${r.kind} is not served by the cluster` };
      apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    }
  }
  const { group, version } = parseApiVersion(apiVersion);
  if (group === GROUP && version === VERSION) {
    if (!ours(w.stores, r.kind)) return { why: `kind ${r.kind} is not served in ${GROUP}/${VERSION}` };
    try {
      return { obj: await w.stores.forKind(GROUP, VERSION, r.kind).get(r.namespace ?? '', r.name) };
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return {};
      throw e;
    }
  }
  try {
    return { obj: (await w.client.getOptional({ ...r, apiVersion }, { signal: w.signal })) as KubeObject | undefined };
  } catch (e) {
    if (e instanceof UnknownKindError) return { why: `kind ${r.kind} is not served in ${apiVersion}` };
    throw e;
  }
}

/** The health of one checked object. */
async function check(w: HealthWait, r: ObjectRef): Promise<NamedHealth> {
  const { obj, why } = await read(w, r);
  // Named as the object is (a cluster-scoped one without the namespace the entry was given by default).
  const h = healthOf(obj, { exprs: w.exprs, ref: obj ? objectRef(obj) : refText(r) });
  return why ? { ...h, message: why } : h;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Resolves when every object is Current; throws a ReconcileError naming what is not, at a Failed object or the timeout. */
export async function waitHealthy(w: HealthWait): Promise<string> {
  const started = Date.now();
  let last = '';
  // The statuses of the last complete poll. At the timeout the signal is aborted, so a read then fails
  // (the client is given the signal) and used to leave nothing to report: the timeout message said
  // "the cluster to answer" instead of naming the objects still not ready. The timeout now names
  // what the last poll found pending.
  let known: NamedHealth[] | undefined;
  // Most objects turn healthy within a second of being applied: poll soon at first, then back off to pollMs.
  let delay = Math.min(100, w.pollMs);
  for (;;) {
    let statuses: NamedHealth[] = known ?? [];
    if (!w.signal.aborted) {
      try {
        statuses = await Promise.all(w.refs.map((r) => check(w, r)));
        known = statuses;
      } catch (e) {
        if (e instanceof HealthCheckExprError) throw new StallingError(e.message, 'InvalidHealthCheckExpr');
        if (!w.signal.aborted) throw e;
      }
    }
    const verdict = aggregate(statuses);
    if (statuses.length === w.refs.length && verdict.status === 'Current') return `Health check passed in ${((Date.now() - started) / 1000).toFixed(1)}s`;
    if (verdict.status === 'Failed') throw new ReconcileError(`health check failed after ${((Date.now() - started) / 1000).toFixed(1)}s: ${verdict.message}`, 'HealthCheckFailed');
    if (w.signal.aborted) throw new ReconcileError(`timeout waiting for: ${verdict.pending.map((p) => `[${p.ref} status: '${p.status}'${p.message ? `: ${p.message}` : ''}]`).join(', ') || 'the cluster to answer'}`, 'HealthCheckFailed');
    if (await w.superseded()) throw new WaitingError('a new revision of the source is available: the health check of the previous one is abandoned', 'NewRevision', 0);
    const message = `waiting for ${verdict.pending.length} of ${w.refs.length} object(s) to become ready: ${verdict.message}`;
    if (message !== last) {
      last = message;
      await w.progress(message);
    }
    await sleep(delay, w.signal);
    delay = Math.min(delay * 2, w.pollMs);
  }
}

/** What a Kustomization waits for: `healthChecks`, and with `wait` every applied object. */
export function healthRefs(spec: KustomizationSpec, namespace: string, applied: ObjectRef[]): ObjectRef[] {
  // No apiVersion: resolved when read (see read()).
  const listed = (spec.healthChecks ?? []).map((h) => ({ apiVersion: h.apiVersion ?? '', kind: h.kind, name: h.name, namespace: h.namespace ?? namespace }));
  if (!spec.wait) return listed;
  const seen = new Set(applied.map(refText));
  return [...applied, ...listed.filter((r) => !seen.has(refText(r)))];
}
