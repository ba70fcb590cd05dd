import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helmRepository } from './helm-repository.js';
import { assertColumnsResolve, assertDescribed, compile, fieldsOf, object } from './schema-test-helpers.js';

const validateSchema = compile(helmRepository.schema);
const base = { interval: '5m0s', url: 'https://stefanprodan.github.io/podinfo' };
const ociBase = { type: 'oci', interval: '5m0s', url: 'oci://ghcr.io/stefanprodan/charts' };
const errorsFor = (spec: Record<string, unknown>) => fieldsOf(helmRepository.validate(object(helmRepository, spec)));
const warningsFor = (spec: Record<string, unknown>) => helmRepository.warnings(object(helmRepository, spec));

describe('HelmRepository schema', () => {
  it('accepts the Flux HTTP example and applies its defaults', () => {
    const o = object(helmRepository, { ...base });
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.equal(o.spec!.provider, 'generic');
    // Flux gives type and timeout no schema default: empty means 'default' and 60s at runtime.
    assert.equal(o.spec!.type, undefined);
    assert.equal(o.spec!.timeout, undefined);
    assert.deepEqual(o.status, { observedGeneration: -1 });
    assert.deepEqual(helmRepository.validate(o), []);
  });

  it('accepts the Flux OCI example', () => {
    const o = object(helmRepository, { ...ociBase });
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.deepEqual(helmRepository.validate(o), []);
  });

  it('accepts an object without interval, which is optional in v1', () => {
    assert.equal(validateSchema(object(helmRepository, { url: base.url })), true);
  });

  it('rejects what the Flux CRD rejects', () => {
    const bad = object(helmRepository, { url: 'ftp://charts', type: 'git', provider: 'oracle', timeout: '1h', accessFrom: {} });
    assert.equal(validateSchema(bad), false);
    const problems = validateSchema.errors!.map((e) => `${e.instancePath} ${e.keyword}`);
    for (const p of ['/spec/url pattern', '/spec/type enum', '/spec/provider enum', '/spec/timeout pattern', '/spec/accessFrom required']) assert.ok(problems.includes(p), `${p} in ${problems}`);
  });

  it('describes every field', () => assertDescribed(helmRepository.schema));

  it('has every v1 field', () => {
    assert.deepEqual(Object.keys(helmRepository.schema.properties!.spec.properties!).sort(), [
      'accessFrom', 'certSecretRef', 'insecure', 'interval', 'passCredentials', 'provider', 'secretRef', 'suspend', 'timeout', 'type', 'url',
    ]);
    assert.deepEqual(Object.keys(helmRepository.schema.properties!.status.properties!).sort(), [
      'artifact', 'conditions', 'lastHandledReconcileAt', 'observedGeneration', 'url',
    ]);
  });
});

describe('HelmRepository resource', () => {
  it("prints Flux's columns, with wide extras", () => {
    assert.deepEqual(helmRepository.printerColumns.map((c) => `${c.name}:${c.priority ?? 0}`), ['URL:0', 'Age:0', 'Ready:0', 'Status:0', 'Revision:1', 'Suspended:1']);
    assertColumnsResolve(helmRepository);
  });

  it('names', () => {
    assert.deepEqual([helmRepository.plural, helmRepository.singular, helmRepository.listKind, helmRepository.shortNames, helmRepository.categories, helmRepository.hasArtifact],
      ['helmrepositories', 'helmrepository', 'HelmRepositoryList', ['helmrepo'], ['gitops'], true]);
  });
});

describe('HelmRepository validate', () => {
  it('is quiet for valid objects of both types', () => {
    assert.deepEqual(errorsFor({ ...base, url: 'http://charts.local', timeout: '30s', secretRef: { name: 'basic' }, certSecretRef: { name: 'tls' }, type: 'default' }), []);
    assert.deepEqual(errorsFor({ ...ociBase, provider: 'aws', insecure: true }), []);
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ['an oci:// URL with the default type', { url: 'oci://ghcr.io/org/charts' }, ['spec.url: FieldValueInvalid']],
    ['an https:// URL with type oci', { type: 'oci', url: 'https://ghcr.io/org/charts' }, ['spec.url: FieldValueInvalid']],
    ['a URL that does not parse', { url: 'https://exa mple.com' }, ['spec.url: FieldValueInvalid']],
    ['a zero interval', { interval: '0s' }, ['spec.interval: FieldValueInvalid']],
    ['a zero timeout', { timeout: '0ms' }, ['spec.timeout: FieldValueInvalid']],
    ['a bad secret name', { secretRef: { name: '-x' }, certSecretRef: { name: 'UPPER' } }, ['spec.secretRef.name: FieldValueInvalid', 'spec.certSecretRef.name: FieldValueInvalid']],
  ];
  for (const [name, patch, want] of cases) {
    it(`reports ${name}`, () => assert.deepEqual(errorsFor({ ...base, ...patch }), want));
  }

  it('tells which field to change when scheme and type disagree', () => {
    const [e] = helmRepository.validate(object(helmRepository, { url: 'oci://ghcr.io/org/charts' }));
    assert.match(e.message, /spec.type 'oci'/);
  });

  it('requires spec', () => assert.deepEqual(fieldsOf(helmRepository.validate({ ...object(helmRepository, {}), spec: undefined })), ['spec: FieldValueRequired']));
});

describe('HelmRepository warnings', () => {
  it('is quiet for the Flux examples', () => {
    assert.deepEqual(warningsFor(base), []);
    assert.deepEqual(warningsFor({ ...ociBase, provider: 'generic' }), []);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['credentials over plain HTTP', { url: 'http://charts.local', secretRef: { name: 'basic' } }, /unencrypted/],
    ['passCredentials', { passCredentials: true }, /other than the one in spec.url/],
    ['accessFrom', { accessFrom: { namespaceSelectors: [{ matchLabels: { team: 'a' } }] } }, /not enforced/],
    ['insecure without type oci', { insecure: true }, /ignored unless spec.type is 'oci'/],
    ['a cloud provider without type oci', { provider: 'gcp' }, /provider 'gcp' is ignored/],
    ['a short interval', { interval: '15s' }, /more than once a minute/],
    ['insecure with type oci', { ...ociBase, insecure: true }, /plain HTTP/],
  ];
  for (const [name, patch, want] of cases) {
    it(`warns about ${name}`, () => {
      const w = warningsFor({ ...base, ...patch });
      assert.equal(w.length, 1, w.join('\n'));
      assert.match(w[0], want);
    });
  }

  it('does not warn about a short interval for type oci, which does not poll', () => assert.deepEqual(warningsFor({ ...ociBase, interval: '10s' }), []));
});
