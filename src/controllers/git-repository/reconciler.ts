// GitRepository reconciliation as a list of steps, like source-controller's:
// storage (is the current artifact still there?) → source (ask the remote which commit the ref
// means; skip everything else when nothing changed) → include (other sources' artifacts) →
// artifact (fetch, verify, build and store, in a worker thread).

import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { KubeObject } from '../../apis/meta/types.js';
import type { GitRepositorySpec } from '../../apis/v1/git-repository.js';
import { ArtifactStore, isOwnArtifact } from '../../artifacts/store.js';
import type { ArtifactOwner } from '../../artifacts/types.js';
import type { SecretReader } from '../../kube/secrets.js';
import type { Logger } from '../../observability/logger.js';
import type { ResourceStore } from '../../registry/store.js';
import { redactUrl } from '../../sources/git/errors.js';
import { lsRemote, resolveRef } from '../../sources/git/remote.js';
import { GitRemoteError, type GitAuth, type GitProxy, type ResolvedRef } from '../../sources/git/types.js';
import type { ReconcilerDefinition, StepContext } from '../runtime/controller.js';
import { ReconcileError, StallingError, WaitingError } from '../runtime/errors.js';
import type { WorkerPool } from '../runtime/worker-pool.js';
import type { BuildParams, BuildResult } from './build.js';

export const FINALIZER = 'gitops.toolkit/finalizer';
const BUILD = new URL(`./build${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

// Condition types and reasons, as source-controller names them.
const ARTIFACT_IN_STORAGE = 'ArtifactInStorage';
const ARTIFACT_OUTDATED = 'ArtifactOutdated';
const FETCH_FAILED = 'FetchFailed';
const SOURCE_VERIFIED = 'SourceVerified';
const INCLUDE_UNAVAILABLE = 'IncludeUnavailable';
const STORAGE_OPERATION_FAILED = 'StorageOperationFailed';

export interface GitRepositoryDeps {
  store: ResourceStore;
  artifacts: ArtifactStore;
  secrets: SecretReader;
  pool: WorkerPool;
  /** Where fetched Git objects are cached between polls, one bare repository per object. */
  cacheDir: string;
  maxArtifactSize: number;
  /** --max-file-size: the largest object a fetch may bring. */
  maxFileSize: number;
  retention: number;
  /** The artifact URL written into status (the subresource's address). */
  artifactURL(namespace: string, name: string): string;
  /** Includes that are not ready are looked at again after this long. */
  includeRetryMs?: number;
}

interface Artifact {
  path: string;
  url: string;
  revision: string;
  digest: string;
  lastUpdateTime: string;
  size: number;
}

interface Include {
  repository: { name: string };
  fromPath?: string;
  toPath?: string;
}

/** Per-reconcile state the steps hand to each other. */
interface GitState {
  resolved?: ResolvedRef;
  auth?: GitAuth;
  proxy?: GitProxy;
  includes: { path: string; fromPath: string; toPath: string; artifact: Artifact }[];
  upToDate: boolean;
}

const ownerOf = (o: KubeObject): ArtifactOwner => ({ kind: 'GitRepository', namespace: o.metadata.namespace!, name: o.metadata.name! });
const cacheKey = (o: KubeObject) => join(o.metadata.namespace!, o.metadata.name!);

/** spec fields that shape the artifact, recorded in status so a change rebuilds it. */
function observed(spec: GitRepositorySpec): Record<string, unknown> {
  return {
    observedIgnore: spec.ignore,
    observedRecurseSubmodules: spec.recurseSubmodules || undefined,
    observedInclude: spec.include?.length ? spec.include : undefined,
    observedSparseCheckout: spec.sparseCheckout?.length ? spec.sparseCheckout : undefined,
  };
}

type Ctx = StepContext<GitState>;

export function gitRepositoryReconciler(d: GitRepositoryDeps): ReconcilerDefinition<GitState> {

  async function reconcileStorage(ctx: Ctx): Promise<void> {
    const artifact = ctx.status.artifact as Artifact | undefined;
    const owner = ownerOf(ctx.obj);
    if (artifact) {
      const ok = isOwnArtifact(owner, artifact.path, artifact.digest) && (await d.artifacts.verifyOnce(artifact.path, artifact.digest));
      if (!ok) {
        // Lost, corrupt (a restored data dir, a disk fault) or not this object's (a forged status): build it again.
        ctx.log.warn('artifact missing from storage; rebuilding', { path: artifact.path });
        delete ctx.status.artifact;
        ctx.conditions.set({ type: ARTIFACT_IN_STORAGE, status: 'False', reason: 'NoArtifact', message: 'the artifact is missing from storage and will be rebuilt' });
      }
    }
    try {
      await d.artifacts.gc(owner, d.retention);
    } catch (e) {
      throw new ReconcileError(`garbage collection of old artifacts failed: ${(e as Error).message}`, 'GarbageCollectionFailed', STORAGE_OPERATION_FAILED);
    }
  }

  async function authFor(ctx: Ctx, spec: GitRepositorySpec): Promise<GitAuth | undefined> {
    if (!spec.secretRef) return undefined;
    const ns = ctx.obj.metadata.namespace!;
    let data;
    try {
      data = await d.secrets.get(ns, spec.secretRef.name);
    } catch (e) {
      throw new ReconcileError(`failed to get secret '${ns}/${spec.secretRef.name}': ${(e as Error).message}`, 'AuthenticationFailed', FETCH_FAILED);
    }
    if (!data) throw new ReconcileError(`failed to get secret '${ns}/${spec.secretRef.name}': secrets "${spec.secretRef.name}" not found`, 'AuthenticationFailed', FETCH_FAILED);
    const str = (k: string) => data[k]?.toString('utf8');
    return { username: str('username'), password: str('password'), bearerToken: str('bearerToken'), caCert: str('ca.crt') ?? str('caFile') };
  }

  /** Flux's proxy secret: `address` (required), `username`, `password`. */
  async function proxyFor(ctx: Ctx, spec: GitRepositorySpec): Promise<GitProxy | undefined> {
    const name = spec.proxySecretRef?.name;
    if (!name) return undefined;
    const ns = ctx.obj.metadata.namespace!;
    let data;
    try {
      data = await d.secrets.get(ns, name);
    } catch (e) {
      throw new ReconcileError(`failed to get proxy secret '${ns}/${name}': ${(e as Error).message}`, 'AuthenticationFailed', FETCH_FAILED);
    }
    if (!data) throw new ReconcileError(`failed to get proxy secret '${ns}/${name}': secrets "${name}" not found`, 'AuthenticationFailed', FETCH_FAILED);
    const str = (k: string) => data[k]?.toString('utf8');
    const url = str('address');
    if (!url) throw new ReconcileError(`invalid proxy secret '${ns}/${name}': key 'address' is missing`, 'AuthenticationFailed', FETCH_FAILED);
    return { url, username: str('username'), password: str('password') };
  }

  async function reconcileSource(ctx: Ctx): Promise<void> {
    const spec = ctx.obj.spec as unknown as GitRepositorySpec;
    const s = ctx.state;
    if (/^(ssh:\/\/|[\w.-]+@[\w.-]+:)/.test(spec.url)) {
      throw new StallingError(`${redactUrl(spec.url)} is an SSH URL: Git over SSH is not supported yet (this server fetches over HTTP(S) only); use the https:// URL of the repository`, 'UnsupportedURL', FETCH_FAILED);
    }
    const unsupported = unsupportedSettings(spec);
    if (unsupported) throw new StallingError(unsupported, 'UnsupportedSetting', FETCH_FAILED);
    s.auth = await authFor(ctx, spec);
    s.proxy = await proxyFor(ctx, spec);
    try {
      const refs = await lsRemote(spec.url, s.auth, { signal: ctx.signal, proxy: s.proxy });
      s.resolved = resolveRef(refs, spec.ref);
    } catch (e) {
      throw fetchError(e);
    }
    ctx.conditions.delete(FETCH_FAILED);
    ctx.fields.revision = s.resolved.revision;
    const artifact = ctx.status.artifact as Artifact | undefined;
    const sameShape = JSON.stringify(observed(spec)) === JSON.stringify(pick(ctx.status, Object.keys(observed(spec))));
    s.upToDate = !!artifact && artifact.revision === s.resolved.revision && sameShape;
    if (!s.upToDate && artifact) {
      ctx.conditions.set({ type: ARTIFACT_OUTDATED, status: 'True', reason: 'NewRevision', message: `new upstream revision '${s.resolved.revision}'` });
    }
  }

  async function reconcileInclude(ctx: Ctx): Promise<void> {
    const spec = ctx.obj.spec as unknown as GitRepositorySpec;
    const s = ctx.state;
    const includes = (spec.include ?? []) as Include[];
    for (const inc of includes) {
      let other: KubeObject;
      try {
        other = await d.store.get(ctx.obj.metadata.namespace!, inc.repository.name);
      } catch {
        throw includeUnavailable(`could not get GitRepository '${inc.repository.name}' to include`, d);
      }
      const artifact = other.status?.artifact as Artifact | undefined;
      if (!artifact) throw includeUnavailable(`GitRepository '${inc.repository.name}' has no artifact to include yet`, d);
      // A forged status could otherwise pull another namespace's artifact into this one.
      if (!isOwnArtifact(ownerOf(other), artifact.path, artifact.digest)) throw includeUnavailable(`GitRepository '${inc.repository.name}' has a status.artifact that does not name its own artifact`, d);
      s.includes.push({ path: artifact.path, fromPath: inc.fromPath ?? '', toPath: inc.toPath ?? inc.repository.name, artifact });
    }
    ctx.conditions.delete(INCLUDE_UNAVAILABLE);
    const before = (ctx.status.includedArtifacts as Artifact[] | undefined) ?? [];
    const now = s.includes.map((i) => i.artifact);
    if (s.upToDate && JSON.stringify(before.map((a) => a.digest)) !== JSON.stringify(now.map((a) => a.digest))) s.upToDate = false;
  }

  async function reconcileArtifact(ctx: Ctx): Promise<void> {
    const spec = ctx.obj.spec as unknown as GitRepositorySpec;
    const s = ctx.state;
    const resolved = s.resolved!;
    const message = `stored artifact for revision '${resolved.revision}'`;
    ctx.ready = { reason: 'Succeeded', message };
    if (s.upToDate) return; // the no-change poll: one ls-remote, nothing fetched, nothing written
    const params: BuildParams = {
      url: spec.url,
      resolved,
      auth: s.auth,
      proxy: s.proxy,
      gitDir: join(d.cacheDir, cacheKey(ctx.obj)),
      artifactRoot: d.artifacts.root,
      owner: ownerOf(ctx.obj),
      maxBytes: d.maxArtifactSize,
      maxFileSize: d.maxFileSize,
      ignore: spec.ignore,
      sparse: spec.sparseCheckout,
      recurseSubmodules: spec.recurseSubmodules,
      includes: s.includes.map(({ path, fromPath, toPath }) => ({ path, fromPath, toPath })),
      verify: spec.verify ? { mode: spec.verify.mode ?? 'HEAD', keys: await verificationKeys(ctx, spec) } : undefined,
    };
    let result: BuildResult;
    try {
      result = await d.pool.run<BuildResult>(BUILD, 'buildGitArtifact', params, ctx.signal);
    } catch (e) {
      throw buildError(e, ctx);
    }
    if (spec.verify) {
      ctx.conditions.set({ type: SOURCE_VERIFIED, status: 'True', reason: 'Succeeded', message: result.verified ?? 'verified' });
    } else ctx.conditions.delete(SOURCE_VERIFIED);
    for (const p of result.skipped) ctx.log.info('skipped entry', { path: p.path, why: p.why });
    ctx.status.artifact = {
      path: result.artifact.path,
      url: d.artifactURL(ctx.obj.metadata.namespace!, ctx.obj.metadata.name!),
      revision: resolved.revision,
      digest: result.artifact.digest,
      lastUpdateTime: result.artifact.lastUpdateTime,
      size: result.artifact.size,
    } satisfies Artifact;
    Object.assign(ctx.status, observed(spec));
    for (const [k, v] of Object.entries(observed(spec))) if (v === undefined) delete ctx.status[k];
    if (s.includes.length) ctx.status.includedArtifacts = s.includes.map((i) => i.artifact);
    else delete ctx.status.includedArtifacts;
    ctx.conditions.set({ type: ARTIFACT_IN_STORAGE, status: 'True', reason: 'Succeeded', message });
    ctx.conditions.delete(ARTIFACT_OUTDATED);
    ctx.conditions.delete(STORAGE_OPERATION_FAILED);
    await d.artifacts.gc(ownerOf(ctx.obj), d.retention);
  }

  async function verificationKeys(ctx: Ctx, spec: GitRepositorySpec): Promise<string[]> {
    const ref = spec.verify!.secretRef;
    const data = await d.secrets.get(ctx.obj.metadata.namespace!, ref.name);
    if (!data) {
      ctx.conditions.set({ type: SOURCE_VERIFIED, status: 'False', reason: 'VerificationError', message: `secrets "${ref.name}" not found` });
      throw new ReconcileError(`PGP public keys secret '${ref.name}' not found`, 'VerificationError');
    }
    return Object.values(data).map((v) => v.toString('utf8'));
  }

  return {
    kind: 'GitRepository',
    finalizer: FINALIZER,
    defaultTimeoutMs: 60_000,
    steps: [reconcileStorage, reconcileSource, reconcileInclude, reconcileArtifact],
    newState: () => ({ includes: [], upToDate: false }),
    // Each is set by the step that finds the problem, in the reconcile that finds it.
    negativeConditions: [FETCH_FAILED, INCLUDE_UNAVAILABLE, STORAGE_OPERATION_FAILED, ARTIFACT_OUTDATED],
    async finalize(obj: KubeObject, log: Logger) {
      await d.artifacts.removeOwner(ownerOf(obj));
      await rm(join(d.cacheDir, cacheKey(obj)), { recursive: true, force: true });
      await rm(`${join(d.cacheDir, cacheKey(obj))}-submodules`, { recursive: true, force: true });
      log.info('removed artifacts and cache');
    },
  };
}

/**
 * Settings Flux honours that this server cannot yet: refusing them loudly beats an artifact that
 * silently skips a provider login.
 */
function unsupportedSettings(spec: GitRepositorySpec): string | undefined {
  if (spec.provider && spec.provider !== 'generic') return `spec.provider '${spec.provider}' is not supported yet: use 'generic' with spec.secretRef`;
  return undefined;
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

function includeUnavailable(message: string, d: GitRepositoryDeps): WaitingError {
  return new WaitingError(message, 'IncludeUnavailable', d.includeRetryMs ?? 10_000, INCLUDE_UNAVAILABLE);
}

/** Remote errors become FetchFailed with a reason; an unsupported remote cannot get better by retrying. */
function fetchError(e: unknown): Error {
  const err = e as { name?: string; reason?: string; message?: string };
  if (e instanceof GitRemoteError || err?.name === 'GitRemoteError') {
    const reason = err.reason === 'AuthenticationFailed' ? 'AuthenticationFailed' : 'GitOperationFailed';
    if (err.reason === 'Unsupported' || err.reason === 'Invalid') return new StallingError(err.message!, 'UnsupportedURL', FETCH_FAILED);
    return new ReconcileError(`failed to checkout and determine revision: ${err.message}`, reason, FETCH_FAILED);
  }
  if ((e as Error)?.name === 'AbortError' || (e as Error)?.name === 'TimeoutError') return new ReconcileError('the Git operation timed out', 'GitOperationFailed', FETCH_FAILED);
  return new ReconcileError(`failed to checkout and determine revision: ${err?.message ?? String(e)}`, 'GitOperationFailed', FETCH_FAILED);
}

/** Build errors from the worker: too large or hostile content stalls; verification fails visibly. */
function buildError(e: unknown, ctx: Ctx): Error {
  const err = e as { name?: string; reason?: string; message?: string };
  switch (err?.name) {
    case 'ArtifactTooLargeError':
      return new StallingError(err.message!, 'ArtifactTooLarge', STORAGE_OPERATION_FAILED);
    case 'FetchLimitError':
      // The fetch stopped at a limit: what the repository holds is too large for an artifact.
      return new StallingError(`fetch stopped: ${err.message}`, 'ArtifactTooLarge', STORAGE_OPERATION_FAILED);
    case 'UnsafePathError':
      return new StallingError(err.message!, 'UnsafePath', STORAGE_OPERATION_FAILED);
    case 'SignatureVerificationError':
      ctx.conditions.set({ type: SOURCE_VERIFIED, status: 'False', reason: 'VerificationError', message: err.message! });
      return new ReconcileError(err.message!, 'VerificationError');
    case 'GitRemoteError':
      return fetchError(e);
    default:
      if (ctx.signal.aborted) return new ReconcileError('reconciliation timed out while fetching or building the artifact', 'ReconciliationTimeout');
      return new ReconcileError(`failed to build the artifact: ${err?.message ?? String(e)}`, 'StorageOperationFailed', STORAGE_OPERATION_FAILED);
  }
}

