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

/** A rule as SelfSubjectRulesReview lists it: a resource rule or a non-resource one. */
export interface Rule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** What a user may do in a namespace, as far as an authorizer can tell (kube's RuleResolver). */
export interface Rules {
  rules: Rule[];
  /** Some authorizer could not list its rules (a webhook): the list may be short. */
  incomplete: boolean;
  evaluationError?: string;
}

export interface Authorizer {
  authorize(a: RequestAttributes): Promise<Decision>;
  /** The rules that apply to `user` in `namespace`; an authorizer without it makes a list incomplete. */
  rulesFor?(user: UserInfo, namespace: string): Promise<Rules>;
}
