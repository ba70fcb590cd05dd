import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdmissionAttributes } from './types.js';
import { admissionReview, deniedError, isExemptConfigurationResource, ruleMatches, type RuleWithOperations } from './webhooks.js';

const attrs = (o: Partial<AdmissionAttributes> = {}): AdmissionAttributes => ({
  operation: 'CREATE',
  kind: { group: 'gitops.toolkit', version: 'v1', kind: 'GitRepository' },
  resource: { group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' },
  name: 'podinfo',
  namespace: 'team-a',
  userInfo: { name: 'alice', groups: ['devs'] },
  dryRun: false,
  ...o,
});

describe('ruleMatches', () => {
  const rule = (r: RuleWithOperations): RuleWithOperations => ({ operations: ['CREATE'], apiGroups: ['gitops.toolkit'], apiVersions: ['v1'], resources: ['gitrepositories'], ...r });

  it('matches group, version, resource and operation exactly or by "*"', () => {
    assert.ok(ruleMatches(rule({}), attrs()));
    assert.ok(ruleMatches(rule({ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }), attrs({ operation: 'DELETE' })));
    assert.ok(!ruleMatches(rule({ operations: ['UPDATE'] }), attrs()));
    assert.ok(!ruleMatches(rule({ apiGroups: ['source.toolkit.fluxcd.io'] }), attrs()));
    assert.ok(!ruleMatches(rule({ apiVersions: ['v1beta2'] }), attrs()));
    assert.ok(!ruleMatches(rule({ resources: ['helmreleases'] }), attrs()));
    assert.ok(!ruleMatches(rule({ operations: [] }), attrs()), 'no operations, no match');
  });

  it('treats subresources as kube does: "x" is the main resource only, "x/*" and "*/*" cover subresources', () => {
    const status = attrs({ operation: 'UPDATE', subResource: 'status' });
    const op = { operations: ['UPDATE'] };
    assert.ok(!ruleMatches(rule({ ...op }), status));
    assert.ok(!ruleMatches(rule({ ...op, resources: ['*'] }), status));
    assert.ok(ruleMatches(rule({ ...op, resources: ['gitrepositories/status'] }), status));
    assert.ok(ruleMatches(rule({ ...op, resources: ['gitrepositories/*'] }), status));
    assert.ok(ruleMatches(rule({ ...op, resources: ['*/status'] }), status));
    assert.ok(ruleMatches(rule({ ...op, resources: ['*/*'] }), status));
    assert.ok(ruleMatches(rule({ ...op, resources: ['*/*'] }), attrs({ operation: 'UPDATE' })), '*/* covers the main resource too');
    assert.ok(!ruleMatches(rule({ ...op, resources: ['gitrepositories/artifact'] }), status));
  });

  it('honours scope: Namespaced and * match these namespaced objects, Cluster does not', () => {
    assert.ok(ruleMatches(rule({ scope: '*' }), attrs()));
    assert.ok(ruleMatches(rule({ scope: 'Namespaced' }), attrs()));
    assert.ok(!ruleMatches(rule({ scope: 'Cluster' }), attrs()));
    assert.ok(!ruleMatches(rule({ scope: 'Other' }), attrs()));
  });
});

describe('admissionReview', () => {
  it('builds the AdmissionReview v1 request kube-apiserver sends, omitting empty fields', () => {
    const object = { apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'podinfo', namespace: 'team-a' } };
    const review = admissionReview('uid-1', attrs({ object, userInfo: { name: 'alice', groups: [] } }));
    assert.deepEqual(review, {
      kind: 'AdmissionReview',
      apiVersion: 'admission.k8s.io/v1',
      request: {
        uid: 'uid-1',
        kind: { group: 'gitops.toolkit', version: 'v1', kind: 'GitRepository' },
        resource: { group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' },
        requestKind: { group: 'gitops.toolkit', version: 'v1', kind: 'GitRepository' },
        requestResource: { group: 'gitops.toolkit', version: 'v1', resource: 'gitrepositories' },
        name: 'podinfo',
        namespace: 'team-a',
        operation: 'CREATE',
        userInfo: { username: 'alice' },
        object,
        oldObject: null,
        dryRun: false,
        options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      },
    });
  });

  it('carries subresource, user uid/groups/extra, dry run and the caller’s options', () => {
    const old = { apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'podinfo' } };
    const r = admissionReview(
      'u',
      attrs({
        operation: 'UPDATE',
        subResource: 'status',
        oldObject: old,
        object: old,
        dryRun: true,
        userInfo: { name: 'bob', uid: '42', groups: ['a', 'b'], extra: { scopes: ['x'] } },
      }),
    ).request;
    assert.equal(r.subResource, 'status');
    assert.equal(r.requestSubResource, 'status');
    assert.deepEqual(r.userInfo, { username: 'bob', uid: '42', groups: ['a', 'b'], extra: { scopes: ['x'] } });
    assert.equal(r.dryRun, true);
    assert.deepEqual(r.options, { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] });
    const del = admissionReview('u', attrs({ operation: 'DELETE', oldObject: old, options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' } })).request;
    assert.equal(del.object, null);
    assert.deepEqual(del.options, { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' });
  });
});

describe('deniedError', () => {
  it('names the webhook and keeps its status, with codes below 400 raised to 400', () => {
    const e = deniedError('policy.example.com', { code: 403, reason: 'Forbidden', message: 'no main branch' });
    assert.equal(e.code, 403);
    assert.equal(e.reason, 'Forbidden');
    assert.equal(e.message, 'admission webhook "policy.example.com" denied the request: no main branch');
    assert.equal(deniedError('w', { message: 'm' }).code, 400);
    assert.equal(deniedError('w', { code: 200, message: 'm' }).code, 400);
    assert.equal(deniedError('w', { reason: 'TooBig' }).message, 'admission webhook "w" denied the request: TooBig');
    assert.equal(deniedError('w').message, 'admission webhook "w" denied the request without explanation');
  });
});

describe('isExemptConfigurationResource', () => {
  it('exempts admission configuration from webhooks, as kube does, so a broken webhook can be removed', () => {
    for (const resource of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations', 'validatingadmissionpolicies', 'validatingadmissionpolicybindings'])
      assert.ok(isExemptConfigurationResource({ resource: { group: 'admissionregistration.k8s.io', version: 'v1', resource } }), resource);
    assert.ok(!isExemptConfigurationResource({ resource: { group: 'gitops.toolkit', version: 'v1', resource: 'validatingwebhookconfigurations' } }));
    assert.ok(!isExemptConfigurationResource({ resource: { group: '', version: 'v1', resource: 'configmaps' } }));
  });
});
