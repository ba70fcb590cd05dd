import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError, JSONSchemaProps, ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';
import { gitRepository } from '../apis/v1/index.js';
import { fieldErrorMessage } from '../apis/meta/errors.js';
import { defaultAndValidate, fieldPath, nameErrors, namespaceErrors, pruneUnknownFields, qualifiedNameErrors, validateObjectMeta } from './validation.js';

const str = (extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'string', ...extra });
const obj = (properties: Record<string, JSONSchemaProps>, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'object', properties, ...extra });

const schema: JSONSchemaProps = obj({
  apiVersion: str(),
  kind: str(),
  metadata: { type: 'object' },
  spec: obj(
    {
      interval: str({ pattern: '^[0-9]+(s|m|h)$', default: '10m' }),
      mode: str({ enum: ['Fast', 'Slow'] }),
      level: { type: 'integer', enum: [1, 2] },
      replicas: { type: 'integer', minimum: 0, maximum: 10, default: 1 },
      prefix: str({ minLength: 1 }),
      ref: obj({ branch: str({ default: 'main' }), tag: str() }, { default: {} }),
      include: {
        type: 'array',
        items: obj(
          {
            repository: obj({ name: str({ maxLength: 5 }) }, { required: ['name'] }),
            toPath: str({ pattern: '^[a-z/]+$' }),
            mode: str({ enum: ['copy', 'link'], default: 'copy' }),
          },
          { required: ['repository'] },
        ),
      },
      tags: { type: 'array', items: str(), minItems: 1 },
      values: { 'x-kubernetes-preserve-unknown-fields': true },
      extra: obj({ known: obj({ deep: str() }) }, { 'x-kubernetes-preserve-unknown-fields': true }),
      labels: { type: 'object', additionalProperties: str() },
      anything: { type: 'object', additionalProperties: true },
      note: str({ nullable: true }),
    },
    { required: ['interval'] },
  ),
  status: obj({ conditions: { type: 'array', items: obj({ type: str(), status: str() }) } }),
});

const def: ResourceDefinition = {
  group: 'example.com',
  version: 'v1',
  namespaced: true,
  kind: 'Thing',
  listKind: 'ThingList',
  plural: 'things',
  singular: 'thing',
  shortNames: [],
  categories: [],
  hasArtifact: false,
  schema,
  printerColumns: [],
  validate: () => [],
  warnings: () => [],
};

const thing = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'gitops.toolkit/v1',
  kind: 'Thing',
  metadata: { name: 'a', namespace: 'ns' },
  spec,
  ...extra,
});

/** `field: message` the way a 422 prints each cause. */
const printed = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${fieldErrorMessage(e)}`);

describe('fieldPath', () => {
  const cases: [(string | number)[], string][] = [
    [[], ''],
    [['spec'], 'spec'],
    [['spec', 'include', 0, 'toPath'], 'spec.include[0].toPath'],
    [['spec', 'include', '12', 'repository', 'name'], 'spec.include[12].repository.name'],
    [['spec', 'matrix', 0, 1], 'spec.matrix[0][1]'],
    [['metadata', 'labels', 'app.kubernetes.io/name'], 'metadata.labels.app.kubernetes.io/name'],
  ];
  for (const [segs, want] of cases) it(JSON.stringify(segs), () => assert.equal(fieldPath(segs), want));
});

describe('defaultAndValidate: ajv errors become kube field errors', () => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['required inside an array item', { include: [{ repository: {} }] }, ['spec.include[0].repository.name: Required value']],
    ['required array item member', { include: [{ repository: { name: 'a' } }, {}] }, ['spec.include[1].repository: Required value']],
    ['type', { interval: 5 }, ['spec.interval: Invalid value: "integer": spec.interval in body must be of type string: "integer"']],
    ['type of an object given as an array', { ref: [] }, ['spec.ref: Invalid value: "array": spec.ref in body must be of type object: "array"']],
    ['type of a non-integer number', { replicas: 1.5 }, ['spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"']],
    ['type inside an array', { tags: ['a', true] }, ['spec.tags[1]: Invalid value: "boolean": spec.tags[1] in body must be of type string: "boolean"']],
    ['enum', { mode: 'Medium' }, ['spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"']],
    ['enum of integers is quoted like kube', { level: 3 }, ['spec.level: Unsupported value: 3: supported values: "1", "2"']],
    ['enum inside an array', { include: [{ repository: { name: 'a' }, mode: 'move' }] }, ['spec.include[0].mode: Unsupported value: "move": supported values: "copy", "link"']],
    ['pattern', { interval: '10 minutes' }, ["spec.interval: Invalid value: \"10 minutes\": spec.interval in body should match '^[0-9]+(s|m|h)$'"]],
    ['pattern inside an array', { include: [{ repository: { name: 'a' }, toPath: 'A' }] }, ["spec.include[0].toPath: Invalid value: \"A\": spec.include[0].toPath in body should match '^[a-z/]+$'"]],
    ['maxLength inside an array', { include: [{ repository: { name: 'toolong' } }] }, ['spec.include[0].repository.name: Too long: may not be more than 5 bytes']],
    ['minLength', { prefix: '' }, ['spec.prefix: Invalid value: "": spec.prefix in body should be at least 1 chars long']],
    ['minimum', { replicas: -1 }, ['spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0']],
    ['maximum', { replicas: 11 }, ['spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10']],
    ['minItems', { tags: [] }, ['spec.tags: Invalid value: spec.tags in body should have at least 1 items']],
    [
      'every problem at once, in document order',
      { interval: 1, mode: 'x', include: [{ repository: {} }, { repository: { name: 'abcdef' } }] },
      [
        'spec.interval: Invalid value: "integer": spec.interval in body must be of type string: "integer"',
        'spec.mode: Unsupported value: "x": supported values: "Fast", "Slow"',
        'spec.include[0].repository.name: Required value',
        'spec.include[1].repository.name: Too long: may not be more than 5 bytes',
      ],
    ],
  ];
  for (const [name, spec, want] of cases) {
    it(name, () => {
      const o = thing({ interval: '1m', ...spec });
      assert.deepEqual(printed(defaultAndValidate(def, o)), want);
    });
  }

  it('a valid object has no errors', () => assert.deepEqual(defaultAndValidate(def, thing({ interval: '1m' })), []));

  it('a required field with a default is defaulted, not missing', () => assert.deepEqual(defaultAndValidate(def, thing({})), []));

  it('required at the root', () => {
    const o = thing({});
    delete o.spec;
    assert.deepEqual(printed(defaultAndValidate({ ...def, schema: { ...schema, required: ['spec'] } }, o)), ['spec: Required value']);
  });

  it('the real GitRepository schema reports spec.include[0].repository.name', () => {
    const o: KubeObject = {
      apiVersion: 'gitops.toolkit/v1',
      kind: 'GitRepository',
      metadata: { name: 'a', namespace: 'ns' },
      spec: { url: 'https://example.com/x.git', interval: '1m', include: [{ repository: {} }] },
    };
    assert.deepEqual(printed(defaultAndValidate(gitRepository, o)), ['spec.include[0].repository.name: Required value']);
  });
});

describe('defaultAndValidate: defaults', () => {
  it('fills missing fields, including inside array items, without touching given ones', () => {
    const o = thing({ interval: '5m', include: [{ repository: { name: 'a' } }, { repository: { name: 'b' }, mode: 'link' }] });
    assert.deepEqual(defaultAndValidate(def, o), []);
    assert.deepEqual(o.spec, {
      interval: '5m',
      replicas: 1,
      ref: { branch: 'main' },
      include: [
        { repository: { name: 'a' }, mode: 'copy' },
        { repository: { name: 'b' }, mode: 'link' },
      ],
    });
  });

  it('a defaulted object gets its own defaults (kube defaults into the default)', () => {
    const o = thing({});
    defaultAndValidate(def, o);
    assert.deepEqual(o.spec, { interval: '10m', replicas: 1, ref: { branch: 'main' } });
  });

  it('defaults do not create a missing parent', () => {
    const o = thing({ interval: '1m' });
    delete o.spec;
    defaultAndValidate(def, o);
    assert.equal(o.spec, undefined);
  });
});

describe('pruneUnknownFields', () => {
  it('drops unknown fields at every depth, inside arrays too, and reports their paths', () => {
    const o = thing(
      {
        interval: '1m',
        bogus: 1,
        ref: { branch: 'main', commitish: 'x' },
        include: [{ repository: { name: 'a', kind: 'GitRepository' } }, { repository: { name: 'b' }, extra: true }],
      },
      { top: 'x', status: { conditions: [{ type: 'Ready', status: 'True', color: 'green' }], phase: 'Done' } },
    );
    const unknown = pruneUnknownFields(def, o);
    assert.deepEqual(unknown.sort(), [
      'spec.bogus',
      'spec.include[0].repository.kind',
      'spec.include[1].extra',
      'spec.ref.commitish',
      'status.conditions[0].color',
      'status.phase',
      'top',
    ]);
    assert.deepEqual(o, thing(
      { interval: '1m', ref: { branch: 'main' }, include: [{ repository: { name: 'a' } }, { repository: { name: 'b' } }] },
      { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    ));
  });

  it('keeps everything under x-kubernetes-preserve-unknown-fields, but still prunes its known properties', () => {
    const o = thing({ interval: '1m', values: { any: { deep: [1, { x: null }] } }, extra: { free: 1, known: { deep: 'a', nope: 2 } } });
    assert.deepEqual(pruneUnknownFields(def, o), ['spec.extra.known.nope']);
    assert.deepEqual(o.spec, { interval: '1m', values: { any: { deep: [1, { x: null }] } }, extra: { free: 1, known: { deep: 'a' } } });
  });

  it('keeps the keys of maps (additionalProperties), typed or free-form', () => {
    const o = thing({ interval: '1m', labels: { a: 'b', 'x/y': 'z' }, anything: { k: { nested: true } } });
    assert.deepEqual(pruneUnknownFields(def, o), []);
    assert.deepEqual(o.spec, { interval: '1m', labels: { a: 'b', 'x/y': 'z' }, anything: { k: { nested: true } } });
  });

  it('prunes unknown metadata fields but keeps ObjectMeta and its maps', () => {
    const o = thing({ interval: '1m' });
    o.metadata = {
      name: 'a',
      namespace: 'ns',
      labels: { app: 'x' },
      annotations: { 'example.com/a': 'b' },
      finalizers: ['example.com/f'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u', foo: 1 } as never],
      managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': { 'f:interval': {} } }, bar: 1 } as never],
      clusterName: 'old',
      bogus: { x: 1 },
    } as never;
    assert.deepEqual(pruneUnknownFields(def, o).sort(), ['metadata.bogus', 'metadata.clusterName', 'metadata.managedFields[0].bar', 'metadata.ownerReferences[0].foo']);
    assert.deepEqual(o.metadata, {
      name: 'a',
      namespace: 'ns',
      labels: { app: 'x' },
      annotations: { 'example.com/a': 'b' },
      finalizers: ['example.com/f'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u' }],
      managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': { 'f:interval': {} } } }],
    });
  });

  it('drops nulls of non-nullable fields (then defaults apply), keeps nullable and preserved ones', () => {
    const o = thing({ interval: null, mode: null, note: null, values: null, ref: { branch: null } });
    assert.deepEqual(pruneUnknownFields(def, o), []);
    assert.deepEqual(o.spec, { note: null, values: null, ref: {} });
    assert.deepEqual(defaultAndValidate(def, o), []);
    assert.deepEqual(o.spec, { interval: '10m', replicas: 1, note: null, values: null, ref: { branch: 'main' } });
  });

  it('leaves nulls inside arrays to validation', () => {
    const o = thing({ interval: '1m', tags: [null] });
    pruneUnknownFields(def, o);
    assert.deepEqual(o.spec!.tags, [null]);
    assert.deepEqual(printed(defaultAndValidate(def, o)), ['spec.tags[0]: Invalid value: "null": spec.tags[0] in body must be of type string: "null"']);
  });

  it('does not trip over values of the wrong type (validation reports them)', () => {
    const o = thing({ interval: '1m', ref: 'main', include: { repository: 1 }, labels: ['x'] });
    assert.deepEqual(pruneUnknownFields(def, o), []);
    assert.deepEqual(o.spec, { interval: '1m', ref: 'main', include: { repository: 1 }, labels: ['x'] });
  });
});

const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QNAME =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('name rules (kube IsDNS1123Subdomain / IsDNS1123Label / IsQualifiedName)', () => {
  it('names', () => {
    assert.deepEqual(nameErrors('my-repo.v1'), []);
    assert.deepEqual(nameErrors('a'.repeat(253)), []);
    assert.deepEqual(nameErrors('My_Repo'), [SUBDOMAIN]);
    assert.deepEqual(nameErrors('a'.repeat(254)), ['must be no more than 253 characters']);
    assert.deepEqual(nameErrors(`${'a'.repeat(253)}-`), ['must be no more than 253 characters', SUBDOMAIN]);
  });

  it('namespaces', () => {
    assert.deepEqual(namespaceErrors('flux-system'), []);
    assert.deepEqual(namespaceErrors('a.b'), [LABEL]);
    assert.deepEqual(namespaceErrors('a'.repeat(64)), ['must be no more than 63 characters']);
    assert.deepEqual(namespaceErrors(`${'a'.repeat(63)}-`), ['must be no more than 63 characters', LABEL]);
  });

  const qn: [string, string[]][] = [
    ['app', []],
    ['app.kubernetes.io/name', []],
    ['Example.com/x', [`prefix part ${SUBDOMAIN}`]],
    ['/x', ['prefix part must be non-empty']],
    ['example.com/', ['name part must be non-empty', QNAME]],
    ['', ['name part must be non-empty', QNAME]],
    ['a'.repeat(63), []],
    ['a'.repeat(64), ['name part must be no more than 63 characters']],
    [`${'a'.repeat(63)}-`, ['name part must be no more than 63 characters', QNAME]],
    ['-x', [QNAME]],
    [`${'a'.repeat(254)}/x`, ['prefix part must be no more than 253 characters']],
    [
      'a/b/c',
      [
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ],
    ],
  ];
  for (const [key, want] of qn) it(`qualified name ${JSON.stringify(key.length > 20 ? `${key.slice(0, 20)}…` : key)}`, () => assert.deepEqual(qualifiedNameErrors(key), want));
});

describe('validateObjectMeta', () => {
  const meta = (m: Record<string, unknown>): KubeObject => ({ apiVersion: 'gitops.toolkit/v1', kind: 'Thing', metadata: { name: 'a', namespace: 'ns', ...m } });
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['valid', { labels: { app: 'x', 'example.com/tier': '' }, annotations: { 'Example.com/Note': 'anything goes here' }, finalizers: ['example.com/f', 'example.com/f'] }, []],
    ['no name', { name: undefined }, ['metadata.name: Required value: name or generateName is required']],
    ['bad name', { name: 'My_Repo' }, [`metadata.name: Invalid value: "My_Repo": ${SUBDOMAIN}`]],
    ['bad namespace', { namespace: 'a.b' }, [`metadata.namespace: Invalid value: "a.b": ${LABEL}`]],
    ['generateName with a trailing dash is fine', { generateName: 'repo-' }, []],
    ['bad generateName', { generateName: 'Repo-' }, [`metadata.generateName: Invalid value: "Repo-": ${SUBDOMAIN}`]],
    ['bad label key', { labels: { '-x': 'v' } }, [`metadata.labels: Invalid value: "-x": ${QNAME}`]],
    ['bad label value', { labels: { x: 'a b' } }, [`metadata.labels: Invalid value: "a b": ${LABEL_VALUE}`]],
    ['long label value', { labels: { x: 'a'.repeat(64) } }, [`metadata.labels: Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`]],
    ['long and bad label value', { labels: { x: `${'a'.repeat(63)}-` } }, [`metadata.labels: Invalid value: "${'a'.repeat(63)}-": must be no more than 63 characters`, `metadata.labels: Invalid value: "${'a'.repeat(63)}-": ${LABEL_VALUE}`]],
    ['bad annotation key shows the key as written', { annotations: { 'Bad Key': 'v' } }, [`metadata.annotations: Invalid value: "Bad Key": ${QNAME}`]],
    ['annotations over 256 KiB', { annotations: { a: 'x'.repeat(256 * 1024) } }, ['metadata.annotations: Too long: may not be more than 262144 bytes']],
    ['annotations at exactly 256 KiB', { annotations: { a: 'x'.repeat(256 * 1024 - 1) } }, []],
    ['bad finalizer: the field is the list', { finalizers: ['ok.io/f', 'a/b/c'] }, [`metadata.finalizers: Invalid value: "a/b/c": a qualified ${QNAME.replace('name part ', 'name ')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`]],
    ['orphan and foregroundDeletion together', { finalizers: ['orphan', 'foregroundDeletion'] }, ['metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set']],
    ['ownerReference with empty fields', { ownerReferences: [{ apiVersion: 'apps/', kind: '', name: 'n', uid: '' }] }, [
      'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
      'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    ]],
    ['ownerReference apiVersion of the core group', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'n', uid: 'u' }] }, []],
  ];
  for (const [name, m, want] of cases) {
    it(name, () => {
      const o = meta(m);
      if ('name' in m && m.name === undefined) delete o.metadata.name;
      assert.deepEqual(printed(validateObjectMeta(o)), want);
    });
  }

  it('two controller references', () => {
    const refs = [
      { apiVersion: 'v1', kind: 'A', name: 'a', uid: '1', controller: true },
      { apiVersion: 'v1', kind: 'B', name: 'b', uid: '2', controller: true },
    ];
    const errs = validateObjectMeta(meta({ ownerReferences: refs }));
    assert.equal(errs.length, 1);
    assert.equal(errs[0].field, 'metadata.ownerReferences');
    assert.equal(errs[0].message, 'Only one reference can have Controller set to true. Found "true" in references for A/a and B/b');
  });

  // kube's decoder refuses these with a 400; here they must be 4xx field errors, never a crash.
  const wrongTypes: [string, Record<string, unknown>, string][] = [
    ['labels as a string', { labels: 'app=x' }, 'metadata.labels'],
    ['a label value as a number', { labels: { a: 1 } }, 'metadata.labels.a'],
    ['annotations as a number', { annotations: 5 }, 'metadata.annotations'],
    ['finalizers as a string', { finalizers: 'example.com/f' }, 'metadata.finalizers'],
    ['a finalizer as a number', { finalizers: [1] }, 'metadata.finalizers[0]'],
    ['ownerReferences as an object', { ownerReferences: { kind: 'A' } }, 'metadata.ownerReferences'],
    ['an ownerReference as null', { ownerReferences: [null] }, 'metadata.ownerReferences[0]'],
    ['name as a number', { name: 5 }, 'metadata.name'],
  ];
  for (const [name, m, field] of wrongTypes) {
    it(`wrong type: ${name}`, () => {
      const errs = validateObjectMeta(meta(m));
      assert.deepEqual(
        errs.map((e) => [e.type, e.field]),
        [['FieldValueTypeInvalid', field]],
      );
    });
  }
});
