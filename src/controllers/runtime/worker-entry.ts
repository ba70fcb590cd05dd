// Inside a worker thread: runs the jobs WorkerPool sends, one at a time.

import { parentPort } from 'node:worker_threads';

parentPort!.on('message', async (m: { id: number; module: string; fn: string; arg: unknown }) => {
  try {
    const mod = (await import(m.module)) as Record<string, (arg: unknown) => Promise<unknown>>;
    const fn = mod[m.fn];
    if (typeof fn !== 'function') throw new Error(`${m.module} has no export ${m.fn}`);
    parentPort!.postMessage({ id: m.id, ok: await fn(m.arg) });
  } catch (e) {
    const err = e as { message?: string; name?: string; reason?: string; constructor?: { name?: string } };
    // Subclasses often leave `name` as 'Error'; the class name is what the caller maps on.
    const name = err?.name && err.name !== 'Error' ? err.name : (err?.constructor?.name ?? 'Error');
    parentPort!.postMessage({ id: m.id, error: { message: String(err?.message ?? e), name, ...(err?.reason ? { reason: err.reason } : {}) } });
  }
});
