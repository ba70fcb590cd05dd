// RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch on plain JSON values. Both return new values and
// throw PatchError (a 422/400 upstream) rather than leave anything half-applied. A JSON patch is held
// to kube's bounds: at most 10,000 operations, and at most 3 MiB produced by `copy` operations, counted
// before each copy is made (24 copies that each double a 1 KiB value would otherwise build 16 GiB).
// Nothing here recurses over the document: a patch can nest a value far deeper than any body may.

import { cloneJSON as clone, formatBytes, jsonSize, MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS } from './limits.js';
import { jsonEqual } from './meta.js';

export class PatchError extends Error {}

/** Too many operations: kube answers 413 for it, as for a body over the size limit. */
export class PatchTooLargeError extends PatchError {}

type JSONValue = null | boolean | number | string | JSONValue[] | { [k: string]: JSONValue };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
// Own keys only: a member named "constructor" or "__proto__" is data, never the prototype's.
const has = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k);
const put = (o: Record<string, unknown>, k: string, v: unknown) => void Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. The target is copied once. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const root: Record<string, unknown> = isObject(target) ? clone(target) : {};
  const stack: [Record<string, unknown>, Record<string, unknown>][] = [[root, patch]];
  while (stack.length) {
    const [out, p] = stack.pop()!;
    for (const [k, v] of Object.entries(p)) {
      if (v === null) delete out[k];
      else if (!isObject(v)) put(out, k, clone(v));
      else {
        const into = has(out, k) && isObject(out[k]) ? (out[k] as Record<string, unknown>) : {};
        put(out, k, into);
        stack.push([into, v]);
      }
    }
  }
  return root;
}

function parsePointer(path: unknown): string[] {
  if (typeof path !== 'string') throw new PatchError('path must be a string');
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer "${path}": must start with "/"`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) throw new PatchError(`array index ${i} out of bounds (length ${arr.length})`);
  return i;
}

/** Walks to the parent of the pointer's last token. */
function parentOf(doc: unknown, tokens: string[], path: string): { parent: unknown; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isObject(cur) && has(cur, t)) cur = cur[t];
    else throw new PatchError(`path "${path}" does not exist`);
  }
  return { parent: cur, key: tokens[tokens.length - 1] };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isObject(cur) && has(cur, t)) cur = cur[t];
    else throw new PatchError(`path "${path}" does not exist`);
  }
  return cur;
}

function remove(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false), 1)[0];
  if (isObject(parent) && has(parent, key)) {
    const v = parent[key];
    delete parent[key];
    return v;
  }
  throw new PatchError(`unable to remove nonexistent key "${key}": path "${path}" does not exist`);
}

function add(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else if (isObject(parent)) put(parent, key, value);
  else throw new PatchError(`path "${path}" does not exist`);
  return doc;
}

function replace(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) parent[arrayIndex(parent, key, false)] = value;
  else if (isObject(parent) && has(parent, key)) put(parent, key, value);
  else throw new PatchError(`replace operation does not apply: doc is missing key: ${path}`);
  return doc;
}

/** RFC 6902. The input document is not modified. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) throw new PatchTooLargeError(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  let doc = clone(target) as unknown;
  let copied = 0;
  ops.forEach((op, i) => {
    if (!isObject(op)) throw new PatchError(`operation ${i} is not an object`);
    if (typeof op.path !== 'string') throw new PatchError(`operation ${i} has no "path" string`);
    const path = op.path;
    switch (op.op) {
      case 'add':
        if (!('value' in op)) throw new PatchError(`operation ${i} (add) has no "value"`);
        doc = add(doc, path, clone(op.value));
        break;
      case 'remove':
        remove(doc, path);
        break;
      case 'replace':
        if (!('value' in op)) throw new PatchError(`operation ${i} (replace) has no "value"`);
        doc = replace(doc, path, clone(op.value));
        break;
      case 'move': {
        const from = op.from as string;
        if (typeof from !== 'string') throw new PatchError(`operation ${i} (move) has no "from"`);
        if (path.startsWith(`${from}/`)) throw new PatchError(`cannot move "${from}" into its own child "${path}"`);
        const v = remove(doc, from);
        doc = add(doc, path, v);
        break;
      }
      case 'copy': {
        const from = op.from as string;
        if (typeof from !== 'string') throw new PatchError(`operation ${i} (copy) has no "from"`);
        const value = getAt(doc, from);
        copied += jsonSize(value, MAX_JSON_PATCH_COPY_BYTES - copied);
        if (copied > MAX_JSON_PATCH_COPY_BYTES) {
          throw new PatchError(`unable to complete the copy of operation ${i}: the values copied by this patch would exceed the limit of ${formatBytes(MAX_JSON_PATCH_COPY_BYTES)}`);
        }
        doc = add(doc, path, clone(value));
        break;
      }
      case 'test':
        if (!jsonEqual(getAt(doc, path), op.value)) throw new PatchError(`testing value ${path} failed`);
        break;
      default:
        throw new PatchError(`unexpected kind of operation: ${JSON.stringify(op.op)}`);
    }
  });
  return doc as JSONValue;
}
