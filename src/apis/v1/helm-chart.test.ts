import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helmChart } from './helm-chart.js';
import { assertColumnsResolve, assertDescribed, compile, fieldsOf, object } from './schema-test-helpers.js';

const validateSchema = compile(helmChart.schema);
const base = { interval: '5m0s', chart: 'podinfo', reconcileStrategy: 'ChartVersion', sourceRef: { kind: 'HelmRepository', name: 'podinfo' }, version: '5.*' };
const gitBase = { interval: '5m0s', chart: './charts/podinfo', sourceRef: { kind: 'GitRepository', name: 'podinfo' } };
const errorsFor = (spec: Record<string, unknown>) => fieldsOf(helmChart.validate(object(helmChart, spec)));
const warningsFor = (spec: Record<string, unknown>) => helmChart.warnings(object(helmChart, spec));

describe('HelmChart schema', () => {
  it('accepts the Flux example', () => {
    const o = object(helmChart, structuredClone(base));
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.deepEqual(o.status, { observedGeneration: -1 });
    assert.deepEqual(helmChart.validate(o), []);
  });

  it('defaults version to * and reconcileStrategy to ChartVersion', () => {
    const o = object(helmChart, structuredClone(gitBase));
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.equal(o.spec!.version, '*');
    assert.equal(o.spec!.reconcileStrategy, 'ChartVersion');
    assert.deepEqual(helmChart.validate(o), []);
  });

  it('rejects what the Flux CRD rejects, including source kinds other than HelmRepository, GitRepository and Bucket', () => {
    const bad = object(helmChart, { chart: 'x', interval: '1m', sourceRef: { kind: 'OCIRepository', name: 'x' }, reconcileStrategy: 'Always' });
    assert.equal(validateSchema(bad), false);
    const problems = validateSchema.errors!.map((e) => `${e.instancePath} ${e.keyword}`);
    for (const p of ['/spec/sourceRef/kind enum', '/spec/reconcileStrategy enum']) assert.ok(problems.includes(p), `${p} in ${problems}`);
    assert.equal(validateSchema(object(helmChart, { interval: '1m', sourceRef: { kind: 'Bucket' } })), false);
    assert.deepEqual(validateSchema.errors!.map((e) => `${e.instancePath} ${(e.params as { missingProperty?: string }).missingProperty}`).sort(), ['/spec chart', '/spec/sourceRef name']);
  });

  it('describes every field', () => assertDescribed(helmChart.schema));

  it('has every v1 field', () => {
    assert.deepEqual(Object.keys(helmChart.schema.properties!.spec.properties!).sort(), [
      'chart', 'ignoreMissingValuesFiles', 'interval', 'reconcileStrategy', 'sourceRef', 'suspend', 'valuesFiles', 'verify', 'version',
    ]);
    assert.deepEqual(Object.keys(helmChart.schema.properties!.status.properties!).sort(), [
      'artifact', 'conditions', 'lastHandledReconcileAt', 'observedChartName', 'observedGeneration', 'observedSourceArtifactRevision', 'observedValuesFiles', 'url',
    ]);
  });
});

describe('HelmChart resource', () => {
  it("prints Flux's columns, with wide extras", () => {
    assert.deepEqual(helmChart.printerColumns.map((c) => `${c.name}:${c.priority ?? 0}`), [
      'Chart:0', 'Version:0', 'Source Kind:0', 'Source Name:0', 'Age:0', 'Ready:0', 'Status:0', 'Revision:1', 'Suspended:1',
    ]);
    assertColumnsResolve(helmChart);
  });

  it('names', () => {
    assert.deepEqual([helmChart.plural, helmChart.singular, helmChart.listKind, helmChart.shortNames, helmChart.categories, helmChart.hasArtifact],
      ['helmcharts', 'helmchart', 'HelmChartList', ['hc'], ['gitops'], true]);
  });
});

describe('HelmChart validate', () => {
  it('is quiet for valid objects', () => {
    assert.deepEqual(errorsFor({
      ...base, version: '>=6.0.0 <7.0.0', valuesFiles: ['values.yaml', 'values-prod.yaml'], ignoreMissingValuesFiles: true,
      verify: { provider: 'notation', secretRef: { name: 'notation-trust' } },
    }), []);
    assert.deepEqual(errorsFor({ ...gitBase, sourceRef: { kind: 'Bucket', name: 'charts' }, chart: 'charts/podinfo-6.0.0.tgz', reconcileStrategy: 'Revision' }), []);
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ['a path for a HelmRepository chart', { chart: './charts/podinfo' }, ['spec.chart: FieldValueInvalid']],
    ['a chart name with spaces', { chart: 'pod info' }, ['spec.chart: FieldValueInvalid']],
    ['a bad version range', { version: 'latest' }, ['spec.version: FieldValueInvalid']],
    ['a bad source name', { sourceRef: { kind: 'HelmRepository', name: 'Pod_Info' } }, ['spec.sourceRef.name: FieldValueInvalid']],
    ['a zero interval', { interval: '0s' }, ['spec.interval: FieldValueInvalid']],
    ['a duplicate values file', { valuesFiles: ['a.yaml', 'b.yaml', 'a.yaml'] }, ['spec.valuesFiles[2]: FieldValueDuplicate']],
    ['an empty values file', { valuesFiles: [' '] }, ['spec.valuesFiles[0]: FieldValueInvalid']],
    ['notation without a secret', { verify: { provider: 'notation' } }, ['spec.verify.secretRef: FieldValueRequired']],
    ['a bad identity regexp', { verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: '*', subject: '.*' }] } }, ['spec.verify.matchOIDCIdentity[0].issuer: FieldValueInvalid']],
  ];
  for (const [name, patch, want] of cases) {
    it(`reports ${name}`, () => assert.deepEqual(errorsFor({ ...base, ...patch }), want));
  }

  it('allows chart paths for GitRepository and Bucket sources', () => assert.deepEqual(errorsFor({ ...gitBase, chart: '../shared/chart' }), []));
  it('requires spec', () => assert.deepEqual(fieldsOf(helmChart.validate({ ...object(helmChart, {}), spec: undefined })), ['spec: FieldValueRequired']));
});

describe('HelmChart warnings', () => {
  it('is quiet for the Flux examples', () => {
    assert.deepEqual(warningsFor(base), []);
    assert.deepEqual(warningsFor({ ...gitBase, version: '*', sourceRef: { ...gitBase.sourceRef, apiVersion: 'gitops.toolkit/v1' } }), []);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a version range on a Git source', { ...gitBase, version: '1.x' }, /spec.version is ignored for a GitRepository source/],
    ['verification of a Bucket chart', { ...gitBase, version: '*', sourceRef: { kind: 'Bucket', name: 'b' }, verify: { provider: 'cosign' } }, /spec.verify is ignored for a Bucket source/],
    ['the Revision strategy on a HelmRepository', { reconcileStrategy: 'Revision' }, /only applies to GitRepository and Bucket/],
    ['a foreign sourceRef apiVersion', { sourceRef: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmRepository', name: 'podinfo' } }, /looked up as gitops.toolkit\/v1 HelmRepository/],
    ['a short interval', { interval: '20s' }, /more than once a minute/],
    ['identities next to keys', { verify: { provider: 'cosign', secretRef: { name: 'k' }, matchOIDCIdentity: [{ issuer: 'a', subject: 'b' }] } }, /matchOIDCIdentity is ignored/],
  ];
  for (const [name, patch, want] of cases) {
    it(`warns about ${name}`, () => {
      const w = warningsFor({ ...base, ...patch });
      assert.equal(w.length, 1, w.join('\n'));
      assert.match(w[0], want);
    });
  }
});
