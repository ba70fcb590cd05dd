import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gitRepository, isValidGitRefName } from './git-repository.js';
import { assertColumnsResolve, assertDescribed, compile, fieldsOf, object } from './schema-test-helpers.js';

const validateSchema = compile(gitRepository.schema);
const base = { url: 'https://github.com/stefanprodan/podinfo', interval: '5m0s', ref: { branch: 'master' } };
const errorsFor = (spec: Record<string, unknown>, name?: string) => fieldsOf(gitRepository.validate(object(gitRepository, spec, name)));
const warningsFor = (spec: Record<string, unknown>) => gitRepository.warnings(object(gitRepository, spec));

describe('GitRepository schema', () => {
  it('accepts the Flux example and applies its defaults', () => {
    const o = object(gitRepository, { ...base, ref: { ...base.ref } });
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.equal(o.spec!.timeout, '60s');
    assert.deepEqual(o.status, { observedGeneration: -1 });
    assert.deepEqual(gitRepository.validate(o), []);
  });

  it('defaults spec.verify.mode to HEAD', () => {
    const o = object(gitRepository, { ...base, verify: { secretRef: { name: 'pgp-public-keys' } } });
    assert.equal(validateSchema(o), true);
    assert.equal((o.spec!.verify as { mode: string }).mode, 'HEAD');
  });

  it('rejects what Flux CRD rejects', () => {
    const bad = object(gitRepository, { url: 'ftp://example.com/repo', interval: '5m', timeout: '1h', provider: 'gitlab', include: [{}] });
    assert.equal(validateSchema(bad), false);
    const problems = validateSchema.errors!.map((e) => `${e.instancePath} ${e.keyword}`);
    for (const p of ['/spec/url pattern', '/spec/timeout pattern', '/spec/provider enum', '/spec/include/0 required']) assert.ok(problems.includes(p), `${p} in ${problems}`);
    assert.equal(validateSchema(object(gitRepository, { interval: '5m' })), false);
  });

  it('describes every field', () => assertDescribed(gitRepository.schema));

  it('has every v1 field', () => {
    const spec = gitRepository.schema.properties!.spec.properties!;
    const status = gitRepository.schema.properties!.status.properties!;
    assert.deepEqual(Object.keys(spec).sort(), ['ignore', 'include', 'interval', 'provider', 'proxySecretRef', 'recurseSubmodules', 'ref', 'secretRef', 'serviceAccountName', 'sparseCheckout', 'suspend', 'timeout', 'url', 'verify']);
    assert.deepEqual(Object.keys(spec.ref.properties!).sort(), ['branch', 'commit', 'name', 'semver', 'tag']);
    assert.deepEqual(Object.keys(status).sort(), [
      'artifact', 'conditions', 'includedArtifacts', 'lastHandledReconcileAt', 'observedGeneration', 'observedIgnore',
      'observedInclude', 'observedRecurseSubmodules', 'observedSparseCheckout', 'sourceVerificationMode',
    ]);
  });
});

describe('GitRepository resource', () => {
  it('prints Flux columns, with revision and suspend in wide output', () => {
    assert.deepEqual(gitRepository.printerColumns.map((c) => `${c.name}:${c.priority ?? 0}`), ['URL:0', 'Age:0', 'Ready:0', 'Status:0', 'Revision:1', 'Suspended:1']);
    assertColumnsResolve(gitRepository);
  });

  it('names', () => {
    assert.deepEqual([gitRepository.plural, gitRepository.singular, gitRepository.listKind, gitRepository.shortNames, gitRepository.categories, gitRepository.hasArtifact],
      ['gitrepositories', 'gitrepository', 'GitRepositoryList', ['gitrepo'], ['gitops'], true]);
  });
});

describe('GitRepository validate', () => {
  it('is quiet for a fully specified valid object', () => {
    const spec = {
      url: 'ssh://git@github.com/org/app.git', interval: '1m30s', timeout: '2m', provider: 'azure', serviceAccountName: 'flux-git',
      secretRef: { name: 'ssh-credentials' }, proxySecretRef: { name: 'proxy' },
      ref: { name: 'refs/tags/v1.2.3' }, verify: { mode: 'TagAndHEAD', secretRef: { name: 'keys' } },
      include: [{ repository: { name: 'shared' }, toPath: 'vendor/shared' }, { repository: { name: 'other' } }],
      sparseCheckout: ['./deploy', 'charts/app'],
    };
    assert.deepEqual(errorsFor(spec), []);
    assert.deepEqual(errorsFor({ ...base, ref: { semver: '>=1.0.0, <2.0.0' }, verify: { mode: 'Tag', secretRef: { name: 'k' } } }), []);
    assert.deepEqual(errorsFor({ ...base, ref: { branch: 'main', commit: 'a'.repeat(40) } }), []);
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ['missing spec', {}, ['spec: FieldValueRequired']],
    ['URL without a scheme it can fetch', { url: 'git@github.com:org/repo.git' }, ['spec.url: FieldValueInvalid']],
    ['scp-style port in ssh URL', { url: 'ssh://git@github.com:org/repo.git' }, ['spec.url: FieldValueInvalid']],
    ['zero interval', { interval: '0s' }, ['spec.interval: FieldValueInvalid']],
    ['unparseable timeout', { timeout: '1 m' }, ['spec.timeout: FieldValueInvalid']],
    ['bad secret name', { secretRef: { name: 'Creds_1' } }, ['spec.secretRef.name: FieldValueInvalid']],
    ['serviceAccountName with generic provider', { serviceAccountName: 'sa' }, ['spec.serviceAccountName: FieldValueForbidden']],
    ['github provider without secret', { provider: 'github' }, ['spec.secretRef: FieldValueRequired']],
    ['bad semver', { ref: { semver: 'latest' } }, ['spec.ref.semver: FieldValueInvalid']],
    ['bad ref name', { ref: { name: 'refs/heads/feature..x' } }, ['spec.ref.name: FieldValueInvalid']],
    ['one-level ref name', { ref: { name: 'main' } }, ['spec.ref.name: FieldValueInvalid']],
    ['short commit', { ref: { commit: 'abc1234' } }, ['spec.ref.commit: FieldValueInvalid']],
    ['tag verification of a branch', { verify: { mode: 'Tag', secretRef: { name: 'k' } } }, ['spec.verify.mode: FieldValueInvalid']],
    ['tag verification where commit wins', { ref: { tag: 'v1', commit: 'b'.repeat(40) }, verify: { mode: 'TagAndHEAD', secretRef: { name: 'k' } } }, ['spec.verify.mode: FieldValueInvalid']],
    ['bad include name', { include: [{ repository: { name: 'ok' } }, { repository: { name: 'Not_OK' } }] }, ['spec.include[1].repository.name: FieldValueInvalid']],
    ['self include', { include: [{ repository: { name: 'podinfo' } }] }, ['spec.include[0].repository.name: FieldValueInvalid']],
    ['two includes to one path', { include: [{ repository: { name: 'a' }, toPath: 'x' }, { repository: { name: 'x' } }] }, ['spec.include[1].toPath: FieldValueDuplicate']],
    ['sparse checkout escaping the repository', { sparseCheckout: ['ok', '../up', '/abs'] }, ['spec.sparseCheckout[1]: FieldValueInvalid', 'spec.sparseCheckout[2]: FieldValueInvalid']],
    ['sparse checkout duplicate', { sparseCheckout: ['./deploy', 'deploy'] }, ['spec.sparseCheckout[1]: FieldValueDuplicate']],
  ];
  for (const [name, patch, want] of cases) {
    it(`reports ${name}`, () => assert.deepEqual(errorsFor(name === 'missing spec' ? (undefined as never) : { ...base, ...patch }), want));
  }

  it('explains scp-like SSH addresses', () => {
    const [e] = gitRepository.validate(object(gitRepository, { ...base, url: 'ssh://git@github.com:org/repo.git' }));
    assert.match(e.message, /replace the ':' after the host/);
    assert.deepEqual(errorsFor({ ...base, url: 'ssh://git@github.com:2222/org/repo.git' }), []);
  });

  it('checks reference names like git check-ref-format', () => {
    for (const ok of ['refs/heads/main', 'refs/tags/v0.1.0', 'refs/pull/420/head', 'refs/merge-requests/1/head']) assert.ok(isValidGitRefName(ok), ok);
    for (const bad of ['main', 'refs/heads/', '/refs/heads/x', 'refs/heads/x.lock', 'refs/heads/.x', 'refs/heads/a b', 'refs/heads/a@{1}', 'refs/heads/a:b', 'refs//x', 'refs/x.']) {
      assert.ok(!isValidGitRefName(bad), bad);
    }
  });

  it('returns every error, not just the first', () => {
    assert.deepEqual(errorsFor({ url: 'ftp://x', interval: '0s', provider: 'github', ref: { semver: 'newest', commit: 'zz' } }), [
      'spec.url: FieldValueInvalid', 'spec.interval: FieldValueInvalid', 'spec.secretRef: FieldValueRequired', 'spec.ref.semver: FieldValueInvalid', 'spec.ref.commit: FieldValueInvalid',
    ]);
  });
});

describe('GitRepository warnings', () => {
  it('is quiet for the Flux example', () => assert.deepEqual(warningsFor(base), []));
  it('is quiet without a ref: the default branch is followed', () => assert.deepEqual(warningsFor({ ...base, ref: undefined }), []));

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['credentials over plain HTTP', { url: 'http://git.local/repo', secretRef: { name: 'basic' } }, /unencrypted/],
    ['a short interval', { interval: '10s' }, /more than once a minute/],
    ['a timeout longer than the interval', { interval: '1m', timeout: '5m' }, /longer than spec.interval/],
    ['the legacy head mode', { verify: { mode: 'head', secretRef: { name: 'k' } } }, /'head'.*use 'HEAD'/],
    ['ignored lower-precedence refs', { ref: { semver: '1.x', tag: 'v1' } }, /spec.ref.tag is ignored because spec.ref.semver/],
  ];
  for (const [name, patch, want] of cases) {
    it(`warns about ${name}`, () => {
      const w = warningsFor({ ...base, ...patch });
      assert.equal(w.length, 1, w.join('\n'));
      assert.match(w[0], want);
    });
  }

  it('does not call branch ignored next to a commit', () => assert.deepEqual(warningsFor({ ...base, ref: { branch: 'main', commit: 'c'.repeat(40) } }), []));
});
