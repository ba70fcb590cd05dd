// What the generic registry and API server need to know about one kind. Each file in src/apis/v1/
// exports one ResourceDefinition; everything else (validation, defaulting, OpenAPI, discovery,
// tables) is derived from it, so a kind is described in exactly one place.

import type { KubeObject } from './types.js';

/** The structural-schema subset of OpenAPI v3 that Kubernetes CRDs use. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  oneOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** A column of `kubectl get` output (CRD additionalPrinterColumns semantics). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** Simple JSONPath like `.status.conditions[?(@.type=="Ready")].status` or `.spec.url`. */
  jsonPath: string;
  description: string;
  /** 0 = always shown; >0 = only with `-o wide`. */
  priority?: number;
  format?: string;
}

/** A field-level problem, reported as one cause of a 422 Invalid. */
export interface FieldError {
  /** Dotted path as Kubernetes prints it: `spec.ref.semver`, `spec.include[0].repository.name`. */
  field: string;
  /** Kubernetes cause reasons: FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueForbidden, FieldValueDuplicate, FieldValueTooLong. */
  type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueForbidden' | 'FieldValueDuplicate' | 'FieldValueTooLong' | 'FieldValueTypeInvalid';
  /** The offending value, when there is one (printed like Kubernetes: `Invalid value: "x": message`). */
  value?: unknown;
  message: string;
}

export interface ResourceDefinition {
  kind: string;            // GitRepository
  listKind: string;        // GitRepositoryList
  plural: string;          // gitrepositories
  singular: string;        // gitrepository
  shortNames: string[];    // ['gitrepo']
  categories: string[];    // ['gitops']
  /** Sources produce artifacts and get the `artifact` subresource. */
  hasArtifact: boolean;
  /**
   * The whole object's schema (apiVersion, kind, metadata as `{type: object}`, spec, status), with a
   * description on every field and `default`s; the single source of validation, defaulting and OpenAPI.
   */
  schema: JSONSchemaProps;
  printerColumns: PrinterColumn[];
  /** Rules a schema cannot state. `old` is set on update. Runs after defaulting and schema validation. */
  validate(obj: KubeObject, old?: KubeObject): FieldError[];
  /** Deprecated or suspicious settings, returned as HTTP Warning headers. */
  warnings(obj: KubeObject): string[];
}
