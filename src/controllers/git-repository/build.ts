// The heavy half of a GitRepository reconcile, run in a worker thread: shallow-fetch the commit,
// verify its signature, read its tree straight from the Git objects, add included artifacts, apply
// the ignore rules, and store a deterministic tar.gz. Arguments and result are plain data.

import { filterEntries } from '../../artifacts/ignore.js';
import { readArchive } from '../../artifacts/archive.js';
import { ArtifactStore } from '../../artifacts/store.js';
import type { ArchiveEntry, ArtifactOwner, StoredArtifact } from '../../artifacts/types.js';
import { fetchCommit, treeEntries } from '../../sources/git/fetch.js';
import type { GitAuth, ResolvedRef, VerifyMode } from '../../sources/git/types.js';
import { verifySignatures } from '../../sources/git/verify.js';

export interface BuildParams {
  url: string;
  resolved: ResolvedRef;
  auth?: GitAuth;
  gitDir: string;
  artifactRoot: string;
  owner: ArtifactOwner;
  maxBytes: number;
  ignore?: string;
  sparse?: string[];
  /** Other sources' artifacts (paths in the store), copied from fromPath to toPath. */
  includes: { path: string; fromPath: string; toPath: string }[];
  verify?: { mode: string; keys: string[] };
}

export interface BuildResult {
  artifact: StoredArtifact;
  /** What verification says about the signer, for the SourceVerified message. */
  verified?: string;
  /** Tree entries left out (symlinks, submodules), with why. */
  skipped: { path: string; why: string }[];
}

export async function buildGitArtifact(p: BuildParams): Promise<BuildResult> {
  await fetchCommit(p.url, p.resolved, p.auth ?? {}, p.gitDir);
  let verified: string | undefined;
  if (p.verify) {
    const sigs = await verifySignatures(p.gitDir, p.resolved, p.verify.mode as VerifyMode, p.verify.keys);
    verified = `verified signature of ${sigs.map((v) => `${v.object} '${v.name}' with key ${v.keyId}`).join(' and ')}`;
  }
  const entries: ArchiveEntry[] = [];
  const tree = treeEntries(p.gitDir, p.resolved.commit, { sparse: p.sparse });
  for await (const e of tree) entries.push(e);
  const skipped = tree.skipped.map((e) => ({ path: e.path, why: `${e.type} -> ${e.target}` }));
  const store = new ArtifactStore(p.artifactRoot);
  for (const inc of p.includes) {
    for await (const e of readArchive(store.absolute(inc.path))) {
      const rel = relativeTo(e.path, inc.fromPath);
      if (rel === undefined) continue;
      const target = [inc.toPath.replace(/^\/+|\/+$/g, ''), rel].filter(Boolean).join('/');
      if (target) entries.push({ ...e, path: target });
    }
  }
  const kept = await filterEntries(entries, { specIgnore: p.ignore, defaults: 'git' });
  const artifact = await store.store(p.owner, kept, { maxBytes: p.maxBytes });
  return { artifact, verified, skipped };
}

/** `path` below `dir` ('' = everything), relative to it; undefined when it is outside. */
function relativeTo(path: string, dir: string): string | undefined {
  const d = dir.replace(/^\.?\/+|\/+$/g, '');
  if (!d) return path;
  if (path === d) return '';
  return path.startsWith(`${d}/`) ? path.slice(d.length + 1) : undefined;
}
