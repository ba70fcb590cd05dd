// The server installed on a real cluster (E2E_KUBECONFIG; `npm run test:e2e` runs this folder, and
// `npm test` never does): `kubectl apply -k manifests/`, the APIService turning Available, kubectl through
// kube-apiserver's aggregator, the cluster's RBAC, artifact download, a Kustomization applying the
// Git source's ./kustomize (drift reverted, build and diff views, prune on deletion) and serving-cert
// rotation.
// Prerequisites (see README, "Install on a cluster"): the image is loadable by the cluster, `npm run
// certs` has been run, and the cluster can reach E2E_GIT_URL (default: a public GitHub repository).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { access, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import yaml from 'js-yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GIT_URL = process.env.E2E_GIT_URL || 'https://github.com/stefanprodan/podinfo';
const GIT_BRANCH = process.env.E2E_GIT_BRANCH || 'master';
const SERVICE_DNS = 'gitops-toolkit.gitops-system.svc';
const suffix = randomBytes(3).toString('hex');
const NS_A = `gitops-e2e-a-${suffix}`;
const NS_B = `gitops-e2e-b-${suffix}`;
const VIEWER = `e2e-viewer-${suffix}`;

interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function kubectl(args: string[], o: { input?: string; as?: string; kubeconfig?: string } = {}): Promise<Result> {
  const full = [...(o.as ? [`--as=${o.as}`] : []), ...(o.kubeconfig ? [`--kubeconfig=${o.kubeconfig}`] : []), ...args];
  return new Promise((res, rej) => {
    // The cluster under test is E2E_KUBECONFIG's, never whatever KUBECONFIG the shell exports.
    const env = { ...process.env, KUBECONFIG: process.env.E2E_KUBECONFIG ?? '' };
    const p = spawn('kubectl', full, { stdio: ['pipe', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
    p.stdin.end(o.input ?? '');
  });
}

/** kubectl that must succeed; returns stdout as text. */
async function ok(args: string[], o?: Parameters<typeof kubectl>[1]): Promise<string> {
  const r = await kubectl(args, o);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}${o?.as ? ` --as=${o.as}` : ''} failed: ${r.stderr}`);
  return r.stdout.toString();
}

/**
 * kubectl refused with 403 for `user`. kube-apiserver authorizes before it proxies, so a 403 may come
 * from it or from this server's SubjectAccessReview; the allowed requests are what show that this
 * server accepts the front-proxy identity and the cluster's RBAC answers.
 */
async function forbidden(args: string[], user: string, o?: Parameters<typeof kubectl>[1]): Promise<void> {
  const r = await kubectl(args, o);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} as ${user} should be forbidden`);
  assert.match(r.stderr, /forbidden/i);
  assert.ok(r.stderr.includes(user), `the 403 names ${user}: ${r.stderr}`);
}

async function eventually<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(2000);
  }
}

const gitRepository = (name: string, namespace: string) =>
  yaml.dump({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name, namespace }, spec: { interval: '10m', url: GIT_URL, ref: { branch: GIT_BRANCH } } });

const artifactPath = (ns: string, name: string) => `/apis/gitops.toolkit/v1/namespaces/${ns}/gitrepositories/${name}/artifact`;

/** A kubeconfig for the current cluster that authenticates only with `token`. */
async function tokenKubeconfig(token: string, dir: string): Promise<string> {
  const current = JSON.parse(await ok(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json']));
  const cluster = current.clusters[0];
  const path = join(dir, 'token-kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'e2e', cluster: cluster.cluster }],
    users: [{ name: 'e2e', user: { token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'e2e' } }],
    'current-context': 'e2e',
  };
  await writeFile(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}

describe('gitops-toolkit on a cluster', { timeout: 15 * 60_000 }, () => {
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gitops-e2e-'));
    await access(join(ROOT, 'manifests', 'serving-cert-secret.yaml')).catch(() => assert.fail('run `npm run certs` before the e2e suite'));
    await ok(['apply', '-k', join(ROOT, 'manifests')]);
    await ok(['-n', 'gitops-system', 'rollout', 'status', 'deployment/gitops-toolkit', '--timeout=300s']);
    await ok(['wait', '--for=condition=Available', 'apiservice/v1.gitops.toolkit', '--timeout=180s']);
    for (const ns of [NS_A, NS_B]) await ok(['create', 'namespace', ns]);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', NS_A, NS_B, '--wait=false']);
    await rm(work, { recursive: true, force: true });
  });

  test('discovery through the aggregator lists every kind', async () => {
    const names = (await ok(['api-resources', '--api-group=gitops.toolkit', '-o', 'name'])).trim().split('\n').sort();
    assert.deepEqual(names, ['buckets', 'gitrepositories', 'helmcharts', 'helmreleases', 'helmrepositories', 'kustomizations', 'ocirepositories'].map((r) => `${r}.gitops.toolkit`));
  });

  test('create, get, list and watch a GitRepository through kube-apiserver', async () => {
    await ok(['create', '-f', '-'], { input: gitRepository('watched', NS_A) });
    const got = JSON.parse(await ok(['-n', NS_A, 'get', 'gitrepository', 'watched', '-o', 'json']));
    assert.equal(got.spec.url, GIT_URL);
    assert.equal(got.metadata.generation, 1);
    const all = await ok(['get', 'gitrepositories', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}']);
    assert.ok(all.split('\n').includes(`${NS_A}/watched`), all);

    const watch = spawn('kubectl', ['-n', NS_A, 'get', 'gitrepositories', '--watch', '--output-watch-events', '-o', 'jsonpath={.type} {.object.metadata.name} {.object.metadata.labels.e2e}{"\\n"}']);
    let seen = '';
    watch.stdout.on('data', (d) => (seen += d));
    try {
      await eventually('the initial ADDED event', 60_000, async () => (seen.includes('ADDED watched') ? true : undefined));
      await ok(['-n', NS_A, 'label', 'gitrepository', 'watched', 'e2e=yes']);
      await eventually('a MODIFIED event with the label', 60_000, async () => (seen.includes('MODIFIED watched yes') ? true : undefined));
    } finally {
      watch.kill();
    }
  });

  test('the artifact downloads through kube-apiserver and matches status.artifact.digest', async () => {
    await ok(['apply', '-f', '-'], { input: gitRepository('podinfo', NS_A) });
    await ok(['-n', NS_A, 'wait', '--for=condition=Ready', 'gitrepository/podinfo', '--timeout=300s']);
    const { artifact } = JSON.parse(await ok(['-n', NS_A, 'get', 'gitrepository', 'podinfo', '-o', 'json'])).status;
    assert.equal(artifact.url, `https://kubernetes.default.svc${artifactPath(NS_A, 'podinfo')}`);
    const r = await kubectl(['get', '--raw', artifactPath(NS_A, 'podinfo')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.stdout.subarray(0, 2)], [0x1f, 0x8b], 'a gzip stream');
    assert.equal(`sha256:${createHash('sha256').update(r.stdout).digest('hex')}`, artifact.digest);
  });

  test('a user with the built-in view role lists but cannot create or download', async () => {
    await ok(['-n', NS_A, 'create', 'rolebinding', 'e2e-view', '--clusterrole=view', `--user=${VIEWER}`]);
    // gitops-toolkit-view reaches `view` through the cluster's role aggregation, which takes a moment.
    await eventually('view to include gitops.toolkit', 60_000, async () => ((await kubectl(['-n', NS_A, 'get', 'gitrepositories'], { as: VIEWER })).code === 0 ? true : undefined));
    const names = await ok(['-n', NS_A, 'get', 'gitrepositories', '-o', 'name'], { as: VIEWER });
    assert.match(names, /gitrepository\.gitops\.toolkit\/watched/);
    await forbidden(['create', '-f', '-'], VIEWER, { as: VIEWER, input: gitRepository('by-viewer', NS_A) });
    await forbidden(['-n', NS_A, 'delete', 'gitrepository', 'watched'], VIEWER, { as: VIEWER });
    await forbidden(['get', '--raw', artifactPath(NS_A, 'podinfo')], VIEWER, { as: VIEWER });
    // Not bound anywhere: nothing at all.
    const nobody = `e2e-nobody-${suffix}`;
    await forbidden(['-n', NS_A, 'get', 'gitrepositories'], nobody, { as: nobody });
    await forbidden(['get', '--raw', artifactPath(NS_A, 'podinfo')], nobody, { as: nobody });
  });

  test('a ServiceAccount bound to gitops-toolkit-edit creates in its namespace only, with its own token', async () => {
    await ok(['-n', NS_A, 'create', 'serviceaccount', 'e2e-editor']);
    await ok(['-n', NS_A, 'create', 'rolebinding', 'e2e-edit', '--clusterrole=gitops-toolkit-edit', `--serviceaccount=${NS_A}:e2e-editor`]);
    const token = (await ok(['-n', NS_A, 'create', 'token', 'e2e-editor', '--duration=1h'])).trim();
    const kubeconfig = await tokenKubeconfig(token, work);
    const user = `system:serviceaccount:${NS_A}:e2e-editor`;

    await ok(['create', '-f', '-'], { kubeconfig, input: gitRepository('by-editor', NS_A) });
    await ok(['-n', NS_A, 'patch', 'gitrepository', 'by-editor', '--type=merge', '-p', '{"spec":{"interval":"20m"}}'], { kubeconfig });
    const r = await kubectl(['get', '--raw', artifactPath(NS_A, 'podinfo')], { kubeconfig });
    assert.equal(r.code, 0, `edit may download artifacts: ${r.stderr}`);
    await ok(['-n', NS_A, 'delete', 'gitrepository', 'by-editor'], { kubeconfig });

    await forbidden(['create', '-f', '-'], user, { kubeconfig, input: gitRepository('by-editor', NS_B) });
    await forbidden(['get', 'gitrepositories', '-A'], user, { kubeconfig });
  });

  test("a Kustomization applies the source's ./kustomize, reverts drift, serves build and diff, and prunes on deletion", async () => {
    await ok(['apply', '-f', '-'], { input: gitRepository('app', NS_B) });
    await ok(['-n', NS_B, 'wait', '--for=condition=Ready', 'gitrepository/app', '--timeout=180s']);
    const ks = { apiVersion: 'gitops.toolkit/v1', kind: 'Kustomization', metadata: { name: 'app', namespace: NS_B }, spec: { interval: '10m', path: './kustomize', prune: true, targetNamespace: NS_B, sourceRef: { kind: 'GitRepository', name: 'app' } } };
    await ok(['apply', '-f', '-'], { input: yaml.dump(ks) });
    await ok(['-n', NS_B, 'wait', '--for=condition=Ready', 'kustomization/app', '--timeout=180s']);
    const inventory = JSON.parse(await ok(['-n', NS_B, 'get', 'kustomization/app', '-o', 'json'])).status.inventory.entries.map((e: { id: string }) => e.id);
    assert.ok(inventory.length > 0, 'something was applied');
    const deployments = JSON.parse(await ok(['-n', NS_B, 'get', 'deployments', '-l', 'kustomize.toolkit.fluxcd.io/name=app', '-o', 'json'])).items;
    assert.ok(deployments.length > 0, 'the Deployment carries the owner labels');
    const name = deployments[0].metadata.name;
    // Drift on a field Git sets: the pod template's labels, changed by kubectl patch.
    const appLabel = deployments[0].spec.template.metadata.labels.app;
    await ok(['-n', NS_B, 'patch', `deployment/${name}`, '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { labels: { app: 'drifted' } } } } })]);
    await ok(['-n', NS_B, 'annotate', '--overwrite', 'kustomization/app', `gitops.toolkit/requestedAt=${Date.now()}`]);
    await eventually('the drift reverted', 120_000, async () => {
      const d = JSON.parse(await ok(['-n', NS_B, 'get', `deployment/${name}`, '-o', 'json']));
      return d.spec.template.metadata.labels.app === appLabel ? true : undefined;
    });
    const build = await ok(['get', '--raw', `/apis/gitops.toolkit/v1/namespaces/${NS_B}/kustomizations/app/build`]);
    assert.match(build, /kind: Deployment/);
    const diff = JSON.parse(await ok(['get', '--raw', `/apis/gitops.toolkit/v1/namespaces/${NS_B}/kustomizations/app/diff`]));
    assert.ok(diff.entries.every((e: { action: string }) => e.action === 'unchanged' || e.action === 'skipped'), JSON.stringify(diff));
    // The built-in view role (aggregating gitops-toolkit-view) reads the Kustomization but not its build.
    await ok(['-n', NS_B, 'create', 'rolebinding', 'e2e-view-ks', '--clusterrole=view', `--user=${VIEWER}`]);
    await ok(['-n', NS_B, 'get', 'kustomization/app'], { as: VIEWER });
    await forbidden(['get', '--raw', `/apis/gitops.toolkit/v1/namespaces/${NS_B}/kustomizations/app/build`], VIEWER, { as: VIEWER });
    await ok(['-n', NS_B, 'delete', 'kustomization/app', '--timeout=120s']);
    await eventually('the objects pruned on deletion', 120_000, async () => {
      const left = JSON.parse(await ok(['-n', NS_B, 'get', 'deployments', '-l', 'kustomize.toolkit.fluxcd.io/name=app', '-o', 'json'])).items;
      return left.length === 0 ? true : undefined;
    });
  });

  test('a rotated serving certificate is served without restarting the pod', async () => {
    const pods = async () => JSON.parse(await ok(['-n', 'gitops-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=gitops-toolkit', '-o', 'json'])).items;
    const [pod] = await pods();
    const restarts = pod.status.containerStatuses[0].restartCount;

    // Same CA (so caBundle stays valid), new serving certificate.
    for (const d of ['manifests', 'apiservice', 'certs/cluster']) await cp(join(ROOT, d), join(work, d), { recursive: true });
    const gen = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'certs', 'generate.ts'), '--out-dir', work], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(await new Promise((res) => gen.on('close', res)), 0);
    const secret = yaml.load(await readFile(join(work, 'manifests', 'serving-cert-secret.yaml'), 'utf8')) as { data: Record<string, string> };
    const fromB64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    const wanted = new X509Certificate(fromB64(secret.data['tls.crt'])).serialNumber;
    await ok(['apply', '-f', join(work, 'manifests', 'serving-cert-secret.yaml')]);

    const forward = spawn('kubectl', ['-n', 'gitops-system', 'port-forward', 'service/gitops-toolkit', ':443']);
    try {
      let out = '';
      forward.stdout.on('data', (d) => (out += d));
      const port = await eventually('port-forward', 30_000, async () => /127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      const served = () =>
        new Promise<string>((res, rej) => {
          const s = tls.connect({ host: '127.0.0.1', port: Number(port), servername: SERVICE_DNS, ca: fromB64(secret.data['ca.crt']) }, () => {
            res(s.getPeerX509Certificate()!.serialNumber);
            s.end();
          });
          s.on('error', rej);
        });
      // kubelet refreshes a mounted Secret within about a minute; the server then reloads it.
      await eventually('the new serving certificate', 240_000, async () => ((await served().catch(() => '')) === wanted ? true : undefined));
    } finally {
      forward.kill();
    }
    const [now] = await pods();
    assert.equal(now.metadata.name, pod.metadata.name);
    assert.equal(now.status.containerStatuses[0].restartCount, restarts);
    await ok(['wait', '--for=condition=Available', 'apiservice/v1.gitops.toolkit', '--timeout=60s']);
  });
});
