// SMD's typed operations (field sets, compare, merge, remove) on plain JSON, typed by a CRD's structural
// schema the way kube's CRD type converter reads it: objects are granular unless
// `x-kubernetes-map-type: atomic`, lists atomic unless `x-kubernetes-list-type` says set or map, and
// anything without a schema (preserve-unknown-fields) is deduced: granular maps, atomic lists.

import type { JSONSchemaProps } from '../../apis/meta/resource.js';
import { FieldSet } from './field-set.js';
import { compareStrings, isObject, pathString, serializePathElement, type Path, type PathElement } from './path.js';

/** undefined: no schema; the shape is deduced from the value. */
type Schema = JSONSchemaProps | undefined;
type Obj = Record<string, unknown>;
type Shape = { t: 'leaf' } | { t: 'map'; s: Schema } | { t: 'list'; keys?: string[]; item: Schema };

const LEAF: Shape = { t: 'leaf' };

/** An object that does not fit its schema's list rules (missing key, duplicate item, …). */
export class TypedError extends Error {}

const str: JSONSchemaProps = { type: 'string' };

/** ObjectMeta's merge rules: the schema says only `{type: object}`, kube uses the built-in type. */
const METADATA: JSONSchemaProps = {
  type: 'object',
  properties: {
    generateName: str,
    labels: { type: 'object', additionalProperties: str },
    annotations: { type: 'object', additionalProperties: str },
    finalizers: { type: 'array', items: str, 'x-kubernetes-list-type': 'set' },
    ownerReferences: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
      items: {
        type: 'object',
        properties: { apiVersion: str, kind: str, name: str, uid: str, controller: { type: 'boolean' }, blockOwnerDeletion: { type: 'boolean' } },
      },
    },
  },
};

/** The metadata fields field management tracks; the rest are the server's (kube's stripmeta). */
export const TRACKED_METADATA = Object.keys(METADATA.properties!);

const roots = new WeakMap<JSONSchemaProps, JSONSchemaProps>();

/** The object schema with kube's ObjectMeta rules in place of its `metadata: {type: object}`. */
export function rootSchema(schema: JSONSchemaProps): JSONSchemaProps {
  let r = roots.get(schema);
  if (!r) roots.set(schema, (r = { ...schema, type: 'object', properties: { ...schema.properties, metadata: METADATA } }));
  return r;
}

function shape(s: Schema, v: unknown): Shape {
  if (!s) return isObject(v) ? { t: 'map', s } : LEAF;
  if (s['x-kubernetes-int-or-string']) return LEAF;
  const type = s.type ?? (s.properties || s.additionalProperties ? 'object' : s.items ? 'array' : undefined);
  if (type === 'object') {
    // A value of the wrong type is left to validation; here it is one opaque leaf.
    if (s['x-kubernetes-map-type'] === 'atomic' || !(isObject(v) || v === null)) return LEAF;
    return { t: 'map', s };
  }
  if (type === 'array') {
    const lt = s['x-kubernetes-list-type'];
    const keys = s['x-kubernetes-list-map-keys'];
    if (!(Array.isArray(v) || v === null) || !lt || lt === 'atomic' || (lt === 'map' && !keys?.length)) return LEAF;
    return { t: 'list', keys: lt === 'map' ? keys : undefined, item: s.items };
  }
  return type ? LEAF : shape(undefined, v);
}

const declared = (s: Schema, k: string) => !!s?.properties && Object.hasOwn(s.properties, k);

function fieldSchema(s: Schema, k: string): Schema {
  if (declared(s, k)) return s!.properties![k];
  return isObject(s?.additionalProperties) ? s.additionalProperties : undefined;
}

const isEmpty = (v: unknown) => v == null || (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0);

/** The path element naming one list item: its key fields (list-map) or its value (set). */
function itemElement(sh: Extract<Shape, { t: 'list' }>, item: unknown, i: number, path: Path): PathElement {
  const fail = (msg: string) => new TypedError(`${pathString(path)}: element ${i}: ${msg}`);
  if (!sh.keys) {
    if (item === null) throw fail("associative list without keys has an element that's an explicit null");
    if (typeof item === 'object') throw fail("associative list without keys has an element that's a map or list type");
    return { value: item };
  }
  if (!isObject(item)) throw fail('associative list with keys may not have non-map elements');
  const key: [string, unknown][] = sh.keys.map((k) => {
    const v = Object.hasOwn(item, k) ? item[k] : sh.item?.properties?.[k]?.default;
    if (v === undefined) throw fail(`associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)`);
    return [k, v];
  });
  return { key: key.sort((a, b) => compareStrings(a[0], b[0])) };
}

interface Item {
  pe: PathElement;
  values: unknown[];
}

/** Items by element key, in first-seen order; repeated keys collect in `values`. */
function indexItems(sh: Extract<Shape, { t: 'list' }>, list: unknown, path: Path): Map<string, Item> {
  const out = new Map<string, Item>();
  (Array.isArray(list) ? list : []).forEach((item, i) => {
    const pe = itemElement(sh, item, i, path);
    const k = serializePathElement(pe);
    const seen = out.get(k);
    if (seen) seen.values.push(item);
    else out.set(k, { pe, values: [item] });
  });
  return out;
}

/** The fields a value sets (SMD ToFieldSet): what an applier owns for its configuration. */
export function toFieldSet(v: Obj, s: JSONSchemaProps): FieldSet {
  const out = new FieldSet();
  collect(v, s, [], out);
  return out;
}

function collect(v: unknown, s: Schema, path: Path, out: FieldSet): void {
  const sh = shape(s, v);
  if (sh.t === 'leaf') return out.insert(path);
  if (sh.t === 'list') {
    for (const it of indexItems(sh, v, path).values()) {
      const p = [...path, it.pe];
      collect(it.values[0], sh.item, p, out);
      out.insert(p);
    }
    return;
  }
  for (const [k, cv] of Object.entries(isObject(v) ? v : {})) {
    const p = [...path, { field: k }];
    collect(cv, fieldSchema(sh.s, k), p, out);
    // Map entries are owned themselves; so is a struct set to null or {} (the applier means "this, empty").
    if (!declared(sh.s, k) || cv === null || (isObject(cv) && isEmpty(cv))) out.insert(p);
  }
}

export interface Comparison {
  added: FieldSet;
  removed: FieldSet;
  modified: FieldSet;
}

export const isSame = (c: Comparison) => c.added.empty() && c.removed.empty() && c.modified.empty();

/** What changed from `l` to `r` (SMD Compare): a container added or removed whole is listed with all it held. */
export function compare(l: Obj, r: Obj, s: JSONSchemaProps): Comparison {
  const c = { added: new FieldSet(), removed: new FieldSet(), modified: new FieldSet() };
  compareAt(l, r, s, [], c);
  return c;
}

function compareAt(l: unknown, r: unknown, s: Schema, path: Path, c: Comparison): void {
  const sl = l === undefined ? undefined : shape(s, l);
  const sr = r === undefined ? undefined : shape(s, r);
  const sh = sl && sr && sl.t !== sr.t ? LEAF : (sr ?? sl)!;
  if (sh.t === 'leaf' || (isEmpty(l) && isEmpty(r))) {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
    else if (!deepEqual(l, r)) c.modified.insert(path);
    return;
  }
  if (sh.t === 'map') {
    const lm = isObject(l) ? l : {};
    const rm = isObject(r) ? r : {};
    for (const k of new Set([...Object.keys(lm), ...Object.keys(rm)])) compareAt(lm[k], rm[k], fieldSchema(sh.s, k), [...path, { field: k }], c);
  } else {
    const li = indexItems(sh, l, path);
    const ri = indexItems(sh, r, path);
    for (const k of new Set([...li.keys(), ...ri.keys()])) {
      const it = (li.get(k) ?? ri.get(k))!;
      const p = [...path, it.pe];
      const lv = li.get(k)?.values ?? [];
      const rv = ri.get(k)?.values ?? [];
      // Repeated keys (never valid, but possible in stored data) compare as one atomic value.
      if (lv.length <= 1 && rv.length <= 1) compareAt(lv[0], rv[0], sh.item, p, c);
      else if (lv.length > 1 && rv.length > 1) {
        if (!deepEqual(lv, rv)) c.modified.insert(p);
      } else if (lv.length > 1) {
        if (rv.length) compareAt(undefined, rv[0], sh.item, p, c);
        c.removed.insert(p);
      } else {
        if (lv.length) compareAt(lv[0], undefined, sh.item, p, c);
        c.added.insert(p);
      }
    }
  }
  if (path.length === 0) return;
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
}

/** Merges an applied configuration into an object (SMD Merge): the configuration wins on leaves. */
export function merge(l: Obj, r: Obj, s: JSONSchemaProps): Obj {
  return mergeAt(l, r, s, []) as Obj;
}

function mergeAt(l: unknown, r: unknown, s: Schema, path: Path): unknown {
  if (r === undefined) return l;
  const sr = shape(s, r);
  const sl = l === undefined ? sr : shape(s, l);
  if (sl.t !== sr.t || sr.t === 'leaf' || (isEmpty(l) && isEmpty(r))) return r;
  if (sr.t === 'map') {
    const lm = isObject(l) ? l : {};
    const rm = isObject(r) ? r : {};
    const out: Obj = {};
    for (const [k, v] of Object.entries(lm)) out[k] = Object.hasOwn(rm, k) ? mergeAt(v, rm[k], fieldSchema(sr.s, k), [...path, { field: k }]) : v;
    for (const [k, v] of Object.entries(rm)) if (!Object.hasOwn(lm, k)) out[k] = mergeAt(undefined, v, fieldSchema(sr.s, k), [...path, { field: k }]);
    return out;
  }
  return mergeList(sr, l, r, path);
}

/**
 * Merges list items by key, keeping both sides' relative order: the configuration's items come in its
 * order, and items only the object has stay where they were between them.
 */
function mergeList(sh: Extract<Shape, { t: 'list' }>, l: unknown, r: unknown, path: Path): unknown[] {
  const ri = indexItems(sh, r, path);
  for (const it of ri.values()) if (it.values.length > 1) throw new TypedError(`${pathString(path)}: duplicate entries for key ${pathString([it.pe])}`);
  const li = indexItems(sh, l, path);
  const lKeys = [...li.keys()];
  const rKeys = [...ri.keys()];
  const shared = rKeys.filter((k) => li.has(k));
  const done = new Set<string>();
  const out: unknown[] = [];
  const take = (k: string) => {
    out.push(mergeAt(li.get(k)?.values[0], ri.get(k)?.values[0], sh.item, [...path, (ri.get(k) ?? li.get(k))!.pe]));
    done.add(k);
    if (shared[0] === k) shared.shift();
  };
  let i = 0;
  let j = 0;
  while (i < lKeys.length || j < rKeys.length) {
    const lk = lKeys[i];
    if (lk !== undefined && done.has(lk)) {
      i++;
    } else if (lk !== undefined && lk === rKeys[j]) {
      take(lk);
      i++;
      j++;
    } else if (lk !== undefined && !ri.has(lk)) {
      out.push(li.get(lk)!.values[0]);
      i++;
    } else if (lk !== undefined && j < rKeys.length && shared[0] !== lk) {
      i++; // shared, but the configuration places it later: it is taken in its order
    } else {
      take(rKeys[j++]);
    }
  }
  return out;
}

/**
 * The value without the given paths (SMD RemoveItems). A map or list whose every entry is removed goes
 * too; one that only lost emptied children stays, empty (SMD leaves a null there, which CRD null pruning
 * then drops).
 */
export function removeItems(v: Obj, set: FieldSet, s: JSONSchemaProps): Obj {
  return (removeAt(v, set, s, []) as Obj | undefined) ?? {};
}

function removeAt(v: unknown, set: FieldSet, s: Schema, path: Path): unknown {
  const sh = shape(s, v);
  if (sh.t === 'leaf' || isEmpty(v)) return v;
  let kept = 0;
  const keep = (pe: PathElement, child: unknown, cs: Schema, put: (x: unknown) => void) => {
    const key = serializePathElement(pe);
    if (set.members.has(key)) return;
    kept++;
    const sub = set.child(key);
    const nv = sub ? removeAt(child, sub, cs, [...path, pe]) : child;
    if (nv !== undefined) put(nv);
  };
  if (sh.t === 'map') {
    const out: Obj = {};
    for (const [k, cv] of Object.entries(v as Obj)) keep({ field: k }, cv, fieldSchema(sh.s, k), (x) => (out[k] = x));
    return kept ? out : undefined;
  }
  const out: unknown[] = [];
  (v as unknown[]).forEach((item, i) => keep(itemElement(sh, item, i, path), item, sh.item, (x) => out.push(x)));
  return kept ? out : undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}
