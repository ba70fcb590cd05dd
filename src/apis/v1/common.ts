// Schema building blocks shared by the kinds of gitops.toolkit/v1, so each kind's file reads like its
// Flux API type and every field carries a description.

import type { FieldError, JSONSchemaProps } from '../meta/resource.js';

export const GROUP = 'gitops.toolkit';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;

import { str, int, obj, arr, stringMap } from '../meta/schema.js';
export { str, int, bool, obj, arr, stringMap, anyJSON, type Extra } from '../meta/schema.js';

/** How a kind is named in the API: list kind, singular and category follow from the kind, as for Flux's CRDs. */
export const resourceNames = (kind: string, plural: string, shortNames: string[]) => ({
  group: GROUP,
  version: VERSION,
  namespaced: true,
  kind,
  listKind: `${kind}List`,
  plural,
  singular: kind.toLowerCase(),
  shortNames,
  categories: ['gitops'],
});

/** Go duration as Flux's CRDs restrict it (`1m30s`, `500ms`, `1h`). Parsed again by parseGoDuration. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
export const duration = (description: string, defaultValue?: string): JSONSchemaProps =>
  str(description, { pattern: DURATION_PATTERN, ...(defaultValue !== undefined ? { default: defaultValue } : {}) });

export const localObjectReference = (description: string): JSONSchemaProps =>
  obj(description, { name: str('Name of the referent.') }, ['name']);

export const secretKeyReference = (description: string): JSONSchemaProps =>
  obj(description, { name: str('Name of the Secret.'), key: str('Key in the Secret, when not specified an implementation-specific default key is used.') }, ['name']);

export const conditionSchema: JSONSchemaProps = obj(
  'Condition contains details for one aspect of the current state of this API Resource.',
  {
    type: str('Type of condition in CamelCase, e.g. Ready, Reconciling, Stalled.', { maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
    status: str('Status of the condition, one of True, False, Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    observedGeneration: int('The .metadata.generation that the condition was set based upon.', { minimum: 0, format: 'int64' }),
    lastTransitionTime: str('Last time the condition transitioned from one status to another.', { format: 'date-time' }),
    reason: str("A programmatic identifier in CamelCase indicating the reason for the condition's last transition.", { maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: str('A human readable message indicating details about the transition.', { maxLength: 32768 }),
  },
  ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
);

export const conditions = (description: string): JSONSchemaProps =>
  arr(description, conditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

export const artifactSchema: JSONSchemaProps = obj(
  'Artifact represents the output of a Source reconciliation.',
  {
    path: str('Path is the relative file path of the Artifact. It can be used to locate the file in the root of the Artifact storage on the local file system of the controller managing the Source.'),
    url: str('URL is the HTTP address of the Artifact as exposed by the controller managing the Source. It can be used to retrieve the Artifact for consumption, e.g. by another controller applying the Artifact contents.'),
    revision: str('Revision is a human-readable identifier traceable in the origin source system. It can be a Git commit SHA, Git tag, a Helm chart version, etc.'),
    digest: str('Digest is the digest of the file in the form of `<algorithm>:<checksum>`.', { pattern: '^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$' }),
    lastUpdateTime: str('LastUpdateTime is the timestamp corresponding to the last update of the Artifact.', { format: 'date-time' }),
    size: int('Size is the number of bytes in the file.', { format: 'int64' }),
    metadata: stringMap('Metadata holds upstream information such as OCI annotations.'),
  },
  ['path', 'url', 'revision', 'lastUpdateTime'],
);

/** Fields every reconciled kind's status has. */
export const reconcileStatusFields = (): Record<string, JSONSchemaProps> => ({
  observedGeneration: int('ObservedGeneration is the last observed generation of the object.', { format: 'int64' }),
  conditions: conditions('Conditions holds the conditions for the object.'),
  lastHandledReconcileAt: str('LastHandledReconcileAt holds the value of the most recent reconcile request value, so a change of the annotation value can be detected.'),
});

/** The whole-object schema: apiVersion, kind, metadata, spec, status. */
export const objectSchema = (description: string, spec: JSONSchemaProps, status: JSONSchemaProps): JSONSchemaProps =>
  obj(description, {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.'),
    kind: str('Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.'),
    metadata: { type: 'object', description: "Standard object's metadata." },
    spec,
    status,
  });

/** Standard printer columns of reconciled kinds (Ready/Status/Age), as Flux's CRDs print them. */
export const readyColumns = () => [
  { name: 'Age', type: 'date' as const, jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' },
  { name: 'Ready', type: 'string' as const, jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the object is ready.' },
  { name: 'Status', type: 'string' as const, jsonPath: '.status.conditions[?(@.type=="Ready")].message', description: 'The message of the Ready condition.' },
];

// ---- semantic validation helpers ----

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`1h2m3.5s`, `300ms`) to milliseconds; undefined when it is not one. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (!s) return undefined;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const isDNS1123Label = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s);
export const isDNS1123Subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);

export const invalid = (field: string, value: unknown, message: string): FieldError => ({ type: 'FieldValueInvalid', field, value, message });
export const required = (field: string, message = 'Required value'): FieldError => ({ type: 'FieldValueRequired', field, message });
export const forbidden = (field: string, message: string): FieldError => ({ type: 'FieldValueForbidden', field, message });
export const notSupported = (field: string, value: unknown, supported: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  value,
  message: `supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
});

/** Checks that a Go-duration field parses; the schema pattern already caught most bad values. */
export function checkDuration(errors: FieldError[], field: string, value: unknown): void {
  if (typeof value === 'string' && parseGoDuration(value) === undefined) errors.push(invalid(field, value, 'must be a Go duration such as 1m30s, 10m or 1h'));
}

/** At most one of the named fields may be set (Flux's mutually exclusive options). */
export function checkAtMostOne(errors: FieldError[], base: string, o: Record<string, unknown> | undefined, names: string[]): void {
  if (!o) return;
  const set = names.filter((n) => o[n] !== undefined && o[n] !== null);
  if (set.length > 1) errors.push(forbidden(`${base}.${set[1]}`, `may not be set together with ${base}.${set[0]}: only one of ${names.map((n) => `${base}.${n}`).join(', ')} may be specified`));
}

/** URL must parse and use one of the schemes. */
export function checkURL(errors: FieldError[], field: string, value: unknown, schemes: string[]): void {
  if (typeof value !== 'string') return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    errors.push(invalid(field, value, 'must be an absolute URL'));
    return;
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!schemes.includes(scheme)) errors.push(invalid(field, value, `URL scheme must be one of ${schemes.map((s) => `${s}://`).join(', ')}`));
}
