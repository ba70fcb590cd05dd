import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { WatcherOverflowError } from '../../src/storage/errors.js';
import { openSqliteStorage, type SqliteStorageOptions } from '../../src/storage/sqlite/sqlite-storage.js';
import { CompactedError, type WatchEvent } from '../../src/storage/types.js';
import { runStorageConformance, within } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'gitops-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `store-${files++}.db`);
const open = (options: Partial<SqliteStorageOptions> = {}) =>
  openSqliteStorage({ path: newPath(), compactIntervalMs: 0, ...options });
const enc = (s: string) => Buffer.from(s);

runStorageConformance('sqlite', async () => open());

const next = (it: AsyncIterator<WatchEvent>) => within(it.next());

describe('sqlite storage', () => {
  it('commits writes of one event-loop turn together; a failed CAS in the batch fails alone', async () => {
    await using store = open();
    await store.create('/g/taken', enc('x'));
    const before = await store.currentRevision();
    const results = await Promise.allSettled([
      store.create('/g/a', enc('a')),
      store.create('/g/taken', enc('again')), // AlreadyExists, in the middle of the batch
      store.create('/g/b', enc('b')),
      store.update('/g/a', enc('a2'), before + 1n), // sees the create just before it in the batch
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const revs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.modRevision] : []));
    assert.deepEqual(revs, [before + 1n, before + 2n, before + 3n]);
    assert.equal(Buffer.from((await store.get('/g/a'))!.value).toString(), 'a2');
    assert.equal(Buffer.from((await store.get('/g/taken'))!.value).toString(), 'x');
  });

  it('keeps data and goes on counting revisions after reopening the file', async () => {
    const path = newPath();
    const first = openSqliteStorage({ path });
    const a = await first.create('/x/a', enc('a'));
    const a2 = await first.update('/x/a', enc('a2'), a.modRevision);
    await first.create('/x/gone', enc('g'));
    await first.delete('/x/gone');
    const last = await first.currentRevision();
    // The newest row (a tombstone) is compacted away: the revision must still not go back.
    await first.compact(last);
    await first.close();

    await using second = openSqliteStorage({ path });
    assert.equal(await second.currentRevision(), last);
    const got = await second.get('/x/a');
    assert.equal(got?.modRevision, a2.modRevision);
    assert.equal(got?.createRevision, a.createRevision);
    assert.equal(Buffer.from(got!.value).toString(), 'a2');
    assert.equal(await second.get('/x/gone'), undefined);
    const b = await second.create('/x/b', enc('b'));
    assert.equal(b.modRevision, last + 1n);
  });

  it('remembers the compacted revision across a restart', async () => {
    const path = newPath();
    const first = openSqliteStorage({ path });
    let kv = await first.create('/x/a', enc('0'));
    for (let i = 1; i < 5; i++) kv = await first.update('/x/a', enc(String(i)), kv.modRevision);
    await first.compact(kv.modRevision - 1n);
    await first.close();

    await using second = openSqliteStorage({ path });
    await assert.rejects(second.list('/x/', { revision: 2n }), CompactedError);
    await assert.rejects(next(second.watch('/x/', 1n, new AbortController().signal)[Symbol.asyncIterator]()), CompactedError);
    assert.equal((await second.list('/x/', { revision: kv.modRevision - 1n })).items.length, 1);
  });

  it('compaction drops superseded rows and tombstones from the file', async () => {
    const path = newPath();
    const s = openSqliteStorage({ path, compactIntervalMs: 0 });
    let kv = await s.create('/x/a', enc('0'));
    for (let i = 1; i < 10; i++) kv = await s.update('/x/a', enc(String(i)), kv.modRevision);
    await s.create('/x/b', enc('b'));
    await s.delete('/x/b');
    const later = await s.update('/x/a', enc('later'), kv.modRevision);
    await s.compact(later.modRevision - 1n);
    await s.close();
    const db = new Database(path, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT id, name FROM log ORDER BY id').all(), [
        { id: Number(kv.modRevision), name: '/x/a' },
        { id: Number(later.modRevision), name: '/x/a' },
      ]);
    } finally {
      db.close();
    }
  });

  it('compacts automatically, keeping a window of recent revisions', async () => {
    await using s = open({ compactWindow: 5, compactIntervalMs: 10 });
    let kv = await s.create('/x/a', enc('0'));
    for (let i = 1; i < 20; i++) kv = await s.update('/x/a', enc(String(i)), kv.modRevision);
    const deadline = Date.now() + 5_000;
    let err: unknown;
    while (!err && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      err = await s.list('/x/', { revision: 14n }).then(() => undefined, (e: unknown) => e);
    }
    assert.ok(err instanceof CompactedError, 'revision 14 was compacted');
    assert.equal(err.compacted, 15n);
    assert.equal((await s.list('/x/', { revision: 15n })).items.length, 1);
  });

  it('ends a watcher whose consumer falls too far behind, without blocking writers', async () => {
    await using s = open({ watchBufferSize: 5 });
    const slow = s.watch('/x/', 0n, new AbortController().signal)[Symbol.asyncIterator]();
    const firstEvent = slow.next();
    await s.create('/x/0', enc('0'));
    assert.equal((await within(firstEvent)).done, false);
    for (let i = 1; i <= 10; i++) await s.create(`/x/${i}`, enc(String(i)));
    await assert.rejects(next(slow), WatcherOverflowError);
    assert.equal((await s.list('/x/')).items.length, 11);

    const fresh = s.watch('/x/', await s.currentRevision(), new AbortController().signal)[Symbol.asyncIterator]();
    const pending = next(fresh);
    const kv = await s.create('/x/after', enc('ok'));
    const r = await pending;
    assert.ok(!r.done && r.value.type === 'put');
    assert.equal(r.value.kv.modRevision, kv.modRevision);
  });

  it('sends progress events to an idle watcher', async () => {
    await using s = open({ progressIntervalMs: 20 });
    const kv = await s.create('/x/a', enc('a'));
    const events = s.watch('/x/', 0n, new AbortController().signal)[Symbol.asyncIterator]();
    const first = await next(events);
    assert.ok(!first.done && first.value.type === 'put');
    const other = await s.create('/y/b', enc('b'));
    let r = await next(events);
    // On a loaded machine a progress event may already report the revision from before /y/b (bounded).
    for (const end = Date.now() + 3000; r.value?.type === 'progress' && r.value.revision < other.modRevision && Date.now() < end; ) r = await next(events);
    assert.deepEqual(r.value, { type: 'progress', revision: other.modRevision });
    assert.ok(other.modRevision > kv.modRevision);
    // A consumer that stops reading finds one progress event waiting, not one per interval.
    await new Promise((resolve) => setTimeout(resolve, 150));
    r = await next(events);
    assert.equal(r.value?.type, 'progress');
    const put = await s.create('/x/c', enc('c'));
    // A loaded machine may slip one more progress event in before the write lands.
    for (let i = 0; i < 50; i++) {
      r = await next(events);
      if (r.value?.type !== 'progress') break;
    }
    assert.ok(!r.done && r.value.type === 'put');
    assert.equal(r.value.kv.modRevision, put.modRevision);
  });

  it('replays a long history page by page, then live events, with writes in between', async () => {
    await using s = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    for (let i = 0; i < 1_200; i++) await s.create(`/h/${String(i).padStart(4, '0')}`, enc(String(i)));
    const events = s.watch('/h/', 0n, new AbortController().signal)[Symbol.asyncIterator]();
    const revisions: bigint[] = [];
    // 1,200 from history and 13 written while the watcher reads.
    for (let i = 0; i < 1_213; i++) {
      if (i % 100 === 0) await s.create(`/h/live-${i}`, enc('live'));
      const r = await next(events);
      assert.ok(!r.done && r.value.type === 'put');
      revisions.push(r.value.kv.modRevision);
    }
    const expected = Array.from({ length: 1_213 }, (_, i) => BigInt(i + 1));
    assert.deepEqual(revisions, expected);
  });

  it('fails a replaying watcher whose history is compacted under it', async () => {
    await using s = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
    let kv = await s.create('/h/a', enc('0'));
    for (let i = 1; i < 1_000; i++) kv = await s.update('/h/a', enc(String(i)), kv.modRevision);
    const events = s.watch('/h/', 0n, new AbortController().signal)[Symbol.asyncIterator]();
    await next(events);
    await s.compact(kv.modRevision);
    let received = 1;
    const err = await (async () => {
      for (;;) {
        if ((await next(events)).done) return undefined;
        received++;
      }
    })().catch((e: unknown) => e);
    assert.ok(err instanceof CompactedError, `got ${err}`);
    assert.ok(received < 1_000, 'the rows compacted away were not sent');
  });

  it('ends every watcher on close', async () => {
    const s = open();
    await s.create('/x/a', enc('a'));
    const replaying = s.watch('/x/', 0n, new AbortController().signal)[Symbol.asyncIterator]();
    await next(replaying);
    const live = s.watch('/x/', await s.currentRevision(), new AbortController().signal)[Symbol.asyncIterator]();
    const pending = next(live);
    await s.close();
    assert.equal((await pending).done, true);
    assert.equal((await next(replaying)).done, true);
  });

  it('lists every key for the empty prefix', async () => {
    await using s = open();
    for (const k of ['/a', '/b/c', 'z', '~\u00ff']) await s.create(k, enc(k));
    assert.deepEqual(
      (await s.list('')).items.map((kv) => kv.key),
      ['/a', '/b/c', 'z', '~\u00ff'],
    );
  });

  it('keeps every acknowledged write when the process is killed with SIGKILL', { timeout: 90_000 }, async () => {
    const path = newPath();
    const script = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const acknowledged: string[] = [];
    // Past SQLite's automatic WAL checkpoint (1,000 pages), so the kill may land in one.
    const killAfter = 1_500 + Math.floor(Math.random() * 1_500);
    for await (const line of createInterface({ input: child.stdout! })) {
      acknowledged.push(line);
      if (acknowledged.length === killAfter) child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL', 'the writer was killed, not finished');
    assert.ok(acknowledged.length >= killAfter);

    const db = new Database(path);
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
    await using s = openSqliteStorage({ path, compactIntervalMs: 0 });
    const keys = new Set((await s.list('/crash/')).items.map((kv) => kv.key));
    const missing = acknowledged.filter((k) => !keys.has(k));
    assert.deepEqual(missing, []);
    assert.ok((await s.currentRevision()) >= BigInt(acknowledged.length));
  });
});
