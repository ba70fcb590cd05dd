// lsRemote + resolveRef against the real git http-backend: every ref kind, the default branch, auth,
// HTTPS with a private CA, and the failures a GitRepository must turn into conditions.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { lsRemote, resolveRef } from '../../src/sources/git/remote.js';
import { GitRemoteError } from '../../src/sources/git/types.js';
import { GitServer } from '../helpers/git-server.js';

async function remoteError(p: Promise<unknown>): Promise<GitRemoteError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GitRemoteError, `expected a GitRemoteError, got ${err}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('lsRemote and resolveRef over smart HTTP', () => {
  let s: GitServer;
  let c1: string;
  let c2: string;
  before(async () => {
    s = await GitServer.start({ username: 'flux', password: 'pa55word', bearerToken: 'token-xyz' });
    c1 = await s.createRepo('app', { files: { 'README.md': 'one\n' } });
    await s.tag('app', 'v1.2.9');
    await s.tag('app', 'light');
    c2 = await s.commit('app', { 'README.md': 'two\n' });
    await s.tag('app', 'v1.2.10', { annotated: true });
    await s.tag('app', 'v1.3.0-rc.1', { annotated: true });
    await s.branch('app', 'release/1.x', c1);
    await s.git(['update-ref', 'refs/pull/1/head', c1], { repo: 'app' });
  });
  after(() => s.stop());

  it('costs exactly one small GET of info/refs', async () => {
    s.resetRequests();
    const refs = await lsRemote(s.url('app'));
    assert.deepEqual(
      s.requests.map((r) => [r.method, r.path, r.query, r.status]),
      [['GET', '/app.git/info/refs', 'service=git-upload-pack', 200]],
    );
    assert.ok(s.requests[0].bytesOut < 4096, `${s.requests[0].bytesOut} bytes`);
    assert.equal(refs.head, 'refs/heads/main');
    assert.deepEqual(refs.refs.get('refs/heads/main'), { oid: c2 });
    assert.deepEqual(refs.refs.get('refs/tags/light'), { oid: c1 });
    const annotated = refs.refs.get('refs/tags/v1.2.10')!;
    assert.equal(annotated.peeled, c2);
    assert.equal(annotated.oid, await s.git(['rev-parse', 'refs/tags/v1.2.10'], { repo: 'app' }));
  });

  it('resolves every kind of ref to the commit and Flux revision', async () => {
    const refs = await lsRemote(s.url('app'));
    assert.deepEqual(resolveRef(refs), { commit: c2, revision: `main@sha1:${c2}`, refName: 'refs/heads/main' });
    assert.equal(resolveRef(refs, { branch: 'release/1.x' }).revision, `release/1.x@sha1:${c1}`);
    assert.deepEqual(resolveRef(refs, { tag: 'light' }), { commit: c1, revision: `light@sha1:${c1}`, refName: 'refs/tags/light' });
    const tag = resolveRef(refs, { tag: 'v1.2.10' });
    assert.equal(tag.revision, `v1.2.10@sha1:${c2}`);
    assert.equal(tag.tagObject, refs.refs.get('refs/tags/v1.2.10')!.oid);
    assert.equal(resolveRef(refs, { name: 'refs/pull/1/head' }).revision, `refs/pull/1/head@sha1:${c1}`);
    assert.equal(resolveRef(refs, { commit: c1 }).revision, `sha1:${c1}`);
    assert.equal(resolveRef(refs, { commit: c1, branch: 'main' }).revision, `main@sha1:${c1}`);
    assert.throws(() => resolveRef(refs, { tag: 'nope' }), (e: unknown) => e instanceof GitRemoteError && e.reason === 'RefNotFound');
  });

  it('orders semver tags numerically and skips pre-releases unless asked', async () => {
    const refs = await lsRemote(s.url('app'));
    assert.equal(resolveRef(refs, { semver: '1.2.x' }).revision, `v1.2.10@sha1:${c2}`);
    assert.equal(resolveRef(refs, { semver: '>=1.0.0' }).revision, `v1.2.10@sha1:${c2}`);
    assert.equal(resolveRef(refs, { semver: '>=1.3.0-rc.0' }).revision, `v1.3.0-rc.1@sha1:${c2}`);
    assert.equal(resolveRef(refs, { semver: '<1.2.10' }).revision, `v1.2.9@sha1:${c1}`);
  });

  it('follows HEAD to whatever branch it points at', async () => {
    const trunk = await s.createRepo('other', { defaultBranch: 'trunk' });
    assert.deepEqual(resolveRef(await lsRemote(s.url('other'))), { commit: trunk, revision: `trunk@sha1:${trunk}`, refName: 'refs/heads/trunk' });
    const dev = await s.commit('other', { 'dev.txt': 'dev\n' }, { branch: 'dev' });
    await s.setDefaultBranch('other', 'dev');
    assert.equal(resolveRef(await lsRemote(s.url('other'))).revision, `dev@sha1:${dev}`);
  });

  it('sees a push on the next resolve', async () => {
    await s.createRepo('moving');
    const before = resolveRef(await lsRemote(s.url('moving')));
    const pushed = await s.commit('moving', { 'new.txt': 'new\n' });
    const now = resolveRef(await lsRemote(s.url('moving')));
    assert.notEqual(before.commit, pushed);
    assert.equal(now.commit, pushed);
    assert.equal(now.revision, `main@sha1:${pushed}`);
  });

  it('sends Basic credentials and reports a wrong password as AuthenticationFailed, without echoing it', async () => {
    s.resetRequests();
    const ok = await lsRemote(s.url('app', 'basic'), { username: 'flux', password: 'pa55word' });
    assert.equal(ok.refs.get('refs/heads/main')!.oid, c2);
    assert.equal(s.requests.length, 1, 'credentials go with the first request, no 401 round trip');

    const bad = await remoteError(lsRemote(s.url('app', 'basic'), { username: 'flux', password: 'wrong-secret' }));
    assert.equal(bad.reason, 'AuthenticationFailed');
    assert.match(bad.message, /authentication failed \(HTTP 401/);
    assert.doesNotMatch(bad.message, /wrong-secret/);
    assert.equal((await remoteError(lsRemote(s.url('app', 'basic')))).reason, 'AuthenticationFailed');

    const inUrl = s.url('app', 'basic').replace('://', '://flux:pa55word@');
    assert.equal((await lsRemote(inUrl)).refs.get('refs/heads/main')!.oid, c2);
    const badInUrl = await remoteError(lsRemote(s.url('app', 'basic').replace('://', '://flux:leaked@')));
    assert.doesNotMatch(badInUrl.message, /leaked/);
  });

  it('sends a bearer token', async () => {
    assert.equal((await lsRemote(s.url('app', 'bearer'), { bearerToken: 'token-xyz' })).refs.get('refs/heads/main')!.oid, c2);
    assert.equal((await remoteError(lsRemote(s.url('app', 'bearer'), { bearerToken: 'nope' }))).reason, 'AuthenticationFailed');
  });

  it('reports a missing repository as NotFound', async () => {
    const e = await remoteError(lsRemote(s.url('missing')));
    assert.equal(e.reason, 'NotFound');
  });

  it('reports refused connections, silent servers and aborts as Unreachable', async () => {
    const port = await new Promise<number>((r) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => r(p));
      });
    });
    const refused = await remoteError(lsRemote(`http://127.0.0.1:${port}/app.git`));
    assert.equal(refused.reason, 'Unreachable');
    assert.match(refused.message, /ECONNREFUSED/);

    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/app.git`;
    try {
      const timedOut = await remoteError(lsRemote(url, {}, { timeoutMs: 200 }));
      assert.equal(timedOut.reason, 'Unreachable');
      assert.match(timedOut.message, /no response .* for 0.2s/);
      const aborted = await remoteError(lsRemote(url, {}, { signal: AbortSignal.timeout(100) }));
      assert.equal(aborted.reason, 'Unreachable');
      assert.match(aborted.message, /aborted/);
    } finally {
      silent.close();
    }
  });

  it('refuses SSH URLs as Unsupported without touching the network', async () => {
    for (const url of ['ssh://git@127.0.0.1/app.git', 'git@127.0.0.1:org/app.git']) {
      const e = await remoteError(lsRemote(url));
      assert.equal(e.reason, 'Unsupported');
      assert.match(e.message, /SSH is not supported yet \(this server speaks Git over HTTP\(S\) only\)/);
    }
  });
});

describe('lsRemote over HTTPS with a private CA', () => {
  let s: GitServer;
  let head: string;
  before(async () => {
    s = await GitServer.start({ https: true });
    head = await s.createRepo('app');
  });
  after(() => s.stop());

  it('trusts the server with ca.crt and explains the failure without it', async () => {
    assert.equal((await lsRemote(s.url('app'), { caCert: s.ca!.cert })).refs.get('refs/heads/main')!.oid, head);
    const e = await remoteError(lsRemote(s.url('app')));
    assert.equal(e.reason, 'Unreachable');
    assert.match(e.message, /TLS certificate not trusted .*ca\.crt/);
  });
});
