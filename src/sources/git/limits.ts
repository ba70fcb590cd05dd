// What one fetch may cost, and the typed error when a remote asks for more. The limits are checked
// against what the pack's object headers declare, as they arrive, so an oversize repository stops the
// download before its content is inflated anywhere: memory and disk follow the limits, not the content.

/** Bounds on one fetch. */
export interface FetchLimits {
  /** --max-file-size: the inflated size of any one object (for a delta, the size of its result). */
  maxFileSize: number;
  /** --max-artifact-size: the sum of the inflated sizes of all objects of the fetch, and the pack's own bytes. */
  maxTotalSize: number;
}

export const DEFAULT_LIMITS: FetchLimits = { maxFileSize: 32 << 20, maxTotalSize: 100 << 20 };

/**
 * Objects in one pack: a Linux kernel clone holds about 10 million, but a depth-1 fetch of even a
 * huge tree holds far fewer; 1,000,000 is generous and keeps the indexer's tables (about 40 bytes
 * an object) under 40 MB.
 */
export const MAX_OBJECTS = 1_000_000;

/** The ref advertisement is read whole (refs become a Map); 16 MiB is about 200,000 refs. */
export const MAX_ADVERTISEMENT_BYTES = 16 << 20;

export type LimitKind = 'file' | 'total' | 'pack' | 'objects' | 'refs';

/** A fetch stopped because the remote's content passed a limit; nothing of it was kept. */
export class FetchLimitError extends Error {
  override name = 'FetchLimitError';
  constructor(
    readonly kind: LimitKind,
    /** What was seen: bytes, or a count for 'objects'. */
    readonly size: number,
    readonly limit: number,
    /** The flag that sets the limit; none for the fixed ones. */
    readonly flag?: string,
    /** The file's path, when it could be named. */
    readonly path?: string,
  ) {
    super(limitMessage(kind, size, limit, flag, path));
  }
}

function limitMessage(kind: LimitKind, size: number, limit: number, flag: string | undefined, path: string | undefined): string {
  const over = `over the limit of ${kind === 'objects' ? limit : formatBytes(limit)}${flag ? ` (--${flag})` : ''}`;
  switch (kind) {
    case 'file':
      return `the repository holds a file of ${formatBytes(size)}${path ? ` (${path})` : ''}, ${over}`;
    case 'total':
      return `the repository's files add up to more than ${formatBytes(size)} inflated, ${over}`;
    case 'pack':
      return `the remote sent a pack larger than the limit of ${formatBytes(limit)}${flag ? ` (--${flag})` : ''}`;
    case 'objects':
      return `the remote's pack holds ${size} objects, ${over}`;
    case 'refs':
      return `the remote's ref advertisement is larger than the limit of ${formatBytes(limit)}`;
  }
}

/** 419430400 → "400 MiB", 1536 → "1.5 KiB", 12 → "12 bytes". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} bytes`;
  return `${Number.isInteger(v) ? v : v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}
