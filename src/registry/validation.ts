// Admission-style checks every write goes through before it is stored: unknown-field pruning
// (fieldValidation), defaulting and schema validation from the kind's JSON Schema (ajv), ObjectMeta
// rules, then the kind's own semantic rules.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError, JSONSchemaProps, ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';
import { isDNS1123Label, isDNS1123Subdomain } from '../apis/v1/common.js';

const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, validateFormats: false, verbose: true });
const compiled = new WeakMap<JSONSchemaProps, ValidateFunction>();

function validatorFor(schema: JSONSchemaProps): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema as object);
    compiled.set(schema, v);
  }
  return v;
}

/** Compiles a kind's validator now (hundreds of ms), so the first write does not stall the event loop. */
export const precompile = (def: ResourceDefinition): void => void validatorFor(def.schema);

/** JSON-pointer-ish ajv path `/spec/include/0/toPath` → kube's `spec.include[0].toPath`. */
export function fieldPath(segments: (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number' || /^\d+$/.test(String(s))) out += `[${s}]`;
    else out += out ? `.${s}` : String(s);
  }
  return out;
}
const pointerSegments = (p: string) => (p ? p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')) : []);

function ajvErrorToFieldError(e: ErrorObject): FieldError {
  const segs = pointerSegments(e.instancePath);
  const field = fieldPath(segs);
  switch (e.keyword) {
    case 'required':
      return { type: 'FieldValueRequired', field: fieldPath([...segs, (e.params as { missingProperty: string }).missingProperty]), message: 'Required value' };
    case 'type': {
      const actual = e.data === null ? 'null' : Array.isArray(e.data) ? 'array' : typeof e.data === 'number' ? (Number.isInteger(e.data) ? 'integer' : 'number') : typeof e.data;
      return { type: 'FieldValueTypeInvalid', field, value: actual, message: `${field} in body must be of type ${(e.params as { type: string }).type}` };
    }
    case 'enum':
      return { type: 'FieldValueNotSupported', field, value: e.data, message: `supported values: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'maxLength':
      return { type: 'FieldValueTooLong', field, value: e.data, message: `may not be more than ${(e.params as { limit: number }).limit} bytes` };
    case 'pattern':
      return { type: 'FieldValueInvalid', field, value: e.data, message: `${field} in body should match '${(e.params as { pattern: string }).pattern}'` };
    default:
      return { type: 'FieldValueInvalid', field, value: typeof e.data === 'object' ? undefined : e.data, message: `${field} in body ${e.message ?? 'is invalid'}` };
  }
}

/** Applies schema defaults in place and returns every schema violation. */
export function defaultAndValidate(def: ResourceDefinition, obj: KubeObject): FieldError[] {
  const validate = validatorFor(def.schema);
  if (validate(obj)) return [];
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const fe = ajvErrorToFieldError(e);
    const k = `${fe.field}|${fe.type}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(fe);
    }
  }
  return out;
}

// ---- unknown fields ----

const S = (properties: Record<string, JSONSchemaProps>): JSONSchemaProps => ({ type: 'object', properties });
const anyMap: JSONSchemaProps = { type: 'object', additionalProperties: { type: 'string' } };
/** The ObjectMeta fields a client may send; anything else under metadata is an unknown field. */
const objectMetaSchema: JSONSchemaProps = S({
  name: { type: 'string' },
  generateName: { type: 'string' },
  namespace: { type: 'string' },
  selfLink: { type: 'string' },
  uid: { type: 'string' },
  resourceVersion: { type: 'string' },
  generation: { type: 'integer' },
  creationTimestamp: { type: 'string', nullable: true },
  deletionTimestamp: { type: 'string', nullable: true },
  deletionGracePeriodSeconds: { type: 'integer' },
  labels: anyMap,
  annotations: anyMap,
  ownerReferences: { type: 'array', items: S({ apiVersion: {}, kind: {}, name: {}, uid: {}, controller: {}, blockOwnerDeletion: {} }) },
  finalizers: { type: 'array', items: { type: 'string' } },
  managedFields: {
    type: 'array',
    items: S({ manager: {}, operation: {}, apiVersion: {}, time: {}, fieldsType: {}, subresource: {}, fieldsV1: { 'x-kubernetes-preserve-unknown-fields': true } }),
  },
});

/**
 * Removes fields the schema does not know (kube's pruning) and nulls in non-nullable fields, in place.
 * Returns the paths of the unknown fields, for fieldValidation=Strict (error) or Warn (warning).
 */
export function pruneUnknownFields(def: ResourceDefinition, obj: KubeObject): string[] {
  const unknown: string[] = [];
  const schema: JSONSchemaProps = { ...def.schema, properties: { ...def.schema.properties, metadata: objectMetaSchema } };
  prune(obj, schema, [], unknown);
  return unknown;
}

function prune(value: unknown, schema: JSONSchemaProps, path: (string | number)[], unknown: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => prune(v, schema.items!, [...path, i], unknown));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const o = value as Record<string, unknown>;
  const props = schema.properties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (!props && !schema.additionalProperties) return; // free-form (preserve-unknown or untyped)
  for (const key of Object.keys(o)) {
    const child = props?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (!child) {
      if (!preserve) {
        unknown.push(fieldPath([...path, key]));
        delete o[key];
      }
      continue;
    }
    if (o[key] === null && !child.nullable && !child['x-kubernetes-preserve-unknown-fields']) {
      delete o[key];
      continue;
    }
    prune(o[key], child, [...path, key], unknown);
  }
}

// ---- ObjectMeta ----

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** Kubernetes' qualified name (`prefix/name`), used by label and annotation keys and finalizers. */
export function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  const errs: string[] = [];
  let name = key;
  if (parts.length === 2) {
    if (!parts[0]) errs.push('prefix part must be non-empty');
    else if (!isDNS1123Subdomain(parts[0])) errs.push(`prefix part ${SUBDOMAIN_MSG}`);
    name = parts[1];
  } else if (parts.length > 2) {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (!name) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  else if (!QUALIFIED_NAME.test(name))
    errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  return errs;
}

export const nameErrors = (name: string): string[] => (isDNS1123Subdomain(name) ? [] : name.length > 253 ? ['must be no more than 253 characters'] : [SUBDOMAIN_MSG]);
export const namespaceErrors = (ns: string): string[] => (isDNS1123Label(ns) ? [] : ns.length > 63 ? ['must be no more than 63 characters'] : [LABEL_MSG]);

const TOTAL_ANNOTATION_BYTES = 256 * 1024;

export function validateObjectMeta(obj: KubeObject): FieldError[] {
  const m = obj.metadata ?? {};
  const errs: FieldError[] = [];
  const bad = (field: string, value: unknown, messages: string[]) => messages.forEach((message) => errs.push({ type: 'FieldValueInvalid', field, value, message }));
  if (!m.name) errs.push({ type: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' });
  else bad('metadata.name', m.name, nameErrors(m.name));
  if (m.namespace) bad('metadata.namespace', m.namespace, namespaceErrors(m.namespace));
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    bad('metadata.labels', k, qualifiedNameErrors(k));
    if (typeof v !== 'string') errs.push({ type: 'FieldValueTypeInvalid', field: `metadata.labels`, value: v, message: 'label values must be strings' });
    else if (v.length > 63) bad('metadata.labels', v, ['must be no more than 63 characters']);
    else if (!LABEL_VALUE.test(v))
      bad('metadata.labels', v, ["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]);
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    bad('metadata.annotations', k.toLowerCase(), qualifiedNameErrors(k.toLowerCase()));
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  }
  if (annotationBytes > TOTAL_ANNOTATION_BYTES) errs.push({ type: 'FieldValueTooLong', field: 'metadata.annotations', message: `must have at most ${TOTAL_ANNOTATION_BYTES} bytes` });
  const finalizers = new Set<string>();
  (m.finalizers ?? []).forEach((f, i) => {
    bad(`metadata.finalizers[${i}]`, f, qualifiedNameErrors(f));
    if (finalizers.has(f)) errs.push({ type: 'FieldValueDuplicate', field: `metadata.finalizers[${i}]`, value: f, message: '' });
    finalizers.add(f);
  });
  (m.ownerReferences ?? []).forEach((r, i) => {
    for (const k of ['apiVersion', 'kind', 'name', 'uid'] as const)
      if (!r[k]) errs.push({ type: 'FieldValueRequired', field: `metadata.ownerReferences[${i}].${k}`, message: `${k} must not be empty` });
  });
  return errs;
}
