import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Authorizer, RequestAttributes } from '../types.js';
import { alwaysAllow, UnionAuthorizer } from './union.js';

const a: RequestAttributes = { user: { name: 'u', groups: [] }, verb: 'get', path: '/x', resourceRequest: false };
const deny = (reason?: string): Authorizer => ({ authorize: async () => ({ allowed: false, reason }) });

test('the first authorizer to allow wins; otherwise denied with every reason', async () => {
  assert.deepEqual(await new UnionAuthorizer([deny('no rbac'), alwaysAllow]).authorize(a), { allowed: true });
  assert.deepEqual(await new UnionAuthorizer([deny('no rbac'), deny(), deny('webhook said no')]).authorize(a), { allowed: false, reason: 'no rbac, webhook said no' });
  assert.deepEqual(await new UnionAuthorizer([]).authorize(a), { allowed: false });
});
