// Waiting in tests: poll a condition (bounded, never a fixed sleep standing in for it), and read
// the metav1.Status a rejected call answers with.

import assert from 'node:assert/strict';
import type { Status } from '../../src/apis/meta/types.js';
import { StatusError } from '../../src/apis/meta/errors.js';

type Check<T> = () => T | undefined | false | Promise<T | undefined | false>;

/** Polls `check` until it returns a truthy value; `describe` explains a timeout. */
export async function eventually<T>(check: Check<T>, ms = 5000, describe: () => string = () => 'condition not met in time'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The metav1.Status a rejected call answers with. */
export async function rejection(p: Promise<unknown>): Promise<Status & { message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatusError) return e.toStatus() as Status & { message: string };
    throw e;
  }
  assert.fail('expected a StatusError');
}
