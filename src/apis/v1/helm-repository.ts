// HelmRepository: a Helm chart repository. Type 'default' fetches the HTTP(S) index.yaml into an
// Artifact; type 'oci' only records where OCI charts live for HelmCharts to pull. Same spec and status
// as Flux's source.toolkit.fluxcd.io/v1 HelmRepository.

import type { FieldError, ResourceDefinition } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { arr, bool, checkURL, duration, invalid, localObjectReference, obj, objectSchema, str, stringMap, resourceNames } from './common.js';
import {
  type LocalObjectReference,
  type SourceObject,
  type SourceStatus,
  certSecretRefSchema,
  checkPositiveDuration,
  checkCredentialRefs,
  checkSpec,
  insecureWarning,
  plainHTTPCredentialsWarning,
  sourceColumns,
  sourceStatusSchema,
  sourceWarnings,
  timeout,
} from './source.js';

export interface HelmRepositorySpec {
  url: string;
  secretRef?: LocalObjectReference;
  certSecretRef?: LocalObjectReference;
  passCredentials?: boolean;
  interval?: string;
  insecure?: boolean;
  timeout?: string;
  suspend?: boolean;
  accessFrom?: { namespaceSelectors: { matchLabels?: Record<string, string> }[] };
  type?: 'default' | 'oci';
  provider?: 'generic' | 'aws' | 'azure' | 'gcp';
}

export interface HelmRepositoryStatus extends SourceStatus {
  url?: string;
}

export type HelmRepository = SourceObject<HelmRepositorySpec, HelmRepositoryStatus>;

const spec = obj(
  'The Helm repository and how to reach it.',
  {
    url: str("Address of the repository: http(s):// for type 'default', oci:// for type 'oci'.", { pattern: '^(http|https|oci)://.*$' }),
    secretRef: localObjectReference(
      "Secret with 'username' and 'password' for HTTP basic auth or registry login. TLS keys in it (certFile, keyFile, caFile) are deprecated in favour of spec.certSecretRef.",
    ),
    certSecretRef: certSecretRefSchema('repository; it wins over TLS data in spec.secretRef'),
    passCredentials: bool(
      'Also send the spec.secretRef credentials to hosts other than the one in spec.url, for indexes whose chart URLs point elsewhere. Risky: the credentials may leak.',
    ),
    interval: duration("How often the index is fetched (approximate, with jitter); 1m when empty. Not used by type 'oci'."),
    insecure: bool("Talk to the registry over plain HTTP instead of HTTPS; only used by type 'oci'."),
    timeout: timeout("Time limit for fetching the index, and for OCI operations of HelmCharts using a type 'oci' repository; 60s when empty."),
    suspend: bool('Stops reconciliation of this HelmRepository while true; the last Artifact stays available.'),
    accessFrom: obj(
      'Namespaces allowed to refer to this object across namespaces. Provisional in Flux and not enforced.',
      {
        namespaceSelectors: arr(
          'Selectors of the allowed namespaces; a namespace matching any of them is allowed.',
          obj('Selects namespaces by label; an empty matchLabels selects every namespace.', {
            matchLabels: stringMap('Labels a namespace must all carry to be selected.'),
          }),
        ),
      },
      ['namespaceSelectors'],
    ),
    type: str("'default' for an HTTP(S) repository with an index.yaml, 'oci' for charts in an OCI registry (spec.url must then start with oci://).", {
      enum: ['default', 'oci'],
    }),
    provider: str("How to authenticate to an OCI registry: 'generic' uses spec.secretRef; 'aws', 'azure' and 'gcp' use that cloud's workload identity. Only used by type 'oci'.", {
      enum: ['generic', 'aws', 'azure', 'gcp'],
      default: 'generic',
    }),
  },
  ['url'],
);

const status = sourceStatusSchema('HelmRepository', {
  url: str('Download address of the latest index Artifact; prefer status.artifact for exact data.'),
});

const isOCI = (s: Partial<HelmRepositorySpec>) => s.type === 'oci';

function validate(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!checkSpec(errors, o)) return errors;
  const s = o.spec as Partial<HelmRepositorySpec>;

  const oci = isOCI(s);
  if (typeof s.url === 'string' && /^oci:\/\//i.test(s.url) !== oci) {
    errors.push(invalid('spec.url', s.url, oci ? "must start with oci:// when spec.type is 'oci'" : "an oci:// URL needs spec.type 'oci'; otherwise use http:// or https://"));
  } else checkURL(errors, 'spec.url', s.url, oci ? ['oci'] : ['http', 'https']);
  checkPositiveDuration(errors, 'spec.interval', s.interval);
  checkPositiveDuration(errors, 'spec.timeout', s.timeout);
  checkCredentialRefs(errors, s);
  return errors;
}

function warnings(o: KubeObject): string[] {
  const s = o.spec as Partial<HelmRepositorySpec> | undefined;
  if (!s) return [];
  const out: string[] = [];
  if (isOCI(s)) out.push(...insecureWarning(s.insecure, 'the registry is reached over plain HTTP'));
  else {
    out.push(...sourceWarnings(s));
    if (s.insecure) out.push("spec.insecure is ignored unless spec.type is 'oci'; for plain HTTP use an http:// URL");
    if (s.provider && s.provider !== 'generic') out.push(`spec.provider '${s.provider}' is ignored unless spec.type is 'oci'`);
  }
  if (s.secretRef) out.push(...plainHTTPCredentialsWarning(s.url, 'spec.secretRef'));
  if (s.passCredentials) out.push('spec.passCredentials is true: the credentials are also sent to hosts other than the one in spec.url, where they can be stolen');
  if (s.accessFrom) out.push('spec.accessFrom is provisional and not enforced; it has no effect');
  return out;
}

export const helmRepository: ResourceDefinition = {
  ...resourceNames('HelmRepository', 'helmrepositories', ['helmrepo']),
  hasArtifact: true,
  schema: objectSchema('HelmRepository points at a Helm chart repository; for HTTP(S) repositories it produces an Artifact from the index.', spec, status),
  printerColumns: sourceColumns({ name: 'URL', type: 'string', jsonPath: '.spec.url', description: 'Address of the Helm repository.' }),
  validate,
  warnings,
};
