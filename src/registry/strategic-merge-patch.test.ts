import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JSONSchemaProps } from '../apis/meta/resource.js';
import { PatchError } from './patch.js';
import { strategicMergePatch } from './strategic-merge-patch.js';

// The shape of a Deployment's schema where strategic merge patch looks: the markers as Kubernetes 1.32 has them.
const str = { type: 'string' } as const;
const byName = (properties: Record<string, JSONSchemaProps>): JSONSchemaProps => ({
  type: 'array',
  'x-kubernetes-patch-merge-key': 'name',
  'x-kubernetes-patch-strategy': 'merge',
  items: { type: 'object', properties },
});
const container: JSONSchemaProps = {
  type: 'object',
  properties: {
    name: str,
    image: str,
    args: { type: 'array', items: str },
    env: byName({ name: str, value: str }),
    ports: { type: 'array', 'x-kubernetes-patch-merge-key': 'containerPort', 'x-kubernetes-patch-strategy': 'merge', items: { type: 'object', properties: { containerPort: { type: 'integer' }, protocol: str } } },
    resources: { type: 'object', properties: { limits: { type: 'object', additionalProperties: str } } },
  },
};
const DEPLOYMENT: JSONSchemaProps = {
  type: 'object',
  properties: {
    metadata: { type: 'object', properties: { labels: { type: 'object', additionalProperties: str }, finalizers: { type: 'array', 'x-kubernetes-patch-strategy': 'merge', items: str } } },
    spec: {
      type: 'object',
      properties: {
        replicas: { type: 'integer' },
        strategy: { type: 'object', 'x-kubernetes-patch-strategy': 'retainKeys', properties: { type: str, rollingUpdate: { type: 'object', properties: { maxSurge: str } } } },
        template: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              properties: {
                containers: byName(container.properties!),
                volumes: { type: 'array', 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge,retainKeys', items: { type: 'object', properties: { name: str, configMap: { type: 'object' }, secret: { type: 'object' } } } },
                nodeSelector: { type: 'object', additionalProperties: str },
              },
            },
          },
        },
      },
    },
  },
};
(DEPLOYMENT.properties!.spec.properties!.template.properties!.spec.properties!.containers as JSONSchemaProps).items = container;

const deploy = () => ({
  metadata: { labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 1,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } },
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1', args: ['-a'], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }] },
          { name: 'sidecar', image: 'envoy:1' },
        ],
        volumes: [{ name: 'cfg', configMap: { name: 'c' } }],
        nodeSelector: { zone: 'a' },
      },
    },
  },
});
const smp = (patch: unknown, original: unknown = deploy()) => strategicMergePatch(original, patch, DEPLOYMENT) as any;

describe('strategicMergePatch', () => {
  it('merges a list by its merge key: one container changes, the other stays, order kept', () => {
    const out = smp({ spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } });
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => [c.name, c.image]), [['web', 'nginx:2'], ['sidecar', 'envoy:1']]);
    assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], 'nested fields of the matched item are kept');
  });

  it('appends items with a new key, merges nested keyed lists, replaces lists without a strategy', () => {
    const out = smp({ spec: { template: { spec: { containers: [{ name: 'web', args: ['-b'], env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }], ports: [{ containerPort: 443 }] }, { name: 'new', image: 'busybox' }] } } } });
    const [web, sidecar, added] = out.spec.template.spec.containers;
    assert.deepEqual(web.args, ['-b'], 'args has no patch strategy: replaced');
    assert.deepEqual(web.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]);
    assert.deepEqual(web.ports, [{ containerPort: 80 }, { containerPort: 443 }]);
    assert.equal(sidecar.name, 'sidecar');
    assert.deepEqual(added, { name: 'new', image: 'busybox' });
  });

  it('$patch: delete removes a keyed item; null removes a field; scalars replace', () => {
    const out = smp({ spec: { replicas: 3, template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }, { name: 'web', env: [{ name: 'A', $patch: 'delete' }] }], nodeSelector: { zone: null, disk: 'ssd' } } } } });
    assert.equal(out.spec.replicas, 3);
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['web']);
    assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'B', value: '2' }]);
    assert.deepEqual(out.spec.template.spec.nodeSelector, { disk: 'ssd' });
  });

  it('$patch: replace on a map or as a list item replaces it whole', () => {
    const map = smp({ spec: { template: { spec: { nodeSelector: { $patch: 'replace', tier: 'db' } } } } });
    assert.deepEqual(map.spec.template.spec.nodeSelector, { tier: 'db' });
    const list = smp({ spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } } } });
    assert.deepEqual(list.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
    assert.deepEqual(smp({ spec: { strategy: { $patch: 'delete' } } }).spec.strategy, undefined);
  });

  it('scalar sets with the merge strategy take the union; $deleteFromPrimitiveList removes values', () => {
    assert.deepEqual(smp({ metadata: { finalizers: ['b', 'a'] } }).metadata.finalizers, ['a', 'b']);
    assert.deepEqual(smp({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }).metadata.finalizers, []);
  });

  it('$retainKeys clears the keys it does not list (a strategy switch drops rollingUpdate)', () => {
    const out = smp({ spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
    const vol = smp({ spec: { template: { spec: { volumes: [{ name: 'cfg', $retainKeys: ['name', 'secret'], secret: { secretName: 's' } }] } } } });
    assert.deepEqual(vol.spec.template.spec.volumes, [{ name: 'cfg', secret: { secretName: 's' } }]);
  });

  it('$setElementOrder orders a merged list as the client had it', () => {
    const out = smp({ spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }], containers: [{ name: 'web', image: 'nginx:3' }] } } } });
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['sidecar', 'web']);
    assert.equal(out.spec.template.spec.containers[1].image, 'nginx:3');
  });

  it('what comes whole from the patch loses its directives; the input is not modified', () => {
    const original = deploy();
    const frozen = JSON.stringify(original);
    const out = smp({ spec: { template: { spec: { containers: [{ name: 'x', env: [{ name: 'A', value: '1' }, { name: 'Z', $patch: 'delete' }] }] } } } }, original);
    assert.deepEqual(out.spec.template.spec.containers[2], { name: 'x', env: [{ name: 'A', value: '1' }] });
    assert.equal(JSON.stringify(original), frozen);
  });

  it('refuses malformed directives and items without the merge key', () => {
    const bad = (p: unknown, re: RegExp) => assert.throws(() => smp(p), (e: unknown) => e instanceof PatchError && re.test((e as Error).message));
    bad({ spec: { $patch: 'frobnicate' } }, /unknown patch type/);
    bad({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, /does not contain declared merge key: name/);
    bad({ spec: { strategy: { $retainKeys: 'type' } } }, /\$retainKeys must be a list/);
    bad({ $patch: 'delete' }, /cannot delete the whole object/);
    bad([1], /must be a JSON object/);
  });
});
