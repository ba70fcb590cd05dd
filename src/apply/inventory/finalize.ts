// What happens to the inventory when the Kustomization itself is deleted (`spec.deletionPolicy`, as
// kustomize-controller's finalizer does it):
// - MirrorPrune (the default): delete the objects if `spec.prune` is on, else leave them;
// - Delete: delete them whatever `spec.prune` says;
// - WaitForTermination: delete them, then wait until every deleted object is gone (finalizers run),
//   bounded by a timeout; on timeout the result says what is left and why;
// - Orphan: leave everything.
// Deletion follows `prune`'s rules (owner labels, `prune: disabled`, reverse apply order).

import type { KustomizationSpec, ResourceInventory } from '../../apis/v1/kustomization.js';
import { UnknownKindError, type KubeClient, type KubeObject } from '../../kube/client.js';
import { parseEntry } from './entries.js';
import { prune, type PruneOptions, type PruneResult } from './prune.js';

export type DeletionPolicy = NonNullable<KustomizationSpec['deletionPolicy']>;

export interface FinalizeOptions extends PruneOptions {
  /** `spec.prune` (what MirrorPrune mirrors). */
  prune: boolean;
  /** WaitForTermination: how long to wait for the deleted objects to be gone (default 5 min; Flux uses `spec.timeout`). */
  timeoutMs?: number;
  /** WaitForTermination: polling interval (default 2 s, as Flux). */
  pollMs?: number;
}

export interface FinalizeResult {
  policy: DeletionPolicy;
  /** Whether objects were deleted at all (false: every object was left in place). */
  deleting: boolean;
  /** Per entry, in deletion order (empty when nothing was deleted). */
  results: PruneResult[];
  /** WaitForTermination: true when every deleted object is gone within the timeout. */
  terminated?: boolean;
  /** WaitForTermination: the objects still there at the timeout (`Kind/ns/name`). */
  remaining?: string[];
  /** A one-line account for events and conditions. */
  message: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

export async function finalizeInventory(client: KubeClient, inventory: ResourceInventory | undefined, policy: DeletionPolicy | undefined, opts: FinalizeOptions): Promise<FinalizeResult> {
  const p: DeletionPolicy = policy ?? 'MirrorPrune';
  const entries = inventory?.entries ?? [];
  if (p === 'Orphan' || (p === 'MirrorPrune' && !opts.prune)) {
    const why = p === 'Orphan' ? 'deletionPolicy Orphan' : 'deletionPolicy MirrorPrune with prune disabled';
    return { policy: p, deleting: false, results: [], message: `${entries.length} object(s) left in place (${why})` };
  }
  const results = await prune(client, entries, opts);
  const deleted = results.filter((r) => r.action === 'deleted').length;
  const skipped = results.filter((r) => r.action === 'skipped').length;
  const failed = results.filter((r) => r.action === 'failed');
  let message = `deleted ${deleted}, skipped ${skipped}, failed ${failed.length} of ${entries.length} object(s)`;
  if (failed.length) message += ` (${failed.map((r) => `${r.ref}: ${r.reason}`).join('; ')})`;
  if (p !== 'WaitForTermination' || opts.dryRun) return { policy: p, deleting: true, results, message };

  // Wait for the objects deleted now (or found terminating) to be gone.
  const pending = results.filter((r) => r.action === 'deleted' && r.object && !r.kindGone);
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  const pollMs = opts.pollMs ?? 2_000;
  const until = Date.now() + timeoutMs;
  let left = pending;
  let last = new Map<string, KubeObject>();
  for (;;) {
    const next: PruneResult[] = [];
    last = new Map();
    for (const r of left) {
      const m = parseEntry(r.entry.id);
      try {
        const o = await client.getOptional({ apiVersion: r.apiVersion!, kind: m.kind, name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}) }, { impersonate: opts.impersonate, signal: opts.signal });
        // The same object still there (a recreated one, another uid, is not what we wait for).
        if (o && (!r.object?.metadata?.uid || o.metadata?.uid === r.object.metadata.uid)) {
          next.push(r);
          last.set(r.ref, o);
        }
      } catch (e) {
        // Its kind went away (CRD deleted): nothing of it is left. Other errors: still waiting.
        if (e instanceof UnknownKindError) continue;
        next.push(r);
      }
    }
    left = next;
    if (!left.length) return { policy: p, deleting: true, results, terminated: true, remaining: [], message: `${message}; all deleted objects terminated` };
    if (Date.now() >= until) break;
    await sleep(Math.min(pollMs, Math.max(0, until - Date.now())), opts.signal);
  }
  const remaining = left.map((r) => r.ref);
  const detail = left.map((r) => {
    const fin = last.get(r.ref)?.metadata?.finalizers ?? [];
    return fin.length ? `${r.ref} (finalizers: ${fin.join(', ')})` : r.ref;
  });
  return {
    policy: p,
    deleting: true,
    results,
    terminated: false,
    remaining,
    message: `${message}; timeout after ${timeoutMs / 1000}s waiting for termination of ${remaining.length} object(s): ${detail.join(', ')}`,
  };
}
