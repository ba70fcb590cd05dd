// CustomResourceDefinitions (apiextensions.k8s.io/v1) as the generic registry serves them: a CRD is
// checked as kube-apiserver checks it (names, scope, versions, one storage version, structural schemas)
// and becomes one ResourceDefinition per served version, with its schema, printer columns and status
// and scale subresources. What serves them, and turns the CRD Established, is the local cluster's
// CRD controller; this file is the translation.

import type { FieldError, JSONSchemaProps, PrinterColumn, ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';
import { celErrors, celRuleErrors, celWarnings } from './cel.js';

interface CRDNames {
  plural?: string;
  singular?: string;
  kind?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

interface CRDVersion {
  name?: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: { status?: object; scale?: { specReplicasPath?: string; statusReplicasPath?: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: { name?: string; type?: string; jsonPath?: string; description?: string; priority?: number; format?: string }[];
  selectableFields?: { jsonPath?: string }[];
}

export interface CRDSpec {
  group?: string;
  names?: CRDNames;
  scope?: string;
  versions?: CRDVersion[];
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;
const VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;
const COLUMN_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'date']);
/** Path segments that would reach an object's prototype. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
/** Keywords a CRD schema may not use (kube: ref, definitions, dependencies, additionalItems, patternProperties…). */
const FORBIDDEN_KEYWORDS = ['$ref', '$schema', 'definitions', 'dependencies', 'additionalItems', 'patternProperties', 'id'];

const err = (field: string, message: string, type: FieldError['type'] = 'FieldValueInvalid', value?: unknown): FieldError => ({ field, type, message, ...(value !== undefined ? { value } : {}) });

/**
 * Why a schema is not structural, as kube-apiserver words the rules: every node has a type (unless
 * it is x-kubernetes-int-or-string or preserves unknown fields), arrays have items, an object has
 * properties or additionalProperties but not both, no additionalProperties: false, and the root's
 * metadata may only restrict name and generateName.
 */
export function structuralErrors(schema: JSONSchemaProps | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!schema || typeof schema !== 'object') return [err(path, 'must be an object', 'FieldValueRequired')];
  if (schema.type !== 'object') errors.push(err(`${path}.type`, 'must be object at the root', 'FieldValueInvalid', schema.type ?? ''));
  const stack: [JSONSchemaProps, string, number][] = [[schema, path, 0]];
  while (stack.length) {
    const [s, at, depth] = stack.pop()!;
    if (depth > 64) {
      errors.push(err(at, 'the schema nests deeper than 64 levels'));
      continue;
    }
    for (const k of FORBIDDEN_KEYWORDS) if (k in s) errors.push(err(`${at}.${k}`, `${k} is not allowed in a CustomResourceDefinition schema`, 'FieldValueForbidden'));
    const intOrString = s['x-kubernetes-int-or-string'] === true;
    const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
    if (!s.type && !intOrString && !preserve) errors.push(err(`${at}.type`, 'must not be empty for specified object fields', 'FieldValueRequired'));
    if (intOrString && s.type) errors.push(err(`${at}.type`, 'must be empty when x-kubernetes-int-or-string is true', 'FieldValueForbidden'));
    if (s.type === 'array' && !s.items) errors.push(err(`${at}.items`, 'must be specified', 'FieldValueRequired'));
    if (s.properties && s.additionalProperties !== undefined) errors.push(err(`${at}.additionalProperties`, 'additionalProperties and properties are mutual exclusive', 'FieldValueForbidden'));
    if (s.additionalProperties === false) errors.push(err(`${at}.additionalProperties`, 'must not be false', 'FieldValueForbidden'));
    for (const [name, p] of Object.entries(s.properties ?? {})) stack.push([p, `${at}.properties[${name}]`, depth + 1]);
    if (s.items && typeof s.items === 'object') stack.push([s.items, `${at}.items`, depth + 1]);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') stack.push([s.additionalProperties, `${at}.additionalProperties`, depth + 1]);
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) (s[key] ?? []).forEach((x, i) => stack.push([x, `${at}.${key}[${i}]`, depth + 1]));
  }
  const meta = schema.properties?.metadata;
  if (meta) {
    for (const name of Object.keys(meta.properties ?? {}))
      if (name !== 'name' && name !== 'generateName') errors.push(err(`${path}.properties[metadata].properties[${name}]`, 'must not be specified: only name and generateName may be restricted', 'FieldValueForbidden'));
  }
  return errors;
}

/** What kube-apiserver checks of a CRD before it accepts it; empty when it may be served. */
export function crdErrors(crd: KubeObject): FieldError[] {
  const spec = (crd.spec ?? {}) as CRDSpec;
  const names = spec.names ?? {};
  const errors: FieldError[] = [];
  if (!spec.group || !DNS_SUBDOMAIN.test(spec.group) || !spec.group.includes('.')) errors.push(err('spec.group', 'should be a domain with at least one dot', 'FieldValueInvalid', spec.group ?? ''));
  if (!names.plural || !DNS_LABEL.test(names.plural)) errors.push(err('spec.names.plural', 'a lowercase RFC 1123 label', 'FieldValueInvalid', names.plural ?? ''));
  if (names.singular && !DNS_LABEL.test(names.singular)) errors.push(err('spec.names.singular', 'a lowercase RFC 1123 label', 'FieldValueInvalid', names.singular));
  if (!names.kind || !KIND.test(names.kind)) errors.push(err('spec.names.kind', 'must be a CamelCase name starting with an upper-case letter', 'FieldValueInvalid', names.kind ?? ''));
  for (const [i, n] of (names.shortNames ?? []).entries()) if (!DNS_LABEL.test(n)) errors.push(err(`spec.names.shortNames[${i}]`, 'a lowercase RFC 1123 label', 'FieldValueInvalid', n));
  if (crd.metadata.name !== `${names.plural}.${spec.group}`) errors.push(err('metadata.name', `must be spec.names.plural+"."+spec.group`, 'FieldValueInvalid', crd.metadata.name));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') errors.push(err('spec.scope', 'supported values: "Cluster", "Namespaced"', 'FieldValueNotSupported', spec.scope ?? ''));
  const versions = spec.versions ?? [];
  if (!versions.length) errors.push(err('spec.versions', 'must have exactly one version marked as storage version', 'FieldValueInvalid'));
  else if (versions.filter((v) => v.storage).length !== 1) errors.push(err('spec.versions', 'must have exactly one version marked as storage version', 'FieldValueInvalid'));
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (!v.name || !VERSION.test(v.name)) errors.push(err(`${at}.name`, 'a version such as v1, v1beta2 or v2alpha1', 'FieldValueInvalid', v.name ?? ''));
    else if (seen.has(v.name)) errors.push(err(`${at}.name`, 'must be unique', 'FieldValueDuplicate', v.name));
    seen.add(v.name ?? '');
    if (!v.schema?.openAPIV3Schema) errors.push(err(`${at}.schema.openAPIV3Schema`, 'schemas are required', 'FieldValueRequired'));
    else errors.push(...structuralErrors(v.schema.openAPIV3Schema, `${at}.schema.openAPIV3Schema`), ...celRuleErrors(v.schema.openAPIV3Schema, `${at}.schema.openAPIV3Schema`));
    (v.additionalPrinterColumns ?? []).forEach((c, j) => {
      if (!c.name) errors.push(err(`${at}.additionalPrinterColumns[${j}].name`, 'must not be empty', 'FieldValueRequired'));
      if (!c.type || !COLUMN_TYPES.has(c.type)) errors.push(err(`${at}.additionalPrinterColumns[${j}].type`, 'supported values: "boolean", "date", "integer", "number", "string"', 'FieldValueNotSupported', c.type ?? ''));
      if (!c.jsonPath) errors.push(err(`${at}.additionalPrinterColumns[${j}].jsonPath`, 'must not be empty', 'FieldValueRequired'));
    });
    const scale = v.subresources?.scale;
    if (scale) {
      // kube: a simple JSON path under .spec (or .status), field names only, no array index.
      const check = (field: string, path: string | undefined, under: string, required: boolean) => {
        if (path === undefined || path === '') {
          if (required) errors.push(err(`${at}.subresources.scale.${field}`, 'must be specified', 'FieldValueRequired'));
          return;
        }
        const segs = path.split('.');
        if (segs[0] !== '' || segs[1] !== under || segs.length < 3 || segs.slice(1).some((x) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(x) || FORBIDDEN_SEGMENTS.has(x)))
          errors.push(err(`${at}.subresources.scale.${field}`, `should be a json path under .${under}`, 'FieldValueInvalid', path));
      };
      check('specReplicasPath', scale.specReplicasPath, 'spec', true);
      check('statusReplicasPath', scale.statusReplicasPath, 'status', true);
      check('labelSelectorPath', scale.labelSelectorPath, scale.labelSelectorPath?.startsWith('.spec.') ? 'spec' : 'status', false);
    }
  });
  return errors;
}

/** The schema kube serves for a custom resource: the CRD's, with apiVersion, kind and metadata as every object has them. */
function servedSchema(schema: JSONSchemaProps): JSONSchemaProps {
  return {
    ...schema,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      ...schema.properties,
      metadata: { type: 'object' },
    },
  };
}

/** What a CRD's writer is warned of: validation rules this cluster cannot evaluate. */
export function crdWarnings(crd: KubeObject): string[] {
  return ((crd.spec as CRDSpec | undefined)?.versions ?? []).flatMap((v, i) => (v.schema?.openAPIV3Schema ? celWarnings(v.schema.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`) : []));
}

/** One ResourceDefinition per served version of a CRD that crdErrors accepts. */
export function definitionsFromCRD(crd: KubeObject): ResourceDefinition[] {
  const spec = crd.spec as CRDSpec;
  const names = spec.names!;
  const kind = names.kind!;
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => {
      const scale = v.subresources?.scale;
      const columns: PrinterColumn[] = (v.additionalPrinterColumns ?? []).map((c) => ({
        name: c.name!,
        type: c.type as PrinterColumn['type'],
        jsonPath: c.jsonPath!,
        description: c.description ?? '',
        ...(c.priority ? { priority: c.priority } : {}),
        ...(c.format ? { format: c.format } : {}),
      }));
      return {
        group: spec.group!,
        version: v.name!,
        namespaced: spec.scope === 'Namespaced',
        kind,
        listKind: names.listKind ?? `${kind}List`,
        plural: names.plural!,
        singular: names.singular ?? kind.toLowerCase(),
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        hasArtifact: false,
        hasStatus: !!v.subresources?.status,
        ...(scale ? { scale: { specReplicasPath: scale.specReplicasPath!, statusReplicasPath: scale.statusReplicasPath!, ...(scale.labelSelectorPath ? { labelSelectorPath: scale.labelSelectorPath } : {}) } } : {}),
        schema: servedSchema(v.schema!.openAPIV3Schema!),
        // selectableFields: `.spec.color` is the field label `spec.color`.
        ...(v.selectableFields?.length ? { selectableFields: Object.fromEntries(v.selectableFields.filter((f) => f.jsonPath?.startsWith('.')).map((f) => [f.jsonPath!.slice(1), f.jsonPath!.slice(1)])) } : {}),
        // kube's default for a CRD without columns: the age of the object.
        printerColumns: columns.length ? columns : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' }],
        // The CRD's CEL rules, on the object as stored (after defaulting): `old` on an update.
        validate: (obj, old) => celErrors(v.schema!.openAPIV3Schema!, obj, old),
        warnings: () => [],
      } satisfies ResourceDefinition;
    });
}
