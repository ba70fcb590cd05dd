// Test helpers shared by the kinds' tests: walk a schema, require descriptions, compile with ajv the
// way the admission chain does, and build objects of a kind.

import assert from 'node:assert/strict';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FieldError, JSONSchemaProps, ResourceDefinition } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { API_VERSION } from './common.js';

/**
 * Visits every named property at every depth, depth first. Paths are dotted, `[]` marks array items
 * and `{}` map values: `spec.include[].repository.name`, `status.artifact.metadata{}`.
 */
export function walkSchema(schema: JSONSchemaProps, visit: (path: string, s: JSONSchemaProps) => void, path = ''): void {
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const p = path ? `${path}.${name}` : name;
    visit(p, prop);
    walkSchema(prop, visit, p);
  }
  if (schema.items) walkSchema(schema.items, visit, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') walkSchema(schema.additionalProperties, visit, `${path}{}`);
  for (const sub of [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) walkSchema(sub, visit, path);
}

/** Fails listing every property path that lacks a non-empty description. */
export function assertDescribed(schema: JSONSchemaProps): void {
  const missing: string[] = [];
  walkSchema(schema, (path, s) => {
    if (typeof s.description !== 'string' || s.description.trim() === '') missing.push(path);
  });
  assert.deepEqual(missing, [], `properties without a description: ${missing.join(', ')}`);
}

/**
 * An ajv validator configured like the server's: all errors, defaults applied in place. Formats are
 * not checked (as in src/registry/validation.ts), which also keeps ajv quiet about `int64`.
 */
export function compile(schema: JSONSchemaProps): ValidateFunction {
  return new Ajv({ strict: false, allErrors: true, useDefaults: true, validateFormats: false }).compile(schema);
}

/**
 * Fails unless every printer column's simple `.a.b` or `.a.b[?(...)].c` JSONPath exists in the schema
 * (metadata is left to ObjectMeta, which the kind schemas do not spell out).
 */
export function assertColumnsResolve(def: ResourceDefinition): void {
  for (const c of def.printerColumns.filter((c) => !c.jsonPath.startsWith('.metadata.'))) {
    let s: JSONSchemaProps | undefined = def.schema;
    for (const part of c.jsonPath.replace(/\[\?\(.*?\)\]/g, '[]').split('.').slice(1)) {
      const [name, arrayMark] = [part.replace('[]', ''), part.endsWith('[]')];
      s = s?.properties?.[name];
      if (arrayMark) s = s?.items;
    }
    assert.ok(s, `printer column ${c.name}: ${c.jsonPath} is not in the ${def.kind} schema`);
  }
}

/** An object of the kind in namespace `default`. */
export function object(def: ResourceDefinition, spec: Record<string, unknown>, name = 'podinfo'): KubeObject {
  return { apiVersion: API_VERSION, kind: def.kind, metadata: { name, namespace: 'default' }, spec };
}

/** `field: type` of each error, for compact assertions. */
export const fieldsOf = (errors: FieldError[]) => errors.map((e) => `${e.field}: ${e.type}`);
