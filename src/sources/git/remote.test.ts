import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTagVersion, pickSemverTag, resolveRef, splitUrlCredentials } from './remote.js';
import { GitRemoteError, type RemoteRefs } from './types.js';

const sha = (c: string) => c.repeat(40);
const refs: RemoteRefs = {
  head: 'refs/heads/trunk',
  refs: new Map([
    ['HEAD', { oid: sha('1') }],
    ['refs/heads/trunk', { oid: sha('1') }],
    ['refs/heads/main', { oid: sha('2') }],
    ['refs/heads/feature/x', { oid: sha('3') }],
    ['refs/tags/v1.0.0', { oid: sha('4') }],
    ['refs/tags/v1.2.0', { oid: sha('5'), peeled: sha('6') }],
    ['refs/pull/7/head', { oid: sha('7') }],
  ]),
};

const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GitRemoteError, String(err));
    return err.reason;
  }
  assert.fail('expected a GitRemoteError');
};

describe('resolveRef', () => {
  it('with no ref follows the remote HEAD, not a guessed master', () => {
    assert.deepEqual(resolveRef(refs), { commit: sha('1'), revision: `trunk@sha1:${sha('1')}`, refName: 'refs/heads/trunk' });
    assert.deepEqual(resolveRef(refs, {}), resolveRef(refs));
  });

  it('resolves branches, including ones with slashes', () => {
    assert.equal(resolveRef(refs, { branch: 'main' }).revision, `main@sha1:${sha('2')}`);
    assert.equal(resolveRef(refs, { branch: 'feature/x' }).revision, `feature/x@sha1:${sha('3')}`);
    assert.equal(reason(() => resolveRef(refs, { branch: 'nope' })), 'RefNotFound');
  });

  it('resolves lightweight and annotated tags to the commit, keeping the tag object', () => {
    assert.deepEqual(resolveRef(refs, { tag: 'v1.0.0' }), { commit: sha('4'), revision: `v1.0.0@sha1:${sha('4')}`, refName: 'refs/tags/v1.0.0' });
    assert.deepEqual(resolveRef(refs, { tag: 'v1.2.0' }), { commit: sha('6'), revision: `v1.2.0@sha1:${sha('6')}`, refName: 'refs/tags/v1.2.0', tagObject: sha('5') });
  });

  it('resolves names as full references; ^{} peels without the tag object', () => {
    assert.deepEqual(resolveRef(refs, { name: 'refs/pull/7/head' }), { commit: sha('7'), revision: `refs/pull/7/head@sha1:${sha('7')}`, refName: 'refs/pull/7/head' });
    assert.equal(resolveRef(refs, { name: 'refs/tags/v1.2.0' }).tagObject, sha('5'));
    const peeled = resolveRef(refs, { name: 'refs/tags/v1.2.0^{}' });
    assert.equal(peeled.commit, sha('6'));
    assert.equal(peeled.tagObject, undefined);
    assert.equal(peeled.revision, `refs/tags/v1.2.0^{}@sha1:${sha('6')}`);
    assert.equal(reason(() => resolveRef(refs, { name: 'pull/7/head' })), 'Invalid');
  });

  it('takes commits as given: bare, with a branch, with a name', () => {
    const c = 'ABCDEF0123456789abcdef0123456789abcdef01';
    assert.deepEqual(resolveRef(refs, { commit: c }), { commit: c.toLowerCase(), revision: `sha1:${c.toLowerCase()}` });
    assert.equal(resolveRef(refs, { commit: c, branch: 'main' }).revision, `main@sha1:${c.toLowerCase()}`);
    assert.equal(resolveRef(refs, { commit: c, name: 'refs/heads/main' }).revision, `refs/heads/main@sha1:${c.toLowerCase()}`);
    assert.equal(reason(() => resolveRef(refs, { commit: 'abc123' })), 'Invalid');
  });

  it('applies Flux precedence: commit > name > semver > tag > branch', () => {
    const c = sha('c');
    const all = { commit: c, name: 'refs/pull/7/head', semver: '1.x', tag: 'v1.0.0', branch: 'main' };
    assert.equal(resolveRef(refs, all).commit, c);
    assert.equal(resolveRef(refs, { ...all, commit: undefined }).commit, sha('7'));
    assert.equal(resolveRef(refs, { ...all, commit: undefined, name: undefined }).revision, `v1.2.0@sha1:${sha('6')}`);
    assert.equal(resolveRef(refs, { tag: 'v1.0.0', branch: 'main' }).commit, sha('4'));
  });

  it('explains an empty remote and one without a HEAD symref', () => {
    assert.throws(() => resolveRef({ refs: new Map() }), /the remote repository is empty/);
    assert.equal(reason(() => resolveRef({ refs: new Map([['refs/heads/x', { oid: sha('1') }]]) })), 'RefNotFound');
  });
});

describe('semver tags', () => {
  const pick = (tags: string[], range: string) => pickSemverTag(tags, range);

  it('orders numerically, not lexically', () => {
    assert.equal(pick(['v1.2.9', 'v1.2.10', 'v1.2.2'], '1.2.x'), 'v1.2.10');
    assert.equal(pick(['1.9.0', '1.10.0'], '>=1.0.0'), '1.10.0');
  });

  it('takes the highest version that satisfies the range', () => {
    assert.equal(pick(['v1.0.0', 'v1.5.0', 'v2.0.0'], '<2.0.0'), 'v1.5.0');
    assert.equal(pick(['v1.0.0', 'v1.5.0', 'v2.0.0'], '~1.0'), 'v1.0.0');
    assert.equal(pick(['v1.0.0', 'v2.0.0'], '>=3.0.0'), undefined);
  });

  it('accepts Masterminds comma-separated AND ranges', () => {
    assert.equal(pick(['1.1.0', '1.4.0', '1.6.0'], '>= 1.1, < 1.5'), '1.4.0');
  });

  it('leaves pre-releases out unless the range names one', () => {
    const tags = ['v1.0.0', 'v1.1.0-rc.1', 'v1.1.0-rc.2'];
    assert.equal(pick(tags, '>=1.0.0'), 'v1.0.0');
    assert.equal(pick(tags, '>=1.1.0-rc.1'), 'v1.1.0-rc.2');
    assert.equal(pick([...tags, 'v1.1.0'], '>=1.1.0-rc.1'), 'v1.1.0');
  });

  it('parses like Flux: strict SemVer with one optional leading v', () => {
    assert.equal(parseTagVersion('v1.2.3')?.version, '1.2.3');
    assert.equal(parseTagVersion('1.2.3-rc.1+build.5')?.version, '1.2.3-rc.1');
    for (const bad of ['v1.2', '1', 'vv1.2.3', '=1.2.3', 'release-1', 'v1.2.3.4', '01.2.3']) assert.equal(parseTagVersion(bad), null, bad);
    assert.equal(pick(['v1.2', 'latest', 'v1.0.0'], '*'), 'v1.0.0');
  });

  it('rejects an invalid range', () => {
    assert.equal(reason(() => pick(['v1.0.0'], 'not a range!')), 'Invalid');
  });
});

describe('splitUrlCredentials', () => {
  it('moves user:password out of the URL; the secret wins', () => {
    assert.deepEqual(splitUrlCredentials('https://u:p%40ss@example.com/r.git', {}), { url: 'https://example.com/r.git', auth: { username: 'u', password: 'p@ss' } });
    assert.deepEqual(splitUrlCredentials('https://u:p@example.com/r.git', { username: 'x', password: 'y' }).auth, { username: 'x', password: 'y' });
    assert.deepEqual(splitUrlCredentials('https://example.com/r.git', {}), { url: 'https://example.com/r.git', auth: {} });
  });

  it('refuses SSH and other schemes as Unsupported', () => {
    assert.equal(reason(() => splitUrlCredentials('ssh://git@example.com/r.git', {})), 'Unsupported');
    assert.equal(reason(() => splitUrlCredentials('git@github.com:org/repo.git', {})), 'Unsupported');
    assert.equal(reason(() => splitUrlCredentials('file:///tmp/repo', {})), 'Unsupported');
    assert.equal(reason(() => splitUrlCredentials('not a url', {})), 'Invalid');
  });
});
