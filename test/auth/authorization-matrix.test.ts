// Standalone RBAC: every verb × resource × subresource × namespace, for several identities (client
// certificates and tokens), comes out exactly as the RBAC YAML says — the same view/edit/admin
// ClusterRoles the cluster install ships. Expectations are written out by hand below, not derived
// from the evaluator under test.

import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { issueCert } from '../../src/pki/certs.js';
import { TestServer } from '../helpers/server.js';

const RESOURCES = ['gitrepositories', 'ocirepositories', 'helmrepositories', 'helmcharts', 'buckets', 'kustomizations', 'helmreleases'];
const SOURCES = new Set(RESOURCES.slice(0, 5));
/** The read-only views each kind declares (served by code; a 503 or 404 when allowed here, never a 403). */
const VIEWS: Record<string, string[]> = { kustomizations: ['build', 'diff'] };
const isView = (resource: string, sub: string | undefined) => sub !== undefined && (VIEWS[resource] ?? []).includes(sub);
const NAMESPACES = ['team-a', 'team-b'];

type Credential = { cert: string; key: string } | { token: string };
interface Identity {
  name: string;
  cred: Credential;
  /** The hand-written answer: may this identity do `verb` on `resource[/sub]` in `ns` (undefined = all namespaces)? */
  may(verb: string, resource: string, sub: string | undefined, ns: string | undefined): boolean;
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
/** gitops-toolkit-view: read the objects and their status (not artifacts, not views). */
const view = (verb: string, sub?: string) => (sub === undefined ? READ.includes(verb) : sub === 'status' && verb === 'get');
/** gitops-toolkit-edit: also write the objects, download artifacts of sources and get views. */
const edit = (verb: string, resource: string, sub?: string) =>
  sub === undefined
    ? READ.includes(verb) || WRITE.includes(verb)
    : sub === 'status'
      ? verb === 'get'
      : verb === 'get' && ((sub === 'artifact' && SOURCES.has(resource)) || isView(resource, sub));

let s: TestServer;
const ids: Identity[] = [];

before(async () => {
  s = await TestServer.start(['--controllers=']);
  const ca = { cert: s.caCert, key: await readFile(join(s.certDir, 'ca.key'), 'utf8') };
  const cert = (cn: string, org?: string) => issueCert(ca, { cn, org, client: true, days: 1 });
  const rbac = join(s.dir, 'rbac');
  await mkdir(rbac);
  await copyFile(new URL('../../manifests/rbac-user-roles.yaml', import.meta.url), join(rbac, 'roles.yaml'));
  const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, ns: string | undefined, role: { kind: string; name: string }, subject: Record<string, string>) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name, ...(ns ? { namespace: ns } : {}) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...role },
    subjects: [subject.kind === 'ServiceAccount' ? subject : { apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  });
  const docs = [
    binding('RoleBinding', 'alice-view', 'team-a', { kind: 'ClusterRole', name: 'gitops-toolkit-view' }, { kind: 'User', name: 'alice' }),
    binding('RoleBinding', 'dev-edit', 'team-b', { kind: 'ClusterRole', name: 'gitops-toolkit-edit' }, { kind: 'Group', name: 'dev' }),
    binding('RoleBinding', 'deployer-edit', 'team-a', { kind: 'ClusterRole', name: 'gitops-toolkit-edit' }, { kind: 'ServiceAccount', name: 'deployer', namespace: 'team-a' }),
    binding('ClusterRoleBinding', 'auditor-view', undefined, { kind: 'ClusterRole', name: 'gitops-toolkit-view' }, { kind: 'User', name: 'auditor' }),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'one-repo', namespace: 'team-a' }, rules: [{ apiGroups: ['gitops.toolkit'], resources: ['gitrepositories', 'gitrepositories/artifact'], resourceNames: ['special'], verbs: ['get'] }] },
    binding('RoleBinding', 'carol-one-repo', 'team-a', { kind: 'Role', name: 'one-repo' }, { kind: 'User', name: 'carol' }),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'impersonate-alice-and-dev' },
      rules: [
        { apiGroups: [''], resources: ['users'], resourceNames: ['alice'], verbs: ['impersonate'] },
        { apiGroups: [''], resources: ['groups'], resourceNames: ['dev'], verbs: ['impersonate'] },
      ],
    },
    binding('ClusterRoleBinding', 'imp-impersonates', undefined, { kind: 'ClusterRole', name: 'impersonate-alice-and-dev' }, { kind: 'User', name: 'imp' }),
  ];
  await writeFile(join(rbac, 'bindings.yaml'), docs.map((d) => yaml.dump(d)).join('---\n'));
  const tokens = join(s.dir, 'tokens.csv');
  await writeFile(tokens, ['tok-deployer,system:serviceaccount:team-a:deployer,uid-1,"system:serviceaccounts,system:serviceaccounts:team-a"', 'tok-auditor,auditor,uid-2'].join('\n'));
  await s.stop();
  s.extraArgs.push('--authorization-mode=RBAC', '--authorization-rbac-file', rbac, '--token-auth-file', tokens);
  await s.restart();

  ids.push(
    { name: 'admin (system:masters)', cred: { cert: s.adminCert, key: s.adminKey }, may: () => true },
    { name: 'alice (view in team-a)', cred: await cert('alice'), may: (v, r, sub, ns) => ns === 'team-a' && view(v, sub) },
    { name: 'bob (group dev: edit in team-b)', cred: await cert('bob', 'dev'), may: (v, r, sub, ns) => ns === 'team-b' && edit(v, r, sub) },
    { name: 'deployer (ServiceAccount token: edit in team-a)', cred: { token: 'tok-deployer' }, may: (v, r, sub, ns) => ns === 'team-a' && edit(v, r, sub) },
    { name: 'auditor (token: view everywhere)', cred: { token: 'tok-auditor' }, may: (v, r, sub) => view(v, sub) },
    { name: 'carol (get one repository by name)', cred: await cert('carol'), may: (v, r, sub, ns) => ns === 'team-a' && r === 'gitrepositories' && v === 'get' && sub !== 'status' },
    { name: 'nobody (no bindings)', cred: await cert('nobody'), may: () => false },
    { name: 'imp (may impersonate alice and the group dev, nothing else)', cred: await cert('imp'), may: () => false },
  );
});
after(() => s?.cleanup());

const agents = new Map<string, https.Agent>();
/** The status code of a request, without waiting for a body (watches stream). */
function status(id: Identity, method: string, path: string, body?: string, contentType = 'application/json'): Promise<number> {
  let agent = agents.get(id.name);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, ca: s.caCert, ...('cert' in id.cred ? id.cred : {}) });
    agents.set(id.name, agent);
  }
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: s.port, method, path, agent, headers: { ...('token' in id.cred ? { Authorization: `Bearer ${id.cred.token}` } : {}), ...(body !== undefined ? { 'Content-Type': contentType } : {}) } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(body);
  });
}

/** One request per verb; each is harmless whether allowed (404/400/422/200) or not (403). */
function requestFor(verb: string, resource: string, sub: string | undefined, ns: string | undefined, name: string): [string, string, string?, string?] {
  const base = ns ? `/apis/gitops.toolkit/v1/namespaces/${ns}/${resource}` : `/apis/gitops.toolkit/v1/${resource}`;
  const one = `${base}/${name}${sub ? `/${sub}` : ''}`;
  switch (verb) {
    case 'get':
      return ['GET', one];
    case 'list':
      return ['GET', `${base}?labelSelector=matrix%3Dnone`];
    case 'watch':
      return ['GET', `${base}?watch=1&timeoutSeconds=1&labelSelector=matrix%3Dnone`];
    case 'create':
      return ['POST', base, '{}'];
    case 'update':
      return ['PUT', one, '{}'];
    case 'patch':
      return ['PATCH', one, '{}', 'application/merge-patch+json'];
    case 'delete':
      return ['DELETE', one];
    case 'deletecollection':
      return ['DELETE', `${base}?labelSelector=matrix%3Dnone`];
    default:
      throw new Error(verb);
  }
}

const VERBS: Record<string, string[]> = {
  '': ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'],
  status: ['get', 'update', 'patch'],
  artifact: ['get'],
  // views: get only, but a write is asked too, to see RBAC refuse it before the handler would (405)
  build: ['get', 'update', 'patch'],
  diff: ['get', 'update', 'patch'],
};

describe('authorization matrix (standalone RBAC)', () => {
  it('every identity × verb × resource × subresource × namespace comes out as the RBAC YAML says', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const id of ids) {
      const cases: [string, string, string | undefined, string | undefined][] = [];
      for (const r of RESOURCES) {
        for (const ns of NAMESPACES) {
          for (const [sub, verbs] of Object.entries(VERBS)) {
            if (sub === 'artifact' && !SOURCES.has(r)) continue;
            if ((sub === 'build' || sub === 'diff') && !isView(r, sub)) continue;
            for (const v of verbs) cases.push([v, r, sub || undefined, ns]);
          }
        }
        for (const v of ['list', 'watch']) cases.push([v, r, undefined, undefined]); // across namespaces
      }
      await Promise.all(
        cases.map(async ([verb, r, sub, ns]) => {
          for (const name of r === 'gitrepositories' ? ['special', 'plain'] : ['plain']) {
            if (name === 'special' && verb !== 'get') continue;
            const [method, path, body, type] = requestFor(verb, r, sub, ns, name);
            const code = await status(id, method, path, body, type);
            const expected = id.may(verb, r, sub, ns) && (!id.name.startsWith('carol') || name === 'special');
            checked++;
            if ((code !== 403) !== expected) wrong.push(`${id.name}: ${verb} ${r}${sub ? `/${sub}` : ''}${name === 'special' ? '/special' : ''} in ${ns ?? 'all namespaces'} → ${code}, expected ${expected ? 'allowed' : '403'}`);
            if (code === 401 || code >= 500) wrong.push(`${id.name}: ${method} ${path} → ${code}`);
          }
        }),
      );
    }
    assert.deepEqual(wrong, []);
    assert.ok(checked > 1000, `checked ${checked}`);
  });

  it('health endpoints need no credentials; everything else does', async () => {
    const anon: Identity = { name: 'anonymous', cred: { token: '' }, may: () => false };
    assert.equal(await status({ ...anon, cred: { cert: '', key: '' } as never }, 'GET', '/readyz').catch(() => 0), 200);
    assert.equal(await status({ ...anon, name: 'bad-token', cred: { token: 'nope' } }, 'GET', '/apis/gitops.toolkit/v1/gitrepositories'), 401);
  });
});

describe('through kubectl', () => {
  let bare: string;
  before(async () => {
    // A kubeconfig with the server and its CA but no user: credentials come from kubectl flags.
    const kc = yaml.load(await readFile(s.kubeconfig, 'utf8')) as any;
    kc.users = [{ name: 'none', user: {} }];
    kc.contexts[0].context.user = 'none';
    bare = join(s.dir, 'bare.kubeconfig');
    await writeFile(bare, yaml.dump(kc));
    for (const [i, id] of ids.entries()) {
      if ('cert' in id.cred) {
        await writeFile(join(s.dir, `id-${i}.crt`), id.cred.cert);
        await writeFile(join(s.dir, `id-${i}.key`), id.cred.key);
      }
    }
  });
  const as = (i: number) => {
    const id = ids[i];
    return ['--kubeconfig', bare, ...('token' in id.cred ? ['--token', id.cred.token] : ['--client-certificate', join(s.dir, `id-${i}.crt`), '--client-key', join(s.dir, `id-${i}.key`)])];
  };
  const repo = (ns: string) => yaml.dump({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'app', namespace: ns }, spec: { interval: '5m', url: 'https://example.com/app.git' } });

  it('view can list but not create; the 403 names user, verb, resource, group and namespace', async () => {
    const list = await s.kubectl([...as(1), 'get', 'gitrepositories', '-n', 'team-a']);
    assert.equal(list.code, 0, list.stderr);
    const create = await s.kubectl([...as(1), 'apply', '-f', '-'], { input: repo('team-a') });
    assert.notEqual(create.code, 0);
    assert.match(create.stderr, /User "alice" cannot (create|patch|get) resource "gitrepositories" in API group "gitops.toolkit" in the namespace "team-a"/);
  });

  it('a ServiceAccount token bound to gitops-toolkit-edit creates in its namespace only', async () => {
    assert.equal((await s.kubectl([...as(3), 'create', '-f', '-'], { input: repo('team-a') })).code, 0);
    const other = await s.kubectl([...as(3), 'create', '-f', '-'], { input: repo('team-b') });
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /User "system:serviceaccount:team-a:deployer" cannot create resource "gitrepositories" in API group "gitops.toolkit" in the namespace "team-b"/);
  });

  it('kubectl auth can-i answers from this server’s RBAC, for each identity (a SelfSubjectAccessReview, sent as protobuf)', async () => {
    const canI = async (i: number, ...args: string[]) => (await s.kubectl([...as(i), 'auth', 'can-i', ...args])).stdout.trim();
    assert.equal(await canI(1, 'list', 'gitrepositories', '-n', 'team-a'), 'yes');
    assert.equal(await canI(1, 'create', 'gitrepositories', '-n', 'team-a'), 'no');
    assert.equal(await canI(1, 'list', 'gitrepositories', '-n', 'team-b'), 'no');
    assert.equal(await canI(2, 'create', 'kustomizations.gitops.toolkit', '-n', 'team-b'), 'yes');
    assert.equal(await canI(3, 'get', 'gitrepositories', '--subresource=artifact', '-n', 'team-a'), 'yes');
    assert.equal(await canI(1, 'get', 'gitrepositories', '--subresource=artifact', '-n', 'team-a'), 'no');
    assert.equal(await canI(5, 'get', 'gitrepositories/special', '-n', 'team-a'), 'yes');
    assert.equal(await canI(5, 'get', 'gitrepositories/other', '-n', 'team-a'), 'no');
    assert.equal(await canI(6, 'get', 'gitrepositories', '-A'), 'no');
    assert.equal(await canI(0, '*', '*'), 'yes');
    assert.equal(await canI(1, 'get', '/healthz'), 'yes', 'non-resource URLs: system:discovery');
  });

  it('kubectl auth can-i --list shows the rules of the caller’s bindings in a namespace', async () => {
    const list = async (i: number, ns: string) => (await s.k([...as(i), 'auth', 'can-i', '--list', '-n', ns])).toString();
    const alice = await list(1, 'team-a');
    assert.match(alice, /^gitrepositories\.gitops\.toolkit\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.match(alice, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m, 'system:basic-user');
    assert.match(alice, /^\s+\[\/healthz\]\s+\[\]\s+\[get\]$/m, 'system:discovery');
    assert.doesNotMatch(await list(1, 'team-b'), /gitrepositories\.gitops\.toolkit/, 'alice has no binding in team-b');
    assert.match(await list(5, 'team-a'), /^gitrepositories\.gitops\.toolkit\s+\[\]\s+\[special\]\s+\[get\]$/m, 'resourceNames are listed');
    assert.match(await list(0, 'team-a'), /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m, 'system:masters may do everything');
  });

  it('TokenReview and SubjectAccessReview, for system:masters (or system:auth-delegator) only', async () => {
    const post = (i: number, path: string, body: unknown) => s.kubectl([...as(i), 'create', '--raw', path, '-f', '-'], { input: JSON.stringify(body) });
    const tr = (token: string) => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
    const good = await post(0, '/apis/authentication.k8s.io/v1/tokenreviews', tr('tok-deployer'));
    assert.equal(good.code, 0, good.stderr);
    const review = JSON.parse(good.stdout);
    assert.equal(review.status.authenticated, true);
    assert.deepEqual([review.status.user.username, review.status.user.uid], ['system:serviceaccount:team-a:deployer', 'uid-1']);
    assert.equal(review.spec.token, undefined, 'the token is not echoed');
    assert.equal(JSON.parse((await post(0, '/apis/authentication.k8s.io/v1/tokenreviews', tr('no-such-token'))).stdout).status.authenticated, false);
    const sar = (verb: string) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice', groups: ['system:authenticated'], resourceAttributes: { namespace: 'team-a', verb, group: 'gitops.toolkit', resource: 'gitrepositories' } } });
    assert.equal(JSON.parse((await post(0, '/apis/authorization.k8s.io/v1/subjectaccessreviews', sar('list'))).stdout).status.allowed, true);
    assert.equal(JSON.parse((await post(0, '/apis/authorization.k8s.io/v1/subjectaccessreviews', sar('create'))).stdout).status.allowed, false);
    const denied = await post(1, '/apis/authorization.k8s.io/v1/subjectaccessreviews', sar('list'));
    assert.match(denied.stderr, /User "alice" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope/);
    assert.match((await post(1, '/apis/authentication.k8s.io/v1/tokenreviews', tr('tok-deployer'))).stderr, /cannot create resource "tokenreviews"/);
  });

  it('kubectl auth whoami names the user, groups and uid each credential authenticates as', async () => {
    const who = async (i: number) => JSON.parse((await s.k([...as(i), 'auth', 'whoami', '-o', 'json'])).toString()).status.userInfo;
    assert.deepEqual(await who(0), { username: 'admin', groups: ['system:masters', 'system:authenticated'] });
    assert.deepEqual(await who(2), { username: 'bob', groups: ['dev', 'system:authenticated'] });
    const sa = await who(3);
    assert.equal(sa.username, 'system:serviceaccount:team-a:deployer');
    assert.equal(sa.uid, 'uid-1');
    assert.ok(sa.groups.includes('system:serviceaccounts:team-a'));
    // nobody has no role of its own, yet may ask (system:basic-user, as in kube)
    assert.equal((await who(6)).username, 'nobody');
  });

  it('impersonation (kubectl --as, --as-group) needs the impersonate verb on each user and group, as in kube', async () => {
    const imp = ids.length - 1;
    assert.equal((await s.kubectl([...as(imp), '--as=alice', 'get', 'gitrepositories', '-n', 'team-a'])).code, 0, 'acts with alice’s view');
    const asAlice = await s.kubectl([...as(imp), '--as=alice', 'create', '-f', '-'], { input: repo('team-a') });
    assert.match(asAlice.stderr, /User "alice" cannot create resource "gitrepositories" in API group "gitops.toolkit" in the namespace "team-a"/);
    const bob = await s.kubectl([...as(imp), '--as=bob', 'get', 'gitrepositories', '-n', 'team-a']);
    assert.match(bob.stderr, /users "bob" is forbidden: User "imp" cannot impersonate resource "users" in API group "" at the cluster scope/);
    assert.equal((await s.kubectl([...as(imp), '--as=alice', '--as-group=dev', 'create', '-f', '-'], { input: repo('team-b') })).code, 0, 'the group dev edits team-b');
    const admins = await s.kubectl([...as(imp), '--as=alice', '--as-group=admins', 'get', 'gitrepositories', '-n', 'team-a']);
    assert.match(admins.stderr, /groups "admins" is forbidden: User "imp" cannot impersonate resource "groups" in API group "" at the cluster scope/);
    const who = JSON.parse((await s.k([...as(imp), '--as=alice', '--as-group=dev', 'auth', 'whoami', '-o', 'json'])).toString()).status.userInfo;
    assert.deepEqual(who, { username: 'alice', groups: ['dev', 'system:authenticated'] });
    // alice may impersonate no one; system:masters may impersonate anyone, a service account included
    assert.match((await s.kubectl([...as(1), '--as=admin', 'get', 'gitrepositories', '-A'])).stderr, /User "alice" cannot impersonate resource "users"/);
    const sa = JSON.parse((await s.k([...as(0), '--as=system:serviceaccount:team-a:deployer', 'auth', 'whoami', '-o', 'json'])).toString()).status.userInfo;
    assert.deepEqual(sa, { username: 'system:serviceaccount:team-a:deployer', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'] });
    assert.equal((await s.kubectl([...as(0), '--as=system:serviceaccount:team-a:deployer', 'delete', 'gitrepository', 'app', '-n', 'team-b'])).code, 1, 'the service account may not write team-b');
  });

  it('an Impersonate-Group header without Impersonate-User is a 400', async () => {
    const r = await new Promise<{ status: number; body: string }>((res, rej) => {
      const req = https.request(
        { host: '127.0.0.1', port: s.port, path: '/apis/gitops.toolkit/v1/gitrepositories', ca: s.caCert, cert: s.adminCert, key: s.adminKey, headers: { 'Impersonate-Group': 'dev' } },
        (x) => {
          let body = '';
          x.on('data', (d) => (body += d));
          x.on('end', () => res({ status: x.statusCode!, body }));
        },
      );
      req.on('error', rej);
      req.end();
    });
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message, /without impersonating a user/);
  });

  it('view may not get a Kustomization’s build or diff (values substituted from Secrets); edit may', async () => {
    for (const view of VIEWS.kustomizations) {
      const path = `/apis/gitops.toolkit/v1/namespaces/team-a/kustomizations/app/${view}`;
      const denied = await s.kubectl([...as(1), 'get', '--raw', path]);
      assert.match(denied.stderr, new RegExp(`User "alice" cannot get resource "kustomizations/${view}" in API group "gitops.toolkit" in the namespace "team-a"`));
      const allowed = await s.kubectl([...as(3), 'get', '--raw', path]);
      assert.doesNotMatch(allowed.stderr, /forbidden/i, 'authorized: the answer is about the object or the view, not permission');
    }
    assert.equal((await s.kubectl([...as(1), 'auth', 'can-i', 'get', 'kustomizations', '--subresource=build', '-n', 'team-a'])).stdout.trim(), 'no');
    assert.equal((await s.kubectl([...as(3), 'auth', 'can-i', 'get', 'kustomizations', '--subresource=diff', '-n', 'team-a'])).stdout.trim(), 'yes');
  });

  it('nobody without get on gitrepositories/artifact downloads an artifact', async () => {
    const path = '/apis/gitops.toolkit/v1/namespaces/team-a/gitrepositories/app/artifact';
    const denied = await s.kubectl([...as(1), 'get', '--raw', path]);
    assert.match(denied.stderr, /Forbidden|forbidden/);
    const allowed = await s.kubectl([...as(3), 'get', '--raw', path]);
    assert.match(allowed.stderr, /NotFound|not found|no artifact/, 'authorized: the answer is about the artifact, not permission');
  });
});
