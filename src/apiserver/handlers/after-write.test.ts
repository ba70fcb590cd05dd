// A committed write is always answered: when rendering its answer fails (a header, a table, YAML),
// the error is logged and the client gets the object as plain JSON. The failure is injected with a
// response whose first render throws: no real input reaches that path any more.

import assert from 'node:assert/strict';
import type { Response } from 'express';
import { it } from 'node:test';
import { createLogger } from '../../observability/logger.js';
import { afterWrite } from './resources.js';

function fakeResponse() {
  const headers = new Map<string, unknown>();
  const res = {
    headersSent: false,
    statusCode: 200,
    body: undefined as string | undefined,
    ends: 0,
    setHeader(k: string, v: unknown) {
      headers.set(k.toLowerCase(), v);
      return res;
    },
    removeHeader(k: string) {
      headers.delete(k.toLowerCase());
    },
    status(c: number) {
      res.statusCode = c;
      return res;
    },
    end(b?: string) {
      res.ends++;
      res.body = b;
      res.headersSent = true;
      return res;
    },
    headers,
  };
  return res;
}

it('a render that throws after the commit still answers with the object, as plain JSON, and is logged', () => {
  const res = fakeResponse();
  const logged: string[] = [];
  const log = createLogger('error', {}, (line) => logged.push(line));
  const obj = { kind: 'GitRepository', metadata: { name: 'x' } };
  afterWrite(res as unknown as Response, 201, obj, log, () => {
    res.setHeader('Warning', '299 - "x"');
    throw new TypeError('Invalid character in header content ["Warning"]');
  });
  assert.equal(res.statusCode, 201);
  assert.deepEqual(JSON.parse(res.body!), obj);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.has('warning'), false, 'the header that failed is dropped');
  assert.equal(logged.length, 1);
  assert.match(logged[0], /rendering the response to a committed write failed/);
});

it('when the answer had already started, the response is ended rather than written twice', () => {
  const res = fakeResponse();
  res.headersSent = true;
  const log = createLogger('error', {}, () => {});
  afterWrite(res as unknown as Response, 200, { a: 1 }, log, () => {
    throw new Error('boom');
  });
  assert.equal(res.ends, 1, 'ended once');
  assert.equal(res.body, undefined, 'nothing written after the headers went out');
});
