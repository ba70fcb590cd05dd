// kube-apiserver's impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-<key>` headers make
// the request act as another user, each value allowed only by the `impersonate` verb on the matching
// resource (users, or serviceaccounts for system:serviceaccount:NS:NAME; groups; uids and
// userextras/<key> in authentication.k8s.io), asked of the same authorizer as every request.
// `kubectl --as` and `--as-group` send these.

import type { IncomingMessage } from 'node:http';
import { badRequest } from '../apis/meta/errors.js';
import { forbiddenError } from './authz/forbidden-message.js';
import type { Authorizer, RequestAttributes, UserInfo } from './types.js';

const USER = 'impersonate-user';
const GROUP = 'impersonate-group';
const UID = 'impersonate-uid';
const EXTRA = 'impersonate-extra-';
// kube's SplitUsername: a valid namespace (DNS label) and name (DNS subdomain); anything else is a user.
const SERVICE_ACCOUNT = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;

/** Every value of a header, in order (Node joins repeated headers; rawHeaders keeps them apart). */
function values(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].toLowerCase() === name) out.push(req.rawHeaders[i + 1]);
  return out;
}

/** `Impersonate-Extra-Foo%2fbar` → `foo/bar`: kube lowercases and percent-decodes extra keys. */
function extraKeys(req: IncomingMessage): string[] {
  const keys = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const h = req.rawHeaders[i].toLowerCase();
    if (h.startsWith(EXTRA) && h.length > EXTRA.length) keys.add(h.slice(EXTRA.length));
  }
  return [...keys];
}

const decodeKey = (k: string) => {
  try {
    return decodeURIComponent(k);
  } catch {
    throw badRequest(`invalid Impersonate-Extra- key ${JSON.stringify(k)}: not percent-encoded`);
  }
};

/**
 * The user the request acts as: `user` itself when it asks to impersonate no one, else the one the
 * headers name, each value checked with the authorizer. Throws 400 for headers without a user and
 * 403 (kube's wording) for what the authorizer refuses.
 */
export async function impersonatedUser(req: IncomingMessage, user: UserInfo, authorizer: Authorizer): Promise<UserInfo> {
  const names = values(req, USER).filter((n) => n !== ''); // an empty value impersonates no one, as in kube
  const groups = values(req, GROUP);
  const uids = values(req, UID);
  const extraHeaders = extraKeys(req);
  if (!names.length) {
    if (groups.length || uids.length || extraHeaders.length) throw badRequest('requested impersonation of groups, a uid or extra without impersonating a user');
    return user;
  }
  if (names.length > 1 || uids.length > 1) throw badRequest('only one Impersonate-User and one Impersonate-Uid header may be given');
  const name = names[0];
  const check = async (a: Omit<RequestAttributes, 'user' | 'verb' | 'path' | 'resourceRequest'>) => {
    const attributes: RequestAttributes = { user, verb: 'impersonate', path: '', resourceRequest: true, ...a };
    const d = await authorizer.authorize(attributes);
    if (!d.allowed) throw forbiddenError(attributes, d.reason);
  };

  const sa = SERVICE_ACCOUNT.exec(name);
  if (sa) await check({ apiGroup: '', resource: 'serviceaccounts', namespace: sa[1], name: sa[3] });
  else await check({ apiGroup: '', resource: 'users', name });
  for (const g of groups) await check({ apiGroup: '', resource: 'groups', name: g });
  if (uids.length) await check({ apiGroup: 'authentication.k8s.io', resource: 'uids', name: uids[0] });
  const extra: Record<string, string[]> = {};
  for (const raw of extraHeaders) {
    const key = decodeKey(raw);
    const vals = values(req, EXTRA + raw);
    // defineProperty: a key named "__proto__" is data, never the prototype.
    Object.defineProperty(extra, key, { value: vals, enumerable: true, writable: true, configurable: true });
    for (const v of vals) await check({ apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: key, name: v });
  }

  // kube's result: the named groups, or a service account's own when none are named; then
  // system:authenticated unless either it or system:unauthenticated is there (system:unauthenticated
  // for system:anonymous).
  const all = [...groups];
  if (sa && !groups.length) all.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  if (name === 'system:anonymous') {
    if (!all.includes('system:unauthenticated')) all.push('system:unauthenticated');
  } else if (!all.includes('system:authenticated') && !all.includes('system:unauthenticated')) all.push('system:authenticated');
  return { name, groups: all, ...(uids.length ? { uid: uids[0] } : {}), ...(extraHeaders.length ? { extra } : {}) };
}
