// The registry, handlers, discovery and OpenAPI serve any group, version and kind — namespaced or
// cluster-scoped, the core group under /api — not only gitops.toolkit/v1. Proven with the real kubectl
// against an in-process server that serves two made-up kinds beside nothing else.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ResourceDefinition } from '../../src/apis/meta/resource.js';
import { createApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { CABundle, X509Authenticator } from '../../src/auth/authn/x509.js';
import { alwaysAllow } from '../../src/auth/authz/union.js';
import { createLogger } from '../../src/observability/logger.js';
import { ensureStandaloneCerts } from '../../src/pki/standalone.js';
import { kubectl as runKubectl } from '../helpers/run.js';
import { ResourceStores } from '../../src/registry/resource-stores.js';
import { definitionsFromCRD } from '../../src/cluster/crd.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { Storage } from '../../src/storage/types.js';
import { freePort } from '../helpers/server.js';

const names = (kind: string, plural: string) => ({ kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames: [], categories: [] });
const base = { hasArtifact: false, printerColumns: [], validate: () => [], warnings: () => [] };
const specSchema = (description: string) => ({
  type: 'object' as const,
  properties: {
    apiVersion: { type: 'string' as const },
    kind: { type: 'string' as const },
    metadata: { type: 'object' as const },
    spec: {
      type: 'object' as const,
      description,
      properties: {
        size: { type: 'integer' as const, description: 'How big.' },
        replicas: { type: 'integer' as const },
        parts: {
          type: 'array' as const,
          'x-kubernetes-patch-merge-key': 'name',
          'x-kubernetes-patch-strategy': 'merge',
          items: { type: 'object' as const, properties: { name: { type: 'string' as const }, size: { type: 'integer' as const } } },
        },
      },
    },
    status: { type: 'object' as const, properties: { ready: { type: 'boolean' as const }, replicas: { type: 'integer' as const }, selector: { type: 'string' as const } } },
  },
});

/** A namespaced kind of the core group, served under /api/v1. */
const widget: ResourceDefinition = {
  group: '',
  version: 'v1',
  namespaced: true,
  strategicMergePatch: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  ...names('Widget', 'widgets'),
  ...base,
  schema: specSchema('A widget.'),
};
/** A cluster-scoped kind of another group, without a status subresource. */
const gadget: ResourceDefinition = { group: 'example.com', version: 'v1alpha1', namespaced: false, hasStatus: false, ...names('Gadget', 'gadgets'), ...base, schema: specSchema('A gadget, cluster-wide.') };

let dir: string;
let storage: Storage;
let stores: ResourceStores;
let api: ApiServer;
let kubeconfig: string;

const kubectl = (args: string[], input = '') => runKubectl(kubeconfig, args, { input });
async function k(args: string[], input = ''): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'generic-resources-'));
  const port = await freePort();
  const certs = await ensureStandaloneCerts(join(dir, 'certs'), { bindAddress: '127.0.0.1', port });
  kubeconfig = certs.kubeconfigPath;
  storage = openSqliteStorage({ path: join(dir, 'db.sqlite') });
  const ca = new CABundle(certs.caCert);
  api = createApiServer({
    stores: (stores = new ResourceStores([widget, gadget], storage)),
    tls: { key: certs.servingKey, cert: certs.servingCert, clientCA: certs.caCert },
    authenticators: [new X509Authenticator(() => ca)],
    authorizer: alwaysAllow,
    artifacts: { serve: async () => assert.fail('no kind here has artifacts') },
    log: createLogger('error'),
    maxBodyBytes: 3 << 20,
    minRequestTimeoutSeconds: 1800,
    requestTimeoutMs: 60_000,
  });
  await api.listen(port, '127.0.0.1');
});

after(async () => {
  await api?.close();
  await storage?.[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
});

describe('any group, version and scope', () => {
  it('discovery: the core group under /api, another group under /apis, each with its scope', async () => {
    const apiDoc = JSON.parse(await k(['get', '--raw', '/api']));
    assert.equal(apiDoc.kind, 'APIVersions');
    assert.deepEqual(apiDoc.versions, ['v1']);
    const core = JSON.parse(await k(['get', '--raw', '/api/v1']));
    assert.equal(core.groupVersion, 'v1');
    assert.deepEqual(core.resources.map((r: { name: string; namespaced: boolean }) => [r.name, r.namespaced]), [['widgets', true], ['widgets/scale', true], ['widgets/status', true]]);
    const scale = core.resources.find((r: { name: string }) => r.name === 'widgets/scale');
    assert.deepEqual([scale.group, scale.version, scale.kind], ['autoscaling', 'v1', 'Scale']);
    const group = JSON.parse(await k(['get', '--raw', '/apis/example.com']));
    assert.equal(group.preferredVersion.groupVersion, 'example.com/v1alpha1');
    const list = JSON.parse(await k(['get', '--raw', '/apis/example.com/v1alpha1']));
    assert.deepEqual(list.resources.map((r: { name: string; namespaced: boolean }) => [r.name, r.namespaced]), [['gadgets', false]]);
    const groups = JSON.parse(await k(['get', '--raw', '/apis']));
    // beside the self reviews every kube-apiserver serves (kubectl auth can-i, auth whoami)
    assert.deepEqual(groups.groups.map((g: { name: string }) => g.name), ['example.com', 'authorization.k8s.io', 'authentication.k8s.io']);
    const out = await k(['api-resources', '--no-headers']);
    assert.match(out, /^gadgets\s+example\.com\/v1alpha1\s+false\s+Gadget$/m);
    assert.match(out, /^widgets\s+v1\s+true\s+Widget$/m);
    const missing = await kubectl(['get', '--raw', '/apis/other.example']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NotFound|could not find/);
  });

  it('a cluster-scoped kind: create, get, list, patch, delete, with no namespace anywhere', async () => {
    await k(['create', '-f', '-'], JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Gadget', metadata: { name: 'g1', namespace: 'ignored' }, spec: { size: 3 } }));
    const g = JSON.parse(await k(['get', 'gadget', 'g1', '-o', 'json']));
    assert.equal(g.metadata.namespace, undefined, 'kube clears metadata.namespace of a cluster-scoped object');
    assert.equal(g.spec.size, 3);
    await k(['patch', 'gadget', 'g1', '--type=merge', '-p', '{"spec":{"size":4}}']);
    assert.equal(JSON.parse(await k(['get', 'gadgets', '-o', 'json'])).items[0].spec.size, 4);
    await k(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Gadget', metadata: { name: 'g2' }, spec: { size: 1 } }));
    assert.match(await k(['get', 'gadgets', '--no-headers']), /^g1\b[^\n]*\ng2\b/);
    // a namespace in the path names nothing; there is no status subresource
    for (const path of ['/apis/example.com/v1alpha1/namespaces/default/gadgets/g1', '/apis/example.com/v1alpha1/gadgets/g1/status']) {
      const r = await kubectl(['get', '--raw', path]);
      assert.notEqual(r.code, 0, path);
      assert.match(r.stderr, /NotFound|could not find/, path);
    }
    await k(['delete', 'gadget', 'g1']);
    assert.match(await k(['get', 'gadgets', '--no-headers']), /^g2\b/);
  });

  it('a namespaced core kind: per-namespace and all-namespaces lists, status subresource', async () => {
    for (const ns of ['a', 'b']) await k(['create', '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } }));
    assert.equal(JSON.parse(await k(['get', 'widgets', '-n', 'a', '-o', 'json'])).items.length, 1);
    assert.equal(JSON.parse(await k(['get', 'widgets', '-A', '-o', 'json'])).items.length, 2);
    await k(['patch', 'widget', 'w', '-n', 'a', '--subresource=status', '--type=merge', '-p', '{"status":{"ready":true}}']);
    const w = JSON.parse(await k(['get', 'widget', 'w', '-n', 'a', '-o', 'json']));
    assert.equal(w.status.ready, true);
    assert.equal(w.apiVersion, 'v1');
  });

  it('strategic merge patch for a kind that declares it (lists merged by their key), 415 for one that does not', async () => {
    await k(['create', '-n', 'a', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'smp' }, spec: { parts: [{ name: 'a', size: 1 }, { name: 'b', size: 2 }] } }));
    await k(['patch', '-n', 'a', 'widget', 'smp', '--type=strategic', '-p', '{"spec":{"parts":[{"name":"b","size":3},{"name":"c","size":4}]}}']);
    const w = JSON.parse(await k(['get', '-n', 'a', 'widget', 'smp', '-o', 'json']));
    assert.deepEqual(w.spec.parts, [{ name: 'a', size: 1 }, { name: 'b', size: 3 }, { name: 'c', size: 4 }]);
    await k(['patch', '-n', 'a', 'widget', 'smp', '--type=strategic', '-p', '{"spec":{"parts":[{"name":"a","$patch":"delete"}]}}']);
    assert.deepEqual(JSON.parse(await k(['get', '-n', 'a', 'widget', 'smp', '-o', 'json'])).spec.parts.map((p: { name: string }) => p.name), ['b', 'c']);
    await k(['create', '-f', '-'], JSON.stringify({ apiVersion: 'example.com/v1alpha1', kind: 'Gadget', metadata: { name: 'nosmp' }, spec: { size: 1 } }));
    const refused = await kubectl(['patch', 'gadget', 'nosmp', '--type=strategic', '-p', '{"spec":{"size":2}}']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /UnsupportedMediaType|the body of the request was in an unknown format/);
  });

  it('the scale subresource: kubectl scale, with --current-replicas as a precondition; a kind without it has none', async () => {
    await k(['create', '-n', 'a', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'scaled' }, spec: { replicas: 1 } }));
    await k(['patch', '-n', 'a', 'widget', 'scaled', '--subresource=status', '--type=merge', '-p', '{"status":{"replicas":1,"selector":"app=w"}}']);
    const sc = JSON.parse(await k(['get', '--raw', '/api/v1/namespaces/a/widgets/scaled/scale']));
    assert.deepEqual([sc.apiVersion, sc.kind, sc.spec, sc.status], ['autoscaling/v1', 'Scale', { replicas: 1 }, { replicas: 1, selector: 'app=w' }]);
    await k(['scale', '-n', 'a', 'widget', 'scaled', '--replicas=3']);
    const w = JSON.parse(await k(['get', '-n', 'a', 'widget', 'scaled', '-o', 'json']));
    assert.equal(w.spec.replicas, 3);
    assert.equal(w.metadata.generation, 2, 'a scale is a spec change');
    const wrong = await kubectl(['scale', '-n', 'a', 'widget', 'scaled', '--current-replicas=1', '--replicas=5']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Expected replicas to be 1, was 3/);
    const negative = await kubectl(['patch', '-n', 'a', 'widget', 'scaled', '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":-1}}']);
    assert.match(negative.stderr, /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
    const none = await kubectl(['get', '--raw', '/apis/example.com/v1alpha1/gadgets/nosmp/scale']);
    assert.match(none.stderr, /NotFound|could not find/);
  });

  it('a resource added while serving (a CRD’s kind) is discovered, served and explained; removed, it is gone', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'thingamajigs.late.example.com' },
      spec: {
        group: 'late.example.com',
        scope: 'Namespaced',
        names: { plural: 'thingamajigs', singular: 'thingamajig', kind: 'Thingamajig', shortNames: ['tj'] },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', description: 'What a thingamajig is.', properties: { colour: { type: 'string' } } } } } },
            additionalPrinterColumns: [{ name: 'Colour', type: 'string', jsonPath: '.spec.colour' }],
          },
        ],
      },
    };
    for (const def of definitionsFromCRD(crd)) stores.add(def);
    assert.match(await k(['api-resources', '--api-group=late.example.com', '--no-headers']), /^thingamajigs\s+tj\s+late\.example\.com\/v1\s+true\s+Thingamajig$/m);
    const strict = await kubectl(['create', '-n', 'a', '-f', '-'], JSON.stringify({ apiVersion: 'late.example.com/v1', kind: 'Thingamajig', metadata: { name: 't1' }, spec: { colour: 'red', extra: 1 } }));
    assert.match(strict.stderr, /strict decoding error: unknown field "spec.extra"/, 'the CRD’s schema is what validates');
    await k(['create', '-n', 'a', '--validate=false', '-f', '-'], JSON.stringify({ apiVersion: 'late.example.com/v1', kind: 'Thingamajig', metadata: { name: 't1' }, spec: { colour: 'red', extra: 1 } }));
    assert.match(await k(['get', '-n', 'a', 'tj']), /NAME\s+COLOUR\nt1\s+red/);
    assert.equal(JSON.parse(await k(['get', '-n', 'a', 'tj', 't1', '-o', 'json'])).spec.extra, undefined, 'pruned by the CRD’s schema');
    assert.match(await k(['explain', 'thingamajig.spec']), /What a thingamajig is\./);
    stores.remove('late.example.com', 'v1', 'thingamajigs');
    const gone = await kubectl(['get', '--raw', '/apis/late.example.com/v1/namespaces/a/thingamajigs']);
    assert.match(gone.stderr, /NotFound|could not find/);
    assert.doesNotMatch(await k(['get', '--raw', '/apis']), /late\.example\.com/);
  });

  it('OpenAPI: one v3 document per group version, and kubectl explain reads it', async () => {
    const index = JSON.parse(await k(['get', '--raw', '/openapi/v3']));
    assert.deepEqual(Object.keys(index.paths).sort(), ['api/v1', 'apis/example.com/v1alpha1']);
    const v3 = JSON.parse(await k(['get', '--raw', '/openapi/v3/apis/example.com/v1alpha1']));
    assert.ok(v3.paths['/apis/example.com/v1alpha1/gadgets/{name}'], 'cluster-scoped paths carry no namespace');
    assert.equal(v3.paths['/apis/example.com/v1alpha1/gadgets/{name}'].get.operationId, 'readExampleComV1alpha1Gadget');
    assert.match(await k(['explain', 'gadget.spec']), /A gadget, cluster-wide\./);
    assert.match(await k(['explain', 'widget.spec.size']), /How big\./);
  });
});
