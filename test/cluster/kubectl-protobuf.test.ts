// kubectl 1.32 sends protobuf bodies for built-in kinds in its imperative commands (create namespace,
// configmap, secret, deployment, job, token, ...). The local cluster reads them with the generated
// protobuf tables and stores exactly what the same object sent as JSON would give: these run the real
// kubectl against the cluster and compare the stored objects field by field, including that no zero
// values appear that kube would not show. A protobuf body for a custom resource is a 415, as in kube.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bytesField, envelope } from '../../src/apiserver/protobuf.js';
import { TestCluster } from '../helpers/local-cluster.js';

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** The paths of scalar zero values ('' , 0, false) in an object: what Go's omitempty would have dropped, unless kube sets them. */
function zeroPaths(v: unknown, path = ''): string[] {
  if (v === '' || v === 0 || v === false) return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => zeroPaths(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => zeroPaths(x, path ? `${path}.${k}` : k));
  return [];
}

/** Server-set metadata, which the comparisons leave aside. */
function withoutServerMeta<T extends { metadata?: Record<string, unknown> }>(o: T): T {
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, managedFields: _m, generation: _g, ...metadata } = o.metadata ?? {};
  return { ...o, metadata };
}

const jwtPayload = (token: string) => JSON.parse(Buffer.from(token.trim().split('.')[1], 'base64url').toString('utf8'));

describe('kubectl imperative commands send protobuf: the local cluster stores what kube would', { skip: !existsSync('/usr/bin/kubectl') && 'no kubectl' }, () => {
  let c: TestCluster;
  const kubectl = async (...args: string[]) => {
    const r = await c.kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const get = async (...args: string[]) => JSON.parse(await kubectl('get', ...args, '-o', 'json'));

  before(async () => {
    c = await TestCluster.start();
  });
  after(() => c.stop());

  it('create namespace', async () => {
    assert.match(await kubectl('create', 'namespace', 'tmp'), /namespace\/tmp created/);
    const ns = await get('namespace', 'tmp');
    assert.deepEqual(withoutServerMeta(ns), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp', labels: { 'kubernetes.io/metadata.name': 'tmp' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    assert.deepEqual(zeroPaths(ns), []);
  });

  it('create configmap --from-literal --from-file, then replace -f', async () => {
    const file = join(c.dir, 'settings.ini');
    await writeFile(file, '[core]\nx = 1\n');
    await kubectl('create', 'configmap', 'cm', '--from-literal=a=b', '--from-literal=empty=', `--from-file=${file}`);
    const cm = await get('configmap', 'cm');
    assert.deepEqual(withoutServerMeta(cm), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' }, data: { a: 'b', empty: '', 'settings.ini': '[core]\nx = 1\n' } });
    assert.ok(!('immutable' in cm) && !('binaryData' in cm) && !('generateName' in cm.metadata), JSON.stringify(cm));
    assert.deepEqual(zeroPaths(cm), ['data.empty']);
    const raw = (await c.request('GET', '/api/v1/namespaces/default/configmaps/cm')).json(); // kubectl get hides managedFields
    assert.deepEqual(raw.metadata.managedFields.map((m: { manager: string; operation: string }) => [m.manager, m.operation]), [['kubectl-create', 'Update']]);
    assert.deepEqual(raw.metadata.managedFields[0].fieldsV1, { 'f:data': { '.': {}, 'f:a': {}, 'f:empty': {}, 'f:settings.ini': {} } });

    // kubectl replace sends JSON (an unstructured object); the same object replaces it.
    cm.data = { a: 'replaced' };
    const r = await c.kubectl(['replace', '-f', '-'], { input: JSON.stringify(cm) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await get('configmap', 'cm')).data, { a: 'replaced' });
  });

  it('a protobuf PUT (update) of a ConfigMap: data, binaryData and immutable as sent', async () => {
    const { metadata } = await get('configmap', 'cm');
    const s = (no: number, v: string | Buffer) => bytesField(no, Buffer.isBuffer(v) ? v : Buffer.from(v));
    const entry = (no: number, k: string, v: string | Buffer) => bytesField(no, Buffer.concat([s(1, k), s(2, v)]));
    const meta = Buffer.concat([s(1, 'cm'), s(2, ''), s(3, 'default'), s(6, metadata.resourceVersion), s(8, Buffer.alloc(0))]);
    const msg = Buffer.concat([s(1, meta), entry(2, 'a', 'via protobuf'), entry(3, 'bin', Buffer.from([0, 1, 254, 255]))]);
    const res = await c.request('PUT', '/api/v1/namespaces/default/configmaps/cm', { body: envelope(msg, { apiVersion: 'v1', kind: 'ConfigMap' }), contentType: PROTOBUF });
    assert.equal(res.status, 200, res.body);
    const cm = await get('configmap', 'cm');
    assert.deepEqual(cm.data, { a: 'via protobuf' });
    assert.deepEqual(cm.binaryData, { bin: Buffer.from([0, 1, 254, 255]).toString('base64') });
    assert.deepEqual(zeroPaths(cm), []);
    assert.ok(!('generateName' in cm.metadata));
    // A stale resourceVersion is the usual 409.
    const stale = await c.request('PUT', '/api/v1/namespaces/default/configmaps/cm', { body: envelope(msg, { apiVersion: 'v1', kind: 'ConfigMap' }), contentType: PROTOBUF });
    assert.equal(stale.status, 409, stale.body);
  });

  it('create secret generic --from-literal: data base64, type Opaque', async () => {
    await kubectl('create', 'secret', 'generic', 's', '--from-literal=password=hunter2', '--from-literal=user=admin');
    const s = await get('secret', 's');
    assert.deepEqual(withoutServerMeta(s), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'Opaque', data: { password: Buffer.from('hunter2').toString('base64'), user: Buffer.from('admin').toString('base64') } });
    assert.deepEqual(zeroPaths(s), []);
  });

  it('create sa, create token (a TokenRequest): audiences and duration reach the token', async () => {
    await kubectl('create', 'sa', 'bot');
    const sa = await get('sa', 'bot');
    assert.deepEqual(withoutServerMeta(sa), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot', namespace: 'default' } });
    const plain = jwtPayload(await kubectl('create', 'token', 'bot'));
    assert.deepEqual(plain.aud, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(plain.sub, 'system:serviceaccount:default:bot');
    assert.equal(plain.exp - plain.iat, 3600);
    const custom = jwtPayload(await kubectl('create', 'token', 'bot', '--audience=a1', '--audience=a2', '--duration=2h'));
    assert.deepEqual(custom.aud, ['a1', 'a2']);
    assert.equal(custom.exp - custom.iat, 7200);
    assert.equal(custom['kubernetes.io'].serviceaccount.uid, sa.metadata.uid);
    const short = await c.kubectl(['create', 'token', 'bot', '--duration=1m']);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /may not specify a duration less than 600 seconds/);
  });

  it('create deployment --image --replicas=3', async () => {
    await kubectl('create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=3', '--port=80');
    const d = await get('deployment', 'web');
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.selector, { matchLabels: { app: 'web' } });
    assert.deepEqual(d.spec.template.metadata, { labels: { app: 'web' } });
    assert.deepEqual(d.spec.template.spec.containers, [
      { name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], resources: {}, imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' },
    ]);
    assert.equal(d.spec.strategy.type, 'RollingUpdate');
    assert.ok(!('paused' in d.spec) && !('minReadySeconds' in d.spec), JSON.stringify(d.spec));
    assert.deepEqual(zeroPaths(d), []);
  });

  it('create job, create cronjob', async () => {
    await kubectl('create', 'job', 'once', '--image=busybox', '--', 'echo', 'hi');
    const j = await get('job', 'once');
    const [container] = j.spec.template.spec.containers;
    assert.deepEqual([container.name, container.image, container.command], ['once', 'busybox', ['echo', 'hi']]);
    assert.equal(j.spec.template.spec.restartPolicy, 'Never');
    assert.ok(!('args' in container) && !('workingDir' in container) && !('stdin' in container), JSON.stringify(container));
    assert.deepEqual(zeroPaths(j).filter((p) => p !== 'spec.suspend'), []); // suspend: false is kube's default

    await kubectl('create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date');
    const cj = await get('cronjob', 'tick');
    assert.equal(cj.spec.schedule, '*/5 * * * *');
    assert.deepEqual(cj.spec.jobTemplate.metadata, { name: 'tick' });
    const tpl = cj.spec.jobTemplate.spec.template.spec;
    assert.deepEqual([tpl.containers[0].name, tpl.containers[0].command, tpl.restartPolicy], ['tick', ['date'], 'OnFailure']);
    assert.deepEqual(zeroPaths(cj).filter((p) => !p.endsWith('.suspend') && p !== 'spec.suspend'), []);
  });

  it('create role --verb --resource, rolebinding --clusterrole --user, clusterrolebinding', async () => {
    await kubectl('create', 'role', 'r', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=one');
    const role = await get('role', 'r');
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['pods'], resourceNames: ['one'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['one'], verbs: ['get', 'list'] },
    ]);
    assert.deepEqual(zeroPaths(role), ['rules[0].apiGroups[0]']); // the core group is ''

    await kubectl('create', 'rolebinding', 'rb', '--clusterrole=view', '--user=alice', '--serviceaccount=default:bot');
    const rb = await get('rolebinding', 'rb');
    assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' });
    // A ServiceAccount subject has no apiGroup: '' is omitempty in Go and does not appear.
    assert.deepEqual(rb.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'bot', namespace: 'default' }]);
    assert.deepEqual(zeroPaths(rb), []);

    await kubectl('create', 'clusterrolebinding', 'crb', '--clusterrole=view', '--group=devs');
    const crb = await get('clusterrolebinding', 'crb');
    assert.deepEqual(withoutServerMeta(crb), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'crb' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'devs' }],
    });
  });

  it('create service clusterip --tcp=80:8080', async () => {
    await kubectl('create', 'service', 'clusterip', 'svc', '--tcp=80:8080', '--tcp=443:https');
    const svc = await get('service', 'svc');
    assert.deepEqual(svc.spec.ports, [
      { name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 },
      { name: '443-https', port: 443, protocol: 'TCP', targetPort: 'https' },
    ]);
    assert.deepEqual(svc.spec.selector, { app: 'svc' });
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.match(svc.spec.clusterIP, /^10\./);
    assert.deepEqual(zeroPaths(svc), []);
  });

  it('create ingress, create pdb (IntOrString as a number and as a percentage)', async () => {
    await kubectl('create', 'ingress', 'ing', '--rule=foo.com/bar=svc1:8080', '--rule=bar.com/*=svc2:http,tls=cert');
    const ing = await get('ingress', 'ing');
    assert.deepEqual(ing.spec, {
      rules: [
        { host: 'foo.com', http: { paths: [{ path: '/bar', pathType: 'Exact', backend: { service: { name: 'svc1', port: { number: 8080 } } } }] } },
        { host: 'bar.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'svc2', port: { name: 'http' } } } }] } },
      ],
      tls: [{ hosts: ['bar.com'], secretName: 'cert' }],
    });
    assert.deepEqual(zeroPaths(ing), []);

    await kubectl('create', 'pdb', 'p', '--selector=app=web', '--min-available=1');
    assert.deepEqual((await get('pdb', 'p')).spec, { minAvailable: 1, selector: { matchLabels: { app: 'web' } } });
    await kubectl('create', 'pdb', 'q', '--selector=app=web', '--max-unavailable=50%');
    assert.deepEqual((await get('pdb', 'q')).spec, { maxUnavailable: '50%', selector: { matchLabels: { app: 'web' } } });
  });

  it('run (a Pod) and create quota (Quantities)', async () => {
    await kubectl('run', 'pod1', '--image=nginx', '--labels=a=b', '--env=K=V', '--port=80', '--', 'sleep', '1');
    const pod = await get('pod', 'pod1');
    assert.deepEqual(pod.metadata.labels, { a: 'b' });
    assert.deepEqual(pod.spec.containers[0].args, ['sleep', '1']);
    assert.deepEqual(pod.spec.containers[0].env, [{ name: 'K', value: 'V' }]);
    assert.deepEqual(pod.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
    await kubectl('create', 'quota', 'q', '--hard=cpu=500m,memory=1Gi,pods=10');
    assert.deepEqual((await get('quota', 'q')).spec, { hard: { cpu: '500m', memory: '1Gi', pods: '10' } });
  });

  it('create priorityclass: scheduling.k8s.io is not served, and kubectl says so', async () => {
    const r = await c.kubectl(['create', 'priorityclass', 'pc', '--value=10']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /failed to create priorityclass: the server could not find the requested resource/);
  });

  it('a protobuf body for a custom resource is a 415, for a built-in kind a malformed one a 400', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    assert.equal((await c.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd })).status, 201);
    const body = envelope(bytesField(1, bytesField(1, Buffer.from('w'))), { apiVersion: 'example.com/v1', kind: 'Widget' });
    let res;
    for (let i = 0; i < 100; i++) {
      res = await c.request('POST', '/apis/example.com/v1/namespaces/default/widgets', { body, contentType: PROTOBUF });
      if (res.status !== 404) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(res!.status, 415, res!.body);
    assert.match(res!.json().message, /application\/json, application\/yaml$/);
    const bad = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: Buffer.from('k8s\0\x12\x05\x0a\xff', 'latin1'), contentType: PROTOBUF });
    assert.equal(bad.status, 400, bad.body);
  });
});
