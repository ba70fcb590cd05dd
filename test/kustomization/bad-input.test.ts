// Kustomizations fed bad input, end to end on the embedded local cluster (one bed, asserted with
// kubectl): each failure is a precise condition (reason and message), and none leaves anything
// half-applied that the next reconcile cannot repair — after the input is fixed in Git (or in the
// spec), the Kustomization becomes Ready.
//
// The server runs with --requeue-dependency 10m: a Kustomization waiting for its source becomes
// Ready within the tests' bounds only because the runtime wakes it when the source gets an artifact.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KustomizationBed } from '../helpers/kustomization.js';
import { eventually } from '../helpers/eventually.js';

const configMap = (name: string, namespace = 'default') => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${namespace}}
data: {a: b}
`;

type Cond = { status: string; reason: string; message: string };

describe('Kustomization: bad input on the local cluster', () => {
  let bed: KustomizationBed;
  before(async () => {
    bed = await KustomizationBed.start({ serverArgs: ['--requeue-dependency', '10m'] });
  });
  after(async () => bed?.stop());

  /** Ready=False with `reason`, once the Kustomization reached it. */
  const failed = (name: string, reason: string, timeoutMs = 60_000): Promise<Cond> => bed.condition(name, 'Ready', (c) => c.status === 'False' && c.reason === reason, { timeoutMs });
  const readyRevision = async (name: string, sha: string) => {
    const c = await bed.condition(name, 'Ready', (c) => c.status === 'True' && c.message.endsWith(sha));
    assert.match(c.message, /^Applied revision: main@sha1:/);
  };

  it('a missing source: waits naming it; creating the source wakes it to Ready', async () => {
    await bed.kustomization('late');
    const c = await failed('late', 'ArtifactFailed');
    assert.equal(c.message, "Source 'GitRepository/default/late' not found");
    // Waiting, not stalled: it goes on by itself once the source is there.
    const status = (await bed.get('kustomization', 'late')).status;
    assert.equal(status.conditions.find((x: Cond & { type: string }) => x.type === 'Stalled'), undefined);
    assert.equal(status.conditions.find((x: Cond & { type: string }) => x.type === 'Reconciling')?.reason, 'ProgressingWithRetry');

    await bed.source('late', { 'cm.yaml': configMap('late') });
    // Within 60 s with a 10 min requeue: the source's artifact woke it.
    await bed.ready('late');
    assert.equal(await bed.k(['get', 'cm', 'late', '-o', 'jsonpath={.data.a}']), 'b');
  });

  it('a source without an artifact (its repository does not exist): waits saying there is no artifact', async () => {
    await bed.apply({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'ghost', namespace: 'default' }, spec: { interval: '1h', url: bed.git.url('ghost'), ref: { branch: 'main' } } });
    await bed.condition('ghost', 'Ready', (c) => c.status === 'False', { kind: 'gitrepository' });
    await bed.kustomization('ghost');
    const c = await failed('ghost', 'ArtifactFailed');
    assert.equal(c.message, "Source 'GitRepository/default/ghost' is not ready: it has no artifact yet");

    await bed.git.createRepo('ghost', { files: { 'cm.yaml': configMap('ghost') } });
    await bed.requestReconcile('gitrepository', 'ghost');
    await bed.ready('ghost');
    assert.ok(await bed.exists('configmap', 'ghost'));
  });

  it('a missing path: PathNotFound naming it; pushing the directory makes it Ready', async () => {
    await bed.source('nopath', { 'deploy/cm.yaml': configMap('nopath') });
    await bed.kustomization('nopath', { path: './apps/nopath' });
    const c = await failed('nopath', 'PathNotFound');
    assert.equal(c.message, "kustomization path not found: './apps/nopath' does not exist in the artifact or is not a directory");
    const sha = await bed.push('nopath', { 'apps/nopath/cm.yaml': configMap('nopath-fixed') });
    await readyRevision('nopath', sha);
    assert.ok(await bed.exists('configmap', 'nopath-fixed'));
  });

  const BROKEN = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  a: b: c\n';

  it('invalid YAML (no kustomization.yaml): InvalidYAML naming the file and the line; nothing applied', async () => {
    await bed.source('badyaml', { 'deploy/good.yaml': configMap('badyaml-good'), 'deploy/sub/broken.yaml': BROKEN });
    await bed.kustomization('badyaml', { path: './deploy' });
    const c = await failed('badyaml', 'InvalidYAML');
    assert.equal(c.message, 'invalid YAML in deploy/sub/broken.yaml line 6: bad indentation of a mapping entry');
    assert.equal(await bed.exists('configmap', 'badyaml-good'), false, 'a build that fails applies nothing');
    const sha = await bed.push('badyaml', { 'deploy/sub/broken.yaml': configMap('broken') });
    await readyRevision('badyaml', sha);
    assert.ok(await bed.exists('configmap', 'badyaml-good'));
    assert.ok(await bed.exists('configmap', 'broken'));
  });

  it('invalid YAML under a kustomization.yaml (kustomize reads it): InvalidYAML naming the file and the line', async () => {
    await bed.source('badyaml2', { 'kz/kustomization.yaml': 'resources: [good.yaml, broken.yaml]\n', 'kz/good.yaml': configMap('badyaml2-good'), 'kz/broken.yaml': BROKEN });
    await bed.kustomization('badyaml2', { path: './kz' });
    const c = await failed('badyaml2', 'InvalidYAML');
    assert.equal(c.message, 'invalid YAML in kz/broken.yaml line 6: mapping values are not allowed in this context');
    const sha = await bed.push('badyaml2', { 'kz/broken.yaml': configMap('broken2') });
    await readyRevision('badyaml2', sha);
    assert.ok(await bed.exists('configmap', 'broken2'));
  });

  it('a kustomize build error (a missing resource): BuildFailed with kustomize’s words', async () => {
    await bed.source('missingres', { 'kustomization.yaml': 'resources: [cm.yaml, gone.yaml]\n', 'cm.yaml': configMap('missingres') });
    await bed.kustomization('missingres');
    const c = await failed('missingres', 'BuildFailed');
    assert.match(c.message, /^kustomize build failed: .*'gone\.yaml'/);
    assert.doesNotMatch(c.message, /\/tmp\/|kustomize-views|gitops-build-/, 'no private build directory in the message');
    assert.equal(await bed.exists('configmap', 'missingres'), false);
    const sha = await bed.push('missingres', { 'kustomization.yaml': 'resources: [cm.yaml]\n' });
    await readyRevision('missingres', sha);
    assert.ok(await bed.exists('configmap', 'missingres'));
  });

  it('a remote base: RemoteBaseRefused naming the file and the entry', async () => {
    await bed.source('remote', { 'kustomization.yaml': 'resources:\n- cm.yaml\n- github.com/kubernetes-sigs/kustomize/examples/helloWorld?ref=v5.0.0\n', 'cm.yaml': configMap('remote') });
    await bed.kustomization('remote');
    const c = await failed('remote', 'RemoteBaseRefused');
    assert.equal(c.message, "kustomization.yaml: remote resources entry 'github.com/kubernetes-sigs/kustomize/examples/helloWorld?ref=v5.0.0' is not allowed: every resource must come from the artifact");
    const sha = await bed.push('remote', { 'kustomization.yaml': 'resources: [cm.yaml]\n' });
    await readyRevision('remote', sha);
  });

  it('an object of an unknown kind: names it and says unknown kind; nothing of its stage applied', async () => {
    const widget = 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: default}\nspec: {size: 1}\n';
    await bed.source('unknown', { 'cm.yaml': configMap('unknown-cm'), 'gadget.yaml': widget });
    await bed.kustomization('unknown');
    const c = await failed('unknown', 'ReconciliationFailed');
    assert.match(c.message, /^Gadget\/default\/g1: unknown kind Gadget in example\.com\/v1/);
    assert.equal(await bed.exists('configmap', 'unknown-cm'), false, 'the stage stopped before any write');
    const sha = await bed.push('unknown', {}, { remove: ['gadget.yaml'] });
    await readyRevision('unknown', sha);
    assert.ok(await bed.exists('configmap', 'unknown-cm'));
  });

  it('an object the cluster refuses (an invalid name): names it; its stage is not applied, the earlier stage (a Namespace) is, and is inventoried', async () => {
    const ns = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: refused}\n';
    // The ServiceAccount is applied before ConfigMaps in its stage (kind order): it must not be written either.
    const sa = 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: refused}\n';
    await bed.source('refused', { 'ns.yaml': ns, 'sa.yaml': sa, 'cm.yaml': configMap('settings', 'refused'), 'bad.yaml': configMap('Bad_Name', 'refused') });
    await bed.kustomization('refused');
    const c = await failed('refused', 'ReconciliationFailed');
    assert.match(c.message, /^ConfigMap\/refused\/Bad_Name dry-run failed \(Invalid\): .*Bad_Name/);
    assert.ok(await bed.exists('namespace', 'refused'), 'the Namespace stage was applied');
    assert.equal(await bed.exists('serviceaccount', 'app', 'refused'), false, 'nothing of the refused stage was applied');
    assert.equal(await bed.exists('configmap', 'settings', 'refused'), false);
    const inv = (await bed.get('kustomization', 'refused')).status.inventory.entries.map((e: { id: string }) => e.id);
    assert.deepEqual(inv, ['_refused__Namespace'], 'what was applied is inventoried, so a later reconcile can prune it');

    const sha = await bed.push('refused', { 'bad.yaml': configMap('good-name', 'refused') });
    await readyRevision('refused', sha);
    for (const [kind, name] of [['serviceaccount', 'app'], ['configmap', 'settings'], ['configmap', 'good-name']]) assert.ok(await bed.exists(kind, name, 'refused'), `${kind}/${name}`);
    const fixed = (await bed.get('kustomization', 'refused')).status.inventory.entries.map((e: { id: string }) => e.id).sort();
    assert.deepEqual(fixed, ['_refused__Namespace', 'refused_app__ServiceAccount', 'refused_good-name__ConfigMap', 'refused_settings__ConfigMap']);
  });

  it('spec.decryption: Stalled, saying SOPS is not supported; removing it makes it Ready', async () => {
    await bed.source('sops', { 'cm.yaml': configMap('sops') });
    await bed.kustomization('sops', { decryption: { provider: 'sops', secretRef: { name: 'sops-age' } } });
    const c = await bed.condition('sops', 'Stalled', (c) => c.status === 'True');
    assert.equal(c.reason, 'DecryptionNotSupported');
    assert.match(c.message, /SOPS\) is not supported/);
    const ready = await failed('sops', 'DecryptionNotSupported');
    assert.equal(ready.message, c.message);
    assert.equal(await bed.exists('configmap', 'sops'), false);
    await bed.k(['patch', 'kustomization/sops', '--type=json', '-p', '[{"op":"remove","path":"/spec/decryption"}]']);
    await bed.ready('sops');
    assert.ok(await bed.exists('configmap', 'sops'));
    const status = (await bed.get('kustomization', 'sops')).status;
    assert.equal(status.conditions.find((x: { type: string }) => x.type === 'Stalled'), undefined);
  });
});

// One path of many objects: the build, the apply and the API's responsiveness while it runs.
// Measured on this 2-core machine, unloaded: 10,000 ConfigMaps Ready in 48 s (the whole file in about
// a minute). Where time goes: `kubectl kustomize` is quadratic in the objects of one kustomization
// (standalone: 1,000 → 0.6 s, 2,000 → 2.8 s, 4,000 → 10 s CPU), so the bed raises
// --kustomize-build-timeout (under load a 10,000-object build passed the default 60 s); the apply
// makes three requests per object (read, dry run, apply). BAD_INPUT_OBJECTS sets another size.
describe('Kustomization: many objects in one path', () => {
  const COUNT = Number(process.env.BAD_INPUT_OBJECTS ?? 10_000);
  const FILES = 10;
  let bed: KustomizationBed;
  before(async () => {
    bed = await KustomizationBed.start({ serverArgs: ['--requeue-dependency', '10m', '--kustomize-build-timeout', '10m'] });
  });
  after(async () => bed?.stop());

  it(`${COUNT} ConfigMaps in ${FILES} files become Ready, and the API answers during the reconcile`, { timeout: 15 * 60_000 }, async () => {
    const files: Record<string, string> = {};
    const per = Math.ceil(COUNT / FILES);
    for (let f = 0; f < FILES; f++) {
      const docs: string[] = [];
      for (let i = f * per; i < Math.min(COUNT, (f + 1) * per); i++) docs.push(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: many-${i}, namespace: default}\ndata: {i: "${i}"}\n`);
      files[`many/part-${f}.yaml`] = docs.join('---\n');
    }
    await bed.source('many', files);
    const t0 = Date.now();
    await bed.kustomization('many', { path: './many', timeout: '15m' });
    // While it reconciles: the API (ours and the cluster's) answers.
    let probes = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const started = Date.now();
        const r = await bed.run(['get', 'ns', 'default', '-o', 'name'], '');
        assert.equal(r.code, 0, `kubectl get ns during the reconcile: ${r.stderr}`);
        const k = await bed.run(['get', 'kustomization', 'many', '-o', 'name'], '');
        assert.equal(k.code, 0, `kubectl get kustomization during the reconcile: ${k.stderr}`);
        probes++;
        console.log(`probe ${probes} at ${((started - t0) / 1000).toFixed(1)}s answered in ${Date.now() - started} ms`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    try {
      await bed.ready('many', { timeoutMs: 14 * 60_000 });
    } finally {
      probing = false;
    }
    await probe;
    const elapsed = Date.now() - t0;
    console.log(`${COUNT} objects Ready after ${(elapsed / 1000).toFixed(1)}s; ${probes} probes answered`);
    assert.ok(probes >= 1, 'the API was probed during the reconcile');
    const status = (await bed.get('kustomization', 'many')).status;
    assert.equal(status.inventory.entries.length, COUNT);
    const names = await eventually(async () => {
      const out = await bed.k(['get', 'configmaps', '-l', 'kustomize.toolkit.fluxcd.io/name=many', '-o', 'name']);
      const n = out.split('\n').filter(Boolean).length;
      return n === COUNT && n;
    }, 30_000);
    assert.equal(names, COUNT);
  });
});
