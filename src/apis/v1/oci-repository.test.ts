import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ociRepository } from './oci-repository.js';
import { assertColumnsResolve, assertDescribed, compile, fieldsOf, object } from './schema-test-helpers.js';

const validateSchema = compile(ociRepository.schema);
const base = { interval: '5m0s', url: 'oci://ghcr.io/stefanprodan/manifests/podinfo', ref: { tag: 'latest' } };
const errorsFor = (spec: Record<string, unknown>) => fieldsOf(ociRepository.validate(object(ociRepository, spec)));
const warningsFor = (spec: Record<string, unknown>) => ociRepository.warnings(object(ociRepository, spec));

describe('OCIRepository schema', () => {
  it('accepts the Flux example and applies its defaults', () => {
    const o = object(ociRepository, { ...base, verify: {} });
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.equal(o.spec!.timeout, '60s');
    assert.equal(o.spec!.provider, 'generic');
    assert.deepEqual(o.spec!.verify, { provider: 'cosign' });
    assert.deepEqual(o.status, { observedGeneration: -1 });
    assert.deepEqual(ociRepository.validate(o), []);
  });

  it('rejects what the Flux CRD rejects', () => {
    const bad = object(ociRepository, {
      url: 'https://ghcr.io/org/app', interval: '5m', timeout: '1h', provider: 'oracle', credential: 'Token',
      layerSelector: { operation: 'move' }, verify: { provider: 'gpg', matchOIDCIdentity: [{ issuer: 'x' }] },
    });
    assert.equal(validateSchema(bad), false);
    const problems = validateSchema.errors!.map((e) => `${e.instancePath} ${e.keyword}`);
    for (const p of ['/spec/url pattern', '/spec/timeout pattern', '/spec/provider enum', '/spec/credential enum', '/spec/layerSelector/operation enum', '/spec/verify/provider enum', '/spec/verify/matchOIDCIdentity/0 required']) {
      assert.ok(problems.includes(p), `${p} in ${problems}`);
    }
  });

  it('describes every field', () => assertDescribed(ociRepository.schema));

  it('has every v1 field', () => {
    const spec = ociRepository.schema.properties!.spec.properties!;
    assert.deepEqual(Object.keys(spec).sort(), [
      'audiences', 'certSecretRef', 'credential', 'ignore', 'insecure', 'interval', 'layerSelector', 'provider', 'proxySecretRef',
      'ref', 'secretRef', 'serviceAccountName', 'suspend', 'timeout', 'url', 'verify',
    ]);
    assert.deepEqual(Object.keys(spec.ref.properties!).sort(), ['digest', 'semver', 'semverFilter', 'tag']);
    assert.deepEqual(Object.keys(spec.verify.properties!).sort(), ['matchOIDCIdentity', 'provider', 'secretRef', 'trustedRootSecretRef']);
    assert.deepEqual(Object.keys(ociRepository.schema.properties!.status.properties!).sort(), [
      'artifact', 'conditions', 'lastHandledReconcileAt', 'observedGeneration', 'observedIgnore', 'observedLayerSelector', 'url',
    ]);
  });
});

describe('OCIRepository resource', () => {
  it("prints Flux's columns in Flux's order (Age last), with wide extras", () => {
    assert.deepEqual(ociRepository.printerColumns.map((c) => `${c.name}:${c.priority ?? 0}`), ['URL:0', 'Ready:0', 'Status:0', 'Age:0', 'Revision:1', 'Suspended:1']);
    assertColumnsResolve(ociRepository);
  });

  it('names', () => {
    assert.deepEqual([ociRepository.plural, ociRepository.singular, ociRepository.listKind, ociRepository.shortNames, ociRepository.categories, ociRepository.hasArtifact],
      ['ocirepositories', 'ocirepository', 'OCIRepositoryList', ['ocirepo'], ['gitops'], true]);
  });
});

describe('OCIRepository validate', () => {
  it('is quiet for a fully specified valid object', () => {
    assert.deepEqual(errorsFor({
      url: 'oci://localhost:5000/org/app_x/sub-dir', interval: '10m', timeout: '30s', provider: 'generic',
      credential: 'ServiceAccountToken', audiences: ['registry.example.com'], serviceAccountName: 'puller',
      ref: { semver: '>=1.0.0 <2.0.0', semverFilter: '.*-rc.*' }, layerSelector: { mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip', operation: 'copy' },
      secretRef: { name: 'regcred' }, certSecretRef: { name: 'tls' }, proxySecretRef: { name: 'proxy' },
      verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: '^https://token.actions.githubusercontent.com$', subject: '^https://github.com/org/.*$' }] },
    }), []);
    assert.deepEqual(errorsFor({ ...base, ref: { digest: `sha256:${'a'.repeat(64)}` }, verify: { provider: 'notation', secretRef: { name: 'trust' } } }), []);
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ['a non-OCI URL', { url: 'https://ghcr.io/org/app' }, ['spec.url: FieldValueInvalid']],
    ['a URL without repository', { url: 'oci://ghcr.io' }, ['spec.url: FieldValueInvalid']],
    ['a URL with a tag', { url: 'oci://ghcr.io/org/app:v1' }, ['spec.url: FieldValueInvalid']],
    ['a URL with a digest', { url: `oci://ghcr.io/org/app@sha256:${'a'.repeat(64)}` }, ['spec.url: FieldValueInvalid']],
    ['an uppercase repository', { url: 'oci://ghcr.io/Org/App' }, ['spec.url: FieldValueInvalid']],
    ['a zero interval', { interval: '0m' }, ['spec.interval: FieldValueInvalid']],
    ['a malformed digest', { ref: { digest: 'abc' } }, ['spec.ref.digest: FieldValueInvalid']],
    ['a short sha256 digest', { ref: { digest: 'sha256:abc' } }, ['spec.ref.digest: FieldValueInvalid']],
    ['a bad semver range', { ref: { semver: 'newest' } }, ['spec.ref.semver: FieldValueInvalid']],
    ['a bad semverFilter', { ref: { semver: '1.x', semverFilter: '(' } }, ['spec.ref.semverFilter: FieldValueInvalid']],
    ['a bad tag', { ref: { tag: '-v1' } }, ['spec.ref.tag: FieldValueInvalid']],
    ['a bad media type', { layerSelector: { mediaType: 'tar' } }, ['spec.layerSelector.mediaType: FieldValueInvalid']],
    ['audiences without a token credential', { audiences: ['x'] }, ['spec.audiences: FieldValueForbidden']],
    ['a token credential without audiences', { credential: 'ServiceAccountToken' }, ['spec.audiences: FieldValueRequired']],
    ['a token credential with a cloud provider', { credential: 'ServiceAccountToken', audiences: ['x'], provider: 'aws' }, ['spec.credential: FieldValueForbidden']],
    ['a bad secret name', { secretRef: { name: 'Reg' } }, ['spec.secretRef.name: FieldValueInvalid']],
    ['notation without a trust policy secret', { verify: { provider: 'notation' } }, ['spec.verify.secretRef: FieldValueRequired']],
    ['a bad identity regexp', { verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: '.*', subject: '[' }] } }, ['spec.verify.matchOIDCIdentity[0].subject: FieldValueInvalid']],
  ];
  for (const [name, patch, want] of cases) {
    it(`reports ${name}`, () => assert.deepEqual(errorsFor({ ...base, ...patch }), want));
  }

  it('returns every error', () => {
    assert.deepEqual(errorsFor({ url: 'oci://ghcr.io/a:b', interval: '0s', ref: { digest: 'x', tag: '.' } }), [
      'spec.url: FieldValueInvalid', 'spec.interval: FieldValueInvalid', 'spec.ref.digest: FieldValueInvalid', 'spec.ref.tag: FieldValueInvalid',
    ]);
    assert.deepEqual(fieldsOf(ociRepository.validate({ ...object(ociRepository, {}), spec: undefined })), ['spec: FieldValueRequired']);
  });
});

describe('OCIRepository warnings', () => {
  it('is quiet for the Flux example', () => assert.deepEqual(warningsFor(base), []));

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['insecure', { insecure: true }, /plain HTTP/],
    ['a short interval', { interval: '30s' }, /more than once a minute/],
    ['a tag next to a digest', { ref: { tag: 'v1', digest: `sha256:${'b'.repeat(64)}` } }, /spec.ref.tag is ignored because spec.ref.digest/],
    ['a tag next to semver', { ref: { tag: 'v1', semver: '1.x' } }, /spec.ref.tag is ignored because spec.ref.semver/],
    ['a semverFilter without semver', { ref: { tag: 'v1', semverFilter: 'rc' } }, /semverFilter is ignored/],
    ['identities next to keys', { verify: { provider: 'cosign', secretRef: { name: 'k' }, matchOIDCIdentity: [{ issuer: 'a', subject: 'b' }] } }, /matchOIDCIdentity is ignored when spec.verify.secretRef/],
    ['identities with notation', { verify: { provider: 'notation', secretRef: { name: 'k' }, matchOIDCIdentity: [{ issuer: 'a', subject: 'b' }] } }, /ignored by notation/],
  ];
  for (const [name, patch, want] of cases) {
    it(`warns about ${name}`, () => {
      const w = warningsFor({ ...base, ...patch });
      assert.equal(w.length, 1, w.join('\n'));
      assert.match(w[0], want);
    });
  }
});
