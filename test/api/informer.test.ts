// The server through @kubernetes/client-node the way a controller author uses it: CustomObjectsApi for
// writes and an informer (list + watch) that must see the initial list, add, update and delete.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { CustomObjectsApi, KubeConfig, makeInformer, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { TestServer } from '../helpers/server.js';

const group = 'gitops.toolkit';
const version = 'v1';
const namespace = 'default';
const plural = 'gitrepositories';

let s: TestServer;
let api: CustomObjectsApi;
let kc: KubeConfig;
before(async () => {
  s = await TestServer.start(['--controllers=']); // API semantics only: no reconciler touching the objects
  kc = new KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  api = kc.makeApiClient(CustomObjectsApi);
});
after(async () => {
  await s?.cleanup();
});

const repo = (name: string) => ({ apiVersion: `${group}/${version}`, kind: 'GitRepository', metadata: { name }, spec: { interval: '1m', url: `https://example.com/${name}.git` } });

type Event = { verb: 'add' | 'update' | 'delete'; obj: KubernetesObject };

async function waitFor<T>(what: string, find: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = find();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('an informer sees the initial list, add, update and delete, and its cache matches the server', async () => {
  const pre = await api.createNamespacedCustomObject({ group, version, namespace, plural, body: repo('pre') });

  const informer = makeInformer<KubernetesObject>(kc, `/apis/${group}/${version}/namespaces/${namespace}/${plural}`, () =>
    api.listNamespacedCustomObject({ group, version, namespace, plural }),
  );
  const events: Event[] = [];
  const errors: unknown[] = [];
  let connects = 0;
  let stopped = false;
  for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (obj) => events.push({ verb, obj }));
  // Stopping aborts the watch request, which client-node reports as an error; only earlier ones count.
  informer.on('error', (e) => stopped || errors.push(e));
  informer.on('connect', () => connects++);
  const event = (verb: Event['verb'], name: string) => () => events.find((e) => e.verb === verb && e.obj.metadata?.name === name);

  try {
    await informer.start();

    const initial = await waitFor('add of the pre-existing object', event('add', 'pre'));
    assert.equal(initial.obj.metadata?.uid, pre.metadata.uid);
    assert.equal(initial.obj.metadata?.resourceVersion, pre.metadata.resourceVersion);
    assert.deepEqual((initial.obj as any).spec, pre.spec);

    const created = await api.createNamespacedCustomObject({ group, version, namespace, plural, body: repo('live') });
    const added = await waitFor('add of a new object', event('add', 'live'));
    assert.equal(added.obj.metadata?.uid, created.metadata.uid);
    assert.equal(added.obj.metadata?.resourceVersion, created.metadata.resourceVersion);

    const patched = await api.patchNamespacedCustomObject(
      { group, version, namespace, plural, name: 'live', body: { metadata: { labels: { tier: 'gold' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal(patched.metadata.labels?.tier, 'gold');
    const updated = await waitFor('update with the new label', event('update', 'live'));
    assert.deepEqual(updated.obj.metadata?.labels, { tier: 'gold' });
    assert.equal(updated.obj.metadata?.resourceVersion, patched.metadata.resourceVersion);
    assert.equal(updated.obj.metadata?.uid, created.metadata.uid);

    await api.deleteNamespacedCustomObject({ group, version, namespace, plural, name: 'live' });
    const deleted = await waitFor('delete of the object', event('delete', 'live'));
    assert.equal(deleted.obj.metadata?.uid, created.metadata.uid);

    // Exactly these events, in order, over one watch connection.
    assert.deepEqual(
      events.map((e) => `${e.verb} ${e.obj.metadata?.name}`),
      ['add pre', 'add live', 'update live', 'delete live'],
    );
    assert.equal(connects, 1);
    assert.deepEqual(errors, []);

    const server = await api.listNamespacedCustomObject({ group, version, namespace, plural });
    const summary = (items: readonly KubernetesObject[]) =>
      items.map((o) => `${o.metadata?.name} ${o.metadata?.uid} ${o.metadata?.resourceVersion}`).sort();
    assert.deepEqual(summary(informer.list(namespace)), summary(server.items));
    assert.deepEqual(summary(informer.list()), summary(server.items));
    assert.equal(informer.get('pre', namespace)?.metadata?.uid, pre.metadata.uid);
    assert.equal(informer.get('live', namespace), undefined);
  } finally {
    stopped = true;
    await informer.stop();
  }
});
