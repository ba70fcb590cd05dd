// fetchCommit + treeEntries against the real git http-backend: shallow, exact and incremental
// fetches, the tree read from Git objects compared with `git ls-tree`, sparse checkout, symlinks and
// submodules, hostile trees, big blobs, commit refs.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnsafePathError, type ArchiveEntry } from '../../src/artifacts/types.js';
import { fetchCommit, treeEntries } from '../../src/sources/git/fetch.js';
import { lsRemote, resolveRef } from '../../src/sources/git/remote.js';
import { GitRemoteError, type GitRef, type ResolvedRef } from '../../src/sources/git/types.js';
import { GitServer } from '../helpers/git-server.js';

interface Collected {
  path: string;
  type: string;
  executable?: boolean;
  size?: number;
  oid?: string;
  streamed?: boolean;
}

/** Reads every entry as an archiver would: one at a time, content right after the header. */
async function collect(listing: AsyncIterable<ArchiveEntry>): Promise<Collected[]> {
  const out: Collected[] = [];
  for await (const e of listing) {
    if (e.type === 'directory') {
      out.push({ path: e.path, type: 'directory' });
      continue;
    }
    const content = await e.read!();
    const hash = createHash('sha1').update(`blob ${e.size}\0`);
    let n = 0;
    if (content instanceof Uint8Array) {
      hash.update(content);
      n = content.byteLength;
    } else {
      for await (const c of content as AsyncIterable<Buffer>) {
        hash.update(c);
        n += c.length;
      }
    }
    assert.equal(n, e.size, `${e.path}: size announced before reading`);
    out.push({ path: e.path, type: 'file', executable: e.executable, size: e.size, oid: hash.digest('hex'), streamed: !(content instanceof Uint8Array) });
  }
  return out;
}

describe('fetchCommit and treeEntries', () => {
  let s: GitServer;
  let work: string;
  let n = 0;
  const cache = () => join(work, `cache-${++n}`);
  const resolve = async (repo: string, ref?: GitRef, area: 'public' | 'basic' = 'public') =>
    resolveRef(await lsRemote(s.url(repo, area), area === 'basic' ? { username: s.username, password: s.password } : {}), ref);

  before(async () => {
    s = await GitServer.start();
    work = await mkdtemp(join(tmpdir(), 'git-fetch-test-'));
  });
  after(async () => {
    await s.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('fetches one commit shallowly, then nothing while it is cached', async () => {
    const first = await s.createRepo('inc', { files: { 'a.txt': 'a\n' } });
    await s.commit('inc', { 'b.txt': 'b\n' });
    const dir = cache();
    let r = await resolve('inc');
    s.resetRequests();
    await fetchCommit(s.url('inc'), r, {}, dir);
    assert.deepEqual(
      s.requests.map((x) => [x.method, x.path]),
      [
        ['GET', '/inc.git/info/refs'],
        ['POST', '/inc.git/git-upload-pack'],
      ],
    );
    // depth 1: the parent commit is not there.
    await assert.rejects(collect(treeEntries(dir, first)), /not in the Git cache/);

    s.resetRequests();
    await fetchCommit(s.url('inc'), r, {}, dir);
    assert.equal(s.requests.length, 0, 'a cached commit costs no request');

    // A new commit replaces the cached one.
    const third = await s.commit('inc', { 'c.txt': 'c\n' });
    const previous = r.commit;
    r = await resolve('inc');
    assert.equal(r.commit, third);
    await fetchCommit(s.url('inc'), r, {}, dir);
    assert.deepEqual(
      (await collect(treeEntries(dir, third))).map((e) => e.path),
      ['a.txt', 'b.txt', 'c.txt'],
    );
    await assert.rejects(collect(treeEntries(dir, previous)), /not in the Git cache/);
  });

  it('lists exactly what git ls-tree lists, with the same modes, sizes and contents', async () => {
    const c = await s.createRepo('tree', {
      files: { 'README.md': '# tree\n', 'a.txt': 'a', 'a-b/x': 'x', 'a/b/c.txt': 'deep\n', 'a0': '0', 'bin/run.sh': '#!/bin/sh\necho hi\n', 'empty': '' },
    });
    const head = await s.commit('tree', { 'bin/tool': 'tool\n', 'a/b/c.txt': 'deeper\n' }, { executable: ['bin/tool'], symlinks: { 'link.txt': 'a.txt' }, submodules: { 'vendor/lib': c } });
    const dir = cache();
    const r = await resolve('tree');
    assert.equal(r.commit, head);
    await fetchCommit(s.url('tree'), r, {}, dir);
    const listing = treeEntries(dir, r.commit);
    const got = await collect(listing);

    const lsTree = (await s.git(['ls-tree', '-r', '-t', '-l', head], { repo: 'tree' })).split('\n');
    const expected: Collected[] = [];
    const skipped: { path: string; type: string; target: string }[] = [];
    for (const line of lsTree) {
      const [meta, path] = line.split('\t');
      const [mode, type, oid, size] = meta.split(/ +/);
      if (type === 'tree') expected.push({ path, type: 'directory' });
      else if (mode === '120000') skipped.push({ path, type: 'symlink', target: await s.git(['cat-file', 'blob', oid], { repo: 'tree' }) });
      else if (type === 'commit') skipped.push({ path, type: 'submodule', target: oid });
      else expected.push({ path, type: 'file', executable: mode === '100755', size: Number(size), oid, streamed: false });
    }
    assert.deepEqual(got, expected);
    assert.deepEqual(listing.skipped, skipped);
    assert.deepEqual(
      listing.skipped.map((x) => x.type),
      ['symlink', 'submodule'],
    );
  });

  it('fetches and lists with Basic credentials', async () => {
    await s.createRepo('private', { files: { 'secret.txt': 'classified\n' } });
    const dir = cache();
    const auth = { username: s.username, password: s.password };
    const r = await resolve('private', undefined, 'basic');
    await fetchCommit(s.url('private', 'basic'), r, auth, dir);
    assert.deepEqual(
      (await collect(treeEntries(dir, r.commit))).map((e) => e.path),
      ['secret.txt'],
    );
    const e = await fetchCommit(s.url('private', 'basic'), r, { username: s.username, password: 'nope' }, cache()).catch((x) => x);
    assert.ok(e instanceof GitRemoteError && e.reason === 'AuthenticationFailed', String(e));
  });

  it('keeps only the sparse directories (and the directories leading to them)', async () => {
    await s.createRepo('sparse', { files: { 'root.txt': 'r', 'apps/prod/app.yaml': 'p', 'apps/prod/sub/x.yaml': 'x', 'apps/dev/app.yaml': 'd', 'infra/base.yaml': 'b', 'apps/prod.txt': 't' } });
    const dir = cache();
    const r = await resolve('sparse');
    await fetchCommit(s.url('sparse'), r, {}, dir);
    const paths = async (sparse: string[]) => (await collect(treeEntries(dir, r.commit, { sparse }))).map((e) => e.path);
    assert.deepEqual(await paths(['apps/prod']), ['apps', 'apps/prod', 'apps/prod/app.yaml', 'apps/prod/sub', 'apps/prod/sub/x.yaml']);
    assert.deepEqual(await paths(['./infra/', 'apps/dev']), ['apps', 'apps/dev', 'apps/dev/app.yaml', 'infra', 'infra/base.yaml']);
    assert.equal((await paths([])).length, 11);
    await assert.rejects(paths(['apps/staging']), /sparse checkout directory 'apps\/staging' does not exist/);
    await assert.rejects(paths(['root.txt']), /does not exist/);
  });

  it('skips symlinks pointing out of the tree and refuses unsafe names', async () => {
    const h = await s.hostileRepo('evil');
    const dir = cache();
    const refs = await lsRemote(s.url('evil'));
    const listing = async (branch: string) => {
      const r = resolveRef(refs, { branch });
      assert.equal(r.commit, h[branch as keyof typeof h]);
      await fetchCommit(s.url('evil'), r, {}, dir);
      const l = treeEntries(dir, r.commit);
      return { l, entries: await collect(l) };
    };
    const { l, entries } = await listing('symlink');
    assert.deepEqual(
      entries.map((e) => e.path),
      ['README.md', 'app', 'app/config.yaml'],
    );
    assert.deepEqual(l.skipped, [
      { path: 'app/up', type: 'symlink', target: '../..' },
      { path: 'link', type: 'symlink', target: '../../../etc/passwd' },
    ]);
    for (const [branch, path] of [
      ['dotdot', '..'],
      ['dotgit', '.git'],
      ['slash', 'a/../../b'],
    ]) {
      await assert.rejects(listing(branch), (e: unknown) => e instanceof UnsafePathError && e.path === path, branch);
    }
  });

  it('knows a big blob’s size before reading it and streams its content', async () => {
    await s.createRepo('big');
    const size = 12 * 1024 * 1024 + 3;
    const head = await s.addLargeFile('big', 'blob.bin', size);
    const dir = cache();
    const r = await resolve('big');
    await fetchCommit(s.url('big'), r, {}, dir);
    const [readme, blob] = await collect(treeEntries(dir, r.commit));
    assert.equal(readme.path, 'README.md');
    assert.equal(blob.size, size);
    assert.equal(blob.streamed, true);
    assert.equal(blob.oid, await s.git(['rev-parse', `${head}:blob.bin`], { repo: 'big' }));
  });

  it('fetches a commit ref that is no branch tip, and says so when the commit is not on the remote', async () => {
    const old = await s.createRepo('history', { files: { 'v.txt': '1\n' } });
    await s.commit('history', { 'v.txt': '2\n' });
    const refs = await lsRemote(s.url('history'));
    const dir = cache();
    const r = resolveRef(refs, { commit: old, branch: 'main' });
    await fetchCommit(s.url('history'), r, {}, dir);
    const [v] = await collect(treeEntries(dir, old));
    assert.equal(v.oid, await s.git(['rev-parse', `${old}:v.txt`], { repo: 'history' }));

    // An object the server has but no ref reaches: refused by SHA, then not found in a full fetch.
    const dangling = await s.git(['commit-tree', '-m', 'dangling', `${old}^{tree}`], { repo: 'history' });
    s.resetRequests();
    const e = await fetchCommit(s.url('history'), resolveRef(refs, { commit: dangling }), {}, cache()).catch((x) => x);
    assert.ok(e instanceof GitRemoteError && e.reason === 'RefNotFound', String(e));
    assert.equal(s.requests.filter((x) => x.method === 'POST').length, 2, 'shallow by SHA, then the full fetch');
  });

  it('brings the annotated tag object along with its commit', async () => {
    await s.createRepo('tagged');
    const tagObj = await s.tag('tagged', 'v1.0.0', { annotated: true });
    const dir = cache();
    const r: ResolvedRef = await resolve('tagged', { tag: 'v1.0.0' });
    assert.equal(r.tagObject, tagObj);
    await fetchCommit(s.url('tagged'), r, {}, dir);
    s.resetRequests();
    await fetchCommit(s.url('tagged'), r, {}, dir);
    assert.equal(s.requests.length, 0);
    // Listed first, read later (after the walk closed its pack descriptors): still readable.
    const listed: ArchiveEntry[] = [];
    for await (const e of treeEntries(dir, r.commit)) listed.push(e);
    assert.deepEqual(
      listed.map((e) => [e.path, e.size]),
      [['README.md', 9]],
    );
    assert.equal(Buffer.from((await listed[0].read!()) as Uint8Array).toString(), '# tagged\n');
  });
});
