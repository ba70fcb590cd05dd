// The bounds every request is held to, so that no body, patch or stored object can exhaust the
// stack, the heap or the disk. kube-apiserver's values where they fit this runtime; where they do not
// (nesting), the reason is given beside the number.

/**
 * Deepest nesting of objects and arrays a body, a patch result or a stored object may have.
 * kube's decoder allows 10,000 levels because Go stacks grow; here V8's own recursive code runs on a
 * ~1 MB stack (measured on Node 20: JSON.stringify fails near 4,100 levels, js-yaml's parser near
 * 1,640 and its dumper near 2,300), and JSON.stringify runs on every stored object and response. 1,000
 * levels keeps a safe margin under all of them; no real manifest nests more than a few dozen.
 */
export const MAX_NESTING_DEPTH = 1000;

/**
 * How much deeper `metadata.managedFields[].fieldsV1` may nest than the limit: it mirrors the fields
 * it records, 5 levels below the root and with a level of its own per list item, so an object at the
 * limit must still be storable and sent back whole (GET, then PUT). A patch document (a JSON patch's
 * array of operations) gets the same allowance for its wrapping.
 */
export const MANAGED_FIELDS_EXTRA_DEPTH = 10;

/**
 * Largest stored object, as encoded JSON: etcd's default request limit (1.5 MiB), which is what bounds
 * an object in kube-apiserver too. Checked on every write path before anything is stored.
 */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

/** kube's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/** kube's JSONPatchMaxCopyBytes: what `copy` (and `add`) operations of one patch may produce in total. */
export const MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024;

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';

/** Whether `v` nests objects/arrays deeper than `max` levels (a scalar is depth 0), without recursion. */
export function nestsDeeperThan(v: unknown, max: number = MAX_NESTING_DEPTH): boolean {
  if (!isContainer(v)) return false;
  // Two parallel stacks: this runs on every write, and tuples would allocate per container.
  const values: object[] = [v];
  const depths: number[] = [1];
  while (values.length) {
    const x = values.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(x)) {
      for (const c of x)
        if (isContainer(c)) {
          values.push(c);
          depths.push(depth + 1);
        }
    } else {
      for (const k in x) {
        const c = (x as Record<string, unknown>)[k];
        if (isContainer(c)) {
          values.push(c);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/**
 * What is too deep about `v`, or undefined: an object (a body or a stored object) may nest
 * MAX_NESTING_DEPTH levels, its managedFields' fieldsV1 MANAGED_FIELDS_EXTRA_DEPTH more; any other
 * document (a JSON patch) the larger bound. No recursion.
 */
export function nestingProblem(v: unknown): string | undefined {
  const wide = MAX_NESTING_DEPTH + MANAGED_FIELDS_EXTRA_DEPTH;
  if (!isContainer(v)) return undefined;
  if (Array.isArray(v)) return nestsDeeperThan(v, wide) ? `nests objects and arrays deeper than the limit of ${wide} levels for a patch document` : undefined;
  // Where a node is on the way to fieldsV1: 1 root, 2 metadata, 3 managedFields, 4 one entry; 0 elsewhere.
  const ROOT = 1, META = 2, ENTRIES = 3, ENTRY = 4, FIELDS = 5;
  const values: object[] = [v];
  const depths: number[] = [1];
  const places: number[] = [ROOT];
  while (values.length) {
    const x = values.pop()!;
    const depth = depths.pop()!;
    const place = places.pop()!;
    if (depth > (place === FIELDS ? wide : MAX_NESTING_DEPTH)) {
      return place === FIELDS ? `nests metadata.managedFields[].fieldsV1 deeper than the limit of ${wide} levels` : `nests objects and arrays deeper than the limit of ${MAX_NESTING_DEPTH} levels`;
    }
    const isArray = Array.isArray(x);
    for (const k in x) {
      const c = (x as Record<string, unknown>)[k];
      if (!isContainer(c)) continue;
      let next = place === FIELDS ? FIELDS : 0;
      if (place === ROOT && k === 'metadata' && !Array.isArray(c)) next = META;
      else if (place === META && k === 'managedFields' && Array.isArray(c)) next = ENTRIES;
      else if (place === ENTRIES && isArray) next = ENTRY;
      else if (place === ENTRY && k === 'fieldsV1') next = FIELDS;
      values.push(c);
      depths.push(depth + 1);
      places.push(next);
    }
  }
  return undefined;
}

/**
 * Bytes `v` takes as JSON, counted without building the text, stopping once past `stopAbove` (the
 * count returned is then only known to exceed it). Strings count their UTF-8 length plus quotes, an
 * approximation of escaping that never undercounts what matters here: growth.
 */
export function jsonSize(v: unknown, stopAbove = Infinity): number {
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length && n <= stopAbove) {
    const x = stack.pop();
    if (typeof x === 'string') n += Buffer.byteLength(x) + 2;
    else if (typeof x === 'number' || typeof x === 'boolean') n += String(x).length;
    else if (x === null || x === undefined) n += 4;
    else if (Array.isArray(x)) {
      n += 2 + Math.max(0, x.length - 1);
      for (const c of x) stack.push(c);
    } else if (typeof x === 'object') {
      const keys = Object.keys(x);
      n += 2 + Math.max(0, keys.length - 1);
      for (const k of keys) {
        n += Buffer.byteLength(k) + 3;
        stack.push((x as Record<string, unknown>)[k]);
      }
    }
  }
  return n;
}

/** A deep copy of a JSON value, without recursion (structuredClone recurses natively and fails near 1,900 levels). */
export function cloneJSON<T>(v: T): T {
  if (!isContainer(v)) return v;
  const root: unknown = Array.isArray(v) ? new Array(v.length) : {};
  const stack: [object, Record<string, unknown> | unknown[]][] = [[v, root as Record<string, unknown>]];
  while (stack.length) {
    const [src, dst] = stack.pop()!;
    const copy = (k: string | number, c: unknown) => {
      let out: unknown = c;
      if (isContainer(c)) {
        out = Array.isArray(c) ? new Array(c.length) : {};
        stack.push([c, out as Record<string, unknown>]);
      }
      // defineProperty: a key named "__proto__" is data, never the prototype.
      if (Array.isArray(dst)) dst[k as number] = out;
      else Object.defineProperty(dst, k, { value: out, writable: true, enumerable: true, configurable: true });
    };
    if (Array.isArray(src)) src.forEach((c, i) => copy(i, c));
    else for (const [k, c] of Object.entries(src)) if (c !== undefined) copy(k, c);
  }
  return root as T;
}

const MiB = 1024 * 1024;
/** `1.5 MiB`, `3 MiB`, `512 KiB`: how limits are named in messages. */
export function formatBytes(n: number): string {
  if (n >= MiB) return `${+(n / MiB).toFixed(2)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(2)} KiB`;
  return `${n} bytes`;
}
