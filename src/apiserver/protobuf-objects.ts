// Kubernetes' protobuf encoding of the built-in kinds, read into the JSON kube's own JSON encoding of the
// same Go value gives: kubectl's imperative commands (create namespace/configmap/secret/deployment/...,
// replace, create token) send built-in objects as protobuf. The field tables are generated from kube's
// generated.proto and types.go (scripts/kube-schemas/protobuf.ts → src/cluster/builtin/protobuf.json):
// per message, field number → [json name, kind, flags].
//
// gogo's proto2 output writes every non-pointer field, zero or not; Go's JSON drops a zero scalar only
// where the field is `omitempty` (flag `e`), keeps pointers (`p`, written only when set) and non-omitempty
// fields as they are, and always writes a non-pointer struct (even `{}`). kube's hand-encoded messages
// (Time, MicroTime, Duration, Quantity, IntOrString, RawExtension, FieldsV1) become their JSON forms;
// a zero Time, an unset RawExtension or FieldsV1 (JSON `null` in Go) are left out, as JSON null and
// absence decode the same. Unknown fields are skipped, as protobuf readers do. TypeMeta comes from the
// envelope (protobuf.ts).

import { badRequest } from '../apis/meta/errors.js';
import tables from '../cluster/builtin/protobuf.json' with { type: 'json' };
import { decodeEnvelope, Reader } from './protobuf.js';

/** [json name ('' for an inline member), kind, flags: r repeated, p pointer, e omitempty non-pointer, i inline]. */
type Entry = [string, string, string?];
interface Tables {
  special: Record<string, string>;
  lists: string[];
  messages: Record<string, Record<string, Entry>>;
}

const T = tables as unknown as Tables;
const LISTS = new Set(T.lists);
const MESSAGES = new Map(Object.entries(T.messages).map(([name, fields]) => [name, new Map(Object.entries(fields).map(([n, e]) => [Number(n), e]))]));

/** Whether a built-in definition (`io.k8s.api.core.v1.ConfigMap`) can be read from protobuf. */
export function hasProtobufMessage(definition: string | undefined): definition is string {
  return definition !== undefined && MESSAGES.has(definition);
}

/** A protobuf request body (the "k8s\0" envelope) holding an object of the definition's message. */
export function decodeBuiltinProtobuf(body: Buffer, definition: string): Record<string, unknown> {
  if (!MESSAGES.has(definition)) throw new Error(`no protobuf message for ${definition}`);
  return decodeEnvelope(body, (raw) => decodeBuiltinMessage(raw, definition));
}

/** One message's bytes (no envelope) as JSON; throws plain Errors for malformed input. */
export function decodeBuiltinMessage(buf: Buffer, definition: string): Record<string, unknown> {
  const v = messageValue(buf, definition);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${definition} is not an object`);
  return v as Record<string, unknown>;
}

const VARINT = new Set(['bool', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64']);
const FIXED: Record<string, 4 | 8> = { double: 8, float: 4, fixed32: 4, fixed64: 8, sfixed32: 4, sfixed64: 8 };
const SCALARS = new Set([...VARINT, ...Object.keys(FIXED), 'string', 'bytes']);
const wireOf = (kind: string) => (VARINT.has(kind) ? 0 : FIXED[kind] === 8 ? 1 : FIXED[kind] === 4 ? 5 : 2);

/** The value a message's bytes stand for: an object, or a special type's JSON form, `undefined` for Go's `null`. */
function messageValue(buf: Buffer, name: string): unknown {
  const special = T.special[name];
  if (special) return specialValue(buf, special);
  const fields = MESSAGES.get(name);
  if (!fields) throw new Error(`no protobuf message ${name}`);
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    const entry = fields.get(field);
    if (!entry) {
      r.skip(wire);
      continue;
    }
    const [json, kind, flags = ''] = entry;
    if (kind.startsWith('map<')) {
      if (wire !== 2) throw new Error(`field ${json} has wire type ${wire}, not length-delimited`);
      const [k, v] = mapKinds(kind);
      const e = mapEntry(r.bytes(), k, v);
      const map = (out[json] ??= {}) as Record<string, unknown>;
      if (e.value !== undefined) setOwn(map, String(e.key), e.value);
      continue;
    }
    if (flags.includes('r')) {
      const list = (out[json] ??= []) as unknown[];
      if (wire === 2 && wireOf(kind) !== 2) {
        // A packed run of scalars.
        const packed = new Reader(r.bytes());
        while (!packed.done) list.push(scalar(packed, kind, wireOf(kind), json));
      } else {
        const v = value(r, kind, wire, json);
        list.push(v === undefined ? null : v);
      }
      continue;
    }
    const v = value(r, kind, wire, json);
    if (flags.includes('i')) {
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) setOwn(out, k, x);
      continue;
    }
    if (v === undefined) delete out[json];
    else setOwn(out, json, v);
  }
  // Go's JSON leaves out zero scalars of omitempty non-pointer fields; gogo wrote them all the same.
  // (omitempty never drops a struct: an IntOrString 0 or a `{}` stays.)
  for (const [json, kind, flags = ''] of fields.values()) {
    if (!flags.includes('e') || flags.includes('r') || !SCALARS.has(kind) || !Object.hasOwn(out, json)) continue;
    const v = out[json];
    if (v === '' || v === 0 || v === false) delete out[json];
  }
  if (LISTS.has(name)) return (out[fields.get(1)![0]] as unknown[] | undefined) ?? [];
  return out;
}

function value(r: Reader, kind: string, wire: number, json: string): unknown {
  const expected = wireOf(kind);
  if (wire !== expected) throw new Error(`field ${json} has wire type ${wire}, not ${expected}`);
  if (expected !== 2) return scalar(r, kind, wire, json);
  const bytes = r.bytes();
  if (kind === 'string') return bytes.toString('utf8');
  if (kind === 'bytes') return bytes.toString('base64');
  return messageValue(bytes, kind);
}

function scalar(r: Reader, kind: string, wire: number, json: string): unknown {
  if (wire !== wireOf(kind)) throw new Error(`field ${json} has wire type ${wire}, not ${wireOf(kind)}`);
  switch (kind) {
    case 'bool':
      return r.varint64() !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, r.varint64()));
    case 'uint32':
      return Number(BigInt.asUintN(32, r.varint64()));
    case 'int64':
      return Number(BigInt.asIntN(64, r.varint64()));
    case 'uint64':
      return Number(r.varint64());
    case 'sint32':
    case 'sint64': {
      const u = r.varint64();
      return Number((u >> 1n) ^ -(u & 1n));
    }
    case 'double':
      return r.fixed(8).readDoubleLE(0);
    case 'float':
      return r.fixed(4).readFloatLE(0);
    case 'fixed32':
      return r.fixed(4).readUInt32LE(0);
    case 'sfixed32':
      return r.fixed(4).readInt32LE(0);
    case 'fixed64':
      return Number(r.fixed(8).readBigUInt64LE(0));
    case 'sfixed64':
      return Number(r.fixed(8).readBigInt64LE(0));
  }
  throw new Error(`field ${json}: unsupported kind ${kind}`);
}

const mapKindCache = new Map<string, [string, string]>();
function mapKinds(kind: string): [string, string] {
  let kv = mapKindCache.get(kind);
  if (!kv) {
    const comma = kind.indexOf(',');
    kv = [kind.slice(4, comma), kind.slice(comma + 1, -1)];
    mapKindCache.set(kind, kv);
  }
  return kv;
}

/** A map entry message: key 1, value 2, each the zero of its kind when absent. */
function mapEntry(buf: Buffer, k: string, v: string): { key: unknown; value: unknown } {
  const r = new Reader(buf);
  let key: unknown;
  let val: unknown;
  let seenValue = false;
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1) key = value(r, k, wire, 'map key');
    else if (field === 2) {
      val = value(r, v, wire, 'map value');
      seenValue = true;
    } else r.skip(wire);
  }
  if (key === undefined) key = zero(k);
  if (!seenValue) val = wireOf(v) === 2 && v !== 'string' && v !== 'bytes' ? messageValue(Buffer.alloc(0), v) : zero(v);
  return { key, value: val };
}

const zero = (kind: string): unknown => (kind === 'string' || kind === 'bytes' ? '' : kind === 'bool' ? false : 0);

/** Sets a key as an own property, even `__proto__`. */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

// ---- kube's hand-encoded messages

/** A small message of scalar fields, by number. */
function fieldsOf(buf: Buffer, kinds: Record<number, string>): Record<number, unknown> {
  const r = new Reader(buf);
  const out: Record<number, unknown> = {};
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const kind = kinds[field];
    if (kind) out[field] = value(r, kind, key & 7, String(field));
    else r.skip(key & 7);
  }
  return out;
}

function specialValue(buf: Buffer, special: string): unknown {
  switch (special) {
    case 'time':
    case 'micro-time': {
      // An empty message is the zero time (Go's JSON null). Time keeps seconds only (kube drops nanos
      // on reading), MicroTime microseconds.
      if (buf.length === 0) return undefined;
      const f = fieldsOf(buf, { 1: 'int64', 2: 'int32' });
      const seconds = (f[1] as number | undefined) ?? 0;
      const nanos = (f[2] as number | undefined) ?? 0;
      return special === 'time' ? rfc3339(seconds, undefined) : rfc3339(seconds, Math.floor(nanos / 1000));
    }
    case 'duration':
      return goDuration(BigInt((fieldsOf(buf, { 1: 'int64' })[1] as number | undefined) ?? 0));
    case 'quantity': {
      const s = (fieldsOf(buf, { 1: 'string' })[1] as string | undefined) ?? '';
      return s === '' ? '0' : s;
    }
    case 'int-or-string': {
      const f = fieldsOf(buf, { 1: 'int64', 2: 'int32', 3: 'string' });
      return f[1] === 1 ? ((f[3] as string | undefined) ?? '') : ((f[2] as number | undefined) ?? 0);
    }
    case 'raw-extension':
    case 'fields-v1': {
      const raw = fieldsOf(buf, { 1: 'bytes' })[1] as string | undefined;
      if (raw === undefined) return undefined;
      const text = Buffer.from(raw, 'base64').toString('utf8');
      if (!text.trim()) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw badRequest(`the protobuf body is not valid: ${special === 'fields-v1' ? 'fieldsV1' : 'an embedded object'} is not JSON`);
      }
    }
  }
  throw new Error(`unknown special message ${special}`);
}

/** RFC 3339 in UTC as Go's time.RFC3339 (`2024-01-02T03:04:05Z`) or, with micros, RFC3339Micro (6 digits). */
function rfc3339(seconds: number, micros: number | undefined): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new Error('a time is out of range');
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const base = iso.slice(0, iso.indexOf('.'));
  return micros === undefined ? `${base}Z` : `${base}.${String(micros).padStart(6, '0')}Z`;
}

/** Go's time.Duration.String: `1h2m3.5s`, `1m30s`, `500ms`, `1.5µs`, `0s`. */
export function goDuration(d: bigint): string {
  if (d === 0n) return '0s';
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  const frac = (v: bigint, digits: number): [string, bigint] => {
    const p = 10n ** BigInt(digits);
    const f = (v % p).toString().padStart(digits, '0').replace(/0+$/, '');
    return [f ? `.${f}` : '', v / p];
  };
  if (u < 1_000_000_000n) {
    if (u < 1000n) out = `${u}ns`;
    else if (u < 1_000_000n) {
      const [f, i] = frac(u, 3);
      out = `${i}${f}µs`;
    } else {
      const [f, i] = frac(u, 6);
      out = `${i}${f}ms`;
    }
  } else {
    const [f, secs] = frac(u, 9);
    u = secs;
    out = `${u % 60n}${f}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}
