// OCIRepository: an OCI artifact in a container registry, resolved by digest, semver range or tag, and
// one of its layers turned into an Artifact. Same spec and status as Flux's
// source.toolkit.fluxcd.io/v1 OCIRepository.

import type { FieldError, ResourceDefinition } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { arr, bool, checkURL, duration, forbidden, invalid, localObjectReference, obj, objectSchema, required, str, resourceNames } from './common.js';
import {
  type LocalObjectReference,
  type OCIRepositoryVerification,
  type SourceObject,
  type SourceStatus,
  certSecretRefSchema,
  checkOCIVerification,
  checkPositiveDuration,
  checkCredentialRefs,
  checkRegExp,
  checkSemverRange,
  checkSpec,
  ignoreSchema,
  insecureWarning,
  observedIgnoreSchema,
  ociVerificationSchema,
  ociVerificationWarnings,
  proxySecretRefSchema,
  readyFirstColumns,
  sourceStatusSchema,
  sourceWarnings,
  timeout,
} from './source.js';

export interface OCIRepositoryRef {
  digest?: string;
  semver?: string;
  semverFilter?: string;
  tag?: string;
}

export interface OCILayerSelector {
  mediaType?: string;
  operation?: 'extract' | 'copy';
}

export interface OCIRepositorySpec {
  url: string;
  ref?: OCIRepositoryRef;
  layerSelector?: OCILayerSelector;
  provider?: 'generic' | 'aws' | 'azure' | 'gcp';
  credential?: 'ServiceAccountToken';
  audiences?: string[];
  secretRef?: LocalObjectReference;
  verify?: OCIRepositoryVerification;
  serviceAccountName?: string;
  certSecretRef?: LocalObjectReference;
  proxySecretRef?: LocalObjectReference;
  interval: string;
  timeout?: string;
  ignore?: string;
  insecure?: boolean;
  suspend?: boolean;
}

export interface OCIRepositoryStatus extends SourceStatus {
  url?: string;
  observedIgnore?: string;
  observedLayerSelector?: OCILayerSelector;
}

export type OCIRepository = SourceObject<OCIRepositorySpec, OCIRepositoryStatus>;

const layerSelector = (description: string) =>
  obj(description, {
    mediaType: str('OCI media type of the layer to use; the first layer with this type is selected.'),
    operation: str("What to do with the selected layer: 'extract' its compressed contents (the default) or 'copy' the compressed blob as it is.", {
      enum: ['extract', 'copy'],
    }),
  });

const spec = obj(
  'The OCI artifact to pull and how to turn it into an Artifact.',
  {
    url: str('Address of the OCI repository in a container registry, as oci://<registry>/<path>, without tag or digest.', { pattern: '^oci://.*$' }),
    ref: obj('Which artifact of the repository to pull and follow; the latest tag when empty. digest wins over semver, semver over tag.', {
      digest: str('Image digest to pull, such as sha256:<hex>; takes precedence over semver and tag.'),
      semver: str('Semver range; the highest matching tag is pulled. Takes precedence over tag.'),
      semverFilter: str('Regular expression that tags must match before the semver range is applied.'),
      tag: str("Tag to pull; 'latest' when nothing else is set."),
    }),
    layerSelector: layerSelector('Which layer of the artifact becomes the Artifact; the first layer when empty.'),
    provider: str("How to authenticate to the registry: 'generic' uses spec.secretRef; 'aws', 'azure' and 'gcp' use that cloud's workload identity.", {
      enum: ['generic', 'aws', 'azure', 'gcp'],
      default: 'generic',
    }),
    credential: str(
      "Kind of credential sent to the registry. 'ServiceAccountToken': a token of the Kubernetes ServiceAccount (spec.serviceAccountName, or the controller's own) is sent as a bearer token; generic provider only.",
      { enum: ['ServiceAccountToken'] },
    ),
    audiences: arr('Audience claims for JWT credentials such as ServiceAccountToken; required with them.', str('An audience claim.')),
    secretRef: localObjectReference('Secret of type kubernetes.io/dockerconfigjson with the registry login.'),
    verify: ociVerificationSchema('Verification of the signature of the pulled artifact, with cosign or notation.'),
    serviceAccountName: str("Kubernetes ServiceAccount whose image pull secrets (or workload identity, or token) authenticate the pull."),
    certSecretRef: certSecretRefSchema('registry'),
    proxySecretRef: proxySecretRefSchema('container registry'),
    interval: duration('How often the registry is checked for a new artifact (approximate, with jitter).'),
    timeout: timeout('Time limit for registry operations such as pulling.', '60s'),
    ignore: ignoreSchema,
    insecure: bool('Talk to the registry over plain HTTP instead of HTTPS.'),
    suspend: bool('Stops reconciliation of this OCIRepository while true; the last Artifact stays available.'),
  },
  ['url', 'interval'],
);

const status = sourceStatusSchema('OCIRepository', {
  url: str('Download address of the latest Artifact; prefer status.artifact for exact data.'),
  observedIgnore: observedIgnoreSchema,
  observedLayerSelector: layerSelector('The spec.layerSelector used for the current Artifact.'),
});

// Repository path components as the OCI distribution spec defines them.
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
const DIGEST = /^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const TAG = /^\w[\w.-]{0,127}$/;
const MEDIA_TYPE = /^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*$/;

/** Why an oci:// URL does not name a repository, or undefined when it does. */
function ociURLProblem(url: string): string | undefined {
  const rest = url.replace(/^oci:\/\//, '');
  const slash = rest.indexOf('/');
  if (slash <= 0) return "must be oci://<registry>/<repository>, such as oci://ghcr.io/org/app";
  const path = rest.slice(slash + 1);
  const at = path.indexOf('@');
  if (at >= 0) return `must not contain a digest; remove '${path.slice(at)}' and set spec.ref.digest`;
  const colon = path.indexOf(':');
  if (colon >= 0) return `must not contain a tag; remove '${path.slice(colon)}' and set spec.ref.tag`;
  if (!path.split('/').every((c) => PATH_COMPONENT.test(c))) return 'repository path components must be lowercase letters and digits, separated by ., _, __ or -';
  return undefined;
}

function validate(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!checkSpec(errors, o)) return errors;
  const s = o.spec as Partial<OCIRepositorySpec>;

  const before = errors.length;
  checkURL(errors, 'spec.url', s.url, ['oci']);
  const problem = typeof s.url === 'string' && errors.length === before ? ociURLProblem(s.url) : undefined;
  if (problem) errors.push(invalid('spec.url', s.url, problem));
  checkPositiveDuration(errors, 'spec.interval', s.interval);
  checkPositiveDuration(errors, 'spec.timeout', s.timeout);

  const ref = s.ref;
  if (ref?.digest) {
    if (!DIGEST.test(ref.digest)) errors.push(invalid('spec.ref.digest', ref.digest, "must be a digest such as 'sha256:<64 hex characters>'"));
    else if (ref.digest.startsWith('sha256:') && !/^sha256:[0-9a-f]{64}$/.test(ref.digest)) errors.push(invalid('spec.ref.digest', ref.digest, 'a sha256 digest has 64 lowercase hexadecimal characters'));
  }
  checkSemverRange(errors, 'spec.ref.semver', ref?.semver || undefined);
  checkRegExp(errors, 'spec.ref.semverFilter', ref?.semverFilter || undefined);
  if (ref?.tag && !TAG.test(ref.tag)) errors.push(invalid('spec.ref.tag', ref.tag, 'must be an OCI tag: up to 128 letters, digits, _, . or -, not starting with . or -'));
  if (s.layerSelector?.mediaType && !MEDIA_TYPE.test(s.layerSelector.mediaType)) {
    errors.push(invalid('spec.layerSelector.mediaType', s.layerSelector.mediaType, 'must be a media type such as application/vnd.cncf.flux.content.v1.tar+gzip'));
  }

  // Flux's CEL rules on credential and audiences.
  const sat = s.credential === 'ServiceAccountToken';
  if (s.audiences?.length && !sat) errors.push(forbidden('spec.audiences', "can be set only when spec.credential is 'ServiceAccountToken'"));
  if (sat && !s.audiences?.length) errors.push(required('spec.audiences', "must be set when spec.credential is 'ServiceAccountToken'"));
  if (sat && s.provider && s.provider !== 'generic') errors.push(forbidden('spec.credential', "'ServiceAccountToken' can only be used with spec.provider 'generic'"));

  checkCredentialRefs(errors, s);
  checkOCIVerification(errors, 'spec.verify', s.verify);
  return errors;
}

function warnings(o: KubeObject): string[] {
  const s = o.spec as Partial<OCIRepositorySpec> | undefined;
  if (!s) return [];
  const out = [...sourceWarnings(s), ...insecureWarning(s.insecure, 'the registry is reached over plain HTTP')];
  const ref = s.ref;
  if (ref?.digest && (ref.semver || ref.tag)) out.push(`spec.ref.${ref.semver ? 'semver' : 'tag'} is ignored because spec.ref.digest takes precedence`);
  else if (ref?.semver && ref.tag) out.push('spec.ref.tag is ignored because spec.ref.semver takes precedence');
  if (ref?.semverFilter && (!ref.semver || ref.digest)) out.push('spec.ref.semverFilter is ignored because spec.ref.semver is not what selects the artifact');
  out.push(...ociVerificationWarnings('spec.verify', s.verify));
  return out;
}

export const ociRepository: ResourceDefinition = {
  ...resourceNames('OCIRepository', 'ocirepositories', ['ocirepo']),
  hasArtifact: true,
  schema: objectSchema('OCIRepository pulls an OCI artifact from a container registry and produces an Artifact from one of its layers.', spec, status),
  printerColumns: readyFirstColumns({ name: 'URL', type: 'string', jsonPath: '.spec.url', description: 'Address of the OCI repository.' }),
  validate,
  warnings,
};
