import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ignoredPaths, ruleMatches, withoutIgnored } from './ignore.js';
import { takeoverPatch } from './takeover.js';

const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'prod', labels: { tier: 'front' } }, spec: { replicas: 2, template: { metadata: { annotations: { 'a/b': 'x' } } } } };

test('targets match by whole-string regexes and selectors', () => {
  assert.ok(ruleMatches({ paths: [] }, deploy));
  assert.ok(ruleMatches({ paths: [], target: { group: 'apps', version: 'v1', kind: 'Deploy.*', name: 'web', namespace: 'pro.', labelSelector: 'tier in (front,back)' } }, deploy));
  assert.ok(!ruleMatches({ paths: [], target: { kind: 'Deploy' } }, deploy), 'anchored');
  assert.ok(!ruleMatches({ paths: [], target: { labelSelector: 'tier=back' } }, deploy));
  assert.ok(ruleMatches({ paths: [], target: { group: '' } }, deploy), 'an empty field matches everything');
});

test('paths are cut out (escaped tokens, array indices), never the identity; missing paths change nothing', () => {
  const paths = ignoredPaths(deploy, [{ paths: ['/spec/replicas', '/spec/template/metadata/annotations/a~1b', '/metadata/name', '/kind', '/spec/nothing/here', 'no-slash'] }]);
  assert.deepEqual(paths, [['spec', 'replicas'], ['spec', 'template', 'metadata', 'annotations', 'a/b'], ['spec', 'nothing', 'here']]);
  const out = withoutIgnored(deploy, paths) as typeof deploy;
  assert.deepEqual(out.spec, { template: { metadata: { annotations: {} } } });
  assert.equal(out.metadata.name, 'web');
  assert.equal(deploy.spec.replicas, 2, 'the input is not changed');
  const list = withoutIgnored({ apiVersion: 'v1', kind: 'X', metadata: { name: 'x' }, items: [1, 2, 3] } as never, [['items', '1']]) as unknown as { items: number[] };
  assert.deepEqual(list.items, [1, 3]);
});

test('takeover leaves fields under ignored paths with the manager that set them', () => {
  const live = {
    ...deploy,
    metadata: {
      ...deploy.metadata,
      resourceVersion: '7',
      managedFields: [{ manager: 'kubectl-patch', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:paused': {} } } }],
    },
  };
  const ops = takeoverPatch(live as never, 'gitops-toolkit', undefined, [['spec', 'replicas']]);
  const entries = ops.find((o) => o.path === '/metadata/managedFields')!.value as { manager: string; fieldsV1: unknown }[];
  assert.deepEqual(
    entries.map((e) => [e.manager, e.fieldsV1]),
    [
      ['gitops-toolkit', { 'f:spec': { 'f:paused': {} } }],
      ['kubectl-patch', { 'f:spec': { 'f:replicas': {} } }],
    ],
  );
});
