// Bad input to the local cluster's built-in kinds and CRDs: each gets a precise metav1.Status (the code,
// reason and message kube-apiserver gives), nothing is stored or changed, and the cluster keeps serving.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { TestCluster } from '../helpers/local-cluster.js';

let c: TestCluster;
before(async () => {
  c = await TestCluster.start();
});
after(async () => {
  await c?.stop();
});

type Any = Record<string, any>;
const CM = '/api/v1/namespaces/default/configmaps';
const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

const deployment = (name: string, spec: Any = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    ...spec,
  },
});

async function expectStatus(r: { status: number; body: string; json(): any }, code: number, reason: string): Promise<Any> {
  assert.equal(r.status, code, r.body);
  const st = r.json();
  assert.equal(st.kind, 'Status');
  assert.equal(st.apiVersion, 'v1');
  assert.equal(st.status, 'Failure');
  assert.equal(st.code, code);
  assert.equal(st.reason, reason);
  return st;
}

/** Every stored object of the kinds the tests write, by resourceVersion: what a refused request must not change. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of [CM, DEPLOY, '/api/v1/namespaces/default/services', CRDS]) {
    const r = await c.request('GET', path);
    assert.equal(r.status, 200, r.body);
    for (const o of r.json().items) out[`${path}/${o.metadata.name}`] = o.metadata.resourceVersion;
  }
  return out;
}

let before_: Record<string, string>;
/** Before each case: what is stored. After it: the same, and the cluster answers a read and a write. */
async function storedThen(): Promise<void> {
  before_ = await snapshot();
}
afterEach(async () => {
  if (!before_) return;
  assert.deepEqual(await snapshot(), before_, 'a refused request changed what is stored');
  before_ = undefined as unknown as Record<string, string>;
  assert.equal((await c.request('GET', '/readyz')).status, 200);
  const probe = await c.request('POST', `${CM}?dryRun=All`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe' } } });
  assert.equal(probe.status, 201, `the cluster stopped serving writes: ${probe.body}`);
});

describe('bad input to the local cluster', () => {
  before(async () => {
    const r = await c.request('POST', DEPLOY, { body: deployment('web') });
    assert.equal(r.status, 201, r.body);
    assert.equal((await c.request('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' }, data: { a: 'b' } } })).status, 201);
  });

  it('malformed JSON: 400 naming the problem', async () => {
    await storedThen();
    const st = await expectStatus(await c.request('POST', CM, { body: '{"apiVersion": "v1", "kind": ' }), 400, 'BadRequest');
    assert.match(st.message, /not valid JSON/);
    await expectStatus(await c.request('PUT', `${CM}/kept`, { body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept"},"data":{"a":}' }), 400, 'BadRequest');
    await expectStatus(await c.request('PATCH', `${DEPLOY}/web`, { body: '{"spec":', contentType: 'application/merge-patch+json' }), 400, 'BadRequest');
    const notObject = await expectStatus(await c.request('POST', CM, { body: '[1, 2]' }), 400, 'BadRequest');
    assert.match(notObject.message, /must be a JSON or YAML object/);
  });

  it('malformed YAML: 400, through kubectl too', async () => {
    await storedThen();
    const st = await expectStatus(await c.request('POST', CM, { body: 'kind: ConfigMap\n  bad: [indent', contentType: 'application/yaml' }), 400, 'BadRequest');
    assert.match(st.message, /not valid YAML/);
    const k = await c.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n data: {' });
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /error converting YAML to JSON|error parsing/);
  });

  it('a body of another kind or another apiVersion: 400 naming both', async () => {
    await storedThen();
    let st = await expectStatus(await c.request('POST', CM, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } } }), 400, 'BadRequest');
    assert.equal(st.message, 'the object provided is unrecognized (expected v1, Kind=ConfigMap, got v1, Kind=Secret)');
    st = await expectStatus(await c.request('POST', DEPLOY, { body: { ...deployment('x'), apiVersion: 'apps/v1beta1' } }), 400, 'BadRequest');
    assert.match(st.message, /expected apps\/v1, Kind=Deployment, got apps\/v1beta1, Kind=Deployment/);
    st = await expectStatus(await c.request('PUT', `${CM}/kept`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kept' } } }), 400, 'BadRequest');
    assert.match(st.message, /got v1, Kind=Secret/);
  });

  it('an unknown kind: 404 for its URL, kubectl’s "no matches for kind" for a manifest', async () => {
    await storedThen();
    await expectStatus(await c.request('POST', '/api/v1/namespaces/default/frobnicators', { body: { apiVersion: 'v1', kind: 'Frobnicator', metadata: { name: 'f' } } }), 404, 'NotFound');
    await expectStatus(await c.request('GET', '/apis/example.com/v1/widgets'), 404, 'NotFound');
    for (const [apiVersion, kind] of [
      ['v1', 'Frobnicator'],
      ['apps/v2', 'Deployment'],
      ['example.com/v1', 'Widget'],
    ]) {
      const r = await c.kubectl(['apply', '-f', '-'], { input: yaml.dump({ apiVersion, kind, metadata: { name: 'x', namespace: 'default' } }) });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`no matches for kind "${kind}" in version "${apiVersion.replace('.', '\\.')}"`));
    }
  });

  it('unknown fields: Strict is a 400 naming each one, Warn a warning (and the field dropped), Ignore silent', async () => {
    await storedThen();
    const body = { ...deployment('unknown'), spec: { ...deployment('unknown').spec, replicaz: 3 } };
    body.spec.template.spec.containers[0] = { ...body.spec.template.spec.containers[0], colour: 'blue' } as never;
    const st = await expectStatus(await c.request('POST', `${DEPLOY}?fieldValidation=Strict`, { body }), 400, 'BadRequest');
    assert.equal(st.message, 'strict decoding error: unknown field "spec.template.spec.containers[0].colour", unknown field "spec.replicaz"');
    const warned = await c.request('POST', `${DEPLOY}?fieldValidation=Warn&dryRun=All`, { body });
    assert.equal(warned.status, 201, warned.body);
    assert.match(String(warned.headers.warning), /299 - "unknown field \\"spec\.template\.spec\.containers\[0\]\.colour\\""/);
    assert.match(String(warned.headers.warning), /299 - "unknown field \\"spec\.replicaz\\""/);
    assert.equal(warned.json().spec.replicaz, undefined);
    const ignored = await c.request('POST', `${DEPLOY}?fieldValidation=Ignore&dryRun=All`, { body });
    assert.equal(ignored.status, 201);
    assert.equal(ignored.headers.warning, undefined);
    // kubectl validates on the server with Strict: its error names the field.
    const k = await c.kubectl(['apply', '-f', '-'], { input: yaml.dump({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typo', namespace: 'default' }, dta: { a: 'b' } }) });
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /unknown field "dta"/);
  });

  it('a CRD with a non-structural schema is refused with the reason, and serves nothing', async () => {
    await storedThen();
    const crd = (spec: Any) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'gadgets', kind: 'Gadget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec } } } }] },
    });
    const st = await expectStatus(await c.request('POST', CRDS, { body: crd({ properties: { size: { type: 'integer' } } }) }), 422, 'Invalid');
    assert.equal(st.message, 'CustomResourceDefinition.apiextensions.k8s.io "gadgets.example.com" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields');
    assert.deepEqual(st.details.causes, [{ reason: 'FieldValueRequired', message: 'Required value: must not be empty for specified object fields', field: 'spec.versions[0].schema.openAPIV3Schema.properties[spec].type' }]);
    const noSchema = await c.request('POST', CRDS, { body: { ...crd({}), spec: { ...crd({}).spec, versions: [{ name: 'v1', served: true, storage: true }] } } });
    await expectStatus(noSchema, 422, 'Invalid');
    assert.match(noSchema.json().message, /spec\.versions\[0\]\.schema\.openAPIV3Schema: Required value/);
    await expectStatus(await c.request('GET', '/apis/example.com/v1/namespaces/default/gadgets'), 404, 'NotFound');
    const k = await c.kubectl(['apply', '-f', '-'], { input: yaml.dump(crd({ properties: { size: { type: 'integer' } } })) });
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /The CustomResourceDefinition "gadgets\.example\.com" is invalid: spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.type: Required value: must not be empty for specified object fields/);
  });

  it('a wrong-typed field in a create or update body: kube\'s decode error (400) naming the Go field and type; Quantities take any number, IntOrStrings only integers', async () => {
    await storedThen();
    const create = await expectStatus(await c.request('POST', DEPLOY, { body: deployment('typed', { replicas: 'five' }) }), 400, 'BadRequest');
    assert.equal(create.message, 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32');
    const nested = deployment('typed', {});
    (nested.spec.template.spec.containers[0] as Any).ports = 'http';
    const ports = await expectStatus(await c.request('POST', DEPLOY, { body: nested }), 400, 'BadRequest');
    assert.match(ports.message, /cannot unmarshal string into Go struct field Container\.spec\.template\.spec\.containers\.ports of type \[\]v1\.ContainerPort$/);
    const current = (await c.request('GET', `${DEPLOY}/web`)).json();
    const put = await expectStatus(await c.request('PUT', `${DEPLOY}/web`, { body: { ...current, spec: { ...current.spec, paused: 'yes' } } }), 400, 'BadRequest');
    assert.match(put.message, /cannot unmarshal string into Go struct field DeploymentSpec\.spec\.paused of type bool$/);
    const kubectl = await c.kubectl(['create', '-f', '-'], { input: JSON.stringify(deployment('typed', { replicas: 'five' })) });
    assert.match(kubectl.stderr, /Error from server \(BadRequest\).*cannot unmarshal string into Go struct field DeploymentSpec\.spec\.replicas of type int32/);
    const cpu = (value: unknown) => {
      const d = deployment('cpu', {});
      (d.spec.template.spec.containers[0] as Any).resources = { limits: { cpu: value } };
      return c.request('POST', `${DEPLOY}?dryRun=All`, { body: d });
    };
    for (const ok of [0.5, 2, '500m']) assert.equal((await cpu(ok)).status, 201, `cpu: ${ok}`);
    await expectStatus(await cpu(true), 400, 'BadRequest');
    const svc = (targetPort: unknown) => c.request('POST', '/api/v1/namespaces/default/services?dryRun=All', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort }] } } });
    for (const ok of [8080, 'http']) assert.equal((await svc(ok)).status, 201, `targetPort: ${ok}`);
    const frac = await expectStatus(await svc(80.5), 400, 'BadRequest');
    assert.match(frac.message, /cannot unmarshal number into Go struct field ServicePort\.spec\.ports\.targetPort of type intstr\.IntOrString$/);
  });

  it('a patch that breaks the built-in schema: 422 naming the field, the object unchanged', async () => {
    await storedThen();
    for (const [type, body] of [
      ['application/merge-patch+json', { spec: { replicas: 'three' } }],
      ['application/strategic-merge-patch+json', { spec: { replicas: 'three' } }],
      ['application/json-patch+json', [{ op: 'replace', path: '/spec/replicas', value: 'three' }]],
    ] as const) {
      const st = await expectStatus(await c.request('PATCH', `${DEPLOY}/web`, { body, contentType: type }), 422, 'Invalid');
      assert.match(st.message, /^Deployment\.apps "web" is invalid: spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"$/, type);
      assert.deepEqual(
        st.details.causes.map((x: Any) => x.field),
        ['spec.replicas'],
      );
    }
    const k = await c.kubectl(['patch', 'deploy', 'web', '--type=merge', '-p', '{"spec":{"replicas":"three"}}']);
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /The Deployment "web" is invalid: spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer/);
    const containers = await expectStatus(await c.request('PATCH', `${DEPLOY}/web`, { body: [{ op: 'replace', path: '/spec/template/spec/containers', value: [] }], contentType: 'application/json-patch+json' }), 422, 'Invalid');
    assert.match(containers.message, /spec\.template\.spec\.containers: Required value/);
    const bad = await expectStatus(await c.request('PATCH', `${CM}/kept`, { body: { data: { a: 1 } }, contentType: 'application/merge-patch+json' }), 422, 'Invalid');
    assert.match(bad.message, /^ConfigMap "kept" is invalid: data\.a: Invalid value: "integer": data\.a in body must be of type string: "integer"$/);
    const unknownDirective = await c.request('PATCH', `${DEPLOY}/web`, { body: { spec: { template: { spec: { containers: [{ name: 'web', $patch: 'explode' }] } } } }, contentType: 'application/strategic-merge-patch+json' });
    assert.ok(unknownDirective.status === 400 || unknownDirective.status === 422, unknownDirective.body);
    assert.match(unknownDirective.json().message, /unknown patch type/);
  });

  it('a Deployment whose selector does not match its template’s labels, or changes, is refused in kube’s words', async () => {
    await storedThen();
    const mismatch = deployment('mismatch');
    mismatch.spec.template.metadata.labels = { app: 'other' };
    const st = await expectStatus(await c.request('POST', DEPLOY, { body: mismatch }), 422, 'Invalid');
    assert.match(st.message, /^Deployment\.apps "mismatch" is invalid: spec\.template\.metadata\.labels: Invalid value: .*"app":"other".*: `selector` does not match template `labels`$/);
    assert.deepEqual(
      st.details.causes.map((x: Any) => [x.reason, x.field]),
      [['FieldValueInvalid', 'spec.template.metadata.labels']],
    );
    const k = await c.kubectl(['apply', '-f', '-'], { input: yaml.dump({ ...mismatch, metadata: { name: 'mismatch', namespace: 'default' } }) });
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /The Deployment "mismatch" is invalid: spec\.template\.metadata\.labels: Invalid value: .*: `selector` does not match template `labels`/);
    const noSelector = deployment('nosel');
    delete (noSelector.spec as Any).selector;
    assert.match((await expectStatus(await c.request('POST', DEPLOY, { body: noSelector }), 422, 'Invalid')).message, /spec\.selector: Required value/);
    const immutable = await expectStatus(await c.request('PATCH', `${DEPLOY}/web`, { body: { spec: { selector: { matchLabels: { app: 'web', tier: 'x' } }, template: { metadata: { labels: { app: 'web', tier: 'x' } } } } }, contentType: 'application/strategic-merge-patch+json' }), 422, 'Invalid');
    assert.match(immutable.message, /spec\.selector: Invalid value: .*: field is immutable/);
  });

  it('a Service without ports: 422 spec.ports: Required value', async () => {
    await storedThen();
    const st = await expectStatus(await c.request('POST', '/api/v1/namespaces/default/services', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'noports' }, spec: { selector: { app: 'web' } } } }), 422, 'Invalid');
    assert.equal(st.message, 'Service "noports" is invalid: spec.ports: Required value');
    const k = await c.kubectl(['apply', '-f', '-'], { input: yaml.dump({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'noports', namespace: 'default' }, spec: { selector: { app: 'web' } } }) });
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /The Service "noports" is invalid: spec\.ports: Required value/);
    // A headless Service needs none.
    const headless = await c.request('POST', '/api/v1/namespaces/default/services?dryRun=All', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless' }, spec: { clusterIP: 'None', selector: { app: 'web' } } } });
    assert.equal(headless.status, 201, headless.body);
  });

  it("a Service's ports are checked as kube does: ranges, target port names, protocol, names of several ports", async () => {
    await storedThen();
    const svc = (ports: unknown[]) => c.request('POST', '/api/v1/namespaces/default/services?dryRun=All', { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ports' }, spec: { ports } } });
    assert.equal((await svc([{ name: 'a', port: 65535, targetPort: 'http-alt' }, { name: 'b', port: 1, protocol: 'UDP' }])).status, 201);
    const bad = await expectStatus(
      await svc([{ name: 'a', port: 70000 }, { name: 'a', port: 80, targetPort: 0 }, { port: 81, targetPort: 'Not_A_Name' }]),
      422,
      'Invalid',
    );
    assert.deepEqual(
      bad.details.causes.map((x: Any) => `${x.reason} ${x.field}`),
      [
        'FieldValueInvalid spec.ports[0].port',
        'FieldValueInvalid spec.ports[0].targetPort', // defaulted to the port, as kube does
        'FieldValueInvalid spec.ports[1].targetPort',
        'FieldValueDuplicate spec.ports[1].name',
        'FieldValueInvalid spec.ports[2].targetPort',
        'FieldValueRequired spec.ports[2].name',
      ],
    );
    const proto = await expectStatus(await svc([{ port: 80, protocol: 'HTTP' }]), 422, 'Invalid');
    assert.deepEqual(proto.details.causes.map((x: Any) => `${x.reason} ${x.field}`), ['FieldValueNotSupported spec.ports[0].protocol']);
    assert.match(bad.message, /spec\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535, inclusive/);
  });

  it('an update of a stale resourceVersion is a 409 Conflict, the newer object kept', async () => {
    await storedThen();
    const cm = (await c.request('GET', `${CM}/kept`)).json();
    const st = await expectStatus(await c.request('PUT', `${CM}/kept`, { body: { ...cm, metadata: { ...cm.metadata, resourceVersion: '1' }, data: { a: 'stale' } } }), 409, 'Conflict');
    assert.equal(st.message, 'Operation cannot be fulfilled on configmaps "kept": the object has been modified; please apply your changes to the latest version and try again');
  });
});
