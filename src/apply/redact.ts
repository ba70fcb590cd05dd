// What of a rendered or live object is never shown (the build and diff views): a Secret's values —
// `data`, `stringData`, and the last-applied-configuration annotation, which copies them. Keys stay,
// so the shape is visible.

import type { KubeObject } from '../kube/client.js';

export const REDACTED = '<redacted>';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const isSecret = (o: { kind?: string; apiVersion?: string }) => o.kind === 'Secret' && (!o.apiVersion || o.apiVersion === 'v1');

/** Whether the field at `path` (keys from the object's root) of `o` holds a Secret's value. */
export function isSecretValue(o: { kind?: string; apiVersion?: string }, path: string[]): boolean {
  if (!isSecret(o)) return false;
  return path[0] === 'data' || path[0] === 'stringData' || (path[0] === 'metadata' && path[1] === 'annotations' && path[2] === LAST_APPLIED);
}

/** A copy of `o` with a Secret's values replaced by REDACTED. */
export function redactSecret(o: KubeObject): KubeObject {
  if (!isSecret(o)) return o;
  const out = { ...o } as Record<string, unknown>;
  for (const k of ['data', 'stringData']) {
    const v = out[k] as Record<string, unknown> | undefined;
    if (v && typeof v === 'object') out[k] = Object.fromEntries(Object.keys(v).map((key) => [key, REDACTED]));
  }
  const ann = (o.metadata?.annotations ?? {}) as Record<string, string>;
  if (ann[LAST_APPLIED]) out.metadata = { ...o.metadata, annotations: { ...ann, [LAST_APPLIED]: REDACTED } };
  return out as KubeObject;
}
