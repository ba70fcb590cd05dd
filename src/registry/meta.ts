// Small ObjectMeta helpers shared by the registry.

import { randomBytes } from 'node:crypto';

/** RFC 3339 with second precision, as metav1.Time serialises. */
export const rfc3339 = (d: Date = new Date()): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

// kube's utilrand alphabet: no vowels (no accidental words) and no look-alike digits.
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
export function generateNameSuffix(n = 5): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += ALPHANUMS[b % ALPHANUMS.length];
  return s;
}

/** Structural equality of JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}
