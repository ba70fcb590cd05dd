// The test Git server itself, driven by the real git CLI: every area, auth failures, the request log,
// gzip request bodies, HTTPS with its own CA, gpg signatures, the hostile and large-file helpers.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitServer } from './git-server.js';

const withCreds = (url: string, user: string, pass: string) => url.replace('://', `://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`);

describe('git test server (http)', () => {
  let s: GitServer;
  let first: string;
  before(async () => {
    s = await GitServer.start({ username: 'alice', password: 's3cret', bearerToken: 'tok-123' });
    first = await s.createRepo('app', { files: { 'README.md': 'hello\n', 'bin/run.sh': '#!/bin/sh\n' } });
  });
  after(() => s.stop());

  it('serves clones in the public area', async () => {
    await s.run('git', ['clone', '--quiet', s.url('app'), 'c-public']);
    assert.equal(await s.git(['rev-parse', 'HEAD'], { cwd: join(s.dir, 'c-public') }), first);
  });

  it('asks for Basic credentials and accepts only the right ones', async () => {
    await s.run('git', ['clone', '--quiet', withCreds(s.url('app', 'basic'), 'alice', 's3cret'), 'c-basic']);
    assert.equal(await s.git(['rev-parse', 'HEAD'], { cwd: join(s.dir, 'c-basic') }), first);

    s.resetRequests();
    const bad = await s.run('git', ['clone', withCreds(s.url('app', 'basic'), 'alice', 'wrong'), 'c-bad'], { allowFail: true });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Authentication failed/);
    assert.ok(s.requests.length > 0 && s.requests.every((r) => r.status === 401));

    const res = await new Promise<http.IncomingMessage>((r) => http.get(`${s.url('app', 'basic')}/info/refs?service=git-upload-pack`, r));
    res.resume();
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['www-authenticate']), /^Basic /);
  });

  it('accepts the bearer token in the bearer area and refuses anything else', async () => {
    await s.run('git', ['-c', 'http.extraHeader=Authorization: Bearer tok-123', 'clone', '--quiet', s.url('app', 'bearer'), 'c-bearer']);
    assert.equal(await s.git(['rev-parse', 'HEAD'], { cwd: join(s.dir, 'c-bearer') }), first);
    const bad = await s.run('git', ['-c', 'http.extraHeader=Authorization: Bearer nope', 'ls-remote', s.url('app', 'bearer')], { allowFail: true });
    assert.notEqual(bad.code, 0);
  });

  it('logs requests: a v0 ls-remote is one GET of info/refs, v2 adds an ls-refs POST', async () => {
    s.resetRequests();
    await s.run('git', ['-c', 'protocol.version=0', 'ls-remote', s.url('app')]);
    assert.equal(s.requests.length, 1);
    const [r] = s.requests;
    assert.deepEqual([r.method, r.area, r.path, r.query, r.status], ['GET', 'public', '/app.git/info/refs', 'service=git-upload-pack', 200]);
    assert.ok(r.bytesOut > 0 && r.bytesOut < 2000);

    s.resetRequests();
    await s.run('git', ['-c', 'protocol.version=2', 'ls-remote', s.url('app')]);
    assert.deepEqual(
      s.requests.map((x) => [x.method, x.path, x.gitProtocol]),
      [
        ['GET', '/app.git/info/refs', 'version=2'],
        ['POST', '/app.git/git-upload-pack', 'version=2'],
      ],
    );
  });

  it('passes gzip-encoded request bodies to the backend', async () => {
    await s.createRepo('many');
    // Enough distinct wants that git compresses its upload-pack request (it does so above 1 KiB).
    for (let i = 0; i < 40; i++) await s.commit('many', { [`f${i}`]: String(i) }, { branch: `b${i}` });
    s.resetRequests();
    await s.run('git', ['-c', 'protocol.version=0', 'clone', '--quiet', '--mirror', s.url('many'), 'c-many']);
    const posts = s.requests.filter((r) => r.method === 'POST');
    assert.ok(posts.some((r) => r.contentEncoding === 'gzip' && r.status === 200), JSON.stringify(posts));
    assert.equal(await s.git(['rev-parse', 'b39'], { cwd: join(s.dir, 'c-many') }), await s.rev('many', 'b39'));
  });

  it('accepts pushes from authenticated clients', async () => {
    const dir = join(s.dir, 'c-basic');
    await writeFile(join(dir, 'pushed.txt'), 'pushed\n');
    await s.git(['add', 'pushed.txt'], { cwd: dir });
    await s.git(['commit', '--quiet', '-m', 'push'], { cwd: dir });
    await s.git(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: dir });
    assert.equal(await s.rev('app', 'main'), await s.git(['rev-parse', 'HEAD'], { cwd: dir }));
  });

  it('commits executables, removals, symlinks and submodule links; moves the default branch', async () => {
    const sha = await s.commit('app', { 'tool.sh': 'echo\n' }, { executable: ['tool.sh'], remove: ['README.md'], symlinks: { l: 'tool.sh' }, submodules: { sub: first } });
    const tree = await s.git(['ls-tree', sha], { repo: 'app' });
    assert.match(tree, /^100755 blob \w+\ttool\.sh$/m);
    assert.match(tree, /^120000 blob \w+\tl$/m);
    assert.match(tree, new RegExp(`^160000 commit ${first}\\tsub$`, 'm'));
    assert.doesNotMatch(tree, /README\.md/);

    const dev = await s.commit('app', { 'dev.txt': 'dev\n' }, { branch: 'dev' });
    await s.setDefaultBranch('app', 'dev');
    const out = (await s.run('git', ['ls-remote', '--symref', s.url('app'), 'HEAD'])).stdout.toString();
    assert.match(out, /^ref: refs\/heads\/dev\tHEAD$/m);
    assert.match(out, new RegExp(`^${dev}\\tHEAD$`, 'm'));
    await s.setDefaultBranch('app', 'main');
  });

  it('signs commits and tags with gpg so that git verifies them', async () => {
    const key = await s.signingKey();
    assert.match(key.fingerprint, /^[0-9a-f]{40}$/);
    const signed = await s.commit('app', { 'signed.txt': 'x\n' }, { sign: true });
    const v = await s.run('git', ['--git-dir', s.gitDir('app'), 'verify-commit', '--raw', signed], { allowFail: true });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stderr, new RegExp(`VALIDSIG ${key.fingerprint.toUpperCase()}`));

    const unsigned = await s.commit('app', { 'unsigned.txt': 'x\n' });
    assert.notEqual((await s.run('git', ['--git-dir', s.gitDir('app'), 'verify-commit', unsigned], { allowFail: true })).code, 0);

    const tagObj = await s.tag('app', 'v1.0.0', { sign: true });
    assert.equal(await s.git(['cat-file', '-t', tagObj], { repo: 'app' }), 'tag');
    assert.equal((await s.run('git', ['--git-dir', s.gitDir('app'), 'verify-tag', 'v1.0.0'], { allowFail: true })).code, 0);
    assert.equal(await s.git(['cat-file', '-t', await s.tag('app', 'light')], { repo: 'app' }), 'commit');
    assert.equal(await s.git(['cat-file', '-t', await s.tag('app', 'v0.9.0', { annotated: true })], { repo: 'app' }), 'tag');
  });

  it('builds hostile trees that git still serves', async () => {
    const h = await s.hostileRepo('evil');
    assert.match(await s.git(['ls-tree', '-r', h.symlink], { repo: 'evil' }), /^120000 blob \w+\tlink$/m);
    assert.equal(await s.git(['cat-file', '-p', `${h.symlink}:link`], { repo: 'evil' }), '../../../etc/passwd');
    assert.match(await s.git(['ls-tree', '-r', h.dotdot], { repo: 'evil' }), /\t\.\.\/escaped\.txt$/m);
    assert.match(await s.git(['ls-tree', h.dotgit], { repo: 'evil' }), /\t\.git$/m);
    assert.match(await s.git(['ls-tree', h.slash], { repo: 'evil' }), /\ta\/\.\.\/\.\.\/b$/m);
    // The CLI fetches it fine and refuses only at checkout.
    const r = await s.run('git', ['clone', '--branch', 'dotdot', s.url('evil'), 'c-evil'], { allowFail: true });
    assert.match(r.stderr, /invalid path '\.\.\/escaped\.txt'/);
  });

  it('adds a large file of the requested size', async () => {
    await s.createRepo('big');
    const sha = await s.addLargeFile('big', 'blob.bin', 3 * 1024 * 1024 + 5);
    assert.equal(await s.git(['cat-file', '-s', `${sha}:blob.bin`], { repo: 'big' }), String(3 * 1024 * 1024 + 5));
  });
});

describe('git test server (https)', () => {
  let s: GitServer;
  before(async () => {
    s = await GitServer.start({ https: true });
    await s.createRepo('app');
  });
  after(() => s.stop());

  it('serves over TLS with a certificate from its own CA', async () => {
    const ca = join(s.dir, 'ca.crt');
    await writeFile(ca, s.ca!.cert);
    assert.match(s.url('app'), /^https:/);
    const ok = await s.run('git', ['-c', `http.sslCAInfo=${ca}`, 'ls-remote', s.url('app'), 'refs/heads/main']);
    assert.match(ok.stdout.toString(), new RegExp(`^${await s.rev('app')}\\trefs/heads/main`));
    const bad = await s.run('git', ['ls-remote', s.url('app')], { allowFail: true, env: { GIT_SSL_CAINFO: '/dev/null' } });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /certificate|SSL/i);
  });
});
