// kube's anonymous user: what a request with no credential at all becomes when --anonymous-auth is
// on. It is not in system:authenticated, so RBAC bindings for that group do not reach it.

import type { UserInfo } from '../types.js';

export const ANONYMOUS_USER = 'system:anonymous';
export const UNAUTHENTICATED_GROUP = 'system:unauthenticated';
export const AUTHENTICATED_GROUP = 'system:authenticated';

export const anonymousUser = (): UserInfo => ({ name: ANONYMOUS_USER, groups: [UNAUTHENTICATED_GROUP] });
