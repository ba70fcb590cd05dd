// The one error type of talking to a cluster: kube-apiserver's metav1.Status answers (code, reason,
// message, causes) and the failures that never reached an answer (unreachable, timed out, too large),
// which carry code 0 and a reason of their own so callers can tell "the server said no" from "no server".

import type { Status, StatusCause } from '../apis/meta/types.js';

/** Reasons of failures on our side of the wire (code 0): no Status came back. */
export type TransportReason = 'Unreachable' | 'Timeout' | 'ResponseTooLarge' | 'InvalidResponse';

/** A non-2xx answer of kube-apiserver (`status` is its metav1.Status when it sent one), or a transport failure (code 0). */
export class KubeError extends Error {
  /** kube's StatusReason (`NotFound`, `Conflict`, `Forbidden`, …), or a TransportReason when code is 0. */
  readonly reason: string;
  readonly causes: StatusCause[];

  constructor(
    readonly code: number,
    message: string,
    readonly status?: Status,
    reason?: string,
    /** What failed underneath (a socket error): callers may report its own code and message. */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'KubeError';
    this.reason = reason ?? status?.reason ?? reasonForCode(code);
    this.causes = status?.details?.causes ?? [];
  }

  /** True when no answer came from the server (connection refused, timeout, oversized body). */
  get transport(): boolean {
    return this.code === 0;
  }

  static fromStatus(status: Status, fallbackCode = 500): KubeError {
    return new KubeError(status.code ?? fallbackCode, status.message ?? status.reason ?? 'request failed', status);
  }
}

/**
 * A failure in one line for logs and conditions: the HTTP code of an answer ("HTTP-Code: 403", the
 * form these messages had before they went through KubeClient), else what failed on the way.
 */
export function briefError(e: unknown): string {
  return e instanceof KubeError && e.code ? `HTTP-Code: ${e.code}` : (e as Error).message.split('\n')[0];
}

/** The kind named by an apiVersion/kind is not served by the cluster (after a discovery refresh). */
export class UnknownKindError extends KubeError {
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    // kubectl's wording: `no matches for kind "Foo" in version "example.com/v1"`.
    super(404, `no matches for kind ${JSON.stringify(kind)} in version ${JSON.stringify(apiVersion)}`, undefined, 'NotFound');
    this.name = 'UnknownKindError';
  }
}

/** kube's default StatusReason for an HTTP code (apimachinery `reasonForError` / `NewGenericServerResponse`). */
function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 406:
      return 'NotAcceptable';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 413:
      return 'RequestEntityTooLarge';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return code === 0 ? 'Unreachable' : 'Unknown';
  }
}
