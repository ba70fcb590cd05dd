// GitRepository spec.proxySecretRef end to end: the real server and kubectl, a proxy Secret in
// --secrets-dir, a forward proxy with Basic auth, and the real git http-backend behind it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GitServer } from '../helpers/git-server.js';
import { HttpProxy } from '../helpers/http-proxy.js';
import type { TestServer } from '../helpers/server.js';
import { cond, current, readyTrue, SourceServer } from '../helpers/sources.js';

let git: GitServer;
let proxy: HttpProxy;
let src: SourceServer;
let s: TestServer;

before(async () => {
  git = await GitServer.start();
  proxy = await HttpProxy.start({ username: 'proxy-user', password: 'proxy-pass' });
  src = await SourceServer.start();
  s = src.s;
});
after(async () => {
  await src?.cleanup();
  await proxy?.stop();
  await git?.stop();
});

const secret = (name: string, data: Record<string, string>) => src.secret(name, data);
const apply = (name: string, spec: Record<string, unknown>) => src.apply(name, spec);
const until = (name: string, test: (o: any) => boolean, ms?: number) => src.until(name, test, ms);
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
