import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ConflictingEntryError, fromDirectory, isSafeEntryPath, readArchive, writeArchive } from './archive.js';
import { ArtifactTooLargeError, UnsafePathError, type ArchiveEntry } from './types.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'archive-test-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const file = (path: string, content: string | Buffer, executable = false): ArchiveEntry => {
  const b = Buffer.from(content);
  return { path, type: 'file', size: b.length, executable, read: async () => Readable.from([b]) };
};

async function headers(archive: string): Promise<Pick<ReadEntry, 'path' | 'type' | 'mode' | 'uid' | 'gid' | 'uname' | 'gname' | 'mtime' | 'size'>[]> {
  const out: Awaited<ReturnType<typeof headers>> = [];
  const parser = new Parser({
    onReadEntry: (e) => {
      out.push({ path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, uname: e.uname, gname: e.gname, mtime: e.mtime, size: e.size });
      e.resume();
    },
  });
  await pipeline(createReadStream(archive), parser);
  return out;
}

/** `n` incompressible, reproducible bytes. */
const noise = (n: number, seed = ''): Buffer =>
  Buffer.concat(Array.from({ length: Math.ceil(n / 64) }, (_, k) => createHash('sha512').update(`${seed}:${k}`).digest())).subarray(0, n);

const sha256 = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');
/** Descriptors of this process open on `f`. */
async function fdsOn(f: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === f) n++;
  return n;
}

/** The same tree, written in the given order, with the given mtime and permission bits. */
async function makeTree(dir: string, order: string[], mtime: number, fileMode: number): Promise<void> {
  const content: Record<string, string> = { 'b/x.yaml': 'kind: X\n', 'a.txt': 'alpha\n', 'b/c/deep.txt': 'deep\n', 'run.sh': '#!/bin/sh\necho hi\n' };
  for (const p of order) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), content[p]);
    await chmod(join(dir, p), p === 'run.sh' ? fileMode | 0o111 : fileMode);
    await utimes(join(dir, p), mtime, mtime);
  }
}

describe('writeArchive', () => {
  test('the same tree gives the same bytes whatever the creation order, mtimes and permission bits', async () => {
    const d1 = join(tmp, 'same1');
    const d2 = join(tmp, 'same2');
    await makeTree(d1, ['a.txt', 'b/x.yaml', 'b/c/deep.txt', 'run.sh'], 1_000_000, 0o644);
    await makeTree(d2, ['run.sh', 'b/c/deep.txt', 'b/x.yaml', 'a.txt'], 1_700_000_000, 0o600);
    const r1 = await writeArchive(fromDirectory(d1), join(tmp, 'same1.tgz'));
    const r2 = await writeArchive(fromDirectory(d2), join(tmp, 'same2.tgz'));
    assert.equal(r1.digest, r2.digest);
    assert.deepEqual(await readFile(join(tmp, 'same1.tgz')), await readFile(join(tmp, 'same2.tgz')));
    assert.equal(r1.digest, `sha256:${await sha256(join(tmp, 'same1.tgz'))}`);
    assert.equal(r1.size, (await readFile(join(tmp, 'same1.tgz'))).length);

    // In-memory entries in reverse order, without directory entries: the same archive again.
    const entries = [file('run.sh', '#!/bin/sh\necho hi\n', true), file('b/x.yaml', 'kind: X\n'), file('b/c/deep.txt', 'deep\n'), file('a.txt', 'alpha\n')];
    const r3 = await writeArchive(entries, join(tmp, 'same3.tgz'));
    assert.equal(r3.digest, r1.digest);
  });

  test('a different tree gives a different digest', async () => {
    const base = [file('a.txt', 'alpha\n'), file('b/x.yaml', 'kind: X\n')];
    const digest = async (entries: ArchiveEntry[], name: string) => (await writeArchive(entries, join(tmp, name))).digest;
    const d0 = await digest(base, 'diff0.tgz');
    const variants = [
      [file('a.txt', 'alpha!\n'), file('b/x.yaml', 'kind: X\n')], // content
      [file('a.txt', 'alpha\n'), file('b/y.yaml', 'kind: X\n')], // name
      [file('a.txt', 'alpha\n', true), file('b/x.yaml', 'kind: X\n')], // executable bit
      [...base, { path: 'empty', type: 'directory' as const }], // an extra directory
    ];
    const seen = new Set([d0]);
    for (const [i, v] of variants.entries()) seen.add(await digest(v, `diff${i + 1}.tgz`));
    assert.equal(seen.size, variants.length + 1);
  });

  test('headers: sorted, parent directories added, uid/gid 0, no names, mtime 0, modes 0644/0755; fixed gzip header', async () => {
    const out = join(tmp, 'headers.tgz');
    await writeArchive([file('z/b.txt', 'b'), file('a-b', 'x'), file('z/a.sh', 'sh', true), file('a/c', 'c')], out);
    const hs = await headers(out);
    assert.deepEqual(
      hs.map((h) => [h.path, h.type, h.mode!.toString(8)]),
      [
        ['a/', 'Directory', '755'], // 'a' < 'a-b' < 'a/c': paths compare without the trailing slash
        ['a-b', 'File', '644'],
        ['a/c', 'File', '644'],
        ['z/', 'Directory', '755'],
        ['z/a.sh', 'File', '755'],
        ['z/b.txt', 'File', '644'],
      ],
    );
    for (const h of hs) {
      assert.equal(h.uid, 0);
      assert.equal(h.gid, 0);
      assert.equal(h.uname || '', '');
      assert.equal(h.gname || '', '');
      assert.equal(h.mtime?.getTime(), 0);
    }
    const head = (await readFile(out)).subarray(0, 10);
    assert.deepEqual([...head], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]); // no name, mtime 0, XFL 0, OS Unix
    assert.ok(!gunzipSync(await readFile(out)).includes('PaxHeader'), 'short paths need no PAX record');
  });

  test('long and non-ASCII paths survive, read back by node-tar and GNU tar', async () => {
    const long = `${'d'.repeat(120)}/${'e'.repeat(150)}/file.yaml`;
    const accented = `naïve/${'é'.repeat(60)}.txt`;
    const out = join(tmp, 'long.tgz');
    await writeArchive([file(long, 'long\n'), file(accented, 'accent\n')], out);
    const paths = (await headers(out)).map((h) => h.path);
    assert.ok(paths.includes(long) && paths.includes(accented), paths.join('\n'));
    assert.ok(gunzipSync(await readFile(out)).includes('PaxHeader'));
    const x = join(tmp, 'long-x');
    await mkdir(x);
    execFileSync('tar', ['-xzf', out, '-C', x], { stdio: ['ignore', 'ignore', 'pipe'] });
    assert.equal(await readFile(join(x, long), 'utf8'), 'long\n');
    assert.equal(await readFile(join(x, accented), 'utf8'), 'accent\n');
  });

  test('unsafe paths are refused and nothing is written', async () => {
    for (const p of ['../x', '/etc/passwd', 'a/../../b', 'a//b', '', './a', 'a/.', 'a\0b', 'a/']) {
      assert.equal(isSafeEntryPath(p), false, p);
      const out = join(tmp, 'unsafe.tgz');
      await assert.rejects(writeArchive([file('ok', 'x'), file(p, 'x')], out), UnsafePathError);
      assert.equal(existsSync(out), false);
    }
    for (const p of ['a', 'a/b.c', '.hidden/..x', 'a\\b']) assert.equal(isSafeEntryPath(p), true, p);
  });

  test('conflicting entries are refused', async () => {
    await assert.rejects(writeArchive([file('a', 'x'), file('a/b', 'y')], join(tmp, 'c1.tgz')), ConflictingEntryError);
    await assert.rejects(writeArchive([file('a/b', 'y'), file('a', 'x')], join(tmp, 'c2.tgz')), ConflictingEntryError);
    await assert.rejects(writeArchive([file('a', 'x'), file('a', 'x')], join(tmp, 'c3.tgz')), ConflictingEntryError);
  });

  test('maxBytes refuses a large file before reading it, naming it, and leaves no file', async () => {
    let read = false;
    const big: ArchiveEntry = {
      path: 'data/big.bin',
      type: 'file',
      size: 100 * 1024 * 1024,
      read: async () => {
        read = true;
        return Readable.from([]);
      },
    };
    const out = join(tmp, 'big.tgz');
    const err = await writeArchive([file('a.txt', 'small'), big], out, { maxBytes: 10 * 1024 * 1024 }).catch((e) => e);
    assert.ok(err instanceof ArtifactTooLargeError);
    assert.equal(err.path, 'data/big.bin');
    assert.match(err.message, /data\/big\.bin/);
    assert.equal(read, false);
    assert.equal(existsSync(out), false);
  });

  test('maxBytes also caps the compressed output', async () => {
    const content = noise(1024);
    const out = join(tmp, 'compressed.tgz');
    const err = await writeArchive([file('r.bin', content)], out, { maxBytes: 1100 }).catch((e) => e);
    assert.ok(err instanceof ArtifactTooLargeError, String(err));
    assert.equal(existsSync(out), false);
  });

  test('a file whose content differs from its declared size fails the archive', async () => {
    const out = join(tmp, 'mismatch.tgz');
    const liar: ArchiveEntry = { path: 'x', type: 'file', size: 10, read: async () => Buffer.from('short') };
    await assert.rejects(writeArchive([liar], out), /changed while archiving/);
    assert.equal(existsSync(out), false);
  });

  test('writes to a stream', async () => {
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({
      write(c, _e, cb) {
        chunks.push(c);
        cb();
      },
    });
    const r = await writeArchive([file('a', 'x')], sink);
    const bytes = Buffer.concat(chunks);
    assert.equal(r.size, bytes.length);
    assert.equal(r.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  });
});

describe('fromDirectory', () => {
  test('skips symlinks (never followed) and anything not a regular file or directory', async () => {
    const d = join(tmp, 'links');
    await mkdir(join(d, 'real'), { recursive: true });
    await writeFile(join(d, 'real', 'f.txt'), 'f');
    await writeFile(join(tmp, 'outside.txt'), 'secret');
    await symlink(join(tmp, 'outside.txt'), join(d, 'to-outside'));
    await symlink('/', join(d, 'root-dir'));
    await symlink('real', join(d, 'to-real'));
    execFileSync('mkfifo', [join(d, 'fifo')]);
    const seen = [];
    for await (const e of fromDirectory(d)) seen.push(`${e.type}:${e.path}`);
    assert.deepEqual(seen.sort(), ['directory:real', 'file:real/f.txt']);
  });
});

describe('readArchive', () => {
  test('round trip: an artifact read back and written again gives the same bytes, with the fd closed', async () => {
    const d = join(tmp, 'rt');
    await makeTree(d, ['a.txt', 'b/x.yaml', 'b/c/deep.txt', 'run.sh'], 5, 0o644);
    const a = join(tmp, 'rt-a.tgz');
    const b = join(tmp, 'rt-b.tgz');
    const ra = await writeArchive(fromDirectory(d), a);
    const rb = await writeArchive(readArchive(a), b);
    assert.equal(rb.digest, ra.digest);
    assert.equal(await fdsOn(a), 0, 'the reader closed its file after the last entry');
  });

  test('round trip with big files among small ones (read in archive order, no rescans needed)', async () => {
    const entries = [file('a', 'A'), file('b.bin', noise(1 << 20)), file('c', 'C'), file('d', 'D'), file('e.bin', noise(512 * 1024)), file('f', 'F')];
    const a = join(tmp, 'big-a.tgz');
    const b = join(tmp, 'big-b.tgz');
    const ra = await writeArchive(entries, a);
    assert.equal((await writeArchive(readArchive(a), b)).digest, ra.digest);
    assert.equal(await fdsOn(a), 0);
  });

  test('a reader left mid-way closes its file when idle', async () => {
    const a = join(tmp, 'idle.tgz');
    await writeArchive([file('a', 'A'), file('b', noise(1 << 20))], a);
    const entries: ArchiveEntry[] = [];
    for await (const e of readArchive(a)) entries.push(e);
    for await (const c of (await entries[0].read!()) as NodeJS.ReadableStream) void c;
    assert.equal(await fdsOn(a), 1, 'kept open for the next read');
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(await fdsOn(a), 0);
  });

  test('include: entries under a prefix, merged with others, carry the right contents', async () => {
    const inc = join(tmp, 'inc.tgz');
    await writeArchive([file('deploy/app.yaml', 'app\n'), file('deploy/run.sh', 'run\n', true), file('README', 'readme\n')], inc);
    const entries: ArchiveEntry[] = [file('a.txt', 'own\n'), file('z.txt', 'own z\n')];
    for await (const e of readArchive(inc)) entries.push({ ...e, path: `vendor/${e.path}` });
    const out = join(tmp, 'merged.tgz');
    await writeArchive(entries, out);
    const x = join(tmp, 'merged-x');
    await mkdir(x);
    execFileSync('tar', ['-xzf', out, '-C', x]);
    assert.equal(await readFile(join(x, 'vendor/deploy/app.yaml'), 'utf8'), 'app\n');
    assert.equal(await readFile(join(x, 'vendor/README'), 'utf8'), 'readme\n');
    assert.equal(await readFile(join(x, 'z.txt'), 'utf8'), 'own z\n');
    const modes = Object.fromEntries((await headers(out)).map((h) => [h.path, h.mode!.toString(8)]));
    assert.equal(modes['vendor/deploy/run.sh'], '755');
  });

  test('contents read out of order are still right', async () => {
    const src = join(tmp, 'ooo.tgz');
    await writeArchive([file('a', 'A'), file('b', 'B'), file('c', 'C')], src);
    const r = readArchive(src);
    const entries: ArchiveEntry[] = [];
    for await (const e of r) entries.push(e);
    const text = async (e: ArchiveEntry) => {
      const s = (await e.read!()) as NodeJS.ReadableStream;
      let t = '';
      for await (const c of s) t += c.toString();
      return t;
    };
    assert.equal(await text(entries[2]), 'C');
    assert.equal(await text(entries[0]), 'A');
    assert.equal(await text(entries[1]), 'B');
    r.close();
  });

  test('an archive with an unsafe path is refused', async () => {
    const evil = join(tmp, 'evil.tgz');
    const x = join(tmp, 'evil-src');
    await mkdir(x);
    await writeFile(join(x, 'f'), 'f');
    execFileSync('tar', ['-czf', evil, '-P', '-C', x, '--transform', 's,^f,../escape,', 'f']);
    await assert.rejects(async () => {
      for await (const e of readArchive(evil)) void e;
    }, UnsafePathError);
  });
});

test('throughput: ~2,000 files / 20 MB', async (t) => {
  const d = join(tmp, 'bulk');
  let total = 0;
  for (let i = 0; i < 2000; i++) {
    const dir = join(d, `dir${i % 40}`, `sub${i % 7}`);
    await mkdir(dir, { recursive: true });
    // Half text-like (compressible), half noise, ~10 KB each.
    const size = 10_000 + (i % 500);
    const body =
      i % 2
        ? Buffer.alloc(size, `line ${i}: the quick brown fox jumps over the lazy dog\n`)
        : noise(size, String(i));
    await writeFile(join(dir, `file${i}.dat`), body);
    total += size;
  }
  const out = join(tmp, 'bulk.tgz');
  const start = process.hrtime.bigint();
  const r = await writeArchive(fromDirectory(d), out);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const tarStart = process.hrtime.bigint();
  execFileSync('tar', ['-czf', join(tmp, 'bulk-gnu.tgz'), '-C', d, '.']);
  const tarMs = Number(process.hrtime.bigint() - tarStart) / 1e6;
  t.diagnostic(
    `archived 2000 files, ${(total / 1e6).toFixed(1)} MB → ${(r.size / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms ` +
      `(${(total / 1e6 / (ms / 1000)).toFixed(1)} MB/s); GNU tar czf: ${tarMs.toFixed(0)} ms, ratio ${(ms / tarMs).toFixed(2)}`,
  );
  assert.equal(r.digest, `sha256:${await sha256(out)}`);
});
