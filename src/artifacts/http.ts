// Serving a stored artifact over HTTP: streamed from the file, ETag = digest, one byte range at most.
// A request for several ranges gets the whole file with 200, which RFC 9110 allows (a server may
// ignore Range), rather than a multipart/byteranges body no artifact client asks for.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

export interface ByteRange {
  start: number;
  end: number; // inclusive
}

/**
 * A single `bytes=a-b`, `bytes=a-` or `bytes=-n` against `size`: the range, 'unsatisfiable', or
 * undefined to serve the whole file (no header, a malformed one, another unit, several ranges).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.replace(/\s+/g, ''));
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    return n === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (end < start && m[2] !== '') return undefined;
  return start >= size ? 'unsatisfiable' : { start, end: Math.min(end, size - 1) };
}

const etagListMatches = (header: string | undefined, etag: string): boolean =>
  header !== undefined && header.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === etag);

/**
 * Answers GET or HEAD for `file`. Rejects only before anything is sent (the file is gone or does not
 * have `o.size` bytes), so the caller can still answer with an error; a client that disconnects
 * mid-download ends the stream, and the file is closed either way.
 */
export async function serveArtifact(req: IncomingMessage, res: ServerResponse, file: string, o: { digest: string; size: number }): Promise<void> {
  const etag = `"${o.digest}"`;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  if (etagListMatches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, { ETag: etag }).end();
    return;
  }
  const ifRange = req.headers['if-range']?.toString();
  const range = ifRange === undefined || ifRange.trim() === etag ? parseRange(req.headers.range, o.size) : undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${o.size}`, ETag: etag, 'Accept-Ranges': 'bytes' }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: o.size - 1 };
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/gzip',
    'Content-Length': end - start + 1,
    ETag: etag,
    'Accept-Ranges': 'bytes',
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${o.size}`;
  if (req.method === 'HEAD' || end < start) {
    res.writeHead(range ? 206 : 200, headers).end();
    return;
  }
  const f = await open(file, 'r');
  try {
    const { size } = await f.stat();
    if (size !== o.size) throw new Error(`artifact ${file} has ${size} bytes, expected ${o.size}`);
  } catch (e) {
    await f.close();
    throw e;
  }
  res.writeHead(range ? 206 : 200, headers);
  // The stream owns the handle (autoClose): it closes on end and when pipeline destroys it.
  await pipeline(f.createReadStream({ start, end }), res).catch(() => {
    // The client went away or the read failed after the headers went out: nothing left to answer.
  });
}
