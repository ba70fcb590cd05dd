// Kustomization: Flux's kustomize.toolkit.fluxcd.io/v1 kind, served as gitops.toolkit/v1. It builds a
// directory of a source's Artifact with kustomize and applies the result, pruning and health-checking
// what it applied. The kustomize building blocks (patches, images, selectors, kubeconfig, dependencies)
// are exported for HelmRelease, whose post-renderers and references are the same types.

import yaml from 'js-yaml';
import type { FieldError, JSONSchemaProps, PrinterColumn, ResourceDefinition } from '../meta/resource.js';
import type { Condition, KubeObject } from '../meta/types.js';
import {
  API_VERSION,
  arr,
  bool,
  checkAtMostOne,
  duration,
  int,
  invalid,
  isDNS1123Label,
  isDNS1123Subdomain,
  localObjectReference,
  notSupported,
  obj,
  objectSchema,
  parseGoDuration,
  readyColumns,
  reconcileStatusFields,
  required,
  secretKeyReference,
  str,
  stringMap,
  resourceNames,
} from './common.js';
import { checkPositiveDuration, checkRefName, checkSpec, type LocalObjectReference } from './source.js';

// ---- types ----

export interface CrossNamespaceSourceReference {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface DependencyReference {
  name: string;
  namespace?: string;
  readyExpr?: string;
  /** Beyond Flux: the kind of the dependency (default: the dependent's own kind). */
  kind?: DependencyKind;
}

export interface KustomizeSelector {
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  annotationSelector?: string;
  labelSelector?: string;
}

export interface KustomizePatch {
  patch: string;
  target?: KustomizeSelector;
}

export interface KustomizeImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

export interface IgnoreRule {
  paths: string[];
  target?: KustomizeSelector;
}

export interface CustomHealthCheck {
  apiVersion: string;
  kind?: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

export interface KubeConfigReference {
  configMapRef?: LocalObjectReference;
  secretRef?: { name: string; key?: string };
}

export interface CommonMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface NamespacedObjectKindReference {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface SubstituteReference {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  optional?: boolean;
}

export interface KustomizationSpec {
  sourceRef: CrossNamespaceSourceReference;
  path?: string;
  interval: string;
  retryInterval?: string;
  timeout?: string;
  prune: boolean;
  deletionPolicy?: 'MirrorPrune' | 'Delete' | 'WaitForTermination' | 'Orphan';
  wait?: boolean;
  force?: boolean;
  suspend?: boolean;
  dependsOn?: DependencyReference[];
  decryption?: { provider: 'sops'; secretRef?: LocalObjectReference; serviceAccountName?: string };
  healthChecks?: NamespacedObjectKindReference[];
  healthCheckExprs?: CustomHealthCheck[];
  ignore?: IgnoreRule[];
  images?: KustomizeImage[];
  patches?: KustomizePatch[];
  components?: string[];
  ignoreMissingComponents?: boolean;
  buildMetadata?: ('originAnnotations' | 'transformerAnnotations')[];
  postBuild?: {
    substitute?: Record<string, string>;
    substituteFrom?: SubstituteReference[];
    substituteStrategy?: 'WithVariables' | 'Always';
  };
  serviceAccountName?: string;
  kubeConfig?: KubeConfigReference;
  commonMetadata?: CommonMetadata;
  namePrefix?: string;
  nameSuffix?: string;
  targetNamespace?: string;
}

/** One applied object: `<namespace>_<name>_<group>_<kind>` and its API version. */
export interface ResourceRef {
  id: string;
  v: string;
}

export interface ResourceInventory {
  entries: ResourceRef[];
}

/** One entry of Flux's reconciliation history (meta.History). */
export interface ReconcileSnapshot {
  digest: string;
  firstReconciled: string;
  lastReconciled: string;
  lastReconciledDuration: string;
  lastReconciledStatus: string;
  totalReconciliations: number;
  metadata?: Record<string, string>;
}

export interface KustomizationStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastHandledReconcileAt?: string;
  lastAppliedRevision?: string;
  lastAppliedOriginRevision?: string;
  lastAttemptedRevision?: string;
  inventory?: ResourceInventory;
  history?: ReconcileSnapshot[];
}

export type Kustomization = Omit<KubeObject, 'spec' | 'status'> & { spec: KustomizationSpec; status?: KustomizationStatus };

// ---- schema building blocks shared with HelmRelease ----

export const selectorSchema = (description: string): JSONSchemaProps =>
  obj(description, {
    group: str('API group of the objects to select.'),
    version: str('API version of the objects to select.'),
    kind: str('Kind of the objects to select.'),
    namespace: str('Namespace of the objects to select.'),
    name: str('Name of the objects to select.'),
    labelSelector: str('Label selector expression (as in `kubectl -l`) the objects’ labels must match.'),
    annotationSelector: str('Label selector expression matched against the objects’ annotations instead of their labels.'),
  });

export const patchesSchema = (description: string): JSONSchemaProps =>
  arr(
    description,
    obj(
      'A patch and the objects it applies to.',
      {
        patch: str('Inline strategic merge patch (a YAML object) or JSON6902 patch (a YAML list of operations).'),
        target: selectorSchema('Objects the patch applies to; without it a strategic merge patch applies to the object it names by kind and metadata.name.'),
      },
      ['patch'],
    ),
  );

export const imagesSchema = (description: string): JSONSchemaProps =>
  arr(
    description,
    obj(
      'Replaces the name, tag or digest of every use of one image.',
      {
        name: str('Image name to match, without tag or digest.'),
        newName: str('Image name to put in its place.'),
        newTag: str('Tag to put in place of the original one.'),
        digest: str('Digest to put in place of the original tag; newTag is ignored when it is set.'),
      },
      ['name'],
    ),
  );

export const ignoreRulesSchema = (description: string, scope: string): JSONSchemaProps =>
  arr(
    description,
    obj(
      'Fields that drift detection leaves alone.',
      {
        paths: arr('JSON Pointers (RFC 6901) of the fields to leave alone, for example /spec/replicas.', str('A JSON Pointer.')),
        target: selectorSchema(`Objects the rule applies to; without it the paths are ignored on every object of the ${scope}.`),
      },
      ['paths'],
    ),
  );

export const healthCheckExprsSchema = (description: string, kindRequired: boolean): JSONSchemaProps =>
  arr(
    description,
    obj(
      'CEL expressions that compute the health of one kind of custom resource.',
      {
        apiVersion: str('API version of the custom resource.'),
        kind: str('Kind of the custom resource.'),
        current: str('CEL expression that is true once the object has reached its desired state.'),
        inProgress: str('CEL expression that is true while the object is still progressing towards its desired state.'),
        failed: str('CEL expression that is true when the object has failed to reach its desired state.'),
      },
      kindRequired ? ['apiVersion', 'kind', 'current'] : ['apiVersion', 'current'],
    ),
  );

export const kubeConfigSchema = (kind: string): JSONSchemaProps =>
  obj(
    `Kubeconfig for applying the ${kind} to a remote cluster instead of this one. Combined with serviceAccountName, the controller impersonates that service account on the remote cluster. Exactly one of secretRef or configMapRef.`,
    {
      secretRef: secretKeyReference("Secret in the object's namespace holding a self-contained kubeconfig under key (default `value`). For the generic provider only."),
      configMapRef: localObjectReference(
        "ConfigMap in the object's namespace describing a cloud-provider cluster to authenticate to with workload identity: keys provider (aws, azure, gcp or generic), cluster, address, ca.crt, audiences and serviceAccountName.",
      ),
    },
  );

export const commonMetadataSchema = (description: string): JSONSchemaProps =>
  obj(description, {
    labels: stringMap('Labels set on every object, overriding labels with the same key.'),
    annotations: stringMap('Annotations set on every object, overriding annotations with the same key.'),
  });

/** The kinds a dependsOn entry may name (all served by this API, ready by their Ready condition). */
export const DEPENDENCY_KINDS = ['Kustomization', 'HelmRelease', 'GitRepository', 'OCIRepository', 'HelmRepository', 'HelmChart', 'Bucket'] as const;
export type DependencyKind = (typeof DEPENDENCY_KINDS)[number];

export const dependsOnSchema = (kind: string): JSONSchemaProps =>
  arr(
    `${kind}s that must be ready before this one is reconciled.`,
    obj(
      `A ${kind} this one depends on.`,
      {
        name: str(`Name of the ${kind}.`),
        namespace: str(`Namespace of the ${kind}; defaults to this object's namespace.`),
        readyExpr: str(
          'CEL expression over `dep` (the dependency) and `self` that decides whether the dependency is ready, replacing the built-in Ready condition check.',
        ),
        kind: str(`Kind of the dependency, an object of this API group (beyond Flux, which only has ${kind}s here); defaults to ${kind}.`, { enum: [...DEPENDENCY_KINDS] }),
      },
      ['name'],
    ),
  );

export const inventorySchema = (kind: string): JSONSchemaProps =>
  obj(
    `The objects the ${kind} applied, for pruning and health checks.`,
    {
      entries: arr(
        'The applied objects.',
        obj(
          'One applied object.',
          {
            id: str("The object's identity as `<namespace>_<name>_<group>_<kind>`."),
            v: str("API version of the object's kind."),
          },
          ['id', 'v'],
        ),
      ),
    },
    ['entries'],
  );

/** The `status` of an applier: reconcile fields plus the kind's own, defaulted like Flux's. */
export const applierStatusSchema = (kind: string, fields: Record<string, JSONSchemaProps>): JSONSchemaProps =>
  obj(`The observed state of the ${kind}, written by its reconciler.`, { ...reconcileStatusFields(), ...fields }, undefined, {
    // Flux defaults the status so a never-reconciled object reads observedGeneration -1.
    default: { observedGeneration: -1 },
  });

// ---- the schema ----

const SOURCE_KINDS_FLUX = ['OCIRepository', 'GitRepository', 'Bucket', 'ExternalArtifact'];
/** The kinds a Kustomization can read from that this server serves (Flux also has ExternalArtifact). */
export const SOURCE_KINDS = ['GitRepository', 'OCIRepository', 'Bucket'];

const spec = obj(
  'The desired state: which source path to build, how to transform the result and how to apply it.',
  {
    sourceRef: obj(
      'The source whose Artifact holds the manifests.',
      {
        apiVersion: str('API version of the source; sources are always looked up in gitops.toolkit/v1.'),
        kind: str('Kind of the source.', { enum: SOURCE_KINDS_FLUX }),
        name: str('Name of the source.'),
        namespace: str("Namespace of the source; defaults to the Kustomization's namespace."),
      },
      ['kind', 'name'],
    ),
    path: str(
      'Directory in the Artifact holding a kustomization.yaml, or plain manifests for which one is generated. Defaults to the root of the Artifact.',
    ),
    interval: duration('How often to rebuild and re-apply, correcting drift. Approximate: reconciles are spread with jitter.'),
    retryInterval: duration('How soon to retry after a failed reconciliation; defaults to interval.'),
    timeout: duration('Time limit for building, applying and health checking; defaults to interval.'),
    prune: bool('Delete objects that were applied before but are no longer in the build.'),
    deletionPolicy: str(
      'What happens to the applied objects when the Kustomization is deleted: MirrorPrune (delete them if prune is true, else keep them; the default), Delete, WaitForTermination (delete and wait until they are gone) or Orphan.',
      { enum: ['MirrorPrune', 'Delete', 'WaitForTermination', 'Orphan'] },
    ),
    wait: bool('Wait for every applied object to become ready; healthChecks is then ignored.'),
    force: bool('Delete and recreate objects whose update fails on an immutable field.', { default: false }),
    suspend: bool('Stop reconciling until set back to false; a reconcile already running finishes.'),
    dependsOn: dependsOnSchema('Kustomization'),
    decryption: obj(
      'Decrypt SOPS-encrypted Secrets in the build before applying them.',
      {
        provider: str('Decryption engine.', { enum: ['sops'] }),
        secretRef: localObjectReference(
          'Secret with the private keys (age, OpenPGP) or cloud KMS credentials; its static credentials take precedence over serviceAccountName.',
        ),
        serviceAccountName: str('Service account whose workload identity authenticates to cloud KMS services.'),
      },
      ['provider'],
    ),
    healthChecks: arr(
      'Objects whose readiness decides whether the Kustomization is ready.',
      obj(
        'An object to health check.',
        {
          apiVersion: str("API version of the object; defaults to the cluster's preferred version of the kind."),
          kind: str('Kind of the object.'),
          name: str('Name of the object.'),
          namespace: str('Namespace of the object, for namespaced kinds.'),
        },
        ['kind', 'name'],
      ),
    ),
    healthCheckExprs: healthCheckExprsSchema(
      'Custom health rules for kinds whose readiness kstatus cannot judge; used only when wait or healthChecks is set.',
      false,
    ),
    ignore: ignoreRulesSchema('Fields that drift detection and apply leave alone on the applied objects.', 'Kustomization'),
    images: imagesSchema('Image name, tag and digest overrides, like the images field of kustomization.yaml.'),
    patches: patchesSchema('Strategic merge and JSON6902 patches applied to the build, selected by target.'),
    components: arr('Paths of kustomize Components to include, relative to path.', str('A Component path.')),
    ignoreMissingComponents: bool('Leave out components whose path does not exist in the Artifact instead of failing.'),
    buildMetadata: arr(
      'Build metadata kustomize adds to the built objects as annotations.',
      str('originAnnotations (where each object came from) or transformerAnnotations (which transformers changed it).', {
        enum: ['originAnnotations', 'transformerAnnotations'],
      }),
    ),
    postBuild: obj('Variable substitution on the built manifests.', {
      substitute: stringMap('Variables and their values: ${VAR}, ${VAR:=default} and bash-style string operations are substituted.'),
      substituteFrom: arr(
        'ConfigMaps and Secrets whose data keys are variables to substitute; later entries win, substitute wins over all.',
        obj(
          'A ConfigMap or Secret holding variables.',
          {
            kind: str('Kind of the object.', { enum: ['Secret', 'ConfigMap'] }),
            name: str("Name of the object, in the Kustomization's namespace.", { minLength: 1, maxLength: 253 }),
            optional: bool('Carry on without its variables when the object does not exist.', { default: false }),
          },
          ['kind', 'name'],
        ),
      ),
      substituteStrategy: str(
        'WithVariables (the default) substitutes only when at least one variable is defined; Always substitutes even with none, applying defaults.',
        { enum: ['WithVariables', 'Always'] },
      ),
    }),
    serviceAccountName: str('Service account to impersonate when applying, limiting the Kustomization to its permissions.'),
    kubeConfig: kubeConfigSchema('Kustomization'),
    commonMetadata: commonMetadataSchema('Labels and annotations set on every applied object.'),
    namePrefix: str('Prefix added to the names of all objects.', { minLength: 1, maxLength: 200 }),
    nameSuffix: str('Suffix added to the names of all objects.', { minLength: 1, maxLength: 200 }),
    targetNamespace: str('Namespace set on every namespaced object, overriding the one in the manifests.', { minLength: 1, maxLength: 63 }),
  },
  ['interval', 'prune', 'sourceRef'],
);

const status = applierStatusSchema('Kustomization', {
  lastAppliedRevision: str('Revision of the source Artifact that was last applied successfully.'),
  lastAppliedOriginRevision: str('Origin revision (for OCI, the org.opencontainers.image.revision annotation) of the last applied Artifact.'),
  lastAttemptedRevision: str('Revision of the source Artifact of the last reconciliation attempt.'),
  inventory: inventorySchema('Kustomization'),
  history: arr(
    'The latest reconciliations, most recent first: the digest of what was applied, when and with which result.',
    obj(
      'Reconciliations of one set of objects.',
      {
        digest: str('Digest `<algo>:<hex>` of the applied objects.'),
        firstReconciled: str('When this set was first applied.', { format: 'date-time' }),
        lastReconciled: str('When this set was last reconciled.', { format: 'date-time' }),
        lastReconciledDuration: str('How long the last reconciliation took.'),
        lastReconciledStatus: str('Result of the last reconciliation.'),
        totalReconciliations: int('How many times this set was reconciled.', { format: 'int64' }),
        metadata: stringMap('More information about the reconciliation, such as the source revision.'),
      },
      ['digest', 'firstReconciled', 'lastReconciled', 'lastReconciledDuration', 'lastReconciledStatus', 'totalReconciliations'],
    ),
  ),
});

// ---- checks shared with HelmRelease ----

export function checkNamespace(errors: FieldError[], field: string, value: unknown): void {
  if (typeof value === 'string' && !isDNS1123Label(value)) {
    errors.push(invalid(field, value, "must be a lowercase RFC 1123 label of at most 63 characters: lowercase alphanumerics or '-', starting and ending with an alphanumeric"));
  }
}

/** A reference to a kind this server serves, with a valid name and namespace. */
export function checkKindReference(errors: FieldError[], base: string, ref: { kind?: string; name?: string; namespace?: string } | undefined, kinds: string[]): void {
  if (!ref) return;
  if (ref.kind === undefined) errors.push(required(`${base}.kind`));
  else if (!kinds.includes(ref.kind)) errors.push(notSupported(`${base}.kind`, ref.kind, kinds));
  checkRefName(errors, `${base}.name`, ref.name);
  checkNamespace(errors, `${base}.namespace`, ref.namespace);
}

/** Names of dependencies are valid, none is repeated, and the object does not depend on itself. */
export function checkDependsOn(errors: FieldError[], o: KubeObject, deps: DependencyReference[] | undefined): void {
  const seen = new Set<string>();
  deps?.forEach((d, i) => {
    const f = `spec.dependsOn[${i}]`;
    checkRefName(errors, `${f}.name`, d.name);
    checkNamespace(errors, `${f}.namespace`, d.namespace);
    const ns = d.namespace || o.metadata.namespace || '';
    // A dependency of another kind (dependsOn[].kind) with the same name is another object.
    const kind = d.kind || o.kind;
    if (kind === o.kind && d.name === o.metadata.name && ns === (o.metadata.namespace || '')) errors.push(invalid(`${f}.name`, d.name, 'an object may not depend on itself'));
    const key = `${kind}/${ns}/${d.name}`;
    if (seen.has(key)) errors.push({ type: 'FieldValueDuplicate', field: f, value: key, message: 'Duplicate value' });
    seen.add(key);
  });
}

const JSON6902_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Each patch is YAML kustomize can use: a strategic merge patch (an object; without a target it must
 * name its object by kind and metadata.name) or a JSON6902 patch (a list of operations, which needs a
 * target). Checking here turns a failed build on every reconcile into one rejected write.
 */
export function checkPatches(errors: FieldError[], base: string, patches: KustomizePatch[] | undefined): void {
  patches?.forEach((p, i) => {
    const f = `${base}[${i}]`;
    if (typeof p.patch !== 'string') return; // the schema reports it
    let docs: unknown[];
    try {
      docs = yaml.loadAll(p.patch).filter((d) => d !== null && d !== undefined);
    } catch (e) {
      const err = e as yaml.YAMLException;
      errors.push(invalid(`${f}.patch`, undefined, `must be YAML or JSON: ${err.reason ?? err.message}${err.mark ? ` at line ${err.mark.line + 1}` : ''}`));
      return;
    }
    if (docs.length === 0) {
      errors.push(required(`${f}.patch`, 'a patch document is required'));
      return;
    }
    const hasTarget = Object.values(p.target ?? {}).some((v) => v);
    docs.forEach((doc) => {
      if (Array.isArray(doc)) {
        if (!hasTarget) errors.push(required(`${f}.target`, 'a JSON6902 patch needs a target'));
        doc.forEach((op, j) => checkJSON6902Op(errors, `${f}.patch[${j}]`, op));
      } else if (isRecord(doc)) {
        const meta = doc.metadata;
        if (!hasTarget && (typeof doc.kind !== 'string' || !isRecord(meta) || typeof meta.name !== 'string')) {
          errors.push(required(`${f}.target`, 'a strategic merge patch without a target must name the object it patches with kind and metadata.name'));
        }
      } else {
        errors.push(invalid(`${f}.patch`, undefined, 'must be a strategic merge patch (a YAML object) or a JSON6902 patch (a YAML list of operations)'));
      }
    });
  });
}

function checkJSON6902Op(errors: FieldError[], f: string, op: unknown): void {
  if (!isRecord(op)) {
    errors.push(invalid(f, undefined, 'a JSON6902 operation must be an object with op and path'));
    return;
  }
  if (typeof op.op !== 'string' || !JSON6902_OPS.includes(op.op)) {
    errors.push(op.op === undefined ? required(`${f}.op`) : notSupported(`${f}.op`, op.op, JSON6902_OPS));
    return;
  }
  if (typeof op.path !== 'string') errors.push(required(`${f}.path`));
  if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') errors.push(required(`${f}.from`, `a ${op.op} operation needs from`));
  if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op)) errors.push(required(`${f}.value`, `a ${op.op} operation needs value`));
}

// An OCI digest: algorithm, colon, hex (github.com/opencontainers/go-digest).
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

export function checkImages(errors: FieldError[], base: string, images: KustomizeImage[] | undefined): void {
  images?.forEach((img, i) => {
    if (typeof img.digest === 'string' && !DIGEST.test(img.digest)) errors.push(invalid(`${base}[${i}].digest`, img.digest, 'must be a digest such as sha256:<64 hex characters>'));
  });
}

export function checkIgnoreRules(errors: FieldError[], base: string, rules: IgnoreRule[] | undefined): void {
  rules?.forEach((r, i) =>
    r.paths?.forEach((p, j) => {
      if (typeof p === 'string' && p !== '' && !p.startsWith('/')) errors.push(invalid(`${base}[${i}].paths[${j}]`, p, 'must be a JSON Pointer starting with /'));
    }),
  );
}

/** Flux's CEL rule: exactly one of secretRef and configMapRef. */
export function checkKubeConfig(errors: FieldError[], kc: KubeConfigReference | undefined): void {
  if (!kc) return;
  const base = 'spec.kubeConfig';
  checkAtMostOne(errors, base, kc as Record<string, unknown>, ['configMapRef', 'secretRef']);
  if (!kc.configMapRef && !kc.secretRef) errors.push(required(`${base}.secretRef`, `exactly one of ${base}.configMapRef or ${base}.secretRef must be specified`));
  checkRefName(errors, `${base}.configMapRef.name`, kc.configMapRef?.name);
  checkRefName(errors, `${base}.secretRef.name`, kc.secretRef?.name);
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Label and annotation keys are qualified names (`[prefix/]name`); label values are at most 63 characters. */
export function checkMetadata(errors: FieldError[], base: string, m: CommonMetadata | undefined): void {
  const checkKey = (field: string, key: string) => {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = key.slice(slash + 1);
    if ((prefix !== undefined && !isDNS1123Subdomain(prefix)) || name.length > 63 || !QUALIFIED_NAME.test(name)) {
      errors.push(invalid(field, key, "must be a qualified name: an optional DNS subdomain prefix and '/', then at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"));
    }
  };
  for (const [k, v] of Object.entries(m?.labels ?? {})) {
    checkKey(`${base}.labels`, k);
    if (typeof v === 'string' && v !== '' && (v.length > 63 || !QUALIFIED_NAME.test(v))) {
      errors.push(invalid(`${base}.labels[${k}]`, v, "a label value must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"));
    }
  }
  for (const k of Object.keys(m?.annotations ?? {})) checkKey(`${base}.annotations`, k);
}

// ---- warnings shared with HelmRelease ----

/** Reconciling more than once a minute loads the cluster and whatever the object talks to. */
export function intervalWarning(interval: unknown, what: string): string[] {
  const ms = typeof interval === 'string' ? parseGoDuration(interval) : undefined;
  return ms !== undefined && ms > 0 && ms < 60_000 ? [`spec.interval ${interval} ${what} more than once a minute, which loads the cluster API; 1m or more is recommended`] : [];
}

/** Flux manifests may carry Flux's source API version; references resolve in this API group regardless. */
export function apiVersionWarning(field: string, apiVersion: unknown): string[] {
  return typeof apiVersion === 'string' && apiVersion !== '' && apiVersion !== API_VERSION
    ? [`${field} ${apiVersion} is ignored: the referenced object is looked up in ${API_VERSION}`]
    : [];
}

export function imageWarnings(base: string, images: KustomizeImage[] | undefined): string[] {
  return (images ?? []).flatMap((img, i) => (img.digest && img.newTag ? [`${base}[${i}].newTag is ignored because ${base}[${i}].digest is set`] : []));
}

// ---- the definition ----

const VARIABLE_NAME = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

function validate(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!checkSpec(errors, o)) return errors;
  const s = o.spec as unknown as KustomizationSpec;
  checkPositiveDuration(errors, 'spec.interval', s.interval);
  checkPositiveDuration(errors, 'spec.retryInterval', s.retryInterval);
  checkPositiveDuration(errors, 'spec.timeout', s.timeout);
  checkKindReference(errors, 'spec.sourceRef', s.sourceRef, SOURCE_KINDS);
  checkNamespace(errors, 'spec.targetNamespace', s.targetNamespace);
  checkRefName(errors, 'spec.serviceAccountName', s.serviceAccountName);
  checkDependsOn(errors, o, s.dependsOn);
  s.healthChecks?.forEach((h, i) => checkNamespace(errors, `spec.healthChecks[${i}].namespace`, h.namespace));
  checkRefName(errors, 'spec.decryption.secretRef.name', s.decryption?.secretRef?.name);
  checkRefName(errors, 'spec.decryption.serviceAccountName', s.decryption?.serviceAccountName);
  checkPatches(errors, 'spec.patches', s.patches);
  checkImages(errors, 'spec.images', s.images);
  checkIgnoreRules(errors, 'spec.ignore', s.ignore);
  checkKubeConfig(errors, s.kubeConfig);
  checkMetadata(errors, 'spec.commonMetadata', s.commonMetadata);
  for (const key of Object.keys(s.postBuild?.substitute ?? {})) {
    if (!VARIABLE_NAME.test(key)) errors.push(invalid(`spec.postBuild.substitute[${key}]`, key, 'a variable name must start with a letter or _ and contain only letters, digits and _'));
  }
  s.postBuild?.substituteFrom?.forEach((r, i) => checkRefName(errors, `spec.postBuild.substituteFrom[${i}].name`, r.name));
  return errors;
}

function warnings(o: KubeObject): string[] {
  const s = o.spec as unknown as KustomizationSpec | undefined;
  if (!s) return [];
  const out = [...intervalWarning(s.interval, 'rebuilds and re-applies the Kustomization'), ...apiVersionWarning('spec.sourceRef.apiVersion', s.sourceRef?.apiVersion)];
  if (s.prune === false && (s.deletionPolicy === undefined || s.deletionPolicy === 'MirrorPrune')) {
    out.push('spec.prune is false: objects removed from the source stay in the cluster, and all applied objects are kept when the Kustomization is deleted');
  }
  if (s.wait && s.healthChecks?.length) out.push('spec.healthChecks is ignored because spec.wait is true: every applied object is health checked');
  if (s.healthCheckExprs?.length && !s.wait && !s.healthChecks?.length) out.push('spec.healthCheckExprs is only used when spec.wait is true or spec.healthChecks is set');
  out.push(...imageWarnings('spec.images', s.images));
  return out;
}

const printerColumns: PrinterColumn[] = [
  ...readyColumns(),
  { name: 'Source', type: 'string', jsonPath: '.spec.sourceRef.name', description: 'Name of the source the manifests come from.', priority: 1 },
  { name: 'Revision', type: 'string', jsonPath: '.status.lastAppliedRevision', description: 'Source revision last applied successfully.', priority: 1 },
  { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', description: 'Whether reconciliation is suspended.', priority: 1 },
];

export const kustomization: ResourceDefinition = {
  ...resourceNames('Kustomization', 'kustomizations', ['ks']),
  hasArtifact: false,
  views: [
    { name: 'build', description: "the objects the last fetched revision renders, as multi-document YAML; Secrets' data redacted", produces: ['application/yaml'] },
    { name: 'diff', description: 'what a reconcile would change now: server-side dry-run against the cluster', produces: ['application/json'] },
  ],
  schema: objectSchema('Kustomization builds a directory of a source Artifact with kustomize and applies the result to the cluster, pruning and health checking it.', spec, status),
  printerColumns,
  validate,
  warnings,
};
