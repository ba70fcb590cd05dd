// The collector follows resources added while it runs (a CRD's kind): their dependents are collected
// like any other's. (Each propagation policy is tested through kubectl in test/controllers.)

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { definitionsFromCRD } from '../../cluster/crd.js';
import { createLogger } from '../../observability/logger.js';
import { ResourceStores } from '../../registry/resource-stores.js';
import type { WriteContext } from '../../registry/store.js';
import { openSqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { GarbageCollector } from './garbage-collector.js';

const storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
const stores = new ResourceStores([], storage);
const gc = new GarbageCollector(stores, createLogger('error'));
after(async () => {
  await gc.stop();
  await storage.close();
});
const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'test', fieldValidation: 'Ignore', warnings: [] });
const crd = (plural: string, kind: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.late.example.com` },
  spec: { group: 'late.example.com', scope: 'Namespaced', names: { plural, kind }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
});

it('collects the dependents of a deleted owner in resources added after it started', async () => {
  await gc.start();
  const owners = stores.add(definitionsFromCRD(crd('owners', 'Owner'))[0]);
  const parts = stores.add(definitionsFromCRD(crd('parts', 'Part'))[0]);
  const owner = await owners.create('ns', { apiVersion: 'late.example.com/v1', kind: 'Owner', metadata: { name: 'o' } }, ctx());
  const ref = { apiVersion: 'late.example.com/v1', kind: 'Owner', name: 'o', uid: owner.metadata.uid! };
  await parts.create('ns', { apiVersion: 'late.example.com/v1', kind: 'Part', metadata: { name: 'p', ownerReferences: [ref] } }, ctx());
  await owners.delete('ns', 'o', {}, ctx());
  const deadline = Date.now() + 5000;
  for (;;) {
    const left = (await parts.list('ns', {})).items.length;
    if (left === 0) break;
    assert.ok(Date.now() < deadline, 'the part was not collected');
    await new Promise((r) => setTimeout(r, 50));
  }
});
