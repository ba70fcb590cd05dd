// One behavioural suite for every Storage backend: each backend's test file calls
// runStorageConformance with a factory that opens a fresh, empty store.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  AlreadyExistsError,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  NotFoundError,
  type KeyValue,
  type Storage,
  type WatchEvent,
} from '../../src/storage/types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (kv: KeyValue | undefined): string | undefined => kv && new TextDecoder().decode(kv.value);

/** Resolves with `promise`, or rejects when it takes longer than `ms` (a hung watch fails, not hangs). */
export function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The next `n` put/delete events (progress events are skipped). */
async function take(it: AsyncIterator<WatchEvent>, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  while (out.length < n) {
    const r = await within(it.next());
    if (r.done) throw new Error(`watch ended after ${out.length} of ${n} events`);
    if (r.value.type !== 'progress') out.push(r.value);
  }
  return out;
}

/** A compact picture of events for deepEqual: type, key, value, modRevision, prev's revision. */
function summary(events: WatchEvent[]): string[] {
  return events.map((e) =>
    e.type === 'progress'
      ? `progress@${e.revision}`
      : `${e.type} ${e.kv.key}=${text(e.kv)}@${e.kv.modRevision}${e.prev ? ` prev@${e.prev.modRevision}` : ''}`,
  );
}

const keysOf = (events: WatchEvent[]): string[] => events.map((e) => (e.type === 'progress' ? '' : e.kv.key));

export function runStorageConformance(name: string, open: () => Promise<Storage>): void {
  describe(`storage conformance: ${name}`, () => {
    let s: Storage;
    let controllers: AbortController[];

    beforeEach(async () => {
      s = await open();
      controllers = [];
    });
    afterEach(async () => {
      for (const c of controllers) c.abort();
      await s.close();
    });

    const watch = (prefix: string, after: bigint) => {
      const controller = new AbortController();
      controllers.push(controller);
      return { it: s.watch(prefix, after, controller.signal)[Symbol.asyncIterator](), controller };
    };
    /** Writes a marker under `prefix` and expects it as the very next event: proves nothing else was queued. */
    const expectOnlyMarkerNext = async (it: AsyncIterator<WatchEvent>, prefix: string) => {
      const marker = await s.create(`${prefix}zz-marker`, enc('m'));
      assert.deepEqual(summary(await take(it, 1)), [`put ${marker.key}=m@${marker.modRevision}`]);
    };

    describe('create, get, update, delete', () => {
      it('creates a key, reads it back, and refuses to create it twice', async () => {
        const kv = await s.create('/r/a', enc('one'));
        assert.equal(kv.key, '/r/a');
        assert.equal(text(kv), 'one');
        assert.equal(kv.createRevision, kv.modRevision);
        const got = await s.get('/r/a');
        assert.deepEqual({ ...got, value: text(got) }, { ...kv, value: 'one' });
        assert.equal(await s.get('/r/missing'), undefined);
        await assert.rejects(s.create('/r/a', enc('two')), AlreadyExistsError);
        assert.equal(text(await s.get('/r/a')), 'one');
      });

      it('updates when the expected revision matches and refuses a stale one', async () => {
        const v1 = await s.create('/r/a', enc('one'));
        const v2 = await s.update('/r/a', enc('two'), v1.modRevision);
        assert.ok(v2.modRevision > v1.modRevision);
        assert.equal(v2.createRevision, v1.createRevision);
        assert.equal(text(v2), 'two');
        const err = await s.update('/r/a', enc('three'), v1.modRevision).catch((e: unknown) => e);
        assert.ok(err instanceof ConflictError);
        assert.equal(err.expected, v1.modRevision);
        assert.equal(err.actual, v2.modRevision);
        assert.equal(text(await s.get('/r/a')), 'two');
        await assert.rejects(s.update('/r/missing', enc('x'), v1.modRevision), NotFoundError);
      });

      it('keeps createRevision across many updates', async () => {
        let kv = await s.create('/r/a', enc('0'));
        const created = kv.createRevision;
        for (let i = 1; i <= 5; i++) kv = await s.update('/r/a', enc(String(i)), kv.modRevision);
        const got = (await s.get('/r/a'))!;
        assert.equal(got.createRevision, created);
        assert.equal(got.modRevision, kv.modRevision);
        assert.equal(text(got), '5');
      });

      it('deletes with and without an expected revision', async () => {
        const a = await s.create('/r/a', enc('a'));
        const b = await s.create('/r/b', enc('b'));
        const deleted = await s.delete('/r/a');
        assert.equal(text(deleted), 'a', 'the last value');
        assert.equal(deleted.createRevision, a.createRevision);
        assert.ok(deleted.modRevision > b.modRevision, 'at the revision of the delete');
        assert.equal(deleted.modRevision, await s.currentRevision());
        assert.equal(await s.get('/r/a'), undefined);
        await assert.rejects(s.delete('/r/a'), NotFoundError);
        await assert.rejects(s.delete('/r/b', b.modRevision - 1n), ConflictError);
        assert.equal(text(await s.get('/r/b')), 'b');
        assert.equal(text(await s.delete('/r/b', b.modRevision)), 'b');
        assert.equal(await s.get('/r/b'), undefined);
      });

      it('re-creates a deleted key with a new createRevision', async () => {
        const first = await s.create('/r/a', enc('first'));
        await s.delete('/r/a');
        const again = await s.create('/r/a', enc('again'));
        assert.ok(again.createRevision > first.createRevision);
        assert.equal(again.createRevision, again.modRevision);
        assert.equal(text(await s.get('/r/a')), 'again');
      });

      it('gives every write a strictly greater revision, across keys', async () => {
        const start = await s.currentRevision();
        const revs: bigint[] = [];
        const a = await s.create('/r/a', enc('1'));
        revs.push(a.modRevision);
        revs.push((await s.create('/r/b', enc('1'))).modRevision);
        revs.push((await s.update('/r/a', enc('2'), a.modRevision)).modRevision);
        revs.push((await s.create('/q/c', enc('1'))).modRevision);
        revs.push((await s.delete('/r/b')).modRevision);
        assert.ok(revs[0] > start);
        for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], `revision ${i} not increasing: ${revs}`);
      });
    });

    describe('list', () => {
      it('lists exactly the keys under a prefix, in key order', async () => {
        for (const k of ['/a/b/2', '/a/bc', '/a/b/1', '/a/c/1', '/a/b', '/a/b/1/x']) await s.create(k, enc(k));
        const r = await s.list('/a/b/');
        assert.deepEqual(
          r.items.map((kv) => kv.key),
          ['/a/b/1', '/a/b/1/x', '/a/b/2'],
        );
        assert.equal(text(r.items[0]), '/a/b/1');
        assert.equal(r.more, false);
        assert.equal(r.revision, await s.currentRevision());
        assert.equal((await s.list('/a/')).items.length, 6);
        assert.deepEqual((await s.list('/nothing/')).items, []);
      });

      it('leaves deleted keys out', async () => {
        await s.create('/l/a', enc('a'));
        await s.create('/l/b', enc('b'));
        await s.delete('/l/a');
        assert.deepEqual(
          (await s.list('/l/')).items.map((kv) => kv.key),
          ['/l/b'],
        );
      });

      it('returns the snapshot of an older revision', async () => {
        const x1 = await s.create('/o/x1', enc('x1-old'));
        await s.create('/o/x2', enc('x2'));
        const then = await s.currentRevision();
        await s.update('/o/x1', enc('x1-new'), x1.modRevision);
        await s.delete('/o/x2');
        await s.create('/o/x3', enc('x3'));

        const old = await s.list('/o/', { revision: then });
        assert.equal(old.revision, then);
        assert.deepEqual(
          old.items.map((kv) => `${kv.key}=${text(kv)}@${kv.modRevision}`),
          [`/o/x1=x1-old@${x1.modRevision}`, `/o/x2=x2@${then}`],
        );
        const now = await s.list('/o/');
        assert.deepEqual(
          now.items.map((kv) => `${kv.key}=${text(kv)}`),
          ['/o/x1=x1-new', '/o/x3=x3'],
        );
      });

      it('pages with limit and startAfter, reporting more and remaining', async () => {
        for (let i = 0; i < 7; i++) await s.create(`/p/k${i}`, enc(String(i)));
        await s.create('/p/k3x', enc('gone'));
        await s.delete('/p/k3x');
        const first = await s.list('/p/', { limit: 3 });
        assert.deepEqual(
          first.items.map((kv) => kv.key),
          ['/p/k0', '/p/k1', '/p/k2'],
        );
        assert.equal(first.more, true);
        assert.equal(first.remaining, 4);
        const second = await s.list('/p/', { limit: 3, startAfter: '/p/k2', revision: first.revision });
        assert.deepEqual(
          second.items.map((kv) => kv.key),
          ['/p/k3', '/p/k4', '/p/k5'],
        );
        assert.equal(second.more, true);
        assert.equal(second.remaining, 1);
        const last = await s.list('/p/', { limit: 3, startAfter: '/p/k5', revision: first.revision });
        assert.deepEqual(
          last.items.map((kv) => kv.key),
          ['/p/k6'],
        );
        assert.equal(last.more, false);
        const exact = await s.list('/p/', { limit: 7 });
        assert.equal(exact.items.length, 7);
        assert.equal(exact.more, false);
        assert.equal((await s.list('/p/', { limit: 100 })).more, false);
      });

      it('pages one consistent snapshot while writes happen concurrently', async () => {
        const initial = new Map<string, string>();
        for (let i = 0; i < 12; i++) {
          const kv = await s.create(`/c/k${String(i).padStart(2, '0')}`, enc(`v${i}`));
          initial.set(kv.key, `v${i}@${kv.modRevision}`);
        }
        const seen = new Map<string, string>();
        let page = await s.list('/c/', { limit: 4 });
        const revision = page.revision;
        for (;;) {
          for (const kv of page.items) seen.set(kv.key, `${text(kv)}@${kv.modRevision}`);
          assert.equal(page.revision, revision);
          if (!page.more) break;
          // Writers race the next page: a new key inside the range, an update, a delete.
          const n = seen.size;
          const writes = Promise.all([
            s.create(`/c/k${String(n).padStart(2, '0')}a`, enc('new')),
            s.get(`/c/k${String(n + 1).padStart(2, '0')}`).then((kv) => kv && s.update(kv.key, enc('changed'), kv.modRevision)),
            s.delete(`/c/k${String(n + 2).padStart(2, '0')}`),
          ]);
          const next = s.list('/c/', { limit: 4, startAfter: page.items[page.items.length - 1].key, revision });
          [page] = await Promise.all([next, writes]);
        }
        assert.deepEqual(seen, initial);
        assert.notDeepEqual(
          (await s.list('/c/')).items.map((kv) => kv.key),
          [...initial.keys()],
          'the writes did change the current state',
        );
      });

      it('refuses a revision newer than the current one', async () => {
        await s.create('/f/a', enc('a'));
        const current = await s.currentRevision();
        const err = await s.list('/f/', { revision: current + 1000n }).catch((e: unknown) => e);
        assert.ok(err instanceof FutureRevisionError);
        assert.equal(err.requested, current + 1000n);
        assert.equal((await s.list('/f/', { revision: current })).items.length, 1);
      });
    });

    describe('watch', () => {
      it('sends puts and deletes in revision order, with prev on updates and deletes', async () => {
        const { it: events } = watch('/w/', await s.currentRevision());
        const a1 = await s.create('/w/a', enc('a1'));
        const b1 = await s.create('/w/b', enc('b1'));
        const a2 = await s.update('/w/a', enc('a2'), a1.modRevision);
        const del = (await s.delete('/w/b')).modRevision;
        const got = await take(events, 4);
        assert.deepEqual(summary(got), [
          `put /w/a=a1@${a1.modRevision}`,
          `put /w/b=b1@${b1.modRevision}`,
          `put /w/a=a2@${a2.modRevision} prev@${a1.modRevision}`,
          `delete /w/b=b1@${del} prev@${b1.modRevision}`,
        ]);
        const [, , update, deletion] = got;
        assert.ok(update.type === 'put' && deletion.type === 'delete');
        assert.equal(text(update.prev), 'a1');
        assert.equal(update.kv.createRevision, a1.createRevision);
        assert.equal(text(deletion.prev), 'b1');
        assert.equal(deletion.kv.createRevision, b1.createRevision);
      });

      it('resumes from a revision with exactly the events after it', async () => {
        const writes: KeyValue[] = [];
        let kv = await s.create('/w/a', enc('0'));
        writes.push(kv);
        for (let i = 1; i < 5; i++) {
          kv = await s.update('/w/a', enc(String(i)), kv.modRevision);
          writes.push(kv);
          writes.push(await s.create(`/w/n${i}`, enc(String(i))));
        }
        const resumeAfter = writes[3].modRevision;
        const { it: events } = watch('/w/', resumeAfter);
        const expected = writes.filter((w) => w.modRevision > resumeAfter);
        const got = await take(events, expected.length);
        assert.deepEqual(
          got.map((e) => e.type !== 'progress' && e.kv.modRevision),
          expected.map((w) => w.modRevision),
        );
        assert.ok(got[0].type === 'put');
        assert.equal(text(got[0].kv), text(expected[0]));
        await expectOnlyMarkerNext(events, '/w/');
      });

      it('joins history and live events without a gap or a duplicate', async () => {
        const first = await s.create('/w/a', enc('1'));
        const { it: events } = watch('/w/', first.modRevision - 1n);
        const [e1] = await take(events, 1);
        assert.deepEqual(summary([e1]), [`put /w/a=1@${first.modRevision}`]);
        const second = await s.update('/w/a', enc('2'), first.modRevision);
        assert.deepEqual(summary(await take(events, 1)), [
          `put /w/a=2@${second.modRevision} prev@${first.modRevision}`,
        ]);
        await expectOnlyMarkerNext(events, '/w/');
      });

      it('sees deletes, also from history', async () => {
        const a = await s.create('/w/a', enc('a'));
        const { it: live } = watch('/w/', a.modRevision);
        const deleted = await s.delete('/w/a');
        const [event] = await take(live, 1);
        assert.ok(event.type === 'delete');
        assert.equal(event.kv.key, '/w/a');
        assert.equal(event.kv.modRevision, deleted.modRevision);
        assert.equal(event.prev?.modRevision, a.modRevision);
        const { it: replay } = watch('/w/', a.modRevision);
        assert.deepEqual(summary(await take(replay, 1)), summary([event]));
      });

      it('keeps watchers on different prefixes apart', async () => {
        const from = await s.currentRevision();
        const { it: one } = watch('/w1/', from);
        const { it: two } = watch('/w2/', from);
        await s.create('/w1/a', enc('1a'));
        await s.create('/w2/a', enc('2a'));
        await s.create('/w1x', enc('not under /w1/'));
        await s.create('/w1/b', enc('1b'));
        await s.create('/w2/b', enc('2b'));
        assert.deepEqual(
          keysOf(await take(one, 2)),
          ['/w1/a', '/w1/b'],
        );
        assert.deepEqual(
          keysOf(await take(two, 2)),
          ['/w2/a', '/w2/b'],
        );
        await expectOnlyMarkerNext(one, '/w1/');
        await expectOnlyMarkerNext(two, '/w2/');
      });

      it('ends the iterator when the signal aborts', async () => {
        const { it: events, controller } = watch('/w/', await s.currentRevision());
        const pending = events.next();
        controller.abort();
        assert.deepEqual(await within(pending), { done: true, value: undefined });

        const aborted = new AbortController();
        aborted.abort();
        const none = s.watch('/w/', await s.currentRevision(), aborted.signal)[Symbol.asyncIterator]();
        assert.equal((await within(none.next())).done, true);
      });

      it('ends the iterator when the consumer stops early, and the store keeps working', async () => {
        const { it: events } = watch('/w/', await s.currentRevision());
        await s.create('/w/a', enc('a'));
        await take(events, 1);
        await within(events.return!());
        const b = await s.create('/w/b', enc('b'));
        assert.equal(text(await s.get(b.key)), 'b');
      });
    });

    describe('compaction', () => {
      it('refuses reads and watches of compacted revisions and keeps current data', async () => {
        let a = await s.create('/k/a', enc('a0'));
        const early = a.modRevision;
        for (let i = 1; i <= 4; i++) a = await s.update('/k/a', enc(`a${i}`), a.modRevision);
        const gone = await s.create('/k/gone', enc('x'));
        await s.delete('/k/gone');
        const b = await s.create('/k/b', enc('b'));
        const compactAt = await s.currentRevision();
        await s.compact(compactAt);

        const err = await s.list('/k/', { revision: early }).catch((e: unknown) => e);
        assert.ok(err instanceof CompactedError, `expected CompactedError, got ${err}`);
        await assert.rejects(s.list('/k/', { revision: compactAt - 1n }), CompactedError);
        await assert.rejects(take(watch('/k/', early).it, 1), CompactedError);

        const now = await s.list('/k/');
        assert.deepEqual(
          now.items.map((kv) => `${kv.key}=${text(kv)}@${kv.createRevision}/${kv.modRevision}`),
          [`/k/a=a4@${early}/${a.modRevision}`, `/k/b=b@${b.modRevision}/${b.modRevision}`],
        );
        assert.equal(await s.get(gone.key), undefined);
        assert.equal((await s.list('/k/', { revision: compactAt })).items.length, 2);

        const { it: events } = watch('/k/', compactAt);
        const a5 = await s.update('/k/a', enc('a5'), a.modRevision);
        assert.deepEqual(summary(await take(events, 1)), [`put /k/a=a5@${a5.modRevision} prev@${a.modRevision}`]);
        assert.equal(text(await s.get('/k/a')), 'a5');
      });

      it('keeps revisions after the compaction point readable', async () => {
        let a = await s.create('/k/a', enc('a0'));
        a = await s.update('/k/a', enc('a1'), a.modRevision);
        const compactAt = a.modRevision;
        const later = await s.update('/k/a', enc('a2'), a.modRevision);
        await s.create('/k/b', enc('b'));
        const at = later.modRevision;
        await s.compact(compactAt);
        assert.deepEqual(
          (await s.list('/k/', { revision: at })).items.map((kv) => text(kv)),
          ['a2'],
        );
        const { it: events } = watch('/k/', compactAt);
        assert.deepEqual(
          keysOf(await take(events, 2)),
          ['/k/a', '/k/b'],
        );
      });
    });

    describe('concurrent writers', () => {
      it('lets exactly one of many parallel CAS updates win each round', async () => {
        let current = await s.create('/cas/key', enc('start'));
        for (let round = 0; round < 5; round++) {
          const results = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) => s.update('/cas/key', enc(`r${round}-w${i}`), current.modRevision)),
          );
          const won = results.filter((r): r is PromiseFulfilledResult<KeyValue> => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
          for (const r of lost) assert.ok(r.reason instanceof ConflictError, String(r.reason));
          current = won[0].value;
          const stored = (await s.get('/cas/key'))!;
          assert.equal(text(stored), text(current));
          assert.equal(stored.modRevision, current.modRevision);
        }
      });

      it('keeps every one of many parallel creates, each with its own revision', async () => {
        const created = await Promise.all(
          Array.from({ length: 50 }, (_, i) => s.create(`/par/k${String(i).padStart(2, '0')}`, enc(String(i)))),
        );
        const revisions = new Set(created.map((kv) => kv.modRevision));
        assert.equal(revisions.size, 50);
        const listed = await s.list('/par/');
        assert.equal(listed.items.length, 50);
        assert.deepEqual(
          listed.items.map((kv) => kv.modRevision),
          [...created].sort((x, y) => (x.key < y.key ? -1 : 1)).map((kv) => kv.modRevision),
        );
      });
    });
  });
}
