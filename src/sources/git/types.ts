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

// ---- added with the implementation ----

/** The remote's advertised refs, from one GET of info/refs. */
export interface RemoteRefs {
  /** The branch the remote's HEAD points at (`refs/heads/main`), when the server says. */
  head?: string;
  /** Ref name → object; `peeled` is the commit an annotated tag points at. */
  refs: Map<string, { oid: string; peeled?: string }>;
  /** What upload-pack offers (`side-band-64k`, `shallow`, `agent=…`), as the advertisement lists it. */
  capabilities?: string[];
}

/** Per-request options for anything that talks to the remote. */
export interface GitRequestOptions {
  signal?: AbortSignal;
  /** Socket inactivity timeout in ms (default 60 s). */
  timeoutMs?: number;
  /** An HTTP proxy for every request (Flux's spec.proxySecretRef). */
  proxy?: GitProxy;
}

/** An HTTP proxy: `http://` remotes go as absolute-URI requests, `https://` ones through CONNECT. */
export interface GitProxy {
  /** `http://host:port`; credentials in it are used when username is not given. */
  url: string;
  username?: string;
  password?: string;
}

/** A tree entry left out of the artifact, for the caller to surface. */
export interface SkippedEntry {
  path: string;
  type: 'symlink' | 'submodule';
  /** Symlink target or submodule commit. */
  target: string;
}

/** spec.verify.mode; `head` is Flux's deprecated spelling of HEAD. */
export type VerifyMode = 'HEAD' | 'head' | 'Tag' | 'TagAndHEAD';

export interface VerifiedSignature {
  object: 'commit' | 'tag';
  /** Commit SHA or tag name. */
  name: string;
  /** Primary key ID, 16 upper-case hex, as Flux prints it. */
  keyId: string;
  /** Primary key fingerprint, upper-case hex. */
  fingerprint: string;
}

/** A signature check failed: unsigned object, unknown key, bad signature, or nothing to verify. */
export class SignatureVerificationError extends Error {}
