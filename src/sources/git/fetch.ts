// Shallow fetch of exactly the resolved object into a bare cache repository (our upload-pack client,
// its pack indexed as it streams, within the fetch limits), and the commit's tree read straight from
// Git objects as archive entries (no checkout on disk).

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsafePathError, type ArchiveEntry } from '../../artifacts/types.js';
import { toRemoteError } from './errors.js';
import { createSend } from './http.js';
import { DEFAULT_LIMITS, type FetchLimits } from './limits.js';
import { commitTree, ObjectNotFoundError, ObjectStore, parseTree, type TreeItem } from './objects.js';
import { lsRemote, splitUrlCredentials } from './remote.js';
import { GitRemoteError, type GitAuth, type GitRequestOptions, type ResolvedRef, type SkippedEntry } from './types.js';
import { uploadPack, WantRefusedError, type UploadPackRequest } from './upload-pack.js';

/** An empty bare repository, enough for git's own tools to read the cache (refs are never needed). */
async function freshRepo(gitdir: string): Promise<void> {
  await rm(gitdir, { recursive: true, force: true });
  await mkdir(join(gitdir, 'objects', 'pack'), { recursive: true });
  await mkdir(join(gitdir, 'refs', 'heads'), { recursive: true });
  await writeFile(join(gitdir, 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(gitdir, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
}

async function hasObjects(gitdir: string, ...oids: string[]): Promise<boolean> {
  const store = await ObjectStore.open(gitdir);
  try {
    for (const oid of oids) if (!(await store.has(oid))) return false;
    return true;
  } finally {
    store.close();
  }
}

/**
 * Makes `resolved.commit` (and the annotated tag object, for signature checks) present in the bare
 * repository `cacheDir`, which holds one fetched commit: nothing is fetched while it is that one.
 * Otherwise the cache starts over with one depth-1 fetch of exactly that object (git servers hand
 * out any reachable commit by SHA over smart HTTP). Shallow fetches are not incremental here
 * (without a thin pack, git's upload-pack sends the whole tree under `deepen` whatever the client
 * has), so keeping older commits would only cost disk.
 * When a server refuses a SHA it does not advertise ("not our ref"), it does what Flux does for
 * commit refs: a full fetch of the branch, or of all branches, then looks again.
 * `o.limits` bound what one fetch may bring (FetchLimitError past them). One cacheDir per source;
 * not for concurrent use.
 */
export async function fetchCommit(url: string, resolved: ResolvedRef, auth: GitAuth, cacheDir: string, o: GitRequestOptions & { limits?: FetchLimits } = {}): Promise<void> {
  const target = splitUrlCredentials(url, auth);
  const want = resolved.tagObject ?? resolved.commit;
  if (await hasObjects(cacheDir, want, resolved.commit)) return;

  // The advertisement says what the server can do (side-band, shallow) and, for the fallback, its branches.
  const remote = await lsRemote(url, auth, o);
  const send = createSend(target.auth, o);
  const fetchFresh = async (req: UploadPackRequest) => {
    await freshRepo(cacheDir);
    try {
      const { shallow } = await uploadPack(send, target.url, remote.capabilities ?? [], req, cacheDir, o.limits ?? DEFAULT_LIMITS);
      if (shallow.length) await writeFile(join(cacheDir, 'shallow'), shallow.map((c) => `${c}\n`).join(''));
    } catch (err) {
      await rm(cacheDir, { recursive: true, force: true });
      throw toRemoteError(err, url);
    }
  };
  let refused = false;
  try {
    await fetchFresh({ wants: [want], depth: 1 });
  } catch (err) {
    if (!(err instanceof WantRefusedError) || resolved.tagObject) throw err;
    refused = true;
  }
  if (!resolved.tagObject && (refused || !(await hasObjects(cacheDir, resolved.commit)))) {
    const branch = resolved.refName?.startsWith('refs/heads/') ? resolved.refName : undefined;
    const tips = new Set<string>();
    for (const [name, r] of remote.refs) if (branch ? name === branch : name.startsWith('refs/heads/')) tips.add(r.oid);
    if (tips.size) await fetchFresh({ wants: [...tips] });
  }
  if (!(await hasObjects(cacheDir, want, resolved.commit))) {
    throw new GitRemoteError(`commit ${resolved.commit} not found on the remote${resolved.refName ? ` (in ${resolved.refName})` : ''}`, 'RefNotFound');
  }
}

/** The entries of a commit's tree; `skipped` fills with symlinks and submodules as iteration passes them. */
export interface TreeListing extends AsyncIterable<ArchiveEntry> {
  readonly skipped: SkippedEntry[];
}

const isSafeName = (name: string) => name !== '' && name !== '.' && name !== '..' && name.toLowerCase() !== '.git' && !/[/\\\0]/.test(name);

/** `./apps/prod/` → `apps/prod`; '' means the whole tree. */
function normalizeDir(d: string): string {
  return d
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFGITLINK = 0o160000;

/**
 * Walks the commit's tree depth-first in Git's order: trees → directories, blobs → files (100755 →
 * executable), symlinks and submodules skipped, unsafe names rejected with UnsafePathError. `size`
 * comes from the object header; `read()` inflates the blob then (a stream for big undeltified blobs),
 * so entries can be listed without holding their contents. `sparse` keeps only those directories,
 * as Flux's spec.sparseCheckout does.
 */
export function treeEntries(cacheDir: string, commit: string, o: { sparse?: string[] } = {}): TreeListing {
  const skipped: SkippedEntry[] = [];
  const sparse = (o.sparse ?? []).map(normalizeDir);
  const whole = sparse.length === 0 || sparse.includes('');
  /** inside: keep everything; ancestor: a directory on the way to a sparse one; out: drop. */
  const scope = (path: string): 'inside' | 'ancestor' | 'out' => {
    if (whole || sparse.some((d) => path === d || path.startsWith(`${d}/`))) return 'inside';
    return sparse.some((d) => d.startsWith(`${path}/`)) ? 'ancestor' : 'out';
  };

  async function* walk(store: ObjectStore, treeOid: string, prefix: string): AsyncGenerator<ArchiveEntry> {
    for (const e of await readTree(store, treeOid)) {
      const path = prefix + e.name;
      if (!isSafeName(e.name)) throw new UnsafePathError(path);
      const where = scope(path);
      const fmt = e.mode & S_IFMT;
      if (where === 'out' || (where === 'ancestor' && fmt !== S_IFDIR)) continue;
      if (fmt === S_IFDIR) {
        yield { path, type: 'directory' };
        yield* walk(store, e.oid, `${path}/`);
      } else if (fmt === S_IFLNK) {
        skipped.push({ path, type: 'symlink', target: (await store.read(e.oid)).data.toString('utf8') });
      } else if (fmt === S_IFGITLINK) {
        skipped.push({ path, type: 'submodule', target: e.oid });
      } else if (fmt === S_IFREG) {
        const { size } = await store.info(e.oid);
        yield { path, type: 'file', executable: (e.mode & 0o100) !== 0, size, read: () => store.blob(e.oid) };
      } else {
        throw new Error(`tree entry ${path} has an unknown mode ${e.mode.toString(8)}`);
      }
    }
  }

  async function* entries(): AsyncGenerator<ArchiveEntry> {
    const store = await ObjectStore.open(cacheDir);
    let root: string;
    try {
      root = commitTree((await store.read(commit)).data);
    } catch (err) {
      store.close();
      if (err instanceof ObjectNotFoundError) throw new Error(`commit ${commit} is not in the Git cache ${cacheDir}; fetch it first`);
      throw err;
    }
    try {
      for (const d of whole ? [] : sparse) await assertDir(store, root, d);
      yield* walk(store, root, '');
    } finally {
      store.close();
    }
  }

  async function assertDir(store: ObjectStore, root: string, dir: string): Promise<void> {
    let oid = root;
    for (const seg of dir.split('/')) {
      const e = (await readTree(store, oid)).find((x) => x.name === seg);
      if (!e || (e.mode & S_IFMT) !== S_IFDIR) throw new Error(`sparse checkout directory '${dir}' does not exist in commit ${commit}`);
      oid = e.oid;
    }
  }

  return { skipped, [Symbol.asyncIterator]: () => entries() };
}

async function readTree(store: ObjectStore, oid: string): Promise<TreeItem[]> {
  const { type, data } = await store.read(oid);
  if (type !== 'tree') throw new Error(`object ${oid} is a ${type}, not a tree`);
  return parseTree(data);
}
