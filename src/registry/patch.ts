// RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch on plain JSON values. Both return new values and
// throw PatchError (a 422/400 upstream) rather than leave anything half-applied.

export class PatchError extends Error {}

type JSONValue = null | boolean | number | string | JSONValue[] | { [k: string]: JSONValue };

const clone = <T>(v: T): T => structuredClone(v);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
// Own keys only: a member named "constructor" or "__proto__" is data, never the prototype's.
const has = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k);
const put = (o: Record<string, unknown>, k: string, v: unknown) => void Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else put(out, k, mergePatch(has(out, k) ? out[k] : undefined, v));
  }
  return out;
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

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

/** RFC 6902. The input document is not modified. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations');
  let doc = clone(target) as unknown;
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
        doc = add(doc, path, clone(getAt(doc, from)));
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, path), op.value)) throw new PatchError(`testing value ${path} failed`);
        break;
      default:
        throw new PatchError(`unexpected kind of operation: ${JSON.stringify(op.op)}`);
    }
  });
  return doc as JSONValue;
}
