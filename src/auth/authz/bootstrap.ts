// The default policy kube-apiserver bootstraps and every cluster has: any authenticated user may read
// discovery, OpenAPI, version and health (ClusterRole system:discovery bound to system:authenticated)
// and ask what they may do and who they are (system:basic-user: the self reviews); system:auth-delegator
// (TokenReview, SubjectAccessReview) is defined, bound to no one.
// The standalone RBAC evaluator starts from it, so kubectl works for users with narrow roles.

import type { RBACObject } from './rbac.js';

const RBAC = 'rbac.authorization.k8s.io';

export function bootstrapPolicy(): RBACObject[] {
  return [
    {
      kind: 'ClusterRole',
      metadata: { name: 'system:discovery' },
      rules: [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] }],
    },
    {
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:discovery' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:discovery' },
      subjects: [{ apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' }],
    },
    {
      kind: 'ClusterRole',
      metadata: { name: 'system:basic-user' },
      rules: [
        { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
      ],
    },
    {
      // Not bound by default, as in kube: bind it to let a client review other users' tokens and access.
      kind: 'ClusterRole',
      metadata: { name: 'system:auth-delegator' },
      rules: [
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ],
    },
    {
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:basic-user' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:basic-user' },
      subjects: [{ apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' }],
    },
  ];
}
