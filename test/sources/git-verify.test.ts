// spec.verify against commits and tags signed by real git + gpg, fetched with fetchCommit.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchCommit } from '../../src/sources/git/fetch.js';
import { lsRemote, resolveRef } from '../../src/sources/git/remote.js';
import { SignatureVerificationError, type GitRef, type VerifyMode } from '../../src/sources/git/types.js';
import { verifySignatures } from '../../src/sources/git/verify.js';
import { GitServer, type SigningKey } from '../helpers/git-server.js';

describe('verifySignatures', () => {
  let s: GitServer;
  let work: string;
  let key: SigningKey;
  let stranger: SigningKey;
  let signedCommit: string;
  let unsignedCommit: string;
  let n = 0;

  before(async () => {
    s = await GitServer.start();
    work = await mkdtemp(join(tmpdir(), 'git-verify-test-'));
    key = await s.signingKey();
    stranger = await s.newSigningKey('Someone Else', 'else@example.com');
    await s.createRepo('app');
    signedCommit = await s.commit('app', { 'signed.txt': 'signed\n' }, { branch: 'signed', sign: true });
    await s.tag('app', 'v1.0.0', { sign: true, target: signedCommit });
    await s.tag('app', 'v1.0.1-unsigned-tag', { annotated: true, target: signedCommit });
    await s.tag('app', 'light', { target: signedCommit });
    await s.commit('app', { 'other.txt': 'x\n' }, { branch: 'stranger', sign: stranger });
    unsignedCommit = await s.commit('app', { 'plain.txt': 'plain\n' }, { branch: 'unsigned' });
    await s.tag('app', 'v2.0.0', { sign: true, target: unsignedCommit });
  });
  after(async () => {
    await s.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function check(ref: GitRef, mode: VerifyMode, keys = [key.publicKey]) {
    const resolved = resolveRef(await lsRemote(s.url('app')), ref);
    const dir = join(work, `c${++n}`);
    await fetchCommit(s.url('app'), resolved, {}, dir);
    return verifySignatures(dir, resolved, mode, keys);
  }
  const fails = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof SignatureVerificationError && re.test(e.message));

  it('HEAD: accepts a commit signed by a key in the secret and names the key', async () => {
    const [v] = await check({ branch: 'signed' }, 'HEAD');
    assert.deepEqual(v, { object: 'commit', name: signedCommit, keyId: key.keyId.toUpperCase(), fingerprint: key.fingerprint.toUpperCase() });
    assert.equal((await check({ branch: 'signed' }, 'head')).length, 1, "Flux's deprecated lower-case mode");
  });

  it('HEAD: refuses unsigned commits and commits signed by other keys', async () => {
    await fails(check({ branch: 'unsigned' }, 'HEAD'), new RegExp(`commit '${unsignedCommit}' is not signed`));
    await fails(check({ branch: 'stranger' }, 'HEAD'), new RegExp(`signed with key ${stranger.keyId.toUpperCase()}\\) with any of the given keys`));
  });

  it('finds the right key among several, in any field', async () => {
    const [v] = await check({ branch: 'stranger' }, 'HEAD', ['some unrelated value', key.publicKey, `${stranger.publicKey}\n${key.publicKey}`]);
    assert.equal(v.keyId, stranger.keyId.toUpperCase());
  });

  it('Tag: verifies the annotated tag object, not the commit', async () => {
    assert.deepEqual(await check({ tag: 'v2.0.0' }, 'Tag'), [{ object: 'tag', name: 'v2.0.0', keyId: key.keyId.toUpperCase(), fingerprint: key.fingerprint.toUpperCase() }]);
    const [v] = await check({ semver: '>=1.0.0 <1.0.1' }, 'Tag');
    assert.equal(v.name, 'v1.0.0');
    await fails(check({ tag: 'v1.0.1-unsigned-tag' }, 'Tag'), /tag 'v1.0.1-unsigned-tag' is not signed/);
    await fails(check({ tag: 'light' }, 'Tag'), /lightweight tag/);
    await fails(check({ branch: 'signed' }, 'Tag'), /needs a tag reference/);
  });

  it('TagAndHEAD: needs both signatures', async () => {
    const both = await check({ tag: 'v1.0.0' }, 'TagAndHEAD');
    assert.deepEqual(
      both.map((v) => [v.object, v.name]),
      [
        ['tag', 'v1.0.0'],
        ['commit', signedCommit],
      ],
    );
    await fails(check({ tag: 'v2.0.0' }, 'TagAndHEAD'), /is not signed/);
  });

  it('refuses a tampered payload', async () => {
    // The same signature over another commit (same tree, other message) must not verify.
    const raw = await s.git(['cat-file', 'commit', signedCommit], { repo: 'app' });
    const forged = await s.git(['hash-object', '-t', 'commit', '-w', '--stdin'], { repo: 'app', input: raw.replace(/\n\n[^]*$/, '\n\nnot what was signed\n') });
    await s.git(['update-ref', 'refs/heads/forged', forged], { repo: 'app' });
    await fails(check({ branch: 'forged' }, 'HEAD'), /unable to verify the signature/);
  });
});
