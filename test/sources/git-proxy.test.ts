// lsRemote + fetchCommit through a real forward proxy to the real git http-backend: absolute-URI
// requests for http:// remotes, CONNECT tunnels for https:// ones, and proxy authentication.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchCommit, treeEntries } from '../../src/sources/git/fetch.js';
import { lsRemote, resolveRef } from '../../src/sources/git/remote.js';
import { GitRemoteError, type GitAuth, type GitProxy } from '../../src/sources/git/types.js';
import { GitServer } from '../helpers/git-server.js';
import { HttpProxy } from '../helpers/http-proxy.js';
import { freePort } from '../helpers/server.js';

const PROXY_USER = 'squid';
const PROXY_PASSWORD = 'pr0xy-s3cret';

async function remoteError(p: Promise<unknown>): Promise<GitRemoteError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GitRemoteError, `expected a GitRemoteError, got ${err}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

async function paths(gitDir: string, commit: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of treeEntries(gitDir, commit)) out.push(e.path);
  return out;
}

let cacheRoot: string;
let n = 0;
before(async () => (cacheRoot = await mkdtemp(join(tmpdir(), 'git-proxy-test-'))));
after(() => rm(cacheRoot, { recursive: true, force: true }));

/** ls-remote then fetch, as a reconcile does; returns the fetched tree's paths. */
async function pull(url: string, auth: GitAuth, proxy: GitProxy): Promise<string[]> {
  const resolved = resolveRef(await lsRemote(url, auth, { proxy }));
  const dir = join(cacheRoot, String(n++));
  await fetchCommit(url, resolved, auth, dir, { proxy });
  return paths(dir, resolved.commit);
}

describe('Git over an HTTP proxy, http:// remote', () => {
  let git: GitServer;
  let open: HttpProxy;
  let guarded: HttpProxy;
  before(async () => {
    git = await GitServer.start({ username: 'flux', password: 'git-pass' });
    await git.createRepo('app', { files: { 'deploy/app.yaml': 'kind: ConfigMap\n' } });
    open = await HttpProxy.start();
    guarded = await HttpProxy.start({ username: PROXY_USER, password: PROXY_PASSWORD });
  });
  after(async () => {
    await open.stop();
    await guarded.stop();
    await git.stop();
  });

  it('sends every request as an absolute URI to the proxy, and Git credentials still reach the remote', async () => {
    git.resetRequests();
    const files = await pull(git.url('app', 'basic'), { username: 'flux', password: 'git-pass' }, { url: open.url });
    assert.deepEqual(files, ['deploy', 'deploy/app.yaml']);
    const prefix = `${git.url('app', 'basic')}/`;
    assert.deepEqual(
      open.requests.map((r) => [r.method, r.target.replace(prefix, ''), r.status]),
      [
        ['GET', 'info/refs?service=git-upload-pack', 200],
        ['GET', 'info/refs?service=git-upload-pack', 200],
        ['POST', 'git-upload-pack', 200],
      ],
    );
    assert.equal(open.requests[0].proxyAuthorization, undefined, 'no proxy credentials were configured');
    assert.equal(git.requests.length, open.requests.length, 'nothing reached the Git server but through the proxy');
  });

  it('authenticates to the proxy with Basic credentials from the secret or from the address', async () => {
    assert.deepEqual(await pull(git.url('app'), {}, { url: guarded.url, username: PROXY_USER, password: PROXY_PASSWORD }), ['deploy', 'deploy/app.yaml']);
    const expected = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`;
    assert.ok(guarded.requests.length >= 3);
    assert.ok(guarded.requests.every((r) => r.proxyAuthorization === expected && r.status === 200));
    const inAddress = `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${guarded.port}`;
    assert.equal((await lsRemote(git.url('app'), {}, { proxy: { url: inAddress } })).head, 'refs/heads/main');
  });

  it('turns 407 into AuthenticationFailed naming the proxy, never the password', async () => {
    const bad = await remoteError(lsRemote(git.url('app'), {}, { proxy: { url: guarded.url, username: PROXY_USER, password: 'wrong-pw' } }));
    assert.equal(bad.reason, 'AuthenticationFailed');
    assert.match(bad.message, new RegExp(`proxy 127.0.0.1:${guarded.port} rejected the credentials \\(HTTP 407`));
    assert.doesNotMatch(bad.message, /wrong-pw|squid/);
    const none = await remoteError(lsRemote(git.url('app'), {}, { proxy: { url: guarded.url } }));
    assert.equal(none.reason, 'AuthenticationFailed');
    assert.match(none.message, /requires authentication/);
  });

  it('refuses proxy addresses it cannot use, and reports an unreachable proxy', async () => {
    assert.equal((await remoteError(lsRemote(git.url('app'), {}, { proxy: { url: 'socks5://127.0.0.1:1080' } }))).reason, 'Unsupported');
    const invalid = await remoteError(lsRemote(git.url('app'), {}, { proxy: { url: 'http://u:hidden@[bad' } }));
    assert.equal(invalid.reason, 'Invalid');
    assert.doesNotMatch(invalid.message, /hidden/);
    const closed = await freePort();
    const down = await remoteError(lsRemote(git.url('app'), {}, { proxy: { url: `http://127.0.0.1:${closed}` } }));
    assert.equal(down.reason, 'Unreachable');
    assert.match(down.message, /ECONNREFUSED/);
  });
});

describe('Git over an HTTP proxy, https:// remote', () => {
  let git: GitServer;
  let proxy: HttpProxy;
  before(async () => {
    git = await GitServer.start({ https: true });
    await git.createRepo('app', { files: { 'README.md': 'over TLS\n' } });
    proxy = await HttpProxy.start({ username: PROXY_USER, password: PROXY_PASSWORD });
  });
  after(async () => {
    await proxy.stop();
    await git.stop();
  });
  const good = () => ({ url: proxy.url, username: PROXY_USER, password: PROXY_PASSWORD });

  it('tunnels with CONNECT and speaks TLS to the remote, trusting ca.crt', async () => {
    git.resetRequests();
    assert.deepEqual(await pull(git.url('app'), { caCert: git.ca!.cert }, good()), ['README.md']);
    assert.ok(proxy.requests.length >= 3);
    for (const r of proxy.requests) assert.deepEqual([r.method, r.target, r.status], ['CONNECT', `127.0.0.1:${git.port}`, 200]);
    assert.deepEqual(
      git.requests.map((r) => [r.method, r.path]),
      [
        ['GET', '/app.git/info/refs'],
        ['GET', '/app.git/info/refs'],
        ['POST', '/app.git/git-upload-pack'],
      ],
    );
  });

  it('still checks the remote certificate inside the tunnel', async () => {
    const err = await remoteError(lsRemote(git.url('app'), {}, { proxy: good() }));
    assert.equal(err.reason, 'Unreachable');
    assert.match(err.message, /TLS certificate not trusted/);
  });

  it('turns a 407 to CONNECT into AuthenticationFailed', async () => {
    const err = await remoteError(lsRemote(git.url('app'), { caCert: git.ca!.cert }, { proxy: { ...good(), password: 'nope' } }));
    assert.equal(err.reason, 'AuthenticationFailed');
    assert.match(err.message, /proxy 127\.0\.0\.1:\d+ rejected the credentials \(HTTP 407/);
    assert.doesNotMatch(err.message, /nope/);
  });

  it('reports a tunnel the proxy cannot open as Unreachable', async () => {
    const closed = await freePort();
    const err = await remoteError(lsRemote(`https://127.0.0.1:${closed}/public/app.git`, {}, { proxy: good() }));
    assert.equal(err.reason, 'Unreachable');
    assert.match(err.message, /refused the tunnel \(HTTP 502/);
  });
});
