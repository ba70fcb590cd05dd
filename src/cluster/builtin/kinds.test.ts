// The built-in kinds' discovery order and printer columns, as kube-apiserver's.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../apis/meta/types.js';
import { builtinDefinitions } from './kinds.js';

const defs = builtinDefinitions();
const def = (group: string, kind: string) => defs.find((d) => d.group === group && d.kind === kind)!;

test('each group version lists its resources by name, as kube registers them (kubectl get all follows it)', () => {
  for (const group of new Set(defs.map((d) => d.group))) {
    const plurals = defs.filter((d) => d.group === group).map((d) => d.plural);
    assert.deepEqual(plurals, [...plurals].sort(), `group ${group || 'core'}`);
  }
  assert.ok(defs.findIndex((d) => d.plural === 'pods') < defs.findIndex((d) => d.plural === 'services'));
});

test('pods -o wide: IP, Node, Nominated Node and Readiness Gates', () => {
  const cols = def('', 'Pod').printerColumns;
  assert.deepEqual(
    cols.filter((c) => c.priority === 1).map((c) => c.name),
    ['IP', 'Node', 'Nominated Node', 'Readiness Gates'],
  );
  const cell = (name: string, o: object) => cols.find((c) => c.name === name)!.value!(o as KubeObject);
  const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }], readinessGates: [{ conditionType: 'a' }, { conditionType: 'b' }] }, status: { nominatedNodeName: 'n1', conditions: [{ type: 'a', status: 'True' }, { type: 'b', status: 'False' }] } };
  assert.equal(cell('Readiness Gates', pod), '1/2');
  assert.equal(cell('Nominated Node', pod), 'n1');
  assert.equal(cell('Readiness Gates', { metadata: {}, spec: {} }), '<none>');
  assert.equal(cell('Nominated Node', { metadata: {}, spec: {} }), '<none>');
});

test('workloads -o wide: containers, images and the whole selector (matchExpressions too)', () => {
  const o = {
    metadata: { name: 'w' },
    spec: { selector: { matchLabels: { app: 'w' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, template: { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } } },
  };
  for (const kind of ['Deployment', 'ReplicaSet', 'DaemonSet']) {
    const cols = def('apps', kind).printerColumns.filter((c) => c.priority === 1);
    assert.deepEqual(
      cols.map((c) => [c.name, c.value!(o as unknown as KubeObject)]),
      [
        ['Containers', 'a,b'],
        ['Images', 'x,y'],
        ['Selector', 'app=w,tier notin (db)'],
      ],
      kind,
    );
  }
});
