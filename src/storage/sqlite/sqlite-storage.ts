// The embedded backend: a revision log in one SQLite file, in the manner of kine. Every write appends
// one row whose rowid is the new revision; the state at revision R is, per key, the newest row with
// id <= R unless that row is a tombstone. This process is the only writer, so revisions are counted in
// memory and watchers are fed right after each commit instead of polling the table.
import { setImmediate as nextTick } from 'node:timers/promises';
import Database from 'better-sqlite3';
import {
  AlreadyExistsError,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  NotFoundError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Revision,
  type Storage,
  type WatchEvent,
} from '../types.js';
import { WatchQueue } from './watch-queue.js';

export interface SqliteStorageOptions {
  /** Database file, or ':memory:'. */
  path: string;
  /**
   * Automatic compaction keeps this many latest revisions of history (default 10,000). Each
   * revision is one small row, so this stays in the tens of MB, and a watcher that lost its
   * connection can resume without a re-list unless 10,000 writes happened meanwhile.
   */
  compactWindow?: number;
  /** How often automatic compaction runs (default 5 minutes, as kube-apiserver compacts etcd); 0 turns it off. */
  compactIntervalMs?: number;
  /** When set, a watcher that was sent nothing for this long gets a progress event. */
  progressIntervalMs?: number;
  /** Events buffered per watcher before it is ended with WatcherOverflowError (default 10,000). */
  watchBufferSize?: number;
}

// Rows come back as arrays (better-sqlite3's raw mode), a quarter faster than objects on long lists.
type Row = [id: bigint, name: string, deleted: bigint, createRevision: bigint, value: Buffer];
type HistoryRow = [...Row, prevId: bigint | null, prevCreateRevision: bigint | null, prevValue: Buffer | null];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, -- the revision; AUTOINCREMENT never reuses one after compaction
  name TEXT NOT NULL,
  deleted INTEGER NOT NULL,             -- 1: tombstone, value holds the deleted value
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,       -- the row this write replaced; 0 for a creation
  value BLOB NOT NULL
);
-- "newest row per key at or below R", in key order; deleted makes counting index-only.
CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id, deleted);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

// Rows of [lo, hi) that are the newest at or below :rev and not tombstones.
const LIVE_AT = `
FROM log AS l
WHERE l.name >= :lo AND l.name < :hi AND l.id <= :rev AND l.deleted = 0
  AND NOT EXISTS (SELECT 1 FROM log AS n WHERE n.name = l.name AND n.id > l.id AND n.id <= :rev)`;

interface PendingWrite {
  key: string;
  decide: (current: KeyValue | undefined) => { value: Uint8Array; deleted: boolean };
  resolve: (kv: KeyValue) => void;
  reject: (e: unknown) => void;
}

const COMPACT_CHUNK = 5_000;
const REPLAY_PAGE = 500;

export class SqliteStorage implements Storage {
  readonly #db: Database.Database;
  readonly #stmt: ReturnType<typeof prepare>;
  /** Runs `body` inside BEGIN IMMEDIATE ... COMMIT (rolled back when it throws). */
  readonly #inTransaction: <T>(body: () => T) => T;
  readonly #watchers = new Set<WatchQueue>();
  #pending: PendingWrite[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #watchBufferSize: number;
  #revision: Revision;
  #compacted: Revision;
  #closed = false;

  constructor(options: SqliteStorageOptions) {
    this.#db = new Database(options.path);
    this.#db.defaultSafeIntegers(true);
    // WAL: a commit is one append to the log file, and readers never block the writer. synchronous=FULL
    // fsyncs the WAL on every commit: NORMAL would survive a killed process but may lose the last
    // commits on power loss, and an acknowledged write must stay written, as etcd promises.
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(SCHEMA);
    this.#stmt = prepare(this.#db);
    const transaction = this.#db.transaction((body: () => unknown) => body());
    this.#inTransaction = (body) => transaction.immediate(body) as ReturnType<typeof body>;
    this.#revision = (this.#stmt.sequence.get() as { seq: bigint } | undefined)?.seq ?? 0n;
    this.#compacted = (this.#stmt.getMeta.get('compacted') as { value: bigint } | undefined)?.value ?? 0n;
    this.#watchBufferSize = options.watchBufferSize ?? 10_000;

    const compactIntervalMs = options.compactIntervalMs ?? 300_000;
    const window = BigInt(options.compactWindow ?? 10_000);
    if (compactIntervalMs > 0) {
      this.#every(compactIntervalMs, () => {
        const target = this.#revision - window;
        if (target > this.#compacted) {
          this.compact(target).catch((err: Error) =>
            process.emitWarning(`automatic compaction failed: ${err.message}`),
          );
        }
      });
    }
    const progressMs = options.progressIntervalMs;
    if (progressMs !== undefined && progressMs > 0) {
      // Ticks at half the interval, so an idle watcher hears within 1.5 intervals at worst. Only into
      // an empty queue: a consumer that is not reading should not fill its buffer with progress.
      this.#every(Math.max(1, Math.floor(progressMs / 2)), () => {
        const now = Date.now();
        for (const w of this.#watchers) {
          if (w.live && w.buffered === 0 && now - w.lastPush >= progressMs) {
            w.push({ type: 'progress', revision: this.#revision });
          }
        }
      });
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return liveValue(this.#stmt.latest.get(key) as Row | undefined);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const revision = options.revision ?? this.#revision;
    this.#checkReadable(revision);
    const hi = rangeEnd(prefix);
    // The smallest key after startAfter is startAfter + NUL.
    const after = options.startAfter === undefined ? undefined : options.startAfter + '\0';
    const lo = after !== undefined && after > prefix ? after : prefix;
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : undefined;
    const rows = this.#stmt.list.all({ lo, hi, rev: revision, limit: limit === undefined ? -1 : limit + 1 }) as Row[];
    const more = limit !== undefined && rows.length > limit;
    if (more) rows.pop();
    const remaining = more
      ? Number((this.#stmt.count.get({ lo: rows[rows.length - 1][1] + '\0', hi, rev: revision }) as { n: bigint }).n)
      : 0;
    return { items: rows.map(toKeyValue), revision, more, remaining };
  }

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    return this.#append(key, (current) => {
      if (current) throw new AlreadyExistsError(key);
      return { value, deleted: false };
    });
  }

  async update(key: string, value: Uint8Array, expected: Revision): Promise<KeyValue> {
    return this.#append(key, (current) => {
      if (!current) throw new NotFoundError(key);
      if (current.modRevision !== expected) throw new ConflictError(key, expected, current.modRevision);
      return { value, deleted: false };
    });
  }

  /** Returns the last value at the deletion's revision, as kube-apiserver reports a deleted object. */
  async delete(key: string, expected?: Revision): Promise<KeyValue> {
    return this.#append(key, (current) => {
      if (!current) throw new NotFoundError(key);
      if (expected !== undefined && current.modRevision !== expected) {
        throw new ConflictError(key, expected, current.modRevision);
      }
      return { value: current.value, deleted: true };
    });
  }

  watch(prefix: string, after: Revision, signal: AbortSignal): AsyncIterable<WatchEvent> {
    return this.#watch(prefix, after, signal);
  }

  async compact(revision: Revision): Promise<void> {
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision <= this.#compacted) return;
    // Recorded first: from here on, reads and replays of older revisions fail instead of seeing gaps.
    this.#stmt.setMeta.run('compacted', revision);
    this.#compacted = revision;
    // In chunks, yielding between them, so a large compaction does not stall requests.
    for (let lo = 0n; lo < revision && !this.#closed; ) {
      const next = this.#stmt.chunkEnd.get({ lo, rev: revision, offset: COMPACT_CHUNK - 1 }) as { id: bigint } | undefined;
      const hi = next?.id ?? revision;
      this.#stmt.compact.run({ lo, hi, rev: revision });
      lo = hi;
      await nextTick();
    }
  }

  async currentRevision(): Promise<Revision> {
    return this.#revision;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush(); // acknowledge or fail what was already accepted
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    for (const w of this.#watchers) w.end();
    this.#db.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * One write as an atomic compare-and-swap: `decide` sees the key's live value (or none) and either
   * throws or says what to append. Writes that arrive in the same turn of the event loop share one
   * transaction and so one fsync (group commit); each is acknowledged only after that commit.
   */
  #append(key: string, decide: (current: KeyValue | undefined) => { value: Uint8Array; deleted: boolean }): Promise<KeyValue> {
    if (this.#closed) return Promise.reject(new Error('storage is closed'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ key, decide, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    type Done = { op: PendingWrite; kv?: KeyValue; prev?: KeyValue; deleted?: boolean; error?: unknown };
    let done: Done[] = [];
    let revision = this.#revision;
    try {
      this.#inTransaction(() => {
        done = [];
        revision = this.#revision;
        for (const op of batch) {
          // Later writes in the batch see earlier ones: the reads run inside the same transaction.
          const prev = liveValue(this.#stmt.latest.get(op.key) as Row | undefined);
          let decided: { value: Uint8Array; deleted: boolean };
          try {
            decided = op.decide(prev);
          } catch (error) {
            done.push({ op, error }); // this write's CAS failed; the others go on
            continue;
          }
          revision += 1n;
          const kv: KeyValue = { key: op.key, value: Buffer.from(decided.value), createRevision: prev?.createRevision ?? revision, modRevision: revision };
          this.#stmt.insert.run({
            id: revision,
            name: op.key,
            deleted: decided.deleted ? 1 : 0,
            create_revision: kv.createRevision,
            prev_revision: prev?.modRevision ?? 0n,
            value: kv.value,
          });
          done.push({ op, kv, prev, deleted: decided.deleted });
        }
      });
    } catch (error) {
      for (const op of batch) op.reject(error); // the transaction rolled back: nothing was written
      return;
    }
    this.#revision = revision;
    for (const d of done) {
      if (!d.kv) continue;
      const event = eventOf(d.deleted!, d.kv, d.prev);
      for (const w of this.#watchers) {
        if (d.op.key.startsWith(w.prefix) && d.kv.modRevision > w.after) w.push(event);
      }
    }
    for (const d of done) (d.kv ? d.op.resolve(d.kv) : d.op.reject(d.error));
  }

  async *#watch(prefix: string, after: Revision, signal: AbortSignal): AsyncGenerator<WatchEvent> {
    if (this.#closed || signal.aborted) return;
    if (after < this.#compacted) throw new CompactedError(after, this.#compacted);
    // Registered before history is read, with nothing awaited between: every write after `until`
    // lands in the queue, every one at or below it is in the table, so the seam has no gap or overlap.
    const queue = new WatchQueue(prefix, after, this.#watchBufferSize);
    const until = this.#revision;
    this.#watchers.add(queue);
    const onAbort = () => queue.end();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const hi = rangeEnd(prefix);
      for (let cursor = after; cursor < until; ) {
        if (cursor < this.#compacted) throw new CompactedError(after, this.#compacted);
        const rows = this.#stmt.history.all({ after: cursor, until, lo: prefix, hi, limit: REPLAY_PAGE }) as HistoryRow[];
        if (rows.length === 0) break;
        for (const row of rows) {
          yield historyEvent(row);
          if (queue.error) throw queue.error;
          if (queue.ended) return;
        }
        cursor = rows[rows.length - 1][0];
      }
      queue.live = true;
      for (;;) {
        const batch = await queue.take();
        for (const event of batch) {
          if (queue.ended) break;
          yield event;
        }
        if (queue.error) throw queue.error;
        if (queue.ended) return;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#watchers.delete(queue);
    }
  }

  #checkReadable(revision: Revision): void {
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    // As in etcd: compacting at C keeps the state at C itself readable (its rows are all kept).
    if (revision < this.#compacted) throw new CompactedError(revision, this.#compacted);
  }

  #every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }
}

export function openSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  return new SqliteStorage(options);
}

function prepare(db: Database.Database) {
  return {
    sequence: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'log'"),
    getMeta: db.prepare('SELECT value FROM meta WHERE name = ?'),
    setMeta: db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
    latest: db.prepare('SELECT id, name, deleted, create_revision, value FROM log WHERE name = ? ORDER BY id DESC LIMIT 1').raw(),
    insert: db.prepare(
      'INSERT INTO log (id, name, deleted, create_revision, prev_revision, value) VALUES (:id, :name, :deleted, :create_revision, :prev_revision, :value)',
    ),
    list: db.prepare(`SELECT l.id, l.name, l.deleted, l.create_revision, l.value ${LIVE_AT} ORDER BY l.name LIMIT :limit`).raw(),
    count: db.prepare(`SELECT count(*) AS n ${LIVE_AT}`),
    history: db.prepare(`
      SELECT l.id, l.name, l.deleted, l.create_revision, l.value,
             p.id, p.create_revision, p.value
      FROM log AS l LEFT JOIN log AS p ON p.id = l.prev_revision
      WHERE l.id > :after AND l.id <= :until AND +l.name >= :lo AND +l.name < :hi
      ORDER BY l.id LIMIT :limit`).raw(),
    chunkEnd: db.prepare('SELECT id FROM log WHERE id > :lo AND id <= :rev ORDER BY id LIMIT 1 OFFSET :offset'),
    // Rows at or below :rev that no read above :rev can need: tombstones, and rows a later write
    // at or below :rev superseded.
    compact: db.prepare(`
      DELETE FROM log WHERE id > :lo AND id <= :hi AND (deleted = 1 OR EXISTS
        (SELECT 1 FROM log AS n WHERE n.name = log.name AND n.id > log.id AND n.id <= :rev))`),
  };
}

function toKeyValue([id, name, , createRevision, value]: Row | HistoryRow): KeyValue {
  return { key: name, value, createRevision, modRevision: id };
}

function liveValue(row: Row | undefined): KeyValue | undefined {
  return row && row[2] === 0n ? toKeyValue(row) : undefined;
}

function eventOf(deleted: boolean, kv: KeyValue, prev: KeyValue | undefined): WatchEvent {
  const type = deleted ? 'delete' : 'put';
  return prev ? { type, kv, prev } : { type, kv };
}

function historyEvent(row: HistoryRow): WatchEvent {
  const [, name, deleted, , , prevId, prevCreateRevision, prevValue] = row;
  const prev =
    prevId === null ? undefined : { key: name, value: prevValue!, createRevision: prevCreateRevision!, modRevision: prevId };
  return eventOf(deleted === 1n, toKeyValue(row), prev);
}

/**
 * The smallest string above every key that starts with `prefix` (SQLite compares TEXT as UTF-8
 * bytes). For the empty prefix a BLOB, which SQLite sorts after every TEXT.
 */
function rangeEnd(prefix: string): string | Buffer {
  if (prefix === '') return Buffer.from([0xff]);
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
