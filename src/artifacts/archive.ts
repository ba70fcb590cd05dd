// Deterministic tar.gz: the same entries always give the same bytes, whatever the order they come in,
// the files' times or owners. Entries are sorted by the UTF-8 bytes of their paths; every header has
// uid/gid 0, no user or group names, mtime 0 (the Unix epoch, as Flux's zero time.Time encodes), mode
// 0644 (0755 for executables and directories); a PAX record only when a path does not fit ustar.
// gzip at level 6 with no name, mtime 0, and XFL/OS bytes forced to 0/3 (Unix) so the header does not
// depend on the platform. The bytes depend on the zlib build, so digests are stable per Node binary.
import { createHash } from 'node:crypto';
import { createReadStream, constants as fsc } from 'node:fs';
import { lstat, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';
import { ArtifactTooLargeError, UnsafePathError, type ArchiveEntry } from './types.js';

const ARCHIVE_MTIME = new Date(0);
const GZIP_LEVEL = 6;
const GZIP_OS_UNIX = 3;
const BLOCK = 512;
const FILE_MODE = 0o644;
const EXEC_MODE = 0o755;
const DIR_MODE = 0o755;
const IDLE_CLOSE_MS = 1000;
const READ_AHEAD_FILES = 16;
const COALESCE_BYTES = 64 * 1024;
const SMALL_FILE_BYTES = 256 * 1024;

/** Relative, slash-separated, no empty, `.` or `..` segment, no NUL: cannot point outside the tree. */
export function isSafeEntryPath(p: string): boolean {
  return typeof p === 'string' && p !== '' && !p.includes('\0') && !p.startsWith('/') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

interface Item {
  path: string;
  key: Buffer;
  dir: boolean;
  size: number;
  mode: number;
  entry?: ArchiveEntry;
}

/** Two entries claim one path, or a file sits where a directory must be. */
export class ConflictingEntryError extends Error {
  constructor(readonly path: string) {
    super(`conflicting entries for path ${JSON.stringify(path)}`);
  }
}

async function collect(entries: Iterable<ArchiveEntry> | AsyncIterable<ArchiveEntry>): Promise<Item[]> {
  const items = new Map<string, Item>();
  const addDir = (p: string) => {
    for (let d: string | undefined = p; d; d = parentOf(d)) {
      const seen = items.get(d);
      if (seen?.dir) return;
      if (seen) throw new ConflictingEntryError(d);
      items.set(d, { path: d, key: Buffer.from(d), dir: true, size: 0, mode: DIR_MODE });
    }
  };
  for await (const e of entries) {
    if (!isSafeEntryPath(e.path)) throw new UnsafePathError(e.path);
    if (e.type === 'directory') {
      addDir(e.path);
    } else if (e.type === 'file') {
      if (!Number.isSafeInteger(e.size) || e.size! < 0 || typeof e.read !== 'function') {
        throw new TypeError(`file entry ${JSON.stringify(e.path)} needs a size and read()`);
      }
      if (items.has(e.path)) throw new ConflictingEntryError(e.path);
      const parent = parentOf(e.path);
      if (parent) addDir(parent);
      items.set(e.path, { path: e.path, key: Buffer.from(e.path), dir: false, size: e.size!, mode: e.executable ? EXEC_MODE : FILE_MODE, entry: e });
    } else {
      throw new TypeError(`entry ${JSON.stringify(e.path)} has unsupported type ${JSON.stringify((e as { type: unknown }).type)}`);
    }
  }
  return [...items.values()].sort((a, b) => Buffer.compare(a.key, b.key));
}

const parentOf = (p: string): string | undefined => {
  const i = p.lastIndexOf('/');
  return i < 0 ? undefined : p.slice(0, i);
};

function header(it: Item): Buffer {
  const path = it.dir ? `${it.path}/` : it.path;
  const block = Buffer.alloc(BLOCK);
  const h = new Header({ path, mode: it.mode, uid: 0, gid: 0, size: it.size, mtime: ARCHIVE_MTIME, type: it.dir ? 'Directory' : 'File', uname: '', gname: '' });
  if (!h.encode(block)) return block;
  // Only the path or a size past 8 GiB can overflow ustar here; the record carries the exact values.
  const pax = new Pax({ path, size: it.size > 0o77777777777 ? it.size : undefined, mtime: ARCHIVE_MTIME });
  return Buffer.concat([pax.encode(), block]);
}

type Source = Buffer[] | NodeJS.ReadableStream;

/** Asks the entry for its content (from here on, the content must be read or the stream destroyed). */
async function source(it: Item): Promise<Source> {
  const c = await it.entry!.read!();
  return c instanceof Uint8Array ? [Buffer.from(c.buffer, c.byteOffset, c.byteLength)] : c;
}

const toBuffer = (chunk: unknown): Buffer => (typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));

/** The whole content of a small file, stopping one byte past its declared size. */
async function slurp(it: Item): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of await source(it)) {
    chunks.push(toBuffer(chunk));
    if ((n += chunks[chunks.length - 1].length) > it.size) break;
  }
  return chunks;
}

async function* tarStream(items: Item[]): AsyncGenerator<Buffer> {
  const ahead = new Map<number, Promise<Buffer[]>>();
  let next = 0;
  for (const [i, it] of items.entries()) {
    yield header(it);
    if (it.dir) continue;
    const pending = ahead.get(i);
    ahead.delete(i);
    const src = pending ? await pending : await source(it);
    // Read the small files that follow ahead (at most 16 × 256 KiB in memory), so their I/O overlaps
    // compression. Contents are asked for in archive order: the read-ahead stops at a big file.
    for (next = Math.max(next, i + 1); next < items.length && next <= i + READ_AHEAD_FILES; next++) {
      const n = items[next];
      if (n.dir) continue;
      if (n.size > SMALL_FILE_BYTES) break;
      const p = slurp(n);
      p.catch(() => {}); // a failure surfaces when its turn comes
      ahead.set(next, p);
    }
    let n = 0;
    for await (const chunk of src) {
      const b = toBuffer(chunk);
      if ((n += b.length) > it.size) break;
      yield b;
    }
    if (n !== it.size) throw new Error(`file ${JSON.stringify(it.path)} changed while archiving: ${it.size} bytes expected, ${n > it.size ? 'more' : n} read`);
    if (n % BLOCK) yield Buffer.alloc(BLOCK - (n % BLOCK));
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** Joins small chunks (headers, small files, padding): each write to zlib is a thread-pool round trip. */
async function* coalesce(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const b of source) {
    parts.push(b);
    if ((n += b.length) >= COALESCE_BYTES) {
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n) yield Buffer.concat(parts, n);
}

/**
 * Writes `entries` as a deterministic tar.gz to `out` (a path, created exclusively and fsynced, or a
 * stream, ended on success and destroyed on failure). Parent directories are added for every entry.
 * `maxBytes` caps both the files' total size and the compressed output: exceeding it throws
 * ArtifactTooLargeError, and a path given as `out` is removed on any failure.
 */
export async function writeArchive(
  entries: Iterable<ArchiveEntry> | AsyncIterable<ArchiveEntry>,
  out: NodeJS.WritableStream | string,
  o: { maxBytes?: number } = {},
): Promise<{ digest: string; size: number }> {
  const items = await collect(entries);
  const max = o.maxBytes;
  if (max !== undefined) {
    let total = 0;
    for (const it of items) if ((total += it.size) > max) throw new ArtifactTooLargeError(max, it.path);
  }
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      // zlib writes XFL by level and OS by build platform at bytes 8 and 9 of the header.
      for (const [i, v] of [[8, 0], [9, GZIP_OS_UNIX]] as const) if (i >= size && i < size + chunk.length) chunk[i - size] = v;
      size += chunk.length;
      if (max !== undefined && size > max) return done(new ArtifactTooLargeError(max));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const gzip = createGzip({ level: GZIP_LEVEL, chunkSize: 64 * 1024 });
  if (typeof out !== 'string') {
    await pipeline(coalesce(tarStream(items)), gzip, tap, out);
  } else {
    const f = await open(out, 'wx', 0o644);
    try {
      await pipeline(coalesce(tarStream(items)), gzip, tap, async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) await f.write(chunk);
        await f.sync();
      });
    } catch (e) {
      await f.close();
      await rm(out, { force: true });
      throw e;
    }
    await f.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Walks `dir` without following symlinks: yields regular files and directories, skips everything else. */
export async function* fromDirectory(dir: string): AsyncGenerator<ArchiveEntry> {
  const walk = async function* (rel: string): AsyncGenerator<ArchiveEntry> {
    const names = await readdir(join(dir, rel));
    const stats = await Promise.all(names.map((n) => lstat(join(dir, rel, n))));
    for (const [i, name] of names.entries()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(dir, path);
      const st = stats[i];
      if (st.isDirectory()) {
        yield { path, type: 'directory' };
        yield* walk(path);
      } else if (st.isFile()) {
        // O_NOFOLLOW: a file swapped for a symlink after the walk is refused, not followed.
        const read = async () => {
          const f = await open(abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
          if (st.size > SMALL_FILE_BYTES) return f.createReadStream();
          try {
            return await f.readFile();
          } finally {
            await f.close();
          }
        };
        yield { path, type: 'file', size: st.size, executable: (st.mode & 0o111) !== 0, read };
      }
    }
  };
  yield* walk('');
}

/** A pull reader over the uncompressed tar stream of a .tar.gz file. */
class TarReader {
  readonly #gz: Readable;
  readonly #it: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);
  #size = 0; // unread body bytes of the current entry
  #pad = 0; // block padding after it
  #global: Record<string, string> = {}; // PAX global records

  constructor(file: string) {
    this.#gz = pipelineCb(createReadStream(file), createGunzip(), () => {});
    this.#it = this.#gz[Symbol.asyncIterator]();
  }

  async #fill(n: number): Promise<void> {
    while (this.#buf.length < n) {
      const r = await this.#it.next();
      if (r.done) throw new Error('truncated archive');
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, r.value]) : r.value;
    }
  }

  async #take(n: number): Promise<Buffer> {
    if (!this.#buf.length) await this.#fill(1);
    const b = this.#buf.subarray(0, Math.min(n, this.#buf.length));
    this.#buf = this.#buf.subarray(b.length);
    return b;
  }

  async #read(n: number): Promise<Buffer> {
    await this.#fill(n);
    return this.#take(n);
  }

  async #skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.#take(n)).length;
  }

  /** The next file or directory entry (other types are skipped); undefined at the end. */
  async next(): Promise<{ path: string; type: 'file' | 'directory'; size: number; mode: number } | undefined> {
    await this.#skip(this.#size + this.#pad);
    this.#size = this.#pad = 0;
    let ex: Record<string, string> = {};
    for (;;) {
      const block = await this.#read(BLOCK);
      if (block.every((b) => b === 0)) return undefined;
      const h = new Header(block);
      if (!h.cksumValid) throw new Error('corrupt archive: bad header checksum');
      const t = h.typeKey;
      const meta = t === 'x' || t === 'g' || t === 'L';
      const size = meta ? (h.size ?? 0) : Number(ex.size ?? this.#global.size ?? h.size ?? 0);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (meta) {
        const body = await this.#read(size);
        await this.#skip(pad);
        if (t === 'L') ex.path = body.toString('utf8').replace(/\0+$/, '');
        else Object.assign(t === 'x' ? ex : this.#global, parsePax(body));
        continue;
      }
      const raw = ex.path ?? h.path ?? '';
      ex = {};
      this.#size = size;
      this.#pad = pad;
      if (t === '0' || t === '' || t === '7' || t === '5') {
        const path = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
        if (!isSafeEntryPath(path)) throw new UnsafePathError(raw);
        return t === '5' ? { path, type: 'directory', size: 0, mode: h.mode ?? DIR_MODE } : { path, type: 'file', size, mode: h.mode ?? FILE_MODE };
      }
      await this.#skip(size + pad);
      this.#size = this.#pad = 0;
    }
  }

  /** The body of the file `next()` returned last. */
  async *body(): AsyncGenerator<Buffer> {
    while (this.#size > 0) {
      const chunk = await this.#take(this.#size);
      this.#size -= chunk.length;
      yield chunk;
    }
  }

  close(): void {
    this.#gz.destroy();
  }
}

/** PAX records: `<length> <key>=<value>\n`, length counting the whole record, so values may hold newlines. */
function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    const len = Number(body.subarray(off, sp).toString('ascii'));
    if (sp < 0 || !Number.isInteger(len) || len <= 0 || off + len > body.length) throw new Error('corrupt archive: bad PAX record');
    const rec = body.subarray(sp + 1, off + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

/** Entries of a stored artifact, read back for `spec.include`, with `close()` for a reader left open. */
export interface ArchiveReader extends AsyncIterable<ArchiveEntry> {
  close(): void;
}

/**
 * Reads a .tar.gz back as entries (regular files and directories; unsafe paths throw UnsafePathError).
 * Contents are not held in memory: `read()` streams from one sequential reader, one body at a time in
 * call order, cheapest in archive order (writeArchive reads so; a common prefix keeps the order) and
 * rescanning otherwise. A body must be read to its end or destroyed before the next one flows.
 * The reader closes after the last file is read or when no read follows within a second; `close()`
 * closes it at once.
 */
export function readArchive(file: string): ArchiveReader {
  let reader: TarReader | undefined;
  let position = 0; // index of the entry reader.next() returns next
  let lastFile = -1; // index of the last file, once the scan finished
  let idle: NodeJS.Timeout | undefined;
  let turn: Promise<void> = Promise.resolve(); // one body is read at a time, in call order
  const close = () => {
    clearTimeout(idle);
    reader?.close();
    reader = undefined;
  };
  const open = async (index: number): Promise<Readable> => {
    const previous = turn;
    let release!: () => void;
    turn = new Promise((r) => (release = r));
    await previous;
    clearTimeout(idle);
    try {
      if (!reader || position > index) {
        close();
        reader = new TarReader(file);
        position = 0;
      }
      const r = reader;
      while (position <= index) {
        if (!(await r.next())) throw new Error(`archive ${file} changed while reading it`);
        position++;
      }
      const body = Readable.from(r.body());
      body.once('close', () => {
        // Done with the last file, or nobody asks for the next one soon: don't hold the fd.
        if (reader === r) {
          if (index === lastFile) close();
          else idle = setTimeout(close, IDLE_CLOSE_MS).unref();
        }
        release();
      });
      return body;
    } catch (e) {
      close();
      release();
      throw e;
    }
  };
  return {
    close,
    async *[Symbol.asyncIterator]() {
      const scan = new TarReader(file);
      try {
        let last = -1;
        for (let index = 0; ; index++) {
          const e = await scan.next();
          if (!e) {
            lastFile = last;
            return;
          }
          if (e.type === 'file') last = index;
          yield e.type === 'directory'
            ? { path: e.path, type: 'directory' }
            : { path: e.path, type: 'file', size: e.size, executable: (e.mode & 0o111) !== 0, read: () => open(index) };
        }
      } finally {
        scan.close();
      }
    },
  };
}
