// The API through the real kubectl 1.32, against a server this test starts.

import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start(['--controllers=']); // API semantics only: no reconciler touching the objects
});
after(async () => {
  await s?.cleanup();
});

const gitRepo = (name: string, ns = 'default', spec: Record<string, unknown> = {}) =>
  yaml.dump({
    apiVersion: 'gitops.toolkit/v1',
    kind: 'GitRepository',
    metadata: { name, namespace: ns },
    spec: { interval: '5m', url: 'https://github.com/stefanprodan/podinfo', ref: { branch: 'master' }, ...spec },
  });

describe('kubectl discovery', () => {
  it('api-resources lists every kind with short names and the gitops category', async () => {
    const out = await s.k(['api-resources', '--api-group=gitops.toolkit', '-o', 'wide']);
    for (const [name, short, kind] of [
      ['gitrepositories', 'gitrepo', 'GitRepository'],
      ['ocirepositories', 'ocirepo', 'OCIRepository'],
      ['helmrepositories', 'helmrepo', 'HelmRepository'],
      ['helmcharts', 'hc', 'HelmChart'],
      ['buckets', '', 'Bucket'],
      ['kustomizations', 'ks', 'Kustomization'],
      ['helmreleases', 'hr', 'HelmRelease'],
    ]) {
      const line = out.split('\n').find((l) => l.startsWith(`${name} `));
      assert.ok(line, `${name} missing from:\n${out}`);
      if (short) assert.match(line, new RegExp(`\\b${short}\\b`));
      assert.match(line, new RegExp(`gitops.toolkit/v1\\s+true\\s+${kind}\\b`));
      assert.match(line, /gitops/);
    }
  });

  it('explain prints the schema documentation of nested fields', async () => {
    const out = await s.k(['explain', 'gitrepository.spec.ref']);
    assert.match(out, /GROUP:\s+gitops\.toolkit/);
    assert.match(out, /KIND:\s+GitRepository/);
    assert.match(out, /VERSION:\s+v1/);
    assert.match(out, /FIELD: ref <Object>/);
    for (const f of ['branch', 'tag', 'semver', 'name', 'commit']) assert.match(out, new RegExp(`^\\s+${f}\\s+<string>`, 'm'));
    const meta = await s.k(['explain', 'kustomization.metadata.labels']);
    assert.match(meta, /map\[string\]string/);
  });

  it('explain reads the OpenAPI v2 document in protobuf, as kubectl asks for it', async () => {
    const out = await s.k(['explain', 'helmrelease.spec.chart.spec.sourceRef', '--output=plaintext-openapiv2']);
    assert.match(out, /KIND:\s+HelmRelease/);
    assert.match(out, /VERSION:\s+gitops\.toolkit\/v1/);
    for (const f of ['kind', 'name', 'namespace']) assert.match(out, new RegExp(`^\\s+${f}\\s+<string>`, 'm'));
    assert.match(await s.k(['explain', 'gitrepository.metadata.labels', '--output=plaintext-openapiv2']), /map\[string\]string/);
  });

  it('an unported Flux manifest gets kubectl’s usual "no matches for kind", not a validation error', async () => {
    const flux = 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app, namespace: default}\nspec: {interval: 1m, path: ./, prune: true, sourceRef: {kind: GitRepository, name: app}}\n';
    const r = await s.kubectl(['apply', '-f', '-'], { input: flux });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no matches for kind "Kustomization" in version "kustomize\.toolkit\.fluxcd\.io\/v1"/);
    assert.doesNotMatch(r.stderr, /error validating/);
  });
});

describe('kubectl writes and reads', () => {
  it('apply creates, a second apply updates with a merge patch and bumps generation', async () => {
    assert.match(await s.k(['apply', '-f', '-'], { input: gitRepo('podinfo') }), /gitrepository.gitops.toolkit\/podinfo created/);
    const first = JSON.parse(await s.k(['get', 'gitrepo', 'podinfo', '-o', 'json']));
    assert.equal(first.metadata.generation, 1);
    assert.ok(first.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    assert.match(await s.k(['apply', '-f', '-'], { input: gitRepo('podinfo', 'default', { interval: '10m' }) }), /configured/);
    const second = JSON.parse(await s.k(['get', 'gitrepo', 'podinfo', '-o', 'json']));
    assert.equal(second.spec.interval, '10m');
    assert.equal(second.metadata.generation, 2);
    assert.equal(second.metadata.uid, first.metadata.uid);
    assert.match(await s.k(['apply', '-f', '-'], { input: gitRepo('podinfo', 'default', { interval: '10m' }) }), /unchanged/);
  });

  it('get shows printer columns, -o wide extras, -o yaml, short names, category and -A', async () => {
    await s.k(['create', 'namespace', 'x'], {}).catch(() => undefined); // no namespaces standalone: harmless
    await s.k(['apply', '-f', '-'], { input: gitRepo('other', 'team-a') });
    const table = await s.k(['get', 'gitrepositories']);
    assert.match(table.split('\n')[0], /^NAME\s+URL\s+AGE\s+READY\s+STATUS/);
    assert.match(table, /podinfo\s+https:\/\/github.com\/stefanprodan\/podinfo\s+\d+s/);
    assert.doesNotMatch(table, /other/);
    const wide = await s.k(['get', 'gitrepo', '-o', 'wide']);
    assert.match(wide.split('\n')[0], /REVISION/);
    const asYaml = yaml.load(await s.k(['get', 'gitrepo', 'podinfo', '-o', 'yaml'])) as any;
    assert.equal(asYaml.kind, 'GitRepository');
    assert.equal(asYaml.spec.url, 'https://github.com/stefanprodan/podinfo');
    const all = await s.k(['get', 'gitrepo', '-A']);
    assert.match(all.split('\n')[0], /^NAMESPACE\s+NAME/);
    assert.match(all, /team-a\s+other/);
    assert.match(all, /default\s+podinfo/);
    const byCategory = await s.k(['get', 'gitops', '-A']);
    assert.match(byCategory, /gitrepository.gitops.toolkit\/podinfo/);
    assert.match(byCategory, /gitrepository.gitops.toolkit\/other/);
  });

  it('apply --server-side creates, tracks managedFields, and reports a conflicting manager', async () => {
    const ks = (interval: string) =>
      yaml.dump({
        apiVersion: 'gitops.toolkit/v1',
        kind: 'Kustomization',
        metadata: { name: 'apps', namespace: 'default' },
        spec: { interval, path: './deploy', prune: true, sourceRef: { kind: 'GitRepository', name: 'podinfo' } },
      });
    assert.match(await s.k(['apply', '--server-side', '-f', '-'], { input: ks('5m') }), /serverside-applied/);
    const obj = JSON.parse(await s.k(['get', 'ks', 'apps', '-o', 'json', '--show-managed-fields']));
    const entry = obj.metadata.managedFields.find((m: any) => m.manager === 'kubectl');
    assert.equal(entry.operation, 'Apply');
    assert.ok(entry.fieldsV1['f:spec']['f:interval']);
    const clash = await s.kubectl(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: ks('1m') });
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /conflict/i);
    assert.match(clash.stderr, /\.spec\.interval/);
    assert.match(clash.stderr, /kubectl/);
    assert.match(await s.k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], { input: ks('1m') }), /serverside-applied/);
    assert.equal(JSON.parse(await s.k(['get', 'ks', 'apps', '-o', 'json'])).spec.interval, '1m');
  });

  it('edit applies what a scripted editor changed', async () => {
    const editor = join(s.dir, 'editor.sh');
    await writeFile(editor, `#!/bin/sh\nsed -i 's/interval: 10m/interval: 7m/' "$1"\n`);
    await chmod(editor, 0o755);
    assert.match(await s.k(['edit', 'gitrepository', 'podinfo'], { env: { KUBE_EDITOR: editor, EDITOR: editor } }), /edited/);
    assert.equal(JSON.parse(await s.k(['get', 'gitrepo', 'podinfo', '-o', 'json'])).spec.interval, '7m');
  });

  it('patch with json and merge types; strategic is refused', async () => {
    await s.k(['patch', 'gitrepo', 'podinfo', '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await s.k(['patch', 'gitrepo', 'podinfo', '--type=json', '-p', '[{"op":"replace","path":"/spec/ref/branch","value":"main"}]']);
    const obj = JSON.parse(await s.k(['get', 'gitrepo', 'podinfo', '-o', 'json']));
    assert.equal(obj.spec.suspend, true);
    assert.equal(obj.spec.ref.branch, 'main');
    const smp = await s.kubectl(['patch', 'gitrepo', 'podinfo', '--type=strategic', '-p', '{"spec":{"suspend":false}}']);
    assert.notEqual(smp.code, 0);
    assert.match(smp.stderr, /UnsupportedMediaType|unknown format|not supported|415/i);
  });

  it('label and annotate', async () => {
    await s.k(['label', 'gitrepo', 'podinfo', 'team=web']);
    await s.k(['annotate', 'gitrepo', 'podinfo', 'owner=alice']);
    const out = await s.k(['get', 'gitrepo', '-l', 'team=web', '-o', 'name']);
    assert.equal(out.trim(), 'gitrepository.gitops.toolkit/podinfo');
    assert.equal((await s.k(['get', 'gitrepo', '-l', 'team!=web', '-o', 'name'])).trim(), '');
    const obj = JSON.parse(await s.k(['get', 'gitrepo', 'podinfo', '-o', 'json']));
    assert.equal(obj.metadata.annotations.owner, 'alice');
  });

  it('create --dry-run=server validates and stores nothing', async () => {
    const out = await s.k(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: gitRepo('dry') });
    const obj = JSON.parse(out);
    assert.equal(obj.metadata.name, 'dry');
    assert.ok(obj.metadata.uid);
    const get = await s.kubectl(['get', 'gitrepo', 'dry']);
    assert.notEqual(get.code, 0);
    assert.match(get.stderr, /NotFound|not found/);
  });

  it('an invalid object is refused with its fields named, and nothing is stored', async () => {
    const bad = yaml.dump({
      apiVersion: 'gitops.toolkit/v1',
      kind: 'GitRepository',
      metadata: { name: 'bad' },
      spec: { interval: 'often', url: 'ftp://example.com/repo', ref: { semver: '>>1.0' } },
    });
    const r = await s.kubectl(['apply', '-f', '-'], { input: bad });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is invalid/);
    assert.match(r.stderr, /spec\.interval/);
    assert.match(r.stderr, /spec\.url|spec\.ref\.semver/);
    assert.notEqual((await s.kubectl(['get', 'gitrepo', 'bad'])).code, 0);
  });

  it('wait --for=condition=Ready returns once the status says so', async () => {
    const waiting = s.kubectl(['wait', '--for=condition=Ready', 'gitrepo/podinfo', '--timeout=30s']);
    await new Promise((r) => setTimeout(r, 1500));
    const obj = JSON.parse(await s.k(['get', 'gitrepo', 'podinfo', '-o', 'json']));
    const status = {
      observedGeneration: obj.metadata.generation,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'stored artifact for revision main@sha1:abc', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z/, 'Z'), observedGeneration: obj.metadata.generation }],
    };
    await s.k(['patch', 'gitrepo', 'podinfo', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /condition met/);
    assert.match(await s.k(['get', 'gitrepo', 'podinfo']), /podinfo\s+\S+\s+\S+\s+True\s+stored artifact/);
  });

  it('get -w prints a change as it happens', async () => {
    const watch = s.kubectl(['get', 'gitrepo', 'podinfo', '-w', '--output-watch-events', '--request-timeout=8s'], { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1500));
    await s.k(['label', 'gitrepo', 'podinfo', 'watched=yes']);
    const r = await watch;
    assert.match(r.stdout, /ADDED\s+podinfo/);
    assert.match(r.stdout, /MODIFIED\s+podinfo/);
  });

  it('delete removes an object at once; with a finalizer it waits for the finalizer', async () => {
    await s.k(['apply', '-f', '-'], { input: gitRepo('short-lived') });
    assert.match(await s.k(['delete', 'gitrepo', 'short-lived']), /deleted/);
    assert.notEqual((await s.kubectl(['get', 'gitrepo', 'short-lived'])).code, 0);

    const held = yaml.load(gitRepo('held')) as any;
    held.metadata.finalizers = ['gitops.toolkit/finalizer'];
    await s.k(['apply', '-f', '-'], { input: yaml.dump(held) });
    await s.k(['delete', 'gitrepo', 'held', '--wait=false']);
    const obj = JSON.parse(await s.k(['get', 'gitrepo', 'held', '-o', 'json']));
    assert.ok(obj.metadata.deletionTimestamp, 'deletionTimestamp set');
    await s.k(['patch', 'gitrepo', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    assert.notEqual((await s.kubectl(['get', 'gitrepo', 'held'])).code, 0);
  });
});
