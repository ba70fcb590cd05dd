// A Kustomization's read-only views, end to end on the embedded local cluster, read with
// `kubectl get --raw`: `build` (the rendered objects with the owner labels, Secrets redacted, values
// substituted from Secrets shown only to who may get build), `diff` (created before the first apply,
// configured with the changed fields after drift, unchanged, pruned; Secret values never shown), who
// may read them through the cluster's RBAC (the shipped gitops-toolkit roles), and the answer when
// the view cannot be computed (a missing source, a failing build, SOPS).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { KustomizationBed } from '../helpers/kustomization.js';
import { eventually } from '../helpers/eventually.js';

const API = '/apis/gitops.toolkit/v1/namespaces/default/kustomizations';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const SECRET_PW = 'pw-from-secret-7f3a';
const TOKEN = 'token-in-git-91c2';
const RAW = 'raw-in-git-5d8e';

const APP = {
  'deploy/cm.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: default}
data: {password: "\${DB_PASSWORD}", plain: hello}
`,
  'deploy/secret.yaml': `apiVersion: v1
kind: Secret
metadata: {name: app-secret, namespace: default}
stringData: {token: ${TOKEN}}
data: {raw: ${b64(RAW)}}
`,
};

type Entry = { ref: string; action: string; changes?: { path: string; live?: unknown; desired?: unknown }[]; message?: string };

describe('Kustomization views on the local cluster', () => {
  let bed: KustomizationBed;
  before(async () => {
    bed = await KustomizationBed.start();
    // The user roles of manifests/ are not part of the embedded cluster's bootstrap: installed as a user would.
    await bed.k(['apply', '-f', 'manifests/rbac-user-roles.yaml']);
    await bed.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-vars', namespace: 'default' }, data: { DB_PASSWORD: b64(SECRET_PW) } });
    for (const [user, role] of [
      ['viewer', 'view'],
      ['gt-viewer', 'gitops-toolkit-view'],
      ['editor', 'edit'],
      ['gt-editor', 'gitops-toolkit-edit'],
    ])
      await bed.k(['create', 'rolebinding', `${user}-${role}`, `--clusterrole=${role}`, `--user=${user}`, '-n', 'default']);
  });
  after(async () => bed?.stop());

  const raw = (path: string, as?: string) => bed.run(['get', '--raw', `${API}/${path}`], '', as);
  const diffOf = async (name: string): Promise<{ text: string; entries: Entry[]; revision: string }> => {
    const r = await raw(`${name}/diff`);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.equal(body.kind, 'KustomizationDiff');
    return { text: r.stdout, entries: body.entries, revision: body.revision };
  };
  const entry = (entries: Entry[], ref: string) => {
    const e = entries.find((x) => x.ref === ref);
    assert.ok(e, `${ref} in ${JSON.stringify(entries)}`);
    return e;
  };

  it('build: the rendered multi-document YAML with the owner labels; Secret data redacted, substituted values present', async () => {
    await bed.source('viewapp', APP);
    await bed.kustomization('viewapp', { path: './deploy', postBuild: { substituteFrom: [{ kind: 'Secret', name: 'app-vars' }] } });
    await bed.ready('viewapp');
    const r = await raw('viewapp/build');
    assert.equal(r.code, 0, r.stderr);
    const docs = yaml.loadAll(r.stdout) as { kind: string; metadata: { name: string; labels: Record<string, string> }; data?: Record<string, string>; stringData?: Record<string, string> }[];
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort(), ['ConfigMap/app-config', 'Secret/app-secret']);
    for (const d of docs) {
      assert.equal(d.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'viewapp');
      assert.equal(d.metadata.labels['kustomize.toolkit.fluxcd.io/namespace'], 'default');
    }
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    assert.deepEqual(cm.data, { password: SECRET_PW, plain: 'hello' }, 'the value substituted from the Secret');
    const secret = docs.find((d) => d.kind === 'Secret')!;
    assert.deepEqual(secret.data, { raw: '<redacted>' });
    assert.deepEqual(secret.stringData, { token: '<redacted>' });
    for (const v of [TOKEN, RAW, b64(RAW), b64(TOKEN)]) assert.ok(!r.stdout.includes(v), `build shows ${v}`);
    // What the reconcile applied is what build shows.
    assert.equal(await bed.k(['get', 'cm', 'app-config', '-o', 'jsonpath={.data.password}']), SECRET_PW);
  });

  it('RBAC: the view role (built-in or gitops-toolkit-view) gets 403 on build and diff; edit gets 200', async () => {
    // The bindings work: every user may read the Kustomization itself (aggregation may lag the role's creation).
    for (const user of ['viewer', 'gt-viewer', 'editor', 'gt-editor'])
      await eventually(async () => (await bed.run(['get', 'kustomization', 'viewapp', '-o', 'name'], '', user)).code === 0, 10_000, () => `${user} cannot get the Kustomization`);
    for (const user of ['viewer', 'gt-viewer']) {
      for (const view of ['build', 'diff']) {
        const r = await raw(`viewapp/${view}`, user);
        assert.notEqual(r.code, 0, `${user} got ${view}`);
        assert.match(r.stderr, /\(Forbidden\)/, `${user} ${view}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`kustomizations/${view}`), r.stderr);
        assert.ok(!r.stderr.includes(SECRET_PW) && !r.stdout.includes(SECRET_PW));
        const can = await bed.run(['auth', 'can-i', 'get', 'kustomizations.gitops.toolkit', `--subresource=${view}`, '-n', 'default'], '', user);
        assert.equal(can.stdout.trim(), 'no');
      }
    }
    for (const user of ['editor', 'gt-editor']) {
      const b = await raw('viewapp/build', user);
      assert.equal(b.code, 0, `${user} build: ${b.stderr}`);
      assert.ok(b.stdout.includes(SECRET_PW), 'who may get build sees the substituted value');
      const d = await raw('viewapp/diff', user);
      assert.equal(d.code, 0, `${user} diff: ${d.stderr}`);
      assert.equal(JSON.parse(d.stdout).kind, 'KustomizationDiff');
      const can = await bed.run(['auth', 'can-i', 'get', 'kustomizations.gitops.toolkit', '--subresource=build', '-n', 'default'], '', user);
      assert.equal(can.stdout.trim(), 'yes');
    }
  });

  it('diff: created for everything while suspended, before the first apply', async () => {
    await bed.source('diffapp', {
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: diff-a, namespace: default}\ndata: {k: v}\n',
      'b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: diff-b, namespace: default}\ndata: {k: v}\n',
      's.yaml': `apiVersion: v1\nkind: Secret\nmetadata: {name: diff-s, namespace: default}\ndata: {pw: ${b64('first-secret-value')}}\n`,
    });
    await bed.ready('diffapp', { kind: 'gitrepository' });
    await bed.kustomization('diffapp', { suspend: true });
    const { entries, revision } = await diffOf('diffapp');
    assert.match(revision, /^main@sha1:[0-9a-f]{40}$/);
    assert.deepEqual(entries.map((e) => [e.ref, e.action]), [
      ['ConfigMap/default/diff-a', 'created'],
      ['ConfigMap/default/diff-b', 'created'],
      ['Secret/default/diff-s', 'created'],
    ]);
    for (const n of ['diff-a', 'diff-b']) assert.equal(await bed.exists('configmap', n), false, 'the diff applied nothing');
    assert.equal(await bed.exists('secret', 'diff-s'), false);
  });

  it('diff: unchanged after the apply; configured with the changed fields after drift; Secret values never shown', async () => {
    await bed.k(['patch', 'kustomization/diffapp', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await bed.ready('diffapp');
    const clean = await diffOf('diffapp');
    assert.deepEqual([...new Set(clean.entries.map((e) => e.action))], ['unchanged'], clean.text);

    await bed.k(['patch', 'configmap/diff-a', '--type=merge', '-p', '{"data":{"k":"drifted","extra":"x"}}']);
    await bed.k(['patch', 'secret/diff-s', '--type=merge', '-p', JSON.stringify({ data: { pw: b64('drifted-secret-value') } })]);
    const d = await diffOf('diffapp');
    // `extra` was added by kubectl patch: the apply takes kubectl's fields over and removes it (as
    // apply.test.ts checks on the cluster), and the diff says so.
    assert.deepEqual(entry(d.entries, 'ConfigMap/default/diff-a'), {
      ref: 'ConfigMap/default/diff-a',
      action: 'configured',
      changes: [
        { path: 'data.extra', live: 'x' },
        { path: 'data.k', live: 'drifted', desired: 'v' },
      ],
      message: 'fields set by kubectl-patch would be taken over: those Git no longer has are removed',
    });
    assert.equal(entry(d.entries, 'ConfigMap/default/diff-b').action, 'unchanged');
    assert.deepEqual(entry(d.entries, 'Secret/default/diff-s'), {
      ref: 'Secret/default/diff-s',
      action: 'configured',
      changes: [{ path: 'data.pw', live: '<redacted>', desired: '<redacted>' }],
      message: 'fields set by kubectl-patch would be taken over: those Git no longer has are removed',
    });
    for (const v of ['first-secret-value', 'drifted-secret-value']) {
      assert.ok(!d.text.includes(v) && !d.text.includes(b64(v)), `diff shows ${v}`);
    }
    // The diff changed nothing.
    assert.equal(await bed.k(['get', 'cm', 'diff-a', '-o', 'jsonpath={.data.k}']), 'drifted');
  });

  it('diff: pruned for an object removed from Git (prune: true), while suspended', async () => {
    await bed.k(['patch', 'kustomization/diffapp', '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    const sha = await bed.push('diffapp', {}, { remove: ['b.yaml'] });
    const d = await eventually(async () => {
      const x = await diffOf('diffapp');
      return x.revision.endsWith(sha) && x;
    }, 10_000);
    assert.equal(entry(d.entries, 'ConfigMap/default/diff-b').action, 'pruned', d.text);
    assert.equal(entry(d.entries, 'ConfigMap/default/diff-a').action, 'configured');
    assert.ok(await bed.exists('configmap', 'diff-b'), 'the diff pruned nothing');

    // Resumed: the reconcile does what the diff said.
    await bed.k(['patch', 'kustomization/diffapp', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await bed.condition('diffapp', 'Ready', (c) => c.status === 'True' && c.message.endsWith(sha));
    assert.equal(await bed.exists('configmap', 'diff-b'), false);
    assert.equal(await bed.k(['get', 'cm', 'diff-a', '-o', 'jsonpath={.data.k}']), 'v');
    const after = await diffOf('diffapp');
    assert.deepEqual([...new Set(after.entries.map((e) => e.action))], ['unchanged'], after.text);
  });

  it('a view of a Kustomization whose source is missing: 409 with the condition’s message', async () => {
    await bed.kustomization('nosrc');
    const c = await bed.condition('nosrc', 'Ready', (c) => c.status === 'False');
    for (const view of ['build', 'diff']) {
      const r = await raw(`nosrc/${view}`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Error from server \(Conflict\)/, r.stderr);
      assert.ok(r.stderr.includes(`ArtifactFailed: ${c.message}`), r.stderr);
      assert.ok(r.stderr.includes("Source 'GitRepository/default/nosrc' not found"), r.stderr);
    }
  });

  it('a view of a Kustomization whose build fails: 422 with the condition’s message', async () => {
    await bed.source('badpath', { 'cm.yaml': APP['deploy/cm.yaml'] });
    await bed.kustomization('badpath', { path: './missing' });
    const c = await bed.condition('badpath', 'Ready', (c) => c.status === 'False' && c.reason === 'PathNotFound');
    for (const view of ['build', 'diff']) {
      const r = await raw(`badpath/${view}`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /^The request is invalid: /, r.stderr); // kubectl's words for a 422
      assert.ok(r.stderr.includes(`PathNotFound: ${c.message}`), r.stderr);
    }
  });

  it('a view of a Kustomization with spec.decryption: 422 saying SOPS is not supported, as its condition', async () => {
    await bed.source('sopsview', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sopsview, namespace: default}\ndata: {k: ENC[AES256_GCM,data:abc]}\n' });
    await bed.kustomization('sopsview', { decryption: { provider: 'sops' } });
    const c = await bed.condition('sopsview', 'Stalled', (c) => c.status === 'True');
    for (const view of ['build', 'diff']) {
      const r = await raw(`sopsview/${view}`);
      assert.notEqual(r.code, 0, `${view} served a build a reconcile would not apply: ${r.stdout}`);
      assert.match(r.stderr, /^The request is invalid: /, r.stderr);
      assert.ok(r.stderr.includes(`DecryptionNotSupported: ${c.message}`), r.stderr);
    }
  });
});
