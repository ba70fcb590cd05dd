// What the artifact builder consumes: entries of a tree, from any source (a Git commit's objects, a
// directory, another artifact). Paths are already normalised and safe; see isSafeEntryPath.

export interface ArchiveEntry {
  /** Slash-separated, relative, no leading slash, no empty, '.' or '..' segments. */
  path: string;
  type: 'file' | 'directory';
  /** Files only: the executable bit decides 0755 vs 0644 in the archive. */
  executable?: boolean;
  /** Files only: size in bytes, known before the content is read (archive headers need it). */
  size?: number;
  /** Files only: the content, read when the entry is written; may be called again (ignore rules read `.sourceignore` first). */
  read?(): Promise<Uint8Array | NodeJS.ReadableStream>;
}

/** Identifies whose artifact it is: `gitrepository/<namespace>/<name>` in paths, as Flux lays them out. */
export interface ArtifactOwner {
  kind: string; // GitRepository
  namespace: string;
  name: string;
}

/** Where and what a stored artifact is; `path` is relative to the artifact root. */
export interface StoredArtifact {
  path: string;
  digest: string; // sha256:<hex>
  size: number;
  lastUpdateTime: string; // RFC 3339
}

/** The artifact would exceed the configured maximum size; nothing was stored. */
export class ArtifactTooLargeError extends Error {
  constructor(
    readonly limit: number,
    readonly path?: string,
  ) {
    super(path ? `file ${path} makes the artifact larger than the maximum of ${limit} bytes` : `the artifact is larger than the maximum of ${limit} bytes`);
  }
}

/** An entry with a path that would escape the archive root (`../x`, `/etc/x`, `a/../../b`). */
export class UnsafePathError extends Error {
  constructor(readonly path: string) {
    super(`refusing unsafe path ${JSON.stringify(path)}: it would point outside the source tree`);
  }
}

/** No artifact at that path in the store (never stored, garbage-collected, or removed as corrupt). */
export class ArtifactNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`artifact ${path} is not in the store`);
  }
}
