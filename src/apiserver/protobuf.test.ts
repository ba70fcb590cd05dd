import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from '../apis/meta/errors.js';
import { bytesField, decodeProtobufObject, fieldKey, varint, type MessageSchema } from './protobuf.js';

const field = (no: number, value: Buffer | string): Buffer => bytesField(no, Buffer.isBuffer(value) ? value : Buffer.from(value));
const boolField = (no: number, v: boolean) => Buffer.concat([fieldKey(no, 0), varint(v ? 1 : 0)]);
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, Buffer.concat([field(1, apiVersion), field(2, kind)])), field(2, raw), field(4, 'application/vnd.kubernetes.protobuf')]);

const SCHEMA: MessageSchema = { 2: ['spec', { 1: ['resourceAttributes', { 2: ['verb', 'string'], 5: ['resource', 'string'], 1: ['namespace', 'string'] }] }], 9: ['flag', 'bool'] };
const rejects = (buf: Buffer, pattern: RegExp) =>
  assert.throws(() => decodeProtobufObject(buf, SCHEMA), (e: unknown) => e instanceof StatusError && e.code === 400 && pattern.test(e.message));

describe('decodeProtobufObject', () => {
  it('decodes the envelope and the fields a schema names, skipping others (metadata, unknown fields)', () => {
    const attrs = Buffer.concat([field(2, 'create'), field(5, 'gitrepositories'), field(1, 'team-a'), field(8, Buffer.from([1, 2, 3]))]);
    const raw = Buffer.concat([field(1, field(1, 'ignored-name')), field(2, field(1, attrs)), boolField(9, true), Buffer.concat([varint(10 * 8 + 5), Buffer.alloc(4)])]);
    const obj = decodeProtobufObject(envelope('authorization.k8s.io/v1', 'SelfSubjectAccessReview', raw), SCHEMA);
    assert.deepEqual(obj, { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'gitrepositories', namespace: 'team-a' } }, flag: true });
  });
  it('repeated fields collect every occurrence; map entries become an object (a SubjectAccessReview’s groups and extra)', () => {
    const schema: MessageSchema = {
      2: ['spec', { 3: ['user', 'string'], 4: ['groups', 'string', 'repeated'], 5: ['extra', { 1: ['key', 'string'], 2: ['value', { 1: ['items', 'string', 'repeated'] }] }, 'map'] }],
    };
    const entry = (k: string, ...items: string[]) => field(5, Buffer.concat([field(1, k), field(2, Buffer.concat(items.map((i) => field(1, i))))]));
    const spec = Buffer.concat([field(3, 'alice'), field(4, 'dev'), field(4, 'ops'), entry('scopes', 'view', 'edit'), entry('__proto__', 'x')]);
    const obj = decodeProtobufObject(envelope('authorization.k8s.io/v1', 'SubjectAccessReview', field(2, spec)), schema) as any;
    assert.deepEqual(obj.spec.groups, ['dev', 'ops']);
    assert.deepEqual(obj.spec.extra.scopes, { items: ['view', 'edit'] });
    assert.deepEqual(Object.keys(obj.spec.extra), ['scopes', '__proto__']);
    assert.equal(Object.getPrototypeOf(obj.spec.extra), Object.prototype);
  });

  it('an empty object decodes to its type alone', () => {
    assert.deepEqual(decodeProtobufObject(envelope('authentication.k8s.io/v1', 'SelfSubjectReview', Buffer.alloc(0)), {}), { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  });
  it('refuses what is not Kubernetes protobuf, or is cut or malformed, with a 400', () => {
    rejects(Buffer.from('{"kind":"x"}'), /magic number/);
    const good = envelope('v1', 'X', field(2, field(1, field(2, 'get'))));
    rejects(good.subarray(0, good.length - 3), /not valid: a field runs past the end/);
    rejects(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]), /not valid: truncated or overlong varint/);
    rejects(envelope('v1', 'X', Buffer.concat([varint(2 * 8 + 0), varint(5)])), /field spec has wire type 0/);
    rejects(envelope('v1', 'X', Buffer.from([0x0b])), /unsupported wire type 3/);
    rejects(Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(2, Buffer.alloc(0)), field(3, 'gzip')]), /content encoding gzip is not supported/);
  });
  it('bounds nesting', () => {
    const deep: MessageSchema = {};
    deep[1] = ['a', deep];
    let msg: Buffer = Buffer.alloc(0);
    for (let i = 0; i < 40; i++) msg = field(1, msg);
    assert.throws(() => decodeProtobufObject(envelope('v1', 'X', msg), deep), /nested too deeply/);
  });
});
