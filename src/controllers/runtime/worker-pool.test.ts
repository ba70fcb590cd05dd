import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { WorkerError, WorkerPool } from './worker-pool.js';

const JOBS = new URL('./testdata/jobs.ts', import.meta.url).href;

describe('WorkerPool', () => {
  const pool = new WorkerPool(2);
  after(() => pool.close());

  it('runs jobs in other threads, at most `size` at once', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => pool.run<{ value: number; threadId: number }>(JOBS, 'square', n)));
    assert.deepEqual(results.map((r) => r.value), [1, 4, 9, 16, 25]);
    const threads = new Set(results.map((r) => r.threadId));
    assert.ok(!threads.has(threadId));
    assert.ok(threads.size <= 2);
  });

  it('keeps an error\'s name and reason', async () => {
    await assert.rejects(pool.run(JOBS, 'fail', 'AuthenticationFailed'), (e: unknown) => e instanceof WorkerError && e.name === 'GitRemoteError' && e.reason === 'AuthenticationFailed' && /failed: AuthenticationFailed/.test(e.message));
  });

  it('aborting a running job ends its thread, and the pool keeps working', async () => {
    const ac = new AbortController();
    const spinning = pool.run(JOBS, 'spin', 60_000, ac.signal);
    setTimeout(() => ac.abort(new Error('timed out')), 100);
    await assert.rejects(spinning, /timed out/);
    assert.equal((await pool.run<{ value: number }>(JOBS, 'square', 7)).value, 49);
  });

  it('the main thread stays responsive while a worker is busy', async () => {
    const busy = pool.run(JOBS, 'spin', 500);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(performance.now() - t0 < 200);
    assert.equal(await busy, 'finished');
  });
});
