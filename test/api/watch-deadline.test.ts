// kube's watch cache sends a BOOKMARK shortly before a watch's timeoutSeconds deadline, so that the
// client resumes from a recent resourceVersion. Periodic bookmarks are turned off here (an hour), so
// the one that comes is that one.

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, it } from 'node:test';
import { TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start(['--controllers=', '--watch-bookmark-interval', '1h']);
});
after(async () => {
  await s?.cleanup();
});

const NS = '/apis/gitops.toolkit/v1/namespaces/deadline/gitrepositories';

/** The events of a watch, each with the milliseconds since the request, until the server ends it. */
function watchAll(path: string): Promise<{ at: number; ev: any }[]> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const out: { at: number; ev: any }[] = [];
    let buf = '';
    const req = https.request({ host: '127.0.0.1', port: s.port, path, ca: s.caCert, cert: s.adminCert, key: s.adminKey }, (res) => {
      assert.equal(res.statusCode, 200);
      res.on('data', (d) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          out.push({ at: Date.now() - t0, ev: JSON.parse(buf.slice(0, i)) });
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => resolve(out.map((e) => ({ ...e, end: Date.now() - t0 })) as never));
    });
    req.on('error', reject);
    req.end();
  });
}

it('a watch that asked for bookmarks gets one shortly before its timeoutSeconds deadline, at the last revision it was sent', async () => {
  const created = await s.request('POST', NS, { body: JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'd1' }, spec: { interval: '1m', url: 'https://example.com/r.git' } }) });
  assert.equal(created.status, 201, created.body);
  const rv = created.json().metadata.resourceVersion;
  const t0 = Date.now();
  const events = await watchAll(`${NS}?watch=1&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion=${rv}`);
  const ended = Date.now() - t0;
  assert.deepEqual(events.map((e) => e.ev.type), ['BOOKMARK'], JSON.stringify(events));
  assert.equal(events[0].ev.object.metadata.resourceVersion, rv);
  assert.equal(events[0].ev.object.kind, 'GitRepository');
  assert.ok(events[0].at >= 1500 && events[0].at < ended, `the bookmark came ${events[0].at} ms in, the stream ended at ${ended} ms`);
  assert.ok(ended >= 2900, `the stream ends at the deadline (${ended} ms)`);

  // with the initial events, the bookmark carries the revision they were read at
  const initial = await watchAll(`${NS}?watch=1&allowWatchBookmarks=true&timeoutSeconds=2`);
  assert.deepEqual(initial.map((e) => e.ev.type), ['ADDED', 'BOOKMARK']);
  assert.ok(BigInt(initial[1].ev.object.metadata.resourceVersion) >= BigInt(rv));

  // initial events come in name order; the bookmark carries the largest revision sent, not the last one's
  const later = await s.request('POST', NS, { body: JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: 'd2' }, spec: { interval: '1m', url: 'https://example.com/r.git' } }) });
  assert.equal(later.status, 201);
  for (const i of [2, 3, 4]) assert.equal((await s.request('PATCH', `${NS}/d1`, { body: JSON.stringify({ spec: { interval: `${i}m` } }), headers: { 'Content-Type': 'application/merge-patch+json' } })).status, 200);
  const newest = (await s.request('GET', NS)).json().metadata.resourceVersion;
  const sorted = await watchAll(`${NS}?watch=1&allowWatchBookmarks=true&timeoutSeconds=2`);
  assert.deepEqual(sorted.map((e) => e.ev.type), ['ADDED', 'ADDED', 'BOOKMARK']);
  assert.ok(BigInt(sorted[0].ev.object.metadata.resourceVersion) > BigInt(sorted[1].ev.object.metadata.resourceVersion), 'd1 changed after d2 was made');
  assert.equal(sorted[2].ev.object.metadata.resourceVersion, newest);

  const plain = await watchAll(`${NS}?watch=1&timeoutSeconds=2&resourceVersion=${newest}`);
  assert.deepEqual(plain, [], 'no bookmark unless asked');
});
