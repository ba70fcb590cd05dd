import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from './queue.js';

test('a key is queued once and never handed to two workers at once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('a');
  q.add('b');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  q.add('a'); // while processing: comes back after done()
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
  q.done('a');
  assert.equal(await q.get(), 'a');
  q.done('a');
  q.done('b');
  assert.equal(q.len(), 0);
  q.shutdown();
  assert.equal(await q.get(), undefined);
});

test('a waiting worker gets a key as soon as it is added', async () => {
  const q = new WorkQueue();
  const next = q.get();
  q.add('x');
  assert.equal(await next, 'x');
  q.shutdown();
});

test('addAfter delays, and the earliest pending add wins', async () => {
  const q = new WorkQueue();
  const hold = setTimeout(() => {}, 5000); // the queue's timers are unref'd: keep the test process alive
  const t0 = Date.now();
  q.addAfter('k', 200);
  q.addAfter('k', 60_000);
  assert.equal(await q.get(), 'k');
  clearTimeout(hold);
  assert.ok(Date.now() - t0 >= 150);
  q.shutdown();
});

test('backoff doubles per failure up to the maximum and forget resets it', () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
  assert.deepEqual([1, 2, 3, 4].map(() => q.addRateLimited('k')), [10, 20, 40, 50]);
  assert.equal(q.failuresOf('k'), 4);
  q.forget('k');
  assert.equal(q.addRateLimited('k'), 10);
  q.shutdown();
});
