// Errors that carry what the runtime should do next (as source-controller's internal/error does):
// a Stalling error needs a change of the object to get anywhere, so it is not retried; a Waiting
// error retries after a set time without counting as a failure; anything else retries with backoff.

export interface ReasonedError {
  /** CamelCase condition reason, e.g. GitOperationFailed, AuthenticationFailed. */
  reason: string;
  /** The condition of the kind to set besides Ready (e.g. FetchFailed), if any. */
  condition?: string;
}

export class StallingError extends Error implements ReasonedError {
  constructor(
    message: string,
    readonly reason: string,
    readonly condition?: string,
  ) {
    super(message);
  }
}

export class WaitingError extends Error implements ReasonedError {
  constructor(
    message: string,
    readonly reason: string,
    readonly requeueAfterMs: number,
    readonly condition?: string,
  ) {
    super(message);
  }
}

/** A failure worth retrying with backoff (a network error, a remote that is down). */
export class ReconcileError extends Error implements ReasonedError {
  constructor(
    message: string,
    readonly reason: string,
    readonly condition?: string,
  ) {
    super(message);
  }
}
