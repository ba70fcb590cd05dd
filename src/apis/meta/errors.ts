// Handlers throw a StatusError; one error handler turns it into a metav1.Status response.
// Messages follow kube-apiserver's wording so kubectl prints what operators already know.

import type { FieldError } from './resource.js';
import type { Status, StatusCause, StatusDetails } from './types.js';

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `gitrepositories.gitops.toolkit` — how kube names a resource in messages. */
export interface ResourceRef {
  group: string;
  resource: string;
}
const qualified = (r: ResourceRef) => (r.group ? `${r.resource}.${r.group}` : r.resource);

export const notFound = (r: ResourceRef, name: string) =>
  new StatusError(404, 'NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.resource });

export const alreadyExists = (r: ResourceRef, name: string) =>
  new StatusError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, { name, group: r.group, kind: r.resource });

export const conflict = (r: ResourceRef, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, { name, group: r.group, kind: r.resource });

export const badRequest = (message: string) => new StatusError(400, 'BadRequest', message);

export const expired = (message: string) => new StatusError(410, 'Expired', message);

export const methodNotAllowed = (method: string, what: string) =>
  new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${what})`);

export const unsupportedMediaType = (got: string, accepted: string[]) =>
  new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (${got || 'no Content-Type'}) - accepted media types include: ${accepted.join(', ')}`);

export const notAcceptable = (accepted: string[]) =>
  new StatusError(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);

export const requestEntityTooLarge = (message: string) => new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);

export const tooLarge = (limit: number) => requestEntityTooLarge(`limit is ${limit}`);

export const unauthorized = () => new StatusError(401, 'Unauthorized', 'Unauthorized');

export const forbidden = (message: string, details?: StatusDetails) => new StatusError(403, 'Forbidden', message, details);

export const internalError = (message: string) =>
  new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });

export const timeout = (message: string, retryAfterSeconds?: number) =>
  new StatusError(504, 'Timeout', `Timeout: ${message}`, retryAfterSeconds ? { retryAfterSeconds } : undefined);

const TYPE_TEXT: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueInvalid: 'Invalid value',
};
// kube's field.Error prints no value for these types.
const VALUE_OMITTED = new Set<FieldError['type']>(['FieldValueRequired', 'FieldValueForbidden', 'FieldValueTooLong']);

/** A value as Go's %#v prints it where kube's errors show one: a label map as `map[string]string{"app":"web"}` (keys sorted), anything else as JSON. */
function printedValue(v: unknown): string {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v);
    if (entries.every(([, x]) => typeof x === 'string'))
      return `map[string]string{${entries
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`)
        .join(', ')}}`;
  }
  return JSON.stringify(v);
}

/** Renders one FieldError the way kube's field.Error does: `Invalid value: "x": must be …`, no empty parts. */
export function fieldErrorMessage(e: FieldError): string {
  const value = VALUE_OMITTED.has(e.type) || e.value === undefined ? '' : e.value === null ? '"null"' : printedValue(e.value);
  const detail = e.message === TYPE_TEXT[e.type] ? '' : e.message;
  return [TYPE_TEXT[e.type], value, detail].filter((p) => p !== '').join(': ');
}

/**
 * 422 Invalid naming every bad field, e.g. `GitRepository.gitops.toolkit "x" is invalid: [spec.url: …, spec.ref.semver: …]`.
 * As kube's aggregate does, a repeated message is printed once and a single one without brackets.
 */
export function invalid(group: string, kind: string, name: string, errors: FieldError[]): StatusError {
  const causes: StatusCause[] = errors.map((e) => ({ reason: e.type, message: fieldErrorMessage(e), field: e.field }));
  const parts = [...new Set(errors.map((e) => `${e.field}: ${fieldErrorMessage(e)}`))];
  const summary = parts.length === 0 ? '' : parts.length === 1 ? `: ${parts[0]}` : `: [${parts.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${group ? `${kind}.${group}` : kind} "${name}" is invalid${summary}`, { name, group, kind, causes });
}
