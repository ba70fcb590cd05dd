// Our Git smart-HTTP upload-pack client: protocol v0/v1 stateless RPC, as `git fetch` speaks it over
// HTTP. One POST of `want` lines (and `deepen` for a shallow fetch), then the response: the
// shallow-update section, NAK, and the pack multiplexed on side-band 1, which streams into the pack
// indexer without ever being held in memory.

import { redactUrl, httpStatusError } from './errors.js';
import type { Send } from './http.js';
import type { FetchLimits } from './limits.js';
import { indexPack, type IndexedPack } from './pack-indexer.js';
import { ChunkReader, FLUSH, PktReader, pktLine, sideBandData } from './pkt-line.js';
import { GitRemoteError } from './types.js';

/** What we ask a server for, when it offers it. */
const WANTED_CAPABILITIES = ['side-band-64k', 'ofs-delta', 'shallow', 'no-progress'];
const AGENT = 'gitops-toolkit';
/** Depth-1 fetches of a few objects get as many shallow lines; anything far beyond is a broken server. */
const MAX_SHALLOW_LINES = 10_000;

/** The server refused a want it does not advertise ("not our ref"): the caller may fetch a branch instead. */
export class WantRefusedError extends GitRemoteError {
  constructor(message: string) {
    super(message, 'RefNotFound');
  }
}

export interface UploadPackRequest {
  wants: string[];
  /** 1: exactly the wanted objects and their trees; unset: their whole history. */
  depth?: number;
}

export interface UploadPackResult {
  pack: IndexedPack;
  /** Commits whose parents were left out (the `shallow` lines). */
  shallow: string[];
}

/** `upload-pack` capabilities to send: ours, among those `advertised`. */
function capabilities(advertised: string[], depth: number | undefined): string[] {
  const offered = new Set(advertised.map((c) => c.split('=')[0]));
  const caps = WANTED_CAPABILITIES.filter((c) => offered.has(c) && (c !== 'shallow' || depth));
  if (!caps.includes('side-band-64k') && offered.has('side-band')) caps.unshift('side-band');
  if (offered.has('agent')) caps.push(`agent=${AGENT}`);
  return caps;
}

/**
 * Fetches `req.wants` from the remote at `url` (the repository URL, without credentials) into
 * `gitdir`'s objects/pack, within `limits`. `advertised` are the capabilities from its info/refs.
 */
export async function uploadPack(send: Send, url: string, advertised: string[], req: UploadPackRequest, gitdir: string, limits: FetchLimits): Promise<UploadPackResult> {
  const caps = capabilities(advertised, req.depth);
  const deepen = req.depth !== undefined && caps.includes('shallow');
  const lines = req.wants.map((w, i) => pktLine(`want ${w}${i === 0 ? ` ${caps.join(' ')}` : ''}\n`));
  if (deepen) lines.push(pktLine(`deepen ${req.depth}\n`));
  const body = Buffer.concat([...lines, FLUSH, pktLine('done\n')]);
  const res = await send({
    url: `${url.replace(/\/+$/, '')}/git-upload-pack`,
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', accept: 'application/x-git-upload-pack-result', 'user-agent': `git/${AGENT}` },
    body,
  });
  try {
    if (res.statusCode !== 200) throw httpStatusError(res.statusCode, res.statusMessage, url);
    if (res.headers['content-type'] !== 'application/x-git-upload-pack-result') {
      throw new GitRemoteError(`failed to fetch ${redactUrl(url)}: the URL does not serve a Git repository over smart HTTP`, 'NotFound');
    }
    const reader = new ChunkReader(res.body[Symbol.asyncIterator]());
    const pkt = new PktReader(reader);
    const shallow: string[] = [];
    if (deepen) {
      for (let line = await pkt.readText(); line !== null; line = await pkt.readText()) {
        const m = /^(shallow|unshallow) ([0-9a-f]{40})$/.exec(line);
        if (!m) throw unexpected(line, 'in the shallow-update section');
        if (m[1] === 'shallow') shallow.push(m[2]);
        if (shallow.length > MAX_SHALLOW_LINES) throw new GitRemoteError('the remote sent more shallow lines than it was asked commits', 'Unreachable');
      }
    }
    const ack = await pkt.readText();
    if (ack === null || !/^(NAK|ACK [0-9a-f]{40})/.test(ack)) throw unexpected(ack ?? '0000', 'where NAK belongs');
    const data = caps.some((c) => c.startsWith('side-band')) ? sideBandData(pkt) : rest(reader);
    const pack = await indexPack(data, gitdir, limits);
    return { pack, shallow };
  } finally {
    res.body.destroy();
  }
}

/** An ERR line from the server, or a line that has no business where it is. */
function unexpected(line: string, where: string): GitRemoteError {
  if (line.startsWith('ERR ')) {
    const message = line.slice(4).trim();
    if (/not our ref/.test(message)) return new WantRefusedError(`the remote refused the request: ${message}`);
    return new GitRemoteError(`the remote reported an error: ${message}`, 'Unreachable');
  }
  return new GitRemoteError(`the remote sent ${JSON.stringify(line.slice(0, 80))} ${where}`, 'Unreachable');
}

/** The raw pack of a server without side-band: everything after NAK. */
async function* rest(reader: ChunkReader): AsyncGenerator<Buffer> {
  for (let c = await reader.chunk(); c.length; c = await reader.chunk()) yield c;
}
