// The Git fetcher's contract: plain data in, plain data out; no Kubernetes types inside.

/** spec.ref of a GitRepository; precedence commit > name > semver > tag > branch. */
export interface GitRef {
  branch?: string;
  tag?: string;
  semver?: string;
  name?: string;
  commit?: string;
}

export interface GitAuth {
  username?: string;
  password?: string;
  bearerToken?: string;
  /** PEM bundle of CA certificates to trust for HTTPS (a private CA). */
  caCert?: string;
}

/** What the remote's refs say the ref means, found with one small request (no pack download). */
export interface ResolvedRef {
  /** Full commit SHA-1 the artifact is built from. */
  commit: string;
  /** Flux's revision string: `main@sha1:<hex>`, `v1.2.3@sha1:<hex>`, `refs/heads/x@sha1:<hex>`, `sha1:<hex>`. */
  revision: string;
  /** The ref fetched (refs/heads/main, refs/tags/v1.2.3), when there is one. */
  refName?: string;
  /** For tags: the tag object's SHA when the tag is annotated (needed for tag signature checks). */
  tagObject?: string;
}

/** The remote could not be used: unreachable, authentication refused, not a Git repository, … */
export class GitRemoteError extends Error {
  constructor(
    message: string,
    readonly reason: 'Unreachable' | 'AuthenticationFailed' | 'NotFound' | 'Unsupported' | 'RefNotFound' | 'Invalid',
  ) {
    super(message);
  }
}
