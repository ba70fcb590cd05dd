// Who is asking (authentication) and whether they may (authorization). Standalone, a client
// certificate signed by the server's CA names the user; in a cluster, later issues add front-proxy
// headers, bearer tokens (TokenReview) and SubjectAccessReview.

import type { IncomingMessage } from 'node:http';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Returns the user, or undefined when this authenticator has nothing to say about the request. */
export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<UserInfo | undefined>;
}

/** kube's authorizer.Attributes, as a SubjectAccessReview would carry them. */
export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  namespace?: string;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  path: string;
  resourceRequest: boolean;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

export interface Authorizer {
  authorize(a: RequestAttributes): Promise<Decision>;
}
