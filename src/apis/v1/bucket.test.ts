import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucket } from './bucket.js';
import { assertColumnsResolve, assertDescribed, compile, fieldsOf, object } from './schema-test-helpers.js';

const validateSchema = compile(bucket.schema);
// Flux's AWS example.
const base = { interval: '5m0s', provider: 'aws', bucketName: 'podinfo', endpoint: 's3.amazonaws.com', region: 'us-east-1', timeout: '30s' };
const minio = { interval: '5m0s', endpoint: 'minio.example.com', secretRef: { name: 'minio-bucket-secret' }, bucketName: 'example' };
const errorsFor = (spec: Record<string, unknown>) => fieldsOf(bucket.validate(object(bucket, spec)));
const warningsFor = (spec: Record<string, unknown>) => bucket.warnings(object(bucket, spec));

describe('Bucket schema', () => {
  it('accepts the Flux examples and applies their defaults', () => {
    const o = object(bucket, structuredClone(minio));
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.equal(o.spec!.provider, 'generic');
    assert.equal(o.spec!.timeout, '60s');
    assert.deepEqual(o.status, { observedGeneration: -1 });
    assert.deepEqual(bucket.validate(o), []);
    const aws = object(bucket, { ...base });
    assert.equal(validateSchema(aws), true);
    assert.deepEqual(bucket.validate(aws), []);
  });

  it('rejects what the Flux CRD rejects', () => {
    const bad = object(bucket, { interval: '1m', endpoint: 'x', provider: 'oracle', timeout: '2h', sts: { provider: 'oidc', endpoint: 'sts.local' } });
    assert.equal(validateSchema(bad), false);
    const problems = validateSchema.errors!.map((e) => `${e.instancePath} ${e.keyword}`);
    for (const p of ['/spec required', '/spec/provider enum', '/spec/timeout pattern', '/spec/sts/provider enum', '/spec/sts/endpoint pattern']) assert.ok(problems.includes(p), `${p} in ${problems}`);
  });

  it('describes every field', () => assertDescribed(bucket.schema));

  it('has every v1 field', () => {
    const spec = bucket.schema.properties!.spec.properties!;
    assert.deepEqual(Object.keys(spec).sort(), [
      'bucketName', 'certSecretRef', 'endpoint', 'ignore', 'insecure', 'interval', 'prefix', 'provider', 'proxySecretRef', 'region',
      'secretRef', 'serviceAccountName', 'sts', 'suspend', 'timeout',
    ]);
    assert.deepEqual(Object.keys(spec.sts.properties!).sort(), ['certSecretRef', 'endpoint', 'provider', 'secretRef']);
    assert.deepEqual(Object.keys(bucket.schema.properties!.status.properties!).sort(), [
      'artifact', 'conditions', 'lastHandledReconcileAt', 'observedGeneration', 'observedIgnore', 'url',
    ]);
  });
});

describe('Bucket resource', () => {
  it("prints Flux's columns, with wide extras", () => {
    assert.deepEqual(bucket.printerColumns.map((c) => `${c.name}:${c.priority ?? 0}`), ['Endpoint:0', 'Age:0', 'Ready:0', 'Status:0', 'Revision:1', 'Suspended:1']);
    assertColumnsResolve(bucket);
  });

  it('names, without short names as in Flux', () => {
    assert.deepEqual([bucket.plural, bucket.singular, bucket.listKind, bucket.shortNames, bucket.categories, bucket.hasArtifact],
      ['buckets', 'bucket', 'BucketList', [], ['gitops'], true]);
  });
});

describe('Bucket validate', () => {
  it('is quiet for valid objects', () => {
    assert.deepEqual(errorsFor({ ...minio, endpoint: '127.0.0.1:9000', prefix: 'apps/', certSecretRef: { name: 'tls' }, proxySecretRef: { name: 'proxy' }, sts: { provider: 'ldap', endpoint: 'https://minio.local/sts', secretRef: { name: 'ldap' } } }), []);
    assert.deepEqual(errorsFor({ ...base, secretRef: undefined, serviceAccountName: 's3-reader', sts: { provider: 'aws', endpoint: 'https://sts.amazonaws.com' } }), []);
    assert.deepEqual(errorsFor({ interval: '1m', provider: 'azure', bucketName: 'podinfo', endpoint: 'https://podinfoaccount.blob.core.windows.net' }), []);
    assert.deepEqual(errorsFor({ interval: '1m', provider: 'gcp', bucketName: 'podinfo', endpoint: 'storage.googleapis.com' }), []);
    assert.deepEqual(errorsFor({ ...minio, endpoint: '[::1]:9000' }), []);
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ['an endpoint with a scheme', { endpoint: 'https://minio.example.com' }, ['spec.endpoint: FieldValueInvalid']],
    ['an endpoint with a path', { endpoint: 'minio.example.com/bucket' }, ['spec.endpoint: FieldValueInvalid']],
    ['an endpoint with a bad port', { endpoint: 'minio.example.com:99999' }, ['spec.endpoint: FieldValueInvalid']],
    ['an azure endpoint with a bad scheme', { provider: 'azure', secretRef: undefined, endpoint: 'ftp://account.blob.core.windows.net' }, ['spec.endpoint: FieldValueInvalid']],
    ['a bucket name with a path', { bucketName: 'example/apps' }, ['spec.bucketName: FieldValueInvalid']],
    ['a zero interval', { interval: '0s' }, ['spec.interval: FieldValueInvalid']],
    ['sts with the gcp provider', { provider: 'gcp', sts: { provider: 'aws', endpoint: 'https://sts.local' } }, ['spec.sts: FieldValueForbidden']],
    ['an ldap STS with the aws provider', { provider: 'aws', sts: { provider: 'ldap', endpoint: 'https://sts.local' } }, ['spec.sts.provider: FieldValueInvalid']],
    ['an aws STS with the generic provider', { sts: { provider: 'aws', endpoint: 'https://sts.local' } }, ['spec.sts.provider: FieldValueInvalid']],
    ['secrets on an aws STS', { provider: 'aws', sts: { provider: 'aws', endpoint: 'https://sts.local', secretRef: { name: 'a' }, certSecretRef: { name: 'b' } } }, ['spec.sts.secretRef: FieldValueForbidden', 'spec.sts.certSecretRef: FieldValueForbidden']],
    ['an STS endpoint that is not a URL', { sts: { provider: 'ldap', endpoint: 'https://' } }, ['spec.sts.endpoint: FieldValueInvalid']],
    ['serviceAccountName with the generic provider', { secretRef: undefined, serviceAccountName: 'sa' }, ['spec.serviceAccountName: FieldValueForbidden']],
    ['secretRef together with serviceAccountName', { provider: 'aws', serviceAccountName: 'sa' }, ['spec.serviceAccountName: FieldValueForbidden']],
    ['a bad secret name', { secretRef: { name: 'Minio' } }, ['spec.secretRef.name: FieldValueInvalid']],
  ];
  for (const [name, patch, want] of cases) {
    it(`reports ${name}`, () => assert.deepEqual(errorsFor({ ...minio, ...patch }), want));
  }

  it('requires spec', () => assert.deepEqual(fieldsOf(bucket.validate({ ...object(bucket, {}), spec: undefined })), ['spec: FieldValueRequired']));
});

describe('Bucket warnings', () => {
  it('is quiet for the Flux AWS example', () => assert.deepEqual(warningsFor(base), []));

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['insecure, as in the Flux MinIO example', { ...minio, insecure: true }, /plain HTTP/],
    ['a certSecretRef outside the generic provider', { certSecretRef: { name: 'tls' } }, /ignored for the 'aws' provider/],
    ['a short interval', { interval: '5s', timeout: '5s' }, /more than once a minute/],
    ['a timeout above the interval', { interval: '1m', timeout: '90s' }, /longer than spec.interval/],
  ];
  for (const [name, patch, want] of cases) {
    it(`warns about ${name}`, () => {
      const w = warningsFor({ ...base, ...patch });
      assert.equal(w.length, 1, w.join('\n'));
      assert.match(w[0], want);
    });
  }
});
