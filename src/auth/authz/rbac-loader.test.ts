import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRBACFile, parseRBACDocuments } from './rbac-loader.js';
import { RBACAuthorizer } from './rbac.js';

const V1 = 'apiVersion: rbac.authorization.k8s.io/v1';

describe('loadRBACFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbac-loader-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads a multi-document file, defaulting namespace and subject apiGroup', async () => {
    const f = join(dir, 'one.yaml');
    await writeFile(
      f,
      `${V1}
kind: Role
metadata: {name: editor}
rules:
- {apiGroups: [gitops.toolkit], resources: [gitrepositories], verbs: [create]}
---
# a comment-only document and an empty one are fine
---
${V1}
kind: RoleBinding
metadata: {name: alice, namespace: team-a}
subjects: [{kind: User, name: alice}, {kind: ServiceAccount, name: ci}]
roleRef: {kind: Role, name: editor}
`,
    );
    const objs = await loadRBACFile(f);
    assert.deepEqual(
      objs.map((o) => [o.kind, o.metadata.namespace, o.metadata.name]),
      [
        ['Role', 'default', 'editor'],
        ['RoleBinding', 'team-a', 'alice'],
      ],
    );
    const rb = objs[1] as { subjects: unknown[]; roleRef: unknown };
    assert.deepEqual(rb.subjects, [
      { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'ci', apiGroup: '' },
    ]);
    assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'editor' });
  });

  it('reads a directory: yaml, yml and json files in name order, Lists unwrapped, other kinds and files skipped, no recursion', async () => {
    const d = join(dir, 'policy');
    await mkdir(join(d, 'nested'), { recursive: true });
    await writeFile(join(d, 'b-roles.yml'), `${V1}\nkind: ClusterRole\nmetadata: {name: reader}\nrules: [{apiGroups: [gitops.toolkit], resources: ['*'], verbs: [get, list]}]\n`);
    await writeFile(
      join(d, 'a-list.yaml'),
      `apiVersion: v1
kind: List
items:
- ${V1}
  kind: ClusterRoleBinding
  metadata: {name: readers}
  subjects: [{kind: Group, name: readers}]
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: not-rbac}
`,
    );
    await writeFile(
      join(d, 'c.json'),
      JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBindingList', items: [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'x' }, subjects: [{ kind: 'User', name: 'x' }], roleRef: { kind: 'ClusterRole', name: 'reader' } }] }),
    );
    await writeFile(join(d, 'notes.txt'), 'kind: ClusterRole\nthis is not read');
    await writeFile(join(d, 'nested', 'z.yaml'), `${V1}\nkind: ClusterRole\nmetadata: {name: nested}\n`);
    const objs = await loadRBACFile(d);
    assert.deepEqual(
      objs.map((o) => `${o.kind}/${o.metadata.name}`),
      ['ClusterRoleBinding/readers', 'ClusterRole/reader', 'ClusterRoleBinding/x'],
    );
    const authz = new RBACAuthorizer(objs);
    const d1 = await authz.authorize({ user: { name: 'bob', groups: ['readers'] }, verb: 'list', resourceRequest: true, path: '/', apiGroup: 'gitops.toolkit', resource: 'helmcharts' });
    assert.deepEqual(d1, { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "reader" to Group "readers"' });
  });

  it('names the file on bad YAML', async () => {
    const f = join(dir, 'bad.yaml');
    await writeFile(f, `${V1}\nkind: Role\nmetadata: {name: x\n`);
    await assert.rejects(loadRBACFile(f), (e: Error) => e.message.startsWith(`${f}: invalid YAML: `));
  });

  it('names the file when a name is defined twice', async () => {
    const d = join(dir, 'dup');
    await mkdir(d);
    const role = `${V1}\nkind: ClusterRole\nmetadata: {name: same}\n`;
    await writeFile(join(d, '1.yaml'), role);
    await writeFile(join(d, '2.yaml'), role);
    await assert.rejects(loadRBACFile(d), { message: `${join(d, '2.yaml')}: ClusterRole same is also defined in ${join(d, '1.yaml')}` });
  });

  it('fails on a missing path', async () => {
    await assert.rejects(loadRBACFile(join(dir, 'nope.yaml')), /ENOENT/);
  });
});

describe('parseRBACDocuments validation', () => {
  const bad: [string, string, string][] = [
    ['a ClusterRoleBinding to a Role', `kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: Role, name: r}`, 'ClusterRoleBinding "b" is invalid: roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"'],
    ['a wrong roleRef group', `kind: RoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: x.io, kind: Role, name: r}`, 'roleRef.apiGroup: Unsupported value: "x.io"'],
    ['no verbs', `kind: ClusterRole\nmetadata: {name: r}\nrules: [{apiGroups: [''], resources: [pods]}]`, 'ClusterRole "r" is invalid: rules[0].verbs: Required value'],
    ['a resource rule without groups', `kind: ClusterRole\nmetadata: {name: r}\nrules: [{resources: [pods], verbs: [get]}]`, 'rules[0].apiGroups: Required value'],
    ['a Role with non-resource URLs', `kind: Role\nmetadata: {name: r}\nrules: [{nonResourceURLs: [/x], verbs: [get]}]`, 'namespaced rules cannot apply to non-resource URLs'],
    ['mixed rule', `kind: ClusterRole\nmetadata: {name: r}\nrules: [{nonResourceURLs: [/x], resources: [pods], verbs: [get]}]`, 'rules cannot apply to both regular resources and non-resource URLs'],
    ['a ServiceAccount without namespace in a ClusterRoleBinding', `kind: ClusterRoleBinding\nmetadata: {name: b}\nsubjects: [{kind: ServiceAccount, name: s}]\nroleRef: {kind: ClusterRole, name: r}`, 'subjects[0].namespace: Required value'],
    ['an unknown subject kind', `kind: RoleBinding\nmetadata: {name: b}\nsubjects: [{kind: Robot, name: s}]\nroleRef: {kind: Role, name: r}`, 'subjects[0].kind: Unsupported value: "Robot"'],
    ['no name', `kind: ClusterRole\nmetadata: {}`, 'metadata.name: Required value'],
    ['a bad aggregation selector', `kind: ClusterRole\nmetadata: {name: r}\naggregationRule: {clusterRoleSelectors: [{matchExpressions: [{key: a, operator: In}]}]}`, 'matchExpressions[0].values: Required value'],
  ];
  for (const [name, body, msg] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parseRBACDocuments(`${V1}\n${body}\n`, 'f.yaml'),
        (e: Error) => e.message.startsWith('f.yaml: document 1: ') && e.message.includes(msg),
      );
    });
  }

  it('rejects RBAC versions kube no longer serves', () => {
    assert.throws(() => parseRBACDocuments('apiVersion: rbac.authorization.k8s.io/v1beta1\nkind: Role\nmetadata: {name: r}\n', 'f.yaml'), /f\.yaml: document 1: Role: apiVersion rbac\.authorization\.k8s\.io\/v1beta1 is not served/);
  });
});
