import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestAttributes, UserInfo } from '../types.js';
import { aggregateClusterRoles, RBACAuthorizer, type ClusterRole, type RBACObject } from './rbac.js';

const G = 'gitops.toolkit';
const cr = (name: string, rules: ClusterRole['rules'], labels?: Record<string, string>, aggregationRule?: ClusterRole['aggregationRule']): ClusterRole => ({
  kind: 'ClusterRole',
  metadata: { name, ...(labels ? { labels } : {}) },
  rules,
  ...(aggregationRule ? { aggregationRule } : {}),
});
const ref = (kind: string, name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });
const user = (name: string) => ({ kind: 'User', name });
const group = (name: string) => ({ kind: 'Group', name });

const policy: RBACObject[] = [
  cr('gitops-view', [{ apiGroups: [G], resources: ['gitrepositories', 'kustomizations'], verbs: ['get', 'list', 'watch'] }], { 'example.com/aggregate-to-view': 'true' }),
  cr('gitops-view-extra', [{ apiGroups: [G], resources: ['helmreleases'], verbs: ['get'] }], { 'example.com/aggregate-to-view': 'true', tier: 'extra' }),
  // An aggregated role's own rules are replaced by the controller's, so this one never counts.
  cr('view', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], { 'example.com/aggregate-to-meta': 'true' }, { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-view': 'true' } }] }),
  // Aggregates an aggregated role, and selects by expression.
  cr('meta', [], undefined, { clusterRoleSelectors: [{ matchExpressions: [{ key: 'example.com/aggregate-to-meta', operator: 'Exists' }] }] }),
  cr('no-extra', [], undefined, { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-view': 'true' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['extra'] }] }] }),
  cr('artifact-reader', [{ apiGroups: [G], resources: ['gitrepositories/artifact'], verbs: ['get'] }]),
  cr('status-all', [{ apiGroups: [G], resources: ['*/status'], verbs: ['get'] }]),
  cr('named', [{ apiGroups: [G], resources: ['gitrepositories'], resourceNames: ['app'], verbs: ['get', 'update', 'create', 'list', 'delete'] }]),
  cr('metrics', [{ nonResourceURLs: ['/metrics', '/debug/*'], verbs: ['get'] }]),
  cr('everything', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]),
  { kind: 'Role', metadata: { name: 'editor', namespace: 'team-a' }, rules: [{ apiGroups: [G], resources: ['gitrepositories'], verbs: ['create', 'update', 'patch', 'delete'] }] },
  { kind: 'RoleBinding', metadata: { name: 'alice-edit', namespace: 'team-a' }, subjects: [user('alice')], roleRef: ref('Role', 'editor') },
  { kind: 'RoleBinding', metadata: { name: 'alice-view', namespace: 'team-a' }, subjects: [user('alice')], roleRef: ref('ClusterRole', 'view') },
  // A Role of that name exists only in team-a: the binding in team-b resolves nothing.
  { kind: 'RoleBinding', metadata: { name: 'carol-edit', namespace: 'team-b' }, subjects: [user('carol')], roleRef: ref('Role', 'editor') },
  { kind: 'ClusterRoleBinding', metadata: { name: 'readers' }, subjects: [group('readers')], roleRef: ref('ClusterRole', 'artifact-reader') },
  { kind: 'ClusterRoleBinding', metadata: { name: 'ci-status' }, subjects: [user('nobody'), { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' }], roleRef: ref('ClusterRole', 'status-all') },
  { kind: 'RoleBinding', metadata: { name: 'deployer', namespace: 'team-d' }, subjects: [{ kind: 'ServiceAccount', name: 'deployer' }], roleRef: ref('ClusterRole', 'named') },
  { kind: 'RoleBinding', metadata: { name: 'team-b-sas', namespace: 'team-b' }, subjects: [group('system:serviceaccounts:team-b')], roleRef: ref('ClusterRole', 'meta') },
  { kind: 'ClusterRoleBinding', metadata: { name: 'sa-metrics' }, subjects: [group('system:serviceaccounts')], roleRef: ref('ClusterRole', 'metrics') },
  { kind: 'ClusterRoleBinding', metadata: { name: 'root' }, subjects: [user('root')], roleRef: ref('ClusterRole', 'everything') },
  { kind: 'ClusterRoleBinding', metadata: { name: 'no-extra' }, subjects: [user('dave')], roleRef: ref('ClusterRole', 'no-extra') },
  { kind: 'ClusterRoleBinding', metadata: { name: 'dangling' }, subjects: [user('ghost')], roleRef: ref('ClusterRole', 'missing') },
];

const u = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });
const sa = (ns: string, name: string) => u(`system:serviceaccount:${ns}:${name}`, 'system:serviceaccounts', `system:serviceaccounts:${ns}`);
const alice = u('alice');
const bob = u('bob', 'readers');
const builder = sa('ci', 'builder');
const deployer = sa('team-d', 'deployer');

function res(who: UserInfo, verb: string, resource: string, o: { ns?: string; name?: string; sub?: string; group?: string } = {}): RequestAttributes {
  return {
    user: who,
    verb,
    resourceRequest: true,
    path: '/apis/...',
    apiGroup: o.group ?? G,
    apiVersion: 'v1',
    resource,
    ...(o.ns ? { namespace: o.ns } : {}),
    ...(o.name ? { name: o.name } : {}),
    ...(o.sub ? { subresource: o.sub } : {}),
  };
}
const nonres = (who: UserInfo, verb: string, path: string): RequestAttributes => ({ user: who, verb, path, resourceRequest: false });

describe('RBACAuthorizer', () => {
  const authz = new RBACAuthorizer(policy);
  const cases: [string, RequestAttributes, boolean, RegExp?][] = [
    // Role + RoleBinding, and a RoleBinding to a ClusterRole, count in their namespace only
    ['alice creates in team-a (Role)', res(alice, 'create', 'gitrepositories', { ns: 'team-a' }), true, /^RBAC: allowed by RoleBinding "alice-edit\/team-a" of Role "editor" to User "alice"$/],
    ['alice lists in team-a (aggregated view)', res(alice, 'list', 'gitrepositories', { ns: 'team-a' }), true, /RoleBinding "alice-view\/team-a" of ClusterRole "view"/],
    ['alice lists in team-b', res(alice, 'list', 'gitrepositories', { ns: 'team-b' }), false],
    ['alice lists across namespaces', res(alice, 'list', 'gitrepositories'), false],
    ['alice deletes a HelmRelease in team-a', res(alice, 'delete', 'helmreleases', { ns: 'team-a', name: 'x' }), false],
    ['view\'s own rules are replaced by aggregation', res(alice, 'get', 'secrets', { ns: 'team-a', name: 's', group: '' }), false],
    ['aggregated from a second role', res(alice, 'get', 'helmreleases', { ns: 'team-a', name: 'x' }), true],
    ['carol: RoleBinding to a Role in another namespace', res(u('carol'), 'create', 'gitrepositories', { ns: 'team-b' }), false, /^RBAC: role\.rbac\.authorization\.k8s\.io "editor" not found$/],
    // subresources
    ['alice gets a gitrepository', res(alice, 'get', 'gitrepositories', { ns: 'team-a', name: 'app' }), true],
    ['view does not grant the artifact subresource', res(alice, 'get', 'gitrepositories', { ns: 'team-a', name: 'app', sub: 'artifact' }), false],
    ['bob gets an artifact anywhere (Group)', res(bob, 'get', 'gitrepositories', { ns: 'team-z', name: 'app', sub: 'artifact' }), true, /^RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "artifact-reader" to Group "readers"$/],
    ['bob cannot get the object itself', res(bob, 'get', 'gitrepositories', { ns: 'team-z', name: 'app' }), false],
    ['bob cannot get status with an artifact rule', res(bob, 'get', 'gitrepositories', { ns: 'team-z', name: 'app', sub: 'status' }), false],
    ['bob cannot get an OCIRepository artifact', res(bob, 'get', 'ocirepositories', { ns: 'team-z', name: 'app', sub: 'artifact' }), false],
    ['*/status matches status of any resource', res(builder, 'get', 'kustomizations', { ns: 'x', name: 'k', sub: 'status' }), true, /ClusterRoleBinding "ci-status" of ClusterRole "status-all" to ServiceAccount "builder\/ci"$/],
    ['*/status does not match the resource', res(builder, 'get', 'kustomizations', { ns: 'x', name: 'k' }), false],
    ['*/status does not match another subresource', res(builder, 'get', 'gitrepositories', { ns: 'x', name: 'k', sub: 'artifact' }), false],
    ['*/status is for get only', res(builder, 'update', 'kustomizations', { ns: 'x', name: 'k', sub: 'status' }), false],
    // `*`
    ['root: * matches any group, resource, subresource, verb', res(u('root'), 'deletecollection', 'gitrepositories', { ns: 'a', sub: 'artifact', group: 'x.io' }), true],
    ['root: * non-resource', nonres(u('root'), 'post', '/anything/at/all'), true],
    // resourceNames
    ['deployer gets the named object', res(deployer, 'get', 'gitrepositories', { ns: 'team-d', name: 'app' }), true, /RoleBinding "deployer\/team-d" of ClusterRole "named" to ServiceAccount "deployer\/team-d"$/],
    ['deployer updates the named object', res(deployer, 'update', 'gitrepositories', { ns: 'team-d', name: 'app' }), true],
    ['deployer gets another name', res(deployer, 'get', 'gitrepositories', { ns: 'team-d', name: 'other' }), false],
    ['resourceNames never grant create (no name)', res(deployer, 'create', 'gitrepositories', { ns: 'team-d' }), false],
    ['resourceNames never grant list', res(deployer, 'list', 'gitrepositories', { ns: 'team-d' }), false],
    ['a name does not carry over to a subresource rule', res(deployer, 'get', 'gitrepositories', { ns: 'team-d', name: 'app', sub: 'artifact' }), false],
    // ServiceAccount subjects and groups
    ['SA subject without namespace = the binding\'s namespace only', res(sa('team-c', 'deployer'), 'get', 'gitrepositories', { ns: 'team-c', name: 'app' }), false],
    ['a RoleBinding does not follow its SA to another namespace', res(deployer, 'get', 'gitrepositories', { ns: 'team-c', name: 'app' }), false],
    ['system:serviceaccounts:team-b group via nested aggregation', res(sa('team-b', 'other'), 'watch', 'kustomizations', { ns: 'team-b' }), true, /RoleBinding "team-b-sas\/team-b" of ClusterRole "meta" to Group "system:serviceaccounts:team-b"$/],
    ['system:serviceaccounts:team-b group is not for team-a', res(sa('team-b', 'other'), 'watch', 'kustomizations', { ns: 'team-a' }), false],
    ['SA name without SA groups does not match the group', res(u('system:serviceaccount:team-b:other'), 'list', 'kustomizations', { ns: 'team-b' }), false],
    // aggregation by expressions
    ['NotIn excludes the extra role', res(u('dave'), 'get', 'helmreleases', { ns: 'a', name: 'x' }), false],
    ['NotIn keeps the others', res(u('dave'), 'get', 'gitrepositories', { ns: 'a', name: 'x' }), true],
    // non-resource URLs
    ['exact non-resource URL', nonres(builder, 'get', '/metrics'), true, /ClusterRoleBinding "sa-metrics" of ClusterRole "metrics" to Group "system:serviceaccounts"$/],
    ['exact URL is not a prefix', nonres(builder, 'get', '/metrics/extra'), false],
    ['trailing * is a prefix', nonres(builder, 'get', '/debug/pprof/heap'), true],
    ['trailing * keeps the text before it: /debug/* is not /debugger', nonres(builder, 'get', '/debugger'), false],
    ['nor /debug itself', nonres(builder, 'get', '/debug'), false],
    ['non-resource verb must match', nonres(builder, 'post', '/metrics'), false],
    ['a resource rule never matches a path', nonres(alice, 'get', '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories'), false],
    // superuser, no match, dangling refs
    ['system:masters is always allowed', res(u('admin', 'system:masters'), 'delete', 'anything', { group: 'x' }), true],
    ['nobody is denied with no reason', res(u('stranger'), 'get', 'gitrepositories', { ns: 'team-a', name: 'app' }), false],
    ['a missing ClusterRole is the reason', res(u('ghost'), 'get', 'gitrepositories', { ns: 'a', name: 'b' }), false, /^RBAC: clusterrole\.rbac\.authorization\.k8s\.io "missing" not found$/],
  ];
  for (const [name, attrs, allowed, reason] of cases) {
    it(name, async () => {
      const d = await authz.authorize(attrs);
      assert.equal(d.allowed, allowed);
      if (reason) assert.match(d.reason ?? '', reason);
      if (!allowed && !reason) assert.equal(d.reason, undefined);
    });
  }
});

describe('aggregateClusterRoles', () => {
  it('unions matched roles in selector order then by name, drops duplicates and skips itself', () => {
    const r1 = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
    const r2 = { apiGroups: [''], resources: ['services'], verbs: ['get'] };
    const out = aggregateClusterRoles([
      cr('b', [r2, r1], { agg: 'x' }),
      cr('a', [r1], { agg: 'x' }),
      cr('self', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], { agg: 'x' }, { clusterRoleSelectors: [{ matchLabels: { agg: 'x' } }] }),
      cr('none', [], undefined, { clusterRoleSelectors: [] }),
      cr('all', [], undefined, { clusterRoleSelectors: [{}] }),
    ]);
    const rules = Object.fromEntries(out.map((r) => [r.metadata.name, r.rules]));
    assert.deepEqual(rules.self, [r1, r2]);
    assert.deepEqual(rules.none, []);
    // An empty selector selects every other role, aggregated ones with their aggregated rules.
    assert.deepEqual(rules.all, [r1, r2]);
  });

  it('settles cycles', () => {
    const r = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
    const out = aggregateClusterRoles([
      cr('x', [], { ring: 'y' }, { clusterRoleSelectors: [{ matchLabels: { ring: 'x' } }] }),
      cr('y', [], { ring: 'x' }, { clusterRoleSelectors: [{ matchLabels: { ring: 'y' } }, { matchLabels: { leaf: 'true' } }] }),
      cr('leaf', [r], { leaf: 'true' }),
    ]);
    assert.deepEqual(out.find((c) => c.metadata.name === 'x')!.rules, [r]);
    assert.deepEqual(out.find((c) => c.metadata.name === 'y')!.rules, [r]);
  });
});
