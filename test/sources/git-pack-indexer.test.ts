// indexPack against packs written by real git (`git pack-objects`): the .idx it writes is byte for
// byte the one `git index-pack` writes for the same pack, with offset deltas, ref deltas and any chunk
// boundaries; thin, truncated and corrupt packs are refused; the limits apply from the object headers,
// a delta's declared result size included.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { FetchLimitError, type FetchLimits } from '../../src/sources/git/limits.js';
import { ObjectStore } from '../../src/sources/git/objects.js';
import { indexPack } from '../../src/sources/git/pack-indexer.js';
import { GitRemoteError } from '../../src/sources/git/types.js';
import { GitServer } from '../helpers/git-server.js';

const ROOMY: FetchLimits = { maxFileSize: 64 << 20, maxTotalSize: 256 << 20 };

/** The pack in chunks of pseudo-random sizes from 1 byte to 8 KiB, so every boundary gets hit somewhere. */
async function* chunks(pack: Buffer, seed = 7): AsyncGenerator<Buffer> {
  let x = seed;
  for (let i = 0; i < pack.length; ) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = 1 + (x % (x & 1 ? 16 : 8192));
    yield pack.subarray(i, i + n);
    i += n;
  }
}

/** A pack by hand: objects as [type number, inflated data, for an ofs-delta how many objects back its base is]. */
function handPack(objects: [number, Buffer, number?][]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(objects.length, 8);
  parts.push(head);
  const offsets: number[] = [];
  let at = 12;
  for (const [kind, data, back] of objects) {
    offsets.push(at);
    const h: number[] = [];
    let size = data.length;
    let c = (kind << 4) | (size & 15);
    size = Math.floor(size / 16);
    while (size) {
      h.push(c | 0x80);
      c = size & 0x7f;
      size = Math.floor(size / 128);
    }
    h.push(c);
    if (kind === 6) {
      let rel = at - offsets[offsets.length - 1 - back!];
      const enc = [rel & 0x7f];
      while ((rel >>= 7)) enc.unshift((--rel & 0x7f) | 0x80);
      h.push(...enc);
    }
    const body = Buffer.concat([Buffer.from(h), deflateSync(data)]);
    parts.push(body);
    at += body.length;
  }
  const all = Buffer.concat(parts);
  return Buffer.concat([all, createHash('sha1').update(all).digest()]);
}

describe('indexPack', () => {
  let s: GitServer;
  let work: string;
  let n = 0;
  const gitdir = () => join(work, `repo-${++n}`);
  const packOf = async (args: string[], revs: string) => (await s.run('git', ['--git-dir', s.gitDir('deltas'), 'pack-objects', '--stdout', '--revs', '-q', ...args], { input: revs })).stdout;

  before(async () => {
    s = await GitServer.start();
    work = await mkdtemp(join(tmpdir(), 'pack-indexer-test-'));
    await s.createRepo('deltas');
    const base = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(i % 60)}`);
    for (let v = 0; v < 25; v++) {
      const lines = [...base];
      lines[v * 9] = `changed in version ${v}`;
      await s.commit('deltas', { 'doc.txt': lines.join('\n'), [`dir/v${v % 3}.txt`]: lines.slice(v).join('\n'), 'big.bin': Buffer.alloc(300_000 + v, v) }, { message: `v${v}` });
    }
  });
  after(async () => {
    await s.stop();
    await rm(work, { recursive: true, force: true });
  });

  for (const [name, args] of [
    ['offset deltas', ['--delta-base-offset']],
    ['ref deltas', []],
  ] as const) {
    it(`writes the index git index-pack writes, for a pack with ${name}`, async () => {
      const pack = await packOf([...args], 'refs/heads/main\n');
      const dir = gitdir();
      const r = await indexPack(chunks(pack), dir, ROOMY);
      assert.deepEqual(await readFile(r.packPath), pack, 'the pack is stored as it came');
      const verify = await s.run('git', ['verify-pack', '-v', r.idxPath]);
      assert.match(verify.stdout.toString(), /chain length = [2-9]/, 'the pack has delta chains');
      const theirs = join(work, `theirs-${n}.idx`);
      await s.run('git', ['index-pack', '-o', theirs, r.packPath]);
      assert.ok((await readFile(r.idxPath)).equals(await readFile(theirs)), 'same .idx bytes as git index-pack');
      assert.equal(r.objects, Number((await s.git(['rev-list', '--objects', '--all'], { repo: 'deltas' })).split('\n').length));

      // objects.ts reads every object back, and each one hashes to its id.
      const store = await ObjectStore.open(dir);
      try {
        const listed = (await s.git(['rev-list', '--objects', '--all'], { repo: 'deltas' })).split('\n').map((l) => l.slice(0, 40));
        for (const oid of listed) {
          const o = await store.read(oid);
          assert.equal(createHash('sha1').update(`${o.type} ${o.data.length}\0`).update(o.data).digest('hex'), oid);
        }
      } finally {
        store.close();
      }
    });
  }

  it('refuses a thin pack, naming the missing base, and leaves nothing behind', async () => {
    const pack = await packOf(['--thin', '--delta-base-offset'], 'refs/heads/main\n^refs/heads/main~3\n');
    const dir = gitdir();
    await assert.rejects(indexPack(chunks(pack), dir, ROOMY), (e: unknown) => e instanceof GitRemoteError && /corrupt pack: it is thin: object [0-9a-f]{40}, the base of \d+ delta/.test(e.message));
    assert.deepEqual(await readdir(join(dir, 'objects', 'pack')), []);
  });

  it('refuses a truncated pack and one whose bytes or checksum were altered', async () => {
    const pack = await packOf(['--delta-base-offset'], 'refs/heads/main\n');
    const refused = (p: Buffer, re: RegExp) => assert.rejects(indexPack(chunks(p), gitdir(), ROOMY), (e: unknown) => e instanceof GitRemoteError && re.test(e.message));
    await refused(pack.subarray(0, pack.length - 30), /truncated/);
    await refused(pack.subarray(0, 5000), /truncated/);
    const badSum = Buffer.from(pack);
    badSum[badSum.length - 1] ^= 1;
    await refused(badSum, /checksum is [0-9a-f]{40}, its content hashes to/);
    const badByte = Buffer.from(pack);
    badByte[Math.floor(pack.length / 2)] ^= 0x40;
    await refused(badByte, /corrupt pack/);
    await refused(Buffer.concat([pack, Buffer.from('x')]), /data follows its checksum/);
  });

  it('stops at the header of an object over the file limit, or when the total passes its limit', async () => {
    const blob = (k: number) => [3, Buffer.alloc(3000, k)] as [number, Buffer];
    const tooBig = handPack([blob(1), [3, Buffer.alloc(10_000, 2)], blob(3)]);
    const e = await indexPack(chunks(tooBig), gitdir(), { maxFileSize: 5000, maxTotalSize: 1 << 20 }).catch((x) => x);
    assert.ok(e instanceof FetchLimitError, String(e));
    assert.deepEqual([e.kind, e.size, e.limit, e.flag], ['file', 10_000, 5000, 'max-file-size']);
    assert.equal(e.message, 'the repository holds a file of 9.8 KiB, over the limit of 4.9 KiB (--max-file-size)');

    const many = handPack([blob(1), blob(2), blob(3), blob(4)]);
    const t = await indexPack(chunks(many), gitdir(), { maxFileSize: 5000, maxTotalSize: 10_000 }).catch((x) => x);
    assert.ok(t instanceof FetchLimitError, String(t));
    assert.deepEqual([t.kind, t.size, t.flag], ['total', 12_000, 'max-artifact-size']);

    // Random bytes do not compress: the pack's own bytes pass the limit before the inflated sum does.
    const random = handPack([[3, randomBytes(3000)]]);
    const packBytes = await indexPack(chunks(random), gitdir(), { maxFileSize: 5000, maxTotalSize: 3005 }).catch((x) => x);
    assert.ok(packBytes instanceof FetchLimitError && packBytes.kind === 'pack', String(packBytes));
    assert.equal(packBytes.message, 'the remote sent a pack larger than the limit of 2.9 KiB (--max-artifact-size)');
  });

  it('applies the file limit to a delta’s declared result size, before building it', async () => {
    // A 1 GiB result from a 10-byte base and a few bytes of delta: only the header says how big.
    const delta = Buffer.from([10, 0x80, 0x80, 0x80, 0x80, 0x04, 0x01, 0x61]);
    const pack = handPack([
      [3, Buffer.from('0123456789')],
      [6, delta, 1],
    ]);
    const e = await indexPack(chunks(pack), gitdir(), { maxFileSize: 1 << 20, maxTotalSize: 1 << 30 }).catch((x) => x);
    assert.ok(e instanceof FetchLimitError, String(e));
    assert.deepEqual([e.kind, e.size], ['file', 2 ** 30]);
    assert.match(e.message, /a file of 1 GiB, over the limit of 1 MiB \(--max-file-size\)/);
  });
});
