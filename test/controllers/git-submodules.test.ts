// GitRepository spec.recurseSubmodules end to end: the real server, kubectl and git http-backend.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseGitmodules, submoduleUrl } from '../../src/controllers/git-repository/build.js';
import { GitServer } from '../helpers/git-server.js';
import { cond, readyFalse, readyTrue, SourceServer } from '../helpers/sources.js';

let git: GitServer;
let other: GitServer;
let src: SourceServer;

before(async () => {
  // Same credentials on both: the other server would accept them, so a 401 there proves none were sent.
  git = await GitServer.start({ username: 'alice', password: 'sub-secret' });
  other = await GitServer.start({ username: 'alice', password: 'sub-secret' });
  src = await SourceServer.start();
  await src.secret('creds', { username: 'alice', password: 'sub-secret' });
});
after(async () => {
  await src?.cleanup();
  await git?.stop();
  await other?.stop();
});

const apply = (name: string, spec: Record<string, unknown>) => src.apply(name, spec);
const until = (name: string, test: (o: any) => boolean, ms?: number) => src.until(name, test, ms);
const artifactFiles = (name: string) => src.artifactFiles(name);

const gitmodules = (subs: Record<string, string>) => Object.entries(subs).map(([path, url]) => `[submodule "${path}"]\n\tpath = ${path}\n\turl = ${url}\n`).join('');

describe('GitRepository recurseSubmodules', () => {
  let libHead: string;

  before(async () => {
    libHead = await git.createRepo('lib', { files: { 'lib.txt': 'lib v1\n' } });
    // A later commit on lib's branch: the artifact must hold the recorded commit, not the tip.
    await git.commit('lib', { 'lib.txt': 'lib v2\n' });
    const deep = await git.createRepo('deep', { files: { 'deep.txt': 'deep\n' } });
    await git.createRepo('rel', { files: { 'rel.txt': 'rel\n' } });
    const rel = await git.commit('rel', { '.gitmodules': gitmodules({ nested: '../deep.git' }) }, { submodules: { nested: deep } });
    await git.createRepo('super', { files: { 'app.yaml': 'kind: ConfigMap\n' } });
    await git.commit('super', { '.gitmodules': gitmodules({ 'libs/lib': git.url('lib'), 'vendor/rel': '../rel.git' }) }, { submodules: { 'libs/lib': libHead, 'vendor/rel': rel } });
  });

  it("adds each submodule's files at its recorded commit under its path, following absolute, relative and nested URLs", async () => {
    await apply('super', { url: git.url('super'), recurseSubmodules: true });
    const o = await until('super', readyTrue);
    assert.equal(o.status.observedRecurseSubmodules, true);
    const files = await artifactFiles('super');
    assert.equal(files['app.yaml'], 'kind: ConfigMap\n');
    assert.equal(files['libs/lib/lib.txt'], 'lib v1\n');
    assert.equal(files['libs/lib/README.md'], undefined, 'lib was created with lib.txt only');
    assert.equal(files['vendor/rel/rel.txt'], 'rel\n');
    assert.equal(files['vendor/rel/nested/deep.txt'], 'deep\n');
  });

  it('without recurseSubmodules, submodule links are left out', async () => {
    await apply('super-flat', { url: git.url('super') });
    const o = await until('super-flat', readyTrue);
    assert.equal(o.status.observedRecurseSubmodules, undefined);
    const files = await artifactFiles('super-flat');
    assert.equal(files['app.yaml'], 'kind: ConfigMap\n');
    assert.deepEqual(Object.keys(files).filter((p) => p.startsWith('libs/') || p.startsWith('vendor/')), []);
  });

  it("sends the superproject's credentials to submodules on its host", async () => {
    await git.createRepo('private/lib', { files: { 'secret.txt': 'private lib\n' } });
    const lib = await git.rev('private/lib');
    await git.createRepo('private/app', { files: { '.gitmodules': gitmodules({ lib: '../lib.git' }) } });
    await git.commit('private/app', {}, { submodules: { lib } });
    await apply('private', { url: git.url('private/app', 'basic'), secretRef: { name: 'creds' }, recurseSubmodules: true });
    await until('private', readyTrue);
    assert.equal((await artifactFiles('private'))['lib/secret.txt'], 'private lib\n');
  });

  it('does not send credentials to submodules on another host', async () => {
    const lib = await other.createRepo('elsewhere', { files: { 'x.txt': 'x\n' } });
    await git.createRepo('private/cross', { files: { '.gitmodules': gitmodules({ ext: other.url('elsewhere', 'basic') }) } });
    await git.commit('private/cross', {}, { submodules: { ext: lib } });
    await apply('cross', { url: git.url('private/cross', 'basic'), secretRef: { name: 'creds' }, recurseSubmodules: true });
    const o = await until('cross', readyFalse);
    assert.match(cond(o, 'Ready').message, /submodule 'ext'.*authentication failed/);
    assert.ok(other.requests.some((r) => r.area === 'basic' && r.status === 401));
    assert.ok(!other.requests.some((r) => r.status === 200), 'the other host never let the fetch in');
  });

  it('an unreachable submodule URL makes Ready False with a message naming the submodule', async () => {
    const gone = await git.createRepo('gone-target');
    await git.createRepo('broken', { files: { '.gitmodules': gitmodules({ gone: 'http://127.0.0.1:1/gone.git' }) } });
    await git.commit('broken', {}, { submodules: { gone } });
    await apply('broken', { url: git.url('broken'), recurseSubmodules: true });
    const o = await until('broken', readyFalse);
    assert.equal(cond(o, 'Ready').reason, 'GitOperationFailed');
    assert.match(cond(o, 'Ready').message, /submodule 'gone'.*127\.0\.0\.1:1/);
    assert.equal(o.status.artifact, undefined);
  });
});

describe('parseGitmodules', () => {
  it('maps paths to URLs, with quotes, escapes, comments and odd spacing', () => {
    const text = [
      '# comment',
      '[submodule "a"]',
      '  path = libs/a',
      '  url = https://example.com/a.git ; trailing comment',
      '[core]',
      '  url = ignored',
      '[submodule  "b c"]',
      'PATH="dir with space/b"',
      'url = "../b.git"',
      '[submodule "no-url"]',
      'path = x',
    ].join('\r\n');
    assert.deepEqual([...parseGitmodules(text)], [
      ['libs/a', 'https://example.com/a.git'],
      ['dir with space/b', '../b.git'],
    ]);
  });
});

describe('submoduleUrl', () => {
  it('resolves ./ and ../ against the superproject URL as a directory, and leaves absolute URLs alone', () => {
    const sup = 'https://git.example.com/org/app.git/';
    assert.equal(submoduleUrl('../lib.git', sup), 'https://git.example.com/org/lib.git');
    assert.equal(submoduleUrl('../../other/lib', sup), 'https://git.example.com/other/lib');
    assert.equal(submoduleUrl('./sub', 'https://git.example.com/org/app'), 'https://git.example.com/org/app/sub');
    assert.equal(submoduleUrl('https://elsewhere.example/x.git', sup), 'https://elsewhere.example/x.git');
  });
});
