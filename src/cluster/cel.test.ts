import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JSONSchemaProps } from '../apis/meta/resource.js';
import { celErrors, celRuleErrors, celWarnings } from './cel.js';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas' },
        { rule: "!has(self.name) || self.name.startsWith('app-')", reason: 'FieldValueForbidden' },
      ],
      properties: {
        minReplicas: { type: 'integer' },
        maxReplicas: { type: 'integer' },
        name: { type: 'string' },
        ratio: { type: 'number', 'x-kubernetes-validations': [{ rule: 'self < 1.5' }] },
        immutable: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'immutable is immutable' }] },
        items: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['key'],
          items: { type: 'object', properties: { key: { type: 'string' }, size: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: 'may only grow' }] } } },
        },
      },
    },
  },
} as unknown as JSONSchemaProps;

test('rules see integers as ints, numbers as doubles, objects as maps; a failed rule names its node and message', () => {
  assert.deepEqual(celErrors(schema, { spec: { minReplicas: 1, maxReplicas: 3, name: 'app-x', ratio: 1.2 } }), []);
  const errs = celErrors(schema, { spec: { minReplicas: 5, maxReplicas: 3, name: 'web', ratio: 2 } });
  assert.deepEqual(
    errs.map((e) => [e.type, e.field, e.message]).sort(),
    [
      ['FieldValueForbidden', 'spec', "failed rule: !has(self.name) || self.name.startsWith('app-')"],
      ['FieldValueInvalid', 'spec', 'minReplicas must not exceed maxReplicas'],
      ['FieldValueInvalid', 'spec.ratio', 'failed rule: self < 1.5'],
    ].sort(),
  );
  assert.equal(errs.find((e) => e.field === 'spec')!.value, 'object');
});

test('transition rules run only on update, against the old value (list-map items matched by key)', () => {
  const obj = { spec: { minReplicas: 1, maxReplicas: 1, immutable: 'a', items: [{ key: 'x', size: 2 }] } };
  assert.deepEqual(celErrors(schema, obj), [], 'a create has no old value');
  assert.deepEqual(celErrors(schema, obj, structuredClone(obj)), []);
  const changed = { spec: { ...obj.spec, immutable: 'b', items: [{ key: 'y', size: 1 }, { key: 'x', size: 1 }] } };
  assert.deepEqual(
    celErrors(schema, changed, obj).map((e) => [e.field, e.message]),
    [
      ['spec.items[1].size', 'may only grow'],
      ['spec.immutable', 'immutable is immutable'],
    ],
  );
});

test('a rule that does not parse refuses the CRD; a function this library lacks is a warning and the rule is skipped', () => {
  const bad = { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a ==' }] } as unknown as JSONSchemaProps;
  const errs = celRuleErrors(bad, 'spec.versions[0].schema.openAPIV3Schema');
  assert.equal(errs.length, 1);
  assert.equal(errs[0].field, 'spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].rule');
  assert.match(errs[0].message, /^compilation failed: /);
  const lacking = { type: 'object', properties: { l: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.isSorted()' }] } } } as unknown as JSONSchemaProps;
  assert.deepEqual(celRuleErrors(lacking, 'root'), []);
  assert.deepEqual(celWarnings(lacking, 'root'), ['root.properties[l].x-kubernetes-validations[0]: the local cluster cannot evaluate isSorted(); this rule is not checked']);
  assert.deepEqual(celErrors(lacking, { l: [3, 1] }), []);
  assert.deepEqual(celWarnings(schema, 'root'), []);
});
