// Path elements as structured-merge-diff (SMD) names fields: their total order, their FieldsV1 key
// syntax (`f:name`, `k:{"type":"Ready"}`, `v:"x"`, `i:0`) and their human form (`.spec[type="Ready"]`).

export type PathElement =
  | { field: string }
  /** An item of a list-map, by its key fields sorted by name. */
  | { key: [string, unknown][] }
  /** An item of a set. */
  | { value: unknown }
  /** An item of an atomic list: only ever read from FieldsV1 written by others. */
  | { index: number };
export type Path = PathElement[];

export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Go compares strings by UTF-8 bytes, which is code point order, not UTF-16 unit order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

// Go's encoding/json escapes these even inside strings; FieldsV1 keys must match byte for byte.
const goEscape = (s: string) => s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** JSON as Go's encoding/json writes it: map keys sorted, HTML characters escaped. */
export function goJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goJSON).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort(compareStrings);
    return `{${keys.map((k) => `${goEscape(JSON.stringify(k))}:${goJSON(v[k])}`).join(',')}}`;
  }
  if (typeof v === 'string') return goEscape(JSON.stringify(v));
  return JSON.stringify(v) ?? 'null';
}

// SMD's value order: numbers < strings < booleans < lists < maps < null.
function rank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  return isObject(v) ? 4 : 5;
}

export function compareValues(a: unknown, b: unknown): number {
  const d = rank(a) - rank(b);
  if (d !== 0) return d;
  if (typeof a === 'number' || typeof a === 'boolean') return a === b ? 0 : a < (b as typeof a) ? -1 : 1;
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (Array.isArray(a)) return compareLists(a, b as unknown[]);
  if (isObject(a)) {
    const sorted = (o: Record<string, unknown>) => Object.keys(o).sort(compareStrings).map((k): [string, unknown] => [k, o[k]]);
    return compareFields(sorted(a), sorted(b as Record<string, unknown>));
  }
  return 0;
}

function compareLists(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareFields(a: [string, unknown][], b: [string, unknown][]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareStrings(a[i][0], b[i][0]) || compareValues(a[i][1], b[i][1]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

// Fields sort before keys, keys before values, values before indexes.
const peRank = (pe: PathElement) => ('field' in pe ? 0 : 'key' in pe ? 1 : 'value' in pe ? 2 : 3);

export function comparePathElements(a: PathElement, b: PathElement): number {
  const d = peRank(a) - peRank(b);
  if (d !== 0) return d;
  if ('field' in a) return compareStrings(a.field, (b as { field: string }).field);
  if ('key' in a) return compareFields(a.key, (b as { key: [string, unknown][] }).key);
  if ('value' in a) return compareValues(a.value, (b as { value: unknown }).value);
  return a.index - (b as { index: number }).index;
}

/** The FieldsV1 key; also the element's identity (it is canonical). */
export function serializePathElement(pe: PathElement): string {
  if ('field' in pe) return `f:${pe.field}`;
  if ('key' in pe) return `k:{${pe.key.map(([n, v]) => `${goEscape(JSON.stringify(n))}:${goJSON(v)}`).join(',')}}`;
  if ('value' in pe) return `v:${goJSON(pe.value)}`;
  return `i:${pe.index}`;
}

/** Parses a FieldsV1 key; undefined for element kinds this version does not know (kube skips them). */
export function parsePathElement(s: string): PathElement | undefined {
  if (s.length < 2 || s[1] !== ':') throw new Error(`invalid path element ${JSON.stringify(s)}`);
  const body = s.slice(2);
  switch (s[0]) {
    case 'f':
      return { field: body };
    case 'v':
      return { value: JSON.parse(body) };
    case 'k': {
      const o: unknown = JSON.parse(body);
      if (!isObject(o)) throw new Error(`invalid key path element ${JSON.stringify(s)}`);
      return { key: Object.entries(o).sort((x, y) => compareStrings(x[0], y[0])) };
    }
    case 'i':
      if (!/^-?[0-9]+$/.test(body)) throw new Error(`invalid index path element ${JSON.stringify(s)}`);
      return { index: Number(body) };
    default:
      return undefined;
  }
}

// SMD's value.ToString: strings quoted, everything else as Go prints it.
function valueString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort(compareStrings).map((k) => `${k}=${valueString(v[k])}`).join(',')}}`;
  return String(v);
}

/** As kube prints a field in conflicts: `.spec.conditions[type="Ready"].status`. */
export function pathString(path: Path): string {
  return path
    .map((pe) => {
      if ('field' in pe) return `.${pe.field}`;
      if ('key' in pe) return `[${pe.key.map(([n, v]) => `${n}=${valueString(v)}`).join(',')}]`;
      if ('value' in pe) return `[=${valueString(pe.value)}]`;
      return `[${pe.index}]`;
    })
    .join('');
}
