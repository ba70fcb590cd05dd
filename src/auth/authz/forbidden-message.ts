// The 403 a denied request gets, worded as kube-apiserver's responsewriters.Forbidden words it, so
// kubectl prints the line operators already know: `<resource>.<group> "<name>" is forbidden: User
// "<user>" cannot <verb> resource "<resource>/<sub>" in API group "<group>" in the namespace "<ns>"`.

import { forbidden, type StatusError } from '../../apis/meta/errors.js';
import type { RequestAttributes } from '../types.js';

/** Go's %q for the strings that reach here: backslash escapes, \xNN for other control bytes. */
function quote(s: string): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  return `"${s.replace(/["\\\x00-\x1f\x7f]/g, (c) => named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

/** kube's sanitizer: the message may be shown in a browser. */
const sanitize = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The sentence naming who cannot do what (kube's forbiddenMessage). */
export function forbiddenMessage(a: RequestAttributes): string {
  const user = quote(a.user.name);
  if (!a.resourceRequest) return `User ${user} cannot ${a.verb} path ${quote(a.path)}`;
  const resource = quote(a.subresource ? `${a.resource ?? ''}/${a.subresource}` : (a.resource ?? ''));
  const scope = a.namespace ? `in the namespace ${quote(a.namespace)}` : 'at the cluster scope';
  return `User ${user} cannot ${a.verb} resource ${resource} in API group ${quote(a.apiGroup ?? '')} ${scope}`;
}

/** The whole Status message, with the authorizer's reason appended after `: ` when there is one. */
export function forbiddenStatusMessage(a: RequestAttributes, reason?: string): string {
  const why = sanitize(forbiddenMessage(a)) + (reason ? `: ${reason}` : '');
  const group = a.resourceRequest ? (a.apiGroup ?? '') : '';
  const resource = a.resourceRequest ? (a.resource ?? '') : '';
  if (!resource && !group) return `forbidden: ${why}`;
  const qualified = group ? `${resource}.${group}` : resource;
  return a.name ? `${qualified} ${quote(a.name)} is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
}

/** The 403 StatusError for a denied request; details carry group, resource (as kind) and name. */
export function forbiddenError(a: RequestAttributes, reason?: string): StatusError {
  const details = a.resourceRequest
    ? { ...(a.name ? { name: a.name } : {}), ...(a.apiGroup ? { group: a.apiGroup } : {}), ...(a.resource ? { kind: a.resource } : {}) }
    : {};
  return forbidden(forbiddenStatusMessage(a, reason), details);
}
