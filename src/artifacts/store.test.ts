import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ArtifactStore, ownerKey } from './store.js';
import { ArtifactNotFoundError, ArtifactTooLargeError, UnsafePathError, type ArchiveEntry, type ArtifactOwner } from './types.js';

const file = (path: string, content: string | Buffer): ArchiveEntry => {
  const b = Buffer.from(content);
  return { path, type: 'file', size: b.length, read: async () => b };
};
const tree = (tag: string) => [file('a.txt', `a ${tag}\n`), file('dir/b.yaml', `b: ${tag}\n`)];
const owner = (name: string, namespace = 'default', kind = 'GitRepository'): ArtifactOwner => ({ kind, namespace, name });

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'store-test-'));
  store = new ArtifactStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const ls = async (rel: string) => ((await readdir(join(root, rel)).catch(() => [])) as string[]).sort();

describe('ArtifactStore.store', () => {
  test('records a content-addressed artifact under the owner', async () => {
    const a = await store.store(owner('podinfo'), tree('1'));
    const hex = a.digest.slice('sha256:'.length);
    assert.equal(a.path, `gitrepository/default/podinfo/${hex}.tar.gz`);
    assert.match(a.lastUpdateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const bytes = await readFile(store.absolute(a.path));
    assert.equal(a.size, bytes.length);
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, a.digest);
    assert.deepEqual(await store.open(a.path), { file: join(root, a.path), size: a.size });
    assert.deepEqual(await ls('tmp'), [], 'no temp file left');
  });

  test('two owners with the same content share one content file, two links', async () => {
    const a = await store.store(owner('one'), tree('same'));
    const b = await store.store(owner('two', 'other'), tree('same'));
    assert.equal(a.digest, b.digest);
    assert.notEqual(a.path, b.path);
    const hex = a.digest.slice(7);
    assert.deepEqual(await ls('sha256'), [`${hex}.tar.gz`]);
    const st = await stat(join(root, 'sha256', `${hex}.tar.gz`));
    assert.equal(st.nlink, 3); // the content file and two owners
    assert.equal((await stat(store.absolute(a.path))).ino, st.ino);
    assert.equal(await store.totalBytes(), a.size);
    const c = await store.store(owner('three'), tree('different'));
    assert.equal(await store.totalBytes(), a.size + c.size);
  });

  test('maxBytes: refused, nothing stored, no temp file', async () => {
    await assert.rejects(store.store(owner('big'), [file('big.bin', Buffer.alloc(4096))], { maxBytes: 1024 }), ArtifactTooLargeError);
    assert.deepEqual(await ls('tmp'), []);
    assert.deepEqual(await ls('sha256'), []);
    assert.deepEqual(await ls('gitrepository/default/big'), []);
  });
});

describe('ArtifactStore.gc', () => {
  test('keeps the two most recently stored, by recorded time rather than file times', async () => {
    const o = owner('app');
    const a = await store.store(o, tree('a'));
    const b = await store.store(o, tree('b'));
    const c = await store.store(o, tree('c'));
    // Storing a again makes it the newest, though its file is the oldest on disk.
    await utimes(store.absolute(a.path), 1, 1);
    const a2 = await store.store(o, tree('a'));
    assert.equal(a2.path, a.path);
    const removed = await store.gc(o);
    assert.deepEqual(removed.sort(), [b.path, `sha256/${b.digest.slice(7)}.tar.gz`].sort());
    assert.equal(await store.exists(a.path), true);
    assert.equal(await store.exists(c.path), true);
    assert.equal(await store.exists(b.path), false);
    assert.deepEqual(await store.gc(o), [], 'nothing more to collect');
  });

  test("keeps content another owner still references", async () => {
    const shared = await store.store(owner('x'), tree('shared'));
    await store.store(owner('y'), tree('shared'));
    await store.store(owner('x'), tree('x2'));
    await store.store(owner('x'), tree('x3'));
    const removed = await store.gc(owner('x'));
    assert.deepEqual(removed, [shared.path]);
    assert.ok(existsSync(join(root, 'sha256', `${shared.digest.slice(7)}.tar.gz`)));
  });
});

describe('ArtifactStore.removeOwner and gcOrphans', () => {
  test('removeOwner drops the owner, and content once nobody references it', async () => {
    const a = await store.store(owner('one'), tree('s'));
    await store.store(owner('two'), tree('s'));
    const hex = a.digest.slice(7);
    assert.deepEqual(await store.removeOwner(owner('one')), [a.path]);
    assert.equal(existsSync(join(root, 'gitrepository/default/one')), false);
    assert.ok(existsSync(join(root, 'sha256', `${hex}.tar.gz`)));
    const removed = await store.removeOwner(owner('two'));
    assert.ok(removed.includes(`sha256/${hex}.tar.gz`));
    assert.deepEqual(await ls('sha256'), []);
    assert.equal(existsSync(join(root, 'gitrepository')), false, 'empty kind directory removed');
    assert.deepEqual(await store.removeOwner(owner('never')), []);
  });

  test('gcOrphans removes owners that no longer exist, unreferenced content and stale temp files', async () => {
    const live = await store.store(owner('live'), tree('l'));
    const gone = await store.store(owner('gone', 'ns2', 'Bucket'), tree('g'));
    await writeFile(join(root, 'tmp', 'stale.tar.gz'), 'x');
    await utimes(join(root, 'tmp', 'stale.tar.gz'), 1, 1);
    await writeFile(join(root, 'tmp', 'fresh.tar.gz'), 'x');
    const removed = await store.gcOrphans(new Set([ownerKey(owner('live'))]));
    assert.deepEqual(removed.sort(), [gone.path, `sha256/${gone.digest.slice(7)}.tar.gz`, 'tmp/stale.tar.gz'].sort());
    assert.equal(await store.exists(live.path), true);
    assert.deepEqual(await ls('tmp'), ['fresh.tar.gz']);
    assert.equal(existsSync(join(root, 'bucket')), false);
  });
});

describe('ArtifactStore.verify', () => {
  test('true for an intact artifact, false for a wrong digest or a missing file', async () => {
    const a = await store.store(owner('v'), tree('v'));
    assert.equal(await store.verify(a.path, a.digest), true);
    assert.equal(await store.verify(a.path, `sha256:${'0'.repeat(64)}`), false);
    assert.equal(await store.exists(a.path), true, 'an intact file is kept even when the digest asked for differs');
    assert.equal(await store.verify(`gitrepository/default/v/${'1'.repeat(64)}.tar.gz`, a.digest), false);
  });

  test('a corrupted file is detected and removed, and storing again repairs it', async () => {
    const o = owner('c');
    const a = await store.store(o, tree('c'));
    const abs = store.absolute(a.path);
    const bytes = await readFile(abs);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(abs, bytes); // same inode: the content file is damaged too
    assert.equal(await store.verify(a.path, a.digest), false);
    assert.equal(await store.exists(a.path), false);
    assert.deepEqual(await ls('sha256'), []);
    await assert.rejects(store.open(a.path), ArtifactNotFoundError);
    const again = await store.store(o, tree('c'));
    assert.equal(again.path, a.path);
    assert.equal(await store.verify(a.path, a.digest), true);
  });

  test('verifyOnce hashes an artifact once, then checks that it is still there', async () => {
    const a = await store.store(owner('once'), tree('once'));
    assert.equal(await store.verifyOnce(a.path, `sha256:${'0'.repeat(64)}`), false, 'a wrong digest is never remembered');
    assert.equal(await store.verifyOnce(a.path, a.digest), true);
    const abs = store.absolute(a.path);
    const bytes = await readFile(abs);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(abs, bytes);
    assert.equal(await store.verifyOnce(a.path, a.digest), true, 'not hashed again (stored files do not change in place)');
    await rm(abs);
    assert.equal(await store.verifyOnce(a.path, a.digest), false, 'a file gone is noticed');
  });
});

describe('path guards', () => {
  test('absolute() accepts only store paths', () => {
    const hex = 'a'.repeat(64);
    assert.equal(store.absolute(`sha256/${hex}.tar.gz`), join(root, `sha256/${hex}.tar.gz`));
    assert.equal(store.absolute(`gitrepository/ns/my.app/${hex}.tar.gz`), join(root, `gitrepository/ns/my.app/${hex}.tar.gz`));
    for (const bad of [
      '../etc/passwd',
      '/etc/passwd',
      `gitrepository/ns/../../../../etc/${hex}.tar.gz`,
      `gitrepository/ns/..//${hex}.tar.gz`,
      `gitrepository/ns/name/../${hex}.tar.gz`,
      `sha256/${hex}.tar`,
      `tmp/x/y/${hex}.tar.gz`,
      `sha256/x/y/${hex}.tar.gz`,
      `gitrepository/ns/name/${hex}.tar.gz/..`,
      `GitRepository/ns/name/${hex}.tar.gz`,
      '',
    ]) {
      assert.throws(() => store.absolute(bad), UnsafePathError, bad);
    }
  });

  test('owners with names that could escape are refused', async () => {
    for (const o of [owner('..'), owner('a/b'), owner('Upper'), owner('x', '..'), owner('x', 'default', 'sha256'), owner('x', 'default', 'Tmp'), owner('x', 'default', '../k')]) {
      assert.throws(() => ownerKey(o), UnsafePathError);
      await assert.rejects(store.store(o, tree('x')), UnsafePathError);
      await assert.rejects(store.gc(o), UnsafePathError);
      await assert.rejects(store.removeOwner(o), UnsafePathError);
    }
    assert.deepEqual(await readdir(root), []);
  });
});
