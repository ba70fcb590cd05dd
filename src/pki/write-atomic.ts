import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Replaces `path` with `data` so that a reader, or a restart after a crash, sees the old file or the
 * new one, never a torn one: write a temp file in the same directory, fsync, rename over.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const f = await open(tmp, 'wx', mode);
  try {
    await f.writeFile(data);
    await f.chmod(mode); // the umask may have narrowed it
    await f.sync();
  } catch (e) {
    await f.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await f.close();
  await rename(tmp, path);
}
