import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFINITION_NAME, REF_SIBLINGS, definitionNames, definitionSchema, kindSchema } from './schemas.js';
import type { JSONSchemaProps } from '../../apis/meta/resource.js';

const core = (t: string) => definitionSchema(`io.k8s.api.core.v1.${t}`);
const prop = (s: JSONSchemaProps, ...path: string[]): JSONSchemaProps => {
  let cur = s;
  for (const p of path) {
    const next = p === '[]' ? cur.items : cur.properties?.[p];
    assert.ok(next, `no ${p} in ${path.join('.')}`);
    cur = next;
  }
  return cur;
};

test('PodSpec.containers: strategic merge by name, a list-map keyed by name', () => {
  const c = prop(core('PodSpec'), 'containers');
  assert.equal(c.type, 'array');
  assert.equal(c['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(c['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(c['x-kubernetes-list-type'], 'map');
  assert.deepEqual(c['x-kubernetes-list-map-keys'], ['name']);
  assert.ok(core('PodSpec').required?.includes('containers'));
  assert.equal(c.items, core('Container'));
});

test('Container.ports is a list-map keyed by containerPort and protocol, protocol defaulting to TCP', () => {
  const ports = prop(core('Container'), 'ports');
  assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  assert.equal(ports['x-kubernetes-list-type'], 'map');
  assert.deepEqual(core('ContainerPort').required, ['containerPort']);
  assert.equal(prop(core('ContainerPort'), 'protocol').default, 'TCP');
  assert.deepEqual(prop(core('ContainerPort'), 'protocol').enum, ['SCTP', 'TCP', 'UDP']);
  assert.equal(prop(core('ContainerPort'), 'containerPort').format, 'int32');
});

test('kinds are found by their group-version-kind, lists too', () => {
  const d = kindSchema('apps', 'v1', 'Deployment');
  assert.equal(d, definitionSchema('io.k8s.api.apps.v1.Deployment'));
  assert.deepEqual((d as Record<string, unknown>)['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  assert.equal((d as Record<symbol, unknown>)[DEFINITION_NAME], 'io.k8s.api.apps.v1.Deployment');
  assert.equal(kindSchema('', 'v1', 'Pod'), core('Pod'));
  assert.equal(kindSchema('apps', 'v1', 'DeploymentList'), definitionSchema('io.k8s.api.apps.v1.DeploymentList'));
  assert.notEqual(kindSchema('', 'v1', 'Event'), kindSchema('events.k8s.io', 'v1', 'Event'));
  assert.ok(kindSchema('', 'v1', 'Status'));
  assert.ok(kindSchema('batch', 'v1', 'DeleteOptions'));
  assert.throws(() => kindSchema('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition'), /no built-in schema/);
  assert.throws(() => definitionSchema('io.k8s.nope'), /no built-in schema definition/);
  // TypeMeta is flattened into every kind; metadata is the resolved ObjectMeta.
  assert.equal(prop(d, 'apiVersion').type, 'string');
  assert.equal(prop(d, 'kind').type, 'string');
  assert.equal((prop(d, 'metadata') as Record<symbol, unknown>)[DEFINITION_NAME], 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  assert.equal(prop(d, 'metadata').properties, definitionSchema('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta').properties);
});

test('int-or-string, quantities, times, maps, bytes, preserved raw extensions', () => {
  const targetPort = prop(kindSchema('', 'v1', 'Service'), 'spec', 'ports', '[]', 'targetPort');
  assert.equal(targetPort['x-kubernetes-int-or-string'], true);
  assert.equal(targetPort.type, undefined);
  const quantity = definitionSchema('io.k8s.apimachinery.pkg.api.resource.Quantity');
  assert.equal(quantity['x-kubernetes-int-or-string'], true);
  assert.equal(prop(core('ResourceRequirements'), 'limits').additionalProperties, quantity);
  const labels = prop(definitionSchema('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'), 'labels');
  assert.equal(labels.type, 'object');
  assert.deepEqual(labels.additionalProperties, { type: 'string' });
  const created = prop(definitionSchema('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'), 'creationTimestamp');
  assert.equal(created.type, 'string');
  assert.equal(created.format, 'date-time');
  assert.deepEqual(prop(core('Secret'), 'data').additionalProperties, { type: 'string', format: 'byte' });
  const raw = prop(definitionSchema('io.k8s.api.apps.v1.ControllerRevision'), 'data');
  assert.equal(raw.type, 'object');
  assert.equal(raw['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(prop(definitionSchema('io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry'), 'fieldsV1')['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(prop(core('Volume'), 'configMap').properties, core('ConfigMapVolumeSource').properties, 'VolumeSource is inlined into Volume');
  assert.deepEqual(core('Volume').required, ['name']);
  assert.equal(prop(definitionSchema('io.k8s.api.batch.v1.JobSpec'), 'activeDeadlineSeconds').format, 'int64');
});

test('descriptions are kube\'s own, on fields and types', () => {
  const replicas = prop(definitionSchema('io.k8s.api.apps.v1.DeploymentSpec'), 'replicas');
  assert.match(replicas.description ?? '', /Number of desired pods/);
  assert.match(core('PodSpec').description ?? '', /PodSpec is a description of a pod/);
  assert.match(prop(core('Container'), 'imagePullPolicy').description ?? '', /Possible enum values:\n - `"Always"`/);
});

test('defaults from kube\'s SetDefaults_ functions', () => {
  const ps = core('PodSpec');
  assert.equal(prop(ps, 'restartPolicy').default, 'Always');
  assert.equal(prop(ps, 'dnsPolicy').default, 'ClusterFirst');
  assert.equal(prop(ps, 'schedulerName').default, 'default-scheduler');
  assert.equal(prop(ps, 'terminationGracePeriodSeconds').default, 30);
  assert.deepEqual(prop(ps, 'securityContext').default, {});
  assert.equal(prop(core('Container'), 'terminationMessagePath').default, '/dev/termination-log');
  assert.equal(prop(core('Container'), 'imagePullPolicy').default, 'IfNotPresent');
  assert.equal(prop(core('ServiceSpec'), 'type').default, 'ClusterIP');
  assert.equal(prop(core('ServicePort'), 'protocol').default, 'TCP');
  assert.equal(prop(definitionSchema('io.k8s.api.discovery.v1.EndpointPort'), 'protocol').default, 'TCP');
  assert.equal(prop(definitionSchema('io.k8s.api.apps.v1.DeploymentSpec'), 'replicas').default, 1);
  assert.equal(prop(definitionSchema('io.k8s.api.apps.v1.StatefulSetSpec'), 'podManagementPolicy').default, 'OrderedReady');
  assert.equal(prop(definitionSchema('io.k8s.api.batch.v1.JobSpec'), 'backoffLimit').default, 6);
  assert.equal(prop(definitionSchema('io.k8s.api.batch.v1.CronJobSpec'), 'failedJobsHistoryLimit').default, 1);
});

test('one shared object per definition: a DAG, no copies', () => {
  const fromDeployment = prop(kindSchema('apps', 'v1', 'Deployment'), 'spec', 'template', 'spec');
  const fromStatefulSet = prop(kindSchema('apps', 'v1', 'StatefulSet'), 'spec', 'template', 'spec');
  const fromJob = prop(kindSchema('batch', 'v1', 'CronJob'), 'spec', 'jobTemplate', 'spec', 'template', 'spec');
  assert.equal(fromDeployment, fromStatefulSet);
  assert.equal(fromDeployment, fromJob);
  assert.equal((fromDeployment as Record<symbol, unknown>)[DEFINITION_NAME], 'io.k8s.api.core.v1.PodSpec');
  // The field object keeps the field's own description; below it, the definition's objects are shared.
  assert.equal(fromDeployment.properties, core('PodSpec').properties);
  assert.equal(prop(fromDeployment, 'containers', '[]'), core('Container'));
  assert.deepEqual(Object.keys((fromDeployment as Record<symbol, object>)[REF_SIBLINGS]), ['description']);
  assert.equal(definitionSchema('io.k8s.api.core.v1.PodSpec'), core('PodSpec'), 'memoized');
  // the markers on a $ref field stay with the field
  assert.equal(prop(definitionSchema('io.k8s.api.apps.v1.DeploymentSpec'), 'strategy')['x-kubernetes-patch-strategy'], 'retainKeys');
  // symbols are not enumerable: JSON and spreading see plain schemas
  assert.ok(!JSON.stringify(core('Probe')).includes('gitops'));
  assert.equal(Object.keys(core('Probe')).includes(DEFINITION_NAME as unknown as string), false);
});

test('Kubernetes 1.32 fields are there', () => {
  const ps = core('PodSpec');
  for (const f of ['resources', 'hostUsers', 'schedulingGates', 'resourceClaims', 'os', 'ephemeralContainers']) assert.ok(ps.properties?.[f], `PodSpec.${f}`);
  assert.ok(core('Container').properties?.resizePolicy);
  assert.ok(prop(core('Container'), 'lifecycle', 'preStop', 'sleep'));
  assert.ok(definitionSchema('io.k8s.api.batch.v1.JobSpec').properties?.successPolicy);
  assert.ok(kindSchema('authentication.k8s.io', 'v1', 'SelfSubjectReview'));
});

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '../../..');
/** Where scripts/kube-schemas/fetch.sh puts the Debian sources (KUBE_SCHEMAS_SRC to point elsewhere). */
const SRC = process.env.KUBE_SCHEMAS_SRC ?? '/tmp/k8sdeb/root/usr/share/gocode/src';

test('schemas.json: the generator is deterministic and the committed file is its output', { timeout: 120_000 }, () => {
  const committed = readFileSync(join(HERE, 'schemas.json'), 'utf8');
  if (!existsSync(join(SRC, 'k8s.io/api/core/v1/types.go'))) {
    // Without the Debian sources (scripts/kube-schemas/fetch.sh) check what is committed.
    const defs = (JSON.parse(committed) as { definitions: Record<string, unknown> }).definitions;
    assert.ok(Object.keys(defs).length >= 300, `${Object.keys(defs).length} definitions`);
    assert.equal(definitionNames().length, Object.keys(defs).length);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kube-schemas-'));
  try {
    const run = (out: string) => execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/kube-schemas/generate.ts'), '--src', SRC, '--out', out], { cwd: ROOT, stdio: 'pipe' });
    run(join(dir, 'a.json'));
    run(join(dir, 'b.json'));
    const a = readFileSync(join(dir, 'a.json'), 'utf8');
    assert.equal(a, readFileSync(join(dir, 'b.json'), 'utf8'));
    assert.equal(a, committed, 'schemas.json is out of date: run node --import tsx scripts/kube-schemas/generate.ts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every definition resolves (none is recursive) and every $ref target exists', () => {
  for (const name of definitionNames()) assert.ok(definitionSchema(name));
});
