// JSON values as CEL sees them, shared by every place that evaluates CEL on Kubernetes objects (CRD
// validation rules in the local cluster, health-check expressions of a Kustomization): integers become
// CEL ints (BigInt), objects become maps, null and absent become null. Under a schema an integer field
// is an int even when JSON spells it `3`; without one (an unstructured object, as kube's unstructured
// converter does) every whole number that fits is an int and the rest stay doubles.

import type { JSONSchemaProps } from './resource.js';

/** A JSON value as CEL sees it under its schema `s` (none: every safe whole number is an int). */
export function toCelValue(v: unknown, s?: JSONSchemaProps): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return (s?.type === 'integer' || ((!s || s['x-kubernetes-int-or-string'] || s['x-kubernetes-preserve-unknown-fields']) && Number.isInteger(v))) && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => toCelValue(x, s?.items));
  if (typeof v === 'object') {
    const m = new Map<string, unknown>();
    for (const [k, x] of Object.entries(v)) {
      const child = s?.properties?.[k] ?? (typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined);
      m.set(k, toCelValue(x, child));
    }
    return m;
  }
  return v;
}
