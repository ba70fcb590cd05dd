// A streaming pack indexer: what `git index-pack --stdin` does, as the pack arrives. Each object's
// header is read as soon as it comes, so the fetch limits apply before any content is inflated; an
// undeltified object is inflated chunk by chunk into a running SHA-1 (constant memory whatever its
// size), and the raw pack bytes go straight to objects/pack/ on disk. Deltas are resolved afterwards
// with objects.ts reading their bases back from that file, then a version-2 .idx is written beside
// it, so the pack is one Git (and objects.ts) reads like any other.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInflate, crc32, inflateSync } from 'node:zlib';
import { FetchLimitError, MAX_OBJECTS, type FetchLimits } from './limits.js';
import { ObjectNotFoundError, ObjectStore, parseTree, type ObjectType } from './objects.js';
import { ChunkReader } from './pkt-line.js';
import { GitRemoteError } from './types.js';

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** Objects up to this size are inflated in one call when their compressed bytes are at hand. */
const SMALL_OBJECT = 64 << 10;
/** Raw pack bytes are written in batches of about this much. */
const WRITE_BATCH = 1 << 20;
/**
 * A blob over --max-file-size is never stored; it is only hashed as it streams past, to name its
 * path in the error, when it declares at most this much (inflating costs CPU, never memory).
 */
const NAME_OVERSIZE_UP_TO = 1 << 30;

export interface IndexedPack {
  /** The pack's trailing SHA-1, which names its files. */
  checksum: string;
  packPath: string;
  idxPath: string;
  objects: number;
}

/** A pack the remote sent that is not a valid pack; retrying may help, so the fetch just fails. */
function corrupt(what: string): GitRemoteError {
  return new GitRemoteError(`the remote sent a corrupt pack: ${what}`, 'Unreachable');
}

/** Raw pack bytes: appended to the pack file in batches, summed into the pack checksum and an object's CRC. */
class PackWriter {
  readonly hash = createHash('sha1');
  position = 0;
  crc = 0;
  /** Small pieces (headers, small objects) are gathered here, so the file sees few large writes. */
  private readonly batch = Buffer.allocUnsafe(WRITE_BATCH);
  private batched = 0;
  private readonly fd: number;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {
    this.fd = openSync(path, 'wx');
  }

  write(b: Buffer): void {
    if (!b.length) return;
    this.position += b.length;
    if (this.position > this.maxBytes) throw new FetchLimitError('pack', this.maxBytes, this.maxBytes, 'max-artifact-size');
    this.hash.update(b);
    this.crc = crc32(b, this.crc);
    this.append(b);
  }

  /** The trailing checksum: written, not hashed. */
  writeTrailer(b: Buffer): void {
    this.append(b);
    this.flush();
  }

  private append(b: Buffer): void {
    if (this.batched + b.length > this.batch.length) this.flush();
    if (b.length > this.batch.length / 4) this.writeAll(b);
    else this.batched += b.copy(this.batch, this.batched);
  }

  flush(): void {
    this.writeAll(this.batch.subarray(0, this.batched));
    this.batched = 0;
  }

  private writeAll(b: Buffer): void {
    for (let at = 0; at < b.length; ) at += writeSync(this.fd, b, at, b.length - at);
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** One object as read from the stream. */
interface Entry {
  kind: number;
  /** Inflated size of the object's own data (for a delta, of the delta). */
  size: number;
}

/**
 * Reads a pack from `source` into `<gitdir>/objects/pack/pack-<checksum>.{pack,idx}`, enforcing
 * `limits` from the object headers. On any failure nothing is left behind in objects/pack.
 */
export async function indexPack(source: AsyncIterator<Buffer>, gitdir: string, limits: FetchLimits): Promise<IndexedPack> {
  const dir = join(gitdir, 'objects', 'pack');
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `tmp_pack_${randomBytes(6).toString('hex')}`);
  const out = new PackWriter(tmp, limits.maxTotalSize);
  let closed = false;
  try {
    const parsed = await readPack(new ChunkReader(source), out, limits, gitdir);
    out.close();
    closed = true;
    const oids = resolveDeltas(gitdir, tmp, parsed.offsets, parsed.deltas, parsed.oids, parsed.end, parsed.hasRefDeltas);
    const checksum = parsed.checksum.toString('hex');
    const packPath = join(dir, `pack-${checksum}.pack`);
    const idxPath = join(dir, `pack-${checksum}.idx`);
    const idx = packIndex(oids, parsed.offsets, parsed.crcs, parsed.checksum);
    renameSync(tmp, packPath);
    writeFileSync(`${tmp}.idx`, idx);
    renameSync(`${tmp}.idx`, idxPath);
    return { checksum, packPath, idxPath, objects: parsed.offsets.length };
  } catch (e) {
    if (!closed) out.close();
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.idx`, { force: true });
    throw e;
  }
}

interface ParsedPack {
  offsets: number[];
  crcs: Uint32Array;
  /** 20 bytes per object; zeros for deltas until they are resolved. */
  oids: Buffer;
  /** Indexes of the deltified objects. */
  deltas: number[];
  hasRefDeltas: boolean;
  /** Where the trailing checksum starts. */
  end: number;
  checksum: Buffer;
}

async function readPack(r: ChunkReader, out: PackWriter, limits: FetchLimits, gitdir: string): Promise<ParsedPack> {
  const need = async (n: number) => {
    if (!(await r.fill(n))) throw corrupt('it ends early (truncated)');
  };
  await need(12);
  const head = r.take(12);
  out.write(head);
  if (head.toString('latin1', 0, 4) !== 'PACK') throw corrupt('no PACK signature');
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw corrupt(`unknown pack version ${version}`);
  const count = head.readUInt32BE(8);
  if (count > MAX_OBJECTS) throw new FetchLimitError('objects', count, MAX_OBJECTS);

  const offsets: number[] = [];
  const crcs = new Uint32Array(count);
  const oids = Buffer.alloc(count * 20);
  const deltas: number[] = [];
  let hasRefDeltas = false;
  let total = 0;
  const addToTotal = (size: number) => {
    total += size;
    if (total > limits.maxTotalSize) throw new FetchLimitError('total', total, limits.maxTotalSize, 'max-artifact-size');
  };

  for (let i = 0; i < count; i++) {
    const offset = out.position;
    out.crc = 0;
    // An object header is at most 10 bytes of type and size and 20 of base; parse it from the buffer.
    await r.fill(32);
    const h = r.buffered;
    let at = 0;
    const byte = () => {
      if (at >= h.length) throw corrupt('it ends early (truncated)');
      return h[at++];
    };
    let c = byte();
    const kind = (c >> 4) & 7;
    let size = c & 15;
    for (let shift = 4; c & 0x80; shift += 7) {
      if (shift > 53) throw corrupt(`object ${i} declares an impossible size`);
      c = byte();
      size += (c & 0x7f) * 2 ** shift;
    }
    if (kind === OFS_DELTA) {
      c = byte();
      let rel = c & 0x7f;
      while (c & 0x80) {
        if (rel > 2 ** 45) throw corrupt(`object ${i} has an impossible delta base offset`);
        c = byte();
        rel = (rel + 1) * 128 + (c & 0x7f);
      }
      if (!isOffset(offsets, offset - rel)) throw corrupt(`object ${i} is a delta of offset ${offset - rel}, where no object starts`);
    } else if (kind === REF_DELTA) {
      if (at + 20 > h.length) throw corrupt('it ends early (truncated)');
      at += 20;
      hasRefDeltas = true;
    } else if (!TYPES[kind]) {
      throw corrupt(`object ${i} has unknown type ${kind}`);
    }
    out.write(r.take(at));
    offsets.push(offset);
    const entry: Entry = { kind, size };
    if (TYPES[kind]) {
      if (size > limits.maxFileSize) throw await oversize(r, entry, limits, gitdir, out, offsets);
      addToTotal(size);
      const hash = createHash('sha1').update(`${TYPES[kind]} ${size}\0`);
      await inflateObject(r, out, entry, (chunk) => hash.update(chunk));
      hash.digest().copy(oids, i * 20);
    } else {
      // A delta's data is its result's size plus at most one opcode byte per 127 inserted bytes.
      if (size > limits.maxFileSize + Math.ceil(limits.maxFileSize / 127) + 32) throw new FetchLimitError('file', size, limits.maxFileSize, 'max-file-size');
      const sizes = new DeltaSizes();
      await inflateObject(r, out, entry, (chunk) => {
        if (sizes.target !== undefined) return;
        sizes.push(chunk);
        if (sizes.target === undefined) return;
        if (sizes.target > limits.maxFileSize) throw new FetchLimitError('file', sizes.target, limits.maxFileSize, 'max-file-size');
        addToTotal(sizes.target);
      });
      if (sizes.target === undefined) throw corrupt(`delta ${i} has no result size`);
      deltas.push(i);
    }
    crcs[i] = out.crc;
  }

  const end = out.position;
  const checksum = out.hash.digest();
  await need(20);
  const trailer = r.take(20);
  if (!trailer.equals(checksum)) throw corrupt(`its checksum is ${trailer.toString('hex')}, its content hashes to ${checksum.toString('hex')}`);
  out.writeTrailer(trailer);
  if (await r.fill(1)) throw corrupt('data follows its checksum');
  return { offsets, crcs, oids, deltas, hasRefDeltas, end, checksum };
}

function isOffset(sorted: number[], offset: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] === offset) return true;
    if (sorted[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** A delta's two leading varints (base size, result size), from its first inflated bytes. */
class DeltaSizes {
  target?: number;
  private bytes: number[] = [];

  push(chunk: Buffer): void {
    for (const b of chunk) {
      this.bytes.push(b);
      const ints = varints(this.bytes);
      if (ints.length === 2) {
        this.target = ints[1];
        return;
      }
      if (this.bytes.length > 20) throw corrupt('a delta header is too long');
    }
  }
}

function varints(bytes: number[]): number[] {
  const out: number[] = [];
  let v = 0;
  let shift = 0;
  for (const c of bytes) {
    v += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(c & 0x80)) {
      out.push(v);
      v = 0;
      shift = 0;
    }
  }
  return out;
}

/**
 * Inflates the object's zlib stream, handing each inflated chunk to `onData`, and passes exactly
 * its compressed bytes to `out` (null: consume without writing). Where the stream ends is what zlib
 * reports as consumed (`bytesWritten`); the rest stays in the reader for the next object.
 */
async function inflateObject(r: ChunkReader, out: PackWriter | null, e: Entry, onData: (chunk: Buffer) => void): Promise<void> {
  if (e.size <= SMALL_OBJECT) {
    // Honest zlib streams of this size fit in this many bytes; a padded one takes the slow path.
    await r.fill(e.size + (e.size >> 3) + 64);
    let done: { buffer: Buffer; engine: { bytesWritten: number } } | undefined;
    try {
      done = inflateSync(r.buffered, { info: true, maxOutputLength: Math.max(e.size, 1) }) as unknown as typeof done;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw corrupt(`an object inflates to more than the ${e.size} bytes its header says`);
      if (code !== 'Z_BUF_ERROR') throw corrupt(`zlib: ${(err as Error).message}`);
    }
    if (done) {
      if (done.buffer.length !== e.size) throw corrupt(`an object inflates to ${done.buffer.length} bytes, its header says ${e.size}`);
      onData(done.buffer);
      const raw = r.take(done.engine.bytesWritten);
      out?.write(raw);
      return;
    }
  }
  const inflate = createInflate();
  let produced = 0;
  let failure: unknown;
  inflate.on('data', (chunk: Buffer) => {
    if (failure) return;
    produced += chunk.length;
    try {
      if (produced > e.size) throw corrupt(`an object inflates to more than the ${e.size} bytes its header says`);
      onData(chunk);
    } catch (err) {
      failure = err;
    }
  });
  const errored = new Promise<never>((_, reject) => inflate.once('error', (err) => reject(corrupt(`zlib: ${err.message}`))));
  errored.catch(() => {});
  try {
    let written = 0;
    for (;;) {
      const chunk = await r.chunk();
      if (!chunk.length) throw corrupt('it ends early (truncated)');
      await Promise.race([new Promise<void>((resolve) => inflate.write(chunk, () => resolve())), errored]);
      if (failure) throw failure;
      written += chunk.length;
      const unused = written - inflate.bytesWritten;
      if (unused > 0) {
        out?.write(chunk.subarray(0, chunk.length - unused));
        r.unshift(chunk.subarray(chunk.length - unused));
        break;
      }
      out?.write(chunk);
    }
  } finally {
    inflate.destroy();
  }
  if (produced !== e.size) throw corrupt(`an object inflates to ${produced} bytes, its header says ${e.size}`);
}

/**
 * The error for an undeltified object over --max-file-size. Nothing of it is stored; a blob of up
 * to NAME_OVERSIZE_UP_TO is hashed as it streams past so the error can name its path from the trees
 * already received (git sends trees before blobs), then the fetch stops.
 */
async function oversize(r: ChunkReader, e: Entry, limits: FetchLimits, gitdir: string, out: PackWriter, offsets: number[]): Promise<FetchLimitError> {
  const plain = new FetchLimitError('file', e.size, limits.maxFileSize, 'max-file-size');
  if (TYPES[e.kind] !== 'blob' || e.size > NAME_OVERSIZE_UP_TO) return plain;
  let path: string | undefined;
  try {
    const hash = createHash('sha1').update(`blob ${e.size}\0`);
    await inflateObject(r, null, e, (chunk) => hash.update(chunk));
    out.flush();
    path = pathOf(gitdir, out.path, offsets.slice(0, -1), offsets[offsets.length - 1], hash.digest('hex'));
  } catch {
    return plain;
  }
  return path ? new FetchLimitError('file', e.size, limits.maxFileSize, 'max-file-size', path) : plain;
}

/** Where blob `oid` sits in the tree of the first commit among the objects received so far. */
function pathOf(gitdir: string, packPath: string, offsets: number[], end: number, oid: string): string | undefined {
  const known = new Map<string, number>();
  const store = ObjectStore.unindexed(gitdir, packPath, offsets, end, (key) => known.get(key.toString('hex')));
  try {
    let root: string | undefined;
    for (const offset of offsets) {
      const o = store.readOffset(offset);
      const id = objectId(o.type, o.data).toString('hex');
      known.set(id, offset);
      if (o.type === 'commit') root ??= /^tree ([0-9a-f]{40})/.exec(o.data.toString('latin1', 0, 46))?.[1];
    }
    const seen = new Set<string>();
    const walk = (tree: string, prefix: string): string | undefined => {
      if (seen.has(tree) || !known.has(tree)) return undefined;
      seen.add(tree);
      for (const item of parseTree(store.readOffset(known.get(tree)!).data)) {
        if (item.oid === oid) return prefix + item.name;
        if ((item.mode & 0o170000) === 0o040000) {
          const found = walk(item.oid, `${prefix}${item.name}/`);
          if (found) return found;
        }
      }
      return undefined;
    };
    return root ? walk(root, '') : undefined;
  } finally {
    store.close();
  }
}

function objectId(type: ObjectType, data: Buffer): Buffer {
  return createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest();
}

/**
 * Hashes every delta's result, reading bases back from the pack on disk. Offset deltas resolve in
 * one pass; a ref delta waits until its base's id is known. A base that never turns up means the
 * remote sent a thin pack, which we never ask for.
 */
function resolveDeltas(gitdir: string, packPath: string, offsets: number[], deltas: number[], oids: Buffer, end: number, hasRefDeltas: boolean): Buffer {
  if (!deltas.length) return oids;
  let known: Map<string, number> | undefined;
  if (hasRefDeltas) {
    known = new Map();
    const isDelta = new Set(deltas);
    for (let i = 0; i < offsets.length; i++) if (!isDelta.has(i)) known.set(oids.toString('hex', i * 20, i * 20 + 20), offsets[i]);
  }
  const store = ObjectStore.unindexed(gitdir, packPath, offsets, end, (key) => known?.get(key.toString('hex')));
  try {
    let pending = deltas;
    while (pending.length) {
      const waiting: number[] = [];
      let missing: string | undefined;
      for (const i of pending) {
        let id: Buffer;
        try {
          const o = store.readOffset(offsets[i]);
          id = objectId(o.type, o.data);
        } catch (err) {
          if (err instanceof ObjectNotFoundError) {
            waiting.push(i);
            missing = err.oid;
            continue;
          }
          if (err instanceof GitRemoteError) throw err;
          throw corrupt((err as Error).message);
        }
        id.copy(oids, i * 20);
        known?.set(id.toString('hex'), offsets[i]);
      }
      if (waiting.length === pending.length) throw corrupt(`it is thin: object ${missing}, the base of ${waiting.length} delta(s), is not in it`);
      pending = waiting;
    }
  } finally {
    store.close();
  }
  return oids;
}

/** A version-2 pack index: fanout, sorted ids, CRC32s, 31-bit offsets (+ 64-bit ones), checksums. */
export function packIndex(oids: Buffer, offsets: number[], crcs: Uint32Array, packChecksum: Buffer): Buffer {
  const n = offsets.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => oids.compare(oids, b * 20, b * 20 + 20, a * 20, a * 20 + 20));
  for (let k = 1; k < n; k++) {
    if (oids.compare(oids, order[k] * 20, order[k] * 20 + 20, order[k - 1] * 20, order[k - 1] * 20 + 20) === 0) {
      throw corrupt(`object ${oids.toString('hex', order[k] * 20, order[k] * 20 + 20)} is in it twice`);
    }
  }
  const large = order.filter((i) => offsets[i] >= 0x80000000).length;
  const buf = Buffer.alloc(8 + 256 * 4 + n * 28 + large * 8 + 40);
  buf.writeUInt32BE(0xff744f63, 0);
  buf.writeUInt32BE(2, 4);
  const fanout = 8;
  const names = fanout + 1024;
  const crcAt = names + n * 20;
  const offAt = crcAt + n * 4;
  const largeAt = offAt + n * 4;
  let nextLarge = 0;
  const counts = new Uint32Array(256);
  order.forEach((i, k) => {
    counts[oids[i * 20]]++;
    oids.copy(buf, names + k * 20, i * 20, i * 20 + 20);
    buf.writeUInt32BE(crcs[i], crcAt + k * 4);
    if (offsets[i] < 0x80000000) buf.writeUInt32BE(offsets[i], offAt + k * 4);
    else {
      buf.writeUInt32BE((0x80000000 | nextLarge) >>> 0, offAt + k * 4);
      buf.writeBigUInt64BE(BigInt(offsets[i]), largeAt + nextLarge++ * 8);
    }
  });
  let running = 0;
  for (let b = 0; b < 256; b++) buf.writeUInt32BE((running += counts[b]), fanout + b * 4);
  const tail = largeAt + large * 8;
  packChecksum.copy(buf, tail);
  createHash('sha1')
    .update(buf.subarray(0, tail + 20))
    .digest()
    .copy(buf, tail + 20);
  return buf;
}
