// JSON request bodies as exact bytes, for tests that must send what JSON.stringify cannot build:
// values nested thousands of levels deep (JSON.stringify overflows the stack near 4,000), keys and
// strings that are invalid UTF-8, numbers beyond float64. A body is a plain JS value whose leaves may
// be `Raw` (bytes spliced in as they are) and whose keys may be `rawKey(bytes)`.

export class Raw {
  constructor(
    readonly bytes: Buffer,
    /** How the value is shown in messages instead of its bytes. */
    readonly label: string,
  ) {}
}

export const raw = (text: string | Buffer, label?: string): Raw => {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  return new Raw(bytes, label ?? (bytes.length > 80 ? `raw(${bytes.length} bytes: ${bytes.subarray(0, 40).toString('latin1')}…)` : `raw(${bytes.toString('latin1')})`));
};

/** A key that is written as the given bytes between the quotes (invalid UTF-8, say). */
const RAW_KEY = '\u0000\u0001raw-key:';
export const rawKey = (bytes: Buffer): string => RAW_KEY + bytes.toString('hex');
const isRawKey = (k: string) => k.startsWith(RAW_KEY);

/** `depth` objects nested in each other, `{"a":{"a":…leaf…}}`: depth 1 is `{"a":leaf}`. */
export const nestedObjects = (depth: number, leaf = '1', key = 'a'): string => `{"${key}":`.repeat(depth) + leaf + '}'.repeat(depth);
/** `depth` arrays nested in each other: depth 1 is `[leaf]`. */
export const nestedArrays = (depth: number, leaf = '1'): string => '['.repeat(depth) + leaf + ']'.repeat(depth);
/** Objects and arrays alternating, `{"a":[{"a":[…]}]}`, `depth` containers in all. */
export const nestedMixed = (depth: number, leaf = '1'): string => {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 === 0 ? '{"a":' : '[';
    close = (i % 2 === 0 ? '}' : ']') + close;
  }
  return open + leaf + close;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Raw);

/** The value as JSON bytes, Raw leaves and raw keys spliced in. Recursive: meant for shallow trees of Raw leaves. */
export function encodeJSON(v: unknown): Buffer {
  const out: Buffer[] = [];
  const str = (s: string) => out.push(Buffer.from(s, 'utf8'));
  const walk = (x: unknown) => {
    if (x instanceof Raw) out.push(x.bytes);
    else if (Array.isArray(x)) {
      str('[');
      x.forEach((c, i) => {
        if (i) str(',');
        walk(c === undefined ? null : c);
      });
      str(']');
    } else if (isPlainObject(x)) {
      str('{');
      let first = true;
      for (const [k, c] of Object.entries(x)) {
        if (c === undefined) continue;
        if (!first) str(',');
        first = false;
        if (isRawKey(k)) {
          str('"');
          out.push(Buffer.from(k.slice(RAW_KEY.length), 'hex'));
          str('"');
        } else str(JSON.stringify(k));
        str(':');
        walk(c);
      }
      str('}');
    } else str(JSON.stringify(x) ?? 'null');
  };
  walk(v);
  return Buffer.concat(out);
}

/** Whether the tree holds a Raw leaf or a raw key anywhere (then only encodeJSON can write it). */
export function hasRaw(v: unknown): boolean {
  if (v instanceof Raw) return true;
  if (Array.isArray(v)) return v.some(hasRaw);
  if (isPlainObject(v)) return Object.entries(v).some(([k, c]) => isRawKey(k) || hasRaw(c));
  return false;
}

/** A short, printable rendering of a value for assertion messages: long strings and Raw shown by size. */
export function preview(v: unknown, max = 600): string {
  const seen = new WeakSet<object>();
  const s = JSON.stringify(v, function (this: unknown, k: string, x: unknown) {
    if (x instanceof Raw) return `<${x.label}>`;
    if (typeof x === 'string' && x.length > 60) return `${x.slice(0, 40)}…<${x.length} chars>`;
    if (x !== null && typeof x === 'object') {
      if (seen.has(x)) return '<cycle>';
      seen.add(x);
      if (!Array.isArray(x) && Object.keys(x).some(isRawKey)) {
        return Object.fromEntries(Object.entries(x).map(([kk, c]) => [isRawKey(kk) ? `<raw key ${kk.slice(RAW_KEY.length)}>` : kk.length > 60 ? `${kk.slice(0, 40)}…<${kk.length} chars>` : kk, c]));
      }
      if (!Array.isArray(x) && Object.keys(x).some((kk) => kk.length > 60)) {
        return Object.fromEntries(Object.entries(x).map(([kk, c]) => [kk.length > 60 ? `${kk.slice(0, 40)}…<${kk.length} chars>` : kk, c]));
      }
    }
    void k;
    return x;
  });
  return truncate(s ?? String(v), max);
}

/** At most `max` characters, saying how much was cut. */
export const truncate = (s: string, max = 600): string => (s.length <= max ? s : `${s.slice(0, max)}…<${s.length - max} more chars>`);
