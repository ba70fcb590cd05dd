import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resources } from '../apis/v1/index.js';
import { openAPIv2 } from './openapi.js';
import { openAPIv2Protobuf } from './openapi-v2-protobuf.js';
import { decodeProtobufObject, envelope, type MessageSchema } from './protobuf.js';

// Reads back what the encoder wrote with a schema of gnostic's field numbers (openapi.v2.Document):
// the real proof is kubectl parsing it (test/api/kubectl.test.ts), this checks the fields one by one.
const ANY: MessageSchema = { 2: ['yaml', 'string'] };
const NAMED_ANY: MessageSchema = { 1: ['name', 'string'], 2: ['value', ANY] };
const SCHEMA: MessageSchema = { 1: ['$ref', 'string'], 4: ['description', 'string'], 22: ['type', { 1: ['value', 'string'] }], 31: ['extension', NAMED_ANY] };
const DOC: MessageSchema = {
  1: ['swagger', 'string'],
  2: ['info', { 1: ['title', 'string'], 2: ['version', 'string'] }],
  9: ['definitions', { 1: ['first', { 1: ['name', 'string'], 2: ['value', SCHEMA] }] }],
};

/** protobuf.ts reads Kubernetes' envelope; the document has none of its own, so it is wrapped in one. */
const decode = (buf: Buffer, schema: MessageSchema) => decodeProtobufObject(envelope(buf), schema);

describe('openAPIv2Protobuf', () => {
  it('encodes the published document: swagger, info, and definitions', () => {
    const doc = openAPIv2(resources);
    const pb = openAPIv2Protobuf(doc);
    assert.ok(pb.length > 10_000);
    const back = decode(pb, DOC);
    assert.equal(back.swagger, '2.0');
    assert.deepEqual(back.info, { title: 'gitops-toolkit', version: 'v1' });
    // repeated fields decode to their last value here: one definition is enough to check the shape
    const def = (back.definitions as { first: { name: string; value: Record<string, any> } }).first;
    assert.ok(Object.keys(doc.definitions as object).includes(def.name));
    assert.equal(def.value.type?.value, 'object');
  });

  it('refuses what it cannot encode faithfully instead of dropping it', () => {
    assert.throws(() => openAPIv2Protobuf({ swagger: '2.0', definitions: { X: { type: 'object', nullable: true } } }), /definitions\.X: nullable has no protobuf encoding/);
    assert.throws(() => openAPIv2Protobuf({ swagger: '2.0', paths: { '/x': { get: { parameters: [{ in: 'header', name: 'h' }] } } } }), /parameters in header/);
    assert.throws(() => openAPIv2Protobuf({ swagger: '2.0', webhooks: {} }), /document: webhooks/);
  });
});
