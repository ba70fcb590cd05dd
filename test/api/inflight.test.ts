// kube-apiserver's max-in-flight limits: past --max-mutating-requests-inflight concurrent writes (or
// --max-requests-inflight reads) a request gets 429 with Retry-After, which clients retry; watches do
// not count and system:masters is never limited.

import assert from 'node:assert/strict';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { issueCert } from '../../src/pki/certs.js';
import { TestServer } from '../helpers/server.js';

let s: TestServer;
let alice: { cert: string; key: string };
before(async () => {
  s = await TestServer.start(['--controllers=', '--max-mutating-requests-inflight=1', '--max-requests-inflight=1']);
  alice = await issueCert({ cert: s.caCert, key: await readFile(join(s.certDir, 'ca.key'), 'utf8') }, { cn: 'alice', client: true, days: 1 });
});
after(async () => {
  await s?.cleanup();
});

const BASE = '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories';
const repo = (name: string) => JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1m', url: 'https://example.com/r.git' } });

/** A create whose body arrives only when `finish` is called: in flight until then. */
function slowCreate(name: string): { finish: () => Promise<number> } {
  const body = repo(name);
  let done!: (code: number) => void;
  const answered = new Promise<number>((r) => (done = r));
  const req = https.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: BASE, ca: s.caCert, ...alice, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
    res.resume();
    res.on('end', () => done(res.statusCode!));
  });
  req.write(body.slice(0, 10));
  return {
    finish: () => {
      req.end(body.slice(10));
      return answered;
    },
  };
}

it('a write past the limit is a 429 with Retry-After while another is in flight; reads, watches and system:masters are not held', async () => {
  const first = slowCreate('first');
  await new Promise((r) => setTimeout(r, 300)); // the server has its headers: it is in flight
  const second = await s.request('POST', BASE, { body: repo('second'), cert: alice });
  assert.equal(second.status, 429, second.body);
  assert.equal(second.headers['retry-after'], '1');
  const st = second.json();
  assert.deepEqual([st.reason, st.code, st.details?.retryAfterSeconds], ['TooManyRequests', 429, 1]);
  assert.equal((await s.request('GET', BASE, { cert: alice })).status, 200, 'reads have their own limit');
  assert.equal((await s.request('POST', BASE, { body: repo('by-admin') })).status, 201, 'system:masters is never limited');

  // a watch is long-running: it does not hold the read limit
  const watch = https.request({ host: '127.0.0.1', port: s.port, path: `${BASE}?watch=1`, ca: s.caCert, ...alice });
  const watching = new Promise<void>((r) => watch.on('response', (res) => (res.resume(), r())));
  watch.end();
  await watching;
  assert.equal((await s.request('GET', BASE, { cert: alice })).status, 200);
  watch.destroy();

  assert.equal(await first.finish(), 201);
  assert.equal((await s.request('POST', BASE, { body: repo('second'), cert: alice })).status, 201, 'once the first is answered the next goes through');
  assert.equal((await s.request('GET', `${BASE}/second`)).status, 200);
});
