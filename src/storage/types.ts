// The storage contract: etcd-shaped, so the embedded SQLite backend and an etcd backend are two
// implementations of one interface and pass one conformance suite (test/storage/).

/** A global, strictly increasing write counter. resourceVersion is its decimal string. */
export type Revision = bigint;

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the write that created this key (unchanged by updates). */
  createRevision: Revision;
  /** Revision of the latest write to this key. */
  modRevision: Revision;
}

export type WatchEvent =
  | { type: 'put'; kv: KeyValue; prev?: KeyValue }
  | { type: 'delete'; kv: KeyValue; prev?: KeyValue }
  | { type: 'progress'; revision: Revision };

export interface ListOptions {
  /** At most this many items; `more` says whether there were others. */
  limit?: number;
  /** Only keys strictly greater than this one (for paging). */
  startAfter?: string;
  /** Read the state as it was at this revision (a consistent snapshot). Compacted if too old. */
  revision?: Revision;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at (the store's current one when none was asked for). */
  revision: Revision;
  more: boolean;
  /** How many matching keys exist after the returned page, when the backend knows it cheaply. */
  remaining?: number;
}

export interface Storage extends AsyncDisposable {
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Throws AlreadyExistsError when the key exists. */
  create(key: string, value: Uint8Array): Promise<KeyValue>;
  /** Compare-and-swap on modRevision. Throws NotFoundError / ConflictError. */
  update(key: string, value: Uint8Array, expected: Revision): Promise<KeyValue>;
  /** Throws NotFoundError; ConflictError when `expected` is given and differs. Returns the deleted kv. */
  delete(key: string, expected?: Revision): Promise<KeyValue>;
  /**
   * Every change under `prefix` with revision > `after`, in revision order, then live changes until
   * `signal` aborts. Throws (or the iterator throws) CompactedError when `after` is older than the
   * compaction window. A 'progress' event reports the current revision when nothing else is sent.
   */
  watch(prefix: string, after: Revision, signal: AbortSignal): AsyncIterable<WatchEvent>;
  /** Drop history at or below `revision`; later reads/watches of it throw CompactedError. */
  compact(revision: Revision): Promise<void>;
  /** The current revision of the store. */
  currentRevision(): Promise<Revision>;
  close(): Promise<void>;
}

export class StorageError extends Error {}

export class NotFoundError extends StorageError {
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
  }
}

export class AlreadyExistsError extends StorageError {
  constructor(readonly key: string) {
    super(`key already exists: ${key}`);
  }
}

export class ConflictError extends StorageError {
  constructor(
    readonly key: string,
    readonly expected: Revision,
    readonly actual: Revision,
  ) {
    super(`revision conflict on ${key}: expected ${expected}, found ${actual}`);
  }
}

export class CompactedError extends StorageError {
  constructor(
    readonly requested: Revision,
    readonly compacted: Revision,
  ) {
    super(`revision ${requested} has been compacted (oldest available is ${compacted + 1n})`);
  }
}

/** Revision asked for is newer than the store's current one. */
export class FutureRevisionError extends StorageError {
  constructor(
    readonly requested: Revision,
    readonly current: Revision,
  ) {
    super(`revision ${requested} is newer than the current revision ${current}`);
  }
}
