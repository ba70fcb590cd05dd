// The build library against the real `kubectl kustomize` (kustomize 5.5), on trees written here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuildError, buildKustomization } from '../../src/apply/build/index.js';

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'build-test-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), text);
  }
  return root;
}

const cm = (name: string, data: Record<string, string> = { a: '"1"' }, extra = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}data:\n${Object.entries(data)
    .map(([k, v]) => `  ${k}: ${v}`)
    .join('\n')}\n`;

const deploy = (name: string, image = 'nginx:1.0') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
      - name: main
        image: ${image}
`;

async function rejects(p: Promise<unknown>, reason: string, re: RegExp): Promise<BuildError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BuildError, `expected a BuildError, got ${e}`);
    assert.equal(e.reason, reason, e.message);
    assert.match(e.message, re);
    return e;
  }
  assert.fail('expected the build to fail');
}

const names = (objs: { kind?: string; metadata?: { name?: string } }[]) => objs.map((o) => `${o.kind}/${o.metadata?.name}`).sort();

test('plain manifests without kustomization.yaml: a generated one lists them all', async (t) => {
  const root = await tree({
    'deploy/cm.yaml': cm('one'),
    'deploy/sub/two.yml': cm('two') + '---\n' + cm('three'),
    'deploy/sub/list.json': JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'four' } }),
    'deploy/values.yaml': 'replicas: 3\nfoo: bar\n', // not Kubernetes: skipped
    'deploy/README.md': '# not a manifest',
    'deploy/nested/kustomization.yaml': 'resources: [x.yaml]\nnamePrefix: n-\n',
    'deploy/nested/x.yaml': cm('x'),
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const r = await buildKustomization({ root, spec: { path: './deploy' } });
  assert.equal(r.generated, true);
  assert.deepEqual(names(r.objects), ['ConfigMap/n-x', 'ConfigMap/one', 'ConfigMap/three', 'ConfigMap/two', 'Secret/four']);
});

test('a kustomization with a base and an overlay; the artifact root is not modified', async (t) => {
  const root = await tree({
    'base/kustomization.yaml': 'resources: [deploy.yaml, cm.yaml]\n',
    'base/deploy.yaml': deploy('web'),
    'base/cm.yaml': cm('conf'),
    'overlays/prod/kustomization.yml': 'resources: [../../base]\nnamePrefix: prod-\nlabels:\n- pairs: { env: prod }\n',
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const r = await buildKustomization({ root, spec: { path: 'overlays/prod' } });
  assert.equal(r.generated, false);
  assert.deepEqual(names(r.objects), ['ConfigMap/prod-conf', 'Deployment/prod-web']);
  assert.equal(r.objects[0].metadata?.labels?.env, 'prod');
  const { readdir } = await import('node:fs/promises');
  assert.deepEqual((await readdir(join(root, 'overlays/prod'))).sort(), ['kustomization.yml']);
});

test('spec patches (strategic merge and JSON 6902 with target), images, prefix/suffix, namespace, commonMetadata', async (t) => {
  const root = await tree({
    'app/kustomization.yaml': 'resources: [deploy.yaml, cm.yaml]\nimages:\n- name: nginx\n  newTag: "1.1"\n',
    'app/deploy.yaml': deploy('web'),
    'app/cm.yaml': cm('conf'),
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const r = await buildKustomization({
    root,
    spec: {
      path: 'app',
      targetNamespace: 'apps',
      namePrefix: 'p-',
      nameSuffix: '-s',
      images: [{ name: 'nginx', newName: 'registry.example/nginx' }, { name: 'busybox', newTag: '2' }],
      patches: [
        { patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n' },
        { patch: '- op: add\n  path: /data/b\n  value: "2"\n', target: { kind: 'ConfigMap', name: 'conf' } },
      ],
      commonMetadata: { labels: { team: 'a' }, annotations: { owner: 'me' } },
    },
  });
  const d = r.objects.find((o) => o.kind === 'Deployment') as any;
  const c = r.objects.find((o) => o.kind === 'ConfigMap') as any;
  assert.equal(d.metadata.name, 'p-web-s');
  assert.equal(d.metadata.namespace, 'apps');
  assert.equal(d.spec.replicas, 3);
  assert.equal(d.spec.template.spec.containers[0].image, 'registry.example/nginx:1.1');
  assert.equal(d.metadata.labels.team, 'a');
  assert.equal(d.metadata.annotations.owner, 'me');
  assert.equal(d.spec.selector.matchLabels.team, undefined, 'commonMetadata does not touch selectors');
  assert.deepEqual(c.data, { a: '1', b: '2' });
  assert.equal(c.metadata.name, 'p-conf-s');
});

test('components, with ignoreMissingComponents', async (t) => {
  const root = await tree({
    'app/kustomization.yaml': 'resources: [cm.yaml]\n',
    'app/cm.yaml': cm('conf'),
    'components/extra/kustomization.yaml':
      'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n',
    'components/extra/extra.yaml': cm('extra'),
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const r = await buildKustomization({
    root,
    spec: { path: 'app', components: ['../components/extra', '../components/missing'], ignoreMissingComponents: true },
  });
  assert.deepEqual(names(r.objects), ['ConfigMap/conf', 'ConfigMap/extra']);
  await rejects(
    buildKustomization({ root, spec: { path: 'app', components: ['../components/missing'] } }),
    'BuildFailed',
    /missing/,
  );
});

test('postBuild substitution with defaults, substituteFrom vars, $${} kept, and the opt-out annotation', async (t) => {
  const root = await tree({
    'app/cm.yaml': cm('conf', { env: '${cluster_env:=dev}', region: '${region}', literal: '$${region}' }),
    'app/deploy.yaml': deploy('web').replace('replicas: 1', 'replicas: ${replicas:=2}'),
    'app/off.yaml': cm('off', { v: '${region}' }, '  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n'),
    'app/off2.yaml': cm('off2', { v: '${region}' }, '  labels:\n    gitops.toolkit/substitute: disabled\n'),
  });
  t.after(() => rm(root, { recursive: true, force: true }));
  const r = await buildKustomization({
    root,
    spec: { path: 'app', postBuild: { substitute: { region: 'eu-1' } } },
    vars: { region: 'overridden', cluster_env: '' },
  });
  const by = (n: string) => r.objects.find((o) => o.metadata?.name === n) as any;
  assert.deepEqual(by('conf').data, { env: 'dev', region: 'eu-1', literal: '${region}' });
  assert.equal(by('web').spec.replicas, 2);
  assert.equal(by('off').data.v, '${region}');
  assert.equal(by('off2').data.v, '${region}');
  // no variables at all: WithVariables leaves everything alone, Always applies the defaults
  const none = await buildKustomization({ root, spec: { path: 'app', postBuild: {} } });
  assert.equal((none.objects.find((o) => o.metadata?.name === 'web') as any).spec.replicas, '${replicas:=2}');
  const always = await buildKustomization({ root, spec: { path: 'app', postBuild: { substituteStrategy: 'Always' } } });
  assert.equal((always.objects.find((o) => o.metadata?.name === 'web') as any).spec.replicas, 2);
  await rejects(buildKustomization({ root, spec: { path: 'app', postBuild: { substitute: { 'bad-name': 'x' } } } }), 'SubstitutionFailed', /bad-name/);
});

test('refusals: remote bases, symlinks out, .. paths, missing path, invalid YAML, kustomize errors, oversized output', async (t) => {
  const outside = await tree({ 'secret.yaml': cm('stolen') });
  const root = await tree({
    'remote/kustomization.yaml': 'resources:\n- cm.yaml\n- github.com/org/repo//deploy?ref=v1\n',
    'remote/cm.yaml': cm('a'),
    'remote2/kustomization.yaml': 'resources:\n- https://example.com/x.yaml\n',
    'git/kustomization.yaml': 'resources:\n- git::https://example.com/repo.git//base\n',
    'climb/kustomization.yaml': 'resources:\n- ../../../../../../etc\n',
    'broken/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b: c\n',
    'broken-k/kustomization.yaml': 'resources: [cm.yaml]\n',
    'broken-k/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  bad: [\ndata: {}\n',
    'kerr/kustomization.yaml': 'resources: [cm.yaml, nope.yaml]\n',
    'kerr/cm.yaml': cm('a'),
    'helm/kustomization.yaml': 'helmCharts:\n- name: x\n  repo: https://charts.example\n',
    'big/cm.yaml': cm('big', { v: 'x'.repeat(20_000) }),
  });
  const linked = await tree({ 'link/kustomization.yaml': 'resources: [stolen.yaml]\n', 'link/real/inside.yaml': cm('in') });
  await symlink(join(outside, 'secret.yaml'), join(linked, 'link/stolen.yaml'));
  t.after(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
    await rm(linked, { recursive: true, force: true });
  });
  await rejects(buildKustomization({ root, spec: { path: 'remote' } }), 'RemoteBaseRefused', /github\.com\/org\/repo/);
  await rejects(buildKustomization({ root, spec: { path: 'remote2' } }), 'RemoteBaseRefused', /https:\/\/example\.com\/x\.yaml/);
  await rejects(buildKustomization({ root, spec: { path: 'git' } }), 'RemoteBaseRefused', /git::/);
  await rejects(buildKustomization({ root: linked, spec: { path: 'link' } }), 'ArtifactFailed', /symlink 'link\/stolen\.yaml' points outside/);
  // a symlink that stays inside the root is fine
  await rm(join(linked, 'link/stolen.yaml'));
  await symlink('real/inside.yaml', join(linked, 'link/stolen.yaml'));
  assert.deepEqual(names((await buildKustomization({ root: linked, spec: { path: 'link' } })).objects), ['ConfigMap/in']);
  await rejects(buildKustomization({ root, spec: { path: 'climb' } }), 'ArtifactFailed', /outside the artifact root/);
  await rejects(buildKustomization({ root, spec: { path: '../etc' } }), 'ArtifactFailed', /outside the artifact root/);
  await rejects(buildKustomization({ root, spec: { path: 'nowhere' } }), 'PathNotFound', /nowhere/);
  const e1 = await rejects(buildKustomization({ root, spec: { path: 'broken' } }), 'InvalidYAML', /broken\/cm\.yaml line 6/);
  assert.deepEqual(e1.details, { file: 'broken/cm.yaml', line: 6 });
  const e2 = await rejects(buildKustomization({ root, spec: { path: 'broken-k' } }), 'InvalidYAML', /cm\.yaml line \d+/);
  assert.ok(e2.details.line);
  await rejects(buildKustomization({ root, spec: { path: 'kerr' } }), 'BuildFailed', /nope\.yaml/);
  await rejects(buildKustomization({ root, spec: { path: 'helm' } }), 'BuildFailed', /helmCharts is not supported/);
  await rejects(buildKustomization({ root, spec: { path: 'big' }, maxOutputBytes: 10_000 }), 'BuildFailed', /larger than the limit of 10000 bytes/);
  await rejects(buildKustomization({ root: join(root, 'absent'), spec: {} }), 'ArtifactFailed', /does not exist/);
});

test('plain manifests are read without kustomize, with the objects kustomize renders from them', async () => {
  const root = await tree({
    'deploy/a.yaml': `${cm('one', { a: '"1"', b: 'yes', d: '1.10' })}---\n${deploy('web')}---\n# only a comment\n`,
    'deploy/sub/b.yml': cm('two', { n: '"x"' }, '  namespace: other\n  labels: {tier: "2"}\n'),
    'deploy/sub/c.json': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { ports: [{ port: 80, targetPort: 'http' }] } }),
    'deploy/values.yaml': 'replicaCount: 3\n', // not a Kubernetes object: not listed
  });
  try {
    const spec = { path: './deploy', commonMetadata: { labels: { team: 'a' } }, postBuild: { substitute: { x: 'y' } } };
    const fast = await buildKustomization({ root, spec });
    const reference = await buildKustomization({ root, spec, alwaysKustomize: true });
    const key = (o: { kind?: string; metadata?: { name?: string } }) => `${o.kind}/${o.metadata?.name}`;
    const sorted = (l: typeof fast.objects) => [...l].sort((a, b) => key(a).localeCompare(key(b)));
    assert.equal(fast.objects.length, 4);
    assert.deepEqual(sorted(fast.objects), sorted(reference.objects));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('what kustomize treats specially is left to it: a duplicate identity is its error, a nested kustomization its build', async () => {
  const dup = await tree({ 'a.yaml': cm('same'), 'b.yaml': cm('same') });
  const nested = await tree({ 'a.yaml': cm('top'), 'base/kustomization.yaml': 'resources: [cm.yaml]\nnamePrefix: p-\n', 'base/cm.yaml': cm('inner') });
  try {
    await assert.rejects(buildKustomization({ root: dup, spec: {} }), (e: unknown) => e instanceof BuildError && /already registered|conflict|id/i.test(e.message));
    const built = await buildKustomization({ root: nested, spec: {} });
    assert.deepEqual(built.objects.map((o) => o.metadata?.name).sort(), ['p-inner', 'top']);
  } finally {
    await rm(dup, { recursive: true, force: true });
    await rm(nested, { recursive: true, force: true });
  }
});
