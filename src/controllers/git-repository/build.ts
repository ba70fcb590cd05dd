// The heavy half of a GitRepository reconcile, run in a worker thread: shallow-fetch the commit
// (within --max-file-size and --max-artifact-size), verify its signature, read its tree straight from the Git objects (and its submodules' trees, when
// asked), add included artifacts, apply the ignore rules, and store a deterministic tar.gz.
// Arguments and result are plain data.

import { join } from 'node:path';
import { filterEntries } from '../../artifacts/ignore.js';
import { readArchive } from '../../artifacts/archive.js';
import { ArtifactStore } from '../../artifacts/store.js';
import type { ArchiveEntry, ArtifactOwner, StoredArtifact } from '../../artifacts/types.js';
import { fetchCommit, treeEntries } from '../../sources/git/fetch.js';
import { FetchLimitError, type FetchLimits } from '../../sources/git/limits.js';
import { commitTree, ObjectStore, parseTree } from '../../sources/git/objects.js';
import { splitUrlCredentials } from '../../sources/git/remote.js';
import { GitRemoteError, type GitAuth, type GitProxy, type ResolvedRef, type SkippedEntry, type VerifyMode } from '../../sources/git/types.js';
import { verifySignatures } from '../../sources/git/verify.js';

export interface BuildParams {
  url: string;
  resolved: ResolvedRef;
  auth?: GitAuth;
  /** spec.proxySecretRef's HTTP proxy. */
  proxy?: GitProxy;
  gitDir: string;
  artifactRoot: string;
  owner: ArtifactOwner;
  /** --max-artifact-size: bounds the artifact, and the sum of what one fetch inflates. */
  maxBytes: number;
  /** --max-file-size: the largest object one fetch may bring. */
  maxFileSize: number;
  ignore?: string;
  sparse?: string[];
  /** Other sources' artifacts (paths in the store), copied from fromPath to toPath. */
  includes: { path: string; fromPath: string; toPath: string }[];
  verify?: { mode: string; keys: string[] };
  /** Fetch submodules at their recorded commits and add their trees under their paths, like Flux. */
  recurseSubmodules?: boolean;
}

export interface BuildResult {
  artifact: StoredArtifact;
  /** What verification says about the signer, for the SourceVerified message. */
  verified?: string;
  /** Tree entries left out (symlinks, submodules), with why. */
  skipped: { path: string; why: string }[];
}

export async function buildGitArtifact(p: BuildParams): Promise<BuildResult> {
  const limits: FetchLimits = { maxFileSize: p.maxFileSize, maxTotalSize: p.maxBytes };
  await fetchCommit(p.url, p.resolved, p.auth ?? {}, p.gitDir, { proxy: p.proxy, limits });
  let verified: string | undefined;
  if (p.verify) {
    const sigs = await verifySignatures(p.gitDir, p.resolved, p.verify.mode as VerifyMode, p.verify.keys);
    verified = `verified signature of ${sigs.map((v) => `${v.object} '${v.name}' with key ${v.keyId}`).join(' and ')}`;
  }
  const entries: ArchiveEntry[] = [];
  const links: SkippedEntry[] = [];
  const tree = treeEntries(p.gitDir, p.resolved.commit, { sparse: p.sparse });
  for await (const e of tree) entries.push(e);
  if (p.recurseSubmodules) {
    const { url, auth } = splitUrlCredentials(p.url, p.auth ?? {});
    await addSubmodules({ url, auth, origin: new URL(url).origin, proxy: p.proxy, limits }, { url, gitDir: p.gitDir, commit: p.resolved.commit, prefix: '', depth: 1 }, tree.skipped, entries, links);
  } else links.push(...tree.skipped);
  const skipped = links.map((e) => ({ path: e.path, why: `${e.type} -> ${e.target}` }));
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

const MAX_SUBMODULE_DEPTH = 5;

/** The superproject's remote: its credentials go to submodules on the same origin only; its proxy to all. */
interface Super {
  url: string;
  auth: GitAuth;
  origin: string;
  proxy?: GitProxy;
  /** Each submodule fetch gets the same limits as the superproject's. */
  limits: FetchLimits;
}

/** A fetched repository whose gitlinks are being resolved; `prefix` places it in the artifact. */
interface Module {
  url: string;
  gitDir: string;
  commit: string;
  prefix: string;
  depth: number;
}

/**
 * For each submodule link of `m` (as treeEntries reported them in `gitlinks`), fetches the recorded
 * commit into its own cache and adds its tree under the link's path, recursing into its submodules.
 * Symlinks pass through to `skipped`.
 */
async function addSubmodules(sup: Super, m: Module, gitlinks: SkippedEntry[], entries: ArchiveEntry[], skipped: SkippedEntry[]): Promise<void> {
  const subs = gitlinks.filter((e) => e.type === 'submodule');
  skipped.push(...gitlinks.filter((e) => e.type !== 'submodule'));
  if (!subs.length) return;
  if (m.depth > MAX_SUBMODULE_DEPTH) throw new Error(`submodule '${subs[0].path}' is nested deeper than ${MAX_SUBMODULE_DEPTH} levels`);
  const urls = parseGitmodules(await readGitmodules(m.gitDir, m.commit));
  for (const link of subs) {
    const path = link.path.slice(m.prefix.length);
    const raw = urls.get(path);
    if (!raw) throw new GitRemoteError(`submodule '${link.path}' has no url in .gitmodules`, 'NotFound');
    const url = submoduleUrl(raw, m.url);
    const auth = sameOrigin(url, sup.origin) ? sup.auth : { caCert: sup.auth.caCert };
    const gitDir = join(`${m.gitDir}-submodules`, encodeURIComponent(path).replace(/\./g, '%2E'));
    try {
      await fetchCommit(url, { commit: link.target, revision: `sha1:${link.target}` }, auth, gitDir, { proxy: sup.proxy, limits: sup.limits });
    } catch (e) {
      if (e instanceof FetchLimitError) throw new FetchLimitError(e.kind, e.size, e.limit, e.flag, e.path && `${link.path}/${e.path}`);
      const err = e as GitRemoteError;
      throw new GitRemoteError(`submodule '${link.path}': ${err.message}`, err.reason ?? 'Unreachable');
    }
    entries.push({ path: link.path, type: 'directory' });
    const tree = treeEntries(gitDir, link.target);
    for await (const e of tree) entries.push({ ...e, path: `${link.path}/${e.path}` });
    const nested = tree.skipped.map((e) => ({ ...e, path: `${link.path}/${e.path}` }));
    await addSubmodules(sup, { url, gitDir, commit: link.target, prefix: `${link.path}/`, depth: m.depth + 1 }, nested, entries, skipped);
  }
}

/** The .gitmodules file at the root of the commit's tree ('' when there is none). */
async function readGitmodules(gitDir: string, commit: string): Promise<string> {
  const store = await ObjectStore.open(gitDir);
  try {
    const root = parseTree((await store.read(commitTree((await store.read(commit)).data))).data);
    const file = root.find((e) => e.name === '.gitmodules');
    return file ? (await store.read(file.oid)).data.toString('utf8') : '';
  } finally {
    store.close();
  }
}

/** submodule path → url, from .gitmodules (git-config syntax). */
export function parseGitmodules(text: string): Map<string, string> {
  const byName = new Map<string, { path?: string; url?: string }>();
  let current: { path?: string; url?: string } | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const section = /^\[\s*submodule\s+"((?:[^"\\]|\\.)*)"\s*\]$/.exec(line);
    if (section) {
      const name = section[1].replace(/\\(.)/g, '$1');
      byName.set(name, (current = byName.get(name) ?? {}));
    } else if (line.startsWith('[')) current = undefined;
    else {
      const kv = /^(path|url)\s*=\s*(.*)$/i.exec(line);
      if (current && kv) current[kv[1].toLowerCase() as 'path' | 'url'] = configValue(kv[2]);
    }
  }
  const out = new Map<string, string>();
  for (const v of byName.values()) if (v.path && v.url) out.set(v.path.replace(/^\/+|\/+$/g, ''), v.url);
  return out;
}

/** A git-config value: quotes removed, escapes resolved, an unquoted `#` or `;` starts a comment. */
function configValue(v: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && i + 1 < v.length) out += { n: '\n', t: '\t', b: '\b' }[v[++i]] ?? v[i];
    else if (!quoted && (c === '#' || c === ';')) break;
    else out += c;
  }
  return out.trimEnd();
}

/** `./x` and `../x` are relative to the superproject's URL taken as a directory, as git resolves them. */
export function submoduleUrl(url: string, superUrl: string): string {
  if (!/^\.\.?\//.test(url)) return url;
  return new URL(url, `${superUrl.replace(/\/+$/, '')}/`).toString();
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** `path` below `dir` ('' = everything), relative to it; undefined when it is outside. */
function relativeTo(path: string, dir: string): string | undefined {
  const d = dir.replace(/^\.?\/+|\/+$/g, '');
  if (!d) return path;
  if (path === d) return '';
  return path.startsWith(`${d}/`) ? path.slice(d.length + 1) : undefined;
}
