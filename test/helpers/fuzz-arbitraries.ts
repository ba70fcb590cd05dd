// fast-check generators for the API fuzz suite (test/api/fuzz.test.ts). A generated case is a small
// description (kinds, verbs, mutation steps, sizes), never the bytes themselves: it prints short when
// fast-check reports a counterexample, shrinks well, and `materialize*` turns it into the request
// against the objects the server holds at that moment.

import fc from 'fast-check';
import yaml from 'js-yaml';
import { encodeJSON, hasRaw, nestedArrays, nestedMixed, nestedObjects, preview, raw, Raw, rawKey } from './json-text.js';

export const GV = 'gitops.toolkit/v1';

export interface KindInfo {
  kind: string;
  plural: string;
  /** A minimal valid spec. */
  spec(): Record<string, unknown>;
  /** A valid status for PUT /status. */
  status(): Record<string, unknown>;
}

const condition = () => ({ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'fuzz', lastTransitionTime: '2024-01-01T00:00:00Z', observedGeneration: 1 });
const sourceStatus = () => ({ observedGeneration: 1, conditions: [condition()] });

export const KINDS: KindInfo[] = [
  { kind: 'GitRepository', plural: 'gitrepositories', spec: () => ({ interval: '1m', url: 'https://example.com/repo.git', ref: { branch: 'main' } }), status: sourceStatus },
  { kind: 'OCIRepository', plural: 'ocirepositories', spec: () => ({ interval: '5m', url: 'oci://ghcr.io/stefanprodan/manifests/podinfo', ref: { tag: 'latest' } }), status: sourceStatus },
  { kind: 'HelmRepository', plural: 'helmrepositories', spec: () => ({ interval: '1m', url: 'https://stefanprodan.github.io/podinfo' }), status: sourceStatus },
  { kind: 'HelmChart', plural: 'helmcharts', spec: () => ({ interval: '1m', chart: 'podinfo', version: '6.x', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } }), status: sourceStatus },
  { kind: 'Bucket', plural: 'buckets', spec: () => ({ interval: '1m', bucketName: 'bucket', endpoint: 'minio.local:9000', provider: 'generic' }), status: sourceStatus },
  {
    kind: 'Kustomization',
    plural: 'kustomizations',
    spec: () => ({ interval: '10m', prune: true, path: './deploy', sourceRef: { kind: 'GitRepository', name: 'repo' } }),
    status: () => ({ observedGeneration: 1, conditions: [condition()], lastAppliedRevision: 'main@sha1:abc' }),
  },
  {
    kind: 'HelmRelease',
    plural: 'helmreleases',
    spec: () => ({ interval: '10m', chart: { spec: { chart: 'podinfo', version: '6.5.*', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } } }, values: { replicaCount: 2, ingress: { enabled: false } } }),
    status: () => ({ observedGeneration: 1, conditions: [condition()], lastAttemptedRevision: '6.5.0' }),
  },
];

export const validObject = (k: KindInfo, name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: GV,
  kind: k.kind,
  metadata: { name, labels: { app: 'fuzz' }, annotations: { note: 'fuzz' } },
  spec: k.spec(),
  ...extra,
});

// ---------------------------------------------------------------------------------------------
// Values and keys

/** A value to put somewhere: described, materialized by `value`. */
export type ValueDesc =
  | { t: 'json'; v: unknown }
  | { t: 'text'; v: string }
  | { t: 'huge'; n: number; ch: string }
  | { t: 'deep'; shape: 'obj' | 'arr' | 'mixed'; depth: number }
  | { t: 'badUtf8' }
  | { t: 'number'; text: string }
  | { t: 'wide'; shape: 'arr' | 'obj'; n: number }
  | { t: 'null' };

export type KeyDesc = { t: 'text'; v: string } | { t: 'huge'; n: number; ch: string } | { t: 'badUtf8' };

const SPECIAL_STRINGS = ['', '\u0000', '\ud800', '\udfff', '💥', 'ñ', '\u202e', '\r\n', '"', '\\', '%ff', '<script>', 'a\u0000b', '\t', '\ufeff', '🇺🇳', 'é'.normalize('NFD')];
const SPECIAL_KEYS = ['💥', '\u0000', '\ud800', '', '__proto__', 'constructor', 'prototype', 'a.b', 'a/b', '~', '~1', 'f:spec', '.', 'k\r\nX-Injected: 1', 'toString', 'status', 'metadata', 'spec', 'apiVersion', 'hasOwnProperty'];
const BIG_NUMBERS = ['9223372036854775807', '9223372036854775808', '-9223372036854775809', '1e400', '-1e400', '1e-400', '-0', '0.1', '123456789012345678901234567890', '1.7976931348623157e308', '5e-324', '1E+2'];
/** Depths around the interesting bounds: the server's 1,000 limit and where V8's recursion gives out. */
const DEPTHS = [10, 50, 999, 1000, 1001, 1640, 2000, 2300, 4100, 5000, 10_000, 20_000];

const stringArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('1m', '0s', '-1m', '99999999h', '1.5h', 'main', 'https://x', 'oci://x', 'Foreground', 'All', 'true', 'null') },
);

export const valueArb: fc.Arbitrary<ValueDesc> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ t: 'json' as const, v })) },
  { weight: 3, arbitrary: stringArb.map((v) => ({ t: 'text' as const, v })) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('huge' as const), n: fc.constantFrom(20_000, 70_000, 300_000), ch: fc.constantFrom('x', '💥', 'é', '\u0000', '"') }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('deep' as const), shape: fc.constantFrom('obj' as const, 'arr' as const, 'mixed' as const), depth: fc.oneof(fc.constantFrom(...DEPTHS), fc.integer({ min: 10, max: 20_000 })) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'badUtf8' as const }) },
  { weight: 2, arbitrary: fc.constantFrom(...BIG_NUMBERS).map((text) => ({ t: 'number' as const, text })) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('wide' as const), shape: fc.constantFrom('arr' as const, 'obj' as const), n: fc.constantFrom(1000, 20_000) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'null' as const }) },
);

export const keyArb: fc.Arbitrary<KeyDesc> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_KEYS).map((v) => ({ t: 'text' as const, v })) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((v) => ({ t: 'text' as const, v })) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('huge' as const), n: fc.constantFrom(300, 5000, 20_000), ch: fc.constantFrom('k', '💥', 'é') }) },
  { weight: 2, arbitrary: fc.constant({ t: 'badUtf8' as const }) },
);

let uniq = 0;
export function value(d: ValueDesc): unknown {
  switch (d.t) {
    case 'json':
      return structuredClone(d.v);
    case 'text':
      return d.v;
    case 'huge':
      return d.ch.repeat(d.n);
    case 'deep': {
      const text = d.shape === 'obj' ? nestedObjects(d.depth) : d.shape === 'arr' ? nestedArrays(d.depth) : nestedMixed(d.depth);
      return new Raw(Buffer.from(text), `${d.shape} nested ${d.depth} deep`);
    }
    case 'badUtf8':
      return new Raw(Buffer.from([0x22, 0x61, 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0x22]), 'string with invalid UTF-8');
    case 'number':
      return raw(d.text, `number ${d.text}`);
    case 'wide':
      return d.shape === 'arr' ? new Array(d.n).fill(0) : Object.fromEntries(Array.from({ length: d.n }, (_, i) => [`k${i}`, i]));
    case 'null':
      return null;
  }
}

export function key(d: KeyDesc): string {
  switch (d.t) {
    case 'text':
      return d.v;
    case 'huge':
      return d.ch.repeat(d.n);
    case 'badUtf8':
      // Unique, so two of them in one object stay two keys.
      return rawKey(Buffer.concat([Buffer.from(`bad${uniq++}-`), Buffer.from([0xff, 0xfe])]));
  }
}

// ---------------------------------------------------------------------------------------------
// Names

export type NameDesc = { t: 'valid' } | { t: 'dotted' } | { t: 'long'; n: number } | { t: 'invalid'; how: string };
const INVALID_NAMES = ['upper', 'underscore', 'leadingDash', 'trailingDot', 'slash', 'percent', 'nul', 'space', 'emoji', 'nonAscii', 'empty', 'dotdot', 'newline', 'colon'];
export const nameArb: fc.Arbitrary<NameDesc> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ t: 'valid' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'dotted' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('long' as const), n: fc.constantFrom(63, 64, 253, 254, 10_000) }) },
  { weight: 3, arbitrary: fc.constantFrom(...INVALID_NAMES).map((how) => ({ t: 'invalid' as const, how })) },
);

/** The name and whether it is a valid DNS-1123 subdomain (kube's rule for these kinds' names). */
export function makeName(d: NameDesc, fresh: string): { name: string; valid: boolean } {
  switch (d.t) {
    case 'valid':
      return { name: fresh, valid: true };
    case 'dotted':
      return { name: `${fresh}.x.y`, valid: true };
    case 'long': {
      const name = (fresh + 'a'.repeat(d.n)).slice(0, d.n);
      return { name, valid: d.n <= 253 };
    }
    case 'invalid': {
      const name =
        {
          upper: fresh.toUpperCase(),
          underscore: `${fresh}_x`,
          leadingDash: `-${fresh}`,
          trailingDot: `${fresh}.`,
          slash: `${fresh}/x`,
          percent: `${fresh}%2F`,
          nul: `${fresh}\u0000`,
          space: `${fresh} x`,
          emoji: `${fresh}-💥`,
          nonAscii: `${fresh}-ñ`,
          empty: '',
          dotdot: `${fresh}..x`,
          newline: `${fresh}\n`,
          colon: `${fresh}:x`,
        }[d.how] ?? fresh;
      return { name, valid: false };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations of an object

export type Place = 'spec' | 'annotations' | 'labels' | 'fieldsV1' | 'status' | 'metadata' | 'root' | 'finalizers' | 'values';
export type Mutation =
  | { m: 'drop'; at: number }
  | { m: 'replace'; at: number; v: ValueDesc }
  | { m: 'insert'; at: number; k: KeyDesc; v: ValueDesc }
  | { m: 'place'; where: Place; k: KeyDesc; v: ValueDesc }
  | { m: 'name'; n: NameDesc }
  | { m: 'meta'; field: 'apiVersion' | 'kind' | 'namespace' | 'resourceVersion' | 'uid' | 'generateName' | 'finalizers' | 'ownerReferences' | 'labels' | 'managedFields' | 'metadata'; v: ValueDesc };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ m: fc.constant('drop' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ m: fc.constant('replace' as const), at: fc.nat(), v: valueArb }) },
  { weight: 3, arbitrary: fc.record({ m: fc.constant('insert' as const), at: fc.nat(), k: keyArb, v: valueArb }) },
  {
    weight: 4,
    arbitrary: fc.record({ m: fc.constant('place' as const), where: fc.constantFrom<Place>('spec', 'annotations', 'labels', 'fieldsV1', 'status', 'metadata', 'root', 'finalizers', 'values'), k: keyArb, v: valueArb }),
  },
  { weight: 2, arbitrary: fc.record({ m: fc.constant('name' as const), n: nameArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('meta' as const),
      field: fc.constantFrom('apiVersion' as const, 'kind' as const, 'namespace' as const, 'resourceVersion' as const, 'uid' as const, 'generateName' as const, 'finalizers' as const, 'ownerReferences' as const, 'labels' as const, 'managedFields' as const, 'metadata' as const),
      v: valueArb,
    }),
  },
);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Raw);
const put = (o: Obj, k: string, v: unknown) => void Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

/** Every path into `v` (not into Raw leaves), breadth first, at most `max`. */
export function pathsOf(v: unknown, max = 3000): (string | number)[][] {
  const out: (string | number)[][] = [];
  const queue: [unknown, (string | number)[]][] = [[v, []]];
  while (queue.length && out.length < max) {
    const [x, p] = queue.shift()!;
    if (Array.isArray(x)) x.forEach((c, i) => (out.push([...p, i]), queue.push([c, [...p, i]])));
    else if (isObj(x)) for (const [k, c] of Object.entries(x)) out.push([...p, k]), queue.push([c, [...p, k]]);
  }
  return out;
}

const getAt = (v: unknown, p: (string | number)[]): unknown => p.reduce<unknown>((x, k) => (x as any)?.[k], v);

function managedFieldsEntry(o: Obj): Obj {
  const meta = isObj(o.metadata) ? o.metadata : (o.metadata = {});
  if (!Array.isArray(meta.managedFields) || !isObj(meta.managedFields[0])) {
    meta.managedFields = [{ manager: 'fuzz', operation: 'Update', apiVersion: GV, time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }];
  }
  const e = (meta.managedFields as Obj[])[0];
  if (!isObj(e.fieldsV1)) e.fieldsV1 = {};
  return e.fieldsV1 as Obj;
}

function container(o: Obj, where: Place): Obj | unknown[] {
  const ensure = (parent: Obj, k: string): Obj => (isObj(parent[k]) ? (parent[k] as Obj) : (put(parent, k, {}), parent[k] as Obj));
  switch (where) {
    case 'root':
      return o;
    case 'spec':
      return ensure(o, 'spec');
    case 'values':
      return ensure(ensure(o, 'spec'), 'values');
    case 'status':
      return ensure(o, 'status');
    case 'metadata':
      return ensure(o, 'metadata');
    case 'annotations':
      return ensure(ensure(o, 'metadata'), 'annotations');
    case 'labels':
      return ensure(ensure(o, 'metadata'), 'labels');
    case 'fieldsV1':
      return managedFieldsEntry(o);
    case 'finalizers': {
      const m = ensure(o, 'metadata');
      if (!Array.isArray(m.finalizers)) m.finalizers = ['example.com/fuzz'];
      return m.finalizers as unknown[];
    }
  }
}

export interface NameChange {
  name: string | undefined;
  valid: boolean;
}

/** Applies the mutations to `o` in place. Returns the name the object ends with, if a mutation changed it. */
export function mutate(o: Obj, mutations: Mutation[], fresh: () => string): NameChange | undefined {
  let renamed: NameChange | undefined;
  for (const mu of mutations) {
    switch (mu.m) {
      case 'drop':
      case 'replace':
      case 'insert': {
        const paths = pathsOf(o);
        if (mu.m === 'insert') {
          const containers = [[], ...paths.filter((p) => isObj(getAt(o, p)) || Array.isArray(getAt(o, p)))];
          const p = containers[mu.at % containers.length];
          const c = getAt(o, p);
          if (Array.isArray(c)) c.push(value(mu.v));
          else if (isObj(c)) put(c, key(mu.k), value(mu.v));
          break;
        }
        if (paths.length === 0) break;
        const p = paths[mu.at % paths.length];
        const parent = getAt(o, p.slice(0, -1));
        const last = p[p.length - 1];
        if (mu.m === 'drop') {
          if (Array.isArray(parent)) parent.splice(last as number, 1);
          else if (isObj(parent)) delete parent[last as string];
        } else if (Array.isArray(parent)) parent[last as number] = value(mu.v);
        else if (isObj(parent)) put(parent, last as string, value(mu.v));
        if (p.length === 2 && p[0] === 'metadata' && p[1] === 'name') renamed = { name: undefined, valid: false };
        if (p.length === 1 && p[0] === 'metadata') renamed = { name: undefined, valid: false };
        break;
      }
      case 'place': {
        const c = container(o, mu.where);
        if (Array.isArray(c)) c.push(value(mu.v));
        else put(c, key(mu.k), value(mu.v));
        break;
      }
      case 'name': {
        const n = makeName(mu.n, fresh());
        const m = isObj(o.metadata) ? o.metadata : (o.metadata = {});
        m.name = n.name;
        renamed = n;
        break;
      }
      case 'meta': {
        if (mu.field === 'apiVersion' || mu.field === 'kind') put(o, mu.field, value(mu.v));
        else if (mu.field === 'metadata') {
          put(o, 'metadata', value(mu.v));
          renamed = { name: undefined, valid: false };
        } else {
          const m = isObj(o.metadata) ? o.metadata : (o.metadata = {});
          put(m, mu.field, value(mu.v));
        }
        break;
      }
    }
  }
  if (renamed === undefined) return undefined;
  const m = o.metadata;
  const final = isObj(m) && typeof m.name === 'string' ? m.name : undefined;
  return { name: final, valid: final !== undefined && isDNS1123Subdomain(final) };
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const isDNS1123Subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);

// ---------------------------------------------------------------------------------------------
// Bodies, headers and queries

export type Wrap = 'none' | 'trailingGarbage' | 'truncated' | 'bom' | 'multiDoc' | 'aliasBomb' | 'empty' | 'whitespace' | 'array' | 'nullBody' | 'number' | 'utf16' | 'duplicateKeys' | 'tooLarge';
export const wrapArb: fc.Arbitrary<Wrap> = fc.oneof(
  { weight: 30, arbitrary: fc.constant('none' as const) },
  { weight: 1, arbitrary: fc.constantFrom<Wrap>('trailingGarbage', 'truncated', 'bom', 'multiDoc', 'aliasBomb', 'empty', 'whitespace', 'array', 'nullBody', 'number', 'utf16', 'duplicateKeys', 'tooLarge') },
);
export type Format = 'json' | 'yaml';

const ALIAS_BOMB = ['a: &a ["x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]', 'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]', 'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]', 'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]', 'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]'].join('\n');

/** The body bytes: the value as JSON or YAML, then the wrap (malformed, empty, bombs…). */
export function encodeBody(v: unknown, format: Format, wrap: Wrap): Buffer {
  const plain = () => (format === 'yaml' && !hasRaw(v) ? Buffer.from(yamlDump(v)) : encodeJSON(v));
  switch (wrap) {
    case 'none':
      return plain();
    case 'trailingGarbage':
      return Buffer.concat([plain(), Buffer.from('}{,]garbage')]);
    case 'truncated': {
      const b = plain();
      return b.subarray(0, Math.max(1, Math.floor(b.length / 2)));
    }
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), plain()]);
    case 'multiDoc':
      return Buffer.concat([plain(), Buffer.from('\n---\n'), plain()]);
    case 'aliasBomb':
      return Buffer.from(`${ALIAS_BOMB}\napiVersion: ${GV}\nkind: GitRepository\nmetadata:\n  name: bomb\n`);
    case 'empty':
      return Buffer.alloc(0);
    case 'whitespace':
      return Buffer.from(' \n\t\r\n ');
    case 'array':
      return Buffer.concat([Buffer.from('['), plain(), Buffer.from(']')]);
    case 'nullBody':
      return Buffer.from('null');
    case 'number':
      return Buffer.from('9223372036854775808');
    case 'utf16':
      return Buffer.from(plain().toString('utf8'), 'utf16le');
    case 'duplicateKeys': {
      const b = plain();
      const s = b.toString('latin1');
      const i = s.indexOf('{');
      return i < 0 ? b : Buffer.concat([b.subarray(0, i + 1), Buffer.from('"spec":1,"spec":{"x":1},'), b.subarray(i + 1)]);
    }
    case 'tooLarge':
      return Buffer.concat([Buffer.from('{"pad":"'), Buffer.alloc(3 * 1024 * 1024 + 10, 0x61), Buffer.from('",'), plain().subarray(1)]);
  }
}

function yamlDump(v: unknown): string {
  try {
    return yaml.dump(v, { noRefs: true, lineWidth: -1 });
  } catch {
    return JSON.stringify(v);
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/yaml',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'text/plain',
  'application/vnd.kubernetes.protobuf',
  'application/cbor',
  'application/apply-patch+cbor',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '*/*',
  ';;;',
  'application/json;;',
  'application/',
];
const ACCEPTS = [
  'application/json',
  'application/yaml',
  'application/json;as=Table;v=v1;g=meta.k8s.io',
  'application/json;as=Table;v=v1beta1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
  'application/vnd.kubernetes.protobuf',
  'application/vnd.kubernetes.protobuf;stream=watch',
  'application/json;stream=watch',
  'application/cbor',
  '*/*',
  'text/html',
  'application/json;as=Nope;v=v9;g=x',
  'application/json;q=0',
  'garbage;;;',
  '',
];
/** A printable-ASCII header value (Node refuses to send anything else). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });

export interface HeaderDesc {
  /** undefined: the verb's right one */
  contentType?: string | null;
  accept?: string;
  extra: [string, string][];
}
const EXTRA_HEADERS = ['User-Agent', 'Impersonate-User', 'Impersonate-Group', 'X-Remote-User', 'X-Remote-Group', 'Content-Encoding', 'If-None-Match', 'Range', 'Accept-Encoding', 'X-Forwarded-For', 'Authorization', 'Accept-Language', 'Origin'];
export const headersArb: fc.Arbitrary<HeaderDesc> = fc.record({
  contentType: fc.oneof(
    { weight: 36, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: headerText },
    { weight: 1, arbitrary: fc.constant(null) },
  ),
  accept: fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: fc.constantFrom(...ACCEPTS) }, { weight: 1, arbitrary: headerText }),
  extra: fc.oneof(
    { weight: 8, arbitrary: fc.constant([] as [string, string][]) },
    { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom(...EXTRA_HEADERS), fc.oneof(headerText, fc.constantFrom('gzip', 'bytes=0-1', 'Bearer x', 'system:masters', 'x'.repeat(4000)))), { maxLength: 3 }) },
  ),
});

/** Query parameters with values around every parser's edge. */
const QUERY_KEYS = [
  'dryRun',
  'fieldValidation',
  'fieldManager',
  'force',
  'limit',
  'continue',
  'resourceVersion',
  'resourceVersionMatch',
  'labelSelector',
  'fieldSelector',
  'timeoutSeconds',
  'watch',
  'allowWatchBookmarks',
  'sendInitialEvents',
  'propagationPolicy',
  'gracePeriodSeconds',
  'includeObject',
  'pretty',
  'orphanDependents',
  'verbose',
];
const NUMBERS = ['0', '1', '-1', '2', '500', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '99999999999999999999999999', '1e3', '0x10', '1.5', '', ' 1', '١٢٣', 'NaN', 'Infinity'];
const forgedContinue = fc
  .record({
    v: fc.constantFrom('meta.k8s.io/v1', 'v2', ''),
    rv: fc.oneof(fc.constantFrom(0, -1, 1.5, 1e300, 9223372036854775807, 'abc', null), fc.nat()),
    start: fc.oneof(fc.constantFrom('', '/', '../../../', 'x\u0000', '💥', 'a'.repeat(5000)), fc.string({ maxLength: 20 })),
  })
  .map((t) => Buffer.from(JSON.stringify(t)).toString('base64'));
const queryValue = (k: string): fc.Arbitrary<string> => {
  const common = [fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 })];
  switch (k) {
    case 'limit':
    case 'timeoutSeconds':
    case 'gracePeriodSeconds':
    case 'resourceVersion':
      return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NUMBERS) }, { weight: 1, arbitrary: fc.oneof(...common) });
    case 'continue':
      return fc.oneof(forgedContinue, fc.base64String({ maxLength: 40 }), fc.constantFrom('%%%', 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ', 'x'.repeat(8000)), ...common);
    case 'labelSelector':
      return fc.oneof(fc.constantFrom('app=fuzz', 'app!=fuzz', 'app in (fuzz,x)', 'app notin (x)', 'app', '!app', 'a=b,c=d', '=', '((((', 'app in (', 'a'.repeat(5000), 'app=💥', 'x==y', 'app in ()'), ...common);
    case 'fieldSelector':
      return fc.oneof(fc.constantFrom('metadata.name=x', 'metadata.namespace=fuzz', 'metadata.name!=x', 'spec.url=x', 'metadata.name=', '=', 'metadata.name==x==', 'metadata.name in (x)', 'metadata.name=\u0000'), ...common);
    case 'dryRun':
      return fc.oneof(fc.constantFrom('All', 'all', 'None', '', 'All,All'), ...common);
    case 'fieldValidation':
      return fc.oneof(fc.constantFrom('Strict', 'Warn', 'Ignore', 'strict', ''), ...common);
    case 'fieldManager':
      return fc.oneof(fc.constantFrom('fuzz', 'kubectl', '', 'm'.repeat(128), 'm'.repeat(129), '💥', 'a\u0000b'), ...common);
    case 'resourceVersionMatch':
      return fc.oneof(fc.constantFrom('Exact', 'NotOlderThan', 'exact', ''), ...common);
    case 'includeObject':
      return fc.oneof(fc.constantFrom('None', 'Metadata', 'Object', 'x'), ...common);
    case 'propagationPolicy':
      return fc.oneof(fc.constantFrom('Foreground', 'Background', 'Orphan', 'x'), ...common);
    default:
      return fc.oneof(fc.constantFrom('true', 'false', '0', '1', '', 'TRUE', 'yes'), ...common);
  }
};
export const queryArb: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant([] as [string, string][]) },
  {
    weight: 4,
    arbitrary: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...QUERY_KEYS).chain((k) => queryValue(k).map((v) => [k, v] as [string, string])) },
        { weight: 1, arbitrary: fc.tuple(fc.string({ unit: 'binary', maxLength: 10 }), fc.string({ maxLength: 10 })) },
      ),
      { maxLength: 4 },
    ),
  },
);
export const queryString = (q: [string, string][]) => (q.length ? `?${q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}` : '');
/** encodeURIComponent, except that a lone surrogate (which it throws on) is written as %ED%A0%80-style bytes. */
export const encodeSegment = (s: string): string => {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s].map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        const c = ch.charCodeAt(0);
        return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      }
    }).join('');
  }
};

// ---------------------------------------------------------------------------------------------
// JSON patches

export type JsonOpDesc =
  | { t: 'op'; op: string; path: PathDesc; from?: PathDesc; v?: ValueDesc }
  | { t: 'doubling'; into: 'spec' | 'fieldsV1' | 'annotations'; k: number; unit: number }
  | { t: 'many'; n: number; op: 'add' | 'test' | 'remove' | 'copy' | 'replace' };
export type PathDesc = { p: 'existing'; at: number } | { p: 'new'; at: number; k: KeyDesc } | { p: 'append'; at: number } | { p: 'garbage'; v: string };
const GARBAGE_POINTERS = ['', '/', 'spec', '//', '/spec/~2', '/spec/~', '/metadata/managedFields/0/fieldsV1/x', '/spec/-', '/metadata/annotations/-', '/status/conditions/99999999999999999999', '/metadata/finalizers/-1', '/metadata/labels/a~1b', '/a/b/c/d', '/__proto__/x', '/spec/constructor/prototype', '/metadata/managedFields/-'];
const pathArb: fc.Arbitrary<PathDesc> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ p: fc.constant('existing' as const), at: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ p: fc.constant('new' as const), at: fc.nat(), k: keyArb }) },
  { weight: 1, arbitrary: fc.record({ p: fc.constant('append' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ p: fc.constant('garbage' as const), v: fc.oneof(fc.constantFrom(...GARBAGE_POINTERS), fc.string({ unit: 'binary', maxLength: 15 })) }) },
);
export const jsonOpArb: fc.Arbitrary<JsonOpDesc> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record(
      { t: fc.constant('op' as const), op: fc.oneof({ weight: 10, arbitrary: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test') }, { weight: 1, arbitrary: fc.constantFrom('ADD', '', 'merge', '💥') }), path: pathArb, from: pathArb, v: valueArb },
      { requiredKeys: ['t', 'op', 'path'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('doubling' as const), into: fc.constantFrom('spec' as const, 'fieldsV1' as const, 'annotations' as const), k: fc.integer({ min: 1, max: 26 }), unit: fc.constantFrom(16, 1024) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('many' as const), n: fc.constantFrom(100, 3000, 10_000, 10_001, 12_000), op: fc.constantFrom('add' as const, 'test' as const, 'remove' as const, 'copy' as const, 'replace' as const) }) },
);

const pointer = (p: (string | number)[]) => p.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

function pointerFor(d: PathDesc, obj: unknown): string {
  const paths = pathsOf(obj);
  switch (d.p) {
    case 'existing':
      return paths.length ? pointer(paths[d.at % paths.length]) : '/spec';
    case 'new': {
      const objs = [[], ...paths.filter((p) => isObj(getAt(obj, p)))];
      return pointer([...objs[d.at % objs.length], key(d.k)]);
    }
    case 'append': {
      const arrs = paths.filter((p) => Array.isArray(getAt(obj, p)));
      return arrs.length ? `${pointer(arrs[d.at % arrs.length])}/-` : '/metadata/finalizers/-';
    }
    case 'garbage':
      return d.v;
  }
}

/** The kube-shaped doubling: a value, then k copies of the array into its own end, each doubling it. */
export function doublingOps(into: 'spec' | 'fieldsV1' | 'annotations', k: number, unit: number): unknown[] {
  const base = into === 'spec' ? '/spec/x' : into === 'annotations' ? '/metadata/annotations/x' : '/metadata/managedFields/0/fieldsV1/f:x';
  const ops: unknown[] = [{ op: 'add', path: base, value: ['y'.repeat(unit)] }];
  for (let i = 0; i < k; i++) ops.push({ op: 'copy', from: base, path: `${base}/-` });
  return ops;
}

export function jsonPatchOps(descs: JsonOpDesc[], current: unknown): unknown[] {
  const ops: unknown[] = [];
  for (const d of descs) {
    if (d.t === 'doubling') ops.push(...doublingOps(d.into, d.k, d.unit));
    else if (d.t === 'many') {
      for (let i = 0; i < d.n; i++) {
        if (d.op === 'add') ops.push({ op: 'add', path: `/metadata/annotations/k${i}`, value: 'v' });
        else if (d.op === 'test') ops.push({ op: 'test', path: '/kind', value: (current as Obj).kind });
        else if (d.op === 'remove') ops.push({ op: 'remove', path: `/metadata/annotations/k${i}` });
        else if (d.op === 'replace') ops.push({ op: 'replace', path: '/spec/interval', value: `${(i % 59) + 1}m` });
        else ops.push({ op: 'copy', from: '/spec/interval', path: `/metadata/annotations/c${i}` });
      }
    } else {
      const op: Obj = { op: d.op, path: pointerFor(d.path, current) };
      if (d.from) op.from = pointerFor(d.from, current);
      if (d.v) op.value = value(d.v);
      ops.push(op);
    }
  }
  return ops;
}

/** A merge patch that follows existing paths of the object down to a new value (or null: delete). */
export type MergeEntry = { at: number; v: ValueDesc } | { place: Place; k: KeyDesc; v: ValueDesc };
export const mergeEntryArb: fc.Arbitrary<MergeEntry> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ at: fc.nat(), v: valueArb }) },
  { weight: 2, arbitrary: fc.record({ place: fc.constantFrom<Place>('spec', 'annotations', 'labels', 'fieldsV1', 'status', 'metadata', 'root', 'finalizers', 'values'), k: keyArb, v: valueArb }) },
);
export function mergePatchBody(entries: MergeEntry[], current: unknown): Obj {
  const patch: Obj = {};
  for (const e of entries) {
    if ('at' in e) {
      // Arrays are replaced whole by a merge patch: a path stops at the first index.
      const paths = pathsOf(current)
        .map((p) => {
          const i = p.findIndex((t) => typeof t === 'number');
          return i < 0 ? p : p.slice(0, i);
        })
        .filter((p) => p.length > 0);
      if (!paths.length) continue;
      const p = paths[e.at % paths.length] as string[];
      let c = patch;
      for (const t of p.slice(0, -1)) c = isObj(c[t]) ? (c[t] as Obj) : (put(c, t, {}), c[t] as Obj);
      put(c, p[p.length - 1], value(e.v));
    } else {
      const c = container(patch, e.place);
      if (Array.isArray(c)) c.push(value(e.v));
      else put(c, key(e.k), value(e.v));
    }
  }
  return patch;
}

// ---------------------------------------------------------------------------------------------
// Cases

export type DeleteBodyDesc = { t: 'none' } | { t: 'options'; uid: 'none' | 'right' | 'wrong' | ValueDesc; rv: 'none' | 'right' | 'wrong' | ValueDesc; extra: Mutation[]; policy?: string; grace?: ValueDesc; dryRun?: boolean } | { t: 'value'; v: ValueDesc };

const preconditionArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<'none' | 'right' | 'wrong'>('none', 'right', 'wrong') },
  { weight: 1, arbitrary: valueArb },
);
const deleteBodyArb: fc.Arbitrary<DeleteBodyDesc> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ t: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        t: fc.constant('options' as const),
        uid: preconditionArb,
        rv: preconditionArb,
        extra: fc.array(mutationArb, { maxLength: 2 }),
        policy: fc.constantFrom('Foreground', 'Background', 'Orphan', 'bogus', ''),
        grace: valueArb,
        dryRun: fc.boolean(),
      },
      { requiredKeys: ['t', 'uid', 'rv', 'extra'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('value' as const), v: valueArb }) },
);

interface Common {
  kind: number;
  query: [string, string][];
  headers: HeaderDesc;
  wrap: Wrap;
}
export type CaseDesc = Common &
  (
    | { verb: 'create' | 'update' | 'status'; mutations: Mutation[]; format: Format }
    | { verb: 'applyCreate' | 'apply'; mutations: Mutation[]; format: Format; manager: string | null; force: string | null }
    | { verb: 'merge'; entries: MergeEntry[]; top?: ValueDesc }
    | { verb: 'json'; ops: JsonOpDesc[] }
    | { verb: 'strategic'; entries: MergeEntry[] }
    | { verb: 'delete' | 'deletecollection'; body: DeleteBodyDesc }
    | { verb: 'get' | 'list' | 'listAll' | 'watch'; sub?: string }
    | { verb: 'odd'; method: string; path: string }
    | { verb: 'burst'; n: number; rounds: number; size: number }
  );

const ODD_PATHS = [
  '/apis/gitops.toolkit/v1/namespaces/%ff/gitrepositories',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/gitrepositories/x/status/extra',
  '/apis/gitops.toolkit/v1/watch/namespaces/fuzz/gitrepositories',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/gitrepositories/%00',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/gitrepositories/a%2Fb',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/gitrepositories/..',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/widgets',
  '/apis/gitops.toolkit/v1/namespaces//gitrepositories',
  '/apis/gitops.toolkit/v1/namespaces/fuzz',
  '/apis/gitops.toolkit/v1/namespaces',
  '/apis/gitops.toolkit/v1/',
  '/apis/gitops.toolkit/v2/namespaces/fuzz/gitrepositories',
  '/apis/gitops.toolkit',
  '//apis',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/gitrepositories/x/artifact',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/kustomizations/x/artifact',
  '/apis/gitops.toolkit/v1/namespaces/fuzz/gitrepositories/' + 'a'.repeat(8000),
  '/apis/gitops.toolkit/v1/namespaces/' + '%F0%9F%92%A5'.repeat(50) + '/gitrepositories',
  '/openapi/v3/apis/gitops.toolkit/v1?hash=x',
  '/openapi/v2',
  '/version',
  '/metrics',
  '/readyz/nope',
  '/livez?verbose',
  '/apis?x=%ZZ',
];
const ODD_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'LINK', 'M-SEARCH'];

const common = { kind: fc.nat({ max: KINDS.length - 1 }), query: queryArb, headers: headersArb, wrap: wrapArb };
const mutations = fc.array(mutationArb, { minLength: 0, maxLength: 4 });
const manager = fc.oneof({ weight: 6, arbitrary: fc.constant('fuzz') }, { weight: 1, arbitrary: fc.constantFrom(null, '', 'm'.repeat(129), '💥', 'other') });
const force = fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'x', '') });

export const caseArb: fc.Arbitrary<CaseDesc> = fc.oneof(
  { weight: 24, arbitrary: fc.record({ ...common, verb: fc.constant('create' as const), mutations, format: fc.constantFrom<Format>('json', 'json', 'yaml') }) },
  { weight: 4, arbitrary: fc.record({ ...common, verb: fc.constant('applyCreate' as const), mutations, format: fc.constantFrom<Format>('json', 'yaml'), manager, force }) },
  { weight: 10, arbitrary: fc.record({ ...common, verb: fc.constant('update' as const), mutations, format: fc.constantFrom<Format>('json', 'json', 'yaml') }) },
  { weight: 6, arbitrary: fc.record({ ...common, verb: fc.constant('status' as const), mutations, format: fc.constantFrom<Format>('json', 'yaml') }) },
  { weight: 10, arbitrary: fc.record({ ...common, verb: fc.constant('merge' as const), entries: fc.array(mergeEntryArb, { minLength: 1, maxLength: 4 }), top: fc.option(valueArb, { freq: 8, nil: undefined }) }, { requiredKeys: ['kind', 'query', 'headers', 'wrap', 'verb', 'entries'] }) },
  { weight: 10, arbitrary: fc.record({ ...common, verb: fc.constant('json' as const), ops: fc.array(jsonOpArb, { minLength: 1, maxLength: 6 }) }) },
  { weight: 8, arbitrary: fc.record({ ...common, verb: fc.constant('apply' as const), mutations, format: fc.constantFrom<Format>('json', 'yaml'), manager, force }) },
  { weight: 2, arbitrary: fc.record({ ...common, verb: fc.constant('strategic' as const), entries: fc.array(mergeEntryArb, { minLength: 1, maxLength: 2 }) }) },
  { weight: 6, arbitrary: fc.record({ ...common, verb: fc.constant('delete' as const), body: deleteBodyArb }) },
  { weight: 2, arbitrary: fc.record({ ...common, verb: fc.constant('deletecollection' as const), body: deleteBodyArb }) },
  { weight: 8, arbitrary: fc.record({ ...common, verb: fc.constantFrom('get' as const, 'list' as const, 'listAll' as const, 'watch' as const), sub: fc.option(fc.constantFrom('status', 'artifact', 'bogus', 'status/x'), { freq: 6, nil: undefined }) }, { requiredKeys: ['kind', 'query', 'headers', 'wrap', 'verb'] }) },
  { weight: 2, arbitrary: fc.record({ ...common, verb: fc.constant('odd' as const), method: fc.constantFrom(...ODD_METHODS), path: fc.constantFrom(...ODD_PATHS) }) },
  // n loops of valid merge patches at once, each loop on its own HelmRelease, over the kept-alive connections.
  { weight: 1, arbitrary: fc.record({ ...common, verb: fc.constant('burst' as const), n: fc.integer({ min: 2, max: 6 }), rounds: fc.integer({ min: 1, max: 4 }), size: fc.constantFrom(1000, 30_000, 100_000, 300_000) }) },
);

/** fast-check prints counterexamples with this: the description, long strings cut. */
export class Case {
  constructor(readonly d: CaseDesc) {}
  [fc.toStringMethod](): string {
    return `${KINDS[this.d.kind].kind} ${preview(this.d, 1500)}`;
  }
}
export const caseArbitrary = caseArb.map((d) => new Case(d), (c) => (c as Case).d);
