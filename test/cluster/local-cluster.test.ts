// The local cluster as a process and as a peer: `npm run cluster` writes its kubeconfig and survives a
// restart with its objects; built-in kinds behave as kube's (defaults, cluster IPs, generation);
// --simulate-workloads reports rollouts and Jobs after the delay, and nothing without it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from '../helpers/local-cluster.js';
import { kubectl as runKubectl } from '../helpers/run.js';

/** Retries `check` until it stops throwing (bounded). */
async function eventually<T>(check: () => Promise<T>, o: { timeoutMs?: number } = {}): Promise<T> {
  const end = Date.now() + (o.timeoutMs ?? 10_000);
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const deployment = (name: string, replicas = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } } },
});

describe('local cluster', () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start({ workloads: { delayMs: 200 } });
  });
  after(() => c.stop());

  test('built-in defaults and strategies: container port protocol, Service cluster IP and targetPort, Secret stringData, generation', async () => {
    const d = await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', { body: deployment('defaults') });
    assert.equal(d.status, 201, d.body);
    const obj = d.json();
    assert.equal(obj.spec.template.spec.containers[0].ports[0].protocol, 'TCP');
    assert.equal(obj.spec.template.spec.containers[0].terminationMessagePath, '/dev/termination-log');
    assert.equal(obj.spec.revisionHistoryLimit, 10);
    assert.equal(obj.spec.strategy.type, 'RollingUpdate');
    assert.equal(obj.metadata.generation, 1);
    const s = await c.request('POST', '/api/v1/namespaces/default/services', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } } });
    assert.equal(s.status, 201, s.body);
    const svc = s.json();
    assert.match(svc.spec.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    assert.deepEqual(svc.spec.clusterIPs, [svc.spec.clusterIP]);
    assert.equal(svc.spec.ports[0].targetPort, 80);
    assert.equal(svc.spec.ports[0].protocol, 'TCP');
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.equal(svc.metadata.generation, undefined);
    const changed = await c.request('PATCH', '/api/v1/namespaces/default/services/svc', { body: { spec: { clusterIP: '10.96.9.9' } }, contentType: 'application/merge-patch+json' });
    assert.equal(changed.status, 422, changed.body);
    assert.match(changed.json().message, /spec\.clusterIPs\[0\]: Invalid value: "10\.96\.9\.9": may not change once set/);
    const sec = await c.request('POST', '/api/v1/namespaces/default/secrets', { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'hunter2' } } });
    assert.equal(sec.status, 201, sec.body);
    assert.deepEqual(sec.json().data, { password: Buffer.from('hunter2').toString('base64') });
    assert.equal(sec.json().stringData, undefined);
    assert.equal(sec.json().type, 'Opaque');
  });

  test('kubectl scale writes /scale: spec.replicas and generation change, managedFields records the scale subresource', async () => {
    assert.equal((await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', { body: deployment('scaled', 1) })).status, 201);
    const r = await c.kubectl(['scale', 'deployment/scaled', '-n', 'default', '--replicas=4']);
    assert.equal(r.code, 0, r.stderr);
    const d = (await c.request('GET', '/apis/apps/v1/namespaces/default/deployments/scaled')).json();
    assert.equal(d.spec.replicas, 4);
    assert.equal(d.metadata.generation, 2);
    const entry = d.metadata.managedFields.find((m: { subresource?: string }) => m.subresource === 'scale');
    assert.ok(entry, JSON.stringify(d.metadata.managedFields));
    assert.equal(entry.manager, 'kubectl');
    assert.deepEqual(entry.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  });

  test('a CRD\'s CEL rules are enforced on its objects (kubectl shows the message); a rule that does not parse refuses the CRD', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'ranges.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'ranges', kind: 'Range' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    'x-kubernetes-validations': [{ rule: 'self.min <= self.max', message: 'min must not exceed max' }],
                    properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                  },
                },
              },
            },
          },
        ],
      },
    };
    const created = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await c.kubectl(['wait', '--for=condition=Established', 'crd/ranges.example.com', '--timeout=10s'])).code, 0);
    const ok = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Range', metadata: { name: 'ok', namespace: 'default' }, spec: { min: 1, max: 2 } }) });
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Range', metadata: { name: 'bad', namespace: 'default' }, spec: { min: 3, max: 2 } }) });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /The Range "bad" is invalid: spec: Invalid value: "object": min must not exceed max/);
    assert.equal((await c.request('GET', '/apis/example.com/v1/namespaces/default/ranges/bad')).status, 404);
    const broken = structuredClone(crd);
    broken.metadata.name = 'brokens.example.com';
    broken.spec.names = { plural: 'brokens', kind: 'Broken' };
    (broken.spec.versions[0].schema.openAPIV3Schema.properties.spec as { 'x-kubernetes-validations': unknown[] })['x-kubernetes-validations'] = [{ rule: 'self.min <=' }];
    const refused = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(broken) });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /x-kubernetes-validations\[0\]\.rule: Invalid value: "self\.min <=": compilation failed/);
  });

  test('RBAC comes from the cluster\'s own objects at once; impersonation needs the impersonate verb', async () => {
    const alice = await c.kubeconfigFor('alice');
    const denied = await c.kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig: alice });
    assert.match(denied.stderr, /User "alice" cannot list resource "configmaps" in API group "" in the namespace "default"/);
    const binding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-view', namespace: 'default' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }] };
    assert.equal((await c.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', { body: binding })).status, 201);
    const allowed = await c.kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig: alice });
    assert.equal(allowed.code, 0, allowed.stderr);
    const secrets = await c.kubectl(['get', 'secrets', '-n', 'default'], { kubeconfig: alice });
    assert.match(secrets.stderr, /cannot list resource "secrets"/, 'view does not read Secrets, as in kube');
    const asBob = await c.kubectl(['get', 'configmaps', '-n', 'default', '--as=bob'], { kubeconfig: alice });
    assert.match(asBob.stderr, /User "alice" cannot impersonate resource "users" in API group "" at the cluster scope/);
    const canI = await c.kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', 'default', '--as=alice']);
    assert.equal(canI.stdout.trim(), 'yes');
    const review = (ns: string) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'LocalSubjectAccessReview', spec: { user: 'alice', resourceAttributes: { namespace: ns, verb: 'list', resource: 'configmaps' } } });
    const local = await c.request('POST', '/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews', { body: review('default') });
    assert.equal(local.status, 201, local.body);
    assert.equal(local.json().status.allowed, true);
    const elsewhere = await c.request('POST', '/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews', { body: review('kube-system') });
    assert.equal(elsewhere.status, 400);
    assert.match(elsewhere.json().message, /spec\.resourceAttributes\.namespace must match namespace: default/);
    assert.equal((await c.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/alice-view', { body: {}, headers: {} })).status, 200);
    const again = await c.kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig: alice });
    assert.match(again.stderr, /cannot list resource "configmaps"/);
  });

  test('field selectors of built-in kinds (events by involvedObject, pods by status.phase) and of a CRD\'s selectableFields', async () => {
    const ev = (name: string, involved: string) => ({ apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' }, involvedObject: { kind: 'Pod', name: involved, namespace: 'default' }, reason: 'Tested', type: 'Normal', message: 'm', source: { component: 'test' } });
    for (const [n, i] of [['e1', 'a'], ['e2', 'b']]) assert.equal((await c.request('POST', '/api/v1/namespaces/default/events', { body: ev(n, i) })).status, 201);
    const got = await c.kubectl(['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=b,source=test', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.equal(got.stdout, 'e2', got.stderr);
    assert.equal((await c.request('POST', '/api/v1/namespaces/default/pods', { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } })).status, 201);
    const pending = await c.kubectl(['get', 'pods', '-n', 'default', '--field-selector', 'status.phase=Pending', '-o', 'name']);
    assert.equal(pending.stdout.trim(), 'pod/p', pending.stderr);
    const scheduled = (await c.request('GET', '/api/v1/namespaces/default/pods/p')).json().status.conditions;
    assert.deepEqual(scheduled.map((x: { type: string; status: string; reason: string }) => [x.type, x.status, x.reason]), [['PodScheduled', 'False', 'Unschedulable']], 'a Pod says why it does not run');
    assert.match(scheduled[0].message, /no nodes/);
    const unsupported = await c.kubectl(['get', 'configmaps', '-n', 'default', '--field-selector', 'data.a=1']);
    assert.match(unsupported.stderr, /field label not supported: data\.a/);
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'shapes.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'shapes', kind: 'Shape' },
        versions: [{ name: 'v1', served: true, storage: true, selectableFields: [{ jsonPath: '.spec.color' }], schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { color: { type: 'string' } } } } } } }],
      },
    };
    assert.equal((await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) })).code, 0);
    assert.equal((await c.kubectl(['wait', '--for=condition=Established', 'crd/shapes.example.com', '--timeout=10s'])).code, 0);
    for (const [n, color] of [['red1', 'red'], ['blue1', 'blue']])
      assert.equal((await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Shape', metadata: { name: n, namespace: 'default' }, spec: { color } }) })).code, 0);
    const red = await c.kubectl(['get', 'shapes', '-n', 'default', '--field-selector', 'spec.color=red', '-o', 'name']);
    assert.equal(red.stdout.trim(), 'shape.example.com/red1', red.stderr);
  });

  test('a built-in kind\'s create and update may leave apiVersion and kind out (the URL\'s are used); a custom resource\'s may not', async () => {
    const r = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'untyped' }, data: { a: '1' } } });
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json().kind, 'ConfigMap');
    const put = await c.request('PUT', '/api/v1/namespaces/default/configmaps/untyped', { body: { metadata: { name: 'untyped', resourceVersion: r.json().metadata.resourceVersion }, data: { a: '2' } } });
    assert.equal(put.status, 200, put.body);
    assert.equal(put.json().data.a, '2');
    const wrong = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } } });
    assert.equal(wrong.status, 400);
    const apply = await c.request('PATCH', '/api/v1/namespaces/default/configmaps/applied?fieldManager=t', { body: { metadata: { name: 'applied' } }, contentType: 'application/apply-patch+yaml' });
    assert.equal(apply.status, 400, 'an apply body names its kind');
    const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'plains.example.com' }, spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'plains', kind: 'Plain' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] } };
    assert.equal((await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) })).code, 0);
    assert.equal((await c.kubectl(['wait', '--for=condition=Established', 'crd/plains.example.com', '--timeout=10s'])).code, 0);
    const cr = await c.request('POST', '/apis/example.com/v1/namespaces/default/plains', { body: { metadata: { name: 'p' } } });
    assert.equal(cr.status, 400);
    assert.match(cr.json().message, /Object 'Kind' is missing/);
  });

  test('a Deployment whose selector does not match its template is refused as kube words it', async () => {
    const bad = deployment('mismatch');
    bad.spec.template.metadata.labels = { app: 'other' };
    const r = await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', { body: bad });
    assert.equal(r.status, 422, r.body);
    assert.match(r.json().message, /spec\.template\.metadata\.labels: Invalid value: map\[string\]string\{"app":"other"\}: `selector` does not match template `labels`/);
  });

  test('--simulate-workloads: a Deployment is reported available at its generation after the delay, again after a change; a Job completes', async () => {
    assert.equal((await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', { body: deployment('sim', 3) })).status, 201);
    const ready = await eventually(async () => {
      const d = (await c.request('GET', '/apis/apps/v1/namespaces/default/deployments/sim')).json();
      assert.equal(d.status?.observedGeneration, 1);
      return d;
    });
    assert.equal(ready.status.readyReplicas, 3);
    assert.equal(ready.status.conditions.find((x: { type: string }) => x.type === 'Available').status, 'True');
    assert.match(ready.status.conditions[0].message, /no Pod runs/);
    const annotated = await c.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/sim', { body: { metadata: { annotations: { note: 'x' } } }, contentType: 'application/merge-patch+json' });
    assert.equal(annotated.json().metadata.generation, 2, 'a Deployment\'s annotations count toward its generation, as in kube');
    const cm = await c.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gen' } } });
    assert.equal(cm.json().metadata.generation, undefined);
    const scaled = await c.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/sim', { body: { spec: { replicas: 5 } }, contentType: 'application/merge-patch+json' });
    assert.equal(scaled.json().metadata.generation, 3);
    await eventually(async () => {
      const d = (await c.request('GET', '/apis/apps/v1/namespaces/default/deployments/sim')).json();
      assert.equal(d.status.observedGeneration, 3);
      assert.equal(d.status.readyReplicas, 5);
    });
    const job = await c.request('POST', '/apis/batch/v1/namespaces/default/jobs', {
      body: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
    });
    assert.equal(job.status, 201, job.body);
    assert.equal(job.json().spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], job.json().metadata.uid);
    const wait = await c.kubectl(['wait', '--for=condition=Complete', 'job/once', '-n', 'default', '--timeout=20s']);
    assert.equal(wait.code, 0, wait.stderr);
    const table = await c.kubectl(['get', 'job', 'once', '-n', 'default', '-o', 'wide']);
    assert.match(table.stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    assert.match(table.stdout, /\nonce\s+Complete\s+1\/1\s+\d+s\s+\d+s\s+c\s+busybox\s+batch\.kubernetes\.io\/controller-uid=/);
  });
});

describe('npm run cluster', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitops-cluster-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const run = async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cluster/main.ts', '--secure-port', '0', '--data-dir', join(dir, 'data'), '--cert-dir', join(dir, 'certs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const kubeconfig = await eventually(async () => {
      const m = /kubeconfig: (\S+)/.exec(out);
      assert.ok(m, out);
      return m[1];
    }, { timeoutMs: 30_000 });
    return { p, kubeconfig, output: () => out };
  };
  const kubectl = (kubeconfig: string, args: string[], input?: string) => runKubectl(kubeconfig, args, { input });
  const stop = (p: ReturnType<typeof spawn>) => new Promise<number | null>((resolve) => (p.once('exit', (code) => resolve(code)), p.kill('SIGTERM')));

  test('prints an admin kubeconfig (CN admin, O system:masters) and keeps its objects across a restart', async () => {
    const first = await run();
    assert.equal(first.kubeconfig, join(dir, 'certs', 'kubeconfig'));
    assert.match(await readFile(first.kubeconfig, 'utf8'), /client-certificate-data/);
    const who = await kubectl(first.kubeconfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /^admin .*system:masters/);
    const apply = await kubectl(first.kubeconfig, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept', namespace: 'default' }, data: { a: '1' } }));
    assert.equal(apply.code, 0, apply.stderr);
    assert.equal(await stop(first.p), 0);
    const second = await run();
    const got = await kubectl(second.kubeconfig, ['get', 'cm', 'kept', '-n', 'default', '-o', 'jsonpath={.data.a}']);
    assert.equal(got.stdout, '1', got.stderr);
    assert.equal(await stop(second.p), 0);
  });
});
