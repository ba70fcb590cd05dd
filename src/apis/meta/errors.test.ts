import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError } from './resource.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  fieldErrorMessage,
  internalError,
  invalid,
  notAcceptable,
  notFound,
  StatusError,
  timeout,
  tooLarge,
  unauthorized,
} from './errors.js';

const ref = { group: 'gitops.toolkit', resource: 'gitrepositories' };

describe('fieldErrorMessage (kube field.Error.ErrorBody)', () => {
  const cases: [string, FieldError, string][] = [
    ['required without detail', { type: 'FieldValueRequired', field: 'spec.url', message: 'Required value' }, 'Required value'],
    ['required with an empty message', { type: 'FieldValueRequired', field: 'spec.url', message: '' }, 'Required value'],
    ['required with detail', { type: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' }, 'Required value: name or generateName is required'],
    ['required never prints a value', { type: 'FieldValueRequired', field: 'spec.url', value: '', message: '' }, 'Required value'],
    ['invalid string', { type: 'FieldValueInvalid', field: 'spec.url', value: 'ftp://x', message: 'must be https' }, 'Invalid value: "ftp://x": must be https'],
    ['invalid number', { type: 'FieldValueInvalid', field: 'spec.n', value: -1, message: 'must be >= 0' }, 'Invalid value: -1: must be >= 0'],
    ['invalid boolean', { type: 'FieldValueInvalid', field: 'spec.b', value: false, message: 'must be true' }, 'Invalid value: false: must be true'],
    ['invalid null prints "null" quoted, as kube does', { type: 'FieldValueInvalid', field: 'spec.x', value: null, message: 'bad' }, 'Invalid value: "null": bad'],
    ['invalid string with quotes is escaped', { type: 'FieldValueInvalid', field: 'spec.x', value: 'a"b', message: 'bad' }, 'Invalid value: "a\\"b": bad'],
    ['invalid without a value', { type: 'FieldValueInvalid', field: 'spec.x', message: 'bad' }, 'Invalid value: bad'],
    ['invalid without a message', { type: 'FieldValueInvalid', field: 'spec.x', value: 'v', message: '' }, 'Invalid value: "v"'],
    ['type invalid', { type: 'FieldValueTypeInvalid', field: 'spec.interval', value: 'integer', message: 'spec.interval in body must be of type string: "integer"' }, 'Invalid value: "integer": spec.interval in body must be of type string: "integer"'],
    ['not supported', { type: 'FieldValueNotSupported', field: 'spec.provider', value: 'x', message: 'supported values: "aws", "generic"' }, 'Unsupported value: "x": supported values: "aws", "generic"'],
    ['forbidden', { type: 'FieldValueForbidden', field: 'spec.a', value: 'ignored', message: 'may not be set' }, 'Forbidden: may not be set'],
    ['forbidden without detail', { type: 'FieldValueForbidden', field: 'spec.a', message: '' }, 'Forbidden'],
    ['duplicate', { type: 'FieldValueDuplicate', field: 'spec.l[1]', value: 'a', message: '' }, 'Duplicate value: "a"'],
    ['duplicate whose message repeats the type', { type: 'FieldValueDuplicate', field: 'spec.l[1]', value: 'a', message: 'Duplicate value' }, 'Duplicate value: "a"'],
    ['duplicate with detail', { type: 'FieldValueDuplicate', field: 'spec.l[1]', value: 'a', message: 'listed twice' }, 'Duplicate value: "a": listed twice'],
    ['too long never prints the value', { type: 'FieldValueTooLong', field: 'spec.s', value: 'x'.repeat(10), message: 'may not be more than 5 bytes' }, 'Too long: may not be more than 5 bytes'],
  ];
  for (const [name, e, want] of cases) it(name, () => assert.equal(fieldErrorMessage(e), want));
});

describe('invalid (kube NewInvalid)', () => {
  const a: FieldError = { type: 'FieldValueRequired', field: 'spec.a', message: 'Required value' };
  const b: FieldError = { type: 'FieldValueInvalid', field: 'spec.b', value: 'y', message: 'msg' };

  it('one cause: no brackets', () => {
    assert.equal(invalid('gitops.toolkit', 'GitRepository', 'x', [a]).message, 'GitRepository.gitops.toolkit "x" is invalid: spec.a: Required value');
  });

  it('several causes: bracketed, comma separated, in order', () => {
    assert.equal(invalid('gitops.toolkit', 'GitRepository', 'x', [a, b]).message, 'GitRepository.gitops.toolkit "x" is invalid: [spec.a: Required value, spec.b: Invalid value: "y": msg]');
  });

  it('a repeated cause is printed once (and alone needs no brackets), but every cause is kept in details', () => {
    const e = invalid('gitops.toolkit', 'GitRepository', 'x', [a, a]);
    assert.equal(e.message, 'GitRepository.gitops.toolkit "x" is invalid: spec.a: Required value');
    assert.equal(e.details?.causes?.length, 2);
    assert.equal(invalid('gitops.toolkit', 'GitRepository', 'x', [a, b, a]).message, 'GitRepository.gitops.toolkit "x" is invalid: [spec.a: Required value, spec.b: Invalid value: "y": msg]');
  });

  it('no causes: no trailing colon', () => {
    assert.equal(invalid('gitops.toolkit', 'GitRepository', 'x', []).message, 'GitRepository.gitops.toolkit "x" is invalid');
  });

  it('an empty group names the kind alone', () => {
    assert.equal(invalid('', 'Thing', 'x', [a]).message, 'Thing "x" is invalid: spec.a: Required value');
  });

  it('is a 422 Status with causes carrying reason, message and field', () => {
    const st = invalid('gitops.toolkit', 'GitRepository', 'x', [a, b]).toStatus();
    assert.deepEqual(st, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'GitRepository.gitops.toolkit "x" is invalid: [spec.a: Required value, spec.b: Invalid value: "y": msg]',
      reason: 'Invalid',
      details: {
        name: 'x',
        group: 'gitops.toolkit',
        kind: 'GitRepository',
        causes: [
          { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.a' },
          { reason: 'FieldValueInvalid', message: 'Invalid value: "y": msg', field: 'spec.b' },
        ],
      },
      code: 422,
    });
  });
});

describe('Status errors', () => {
  const cases: [string, StatusError, number, string, string][] = [
    ['notFound', notFound(ref, 'x'), 404, 'NotFound', 'gitrepositories.gitops.toolkit "x" not found'],
    ['alreadyExists', alreadyExists(ref, 'x'), 409, 'AlreadyExists', 'gitrepositories.gitops.toolkit "x" already exists'],
    ['conflict', conflict(ref, 'x'), 409, 'Conflict', 'Operation cannot be fulfilled on gitrepositories.gitops.toolkit "x": the object has been modified; please apply your changes to the latest version and try again'],
    ['badRequest', badRequest('nope'), 400, 'BadRequest', 'nope'],
    ['expired', expired('too old resource version: 1 (5)'), 410, 'Expired', 'too old resource version: 1 (5)'],
    ['notAcceptable', notAcceptable(['application/json', 'application/yaml']), 406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml'],
    ['tooLarge', tooLarge(3145728), 413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'],
    ['unauthorized', unauthorized(), 401, 'Unauthorized', 'Unauthorized'],
    ['internalError', internalError('boom'), 500, 'InternalError', 'Internal error occurred: boom'],
    ['timeout', timeout('request did not complete within requested timeout'), 504, 'Timeout', 'Timeout: request did not complete within requested timeout'],
  ];
  for (const [name, e, code, reason, message] of cases) {
    it(name, () => {
      const st = e.toStatus();
      assert.equal(st.code, code);
      assert.equal(st.reason, reason);
      assert.equal(st.message, message);
      assert.equal(st.status, 'Failure');
    });
  }

  it('notFound details name the resource as kind, as kube does', () => {
    assert.deepEqual(notFound(ref, 'x').details, { name: 'x', group: 'gitops.toolkit', kind: 'gitrepositories' });
  });

  it('timeout carries retryAfterSeconds when given', () => {
    assert.deepEqual(timeout('slow', 1).details, { retryAfterSeconds: 1 });
    assert.equal(timeout('slow').details, undefined);
  });

  it('toStatus leaves details out when there are none', () => {
    assert.equal('details' in badRequest('x').toStatus(), false);
  });
});
