// Git's pkt-line framing (four hex digits of length, then the payload; 0000 is a flush) and the
// side-band multiplexing of an upload-pack response: band 1 carries the pack, band 2 progress, band 3
// a fatal error. Reads from a stream of chunks without gathering it: a payload is at most 65,516 bytes.

import { GitRemoteError } from './types.js';

/** The largest pkt-line, length prefix included. */
const MAX_PKT = 65520;

export function pktLine(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'latin1'), payload]);
}

export const FLUSH = Buffer.from('0000', 'latin1');

/** Buffered reads over an async stream of chunks. */
export class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Has at least `n` bytes buffered, or false when the stream ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.buf.length < n) {
      if (this.done) return false;
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.buf = this.buf.length ? Buffer.concat([this.buf, next.value]) : next.value;
    }
    return true;
  }

  /** Buffered bytes, without consuming them. */
  get buffered(): Buffer {
    return this.buf;
  }

  /** Puts bytes back in front (what a consumer read past its end). */
  unshift(b: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : b;
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Whatever is buffered, or the next chunk; empty at the end of the stream. */
  async chunk(): Promise<Buffer> {
    if (!this.buf.length && !(await this.fill(1))) return Buffer.alloc(0);
    return this.take(this.buf.length);
  }
}

/** Reads pkt-lines: a Buffer payload, or null for a flush (and the delim/response-end packets). */
export class PktReader {
  constructor(private readonly r: ChunkReader) {}

  async read(): Promise<Buffer | null> {
    if (!(await this.r.fill(4))) throw new GitRemoteError('the remote ended its response in the middle of the protocol', 'Unreachable');
    const head = this.r.take(4).toString('latin1');
    if (!/^[0-9a-f]{4}$/.test(head)) throw new GitRemoteError(`the remote sent a malformed pkt-line (${JSON.stringify(head)})`, 'Unreachable');
    const len = parseInt(head, 16);
    if (len < 4) return null;
    if (len > MAX_PKT) throw new GitRemoteError(`the remote sent a pkt-line of ${len} bytes, longer than Git allows`, 'Unreachable');
    if (!(await this.r.fill(len - 4))) throw new GitRemoteError('the remote ended its response in the middle of a pkt-line', 'Unreachable');
    return this.r.take(len - 4);
  }

  /** A text line, without its trailing LF; null for a flush. */
  async readText(): Promise<string | null> {
    const p = await this.read();
    return p === null ? null : p.toString('utf8').replace(/\n$/, '');
  }
}

/**
 * The pack bytes of a side-band stream. Progress (band 2) is dropped; band 3 ends the fetch with the
 * server's message. The stream must end with a flush.
 */
export async function* sideBandData(pkt: PktReader): AsyncGenerator<Buffer> {
  for (;;) {
    const p = await pkt.read();
    if (p === null) return;
    if (p.length === 0) continue;
    const band = p[0];
    if (band === 1) yield p.subarray(1);
    else if (band === 2) continue;
    else if (band === 3) throw new GitRemoteError(`the remote reported an error: ${p.subarray(1).toString('utf8').trim()}`, 'Unreachable');
    else throw new GitRemoteError(`the remote sent side-band ${band}, which does not exist`, 'Unreachable');
  }
}
