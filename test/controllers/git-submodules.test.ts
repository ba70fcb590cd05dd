// GitRepository spec.recurseSubmodules end to end: the real server, kubectl and git http-backend.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import yaml from 'js-yaml';
import { parseGitmodules, submoduleUrl } from '../../src/controllers/git-repository/build.js';
import { GitServer } from '../helpers/git-server.js';
import { TestServer } from '../helpers/server.js';

let git: GitServer;
let other: GitServer;
let s: TestServer;

before(async () => {
  // Same credentials on both: the other server would accept them, so a 401 there proves none were sent.
  git = await GitServer.start({ username: 'alice', password: 'sub-secret' });
  other = await GitServer.start({ username: 'alice', password: 'sub-secret' });
  s = await TestServer.start();
  const secretsDir = join(s.dir, 'secrets');
  await mkdir(secretsDir);
  await writeFile(join(secretsDir, 'creds.yaml'), yaml.dump({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, stringData: { username: 'alice', password: 'sub-secret' } }));
  await s.stop();
  s.extraArgs.push('--secrets-dir', secretsDir);
  await s.restart();
});
after(async () => {
  await s?.cleanup();
  await git?.stop();
  await other?.stop();
});

function apply(name: string, spec: Record<string, unknown>) {
  return s.k(['apply', '-f', '-'], { input: yaml.dump({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name, namespace: 'default' }, spec: { interval: '10m', ...spec } }) });
}

const get = async (name: string) => JSON.parse(await s.k(['get', 'gitrepository', name, '-o', 'json']));
const cond = (o: any, type: string) => o.status?.conditions?.find((c: any) => c.type === type);

async function until(name: string, test: (o: any) => boolean, ms = 30_000): Promise<any> {
  const end = Date.now() + ms;
  let last: any;
  while (Date.now() < end) {
    last = await get(name);
    if (test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not get there in time; last status: ${JSON.stringify(last?.status, null, 2)}`);
}
const readyTrue = (o: any) => cond(o, 'Ready')?.status === 'True' && o.status.observedGeneration === o.metadata.generation;
const readyFalse = (o: any) => cond(o, 'Ready')?.status === 'False' && o.status.observedGeneration === o.metadata.generation;

/** The artifact's regular files, path → content. */
async function artifactFiles(name: string): Promise<Record<string, string>> {
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const p = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'get', '--raw', `/apis/gitops.toolkit/v1/namespaces/default/gitrepositories/${name}/artifact`]);
    const chunks: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c) => chunks.push(c));
    p.stderr.on('data', (c) => (err += c));
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(err))));
  });
  const out: Record<string, string> = {};
  const parser = new tar.Parser();
  await new Promise<void>((resolve, reject) => {
    parser.on('entry', (e: any) => {
      if (e.type !== 'File') return void e.resume();
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => (out[e.path] = Buffer.concat(chunks).toString('utf8')));
    });
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.end(bytes);
  });
  return out;
}

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
