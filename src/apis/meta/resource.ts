// What the generic registry and API server need to know about one kind. Each file in src/apis/v1/
// exports one ResourceDefinition; everything else (validation, defaulting, OpenAPI, discovery,
// tables) is derived from it, so a kind is described in exactly one place.

import type { KubeObject } from './types.js';
import type { UserInfo } from '../../auth/types.js';

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
  /** Strategic merge patch (built-in kinds only): the key that identifies a list's items… */
  'x-kubernetes-patch-merge-key'?: string;
  /** …and how a list or map is patched: `merge`, `replace`, `retainKeys`, or `merge,retainKeys`. */
  'x-kubernetes-patch-strategy'?: string;
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
  /** A computed cell (built-in kinds print like kube's own printers, e.g. READY `1/3`); jsonPath is then only documentation. */
  value?: (obj: KubeObject) => unknown;
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

/** A subresource that answers a POST with an object it makes (kube's creater subresources, such as a ServiceAccount's `token`). */
export interface SubresourceAction {
  name: string;
  /** The kind it takes and returns (authentication.k8s.io/v1 TokenRequest). */
  kind: { group: string; version: string; kind: string };
  /** The protobuf fields it reads, for clients that send protobuf (kubectl does for built-in kinds): a protobuf.ts MessageSchema. */
  protobuf?: Record<number, unknown>;
  create(namespace: string, name: string, body: Record<string, unknown>, o: { user?: UserInfo; dryRun: boolean }): Promise<KubeObject>;
}

/**
 * A read-only subresource whose answer is computed by code outside the definition (a Kustomization's
 * `build` and `diff`): GET only, authorized as `get` on `<plural>/<name>`. The definition declares it
 * (discovery, OpenAPI, 404 for the undeclared); the handler that computes it is registered with the
 * API server's SubresourceViews (src/apiserver/handlers/views.ts).
 */
export interface SubresourceView {
  name: string;
  /** What the answer is, for OpenAPI. */
  description: string;
  /** The media types the answer comes in (`application/yaml`, `application/json`), for OpenAPI. */
  produces: string[];
}

export interface ResourceDefinition {
  /** API group; '' is the core group (`/api/v1`). */
  group: string;           // gitops.toolkit
  version: string;         // v1
  /** Namespaced objects live under /namespaces/NS/; cluster-scoped ones do not. */
  namespaced: boolean;
  kind: string;            // GitRepository
  listKind: string;        // GitRepositoryList
  plural: string;          // gitrepositories
  singular: string;        // gitrepository
  shortNames: string[];    // ['gitrepo']
  categories: string[];    // ['gitops']
  /** Sources produce artifacts and get the `artifact` subresource. */
  hasArtifact: boolean;
  /** Whether the kind has a `status` subresource (status kept apart from spec writes); true when unset. */
  hasStatus?: boolean;
  /** The verbs served, for discovery; kube's eight REST verbs when unset (reviews serve only create). */
  verbs?: string[];
  /** Accepts strategic merge patch, driven by the schema's patch markers: built-in kinds do, custom resources get 415. */
  strategicMergePatch?: boolean;
  /** The `scale` subresource (autoscaling/v1 Scale), where the replicas live: CRD subresources.scale's fields. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /**
   * The whole object's schema (apiVersion, kind, metadata as `{type: object}`, spec, status), with a
   * description on every field and `default`s; the single source of validation, defaulting and OpenAPI.
   */
  schema: JSONSchemaProps;
  printerColumns: PrinterColumn[];
  /** How metadata.name is checked (kube's per-kind name validation): a DNS subdomain when unset. */
  nameRule?: 'subdomain' | 'label' | 'dns1035-label' | 'path-segment';
  /** Subresources served by code of their own (create only). */
  actions?: SubresourceAction[];
  /** Read-only subresources served by code registered with the API server (get only). */
  views?: SubresourceView[];
  /**
   * A PUT without metadata.resourceVersion updates whatever is stored (kube's AllowUnconditionalUpdate:
   * most built-in kinds; helm's release Secrets rely on it) instead of being refused; false when unset,
   * as for custom resources.
   */
  unconditionalUpdate?: boolean;
  /** Whether `metadata.generation` is kept (set at 1, bumped on a spec change); true when unset. kube's ConfigMaps, Services and Namespaces have none. */
  generation?: boolean;
  /** A body without apiVersion or kind gets the URL's (kube's typed decoding of built-in kinds; custom resources must name them). */
  defaultTypeMeta?: boolean;
  /** Field selector labels besides metadata.name/namespace, each to the dotted path it reads (`involvedObject.name`, `status.phase`). */
  selectableFields?: Record<string, string>;
  /** An annotation change bumps the generation too (kube's Deployments: their annotations are copied to their ReplicaSets). */
  annotationsBumpGeneration?: boolean;
  /** The kind's PrepareForCreate, after the generic one (system fields set): kube's per-kind strategy (a Service's clusterIP, a Secret's stringData). */
  prepareForCreate?(obj: KubeObject): void;
  /** The kind's PrepareForUpdate, after the generic one; `subresource` is set for /status writes. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, subresource?: 'status'): void;
  /** Deletion is held while this is true, like finalizers (a Namespace's `spec.finalizers`); `terminating` marks the held object (its phase). */
  deletion?: { holds(obj: KubeObject): boolean; terminating?(obj: KubeObject): void };
  /** Rules a schema cannot state. `old` is set on update. Runs after defaulting and schema validation. */
  validate(obj: KubeObject, old?: KubeObject): FieldError[];
  /** Deprecated or suspicious settings, returned as HTTP Warning headers. */
  warnings(obj: KubeObject): string[];
}

/** `gitops.toolkit/v1`, or `v1` for the core group. */
export const apiVersionOf = (def: Pick<ResourceDefinition, 'group' | 'version'>) => (def.group ? `${def.group}/${def.version}` : def.version);

/** The URL prefix a group version is served under: `/apis/gitops.toolkit/v1`, `/api/v1`. */
export const groupVersionPath = (def: Pick<ResourceDefinition, 'group' | 'version'>) => (def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`);

/** The key of a resource among all served ones: `gitops.toolkit/v1/gitrepositories`. */
export const resourceKey = (group: string, version: string, plural: string) => `${group}/${version}/${plural}`;

/** Definitions grouped by group version, in the order they came: what discovery and OpenAPI publish. */
export function groupVersionsOf(defs: ResourceDefinition[]): { group: string; version: string; defs: ResourceDefinition[] }[] {
  const out: { group: string; version: string; defs: ResourceDefinition[] }[] = [];
  for (const def of defs) {
    let gv = out.find((g) => g.group === def.group && g.version === def.version);
    if (!gv) out.push((gv = { group: def.group, version: def.version, defs: [] }));
    gv.defs.push(def);
  }
  return out;
}
