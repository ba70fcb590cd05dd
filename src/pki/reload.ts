// Serving certificate files that may be rotated while the server runs (a renewed Secret mounted into
// the pod): polled, and handed over when both files changed into a valid, matching pair.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

export interface KeyPairFiles {
  certFile: string;
  keyFile: string;
}

export async function readKeyPair(f: KeyPairFiles): Promise<{ cert: string; key: string }> {
  const [cert, key] = await Promise.all([readFile(f.certFile, 'utf8'), readFile(f.keyFile, 'utf8')]);
  // A half-written rotation (new cert, old key) must not replace a working pair.
  if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error(`${f.keyFile} does not match ${f.certFile}`);
  return { cert, key };
}

/**
 * Calls `onChange` with the new pair whenever the files' contents change; returns a stop function.
 * Invalid intermediate states are reported through `onError` and the old pair stays in use.
 */
export function watchKeyPair(f: KeyPairFiles, intervalMs: number, onChange: (pair: { cert: string; key: string }) => void, onError: (e: Error) => void): () => void {
  let last = '';
  let busy = false;
  const stamp = async () => {
    const [a, b] = await Promise.all([stat(f.certFile), stat(f.keyFile)]);
    return `${a.mtimeMs}:${a.size}:${a.ino}|${b.mtimeMs}:${b.size}:${b.ino}`;
  };
  void stamp().then((s) => (last = s), () => undefined);
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const now = await stamp();
      if (now !== last) {
        const pair = await readKeyPair(f);
        last = now;
        onChange(pair);
      }
    } catch (e) {
      onError(e as Error);
    } finally {
      busy = false;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
