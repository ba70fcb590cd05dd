// The protobuf wire format, both ways: a small writer (what /openapi/v2 in protobuf is built with)
// and a reader of Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which client-go's typed
// clients send for built-in kinds (kubectl auth can-i, auth whoami): the "k8s\0" magic, a
// runtime.Unknown envelope naming apiVersion and kind, and the object's own message inside. Messages
// are decoded by a small field-number schema into the same plain JSON the JSON decoder gives;
// fields a schema does not name are skipped, as protobuf readers do. Responses stay JSON (clients
// accept it beside protobuf).

import { badRequest, StatusError } from '../apis/meta/errors.js';

/** Field number → [JSON name, 'string' | 'bool' | a nested message's schema]. */
export interface MessageSchema {
  /**
   * `repeated` collects every occurrence into a list; `map` reads protobuf map entries (key 1, value 2)
   * into an object. Without either, a field that occurs again replaces the earlier value.
   */
  [field: number]: [string, 'string' | 'bool' | 'int64' | MessageSchema, ('repeated' | 'map')?];
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

// ---- writing ----

/** A base-128 varint. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

/** A field's key: its number and wire type. */
export const fieldKey = (field: number, wire: number) => varint(field * 8 + wire);

/** A length-delimited field (a string, bytes, or a nested message). */
export const bytesField = (field: number, b: Buffer) => Buffer.concat([fieldKey(field, 2), varint(b.length), b]);

/** Kubernetes' envelope around an object's message: the magic and a runtime.Unknown holding it as raw. */
export const envelope = (raw: Buffer, typeMeta?: { apiVersion: string; kind: string }) =>
  Buffer.concat([MAGIC, ...(typeMeta ? [bytesField(1, Buffer.concat([bytesField(1, Buffer.from(typeMeta.apiVersion)), bytesField(2, Buffer.from(typeMeta.kind))]))] : []), bytesField(2, raw)]);

// ---- reading ----
const MAX_NESTING = 32;

/** A cursor over one protobuf message's bytes. */
export class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done() {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.buf.length || shift > 49) throw new Error('truncated or overlong varint');
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
  }
  /** A varint as the full 64 bits it may carry (negative int32/int64 values take ten bytes). */
  varint64(): bigint {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.pos >= this.buf.length || shift > 63n) throw new Error('truncated or overlong varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return BigInt.asUintN(64, v);
    }
  }
  /** `n` bytes as they are (fixed32, fixed64, double, float). */
  fixed(n: 4 | 8): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('a field runs past the end of the message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  bytes(): Buffer {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error('a field runs past the end of the message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (this.pos > this.buf.length) throw new Error('a field runs past the end of the message');
  }
}

function decodeMessage(buf: Buffer, schema: MessageSchema, depth = 0): Record<string, unknown> {
  if (depth > MAX_NESTING) throw new Error('message nested too deeply');
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    const entry = schema[field];
    if (!entry) {
      r.skip(wire);
      continue;
    }
    const [name, type, shape] = entry;
    let value: unknown;
    if (type === 'bool') {
      if (wire !== 0) throw new Error(`field ${name} has wire type ${wire}, not a varint`);
      value = r.varint() !== 0;
    } else if (type === 'int64') {
      if (wire !== 0) throw new Error(`field ${name} has wire type ${wire}, not a varint`);
      value = Number(BigInt.asIntN(64, r.varint64()));
    } else {
      if (wire !== 2) throw new Error(`field ${name} has wire type ${wire}, not length-delimited`);
      const bytes = r.bytes();
      value = type === 'string' ? bytes.toString('utf8') : decodeMessage(bytes, type, depth + 1);
    }
    if (shape === 'repeated') {
      const list = (out[name] as unknown[] | undefined) ?? [];
      list.push(value);
      out[name] = list;
    } else if (shape === 'map') {
      const entry = value as { key?: unknown; value?: unknown };
      const map = (out[name] = (out[name] as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
      Object.defineProperty(map, String(entry.key ?? ''), { value: entry.value, enumerable: true, writable: true, configurable: true });
    } else out[name] = value;
  }
  return out;
}

const UNKNOWN: MessageSchema = { 1: ['typeMeta', { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] }], 3: ['contentEncoding', 'string'], 4: ['contentType', 'string'] };

/** The object of a protobuf body, decoded with `schema`, with apiVersion and kind from the envelope. */
export function decodeProtobufObject(body: Buffer, schema: MessageSchema): Record<string, unknown> {
  return decodeEnvelope(body, (raw) => decodeMessage(raw, schema));
}

/**
 * Opens a protobuf body's envelope and decodes the object's message inside with `decode`, adding the
 * envelope's apiVersion and kind; whatever the decoder throws (bar a StatusError) is a 400.
 */
export function decodeEnvelope(body: Buffer, decode: (raw: Buffer) => Record<string, unknown>): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw badRequest('the protobuf body does not start with the Kubernetes magic number');
  try {
    const envelope = new Reader(body.subarray(MAGIC.length));
    let raw: Buffer | undefined;
    const rest: Buffer[] = [];
    // The envelope's raw field (2) holds the object; read it apart, then the other fields.
    while (!envelope.done) {
      const start = envelope.pos;
      const key = envelope.varint();
      if (key === (2 << 3) + 2) raw = envelope.bytes();
      else {
        envelope.skip(key & 7);
        rest.push(envelope.buf.subarray(start, envelope.pos));
      }
    }
    const meta = decodeMessage(Buffer.concat(rest), UNKNOWN);
    if (meta.contentEncoding) throw new Error(`content encoding ${String(meta.contentEncoding)} is not supported`);
    const typeMeta = (meta.typeMeta ?? {}) as Record<string, unknown>;
    return { ...(typeMeta.apiVersion ? { apiVersion: typeMeta.apiVersion } : {}), ...(typeMeta.kind ? { kind: typeMeta.kind } : {}), ...decode(raw ?? Buffer.alloc(0)) };
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw badRequest(`the protobuf body is not valid: ${(e as Error).message}`);
  }
}
