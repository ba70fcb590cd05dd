// What the five source kinds (GitRepository, OCIRepository, HelmRepository, HelmChart, Bucket) share
// beyond common.ts: their status shape, timeout fields, OCI signature verification, printer columns
// and the checks and warnings that apply to every source.

import semver from 'semver';
import type { FieldError, JSONSchemaProps, PrinterColumn } from '../meta/resource.js';
import type { Condition, KubeObject, ObjectMeta } from '../meta/types.js';
import {
  arr,
  artifactSchema,
  checkDuration,
  invalid,
  isDNS1123Subdomain,
  localObjectReference,
  obj,
  parseGoDuration,
  readyColumns,
  reconcileStatusFields,
  required,
  str,
} from './common.js';

export interface LocalObjectReference {
  name: string;
}

export interface Artifact {
  path: string;
  url: string;
  revision: string;
  digest?: string;
  lastUpdateTime: string;
  size?: number;
  metadata?: Record<string, string>;
}

/** Status fields every source kind has. */
export interface SourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  artifact?: Artifact;
  lastHandledReconcileAt?: string;
}

/** A kind's object with its typed spec and status (KubeObject's index signature would swallow Omit). */
export interface SourceObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** Flux's timeouts, unlike intervals, do not accept hours. */
export const TIMEOUT_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$';
export const timeout = (description: string, defaultValue?: string): JSONSchemaProps =>
  str(description, { pattern: TIMEOUT_PATTERN, ...(defaultValue !== undefined ? { default: defaultValue } : {}) });

/** `status` of a source: the reconcile fields, the artifact, then the kind's own observations. */
export const sourceStatusSchema = (kind: string, extra: Record<string, JSONSchemaProps>): JSONSchemaProps =>
  obj(
    `The observed state of the ${kind}, written by its reconciler.`,
    { ...reconcileStatusFields(), artifact: { ...artifactSchema, description: `The Artifact produced by the last successful ${kind} reconciliation.` }, ...extra },
    undefined,
    // Flux defaults the status so a never-reconciled object reads observedGeneration -1.
    { default: { observedGeneration: -1 } },
  );

export const ignoreSchema = str(
  'Exclusion patterns in .sourceignore (gitignore) format for building the Artifact, applied on top of the default exclusions; a !pattern re-includes what a default excluded.',
);
export const observedIgnoreSchema = str('The ignore patterns that were in effect when the current Artifact was built.');
export const proxySecretRefSchema = (peer: string) =>
  localObjectReference(`Secret with the proxy settings (address, and optionally username and password) to use when talking to the ${peer}.`);
export const certSecretRefSchema = (peer: string) =>
  localObjectReference(
    `Secret (type Opaque or kubernetes.io/tls) with a PEM client certificate and key (tls.crt, tls.key) and/or a CA certificate (ca.crt) used for the TLS connection to the ${peer}.`,
  );

// ---- OCI signature verification (OCIRepository, HelmChart) ----

export interface OCIRepositoryVerification {
  provider: 'cosign' | 'notation';
  secretRef?: LocalObjectReference;
  matchOIDCIdentity?: { issuer: string; subject: string }[];
  trustedRootSecretRef?: LocalObjectReference;
}

export const ociVerificationSchema = (description: string): JSONSchemaProps =>
  obj(
    description,
    {
      provider: str('The signing technology to verify with.', { enum: ['cosign', 'notation'], default: 'cosign' }),
      secretRef: localObjectReference(
        'Secret holding the trusted material: cosign public keys (*.pub), or for notation a trustpolicy.json and CA certificates (*.crt, *.pem). Without it, cosign verifies keyless signatures.',
      ),
      matchOIDCIdentity: arr(
        'For cosign keyless signatures: the artifact is trusted when any of these issuer/subject pairs matches the Fulcio certificate.',
        obj(
          'An OIDC issuer and subject pair, each a regular expression.',
          {
            issuer: str('Regular expression the OIDC issuer in the Fulcio certificate must match.'),
            subject: str('Regular expression the identity subject in the Fulcio certificate must match.'),
          },
          ['issuer', 'subject'],
        ),
      ),
      trustedRootSecretRef: localObjectReference(
        'Secret with a Sigstore trusted_root.json key, for verifying against self-hosted Sigstore (custom Fulcio CA, private Rekor).',
      ),
    },
    ['provider'],
  );

export function checkOCIVerification(errors: FieldError[], base: string, v: OCIRepositoryVerification | undefined): void {
  if (!v) return;
  if (v.provider === 'notation' && !v.secretRef) errors.push(required(`${base}.secretRef`, 'notation verification needs a Secret with trustpolicy.json and the CA certificates'));
  checkRefName(errors, `${base}.secretRef.name`, v.secretRef?.name);
  checkRefName(errors, `${base}.trustedRootSecretRef.name`, v.trustedRootSecretRef?.name);
  v.matchOIDCIdentity?.forEach((m, i) => {
    checkRegExp(errors, `${base}.matchOIDCIdentity[${i}].issuer`, m.issuer);
    checkRegExp(errors, `${base}.matchOIDCIdentity[${i}].subject`, m.subject);
  });
}

export function ociVerificationWarnings(base: string, v: OCIRepositoryVerification | undefined): string[] {
  if (!v) return [];
  const out: string[] = [];
  if (v.provider === 'notation') {
    if (v.matchOIDCIdentity?.length) out.push(`${base}.matchOIDCIdentity is ignored by notation verification; it applies to cosign keyless signatures only`);
    if (v.trustedRootSecretRef) out.push(`${base}.trustedRootSecretRef is ignored by notation verification; it applies to cosign only`);
  } else if (v.secretRef && v.matchOIDCIdentity?.length) {
    out.push(`${base}.matchOIDCIdentity is ignored when ${base}.secretRef is set: cosign then verifies with the public keys from the Secret`);
  }
  return out;
}

// ---- printer columns ----

/** `-o wide` extras every source shows. */
export const wideSourceColumns = (): PrinterColumn[] => [
  { name: 'Revision', type: 'string', jsonPath: '.status.artifact.revision', description: 'Revision of the current Artifact.', priority: 1 },
  { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', description: 'Whether reconciliation is suspended.', priority: 1 },
];

/** Flux's columns for most sources: the kind's own columns, then Age, Ready, Status, then the wide extras. */
export const sourceColumns = (...own: PrinterColumn[]): PrinterColumn[] => [...own, ...readyColumns(), ...wideSourceColumns()];

/** OCIRepository's order in Flux: the kind's own columns, Ready, Status, then Age. */
export const readyFirstColumns = (...own: PrinterColumn[]): PrinterColumn[] => {
  const [age, ...readyAndStatus] = readyColumns();
  return [...own, ...readyAndStatus, age, ...wideSourceColumns()];
};

// ---- checks ----

/** References name Kubernetes objects, so they must be DNS-1123 subdomains. */
export function checkRefName(errors: FieldError[], field: string, name: unknown): void {
  if (typeof name === 'string' && !isDNS1123Subdomain(name)) {
    errors.push(invalid(field, name, "must be a lowercase RFC 1123 subdomain: lowercase alphanumerics, '-' or '.', starting and ending with an alphanumeric"));
  }
}

/** The Secret and ServiceAccount names a source spec may carry, each a valid object name. */
export function checkCredentialRefs(errors: FieldError[], s: { secretRef?: { name?: unknown }; certSecretRef?: { name?: unknown }; proxySecretRef?: { name?: unknown }; serviceAccountName?: unknown }): void {
  checkRefName(errors, 'spec.secretRef.name', s.secretRef?.name);
  checkRefName(errors, 'spec.certSecretRef.name', s.certSecretRef?.name);
  checkRefName(errors, 'spec.proxySecretRef.name', s.proxySecretRef?.name);
  checkRefName(errors, 'spec.serviceAccountName', s.serviceAccountName);
}

/** A Go duration that must also be above zero (an interval or timeout of 0 never does any work). */
export function checkPositiveDuration(errors: FieldError[], field: string, value: unknown): void {
  if (typeof value !== 'string') return;
  const before = errors.length;
  checkDuration(errors, field, value);
  if (errors.length === before && parseGoDuration(value) === 0) errors.push(invalid(field, value, 'must be greater than zero'));
}

/**
 * Whether a version constraint is valid. Flux uses Masterminds/semver, which also accepts `,` as AND and
 * `!=` terms; those are mapped onto node-semver's grammar before asking it.
 */
export function isValidSemverRange(range: string): boolean {
  if (!range.trim()) return false;
  const excluded = [...range.matchAll(/!=\s*(\S+?)(?=,|\s|\|\||$)/g)].map((m) => m[1]);
  if (excluded.some((v) => !semver.coerce(v))) return false;
  const rest = range.replace(/!=\s*\S+?(?=,|\s|\|\||$)/g, ' ').replace(/,/g, ' ');
  // A range made only of != terms leaves nothing for node-semver: it matches everything else.
  return rest.trim() === '' ? excluded.length > 0 : semver.validRange(rest) !== null;
}

export function checkSemverRange(errors: FieldError[], field: string, value: unknown): void {
  if (typeof value === 'string' && !isValidSemverRange(value)) errors.push(invalid(field, value, 'must be a valid semver range such as ">=1.0.0 <2.0.0", "~1.2" or "5.x"'));
}

/** Flux compiles these as Go regular expressions; JavaScript's grammar is close enough to catch typos. */
export function checkRegExp(errors: FieldError[], field: string, value: unknown): void {
  if (typeof value !== 'string') return;
  try {
    new RegExp(value);
  } catch (e) {
    errors.push(invalid(field, value, `must be a valid regular expression: ${(e as Error).message}`));
  }
}

/** `spec` is optional in Flux's schema, but a source cannot work without one. */
export function checkSpec(errors: FieldError[], o: KubeObject): boolean {
  if (o.spec && typeof o.spec === 'object') return true;
  errors.push(required('spec'));
  return false;
}

// ---- warnings ----

const MINUTE = 60_000;

/** Warnings every source shares: polling too often, and timeouts that outlast the interval. */
export function sourceWarnings(spec: { interval?: string; timeout?: string }): string[] {
  const out: string[] = [];
  const interval = spec.interval ? parseGoDuration(spec.interval) : undefined;
  const timeout = spec.timeout ? parseGoDuration(spec.timeout) : undefined;
  if (interval === undefined || interval === 0) return out;
  if (interval < MINUTE) {
    out.push(`spec.interval ${spec.interval} polls the source more than once a minute, which loads the remote and can hit its rate limits; 1m or more is recommended`);
  }
  if (timeout !== undefined && timeout > interval) {
    out.push(`spec.timeout ${spec.timeout} is longer than spec.interval ${spec.interval}: a slow fetch delays the next one`);
  }
  return out;
}

/** `spec.insecure: true` turns TLS off; `meaning` says what that does for this kind. */
export function insecureWarning(insecure: unknown, meaning: string): string[] {
  return insecure === true ? [`spec.insecure is true: ${meaning}, so traffic and credentials are not protected by TLS`] : [];
}

/** Credentials sent to a plain http:// address travel unencrypted. */
export function plainHTTPCredentialsWarning(url: unknown, field: string): string[] {
  return typeof url === 'string' && /^http:\/\//i.test(url)
    ? [`spec.url uses plain http:// while ${field} is set: the credentials are sent unencrypted; use https://`]
    : [];
}
