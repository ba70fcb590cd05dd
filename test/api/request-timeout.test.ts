// --request-timeout: a request still unanswered after it gets a 504 Timeout Status; watches are exempt.

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, it } from 'node:test';
import { TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start(['--controllers=', '--request-timeout', '300ms']);
});
after(() => s?.cleanup());

it('a create whose body arrives too slowly gets 504 Timeout, and the server goes on serving', async () => {
  const body = JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'slow' }, spec: { interval: '1m', url: 'https://example.com/s.git' } });
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: s.port, method: 'POST', path: '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories', ca: s.caCert, cert: s.adminCert, key: s.adminKey, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 10)); // then nothing until well after the timeout
    setTimeout(() => req.end(body.slice(10)), 1500);
  });
  assert.equal(res.status, 504);
  const st = JSON.parse(res.body);
  assert.equal(st.reason, 'Timeout');
  assert.match(st.message, /did not complete within the allowed duration/);
  assert.equal((await s.request('GET', '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories')).status, 200);
});

it('a watch outlives the request timeout', async () => {
  const events = await new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const req = https.request({ host: '127.0.0.1', port: s.port, path: '/apis/gitops.toolkit/v1/namespaces/default/gitrepositories?watch=1&timeoutSeconds=1', ca: s.caCert, cert: s.adminCert, key: s.adminKey }, (r) => {
      assert.equal(r.statusCode, 200);
      r.resume();
      r.on('end', () => resolve(Date.now() - started));
    });
    req.on('error', reject);
    req.end();
  });
  assert.ok(events >= 900, `the watch ran its own 1s, not the 300ms request timeout (${events} ms)`);
});
