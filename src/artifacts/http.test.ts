import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRange, serveArtifact } from './http.js';

let dir: string;
let server: Server;
let port: number;
let content: Buffer;
let digest: string;
const served: Promise<unknown>[] = []; // each serveArtifact call, to wait for the server side to finish

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'http-test-'));
  content = randomBytes(4 * 1024 * 1024 + 123);
  await writeFile(join(dir, 'a.tar.gz'), content);
  digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  server = createServer((req, res) => {
    const file = req.url === '/missing' ? join(dir, 'nope.tar.gz') : join(dir, 'a.tar.gz');
    const p = serveArtifact(req, res, file, { digest, size: content.length }).catch((e: Error) => {
      res.writeHead(404).end(e.message);
    });
    served.push(p);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

function get(headers: Record<string, string> = {}, method = 'GET', path = '/'): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveArtifact', () => {
  test('200 streams the whole file with its headers', async () => {
    const r = await get();
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/gzip');
    assert.equal(r.headers['content-length'], String(content.length));
    assert.equal(r.headers.etag, `"${digest}"`);
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.ok(r.body.equals(content));
  });

  test('HEAD: the same headers, no body', async () => {
    const r = await get({}, 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(content.length));
    assert.equal(r.headers.etag, `"${digest}"`);
    assert.equal(r.body.length, 0);
  });

  test('If-None-Match → 304', async () => {
    for (const inm of [`"${digest}"`, `W/"${digest}"`, `"other", "${digest}"`, '*']) {
      const r = await get({ 'If-None-Match': inm });
      assert.equal(r.status, 304, inm);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, `"${digest}"`);
    }
    assert.equal((await get({ 'If-None-Match': '"sha256:other"' })).status, 200);
  });

  test('a single range → 206 with Content-Range and exactly those bytes', async () => {
    const n = content.length;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, n - 1],
      ['bytes=-500', n - 500, n - 1],
      ['bytes=100-99999999999', 100, n - 1],
      [`bytes=-${n + 10}`, 0, n - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await get({ Range: range });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${n}`);
      assert.equal(r.headers['content-length'], String(end - start + 1));
      assert.ok(r.body.equals(content.subarray(start, end + 1)), range);
    }
  });

  test('an unsatisfiable range → 416 with Content-Range: bytes */size', async () => {
    for (const range of [`bytes=${content.length}-`, `bytes=${content.length + 5}-${content.length + 9}`, 'bytes=-0']) {
      const r = await get({ Range: range });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers['content-range'], `bytes */${content.length}`);
    }
  });

  test('several ranges, a malformed one, or a stale If-Range → the whole file with 200', async () => {
    for (const h of <Record<string, string>[]>[{ Range: 'bytes=0-1,5-6' }, { Range: 'bytes=5-1' }, { Range: 'items=0-1' }, { Range: 'bytes=0-1', 'If-Range': '"sha256:old"' }]) {
      const r = await get(h);
      assert.equal(r.status, 200, JSON.stringify(h));
      assert.ok(r.body.equals(content));
    }
    assert.equal((await get({ Range: 'bytes=0-1', 'If-Range': `"${digest}"` })).status, 206);
  });

  test('a missing file rejects before anything is sent, so the caller can answer', async () => {
    const r = await get({}, 'GET', '/missing');
    assert.equal(r.status, 404);
    assert.match(r.body.toString(), /ENOENT/);
  });

  test('a client that disconnects mid-download leaves no file descriptor open', async () => {
    // Descriptors of this process open on the artifact file.
    const fds = async () => {
      let n = 0;
      for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === join(dir, 'a.tar.gz')) n++;
      return n;
    };
    await Promise.all(served);
    assert.equal(await fds(), 0);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => {});
        req.on('close', resolve);
        req.on('timeout', reject);
        req.end();
      });
    }
    await Promise.all(served);
    assert.equal(await fds(), 0);
  });
});

test('parseRange', () => {
  assert.deepEqual(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
  assert.deepEqual(parseRange('bytes = 2 - 4', 10), { start: 2, end: 4 });
  assert.equal(parseRange(undefined, 10), undefined);
  assert.equal(parseRange('bytes=-', 10), undefined);
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable');
  assert.equal(parseRange('bytes=-5', 0), 'unsatisfiable');
});
