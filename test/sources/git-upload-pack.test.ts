// fetchCommit's upload-pack client against the real git http-backend: what it stores is a pack git
// itself accepts (verify-pack, fsck, cat-file), depth 1, annotated tags, HTTPS with a private CA and
// a bearer token, the fetch limits stopping the download. Faults the real backend cannot produce
// (a server that refuses unadvertised commits, a band-3 error, a truncated or altered response) come
// from a small fault server in front of it, which forwards the real exchange and refuses anything else.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchCommit, treeEntries } from '../../src/sources/git/fetch.js';
import { FetchLimitError } from '../../src/sources/git/limits.js';
import { pktLine } from '../../src/sources/git/pkt-line.js';
import { lsRemote, resolveRef } from '../../src/sources/git/remote.js';
import { GitRemoteError, type GitAuth, type ResolvedRef } from '../../src/sources/git/types.js';
import { GitServer } from '../helpers/git-server.js';

let work: string;
let n = 0;
const cache = () => join(work, `cache-${++n}`);
before(async () => (work = await mkdtemp(join(tmpdir(), 'git-upload-pack-test-'))));
after(() => rm(work, { recursive: true, force: true }));

async function paths(dir: string, commit: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of treeEntries(dir, commit)) out.push(e.path);
  return out;
}

describe('upload-pack client against git http-backend', () => {
  let s: GitServer;
  before(async () => {
    s = await GitServer.start({ bearerToken: 'tok-abc' });
  });
  after(() => s.stop());

  const resolve = async (repo: string, ref = {}, auth: GitAuth = {}, area: 'public' | 'bearer' = 'public') => resolveRef(await lsRemote(s.url(repo, area), auth), ref);

  it('stores a depth-1 pack that git verify-pack, fsck and cat-file accept, holding exactly the commit and its tree', async () => {
    await s.createRepo('app', { files: { 'README.md': '# app\n', 'deploy/a.yaml': 'a: 1\n', 'deploy/b.yaml': 'b: 2\n' } });
    await s.commit('app', { 'deploy/a.yaml': 'a: 2\n', 'bin/run': '#!/bin/sh\n' }, { executable: ['bin/run'] });
    const r = await resolve('app');
    const dir = cache();
    await fetchCommit(s.url('app'), r, {}, dir);
    const [pack] = (await readdir(join(dir, 'objects', 'pack'))).filter((f) => f.endsWith('.idx'));
    assert.match(pack, /^pack-[0-9a-f]{40}\.idx$/);
    const verify = await s.run('git', ['verify-pack', '-v', join(dir, 'objects', 'pack', pack)]);
    assert.match(verify.stdout.toString(), /: ok\n$/);
    const fsck = await s.run('git', ['--git-dir', dir, 'fsck', '--full', '--strict', '--no-dangling'], { allowFail: true });
    assert.equal(fsck.code, 0, fsck.stderr);
    const held = (await s.run('git', ['--git-dir', dir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)'])).stdout.toString().trim().split('\n').sort();
    const expected = [`${r.commit} commit ${await s.git(['cat-file', '-s', r.commit], { repo: 'app' })}`];
    for (const line of (await s.git(['ls-tree', '-r', '-t', '-l', r.commit], { repo: 'app' })).split('\n')) {
      const [, type, oid, size] = line.split('\t')[0].split(/ +/);
      expected.push(`${oid} ${type} ${type === 'tree' ? await s.git(['cat-file', '-s', oid], { repo: 'app' }) : size}`);
    }
    expected.push(`${await s.git(['rev-parse', `${r.commit}^{tree}`], { repo: 'app' })} tree ${await s.git(['cat-file', '-s', `${r.commit}^{tree}`], { repo: 'app' })}`);
    assert.deepEqual(held, expected.sort());
  });

  it('brings an annotated tag as a tag object with its commit, over a bearer token', async () => {
    await s.createRepo('tagged', { files: { 'v.txt': '1\n' } });
    await s.commit('tagged', { 'v.txt': '2\n' });
    const tagObj = await s.tag('tagged', 'v2.0.0', { annotated: true });
    const auth = { bearerToken: 'tok-abc' };
    const r: ResolvedRef = await resolve('tagged', { tag: 'v2.0.0' }, auth, 'bearer');
    assert.equal(r.tagObject, tagObj);
    const dir = cache();
    await fetchCommit(s.url('tagged', 'bearer'), r, auth, dir);
    assert.equal((await s.run('git', ['--git-dir', dir, 'cat-file', '-t', tagObj])).stdout.toString().trim(), 'tag');
    assert.deepEqual(await paths(dir, r.commit), ['v.txt']);
    const parent = await s.git(['rev-parse', `${r.commit}^`], { repo: 'tagged' });
    const has = await s.run('git', ['--git-dir', dir, 'cat-file', '-e', parent], { allowFail: true });
    assert.notEqual(has.code, 0, 'depth 1: the parent commit is not fetched');
    const e = await fetchCommit(s.url('tagged', 'bearer'), r, { bearerToken: 'wrong' }, cache()).catch((x) => x);
    assert.ok(e instanceof GitRemoteError && e.reason === 'AuthenticationFailed', String(e));
  });

  it('stops the download when the files add up past the limit, and keeps nothing', async () => {
    await s.createRepo('heavy');
    for (const f of ['a.bin', 'b.bin', 'c.bin']) await s.addLargeFile('heavy', f, 8 << 20);
    const r = await resolve('heavy');
    const dir = cache();
    s.resetRequests();
    const e = await fetchCommit(s.url('heavy'), r, {}, dir, { limits: { maxFileSize: 16 << 20, maxTotalSize: 10 << 20 } }).catch((x) => x);
    assert.ok(e instanceof FetchLimitError, String(e));
    assert.equal(e.kind, 'total');
    assert.match(e.message, /add up to more than 16 MiB inflated, over the limit of 10 MiB \(--max-artifact-size\)/);
    await new Promise((r) => setTimeout(r, 200));
    const post = s.requests.find((q) => q.method === 'POST')!;
    assert.ok(post.bytesOut < 16 << 20, `the server sent ${post.bytesOut} bytes of a 24 MiB pack`);
    assert.equal(existsSync(dir), false, 'the failed fetch leaves no cache behind');
  });

  it('reads the ref advertisement only up to its bound', async () => {
    await s.createRepo('refs');
    for (let i = 0; i < 40; i++) await s.git(['update-ref', `refs/heads/branch-${i}`, 'HEAD'], { repo: 'refs' });
    assert.equal((await lsRemote(s.url('refs'), {}, { maxAdvertisementBytes: 1 << 20 })).refs.size, 42);
    const e = await lsRemote(s.url('refs'), {}, { maxAdvertisementBytes: 1000 }).catch((x) => x);
    assert.ok(e instanceof FetchLimitError && e.kind === 'refs', String(e));
    assert.equal(e.message, "the remote's ref advertisement is larger than the limit of 1000 bytes");
  });

  it('names the path of a blob over the file limit', async () => {
    await s.createRepo('onebig', { files: { 'README.md': 'x\n', 'sub/small.txt': 's\n' } });
    await s.addLargeFile('onebig', 'sub/dir/big.bin', 3 << 20);
    const e = await fetchCommit(s.url('onebig'), await resolve('onebig'), {}, cache(), { limits: { maxFileSize: 1 << 20, maxTotalSize: 100 << 20 } }).catch((x) => x);
    assert.ok(e instanceof FetchLimitError, String(e));
    assert.deepEqual([e.kind, e.size, e.limit, e.path], ['file', 3 << 20, 1 << 20, 'sub/dir/big.bin']);
    assert.equal(e.message, 'the repository holds a file of 3 MiB (sub/dir/big.bin), over the limit of 1 MiB (--max-file-size)');
  });
});

describe('upload-pack HTTPS with a private CA', () => {
  let s: GitServer;
  before(async () => {
    s = await GitServer.start({ https: true });
    await s.createRepo('secure', { files: { 'a.txt': 'a\n' } });
  });
  after(() => s.stop());

  it('fetches with ca.crt and explains the failure without it', async () => {
    const auth = { caCert: s.ca!.cert };
    const r = resolveRef(await lsRemote(s.url('secure'), auth));
    const dir = cache();
    await fetchCommit(s.url('secure'), r, auth, dir);
    assert.deepEqual(await paths(dir, r.commit), ['a.txt']);
    const e = await fetchCommit(s.url('secure'), r, {}, cache()).catch((x) => x);
    assert.ok(e instanceof GitRemoteError && /TLS certificate not trusted/.test(e.message), String(e));
  });
});

type Fault = 'refuse-unadvertised' | 'band3' | 'truncate' | 'alter';

/**
 * In front of a GitServer: GET info/refs and POST git-upload-pack are forwarded, with `fault`
 * applied to the POST; every other request is refused with 501.
 */
class FaultServer {
  fault: Fault = 'band3';
  posts = 0;
  private constructor(
    private readonly server: http.Server,
    readonly upstream: GitServer,
  ) {}

  static async start(upstream: GitServer): Promise<FaultServer> {
    let self!: FaultServer;
    const server = http.createServer((req, res) => void self.handle(req, res));
    self = new FaultServer(server, upstream);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return self;
  }

  url(repo: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/public/${repo}.git`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const isRefs = req.method === 'GET' && /\/info\/refs\?service=git-upload-pack$/.test(req.url ?? '');
    const isPack = req.method === 'POST' && /\/git-upload-pack$/.test(req.url ?? '');
    if (!isRefs && !isPack) return void res.writeHead(501).end('not implemented by the fault server\n');
    const upstream = await this.forward(req, body);
    if (isRefs) {
      res.writeHead(upstream.status, upstream.headers);
      return void res.end(upstream.body);
    }
    this.posts++;
    const result = { 'content-type': 'application/x-git-upload-pack-result' };
    const want = /^....want ([0-9a-f]{40})/.exec(body.toString('latin1'))![1];
    if (this.fault === 'refuse-unadvertised') {
      const advertised = (await this.upstream.git(['for-each-ref', '--format=%(objectname)'], { repo: repoOf(req.url!) })).split('\n');
      if (!advertised.includes(want)) return void res.writeHead(200, result).end(pktLine(`ERR upload-pack: not our ref ${want}`));
      res.writeHead(upstream.status, upstream.headers);
      return void res.end(upstream.body);
    }
    if (this.fault === 'band3') {
      const band3 = Buffer.concat([Buffer.from('\x03'), Buffer.from('fatal: the object store is on fire\n')]);
      const framed = Buffer.concat([Buffer.from((band3.length + 4).toString(16).padStart(4, '0')), band3]);
      return void res.writeHead(200, result).end(Buffer.concat([pktLine(`shallow ${want}\n`), Buffer.from('0000'), pktLine('NAK\n'), framed]));
    }
    const b = Buffer.from(upstream.body);
    res.writeHead(upstream.status, upstream.headers);
    if (this.fault === 'truncate') return void res.end(b.subarray(0, Math.floor(b.length * 0.6)));
    // 'alter': one bit inside the pack data, away from the pkt-line framing at the start of each 64 KiB packet.
    b[b.length - 20_000] ^= 0x10;
    res.end(b);
  }

  private forward(req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const target = new URL(req.url!, this.upstream.baseUrl);
    return new Promise((resolve, reject) => {
      const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
        const parts: Buffer[] = [];
        r.on('data', (c) => parts.push(c));
        r.on('end', () => {
          const headers = { ...r.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          resolve({ status: r.statusCode ?? 0, headers, body: Buffer.concat(parts) });
        });
      });
      up.on('error', reject);
      up.end(body);
    });
  }
}

const repoOf = (url: string) => /^\/public\/([^/]+)\.git\//.exec(url)![1];

describe('upload-pack faults the real backend cannot produce', () => {
  let s: GitServer;
  let f: FaultServer;
  let old: string;
  before(async () => {
    s = await GitServer.start();
    old = await s.createRepo('hist', { files: { 'v.txt': '1\n' } });
    await s.addLargeFile('hist', 'data.bin', 300_000);
    f = await FaultServer.start(s);
  });
  after(async () => {
    await f.stop();
    await s.stop();
  });

  it('refuses what it does not implement', async () => {
    const res = await fetch(f.url('hist').replace(/\.git$/, '.git/info/refs?service=git-receive-pack'));
    assert.equal(res.status, 501);
  });

  it('a server that refuses an unadvertised commit gets the full fetch of its branch', async () => {
    f.fault = 'refuse-unadvertised';
    f.posts = 0;
    const r = resolveRef(await lsRemote(f.url('hist')), { branch: 'main', commit: old });
    const dir = cache();
    await fetchCommit(f.url('hist'), r, {}, dir);
    assert.equal(f.posts, 2, 'the commit by SHA, refused; then the branch');
    assert.deepEqual(await paths(dir, old), ['v.txt']);
  });

  it('a band-3 error fails the fetch with the server’s message', async () => {
    f.fault = 'band3';
    const r = resolveRef(await lsRemote(f.url('hist')));
    const e = await fetchCommit(f.url('hist'), r, {}, cache()).catch((x) => x);
    assert.ok(e instanceof GitRemoteError, String(e));
    assert.equal(e.message, 'the remote reported an error: fatal: the object store is on fire');
  });

  it('a truncated or altered response fails the fetch and keeps nothing', async () => {
    const r = resolveRef(await lsRemote(f.url('hist')));
    for (const [fault, re] of [
      ['truncate', /ended|ends early/],
      ['alter', /corrupt pack/],
    ] as const) {
      f.fault = fault;
      const dir = cache();
      const e = await fetchCommit(f.url('hist'), r, {}, dir).catch((x) => x);
      assert.ok(e instanceof GitRemoteError && re.test(e.message), `${fault}: ${e}`);
      assert.equal(existsSync(dir), false);
    }
  });
});
