// Admission-style checks every write goes through before it is stored: unknown-field pruning
// (fieldValidation), defaulting and schema validation from the kind's JSON Schema (ajv), ObjectMeta
// rules, then the kind's own semantic rules.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError, JSONSchemaProps, ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';

// optimize: false skips ajv's optimisation passes over the generated code: they took about half of
// compiling the large built-in schemas (a Deployment's, with its PodSpec inlined, is ~370 KB), which
// runs on a kind's first write, while validating one object costs about the same either way.
const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, validateFormats: false, verbose: true, code: { optimize: false } });
const compiled = new WeakMap<JSONSchemaProps, ValidateFunction>();
// An int-or-string node (no `type` of its own) takes an integer or a string, as kube's structural
// schemas do; a built-in Quantity (`format: quantity`) any number too, as its decoder does (`cpu: 0.5`).
ajv.addKeyword({
  keyword: 'x-kubernetes-int-or-string',
  schemaType: 'boolean',
  errors: false,
  validate: (on: boolean, data: unknown, parent?: { format?: string }) =>
    !on || data === null || typeof data === 'string' || (typeof data === 'number' && (Number.isInteger(data) || parent?.format === 'quantity')),
});

/** Marks a schema object that is a named definition of a set registered with registerDefinitions. */
const DEFINITION_NAME = Symbol.for('gitops.definitionName');
const REF_SIBLINGS = Symbol.for('gitops.refSiblings');
const registered = new Map<string, string>(); // definition name → the $id of its set

/**
 * Registers a set of OpenAPI definitions that `$ref` each other (`#/definitions/NAME`), such as the
 * built-in kinds'. A kind whose schema is one of them (marked with its name) is then compiled by
 * reference: each definition once for all kinds (the PodSpec of a Deployment, a Job and a
 * StatefulSet compiles once) instead of inlined into every kind.
 */
export function registerDefinitions(id: string, definitions: Record<string, unknown>): void {
  if (ajv.getSchema(id)) return;
  const text = JSON.stringify(definitions).replaceAll('"#/definitions/', `"${id}#/definitions/`);
  ajv.addSchema({ $id: id, definitions: JSON.parse(text) });
  for (const name of Object.keys(definitions)) registered.set(name, id);
}

function validatorFor(schema: JSONSchemaProps): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    const marks = schema as Record<symbol, unknown>;
    const name = marks[DEFINITION_NAME] as string | undefined;
    const set = name && !marks[REF_SIBLINGS] ? registered.get(name) : undefined;
    v = ajv.compile(set ? { $ref: `${set}#/definitions/${name}` } : (schema as object));
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

const COMPARISONS: Record<string, string> = { '>=': 'greater than or equal to', '>': 'greater than', '<=': 'less than or equal to', '<': 'less than' };

/** One ajv error as kube's CRD validation words it (kube-openapi's messages, apiextensions' field error types). */
function ajvErrorToFieldError(e: ErrorObject): FieldError {
  const segs = pointerSegments(e.instancePath);
  const field = fieldPath(segs);
  const p = e.params as { limit: number; comparison: string };
  switch (e.keyword) {
    case 'required':
      return { type: 'FieldValueRequired', field: fieldPath([...segs, (e.params as { missingProperty: string }).missingProperty]), message: 'Required value' };
    case 'type':
    case 'x-kubernetes-int-or-string': {
      const actual = e.data === null ? 'null' : Array.isArray(e.data) ? 'array' : typeof e.data === 'number' ? (Number.isInteger(e.data) ? 'integer' : 'number') : typeof e.data;
      const want = e.keyword === 'type' ? (e.params as { type: string }).type : 'integer,string';
      return { type: 'FieldValueTypeInvalid', field, value: actual, message: `${field} in body must be of type ${want}: "${actual}"` };
    }
    case 'enum': {
      // kube quotes every allowed value as a string, non-strings in their JSON form
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v)));
      return { type: 'FieldValueNotSupported', field, value: e.data, message: `supported values: ${allowed.join(', ')}` };
    }
    case 'maxLength':
      return { type: 'FieldValueTooLong', field, value: e.data, message: `may not be more than ${p.limit} bytes` };
    case 'minLength':
      return { type: 'FieldValueInvalid', field, value: e.data, message: `${field} in body should be at least ${p.limit} chars long` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { type: 'FieldValueInvalid', field, value: e.data, message: `${field} in body should be ${COMPARISONS[p.comparison]} ${p.limit}` };
    case 'minItems':
      return { type: 'FieldValueInvalid', field, message: `${field} in body should have at least ${p.limit} items` };
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
const str: JSONSchemaProps = { type: 'string' };
const anyMap: JSONSchemaProps = { type: 'object', additionalProperties: str };
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
  ownerReferences: {
    type: 'array',
    items: S({ apiVersion: str, kind: str, name: str, uid: str, controller: { type: 'boolean' }, blockOwnerDeletion: { type: 'boolean' } }),
  },
  finalizers: { type: 'array', items: str },
  managedFields: {
    type: 'array',
    items: S({ manager: str, operation: str, apiVersion: str, time: str, fieldsType: str, subresource: str, fieldsV1: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }),
  },
});
// kube's decoder refuses ObjectMeta fields of the wrong type; checked first so the rules below see sound types.
const META_TYPES = S({ metadata: objectMetaSchema });

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
  if ((!props && !schema.additionalProperties) || schema.additionalProperties === true) return; // free-form
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

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const maxLen = (n: number) => `must be no more than ${n} characters`;

// As kube's validators do, the length and the character rules are reported independently.
export const nameErrors = (name: string): string[] => [
  ...(name.length > 253 ? [maxLen(253)] : []),
  ...(DNS1123_SUBDOMAIN.test(name) ? [] : [SUBDOMAIN_MSG]),
];
export const namespaceErrors = (ns: string): string[] => [...(ns.length > 63 ? [maxLen(63)] : []), ...(DNS1123_LABEL.test(ns) ? [] : [LABEL_MSG])];

/** Kubernetes' qualified name (`prefix/name`), used by label and annotation keys and finalizers. */
export function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) return [`a qualified name ${QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  const errs: string[] = [];
  const name = parts[parts.length - 1];
  if (parts.length === 2) {
    if (!parts[0]) errs.push('prefix part must be non-empty');
    else errs.push(...nameErrors(parts[0]).map((m) => `prefix part ${m}`));
  }
  if (!name) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (!QUALIFIED_NAME.test(name)) errs.push(`name part ${QUALIFIED_NAME_MSG}`);
  return errs;
}

/** kube's NameIsDNSSubdomain with prefix=true: a trailing '-' of generateName is allowed. */
/** kube's ValidatePathSegmentName (RBAC objects: `system:discovery`): anything but `.`, `..`, `/` and `%`. */
export const pathSegmentNameErrors = (name: string): string[] =>
  name === '.' || name === '..' ? [`may not be '${name}'`] : [...['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`)];
/** DNS-1035 label (Services): lowercase alphanumerics and '-', starting with a letter, at most 63. */
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const dns1035LabelErrors = (name: string): string[] => [
  ...(name.length > 63 ? [maxLen(63)] : []),
  ...(DNS1035_LABEL.test(name) ? [] : ["a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]),
];
const NAME_RULES = { subdomain: nameErrors, label: namespaceErrors, 'dns1035-label': dns1035LabelErrors, 'path-segment': pathSegmentNameErrors };
export type NameRule = keyof typeof NAME_RULES;

const generateNameErrors = (g: string, rule: NameRule = 'subdomain'): string[] => NAME_RULES[rule](g.length > 1 && g.endsWith('-') ? `${g.slice(0, -2)}a` : g);

const TOTAL_ANNOTATION_BYTES = 256 * 1024;

export function validateObjectMeta(obj: KubeObject, rule: NameRule = 'subdomain'): FieldError[] {
  const check = validatorFor(META_TYPES);
  if (!check({ metadata: obj.metadata })) return (check.errors ?? []).map(ajvErrorToFieldError);
  const m = obj.metadata ?? {};
  const errs: FieldError[] = [];
  const bad = (field: string, value: unknown, messages: string[]) => messages.forEach((message) => errs.push({ type: 'FieldValueInvalid', field, value, message }));
  if (m.generateName) bad('metadata.generateName', m.generateName, generateNameErrors(m.generateName, rule));
  if (!m.name) errs.push({ type: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' });
  else bad('metadata.name', m.name, NAME_RULES[rule](m.name));
  if (m.namespace) bad('metadata.namespace', m.namespace, namespaceErrors(m.namespace));
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    bad('metadata.labels', k, qualifiedNameErrors(k));
    bad('metadata.labels', v, [...(v.length > 63 ? [maxLen(63)] : []), ...(LABEL_VALUE.test(v) ? [] : [LABEL_VALUE_MSG])]);
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    // Case does not matter in annotation keys; the error shows the key as written.
    bad('metadata.annotations', k, qualifiedNameErrors(k.toLowerCase()));
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (annotationBytes > TOTAL_ANNOTATION_BYTES) errs.push({ type: 'FieldValueTooLong', field: 'metadata.annotations', message: `may not be more than ${TOTAL_ANNOTATION_BYTES} bytes` });
  // kube names the list, not the item, and accepts a finalizer listed twice.
  for (const f of m.finalizers ?? []) bad('metadata.finalizers', f, qualifiedNameErrors(f));
  if (m.finalizers?.includes('orphan') && m.finalizers.includes('foregroundDeletion'))
    bad('metadata.finalizers', m.finalizers, ['finalizer orphan and foregroundDeletion cannot be both set']);
  let controller: string | undefined;
  for (const r of m.ownerReferences ?? []) {
    const [a, b, extra] = (r.apiVersion ?? '').split('/');
    const version = extra === undefined ? (b ?? a) : '';
    if (!version) bad('metadata.ownerReferences.apiVersion', r.apiVersion ?? '', ['version must not be empty']);
    for (const k of ['kind', 'name', 'uid'] as const) if (!r[k]) bad(`metadata.ownerReferences.${k}`, r[k] ?? '', ['must not be empty']);
    if (!r.controller) continue;
    if (controller) bad('metadata.ownerReferences', m.ownerReferences, [`Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${r.kind}/${r.name}`]);
    else controller = `${r.kind}/${r.name}`;
  }
  return errs;
}
