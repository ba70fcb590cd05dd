// The event recorder against the local cluster: what it posts is a valid Event there (kube's own
// validation: a name client-go would choose, not a generateName ending in "."), found by kubectl.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../../test/helpers/eventually.js';
import { TestCluster } from '../../test/helpers/local-cluster.js';
import type { KubeObject } from '../apis/meta/types.js';
import { createLogger } from '../observability/logger.js';
import { ClusterEventRecorder } from './events.js';
import { KubeClient } from './client.js';

let cluster: TestCluster;
before(async () => {
  cluster = await TestCluster.start();
});
after(() => cluster?.stop());

it('posts Events the cluster accepts, one per distinct outcome, with distinct names', async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const logs: string[] = [];
  const rec = new ClusterEventRecorder(new KubeClient(kc), createLogger('debug', {}, (l) => logs.push(l)));
  const obj = { apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'app', namespace: 'default', uid: 'u-1', resourceVersion: '3' } } as KubeObject;
  rec.event(obj, 'Normal', 'Succeeded', 'one');
  rec.event(obj, 'Normal', 'Succeeded', 'two');
  rec.event(obj, 'Normal', 'Succeeded', 'two');
  const items = await eventually(async () => {
    const list = (await cluster.request('GET', '/api/v1/namespaces/default/events')).json().items as k8s.CoreV1Event[];
    return list.length >= 2 && list;
  }, 5000, () => `no events; logged ${logs.join('')}`);
  assert.deepEqual(items.map((e) => e.message).sort(), ['one', 'two']);
  for (const e of items) assert.match(e.metadata.name!, /^app\.[0-9a-f]+$/);
  assert.deepEqual(logs.filter((l) => l.includes('could not post event')), []);
  const k = await cluster.kubectl(['get', 'events', '-n', 'default', '-o', 'name']);
  assert.equal(k.stdout.trim().split('\n').length, 2, k.stdout);
});
