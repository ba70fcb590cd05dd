// Typed build failures. The Kustomization reconciler turns `reason` into a condition reason and
// `message` into its message, so both are meant to be read by a user.

export type BuildErrorReason =
  | 'ArtifactFailed' // the artifact tree is unusable: a symlink or a reference leaves the root
  | 'PathNotFound' // spec.path (or the artifact root) does not exist or is not a directory
  | 'InvalidYAML' // a manifest does not parse: the message names the file and the line
  | 'RemoteBaseRefused' // a resource, base or component is a URL or a Git remote
  | 'BuildFailed' // kustomize refused the tree, timed out, or produced too much output
  | 'SubstitutionFailed'; // postBuild variables could not be substituted

export class BuildError extends Error {
  override readonly name = 'BuildError';
  constructor(
    readonly reason: BuildErrorReason,
    message: string,
    readonly details: { file?: string; line?: number } = {},
  ) {
    super(message);
  }
}

export const isBuildError = (e: unknown): e is BuildError => e instanceof BuildError;
