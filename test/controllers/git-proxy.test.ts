// GitRepository spec.proxySecretRef end to end: the real server and kubectl, a proxy Secret in
// --secrets-dir, a forward proxy with Basic auth, and the real git http-backend behind it.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { GitServer } from '../helpers/git-server.js';
import { HttpProxy } from '../helpers/http-proxy.js';
import { TestServer } from '../helpers/server.js';

let git: GitServer;
let proxy: HttpProxy;
let s: TestServer;
let secretsDir: string;

before(async () => {
  git = await GitServer.start();
  proxy = await HttpProxy.start({ username: 'proxy-user', password: 'proxy-pass' });
  s = await TestServer.start();
  secretsDir = join(s.dir, 'secrets');
  await mkdir(secretsDir);
  await s.stop();
  s.extraArgs.push('--secrets-dir', secretsDir);
  await s.restart();
});
after(async () => {
  await s?.cleanup();
  await proxy?.stop();
  await git?.stop();
});

async function secret(name: string, stringData: Record<string, string>) {
  await writeFile(join(secretsDir, `${name}.yaml`), yaml.dump({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, stringData }));
}

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
const current = (o: any) => o.status?.observedGeneration === o.metadata.generation;
const readyTrue = (o: any) => cond(o, 'Ready')?.status === 'True' && current(o);
const fetchFailed = (o: any) => cond(o, 'Ready')?.status === 'False' && cond(o, 'FetchFailed')?.status === 'True' && current(o);

describe('GitRepository spec.proxySecretRef', () => {
  let head: string;
  before(async () => {
    await git.createRepo('app', { defaultBranch: 'main', files: { 'deploy/app.yaml': 'kind: ConfigMap\n' } });
    head = await git.rev('app', 'main');
  });

  it('becomes Ready with every Git request sent through the proxy', async () => {
    await secret('proxy', { address: proxy.url, username: 'proxy-user', password: 'proxy-pass' });
    proxy.requests.length = 0;
    await apply('via-proxy', { url: git.url('app'), proxySecretRef: { name: 'proxy' } });
    const o = await until('via-proxy', readyTrue);
    assert.equal(o.status.artifact.revision, `main@sha1:${head}`);
    assert.equal(cond(o, 'Stalled'), undefined);
    const base = git.url('app');
    assert.ok(proxy.requests.some((r) => r.method === 'GET' && r.target === `${base}/info/refs?service=git-upload-pack` && r.status === 200));
    assert.ok(proxy.requests.some((r) => r.method === 'POST' && r.target === `${base}/git-upload-pack` && r.status === 200));
    assert.doesNotMatch(s.logs, /proxy-pass/, 'the proxy password never reaches the logs');
  });

  it('reports wrong proxy credentials as AuthenticationFailed', async () => {
    await secret('proxy-bad', { address: proxy.url, username: 'proxy-user', password: 'not-it' });
    await apply('bad-proxy', { url: git.url('app'), proxySecretRef: { name: 'proxy-bad' } });
    const o = await until('bad-proxy', fetchFailed);
    assert.equal(cond(o, 'FetchFailed').reason, 'AuthenticationFailed');
    assert.match(cond(o, 'Ready').message, /proxy 127\.0\.0\.1:\d+ rejected the credentials \(HTTP 407/);
    assert.doesNotMatch(JSON.stringify(o.status), /not-it/);
  });

  it('explains a missing proxy secret and a secret without address', async () => {
    await apply('no-secret', { url: git.url('app'), proxySecretRef: { name: 'absent' } });
    const missing = await until('no-secret', fetchFailed);
    assert.match(cond(missing, 'FetchFailed').message, /failed to get proxy secret 'default\/absent': secrets "absent" not found/);
    await secret('proxy-noaddr', { username: 'proxy-user', password: 'proxy-pass' });
    await apply('no-address', { url: git.url('app'), proxySecretRef: { name: 'proxy-noaddr' } });
    const noAddr = await until('no-address', fetchFailed);
    assert.equal(cond(noAddr, 'FetchFailed').reason, 'AuthenticationFailed');
    assert.match(cond(noAddr, 'FetchFailed').message, /invalid proxy secret 'default\/proxy-noaddr': key 'address' is missing/);
  });
});
