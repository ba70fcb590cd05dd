import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestAttributes } from '../types.js';
import { forbiddenError, forbiddenMessage, forbiddenStatusMessage } from './forbidden-message.js';

const alice = { name: 'alice', groups: [] };
const base = { user: alice, path: '/x', resourceRequest: true, apiGroup: 'gitops.toolkit', apiVersion: 'v1' };

describe('forbidden messages', () => {
  it('names the object, subresource and namespace', () => {
    const a: RequestAttributes = { ...base, verb: 'get', namespace: 'team-a', resource: 'gitrepositories', subresource: 'artifact', name: 'x' };
    assert.equal(forbiddenStatusMessage(a), 'gitrepositories.gitops.toolkit "x" is forbidden: User "alice" cannot get resource "gitrepositories/artifact" in API group "gitops.toolkit" in the namespace "team-a"');
    const e = forbiddenError(a, 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found');
    assert.deepEqual(e.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'gitrepositories.gitops.toolkit "x" is forbidden: User "alice" cannot get resource "gitrepositories/artifact" in API group "gitops.toolkit" in the namespace "team-a": RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
      reason: 'Forbidden',
      details: { name: 'x', group: 'gitops.toolkit', kind: 'gitrepositories' },
      code: 403,
    });
  });

  it('says "at the cluster scope" without a namespace and leaves out a missing name', () => {
    const a: RequestAttributes = { ...base, verb: 'list', resource: 'gitrepositories' };
    assert.equal(forbiddenStatusMessage(a), 'gitrepositories.gitops.toolkit is forbidden: User "alice" cannot list resource "gitrepositories" in API group "gitops.toolkit" at the cluster scope');
    assert.deepEqual(forbiddenError(a).details, { group: 'gitops.toolkit', kind: 'gitrepositories' });
  });

  it('for a collection in a namespace (create)', () => {
    const a: RequestAttributes = { ...base, verb: 'create', namespace: 'team-a', resource: 'kustomizations' };
    assert.equal(forbiddenStatusMessage(a), 'kustomizations.gitops.toolkit is forbidden: User "alice" cannot create resource "kustomizations" in API group "gitops.toolkit" in the namespace "team-a"');
  });

  it('core group: no group suffix, empty group quoted', () => {
    const a: RequestAttributes = { ...base, apiGroup: '', verb: 'get', namespace: 'ns', resource: 'pods', name: 'p' };
    assert.equal(forbiddenStatusMessage(a), 'pods "p" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "ns"');
  });

  it('non-resource paths', () => {
    const a: RequestAttributes = { user: alice, verb: 'get', path: '/metrics', resourceRequest: false };
    assert.equal(forbiddenStatusMessage(a, 'no'), 'forbidden: User "alice" cannot get path "/metrics": no');
    assert.deepEqual(forbiddenError(a).toStatus().details, {});
  });

  it('quotes like Go %q and escapes HTML in the sentence but not in the reason', () => {
    const a: RequestAttributes = { user: { name: 'e"vil\n<b>&', groups: [] }, verb: 'get', path: '/a\\b\x01', resourceRequest: false };
    assert.equal(forbiddenMessage(a), 'User "e\\"vil\\n<b>&" cannot get path "/a\\\\b\\x01"');
    assert.equal(forbiddenStatusMessage(a, '<r>'), 'forbidden: User "e\\"vil\\n&lt;b&gt;&amp;" cannot get path "/a\\\\b\\x01": <r>');
  });
});
