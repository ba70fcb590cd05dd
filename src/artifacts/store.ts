// Content-addressed artifact store. Layout under the root:
//   sha256/<hex>.tar.gz                      the content, one file per distinct archive
//   <kind>/<namespace>/<name>/<hex>.tar.gz   a hard link to it per owner (the path in status)
//   <kind>/<namespace>/<name>/<hex>.time     when the owner last stored it (epoch ms), the GC order
//   tmp/                                     archives being written
// A content file's link count is its reference count: 1 means no owner uses it any more. Every step
// tolerates another thread (the worker that builds) storing while this one collects: a content file
// that vanishes between two steps is linked again, and the time is recorded before the link exists.
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../pki/write-atomic.js';
import { writeArchive } from './archive.js';
import { ArtifactNotFoundError, UnsafePathError, type ArchiveEntry, type ArtifactOwner, type StoredArtifact } from './types.js';

const CONTENT = 'sha256';
const TMP = 'tmp';
/** A temp file untouched this long belongs to a write that died. */
const STALE_TMP_MS = 15 * 60_000;

const KIND = /^[a-z][a-z0-9]*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ARTIFACT = /^([0-9a-f]{64})\.tar\.gz$/;

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;
const ignoreCode = (...codes: string[]) => (e: unknown) => {
  if (!codes.includes(code(e)!)) throw e;
  return undefined;
};

/** `<kind-lowercase>/<namespace>/<name>`: the owner's directory, and its key for gcOrphans. */
export function ownerKey(owner: ArtifactOwner): string {
  const kind = owner.kind.toLowerCase();
  const key = `${kind}/${owner.namespace}/${owner.name}`;
  if (!isOwnerDir(kind, owner.namespace, owner.name)) throw new UnsafePathError(key);
  return key;
}

/**
 * Whether `path` is where store() puts `owner`'s artifact of `digest`. Status is writable by users,
 * so a path read from it could otherwise name another owner's artifact.
 */
export function isOwnArtifact(owner: ArtifactOwner, path: string, digest: string): boolean {
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
  try {
    return hex !== undefined && path === `${ownerKey(owner)}/${hex}.tar.gz`;
  } catch {
    return false; // an owner no path can belong to
  }
}

const isOwnerDir = (kind: string, ns: string, name: string) =>
  KIND.test(kind) && kind !== CONTENT && kind !== TMP && LABEL.test(ns) && SUBDOMAIN.test(name);

/** RFC 3339 in whole seconds, as metav1.Time serialises. */
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

async function fsyncDir(dir: string): Promise<void> {
  const f = await open(dir, 'r');
  try {
    await f.sync();
  } finally {
    await f.close();
  }
}

/** Atomically makes `dest` another name of `src`'s inode, replacing whatever `dest` was. */
async function replaceWithLink(src: string, dest: string): Promise<void> {
  const staged = `${dest}.${randomBytes(6).toString('hex')}.tmp`;
  await link(src, staged);
  await rename(staged, dest);
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

export class ArtifactStore {
  /** `path@digest` of artifacts hashed in full since this process started. */
  private readonly verified = new Set<string>();

  constructor(readonly root: string) {}

  /** Absolute path of a stored artifact's relative path; throws UnsafePathError for anything else. */
  absolute(path: string): string {
    const s = typeof path === 'string' ? path.split('/') : [];
    const ok = (s.length === 2 && s[0] === CONTENT && ARTIFACT.test(s[1])) || (s.length === 4 && isOwnerDir(s[0], s[1], s[2]) && ARTIFACT.test(s[3]));
    const abs = resolve(this.root, ...s);
    if (!ok || !abs.startsWith(resolve(this.root) + sep)) throw new UnsafePathError(String(path));
    return abs;
  }

  /** Archives `entries` and records that `owner` has the result. */
  async store(owner: ArtifactOwner, entries: Iterable<ArchiveEntry> | AsyncIterable<ArchiveEntry>, o: { maxBytes?: number } = {}): Promise<StoredArtifact> {
    const key = ownerKey(owner);
    const dir = join(this.root, key);
    const contentDir = join(this.root, CONTENT);
    await mkdir(join(this.root, TMP), { recursive: true });
    const tmp = join(this.root, TMP, `${randomBytes(8).toString('hex')}.tar.gz`);
    const { digest, size } = await writeArchive(entries, tmp, o);
    try {
      await Promise.all([mkdir(contentDir, { recursive: true }), mkdir(dir, { recursive: true })]);
      const hex = digest.slice('sha256:'.length);
      const ms = performance.timeOrigin + performance.now(); // wall clock, sub-millisecond: no ties
      await writeFileAtomic(join(dir, `${hex}.time`), String(ms), 0o644);
      await this.#link(tmp, size, join(contentDir, `${hex}.tar.gz`), join(dir, `${hex}.tar.gz`));
      await Promise.all([fsyncDir(contentDir), fsyncDir(dir)]);
      return { path: `${key}/${hex}.tar.gz`, digest, size, lastUpdateTime: rfc3339(new Date(ms)) };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Makes `target` a link to the content file, creating that from `tmp` unless it exists. */
  async #link(tmp: string, size: number, content: string, target: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, content);
      } catch (e) {
        if (code(e) !== 'EEXIST') throw e;
        // Same name, different size: a damaged file; replace it with the one just written.
        if ((await stat(content)).size !== size) await replaceWithLink(tmp, content);
      }
      try {
        const [c, t] = await Promise.all([stat(content), stat(target).catch(ignoreCode('ENOENT'))]);
        if (!t || t.ino !== c.ino || t.dev !== c.dev) await replaceWithLink(content, target);
        return;
      } catch (e) {
        // Collected between the two steps by another thread's GC: create it again.
        if (code(e) !== 'ENOENT' || attempt >= 2) throw e;
      }
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await stat(this.absolute(path)).catch(ignoreCode('ENOENT')))?.isFile() ?? false;
  }

  /**
   * Whether the artifact exists and hashes to `digest`. A file whose content no longer matches its
   * own name is damaged: it is removed (with its content file) so the next store() writes it anew.
   */
  async verify(path: string, digest: string): Promise<boolean> {
    const abs = this.absolute(path);
    const st = await stat(abs).catch(ignoreCode('ENOENT'));
    if (!st?.isFile()) return false;
    const actual = await sha256File(abs);
    const named = ARTIFACT.exec(path.slice(path.lastIndexOf('/') + 1))![1];
    if (actual !== named) {
      const content = join(this.root, CONTENT, `${named}.tar.gz`);
      const c = await stat(content).catch(ignoreCode('ENOENT'));
      if (c && c.ino === st.ino && c.dev === st.dev && content !== abs) await unlink(content).catch(ignoreCode('ENOENT'));
      await unlink(abs).catch(ignoreCode('ENOENT'));
    }
    return `sha256:${actual}` === digest;
  }

  /**
   * verify(), hashing a given artifact in full once per process: stored files never change in place
   * (content-addressed, written by rename), so after the first check existence is enough. Every
   * reconcile of every source and Kustomization asks, so this keeps a full read off that path.
   */
  async verifyOnce(path: string, digest: string): Promise<boolean> {
    const key = `${path}@${digest}`;
    if (this.verified.has(key)) {
      if (await this.exists(path)) return true;
      this.verified.delete(key);
      return false;
    }
    const ok = await this.verify(path, digest);
    if (ok) this.verified.add(key);
    return ok;
  }

  /** The file to serve and its size; ArtifactNotFoundError when it is not there. */
  async open(path: string): Promise<{ file: string; size: number }> {
    const file = this.absolute(path);
    const st = await stat(file).catch(ignoreCode('ENOENT'));
    if (!st?.isFile()) throw new ArtifactNotFoundError(path);
    return { file, size: st.size };
  }

  /** Keeps the owner's `keep` most recently stored artifacts; returns the relative paths removed. */
  async gc(owner: ArtifactOwner, keep = 2): Promise<string[]> {
    const key = ownerKey(owner);
    const dir = join(this.root, key);
    const hexes = (await readdir(dir).catch(ignoreCode('ENOENT'))) ?? [];
    const found: { hex: string; time: number }[] = [];
    for (const n of hexes) {
      const m = ARTIFACT.exec(n);
      if (!m) continue;
      const t = Number(await readFile(join(dir, `${m[1]}.time`), 'utf8').catch(ignoreCode('ENOENT')));
      found.push({ hex: m[1], time: Number.isFinite(t) ? t : 0 });
    }
    found.sort((a, b) => b.time - a.time || (a.hex < b.hex ? -1 : 1));
    const removed: string[] = [];
    for (const { hex } of found.slice(Math.max(0, keep))) removed.push(...(await this.#drop(key, hex)));
    return removed;
  }

  /** Removes one owner's artifact and, when no owner is left, its content file. */
  async #drop(key: string, hex: string): Promise<string[]> {
    const removed: string[] = [];
    const rel = `${key}/${hex}.tar.gz`;
    if (await unlink(join(this.root, rel)).then(() => true, ignoreCode('ENOENT'))) removed.push(rel);
    await unlink(join(this.root, key, `${hex}.time`)).catch(ignoreCode('ENOENT'));
    const content = `${CONTENT}/${hex}.tar.gz`;
    if (await this.#dropUnreferenced(content)) removed.push(content);
    return removed;
  }

  async #dropUnreferenced(content: string): Promise<boolean> {
    const abs = join(this.root, content);
    const st = await lstat(abs).catch(ignoreCode('ENOENT'));
    if (st?.nlink !== 1) return false;
    await unlink(abs).catch(ignoreCode('ENOENT'));
    return true;
  }

  /** Everything an owner has (its object was deleted). */
  async removeOwner(owner: ArtifactOwner): Promise<string[]> {
    return this.#removeKey(ownerKey(owner));
  }

  async #removeKey(key: string): Promise<string[]> {
    const dir = join(this.root, key);
    const removed: string[] = [];
    for (const n of (await readdir(dir).catch(ignoreCode('ENOENT'))) ?? []) {
      const m = ARTIFACT.exec(n);
      if (m) removed.push(...(await this.#drop(key, m[1])));
    }
    await rm(dir, { recursive: true, force: true });
    // The namespace and kind directories go too once empty.
    const [kind, ns] = key.split('/');
    for (const d of [join(this.root, kind, ns), join(this.root, kind)]) {
      await rmdir(d).catch(ignoreCode('ENOENT', 'ENOTEMPTY', 'EEXIST'));
    }
    return removed;
  }

  /**
   * Removes the artifacts of owners not in `live` (keys as ownerKey gives them), content files no
   * owner references, and temp files left by writes that died.
   */
  async gcOrphans(live: Set<string>): Promise<string[]> {
    const removed: string[] = [];
    const list = async (d: string) => (await readdir(join(this.root, d), { withFileTypes: true }).catch(ignoreCode('ENOENT', 'ENOTDIR'))) ?? [];
    for (const k of await list('')) {
      if (!k.isDirectory() || !KIND.test(k.name) || k.name === CONTENT || k.name === TMP) continue;
      for (const ns of await list(k.name)) {
        for (const name of await list(`${k.name}/${ns.name}`)) {
          const key = `${k.name}/${ns.name}/${name.name}`;
          if (name.isDirectory() && isOwnerDir(k.name, ns.name, name.name) && !live.has(key)) removed.push(...(await this.#removeKey(key)));
        }
      }
    }
    const dropStale = async (rel: string) => {
      const st = await lstat(join(this.root, rel)).catch(ignoreCode('ENOENT'));
      if (st && Date.now() - st.mtimeMs > STALE_TMP_MS) {
        await rm(join(this.root, rel), { force: true });
        removed.push(rel);
      }
    };
    for (const f of await list(CONTENT)) {
      const content = `${CONTENT}/${f.name}`;
      if (!ARTIFACT.test(f.name)) await dropStale(content); // a replacement staged by a write that died
      else if (await this.#dropUnreferenced(content)) removed.push(content);
    }
    for (const f of await list(TMP)) await dropStale(`${TMP}/${f.name}`);
    return removed;
  }

  /** Bytes on disk of all distinct artifacts (hard links counted once). */
  async totalBytes(): Promise<number> {
    const seen = new Map<string, number>();
    const walk = async (dir: string, depth: number): Promise<void> => {
      for (const d of (await readdir(dir, { withFileTypes: true }).catch(ignoreCode('ENOENT'))) ?? []) {
        const p = join(dir, d.name);
        if (d.isDirectory() && depth < 3 && !(depth === 0 && d.name === TMP)) await walk(p, depth + 1);
        else if (d.isFile() && ARTIFACT.test(d.name)) {
          const st = await lstat(p).catch(ignoreCode('ENOENT'));
          if (st) seen.set(`${st.dev}:${st.ino}`, st.size);
        }
      }
    };
    await walk(this.root, 0);
    let total = 0;
    for (const n of seen.values()) total += n;
    return total;
  }
}
