// A Kustomization's read-only views, served by the API server as subresources:
//   build — the objects the source's current artifact renders (with the owner labels the apply adds),
//           as multi-document YAML; Secrets' data and stringData values are redacted;
//   diff  — what a reconcile would change now: every object dry-run against the target cluster
//           (created, configured with the changed fields, unchanged, skipped) and, with prune, the
//           inventory entries that would be deleted.
// Both compute from the stored object on request, within the server's view time and size bounds.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubeObject } from '../../apis/meta/types.js';
import { GROUP } from '../../apis/v1/common.js';
import type { KustomizationSpec, ResourceInventory } from '../../apis/v1/kustomization.js';
import { StatusError } from '../../apis/meta/errors.js';
import { diffAll } from '../../apply/ssa/diff.js';
import { redactSecret } from '../../apply/redact.js';
import { diff as inventoryDiff, inventoryOf, prune } from '../../apply/inventory/index.js';
import type { ArtifactStore } from '../../artifacts/store.js';
import type { Options } from '../../config/options.js';
import type { KubeClient } from '../../kube/client.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import type { SubresourceViews } from '../../apiserver/handlers/views.js';
import { ReconcileError, StallingError, WaitingError } from '../runtime/errors.js';
import { checkRenderable, render, resolveSource, type RenderDeps } from './render.js';
import { TargetClients } from './target.js';

export interface ViewDeps {
  stores: ResourceStores;
  artifacts: ArtifactStore;
  cluster?: KubeClient;
  options: Options;
  dataDir: string;
}

/** A reconcile-step error as the view's answer: the user sees the same message the conditions give. */
function asStatus(e: unknown): never {
  if (e instanceof StallingError || e instanceof WaitingError || e instanceof ReconcileError) {
    const code = e instanceof WaitingError ? 409 : 422;
    throw new StatusError(code, code === 409 ? 'Conflict' : 'Invalid', `${e.reason}: ${e.message}`);
  }
  throw e;
}

export function registerKustomizationViews(views: SubresourceViews, d: ViewDeps): void {
  const workDir = join(d.dataDir, 'kustomize-views');
  const rd: RenderDeps = {
    stores: d.stores,
    artifacts: d.artifacts,
    cluster: d.cluster,
    workDir,
    noCrossNamespaceRefs: d.options.noCrossNamespaceRefs,
    requeueDependencyMs: d.options.requeueDependencyMs,
    maxUnpackBytes: d.options.maxArtifactSize * 4,
    buildTimeoutMs: d.options.kustomizeBuildTimeoutMs,
  };
  const targets = new TargetClients(d.cluster, { requeueMs: d.options.requeueDependencyMs, defaultServiceAccount: d.options.defaultServiceAccount || undefined });
  let ready: Promise<unknown> | undefined;
  const renderNow = async (obj: KubeObject, signal: AbortSignal) => {
    ready ??= mkdir(workDir, { recursive: true });
    await ready;
    try {
      checkRenderable(rd, obj);
      return await render(rd, obj, await resolveSource(rd, obj), signal);
    } catch (e) {
      return asStatus(e);
    }
  };

  views.register(GROUP, 'Kustomization', 'build', async (obj, { signal }) => {
    const { objects } = await renderNow(obj, signal);
    const body = objects.map((o) => yaml.dump(redactSecret(o), { noRefs: true, lineWidth: -1 })).join('---\n');
    return { contentType: 'application/yaml', body };
  });

  views.register(GROUP, 'Kustomization', 'diff', async (obj, { signal }) => {
    const { objects, artifact } = await renderNow(obj, signal);
    let client: KubeClient;
    try {
      client = await targets.clientFor(obj);
    } catch (e) {
      return asStatus(e);
    }
    const spec = obj.spec as unknown as KustomizationSpec;
    const entries = await diffAll(client, objects, { signal, ignore: spec.ignore, force: spec.force });
    const stale = spec.prune ? inventoryDiff(obj.status?.inventory as ResourceInventory | undefined, inventoryOf(entries.flatMap((e) => (e.object ? [e.object as KubeObject] : [])))) : [];
    const pruned = stale.length ? await prune(client, stale, { owner: { name: obj.metadata.name!, namespace: obj.metadata.namespace! }, dryRun: true, signal }) : [];
    for (const r of pruned) entries.push({ ref: r.ref, action: r.action === 'deleted' ? 'pruned' : r.action === 'skipped' ? 'skipped' : 'failed', message: r.reason });
    const body = { apiVersion: `${GROUP}/v1`, kind: 'KustomizationDiff', revision: artifact.revision, entries: entries.map(({ object: _, ...e }) => e) };
    return { contentType: 'application/json', body: JSON.stringify(body, null, 2) };
  });
}
