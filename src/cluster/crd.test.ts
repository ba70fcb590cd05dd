import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../apis/meta/types.js';
import { crdErrors, definitionsFromCRD, structuralErrors } from './crd.js';

const crd = (spec: Record<string, unknown>, name = 'widgets.example.com'): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'], categories: ['all'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' }, size: { type: 'string' } } }, status: { type: 'object', x: 1 } } } },
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
        additionalPrinterColumns: [{ name: 'Size', type: 'string', jsonPath: '.spec.size' }],
      },
      { name: 'v1beta1', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
    ],
    ...spec,
  },
});
const fields = (c: KubeObject) => crdErrors(c).map((e) => `${e.field}: ${e.message}`);

describe('crdErrors', () => {
  it('accepts a well-formed CRD', () => assert.deepEqual(fields(crd({})), []));
  it('names: plural.group as metadata.name, lowercase plural, CamelCase kind, a dotted group', () => {
    assert.ok(fields(crd({}, 'widget.example.com')).some((f) => f.startsWith('metadata.name')));
    assert.ok(fields(crd({ names: { plural: 'Widgets', kind: 'Widget' } }, 'Widgets.example.com')).some((f) => f.startsWith('spec.names.plural')));
    assert.ok(fields(crd({ names: { plural: 'widgets', kind: 'widget' } })).some((f) => f.startsWith('spec.names.kind')));
    assert.ok(fields(crd({ group: 'example' }, 'widgets.example')).some((f) => f.startsWith('spec.group')));
    assert.ok(fields(crd({ scope: 'Global' })).some((f) => f.startsWith('spec.scope')));
  });
  it('scale paths are simple JSON paths under .spec and .status: nothing that reaches a prototype', () => {
    const withScale = (scale: Record<string, string>) =>
      crd({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } }, subresources: { scale } }] });
    assert.deepEqual(fields(withScale({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' })), []);
    for (const bad of ['.spec.__proto__.polluted', 'spec.replicas', '.status.replicas', '.spec', '.spec.items[0]', '.spec.constructor.x'])
      assert.ok(fields(withScale({ specReplicasPath: bad, statusReplicasPath: '.status.replicas' })).some((f) => f.includes('specReplicasPath: should be a json path under .spec')), bad);
    assert.ok(fields(withScale({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.spec.x' })).some((f) => f.includes('statusReplicasPath')));
  });

  it('exactly one storage version, unique names, a schema for each', () => {
    const two = crd({ versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }, { name: 'v2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] });
    assert.ok(fields(two).includes('spec.versions: must have exactly one version marked as storage version'));
    const noSchema = crd({ versions: [{ name: 'v1', served: true, storage: true }] });
    assert.ok(fields(noSchema).includes('spec.versions[0].schema.openAPIV3Schema: schemas are required'));
  });
});

describe('structuralErrors', () => {
  const at = (schema: unknown) => structuralErrors(schema as never, 'schema').map((e) => `${e.field}: ${e.message}`);
  it('every node typed, unless int-or-string or preserving unknown fields', () => {
    assert.deepEqual(at({ type: 'object', properties: { a: {} } }), ['schema.properties[a].type: must not be empty for specified object fields']);
    assert.deepEqual(at({ type: 'object', properties: { a: { 'x-kubernetes-int-or-string': true }, b: { 'x-kubernetes-preserve-unknown-fields': true } } }), []);
  });
  it('arrays have items; properties and additionalProperties exclude each other; no false additionalProperties', () => {
    assert.deepEqual(at({ type: 'object', properties: { l: { type: 'array' } } }), ['schema.properties[l].items: must be specified']);
    assert.deepEqual(at({ type: 'object', properties: { m: { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: { type: 'string' } } } }), ['schema.properties[m].additionalProperties: additionalProperties and properties are mutual exclusive']);
    assert.ok(at({ type: 'object', additionalProperties: false }).includes('schema.additionalProperties: must not be false'));
  });
  it('no $ref, and metadata may only restrict name and generateName', () => {
    assert.ok(at({ type: 'object', properties: { a: { $ref: '#/x' } } }).some((f) => f.startsWith('schema.properties[a].$ref')));
    assert.deepEqual(at({ type: 'object', properties: { metadata: { type: 'object', properties: { name: { type: 'string' }, labels: { type: 'object' } } } } }), [
      'schema.properties[metadata].properties[labels]: must not be specified: only name and generateName may be restricted',
    ]);
    assert.ok(at({ type: 'string' }).includes('schema.type: must be object at the root'));
  });
});

describe('definitionsFromCRD', () => {
  it('one definition per served version, with scope, names, subresources and columns', () => {
    const [d, ...rest] = definitionsFromCRD(crd({}));
    assert.equal(rest.length, 0, 'v1beta1 is not served');
    assert.deepEqual([d.group, d.version, d.kind, d.plural, d.singular, d.listKind, d.namespaced], ['example.com', 'v1', 'Widget', 'widgets', 'widget', 'WidgetList', true]);
    assert.deepEqual(d.shortNames, ['wd']);
    assert.equal(d.hasStatus, true);
    assert.deepEqual(d.scale, { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' });
    assert.deepEqual(d.printerColumns.map((c) => c.name), ['Size']);
    assert.ok(d.schema.properties?.apiVersion && d.schema.properties.kind && d.schema.properties.metadata);
    const plain = definitionsFromCRD(crd({ scope: 'Cluster', versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] }))[0];
    assert.equal(plain.namespaced, false);
    assert.equal(plain.hasStatus, false, 'no status subresource: status is part of the object');
    assert.deepEqual(plain.printerColumns.map((c) => c.name), ['Age']);
  });
});
