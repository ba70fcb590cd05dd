// GitRepository: a Git repository checked out at a branch, tag, semver range, reference or commit and
// packed into an Artifact. Same spec and status as Flux's source.toolkit.fluxcd.io/v1 GitRepository.

import type { FieldError, ResourceDefinition } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { arr, artifactSchema, bool, checkURL, duration, forbidden, invalid, localObjectReference, obj, objectSchema, required, str, resourceNames } from './common.js';
import {
  type Artifact,
  type LocalObjectReference,
  type SourceObject,
  type SourceStatus,
  checkPositiveDuration,
  checkCredentialRefs,
  checkRefName,
  checkSemverRange,
  checkSpec,
  ignoreSchema,
  observedIgnoreSchema,
  plainHTTPCredentialsWarning,
  proxySecretRefSchema,
  sourceColumns,
  sourceStatusSchema,
  sourceWarnings,
  timeout,
} from './source.js';

export type GitVerificationMode = 'head' | 'HEAD' | 'Tag' | 'TagAndHEAD';

export interface GitRepositoryRef {
  branch?: string;
  tag?: string;
  semver?: string;
  name?: string;
  commit?: string;
}

export interface GitRepositoryInclude {
  repository: LocalObjectReference;
  fromPath?: string;
  toPath?: string;
}

export interface GitRepositorySpec {
  url: string;
  secretRef?: LocalObjectReference;
  provider?: 'generic' | 'aws' | 'azure' | 'github';
  serviceAccountName?: string;
  interval: string;
  timeout?: string;
  ref?: GitRepositoryRef;
  verify?: { mode?: GitVerificationMode; secretRef: LocalObjectReference };
  proxySecretRef?: LocalObjectReference;
  ignore?: string;
  suspend?: boolean;
  recurseSubmodules?: boolean;
  include?: GitRepositoryInclude[];
  sparseCheckout?: string[];
}

export interface GitRepositoryStatus extends SourceStatus {
  includedArtifacts?: Artifact[];
  observedIgnore?: string;
  observedRecurseSubmodules?: boolean;
  observedInclude?: GitRepositoryInclude[];
  observedSparseCheckout?: string[];
  sourceVerificationMode?: GitVerificationMode;
}

export type GitRepository = SourceObject<GitRepositorySpec, GitRepositoryStatus>;

const includeSchema = obj(
  'A GitRepository whose Artifact (or part of it) is copied into this one.',
  {
    repository: localObjectReference('The GitRepository, in the same namespace, whose Artifact is included.'),
    fromPath: str('Path inside the included Artifact to copy from; the Artifact root when empty.'),
    toPath: str("Path inside this Artifact to copy to; the included GitRepository's name when empty."),
  },
  ['repository'],
);

const spec = obj(
  'The Git repository to fetch and how to turn it into an Artifact.',
  {
    url: str('Address of the Git repository: http://, https:// or ssh://.', { pattern: '^(http|https|ssh)://.*$' }),
    secretRef: localObjectReference(
      "Secret with the credentials: 'username' and 'password' (basic auth) or 'bearerToken' for HTTP(S); 'identity' and 'known_hosts' for SSH; GitHub App keys for the github provider.",
    ),
    provider: str("How to authenticate: 'generic' uses spec.secretRef; 'azure', 'aws' and 'github' obtain credentials from that platform. Treated as 'generic' when empty.", {
      enum: ['generic', 'aws', 'azure', 'github'],
    }),
    serviceAccountName: str('Kubernetes ServiceAccount whose workload identity authenticates to the repository; only for the azure and aws providers.'),
    interval: duration('How often the repository is checked for new commits (approximate, with jitter).'),
    timeout: timeout('Time limit for Git operations such as clone and fetch.', '60s'),
    ref: obj("The Git reference to check out and follow; the remote's default branch (its HEAD) when empty. When several are set, commit wins over name, name over semver, semver over tag, tag over branch.", {
      branch: str("Branch to check out; the remote's default branch (HEAD) when no ref field is set."),
      tag: str('Tag to check out; takes precedence over branch.'),
      semver: str('Semver range; the highest matching tag is checked out. Takes precedence over tag.'),
      name: str('Full Git reference to check out, such as refs/heads/main, refs/tags/v1.0.0 or refs/pull/42/head. Takes precedence over branch, tag and semver.'),
      commit: str('Commit SHA to check out; takes precedence over every other field. With branch set, the branch is cloned shallowly and must contain the commit.'),
    }),
    verify: obj(
      'Verification of the OpenPGP or SSH signatures of the checked-out commit and/or tag.',
      {
        mode: str("What to verify: 'HEAD' (the checked-out commit; 'head' is an older spelling), 'Tag' (the tag object) or 'TagAndHEAD' (both).", {
          enum: ['head', 'HEAD', 'Tag', 'TagAndHEAD'],
          default: 'HEAD',
        }),
        secretRef: localObjectReference('Secret with the public keys of trusted authors: PGP keys under keys ending in .asc, SSH keys under keys ending in .sshpub.'),
      },
      ['secretRef'],
    ),
    proxySecretRef: proxySecretRefSchema('Git server'),
    ignore: ignoreSchema,
    suspend: bool('Stops reconciliation of this GitRepository while true; the last Artifact stays available.'),
    recurseSubmodules: bool('Also clone and check out every submodule, with its default settings.'),
    include: arr('Other GitRepositories whose Artifact contents are copied into the Artifact of this one.', includeSchema),
    sparseCheckout: arr('Directories to check out; when set, only these directories end up in the Artifact.', str('A directory path relative to the repository root.')),
  },
  ['url', 'interval'],
);

const status = sourceStatusSchema('GitRepository', {
  includedArtifacts: arr('The Artifacts of spec.include as they were copied into the current Artifact, in the same order.', {
    ...artifactSchema,
    description: 'The Artifact of one included GitRepository.',
  }),
  observedIgnore: observedIgnoreSchema,
  observedRecurseSubmodules: bool('The spec.recurseSubmodules setting used for the current Artifact.'),
  observedInclude: arr('The spec.include list used for the current Artifact.', includeSchema),
  observedSparseCheckout: arr('The spec.sparseCheckout directories used for the current Artifact.', str('A directory path relative to the repository root.')),
  sourceVerificationMode: str('The verification mode last used to verify the checked-out commit and/or tag.'),
});

const COMMIT_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;

/** `git check-ref-format` rules for a full reference name (at least two components). */
export function isValidGitRefName(name: string): boolean {
  if (!name.includes('/') || name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name === '@') return false;
  if (name.includes('..') || name.includes('//') || name.includes('@{')) return false;
  // Control characters, space, ~ ^ : ? * [ and backslash are never allowed.
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name.split('/').every((c) => !c.startsWith('.') && !c.endsWith('.lock'));
}

/** spec.ref fields from highest to lowest precedence, as Flux resolves them. */
const REF_PRECEDENCE = ['commit', 'name', 'semver', 'tag', 'branch'] as const;

/** Which field of spec.ref the checkout uses. */
const effectiveRef = (ref: GitRepositoryRef | undefined) => REF_PRECEDENCE.find((k) => ref?.[k]);

function validate(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!checkSpec(errors, o)) return errors;
  const s = o.spec as Partial<GitRepositorySpec>;

  // scp-like addresses pasted into an ssh:// URL put the path where the port belongs.
  if (typeof s.url === 'string' && /^ssh:\/\/[^/]*:(?![0-9]*(\/|$))/.test(s.url)) {
    errors.push(invalid('spec.url', s.url, "must be ssh://user@host[:port]/path: replace the ':' after the host with '/'"));
  } else checkURL(errors, 'spec.url', s.url, ['http', 'https', 'ssh']);
  checkPositiveDuration(errors, 'spec.interval', s.interval);
  checkPositiveDuration(errors, 'spec.timeout', s.timeout);
  checkCredentialRefs(errors, s);

  if (s.serviceAccountName && s.provider !== 'azure' && s.provider !== 'aws') {
    errors.push(forbidden('spec.serviceAccountName', "can only be set when spec.provider is 'azure' or 'aws'"));
  }
  if (s.provider === 'github' && !s.secretRef) {
    errors.push(required('spec.secretRef', "a Secret with the GitHub App credentials is required when spec.provider is 'github'"));
  }

  const ref = s.ref;
  checkSemverRange(errors, 'spec.ref.semver', ref?.semver || undefined);
  if (ref?.name && !isValidGitRefName(ref.name)) {
    errors.push(invalid('spec.ref.name', ref.name, 'must be a valid Git reference name such as refs/heads/main or refs/tags/v1.0.0 (see git check-ref-format)'));
  }
  if (ref?.commit && !COMMIT_SHA.test(ref.commit)) {
    errors.push(invalid('spec.ref.commit', ref.commit, 'must be a full commit SHA: 40 (SHA-1) or 64 (SHA-256) hexadecimal characters'));
  }

  if (s.verify) {
    checkRefName(errors, 'spec.verify.secretRef.name', s.verify.secretRef?.name);
    const mode = s.verify.mode ?? 'HEAD';
    const used = effectiveRef(ref);
    const checksOutTag = used === 'tag' || used === 'semver' || (used === 'name' && ref!.name!.startsWith('refs/tags/'));
    if ((mode === 'Tag' || mode === 'TagAndHEAD') && !checksOutTag) {
      errors.push(invalid('spec.verify.mode', mode, 'verifying a tag needs spec.ref to check out a tag: spec.ref.tag, spec.ref.semver or a spec.ref.name under refs/tags/, with no spec.ref.commit'));
    }
  }

  const toPaths = new Map<string, number>();
  s.include?.forEach((inc, i) => {
    const name = inc?.repository?.name;
    checkRefName(errors, `spec.include[${i}].repository.name`, name);
    if (name && name === o.metadata?.name) errors.push(invalid(`spec.include[${i}].repository.name`, name, 'a GitRepository cannot include itself'));
    const to = inc?.toPath || name;
    if (to === undefined) return;
    const first = toPaths.get(to);
    if (first === undefined) toPaths.set(to, i);
    else errors.push({ type: 'FieldValueDuplicate', field: `spec.include[${i}].toPath`, value: to, message: `spec.include[${first}] already copies to this path` });
  });

  const seen = new Set<string>();
  s.sparseCheckout?.forEach((dir, i) => {
    const field = `spec.sparseCheckout[${i}]`;
    const clean = dir.replace(/^\.\//, '');
    if (!clean || dir.startsWith('/') || clean.split('/').includes('..')) errors.push(invalid(field, dir, 'must be a non-empty directory path relative to the repository root'));
    else if (seen.has(clean)) errors.push({ type: 'FieldValueDuplicate', field, value: dir, message: 'directory is listed more than once' });
    seen.add(clean);
  });
  return errors;
}

function warnings(o: KubeObject): string[] {
  const s = o.spec as Partial<GitRepositorySpec> | undefined;
  if (!s) return [];
  const out = sourceWarnings(s);
  if (s.secretRef) out.push(...plainHTTPCredentialsWarning(s.url, 'spec.secretRef'));
  if (s.verify?.mode === 'head') out.push("spec.verify.mode 'head' is kept for backwards compatibility; use 'HEAD'");
  const used = effectiveRef(s.ref);
  if (!used) return out; // no ref: the remote's default branch, which needs no warning
  for (const k of REF_PRECEDENCE.slice(REF_PRECEDENCE.indexOf(used) + 1)) {
    // commit + branch is documented: the branch is cloned shallowly and must contain the commit.
    if (s.ref?.[k] && !(used === 'commit' && k === 'branch')) out.push(`spec.ref.${k} is ignored because spec.ref.${used} takes precedence`);
  }
  return out;
}

export const gitRepository: ResourceDefinition = {
  ...resourceNames('GitRepository', 'gitrepositories', ['gitrepo']),
  hasArtifact: true,
  schema: objectSchema('GitRepository fetches a Git repository at a chosen reference and produces an Artifact from it.', spec, status),
  printerColumns: sourceColumns({ name: 'URL', type: 'string', jsonPath: '.spec.url', description: 'Address of the Git repository.' }),
  validate,
  warnings,
};
