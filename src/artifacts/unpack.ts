// Unpacks a stored artifact into a directory, for consumers that need a tree on disk (a Kustomization's
// build). The archive reader already refuses unsafe paths (absolute, `..`) and yields only regular files
// and directories — a symlink or device in an archive is never created here — and the totals are
// bounded, so a hostile or runaway artifact cannot fill the disk.

import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readArchive } from './archive.js';


/** The artifact is larger than a consumer takes. */
export class UnpackLimitError extends Error {}

export interface UnpackLimits {
  /** Most bytes of file content (default 1 GiB). */
  maxBytes?: number;
  /** Most entries (default 100,000). */
  maxEntries?: number;
}

/** Writes the archive's files under `dir` (created); returns how many files and bytes were written. */
export async function unpackArtifact(file: string, dir: string, limits: UnpackLimits = {}): Promise<{ files: number; bytes: number }> {
  const maxBytes = limits.maxBytes ?? 1 << 30;
  const maxEntries = limits.maxEntries ?? 100_000;
  let bytes = 0;
  let files = 0;
  let entries = 0;
  await mkdir(dir, { recursive: true });
  const reader = readArchive(file);
  try {
    for await (const e of reader) {
      if (++entries > maxEntries) throw new UnpackLimitError(`the artifact holds more than ${maxEntries} entries`);
      const target = join(dir, ...e.path.split('/'));
      if (e.type === 'directory') {
        await mkdir(target, { recursive: true });
        continue;
      }
      bytes += e.size ?? 0;
      if (bytes > maxBytes) throw new UnpackLimitError(`the artifact unpacks to more than ${maxBytes} bytes`);
      await mkdir(dirname(target), { recursive: true });
      const body = await e.read!();
      // flags 'wx': an entry never overwrites (or follows) something already written.
      await pipeline(body as NodeJS.ReadableStream, createWriteStream(target, { flags: 'wx', mode: e.executable ? 0o755 : 0o644 }));
      files++;
    }
  } finally {
    reader.close();
  }
  return { files, bytes };
}
