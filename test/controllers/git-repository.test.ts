// GitRepository end to end: the real server, the real kubectl, and a real git http-backend.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitServer } from '../helpers/git-server.js';
import type { TestServer } from '../helpers/server.js';
import { cond, filesOf, readyFalse, readyTrue, sha256, SourceServer } from '../helpers/sources.js';

let git: GitServer;
let src: SourceServer;
let s: TestServer;
const MAX = 50 * 1024 * 1024;

before(async () => {
  git = await GitServer.start({ username: 'alice', password: 'correct-horse', bearerToken: 'tok-123' });
  src = await SourceServer.start(['--max-artifact-size', String(MAX), '--concurrent', '4']);
  s = src.s;
});
after(async () => {
  await src?.cleanup();
  await git?.stop();
});

const secret = (name: string, data: Record<string, string>) => src.secret(name, data);
const apply = (name: string, spec: Record<string, unknown>) => src.apply(name, spec);
const get = (name: string) => src.get(name);
const until = (name: string, test: (o: any) => boolean, ms?: number) => src.until(name, test, ms);
const artifactBytes = (name: string) => src.artifactBytes(name);

describe('GitRepository', () => {
  let head: string;

  before(async () => {
    await git.createRepo('app', { defaultBranch: 'main', files: { 'deploy/app.yaml': 'kind: ConfigMap\n', 'README.md': '# app\n', 'logo.png': 'png' } });
    head = await git.rev('app', 'main');
  });

  it('becomes Ready with the default branch revision, and kubectl get --raw downloads the exact artifact', async () => {
    await apply('app', { url: git.url('app') });
    const o = await until('app', readyTrue);
    assert.equal(o.status.artifact.revision, `main@sha1:${head}`);
    assert.match(cond(o, 'Ready').message, /stored artifact for revision 'main@sha1:/);
    assert.equal(cond(o, 'ArtifactInStorage').status, 'True');
    assert.match(await s.k(['get', 'gitrepo', 'app']), /app\s+http:\/\/127.0.0.1:\d+\/public\/app.git\s+\S+\s+True\s+stored artifact/);
    const bytes = await artifactBytes('app');
    assert.equal(sha256(bytes), o.status.artifact.digest);
    assert.equal(bytes.length, o.status.artifact.size);
    const files = await filesOf(bytes);
    assert.deepEqual(Object.keys(files).sort(), ['README.md', 'deploy/app.yaml'], 'logo.png is excluded by the default ignore rules');
    const w = await s.kubectl(['wait', '--for=condition=Ready', 'gitrepository/app', '--timeout=5s']);
    assert.equal(w.code, 0, w.stderr);
  });

  it('serves the artifact with ETag, 304 and Range', async () => {
    const o = await get('app');
    const path = `/apis/gitops.toolkit/v1/namespaces/default/gitrepositories/app/artifact`;
    const full = await s.request('GET', path);
    assert.equal(full.status, 200);
    assert.equal(full.headers['content-type'], 'application/gzip');
    assert.equal(full.headers.etag, `"${o.status.artifact.digest}"`);
    const notModified = await s.request('GET', path, { headers: { 'If-None-Match': `"${o.status.artifact.digest}"` } });
    assert.equal(notModified.status, 304);
    const part = await s.request('GET', path, { headers: { Range: 'bytes=0-9' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 0-9/${o.status.artifact.size}`);
    assert.equal(part.headers['content-length'], '10');
  });

  it('a no-change poll asks the remote for its refs once and fetches nothing', async () => {
    const before = await get('app');
    git.resetRequests();
    await s.k(['annotate', '--overwrite', 'gitrepository', 'app', `gitops.toolkit/requestedAt=${Date.now()}`]);
    const o = await until('app', (x) => x.status.lastHandledReconcileAt === x.metadata.annotations['gitops.toolkit/requestedAt']);
    const mine = git.requests.filter((r) => r.path.startsWith('/app.git'));
    assert.deepEqual(mine.map((r) => `${r.method} ${r.path}`), ['GET /app.git/info/refs']);
    assert.equal(o.status.artifact.digest, before.status.artifact.digest);
    assert.equal(o.status.artifact.lastUpdateTime, before.status.artifact.lastUpdateTime);
  });

  it('a push produces a new artifact; old ones are garbage-collected down to two', async () => {
    await apply('app', { url: git.url('app'), interval: '1s' });
    const digests = new Set<string>([(await get('app')).status.artifact.digest]);
    for (let i = 1; i <= 3; i++) {
      const sha = await git.commit('app', { [`deploy/extra-${i}.yaml`]: `n: ${i}\n` });
      const o = await until('app', (x) => x.status?.artifact?.revision === `main@sha1:${sha}`);
      digests.add(o.status.artifact.digest);
    }
    assert.equal(digests.size, 4);
    await apply('app', { url: git.url('app'), interval: '10m' });
    const dir = join(s.dataDir, 'artifacts', 'gitrepository', 'default', 'app');
    const kept = (await readdir(dir)).filter((f) => f.endsWith('.tar.gz'));
    assert.equal(kept.length, 2, kept.join());
  });

  it('resolves each kind of ref, with semver ordering among tags', async () => {
    await git.createRepo('refs', { defaultBranch: 'main', files: { 'a.txt': 'a\n' } });
    const c1 = await git.rev('refs', 'main');
    await git.tag('refs', 'v1.2.9');
    const c2 = await git.commit('refs', { 'a.txt': 'b\n' });
    await git.tag('refs', 'v1.2.10', { annotated: true, message: 'release' });
    const c3 = await git.commit('refs', { 'a.txt': 'c\n' });
    await git.tag('refs', 'v2.0.0-rc.1');
    await git.branch('refs', 'dev', c1);
    const cases: [string, Record<string, unknown>, string][] = [
      ['r-branch', { branch: 'dev' }, `dev@sha1:${c1}`],
      ['r-tag', { tag: 'v1.2.9' }, `v1.2.9@sha1:${c1}`],
      ['r-semver', { semver: '>=1.0.0 <2.0.0' }, `v1.2.10@sha1:${c2}`],
      ['r-name', { name: 'refs/heads/main' }, `refs/heads/main@sha1:${c3}`],
      ['r-commit', { commit: c2 }, `sha1:${c2}`],
      ['r-commit-branch', { branch: 'main', commit: c2 }, `main@sha1:${c2}`],
    ];
    for (const [name, ref] of cases) await apply(name, { url: git.url('refs'), ref });
    for (const [name, , revision] of cases) {
      const o = await until(name, readyTrue);
      assert.equal(o.status.artifact.revision, revision, name);
    }
    const content = await filesOf(await artifactBytes('r-tag'));
    assert.equal(content['a.txt'], 'a\n');
  });

  it('two checkouts of the same commit give the same digest', async () => {
    await apply('app-twin', { url: git.url('app') });
    const [a, b] = [await until('app', readyTrue), await until('app-twin', readyTrue)];
    assert.equal(a.status.artifact.revision, b.status.artifact.revision);
    assert.equal(a.status.artifact.digest, b.status.artifact.digest);
  });

  it('basic and bearer auth from a Secret; a wrong password is a condition, not a crash', async () => {
    await git.createRepo('private', { files: { 'x.yaml': 'x: 1\n' } });
    await secret('basic-good', { username: 'alice', password: 'correct-horse' });
    await secret('basic-bad', { username: 'alice', password: 'wrong' });
    await secret('bearer', { bearerToken: 'tok-123' });
    await apply('p-basic', { url: git.url('private', 'basic'), secretRef: { name: 'basic-good' } });
    await apply('p-bearer', { url: git.url('private', 'bearer'), secretRef: { name: 'bearer' } });
    await apply('p-wrong', { url: git.url('private', 'basic'), secretRef: { name: 'basic-bad' } });
    await apply('p-nosecret', { url: git.url('private', 'basic'), secretRef: { name: 'missing' } });
    await until('p-basic', readyTrue);
    await until('p-bearer', readyTrue);
    const wrong = await until('p-wrong', readyFalse);
    assert.equal(cond(wrong, 'Ready').reason, 'AuthenticationFailed');
    assert.equal(cond(wrong, 'FetchFailed').status, 'True');
    assert.doesNotMatch(JSON.stringify(wrong.status), /wrong|correct-horse/, 'no credentials in status');
    const missing = await until('p-nosecret', readyFalse);
    assert.match(cond(missing, 'Ready').message, /secret/);
    assert.doesNotMatch(s.logs, /correct-horse|tok-123/, 'no credentials in logs');
  });

  it('an unreachable URL is Ready False with the reason, retried with backoff, and the server stays healthy', async () => {
    await apply('gone', { url: 'http://127.0.0.1:9/nothing.git' });
    const o = await until('gone', readyFalse);
    assert.equal(cond(o, 'Ready').reason, 'GitOperationFailed');
    assert.equal(cond(o, 'Reconciling').reason, 'ProgressingWithRetry');
    assert.equal((await s.request('GET', '/readyz')).status, 200);
    const tries = () => s.logs.split('\n').filter((l) => l.includes('"name":"gone"') && l.includes('"result":"error"')).length;
    const first = tries();
    await new Promise((r) => setTimeout(r, 3500));
    assert.ok(tries() > first, 'retried');
    assert.ok(tries() < first + 5, 'with backoff, not in a tight loop');
  });

  it('an ssh:// URL stalls with a plain message', async () => {
    await apply('ssh', { url: 'ssh://git@example.com/org/repo.git' });
    const o = await until('ssh', readyFalse);
    assert.equal(cond(o, 'Stalled').status, 'True');
    assert.match(cond(o, 'Ready').message, /SSH/);
  });

  it('verify: a signed commit is verified, an unsigned one is not', async () => {
    const key = await git.signingKey();
    await git.createRepo('signed', { files: { 'a.txt': 'a\n' } });
    await git.commit('signed', { 'b.txt': 'b\n' }, { sign: true });
    await git.createRepo('unsigned', { files: { 'a.txt': 'a\n' } });
    await secret('pgp', { 'author.pub': key.publicKey });
    await apply('v-signed', { url: git.url('signed'), verify: { mode: 'HEAD', secretRef: { name: 'pgp' } } });
    await apply('v-unsigned', { url: git.url('unsigned'), verify: { mode: 'HEAD', secretRef: { name: 'pgp' } } });
    const good = await until('v-signed', readyTrue);
    assert.equal(cond(good, 'SourceVerified').status, 'True');
    const bad = await until('v-unsigned', readyFalse);
    assert.equal(cond(bad, 'SourceVerified').status, 'False');
    assert.equal(bad.status.artifact, undefined, 'nothing unverified is stored');
  });

  it('include copies another source\'s artifact into toPath', async () => {
    await git.createRepo('lib', { files: { 'base/k.yaml': 'k: 1\n', 'other/o.yaml': 'o: 1\n' } });
    await apply('lib', { url: git.url('lib') });
    await apply('with-lib', { url: git.url('app'), include: [{ repository: { name: 'lib' }, fromPath: 'base', toPath: 'vendor/lib' }] });
    const o = await until('with-lib', readyTrue);
    const files = await filesOf(await artifactBytes('with-lib'));
    assert.equal(files['vendor/lib/k.yaml'], 'k: 1\n');
    assert.equal(files['vendor/lib/o.yaml'], undefined);
    assert.equal(files['other/o.yaml'], undefined);
    assert.equal(o.status.includedArtifacts.length, 1);
    await apply('with-missing', { url: git.url('app'), include: [{ repository: { name: 'nope' } }] });
    const w = await until('with-missing', readyFalse);
    assert.equal(cond(w, 'IncludeUnavailable').status, 'True');
    // A status forged (by whoever may write it) to name lib's artifact is not included.
    await apply('forged', { url: git.url('app'), suspend: true });
    const lib = await get('lib');
    await s.k(['patch', 'gitrepository', 'forged', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { artifact: lib.status.artifact } })]);
    await apply('with-forged', { url: git.url('app'), include: [{ repository: { name: 'forged' } }] });
    const f = await until('with-forged', readyFalse);
    assert.match(cond(f, 'IncludeUnavailable').message, /does not name its own artifact/);
    assert.equal(f.status.artifact, undefined);
  });

  it('ignore rules: defaults, .sourceignore in the repo, and custom rules replacing the defaults', async () => {
    await git.createRepo('ign', { files: { 'secret/key': 'k', 'ok.yaml': 'ok\n', 'pic.png': 'p', 'docs/readme.md': 'd' } });
    await apply('ign', { url: git.url('ign') });
    await until('ign', readyTrue);
    assert.deepEqual(Object.keys(await filesOf(await artifactBytes('ign'))).sort(), ['docs/readme.md', 'ok.yaml', 'secret/key'], 'the default rules drop *.png');
    // As in Flux, any custom rule (.sourceignore or spec.ignore) replaces the default list; .git stays out.
    const sha = await git.commit('ign', { '.sourceignore': 'secret/\n' });
    await s.k(['annotate', '--overwrite', 'gitrepository', 'ign', `gitops.toolkit/requestedAt=${Date.now()}`]);
    await until('ign', (o) => o.status?.artifact?.revision === `main@sha1:${sha}`);
    assert.deepEqual(Object.keys(await filesOf(await artifactBytes('ign'))).sort(), ['.sourceignore', 'docs/readme.md', 'ok.yaml', 'pic.png']);
    await apply('ign2', { url: git.url('ign'), ignore: 'docs/\n' });
    await until('ign2', readyTrue);
    assert.deepEqual(Object.keys(await filesOf(await artifactBytes('ign2'))).sort(), ['.sourceignore', 'ok.yaml', 'pic.png'], 'spec.ignore adds to .sourceignore');
  });

  it('a hostile repository: symlinks are not followed, unsafe paths and oversize content are refused', async () => {
    const hostile = await git.hostileRepo('hostile');
    void hostile;
    await apply('h-links', { url: git.url('hostile'), ref: { branch: 'symlink' } });
    const links = await until('h-links', (o) => !!cond(o, 'Ready') && o.status.observedGeneration === o.metadata.generation);
    if (cond(links, 'Ready').status === 'True') {
      const files = await filesOf(await artifactBytes('h-links'));
      assert.ok(!Object.values(files).some((v) => v.includes('root:')), 'no content from outside the tree');
      assert.ok(!Object.keys(files).some((p) => p.includes('link')));
    }
    await apply('h-dotdot', { url: git.url('hostile'), ref: { branch: 'dotdot' } });
    const dd = await until('h-dotdot', readyFalse);
    assert.equal(cond(dd, 'Stalled').status, 'True');
    assert.match(cond(dd, 'Ready').message, /unsafe path/);

    await git.createRepo('big', { files: { 'small.txt': 's' } });
    await git.addLargeFile('big', 'blob.bin', 100 * 1024 * 1024);
    await apply('big', { url: git.url('big'), timeout: '5m' });
    const big = await until('big', readyFalse, 180_000);
    assert.equal(cond(big, 'Ready').reason, 'ArtifactTooLarge');
    assert.match(cond(big, 'Ready').message, /blob\.bin/);
    assert.equal((await s.request('GET', '/readyz')).status, 200);
  });

  it('settings this server cannot honour yet stall with a plain message', async () => {
    await apply('cloud', { url: git.url('app'), provider: 'azure' });
    const o = await until('cloud', readyFalse);
    assert.equal(cond(o, 'Stalled').status, 'True');
    assert.match(cond(o, 'Ready').message, /spec.provider 'azure' is not supported yet/);
  });

  it('on restart, a missing artifact is noticed and rebuilt with the same digest', async () => {
    const before = await until('lib', readyTrue);
    const file = join(s.dataDir, 'artifacts', before.status.artifact.path);
    await s.stop();
    await rm(join(s.dataDir, 'artifacts', 'sha256'), { recursive: true, force: true });
    await rm(file, { force: true });
    await s.restart();
    const after = await until('lib', (o) => readyTrue(o) && existsSync(join(s.dataDir, 'artifacts', o.status.artifact.path)), 60_000);
    assert.equal(after.status.artifact.digest, before.status.artifact.digest);
    assert.equal(sha256(await artifactBytes('lib')), before.status.artifact.digest);
  });

  it('suspend stops polling', async () => {
    await git.createRepo('sus', { files: { 'a.txt': 'a' } });
    await apply('sus', { url: git.url('sus'), interval: '1s' });
    await until('sus', readyTrue);
    const polls = () => git.requests.filter((r) => r.path.startsWith('/sus.git')).length;
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(polls() >= 2, 'polled at the 1s interval');
    await apply('sus', { url: git.url('sus'), interval: '1s', suspend: true });
    await new Promise((r) => setTimeout(r, 500));
    git.resetRequests();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(polls(), 0);
  });

  it('deleting the object removes its artifacts', async () => {
    const dir = join(s.dataDir, 'artifacts', 'gitrepository', 'default', 'app-twin');
    assert.ok(existsSync(dir));
    await s.k(['delete', 'gitrepository', 'app-twin', '--timeout=20s']);
    assert.ok(!existsSync(dir));
    assert.equal((await s.request('GET', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories/app-twin/artifact')).status, 404);
  });

  it('exposes reconcile and artifact metrics', async () => {
    const m = await s.request('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body, /gitops_toolkit_reconcile_total\{kind="GitRepository",result="success"\} \d+/);
    assert.match(m.body, /gitops_toolkit_artifact_storage_bytes \d+/);
    assert.match(m.body, /gitops_toolkit_api_request_duration_seconds_bucket\{.*verb="get"/);
  });
});
