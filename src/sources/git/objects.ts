// A read-only Git object store over a gitdir's packs (idx v2) and loose objects, with native zlib.
// isomorphic-git reads objects with a JS inflate and loads whole packs into memory; this reads each
// object with positional reads, knows an object's size from its header before inflating it, and
// streams large undeltified blobs, so a big file is never held in memory twice. Small reads are
// synchronous on descriptors kept open: a tree walk makes thousands of them, and a thread-pool round
// trip each costs more than the read. Like inflating, that is CPU work for a worker, not the API loop.
// A deltified object is rebuilt whole in memory (base and result): the fetch's --max-file-size bounds
// every object's size, deltas' results included, so that is bounded too. The pack indexer reuses this
// reader, by offset, to resolve the deltas of a pack that has no index yet.

import { closeSync, createReadStream, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createInflate, inflateSync } from 'node:zlib';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
const MAX_DELTA_DEPTH = 1000;
/** Resolved delta bases kept for reuse (trees and blobs are often deltas of one another). */
const BASE_CACHE_BYTES = 32 << 20;

export interface GitObject {
  type: ObjectType;
  data: Buffer;
}

export interface TreeItem {
  mode: number;
  name: string;
  oid: string;
}

interface Pack {
  path: string;
  /** Open until the store is closed; -1 after (reads then open the file each time). */
  fd: number;
  /** The offset of an object, by its 20-byte id. */
  find(key: Buffer): number | undefined;
  /** All offsets sorted, to find where an object's compressed data ends. */
  sorted: number[];
  /** Where the last object's data ends (the trailing pack checksum starts). */
  end: number;
}

interface Location {
  pack: Pack;
  offset: number;
}

interface Header {
  kind: number;
  size: number;
  dataStart: number;
  dataEnd: number;
  baseOffset?: number;
  baseOid?: string;
}

async function loadPack(dir: string, idxName: string): Promise<Pack> {
  const idx = await readFile(join(dir, idxName));
  if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new Error(`${idxName}: not a version 2 pack index`);
  const fanout = new Uint32Array(256);
  for (let i = 0; i < 256; i++) fanout[i] = idx.readUInt32BE(8 + i * 4);
  const n = fanout[255];
  const oidsAt = 8 + 256 * 4;
  const offsetsAt = oidsAt + n * 20 + n * 4;
  const largeAt = offsetsAt + n * 4;
  const offsets = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = idx.readUInt32BE(offsetsAt + i * 4);
    offsets[i] = v & 0x80000000 ? Number(idx.readBigUInt64BE(largeAt + (v & 0x7fffffff) * 8)) : v;
  }
  const path = join(dir, idxName.replace(/\.idx$/, '.pack'));
  const fd = openSync(path, 'r');
  const end = fstatSync(fd).size - 20;
  const oids = idx.subarray(oidsAt, oidsAt + n * 20);
  const find = (key: Buffer) => {
    let lo = key[0] === 0 ? 0 : fanout[key[0] - 1];
    let hi = fanout[key[0]];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = key.compare(oids, mid * 20, mid * 20 + 20);
      if (c === 0) return offsets[mid];
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return undefined;
  };
  return { path, fd, find, sorted: [...offsets].sort((a, b) => a - b), end };
}

export class ObjectStore {
  private baseCache = new Map<string, GitObject>();
  private baseCacheBytes = 0;

  private constructor(
    readonly gitdir: string,
    private readonly packs: Pack[],
  ) {}

  static async open(gitdir: string): Promise<ObjectStore> {
    const dir = join(gitdir, 'objects', 'pack');
    const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.idx')).sort();
    return new ObjectStore(gitdir, await Promise.all(names.map((n) => loadPack(dir, n))));
  }

  /**
   * A store over one pack that has no index yet, read with `readOffset`: `offsets` (sorted) are
   * every object's, `end` is where the last one's data ends, `find` knows the ids resolved so far
   * (for ref-delta bases). A base it does not know is an ObjectNotFoundError.
   */
  static unindexed(gitdir: string, packPath: string, offsets: number[], end: number, find: (key: Buffer) => number | undefined): ObjectStore {
    return new ObjectStore(gitdir, [{ path: packPath, fd: openSync(packPath, 'r'), find, sorted: offsets, end }]);
  }

  /** The object at `offset` of the first pack, deltas applied. */
  readOffset(offset: number): GitObject {
    return this.readAt({ pack: this.packs[0], offset }, 0);
  }

  /** Closes the pack descriptors; later reads still work, opening the pack each time. */
  close(): void {
    for (const p of this.packs) {
      if (p.fd >= 0) closeSync(p.fd);
      p.fd = -1;
    }
    this.baseCache.clear();
    this.baseCacheBytes = 0;
  }

  async has(oid: string): Promise<boolean> {
    return this.locate(oid) !== undefined || existsSync(this.loosePath(oid));
  }

  /** Type and size from the object's header (a delta's own small data is inflated for its result size). */
  async info(oid: string): Promise<{ type: ObjectType; size: number }> {
    const loc = this.locate(oid);
    if (!loc) {
      const { type, data } = this.readLoose(oid);
      return { type, size: data.length };
    }
    const h = this.header(loc);
    if (TYPES[h.kind]) return { type: TYPES[h.kind], size: h.size };
    return { type: this.typeAt(loc, 0), size: deltaSizes(this.inflate(loc.pack, h)).target };
  }

  async read(oid: string): Promise<GitObject> {
    const loc = this.locate(oid);
    return loc ? this.readAt(loc, 0) : this.readLoose(oid);
  }

  /** A blob's content: streamed from the pack when undeltified and at least `streamAbove` bytes. */
  async blob(oid: string, streamAbove = 8 << 20): Promise<Uint8Array | NodeJS.ReadableStream> {
    const loc = this.locate(oid);
    if (loc) {
      const h = this.header(loc);
      if (TYPES[h.kind] === 'blob' && h.size >= streamAbove) return inflateStream(loc.pack.path, h);
    }
    const { type, data } = await this.read(oid);
    if (type !== 'blob') throw new Error(`object ${oid} is a ${type}, not a blob`);
    return data;
  }

  private locate(oid: string): Location | undefined {
    const key = Buffer.from(oid, 'hex');
    if (key.length !== 20) return undefined;
    for (const pack of this.packs) {
      const offset = pack.find(key);
      if (offset !== undefined) return { pack, offset };
    }
    return undefined;
  }

  private loosePath(oid: string): string {
    return join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
  }

  private readLoose(oid: string): GitObject {
    let raw: Buffer;
    try {
      raw = readFileSync(this.loosePath(oid));
    } catch {
      throw new ObjectNotFoundError(oid);
    }
    const all = inflateSync(raw);
    const nul = all.indexOf(0);
    const [type, size] = all.toString('latin1', 0, nul).split(' ');
    const data = all.subarray(nul + 1);
    if (!Object.values(TYPES).includes(type as ObjectType) || Number(size) !== data.length) throw new Error(`corrupt loose object ${oid}`);
    return { type: type as ObjectType, data };
  }

  private readRange(pack: Pack, start: number, length: number): Buffer {
    const fd = pack.fd >= 0 ? pack.fd : openSync(pack.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      return buf.subarray(0, readSync(fd, buf, 0, length, start));
    } finally {
      if (fd !== pack.fd) closeSync(fd);
    }
  }

  private header({ pack, offset }: Location): Header {
    const b = this.readRange(pack, offset, 32);
    let i = 0;
    let c = b[i++];
    const kind = (c >> 4) & 7;
    let size = c & 15;
    for (let shift = 4; c & 0x80; shift += 7) {
      c = b[i++];
      size += (c & 0x7f) * 2 ** shift;
    }
    const h: Header = { kind, size, dataStart: 0, dataEnd: 0 };
    if (kind === OFS_DELTA) {
      c = b[i++];
      let rel = c & 0x7f;
      while (c & 0x80) {
        c = b[i++];
        rel = (rel + 1) * 128 + (c & 0x7f);
      }
      h.baseOffset = offset - rel;
    } else if (kind === REF_DELTA) {
      h.baseOid = b.toString('hex', i, i + 20);
      i += 20;
    } else if (!TYPES[kind]) {
      throw new Error(`corrupt pack ${pack.path}: unknown object type ${kind} at ${offset}`);
    }
    h.dataStart = offset + i;
    // Objects sit back to back: the next offset (or the trailing checksum) ends this one.
    const s = pack.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    h.dataEnd = lo < s.length ? s[lo] : pack.end;
    return h;
  }

  /** The object's own inflated data (for a delta: the delta), checked against the header's size. */
  private inflate(pack: Pack, h: Header): Buffer {
    const data = inflateSync(this.readRange(pack, h.dataStart, h.dataEnd - h.dataStart), { maxOutputLength: Math.max(h.size, 1) });
    if (data.length !== h.size) throw new Error(`corrupt pack ${pack.path}: object is ${data.length} bytes, header says ${h.size}`);
    return data;
  }

  private baseOf(loc: Location, h: Header): Location | undefined {
    return h.baseOid ? this.locate(h.baseOid) : { pack: loc.pack, offset: h.baseOffset! };
  }

  private typeAt(loc: Location, depth: number): ObjectType {
    if (depth > MAX_DELTA_DEPTH) throw new Error(`delta chain too deep in ${loc.pack.path}`);
    const h = this.header(loc);
    if (TYPES[h.kind]) return TYPES[h.kind];
    const base = this.baseOf(loc, h);
    return base ? this.typeAt(base, depth + 1) : this.readLoose(h.baseOid!).type;
  }

  /** `asBase`: the object is a delta base, worth keeping for its siblings. */
  private readAt(loc: Location, depth: number, asBase = false): GitObject {
    if (depth > MAX_DELTA_DEPTH) throw new Error(`delta chain too deep in ${loc.pack.path}`);
    const key = `${loc.pack.path}:${loc.offset}`;
    const cached = this.baseCache.get(key);
    if (cached) {
      this.baseCache.delete(key);
      this.baseCache.set(key, cached);
      return cached;
    }
    const h = this.header(loc);
    const raw = this.inflate(loc.pack, h);
    let obj: GitObject = { type: TYPES[h.kind], data: raw };
    if (!TYPES[h.kind]) {
      const baseLoc = this.baseOf(loc, h);
      const base = baseLoc ? this.readAt(baseLoc, depth + 1, true) : this.readLoose(h.baseOid!);
      obj = { type: base.type, data: applyDelta(base.data, raw) };
    }
    if (asBase && obj.data.length <= BASE_CACHE_BYTES / 4) {
      this.baseCache.set(key, obj);
      this.baseCacheBytes += obj.data.length;
      for (const [k, v] of this.baseCache) {
        if (this.baseCacheBytes <= BASE_CACHE_BYTES) break;
        this.baseCache.delete(k);
        this.baseCacheBytes -= v.data.length;
      }
    }
    return obj;
  }
}

export class ObjectNotFoundError extends Error {
  constructor(readonly oid: string) {
    super(`object ${oid} not found`);
  }
}

function inflateStream(path: string, h: Header): NodeJS.ReadableStream {
  const inflated = createReadStream(path, { start: h.dataStart, end: h.dataEnd - 1 }).pipe(createInflate());
  // The archive header already promised h.size bytes: any other length is a corrupt pack.
  return Readable.from(
    (async function* () {
      let n = 0;
      for await (const chunk of inflated as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > h.size) throw new Error(`corrupt pack ${path}: blob larger than its header says`);
        yield chunk;
      }
      if (n !== h.size) throw new Error(`corrupt pack ${path}: blob is ${n} bytes, header says ${h.size}`);
    })(),
  );
}

function deltaSizes(delta: Buffer): { source: number; target: number; at: number } {
  let i = 0;
  const varint = () => {
    let v = 0;
    let c: number;
    let shift = 0;
    do {
      c = delta[i++];
      v += (c & 0x7f) * 2 ** shift;
      shift += 7;
    } while (c & 0x80);
    return v;
  };
  const source = varint();
  const target = varint();
  return { source, target, at: i };
}

export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  const { source, target, at } = deltaSizes(delta);
  if (source !== base.length) throw new Error(`corrupt delta: base is ${base.length} bytes, delta expects ${source}`);
  const out = Buffer.allocUnsafe(target);
  let o = 0;
  let i = at;
  while (i < delta.length) {
    const op = delta[i++];
    if (op & 0x80) {
      let off = 0;
      let size = 0;
      if (op & 0x01) off += delta[i++];
      if (op & 0x02) off += delta[i++] * 0x100;
      if (op & 0x04) off += delta[i++] * 0x10000;
      if (op & 0x08) off += delta[i++] * 0x1000000;
      if (op & 0x10) size += delta[i++];
      if (op & 0x20) size += delta[i++] * 0x100;
      if (op & 0x40) size += delta[i++] * 0x10000;
      if (size === 0) size = 0x10000;
      if (off + size > base.length || o + size > target) throw new Error('corrupt delta: copy out of bounds');
      base.copy(out, o, off, off + size);
      o += size;
    } else if (op) {
      if (i + op > delta.length || o + op > target) throw new Error('corrupt delta: insert out of bounds');
      delta.copy(out, o, i, i + op);
      i += op;
      o += op;
    } else {
      throw new Error('corrupt delta: opcode 0');
    }
  }
  if (o !== target) throw new Error(`corrupt delta: produced ${o} bytes, expected ${target}`);
  return out;
}

/** Tree entries as stored: mode (numeric), name, oid; names are not checked here. */
export function parseTree(data: Buffer): TreeItem[] {
  const items: TreeItem[] = [];
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const nul = data.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 21 > data.length) throw new Error('corrupt tree object');
    items.push({ mode: parseInt(data.toString('latin1', i, sp), 8), name: data.toString('utf8', sp + 1, nul), oid: data.toString('hex', nul + 1, nul + 21) });
    i = nul + 21;
  }
  return items;
}

/** The `tree <sha>` header of a commit. */
export function commitTree(data: Buffer): string {
  const m = /^tree ([0-9a-f]{40})\n/.exec(data.toString('latin1', 0, 46));
  if (!m) throw new Error('corrupt commit object');
  return m[1];
}
