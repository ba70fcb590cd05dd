// The self reviews every kube-apiserver serves, so `kubectl auth can-i` (and `--list`) and `kubectl
// auth whoami` work against this server standalone: SelfSubjectAccessReview (authorization.k8s.io/v1)
// asks this server's own authorizer about the caller, SelfSubjectRulesReview lists the rules it knows,
// SelfSubjectReview (authentication.k8s.io/v1) returns who the caller was authenticated as. Create-only and never stored, as in kube.

import type { ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';
import { badRequest } from '../apis/meta/errors.js';
import type { Authorizer, UserInfo } from '../auth/types.js';
import type { MessageSchema } from './protobuf.js';

/** A create-only resource answered from the request alone. */
export interface ReviewResource {
  def: ResourceDefinition;
  /** The fields of its protobuf message that the review reads (kubectl sends protobuf for these). */
  protobuf: MessageSchema;
  /** `namespace` is the URL's, for a namespaced review. */
  review(body: Record<string, unknown>, user: UserInfo, namespace?: string): Promise<KubeObject>;
}

// k8s.io/api/authorization/v1 generated.proto, the fields read here.
const RESOURCE_ATTRIBUTES: MessageSchema = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
};
const SELF_SUBJECT_ACCESS_REVIEW: MessageSchema = { 2: ['spec', { 1: ['resourceAttributes', RESOURCE_ATTRIBUTES], 2: ['nonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] }] }] };

const reviewDef = (group: string, kind: string, plural: string): ResourceDefinition => ({
  group,
  version: 'v1',
  namespaced: false,
  kind,
  listKind: `${kind}List`,
  plural,
  singular: kind.toLowerCase(),
  shortNames: [],
  categories: [],
  hasArtifact: false,
  hasStatus: false,
  verbs: ['create'],
  schema: { type: 'object' },
  printerColumns: [],
  validate: () => [],
  warnings: () => [],
});

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown, field: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`${field}: Invalid value: must be a string`);
  return v;
};

function checkKind(body: Record<string, unknown>, apiVersion: string, kind: string): void {
  if ((body.apiVersion !== undefined && body.apiVersion !== apiVersion) || (body.kind !== undefined && body.kind !== kind)) {
    throw badRequest(`the object provided is unrecognized (expected ${apiVersion}, Kind=${kind})`);
  }
}

const userInfo = (u: UserInfo) => ({ username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) });

/** A user named by a SubjectAccessReview's spec (user, uid, groups, extra). */
function specUser(spec: Record<string, unknown>): UserInfo {
  const groups = spec.groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw badRequest('spec.groups: Invalid value: must be a list of strings');
  // JSON gives extra as key → list; protobuf as key → {items: list}.
  const extra = isObject(spec.extra)
    ? Object.fromEntries(Object.entries(spec.extra).map(([k, v]) => [k, Array.isArray(v) ? v : isObject(v) && Array.isArray(v.items) ? v.items : []]))
    : undefined;
  return { name: str(spec.user, 'spec.user') ?? '', groups: groups as string[], ...(str(spec.uid, 'spec.uid') ? { uid: spec.uid as string } : {}), ...(extra ? { extra } : {}) };
}

/** The decision on the attributes a (Self)SubjectAccessReview spec carries, for `user`. */
async function decide(authorizer: Authorizer, spec: Record<string, unknown>, user: UserInfo) {
  const ra = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nra = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if (!ra === !nra) throw badRequest('spec: Invalid value: exactly one of resourceAttributes or nonResourceAttributes must be specified');
  return ra
    ? authorizer.authorize({
        user,
        resourceRequest: true,
        verb: str(ra.verb, 'spec.resourceAttributes.verb') ?? '',
        namespace: str(ra.namespace, 'spec.resourceAttributes.namespace') || undefined,
        apiGroup: str(ra.group, 'spec.resourceAttributes.group') ?? '',
        apiVersion: str(ra.version, 'spec.resourceAttributes.version') || undefined,
        resource: str(ra.resource, 'spec.resourceAttributes.resource') ?? '',
        subresource: str(ra.subresource, 'spec.resourceAttributes.subresource') || undefined,
        name: str(ra.name, 'spec.resourceAttributes.name') || undefined,
        path: '',
      })
    : authorizer.authorize({ user, resourceRequest: false, verb: str(nra!.verb, 'spec.nonResourceAttributes.verb') ?? '', path: str(nra!.path, 'spec.nonResourceAttributes.path') ?? '' });
}

/** SubjectAccessReview about another user, or its namespaced form LocalSubjectAccessReview. */
function subjectAccessReview(authorizer: Authorizer, kind: 'SubjectAccessReview' | 'LocalSubjectAccessReview', plural: string): ReviewResource {
  return {
    def: { ...reviewDef('authorization.k8s.io', kind, plural), namespaced: kind === 'LocalSubjectAccessReview' },
    // SubjectAccessReviewSpec: user 3, groups 4 (repeated), extra 5 (map of ExtraValue{items 1}), uid 6.
    protobuf: {
      2: [
        'spec',
        {
          1: ['resourceAttributes', RESOURCE_ATTRIBUTES],
          2: ['nonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] }],
          3: ['user', 'string'],
          4: ['groups', 'string', 'repeated'],
          5: ['extra', { 1: ['key', 'string'], 2: ['value', { 1: ['items', 'string', 'repeated'] }] }, 'map'],
          6: ['uid', 'string'],
        },
      ],
    },
    async review(body, _user, namespace) {
      checkKind(body, 'authorization.k8s.io/v1', kind);
      const spec = isObject(body.spec) ? body.spec : {};
      if (namespace !== undefined) {
        const ra = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
        if (!ra || ra.namespace !== namespace) throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
      }
      const user = specUser(spec);
      if (!user.name && !user.groups.length) throw badRequest('spec.user: Invalid value: at least one of user or group must be specified');
      const d = await decide(authorizer, spec, user);
      return { apiVersion: 'authorization.k8s.io/v1', kind, metadata: { creationTimestamp: null, ...(namespace !== undefined ? { namespace } : {}) } as never, spec, status: { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) } };
    },
  };
}

/**
 * The reviews: the self reviews for everyone (system:basic-user), and, for those RBAC allows to
 * create them (kube's system:auth-delegator), SubjectAccessReview about another user and TokenReview
 * of a bearer token with `tokens`.
 */
export function reviewResources(authorizer: Authorizer, tokens?: (token: string) => Promise<UserInfo | undefined>): ReviewResource[] {
  return [
    subjectAccessReview(authorizer, 'SubjectAccessReview', 'subjectaccessreviews'),
    // The namespaced form (kubectl auth can-i --as in a namespace by an admin of it): its resource attributes must name that namespace.
    subjectAccessReview(authorizer, 'LocalSubjectAccessReview', 'localsubjectaccessreviews'),
    {
      def: reviewDef('authentication.k8s.io', 'TokenReview', 'tokenreviews'),
      protobuf: { 2: ['spec', { 1: ['token', 'string'], 2: ['audiences', 'string', 'repeated'] }] },
      async review(body) {
        checkKind(body, 'authentication.k8s.io/v1', 'TokenReview');
        const spec = isObject(body.spec) ? body.spec : {};
        const token = str(spec.token, 'spec.token');
        if (!token) throw badRequest('spec.token: Required value: a token is required');
        const who = tokens ? await tokens(token) : undefined;
        // The token is never echoed back.
        const { token: _t, ...rest } = spec;
        return {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          metadata: { creationTimestamp: null } as never,
          spec: rest,
          // No audiences in the answer: these authenticators do not check them, and kube's clients
          // treat an answer without the audiences they asked for as not valid for them.
          status: who ? { authenticated: true, user: userInfo(who) } : { authenticated: false, error: 'invalid bearer token' },
        };
      },
    },
    {
      def: reviewDef('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
      protobuf: SELF_SUBJECT_ACCESS_REVIEW,
      async review(body, user) {
        checkKind(body, 'authorization.k8s.io/v1', 'SelfSubjectAccessReview');
        const spec = isObject(body.spec) ? body.spec : {};
        const decision = await decide(authorizer, spec, user);
        return {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          metadata: { creationTimestamp: null } as never,
          spec,
          status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
        };
      },
    },
    {
      // kubectl auth can-i --list: the rules the authorizer knows for the caller in one namespace.
      def: reviewDef('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
      protobuf: { 2: ['spec', { 1: ['namespace', 'string'] }] },
      async review(body, user) {
        checkKind(body, 'authorization.k8s.io/v1', 'SelfSubjectRulesReview');
        const spec = isObject(body.spec) ? body.spec : {};
        const namespace = str(spec.namespace, 'spec.namespace') ?? '';
        const r = authorizer.rulesFor ? await authorizer.rulesFor(user, namespace) : { rules: [], incomplete: true };
        const status = {
          resourceRules: r.rules.filter((x) => !x.nonResourceURLs?.length).map((x) => ({ verbs: x.verbs, apiGroups: x.apiGroups ?? [], resources: x.resources ?? [], ...(x.resourceNames?.length ? { resourceNames: x.resourceNames } : {}) })),
          nonResourceRules: r.rules.filter((x) => x.nonResourceURLs?.length).map((x) => ({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs })),
          incomplete: r.incomplete,
          ...('evaluationError' in r && r.evaluationError ? { evaluationError: r.evaluationError } : {}),
        };
        return { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', metadata: { creationTimestamp: null } as never, spec: { namespace }, status };
      },
    },
    {
      def: reviewDef('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews'),
      protobuf: {},
      async review(body, user) {
        checkKind(body, 'authentication.k8s.io/v1', 'SelfSubjectReview');
        return { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: { creationTimestamp: null } as never, status: { userInfo: userInfo(user) } };
      },
    },
  ];
}
