// The health library against the local cluster: objects applied with kubectl are InProgress until
// --simulate-workloads reports their rollout (Job: completion), then Current; a change to a rolled-out
// Deployment is InProgress again until the new generation is reported; and without the simulator a
// Deployment never becomes Current (nothing runs its Pods).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { aggregate, healthOf, objectStatus, type HealthStatus, type NamedHealth } from '../../src/apply/health/index.js';
import { eventually } from '../helpers/eventually.js';
import { TestCluster } from '../helpers/local-cluster.js';

const labels = (app: string) => ({ matchLabels: { app } });
const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } });
const objects = [
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, selector: labels('web'), template: template('web') } },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 2, serviceName: 'db', selector: labels('db'), template: template('db') } },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default' }, spec: { selector: labels('agent'), template: template('agent') } },
  { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'default' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36', command: ['true'] }] } } } },
];
const paths: Record<string, string> = {
  Deployment: '/apis/apps/v1/namespaces/default/deployments/',
  StatefulSet: '/apis/apps/v1/namespaces/default/statefulsets/',
  DaemonSet: '/apis/apps/v1/namespaces/default/daemonsets/',
  Job: '/apis/batch/v1/namespaces/default/jobs/',
};

async function read(c: TestCluster, kind: string, name: string): Promise<Record<string, any> | undefined> {
  const r = await c.request('GET', paths[kind] + name);
  if (r.status === 404) return undefined;
  assert.equal(r.status, 200, r.body);
  return r.json();
}

/** Server-side apply with kubectl; the objects as the apply answered them (before any simulated status). */
async function apply(c: TestCluster, objs: unknown[]): Promise<Record<string, any>[]> {
  const r = await c.kubectl(['apply', '--server-side', '--field-manager', 'gitops-toolkit', '-o', 'json', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }) });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  return out.kind === 'List' ? out.items : [out];
}

describe('health of workloads on the local cluster', () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start({ workloads: { delayMs: 200 } });
  });
  after(() => c.stop());

  test('Deployment, StatefulSet, DaemonSet and Job go InProgress → Current as the simulator reports the rollout', async () => {
    // As applied, before the simulator's delay (200 ms) has passed, each is InProgress.
    const first = (await apply(c, objects)).map((o) => healthOf(o));
    assert.deepEqual(first.map((h) => h.ref), ['Deployment/default/web', 'StatefulSet/default/db', 'DaemonSet/default/agent', 'Job/default/migrate']);
    for (const h of first) assert.equal(h.status, 'InProgress', `${h.ref}: ${h.message}`);
    const verdict = aggregate(first);
    assert.equal(verdict.status, 'InProgress');
    assert.equal(verdict.message, 'Deployment/default/web: 0 of 3 replicas created (and 3 more not Current)');

    const seen = new Map<string, HealthStatus[]>(first.map((h) => [h.ref, [h.status]]));
    const done = await eventually(
      async () => {
        const now: NamedHealth[] = await Promise.all(objects.map(async (o) => healthOf(await read(c, o.kind, o.metadata.name))));
        for (const h of now) if (seen.get(h.ref)?.at(-1) !== h.status) seen.set(h.ref, [...(seen.get(h.ref) ?? []), h.status]);
        const all = aggregate(now);
        return all.status === 'Current' ? now : undefined;
      },
      10_000,
      () => `not all Current: ${JSON.stringify([...seen])}`,
    );
    for (const h of done) assert.deepEqual(seen.get(h.ref), ['InProgress', 'Current'], h.ref);
    assert.match(done.find((h) => h.ref === 'Deployment/default/web')!.message, /rolled out: 3 of 3/);
    assert.match(done.find((h) => h.ref === 'Job/default/migrate')!.message, /complete/);
  });

  test('a change to a rolled-out Deployment is InProgress (old generation) until the new generation is reported', async () => {
    const web = { ...objects[0]!, spec: { ...objects[0]!.spec, template: { ...template('web'), spec: { containers: [{ name: 'c', image: 'nginx:1.28' }] } } } };
    const [changed] = await apply(c, [web]);
    assert.equal(changed!.metadata.generation, 2);
    const h = objectStatus(changed);
    assert.equal(h.status, 'InProgress');
    assert.match(h.message, /generation 2 not observed/);
    await eventually(async () => objectStatus(await read(c, 'Deployment', 'web')).status === 'Current', 10_000, () => 'web never Current at generation 2');
  });

  test('a deleted object is NotFound', async () => {
    assert.equal((await c.request('DELETE', paths.Job + 'migrate?propagationPolicy=Background')).status, 200);
    await eventually(async () => objectStatus(await read(c, 'Job', 'migrate')).status === 'NotFound', 10_000, () => 'Job still there');
  });
});

describe('health without --simulate-workloads', () => {
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start();
  });
  after(() => c.stop());

  test('a Deployment never becomes Current: nothing reports its rollout', async () => {
    assert.equal(objectStatus((await apply(c, [objects[0]]))[0]).status, 'InProgress');
    // Watch it for well past the simulator's delay: it must stay InProgress the whole time.
    const until = Date.now() + 1500;
    let last;
    while (Date.now() < until) {
      last = objectStatus(await read(c, 'Deployment', 'web'));
      assert.equal(last.status, 'InProgress', last.message);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(aggregate([{ ref: 'Deployment/default/web', ...last! }]).message, 'Deployment/default/web: 0 of 3 replicas created');
  });
});
