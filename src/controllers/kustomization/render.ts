// From a Kustomization to the objects it applies: its source's artifact, read from our own artifact
// store (never over HTTP to ourselves) with its digest verified, unpacked into a private directory with
// the archive reader's refusals and size bounds, built with kustomize, variables substituted, and every
// object stamped with the owner labels. Shared by the reconciler and the `build` and `diff` views.

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../../apis/meta/types.js';
import { GROUP, VERSION } from '../../apis/v1/common.js';
import { SOURCE_KINDS, type KustomizationSpec, type SubstituteReference } from '../../apis/v1/kustomization.js';
import { buildKustomization, BuildError, collectVars, type FetchedSource, type KubeManifest } from '../../apply/build/index.js';
import { ownerLabels } from '../../apply/inventory/index.js';
import { isOwnArtifact, type ArtifactStore } from '../../artifacts/store.js';
import { unpackArtifact, UnpackLimitError } from '../../artifacts/unpack.js';
import type { KubeClient } from '../../kube/client.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import { StatusError } from '../../apis/meta/errors.js';
import { ReconcileError, StallingError, WaitingError } from '../runtime/errors.js';


export interface SourceArtifact {
  path: string;
  digest: string;
  revision: string;
  metadata?: Record<string, string>;
}

export interface RenderDeps {
  stores: ResourceStores;
  artifacts: ArtifactStore;
  /** Where substituteFrom ConfigMaps and Secrets are read (the cluster this server runs against). */
  cluster?: KubeClient;
  /** Private build directories go here. */
  workDir: string;
  /** --no-cross-namespace-refs. */
  noCrossNamespaceRefs?: boolean;
  /** Most bytes an artifact may unpack to. */
  maxUnpackBytes?: number;
  /** Waiting on a source that is not there or not ready is retried after this (Flux's --requeue-dependency). */
  requeueDependencyMs: number;
  kubectl?: string;
  buildTimeoutMs?: number;
}

export interface Rendered {
  source: KubeObject;
  artifact: SourceArtifact;
  objects: KubeObject[];
}

const ks = (obj: KubeObject) => obj.spec as unknown as KustomizationSpec;

export function sourceRefOf(obj: KubeObject): { kind: string; name: string; namespace: string } {
  const ref = ks(obj).sourceRef;
  return { kind: ref.kind, name: ref.name, namespace: ref.namespace || obj.metadata.namespace! };
}

/**
 * What of the spec stops a build before anything is read, for the reconcile and the views alike:
 * spec.decryption (SOPS is not supported yet: building would render still-encrypted manifests), and
 * with --no-cross-namespace-refs a targetNamespace other than the Kustomization's own.
 */
export function checkRenderable(d: Pick<RenderDeps, 'noCrossNamespaceRefs'>, obj: KubeObject): void {
  const spec = ks(obj);
  if (spec.decryption)
    throw new StallingError('spec.decryption (SOPS) is not supported yet by this server: nothing was built or applied; remove spec.decryption or commit the manifests unencrypted', 'DecryptionNotSupported');
  if (d.noCrossNamespaceRefs && spec.targetNamespace && spec.targetNamespace !== obj.metadata.namespace)
    throw new StallingError(
      `cross-namespace references are disabled on this server (--no-cross-namespace-refs): spec.targetNamespace '${spec.targetNamespace}' is not the Kustomization's namespace '${obj.metadata.namespace}'`,
      'AccessDenied',
    );
}

/** The source object and its artifact; a missing or not-ready source is waited for, a forbidden one stalls. */
export async function resolveSource(d: RenderDeps, obj: KubeObject): Promise<{ source: KubeObject; artifact: SourceArtifact }> {
  const ref = sourceRefOf(obj);
  const what = `${ref.kind}/${ref.namespace}/${ref.name}`;
  if (!SOURCE_KINDS.includes(ref.kind)) throw new StallingError(`spec.sourceRef.kind '${ref.kind}' is not a source a Kustomization can build from (one of ${SOURCE_KINDS.join(', ')})`, 'InvalidSourceRef');
  if (d.noCrossNamespaceRefs && ref.namespace !== obj.metadata.namespace)
    throw new StallingError(`cross-namespace references are disabled on this server (--no-cross-namespace-refs): the source ${what} is not in namespace '${obj.metadata.namespace}'`, 'AccessDenied');
  let source: KubeObject;
  try {
    source = await d.stores.forKind(GROUP, VERSION, ref.kind).get(ref.namespace, ref.name);
  } catch (e) {
    if (e instanceof StatusError && e.code === 404) throw new WaitingError(`Source '${what}' not found`, 'ArtifactFailed', d.requeueDependencyMs);
    throw e;
  }
  const artifact = source.status?.artifact as SourceArtifact | undefined;
  if (!artifact?.path || !artifact.digest) throw new WaitingError(`Source '${what}' is not ready: it has no artifact yet`, 'ArtifactFailed', d.requeueDependencyMs);
  if (!isOwnArtifact({ kind: ref.kind, namespace: ref.namespace, name: ref.name }, artifact.path, artifact.digest))
    throw new ReconcileError(`Source '${what}' has a status.artifact that does not name its own stored artifact`, 'ArtifactFailed');
  return { source, artifact };
}

/** Reads one substituteFrom entry in the Kustomization's namespace; undefined when it does not exist. */
async function fetchSubstitute(d: RenderDeps, namespace: string, ref: SubstituteReference): Promise<FetchedSource | undefined> {
  if (!d.cluster) throw new StallingError(`postBuild.substituteFrom needs a cluster to read ${ref.kind} '${ref.name}' from, and this server has none`, 'SubstitutionFailed');
  const o = await d.cluster.getOptional({ apiVersion: 'v1', kind: ref.kind, namespace, name: ref.name });
  return o ? { kind: ref.kind, data: (o as { data?: Record<string, string> }).data } : undefined;
}

/** postBuild.substituteFrom, fetched in list order, merged with postBuild.substitute (Flux's order). */
export async function substitutionVars(d: RenderDeps, obj: KubeObject): Promise<Record<string, string> | undefined> {
  const postBuild = ks(obj).postBuild;
  if (!postBuild?.substituteFrom?.length) return undefined;
  const fetched = new Map<SubstituteReference, FetchedSource | undefined>();
  for (const ref of postBuild.substituteFrom) fetched.set(ref, await fetchSubstitute(d, obj.metadata.namespace!, ref));
  return collectVars(postBuild, (ref) => fetched.get(ref));
}

/** Unpacks the artifact privately, builds it, and labels the objects as this Kustomization's. */
export async function render(d: RenderDeps, obj: KubeObject, resolved: { source: KubeObject; artifact: SourceArtifact }, signal?: AbortSignal): Promise<Rendered> {
  const { artifact } = resolved;
  const file = (await d.artifacts.verifyOnce(artifact.path, artifact.digest)) && (await d.artifacts.open(artifact.path).catch(() => undefined))?.file;
  if (!file)
    throw new ReconcileError(`the artifact of revision '${artifact.revision}' is missing from storage or does not match its digest ${artifact.digest}; its source rebuilds it`, 'ArtifactFailed');
  const dir = await mkdtemp(join(d.workDir, `${obj.metadata.namespace}-${obj.metadata.name}-`));
  try {
    const vars = await substitutionVars(d, obj);
    try {
      await unpackArtifact(file, dir, { maxBytes: d.maxUnpackBytes });
    } catch (e) {
      if (e instanceof UnpackLimitError) throw new StallingError(`artifact of revision '${artifact.revision}': ${e.message}`, 'ArtifactFailed');
      throw new ReconcileError(`unpacking the artifact of revision '${artifact.revision}': ${(e as Error).message}`, 'ArtifactFailed');
    }
    signal?.throwIfAborted();
    const built = await buildKustomization({ root: dir, inPlace: true, spec: ks(obj), vars, kubectl: d.kubectl, timeoutMs: d.buildTimeoutMs });
    const labels = ownerLabels(obj.metadata.name!, obj.metadata.namespace!);
    const objects = built.objects.map((m: KubeManifest) => ({ ...m, metadata: { ...(m.metadata ?? {}), labels: { ...(m.metadata?.labels ?? {}), ...labels } } }) as KubeObject);
    return { ...resolved, objects };
  } catch (e) {
    if (e instanceof BuildError) throw new ReconcileError(e.message, e.reason);
    throw e;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
