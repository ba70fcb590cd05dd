// Strategic merge patch (`application/strategic-merge-patch+json`), what kubectl edit and client-side
// apply send for built-in kinds: a JSON merge patch whose lists are merged by the key the schema names
// (`x-kubernetes-patch-merge-key` with `x-kubernetes-patch-strategy: merge`) instead of replaced, plus
// kube's directives: `$patch` (replace, delete, merge) on maps and list items, `$retainKeys`,
// `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`. Custom resources have no such
// schema and get 415, as in kube. Nothing here recurses deeper than the patch does (bodies are
// depth-checked), and inputs are not modified.

import type { JSONSchemaProps } from '../apis/meta/resource.js';
import { cloneJSON } from './limits.js';
import { PatchError } from './patch.js';

type Obj = Record<string, unknown>;

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const put = (o: Obj, k: string, v: unknown) => void Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
const isDirective = (k: string) => k === PATCH || k === RETAIN_KEYS || k.startsWith(SET_ORDER) || k.startsWith(DELETE_FROM_PRIMITIVE);
const jsonKey = (v: unknown) => JSON.stringify(v);

function fieldSchema(s: JSONSchemaProps | undefined, key: string): JSONSchemaProps | undefined {
  if (!s) return undefined;
  if (s.properties?.[key]) return s.properties[key];
  return typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
}

const strategies = (s: JSONSchemaProps | undefined) => (s?.['x-kubernetes-patch-strategy'] ?? '').split(',').map((x) => x.trim());

/** A value taken whole from the patch: its directives (and `$patch: delete` items) removed. */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isObj(x) && x[PATCH] === 'delete')).map(clean);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (!isDirective(k) && x !== null) put(out, k, clean(x));
  return out;
}

/** Applies `patch` to `original` with the kind's schema; returns the new object. */
export function strategicMergePatch(original: unknown, patch: unknown, schema: JSONSchemaProps): unknown {
  if (!isObj(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  if (patch[PATCH] === 'delete') throw new PatchError('a strategic merge patch cannot delete the whole object');
  return mergeMap(isObj(original) ? cloneJSON(original) : {}, patch, schema);
}

function mergeMap(original: Obj, patch: Obj, schema: JSONSchemaProps | undefined): Obj | undefined {
  const directive = patch[PATCH];
  if (directive !== undefined) {
    if (directive === 'replace') return clean(patch) as Obj;
    if (directive === 'delete') return undefined;
    if (directive !== 'merge') throw new PatchError(`unknown patch type: ${jsonKey(directive)} in map`);
  }
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain) || retain.some((k) => typeof k !== 'string')) throw new PatchError('$retainKeys must be a list of strings');
    const keep = new Set(retain as string[]);
    for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
  }
  const orders = new Map<string, unknown[]>();
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = k.slice(DELETE_FROM_PRIMITIVE.length);
      if (!Array.isArray(v)) throw new PatchError(`${k} must be a list`);
      const current = original[field];
      if (Array.isArray(current)) {
        const gone = new Set(v.map(jsonKey));
        put(original, field, current.filter((x) => !gone.has(jsonKey(x))));
      }
    } else if (k.startsWith(SET_ORDER)) {
      if (!Array.isArray(v)) throw new PatchError(`${k} must be a list`);
      orders.set(k.slice(SET_ORDER.length), v);
    }
  }
  for (const [k, patchV] of Object.entries(patch)) {
    if (isDirective(k)) continue;
    if (patchV === null) {
      delete original[k];
      continue;
    }
    const sub = fieldSchema(schema, k);
    const merged = Object.hasOwn(original, k) ? mergeValue(original[k], patchV, sub) : mergeValue(undefined, patchV, sub);
    if (merged === undefined) delete original[k];
    else put(original, k, merged);
  }
  for (const [field, order] of orders) {
    const list = original[field];
    if (Array.isArray(list)) put(original, field, ordered(list, order, fieldSchema(schema, field)?.['x-kubernetes-patch-merge-key']));
  }
  return original;
}

function mergeValue(original: unknown, patch: unknown, schema: JSONSchemaProps | undefined): unknown {
  if (isObj(patch)) {
    if (strategies(schema).includes('replace')) return clean(patch);
    return mergeMap(isObj(original) ? original : {}, patch, schema);
  }
  if (Array.isArray(patch)) return mergeList(Array.isArray(original) ? original : [], patch, schema);
  return patch;
}

function mergeList(original: unknown[], patch: unknown[], schema: JSONSchemaProps | undefined): unknown[] {
  // {"$patch": "replace"} among the items replaces the whole list with the others.
  if (patch.some((x) => isObj(x) && x[PATCH] === 'replace' && Object.keys(x).length === 1)) return clean(patch.filter((x) => !(isObj(x) && x[PATCH] === 'replace'))) as unknown[];
  if (!strategies(schema).includes('merge')) return clean(patch) as unknown[];
  const key = schema?.['x-kubernetes-patch-merge-key'];
  if (!key) {
    // A set of scalars (finalizers, for example): the union, in original order, then the new ones.
    const out = [...original];
    const seen = new Set(out.map(jsonKey));
    for (const x of patch) {
      if (isObj(x)) throw new PatchError('a list merged without a merge key must hold scalars');
      if (!seen.has(jsonKey(x))) {
        seen.add(jsonKey(x));
        out.push(x);
      }
    }
    return out;
  }
  // Items found by their key through a map, removed ones marked and dropped at the end: linear in
  // the list and the patch, whatever their sizes.
  const GONE = Symbol('removed');
  const out: unknown[] = [...original];
  const at = new Map<string, number>();
  out.forEach((x, i) => {
    if (isObj(x) && !at.has(jsonKey(x[key]))) at.set(jsonKey(x[key]), i);
  });
  const itemSchema = schema?.items;
  for (const item of patch) {
    if (!isObj(item)) throw new PatchError(`list items merged by "${key}" must be objects`);
    if (!Object.hasOwn(item, key)) throw new PatchError(`map: ${jsonKey(item)} does not contain declared merge key: ${key}`);
    const id = jsonKey(item[key]);
    const i = at.get(id);
    if (item[PATCH] === 'delete') {
      if (i !== undefined) out[i] = GONE;
      at.delete(id);
      continue;
    }
    if (i !== undefined) {
      const merged = mergeMap(cloneJSON(out[i] as Obj), item, itemSchema);
      if (merged === undefined) {
        out[i] = GONE;
        at.delete(id);
      } else out[i] = merged;
    } else {
      at.set(id, out.length);
      out.push(clean(item));
    }
  }
  return out.filter((x) => x !== GONE);
}

/** `$setElementOrder`: the items it names in its order, then the others as they were. */
function ordered(list: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const idOf = (x: unknown) => jsonKey(mergeKey && isObj(x) ? x[mergeKey] : x);
  const wanted = order.map((o) => jsonKey(mergeKey && isObj(o) ? o[mergeKey] : o));
  const rank = new Map(wanted.map((w, i) => [w, i]));
  const named = list.filter((x) => rank.has(idOf(x))).sort((a, b) => rank.get(idOf(a))! - rank.get(idOf(b))!);
  return [...named, ...list.filter((x) => !rank.has(idOf(x)))];
}
