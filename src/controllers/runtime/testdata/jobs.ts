// Jobs for the worker pool's tests.
import { threadId } from 'node:worker_threads';

export async function square(n: number): Promise<{ value: number; threadId: number }> {
  return { value: n * n, threadId };
}

export async function fail(reason: string): Promise<never> {
  const e = new Error(`failed: ${reason}`) as Error & { reason: string };
  e.name = 'GitRemoteError';
  e.reason = reason;
  throw e;
}

export async function spin(ms: number): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* busy: only terminating the thread stops this */
  }
  return 'finished';
}
