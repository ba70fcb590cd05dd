// Bucket: the objects of an S3-compatible, GCS or Azure Blob storage bucket (optionally under a prefix)
// packed into an Artifact. Same spec and status as Flux's source.toolkit.fluxcd.io/v1 Bucket.

import type { FieldError, ResourceDefinition } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { bool, checkAtMostOne, checkURL, duration, forbidden, invalid, localObjectReference, obj, objectSchema, str, resourceNames } from './common.js';
import {
  type LocalObjectReference,
  type SourceObject,
  type SourceStatus,
  certSecretRefSchema,
  checkPositiveDuration,
  checkCredentialRefs,
  checkRefName,
  checkSpec,
  ignoreSchema,
  insecureWarning,
  observedIgnoreSchema,
  proxySecretRefSchema,
  sourceColumns,
  sourceStatusSchema,
  sourceWarnings,
  timeout,
} from './source.js';

export interface BucketSTSSpec {
  provider: 'aws' | 'ldap';
  endpoint: string;
  secretRef?: LocalObjectReference;
  certSecretRef?: LocalObjectReference;
}

export interface BucketSpec {
  provider?: 'generic' | 'aws' | 'gcp' | 'azure';
  bucketName: string;
  endpoint: string;
  sts?: BucketSTSSpec;
  insecure?: boolean;
  region?: string;
  prefix?: string;
  secretRef?: LocalObjectReference;
  serviceAccountName?: string;
  certSecretRef?: LocalObjectReference;
  proxySecretRef?: LocalObjectReference;
  interval: string;
  timeout?: string;
  ignore?: string;
  suspend?: boolean;
}

export interface BucketStatus extends SourceStatus {
  url?: string;
  observedIgnore?: string;
}

export type Bucket = SourceObject<BucketSpec, BucketStatus>;

const spec = obj(
  'The bucket to fetch and how to reach it.',
  {
    provider: str("Kind of object storage: 'generic' (any S3-compatible API), 'aws' (S3), 'gcp' (Cloud Storage) or 'azure' (Blob Storage).", {
      enum: ['generic', 'aws', 'gcp', 'azure'],
      default: 'generic',
    }),
    bucketName: str('Name of the bucket (or Azure container).'),
    endpoint: str('Address of the object storage service as host[:port], such as s3.amazonaws.com or minio.local:9000; for azure, the account URL.'),
    sts: obj(
      "A Security Token Service to fetch temporary credentials from; only for the 'aws' provider (STS provider 'aws') and the 'generic' provider (STS provider 'ldap').",
      {
        provider: str('Kind of Security Token Service.', { enum: ['aws', 'ldap'] }),
        endpoint: str('HTTP(S) address of the Security Token Service.', { pattern: '^(http|https)://.*$' }),
        secretRef: localObjectReference("Secret with 'username' and 'password' for the STS; only for the 'ldap' STS provider."),
        certSecretRef: certSecretRefSchema("STS endpoint; only for the 'ldap' STS provider"),
      },
      ['provider', 'endpoint'],
    ),
    insecure: bool('Talk to the endpoint over plain HTTP instead of HTTPS.'),
    region: str('Region of the endpoint the bucket is in.'),
    prefix: str('Only objects whose key starts with this prefix are fetched (filtered by the server).'),
    secretRef: localObjectReference("Secret with the provider's credentials, such as 'accesskey' and 'secretkey' for S3-compatible storage."),
    serviceAccountName: str('Kubernetes ServiceAccount whose workload identity authenticates to the bucket; not for the generic provider.'),
    certSecretRef: certSecretRefSchema("bucket endpoint; only for the 'generic' provider"),
    proxySecretRef: proxySecretRefSchema('bucket endpoint'),
    interval: duration('How often the bucket is checked for changes (approximate, with jitter).'),
    timeout: timeout('Time limit for listing and downloading objects.', '60s'),
    ignore: ignoreSchema,
    suspend: bool('Stops reconciliation of this Bucket while true; the last Artifact stays available.'),
  },
  ['bucketName', 'endpoint', 'interval'],
);

const status = sourceStatusSchema('Bucket', {
  url: str('Download address of the latest Artifact; prefer status.artifact for exact data.'),
  observedIgnore: observedIgnoreSchema,
});

// host[:port] with a DNS name, an IPv4 address or a bracketed IPv6 address.
const HOST_PORT = /^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:(?<port>[1-9][0-9]{0,4}))?$/;

function checkEndpoint(errors: FieldError[], s: Partial<BucketSpec>): void {
  const e = s.endpoint;
  if (typeof e !== 'string') return;
  // Azure's client takes the account URL; the S3 and GCS clients take a bare host and add the scheme themselves.
  if (s.provider === 'azure' && /^[a-z][a-z0-9+.-]*:\/\//i.test(e)) return checkURL(errors, 'spec.endpoint', e, ['http', 'https']);
  const m = HOST_PORT.exec(e);
  if (!m || Number(m.groups?.port ?? 0) > 65535) {
    const hint = /:\/\//.test(e) ? "; drop the scheme (use spec.insecure for plain HTTP)" : '';
    errors.push(invalid('spec.endpoint', e, `must be host[:port] such as s3.amazonaws.com or minio.local:9000${hint}`));
  }
}

function validate(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!checkSpec(errors, o)) return errors;
  const s = o.spec as Partial<BucketSpec>;
  const provider = s.provider ?? 'generic';

  checkEndpoint(errors, s);
  if (typeof s.bucketName === 'string' && /[/\s]/.test(s.bucketName)) {
    errors.push(invalid('spec.bucketName', s.bucketName, 'must be a bucket name without slashes or spaces; select a folder with spec.prefix'));
  }
  checkPositiveDuration(errors, 'spec.interval', s.interval);
  checkPositiveDuration(errors, 'spec.timeout', s.timeout);

  // Flux's CEL rules on sts and serviceAccountName.
  const sts = s.sts;
  if (sts) {
    if (provider !== 'aws' && provider !== 'generic') errors.push(forbidden('spec.sts', "STS configuration is only supported for the 'aws' and 'generic' Bucket providers"));
    else if (provider === 'aws' && sts.provider !== 'aws') errors.push(invalid('spec.sts.provider', sts.provider, "'aws' is the only supported STS provider for the 'aws' Bucket provider"));
    else if (provider === 'generic' && sts.provider !== 'ldap') errors.push(invalid('spec.sts.provider', sts.provider, "'ldap' is the only supported STS provider for the 'generic' Bucket provider"));
    if (sts.provider === 'aws' && sts.secretRef) errors.push(forbidden('spec.sts.secretRef', "is not supported for the 'aws' STS provider"));
    if (sts.provider === 'aws' && sts.certSecretRef) errors.push(forbidden('spec.sts.certSecretRef', "is not supported for the 'aws' STS provider"));
    checkURL(errors, 'spec.sts.endpoint', sts.endpoint, ['http', 'https']);
    checkRefName(errors, 'spec.sts.secretRef.name', sts.secretRef?.name);
    checkRefName(errors, 'spec.sts.certSecretRef.name', sts.certSecretRef?.name);
  }
  if (provider === 'generic' && s.serviceAccountName) errors.push(forbidden('spec.serviceAccountName', "is not supported for the 'generic' Bucket provider"));
  checkAtMostOne(errors, 'spec', s as Record<string, unknown>, ['secretRef', 'serviceAccountName']);

  checkCredentialRefs(errors, s);
  return errors;
}

function warnings(o: KubeObject): string[] {
  const s = o.spec as Partial<BucketSpec> | undefined;
  if (!s) return [];
  const out = [...sourceWarnings(s), ...insecureWarning(s.insecure, 'the endpoint is reached over plain HTTP')];
  if (s.certSecretRef && s.provider && s.provider !== 'generic') out.push(`spec.certSecretRef is ignored for the '${s.provider}' provider; it applies to 'generic' only`);
  return out;
}

export const bucket: ResourceDefinition = {
  ...resourceNames('Bucket', 'buckets', []),
  hasArtifact: true,
  schema: objectSchema('Bucket fetches the objects of an object storage bucket and produces an Artifact from them.', spec, status),
  printerColumns: sourceColumns({ name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoint', description: 'Address of the object storage service.' }),
  validate,
  warnings,
};
