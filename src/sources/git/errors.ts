// Turns whatever isomorphic-git, our upload-pack client, node:http or TLS threw into a GitRemoteError
// with a reason the reconciler can act on and a message a user can act on (a FetchLimitError passes
// through as it is). URLs in messages never carry credentials.

import { FetchLimitError } from './limits.js';
import { GitRemoteError } from './types.js';

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

/** The URL without user:password@, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

/** An SSH remote (`ssh://…` or scp-like `user@host:path`): not fetched yet (issue: sources over SSH). */
export function isSshUrl(url: string): boolean {
  return /^ssh:\/\//i.test(url) || /^[^/@:]+@[^/@:]+:/.test(url);
}

export function sshUnsupported(url: string): GitRemoteError {
  return new GitRemoteError(
    `cannot fetch ${redactUrl(url)}: SSH is not supported yet (this server speaks Git over HTTP(S) only); use an https:// URL with username/password or bearerToken credentials`,
    'Unsupported',
  );
}

/** A response other than 200 from the remote. */
export function httpStatusError(status: number, statusMessage: string, url: string, action = 'fetch'): GitRemoteError {
  const where = redactUrl(url);
  const text = `${status} ${statusMessage}`.trim();
  if (status === 401 || status === 403) return new GitRemoteError(`failed to ${action} ${where}: authentication failed (HTTP ${text}); check the credentials in the secret`, 'AuthenticationFailed');
  if (status === 404) return new GitRemoteError(`failed to ${action} ${where}: repository not found (HTTP ${text})`, 'NotFound');
  return new GitRemoteError(`failed to ${action} ${where}: the server answered HTTP ${text}`, 'Unreachable');
}

export function toRemoteError(err: unknown, url: string, action = 'fetch'): GitRemoteError | FetchLimitError {
  if (err instanceof GitRemoteError || err instanceof FetchLimitError) return err;
  const e = err as { code?: string; name?: string; message?: string; data?: { statusCode?: number; statusMessage?: string; response?: string } };
  const where = redactUrl(url);
  const code = e?.code ?? '';
  if (code === 'HttpError') return httpStatusError(e.data?.statusCode ?? 0, e.data?.statusMessage ?? '', url, action);
  if (code === 'SmartHttpError') return new GitRemoteError(`failed to ${action} ${where}: the URL does not serve a Git repository over smart HTTP`, 'NotFound');
  if (code === 'UnknownTransportError') return isSshUrl(url) ? sshUnsupported(url) : new GitRemoteError(`cannot fetch ${where}: only http:// and https:// URLs are supported`, 'Unsupported');
  if (code === 'UrlParseError') return new GitRemoteError(`cannot fetch ${where}: not a valid Git URL`, 'Invalid');
  if (TLS_CODES.has(code))
    return new GitRemoteError(`failed to ${action} ${where}: TLS certificate not trusted (${code}: ${e.message}); if the server uses a private CA, put it in the secret as ca.crt`, 'Unreachable');
  if (NETWORK_CODES.has(code)) return new GitRemoteError(`failed to ${action} ${where}: ${e.message ?? code}`, 'Unreachable');
  if (e?.name === 'AbortError' || code === 'ABORT_ERR') {
    const reason = (e as { cause?: { message?: string } }).cause?.message;
    return new GitRemoteError(`failed to ${action} ${where}: aborted${reason ? ` (${reason})` : ''}`, 'Unreachable');
  }
  return new GitRemoteError(`failed to ${action} ${where}: ${e?.message ?? String(err)}`, 'Unreachable');
}
