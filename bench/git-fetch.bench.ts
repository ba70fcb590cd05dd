// The Git fetcher alone, against git http-backend on loopback: a generated repository of about
// 2,000 files / 20 MB. Baseline in the same run: `git clone --depth 1` of the same URL. Prints
// figures and ratios, asserts nothing.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchCommit, treeEntries } from '../src/sources/git/fetch.js';
import { lsRemote, resolveRef } from '../src/sources/git/remote.js';
import { GitServer } from '../test/helpers/git-server.js';

const ROUNDS = 3;
const s = await GitServer.start();
const work = await mkdtemp(join(tmpdir(), 'git-fetch-bench-'));
try {
  const files: Record<string, Buffer> = {};
  let total = 0;
  for (let i = 0; i < 2000; i++) {
    const size = 2000 + ((i * 7919) % 16000);
    // Base64 text: compresses about as well as source code does.
    files[`dir${i % 40}/sub${i % 7}/file${i}.txt`] = Buffer.from(randomBytes(Math.ceil(size * 0.75)).toString('base64').replace(/(.{76})/g, '$1\n')).subarray(0, size);
    total += size;
  }
  await s.createRepo('big', { files });
  console.log(`repository: 2000 files, ${(total / 1e6).toFixed(1)} MB`);

  const rows: { cli: number; fetch: number; entries: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    await s.run('git', ['clone', '--quiet', '--depth', '1', s.url('big'), join(work, `clone-${round}`)]);
    const cli = performance.now() - t;

    const dir = join(work, `cache-${round}`);
    t = performance.now();
    const r = resolveRef(await lsRemote(s.url('big')));
    await fetchCommit(s.url('big'), r, {}, dir);
    const fetched = performance.now() - t;
    let bytes = 0;
    for await (const e of treeEntries(dir, r.commit)) {
      if (!e.read) continue;
      const c = await e.read();
      if (c instanceof Uint8Array) bytes += c.byteLength;
      else for await (const chunk of c as AsyncIterable<Buffer>) bytes += chunk.length;
    }
    if (bytes !== total) throw new Error(`read ${bytes} bytes, expected ${total}`);
    rows.push({ cli, fetch: fetched, entries: performance.now() - t - fetched });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cli = median(rows.map((r) => r.cli));
  const fetch = median(rows.map((r) => r.fetch));
  const entries = median(rows.map((r) => r.entries));
  console.log(`git clone --depth 1:            ${cli.toFixed(0)} ms`);
  console.log(`lsRemote + fetchCommit:         ${fetch.toFixed(0)} ms`);
  console.log(`treeEntries, all blobs read:    ${entries.toFixed(0)} ms`);
  console.log(`ratio (fetch + entries) / clone: ${((fetch + entries) / cli).toFixed(2)}`);

  s.resetRequests();
  const t = performance.now();
  for (let i = 0; i < 20; i++) resolveRef(await lsRemote(s.url('big')));
  const poll = (performance.now() - t) / 20;
  console.log(`no-change poll: ${poll.toFixed(1)} ms, ${s.requests.length / 20} request(s) of ${s.requests[0].bytesOut} bytes`);
  console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
} finally {
  await s.stop();
  await rm(work, { recursive: true, force: true });
}
