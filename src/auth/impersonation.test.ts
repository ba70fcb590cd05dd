import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { StatusError } from '../apis/meta/errors.js';
import { impersonatedUser } from './impersonation.js';
import type { Authorizer, RequestAttributes } from './types.js';

const alice = { name: 'alice', groups: ['system:authenticated'] };
const req = (...headers: string[]) => ({ rawHeaders: headers }) as unknown as IncomingMessage;
/** Records what was asked; allows what `allow` says. */
const authorizer = (allow: (a: RequestAttributes) => boolean) => {
  const asked: string[] = [];
  const authz: Authorizer = {
    async authorize(a) {
      asked.push(`${a.verb} ${a.apiGroup}/${a.resource}${a.subresource ? `/${a.subresource}` : ''} ${a.namespace ?? ''}/${a.name}`);
      return { allowed: allow(a) };
    },
  };
  return { authz, asked };
};

describe('impersonatedUser', () => {
  it('no headers: the authenticated user, nothing asked', async () => {
    const { authz, asked } = authorizer(() => true);
    assert.equal(await impersonatedUser(req('Accept', '*/*'), alice, authz), alice);
    assert.deepEqual(asked, []);
  });

  it('asks for the user, each group, the uid and each extra value, and returns kube’s user', async () => {
    const { authz, asked } = authorizer(() => true);
    const u = await impersonatedUser(
      req('Impersonate-User', 'bob', 'Impersonate-Group', 'dev', 'impersonate-group', 'ops', 'Impersonate-Uid', 'u-1', 'Impersonate-Extra-Scopes', 'view', 'Impersonate-Extra-scopes', 'edit', 'Impersonate-Extra-Acme.com%2fteam', 'a'),
      alice,
      authz,
    );
    assert.deepEqual(u, { name: 'bob', groups: ['dev', 'ops', 'system:authenticated'], uid: 'u-1', extra: { scopes: ['view', 'edit'], 'acme.com/team': ['a'] } });
    assert.deepEqual(asked, [
      'impersonate /users /bob',
      'impersonate /groups /dev',
      'impersonate /groups /ops',
      'impersonate authentication.k8s.io/uids /u-1',
      'impersonate authentication.k8s.io/userextras/scopes /view',
      'impersonate authentication.k8s.io/userextras/scopes /edit',
      'impersonate authentication.k8s.io/userextras/acme.com/team /a',
    ]);
  });

  it('a service account is asked for as serviceaccounts in its namespace and gets its groups', async () => {
    const { authz, asked } = authorizer(() => true);
    const u = await impersonatedUser(req('Impersonate-User', 'system:serviceaccount:team-a:deployer'), alice, authz);
    assert.deepEqual(u.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
    assert.deepEqual(asked, ['impersonate /serviceaccounts team-a/deployer']);
    const anon = await impersonatedUser(req('Impersonate-User', 'system:anonymous'), alice, authz);
    assert.deepEqual(anon.groups, ['system:unauthenticated']);
  });

  it('follows kube on the edges: an empty user, system:unauthenticated, named groups for a service account, invalid names, __proto__', async () => {
    const { authz, asked } = authorizer(() => true);
    assert.equal(await impersonatedUser(req('Impersonate-User', ''), alice, authz), alice, 'an empty Impersonate-User impersonates no one');
    await assert.rejects(impersonatedUser(req('Impersonate-User', '', 'Impersonate-Group', 'g'), alice, authz), (e: unknown) => e instanceof StatusError && e.code === 400);
    assert.deepEqual((await impersonatedUser(req('Impersonate-User', 'bob', 'Impersonate-Group', 'system:unauthenticated'), alice, authz)).groups, ['system:unauthenticated']);
    assert.deepEqual((await impersonatedUser(req('Impersonate-User', 'system:serviceaccount:ns:sa', 'Impersonate-Group', 'dev'), alice, authz)).groups, ['dev', 'system:authenticated'], 'named groups replace the service account’s');
    asked.length = 0;
    const odd = await impersonatedUser(req('Impersonate-User', 'system:serviceaccount:ns:Bad_Name'), alice, authz);
    assert.deepEqual(asked, ['impersonate /users /system:serviceaccount:ns:Bad_Name'], 'not a valid service account name: impersonated as a user');
    assert.deepEqual(odd.groups, ['system:authenticated']);
    const proto = await impersonatedUser(req('Impersonate-User', 'bob', 'Impersonate-Extra-__proto__', 'x'), alice, authz);
    assert.deepEqual(Object.keys(proto.extra!), ['__proto__']);
    assert.deepEqual(proto.extra!['__proto__'], ['x']);
    assert.equal(Object.getPrototypeOf(proto.extra), Object.prototype);
  });

  it('a refused value is a 403 in kube’s words; groups without a user, or two users, a 400', async () => {
    const { authz } = authorizer((a) => a.resource !== 'groups');
    await assert.rejects(impersonatedUser(req('Impersonate-User', 'bob', 'Impersonate-Group', 'admins'), alice, authz), (e: unknown) => {
      assert.ok(e instanceof StatusError && e.code === 403);
      assert.equal(e.message, 'groups "admins" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope');
      return true;
    });
    for (const h of [['Impersonate-Group', 'dev'], ['Impersonate-Extra-x', 'y'], ['Impersonate-User', 'a', 'Impersonate-User', 'b']])
      await assert.rejects(impersonatedUser(req(...h), alice, authz), (e: unknown) => e instanceof StatusError && e.code === 400);
  });
});
