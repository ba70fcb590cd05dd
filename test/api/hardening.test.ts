// One deterministic test per finding of the fuzz suite (issue 7), with the exact request shape that
// broke the server: copy-doubling JSON patches, deep nesting on every write path, non-ASCII and
// invalid-UTF-8 field names in Warning headers, int64 limits, and oversized warnings. Each is refused
// (or accepted) the way kube-apiserver does it, the server stays up, and nothing half-done is stored.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { doublingOps } from '../helpers/fuzz-arbitraries.js';
import { nestedArrays, nestedObjects } from '../helpers/json-text.js';
import { RawClient } from '../helpers/raw-https.js';
import { TestServer, type HttpResult } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start(['--controllers=']); // API semantics only: no reconciler touching the objects
});
after(async () => {
  await s?.cleanup();
});
// A test that kills the server fails itself (assertAlive); the next one gets a server again, so
// every finding is judged on its own.
beforeEach(async () => {
  const p = s.proc!;
  if (p.exitCode === null && p.signalCode === null) {
    const up = await s.request('GET', '/readyz').then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) return;
  }
  await s.kill9(); // one dying of its heap can take a while to exit
  await s.restart();
});

const NS = 'hardening';
const GIT = `/apis/gitops.toolkit/v1/namespaces/${NS}/gitrepositories`;
const HR = `/apis/gitops.toolkit/v1/namespaces/${NS}/helmreleases`;
const gitSpec = '{"interval":"1m","url":"https://example.com/repo.git"}';
const hrSpecFields = '"interval":"10m","chart":{"spec":{"chart":"podinfo","sourceRef":{"kind":"HelmRepository","name":"podinfo"}}}';
const gitBody = (name: string, specExtra = '') => `{"apiVersion":"gitops.toolkit/v1","kind":"GitRepository","metadata":{"name":"${name}"},"spec":{"interval":"1m","url":"https://example.com/repo.git"${specExtra}}}`;

const show = (r: HttpResult) => `${r.status} ${r.body.slice(0, 600)}`;

function assertStatus(r: HttpResult, codes: number[]): any {
  assert.ok(codes.includes(r.status), `expected ${codes.join(' or ')}, got ${show(r)}`);
  const st = r.json();
  assert.equal(st.kind, 'Status', show(r));
  assert.equal(st.code, r.status, show(r));
  assert.equal(st.status, 'Failure', show(r));
  return st;
}

async function assertAlive(): Promise<void> {
  const p = s.proc!;
  assert.ok(p.exitCode === null && p.signalCode === null, `the server died:\n${s.logs.slice(-3000)}`);
  const t = performance.now();
  const r = await s.request('GET', '/readyz');
  assert.equal(r.status, 200, show(r));
  assert.ok(performance.now() - t < 2000, '/readyz took 2 s or more');
}

async function create(path: string, body: string, o: { query?: string } = {}): Promise<any> {
  const r = await s.request('POST', `${path}${o.query ?? ''}`, { body });
  assert.equal(r.status, 201, show(r));
  return r.json();
}

async function get(path: string): Promise<HttpResult> {
  return s.request('GET', path);
}

async function resourceVersion(path: string): Promise<string> {
  const r = await get(path);
  assert.equal(r.status, 200, show(r));
  return r.json().metadata.resourceVersion;
}

/** The request was refused with one of `codes`, the server is up, and the object did not change. */
async function refusedUnchanged(path: string, send: () => Promise<HttpResult>, codes: number[]): Promise<any> {
  const rv = await resourceVersion(path);
  const st = assertStatus(await send(), codes);
  await assertAlive();
  assert.equal(await resourceVersion(path), rv, 'the refused request changed the object');
  return st;
}

/** A request with an exact Content-Length, as HttpResult. */
async function rawRequest(method: string, path: string, body: string): Promise<HttpResult> {
  const c = new RawClient(s);
  try {
    const r = await c.request({ method, path, body, headers: { 'Content-Type': 'application/json' } });
    return { status: r.status, headers: r.headers, body: r.text(), json: () => r.json() };
  } finally {
    c.close();
  }
}

const patch = (path: string, type: string, body: string | Buffer, query = '') => s.request('PATCH', `${path}${query}`, { body, headers: { 'Content-Type': type } });
const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

/** Every Warning header value of a response, one per header line. */
const warnings = (r: HttpResult): string[] => {
  const w = r.headers.warning;
  return w === undefined ? [] : Array.isArray(w) ? w : [w];
};

describe('JSON patch copies that double a value', () => {
  it('24 copy operations doubling 1 KiB (a 2.3 KB patch) are refused, the server stays up and the object is unchanged', async () => {
    await create(GIT, gitBody('copies'));
    const ops = JSON.stringify(doublingOps('spec', 24, 1024));
    assert.ok(ops.length > 2000 && ops.length < 2600, `the patch is ${ops.length} bytes`);
    await refusedUnchanged(`${GIT}/copies`, () => patch(`${GIT}/copies`, JSON_PATCH, ops), [413, 422]);
  });

  it('13 copies doubling 1 KiB into metadata.managedFields[0].fieldsV1 are refused and nothing is stored', async () => {
    await create(GIT, gitBody('copies-mf'));
    const ops = JSON.stringify(doublingOps('fieldsV1', 13, 1024));
    await refusedUnchanged(`${GIT}/copies-mf`, () => patch(`${GIT}/copies-mf`, JSON_PATCH, ops), [413, 422]);
    const r = await get(`${GIT}/copies-mf`);
    assert.ok(r.body.length < 64 * 1024, `the stored object is ${r.body.length} bytes`);
  });
});

describe('deep nesting is a 400 or 422 on every write path, never a 500', () => {
  it('a merge patch nested 5,000 levels', async () => {
    await create(GIT, gitBody('deep-merge'));
    await refusedUnchanged(`${GIT}/deep-merge`, () => patch(`${GIT}/deep-merge`, MERGE_PATCH, `{"spec":{"x":${nestedObjects(5000)}}}`), [400, 422]);
  });

  it('a JSON-patch value nested 2,000 levels', async () => {
    await create(GIT, gitBody('deep-json'));
    await refusedUnchanged(`${GIT}/deep-json`, () => patch(`${GIT}/deep-json`, JSON_PATCH, `[{"op":"add","path":"/spec/x","value":${nestedObjects(2000)}}]`), [400, 422]);
  });

  it('metadata.managedFields[0].fieldsV1 nested 2,000 levels, on create and in a merge patch', async () => {
    const fieldsV1 = (name: string) =>
      `{"apiVersion":"gitops.toolkit/v1","kind":"GitRepository","metadata":{"name":"${name}","managedFields":[{"manager":"m","operation":"Update","apiVersion":"gitops.toolkit/v1","fieldsType":"FieldsV1","fieldsV1":${nestedObjects(2000, '{}', 'f:x')}}]},"spec":${gitSpec}}`;
    assertStatus(await s.request('POST', GIT, { body: fieldsV1('deep-mf') }), [400, 422]);
    await assertAlive();
    assert.equal((await get(`${GIT}/deep-mf`)).status, 404, 'the refused create was stored');

    await create(GIT, gitBody('deep-mf-patch'));
    const body = `{"metadata":{"managedFields":[{"manager":"m","operation":"Update","apiVersion":"gitops.toolkit/v1","fieldsType":"FieldsV1","fieldsV1":${nestedObjects(2000, '{}', 'f:x')}}]}}`;
    await refusedUnchanged(`${GIT}/deep-mf-patch`, () => patch(`${GIT}/deep-mf-patch`, MERGE_PATCH, body), [400, 422]);
  });

  it('a create without kind nested 5,000 levels', async () => {
    const body = `{"apiVersion":"gitops.toolkit/v1","metadata":{"name":"no-kind"},"spec":${nestedObjects(5000)}}`;
    assertStatus(await s.request('POST', GIT, { body }), [400, 422]);
    await assertAlive();
    assert.equal((await get(`${GIT}/no-kind`)).status, 404);
  });

  it('PUT and PUT /status nested 2,000 levels', async () => {
    const created = await create(GIT, gitBody('deep-put'));
    const current = JSON.stringify(created);
    // The stored object with one more field, spliced into the text (JSON.stringify cannot nest this deep).
    const withField = (field: 'spec' | 'status') =>
      field === 'spec' ? current.replace('"spec":{', `"spec":{"x":${nestedObjects(2000)},`) : `${current.slice(0, -1)},"status":{"x":${nestedObjects(2000)}}}`;
    await refusedUnchanged(`${GIT}/deep-put`, () => s.request('PUT', `${GIT}/deep-put`, { body: withField('spec') }), [400, 422]);
    await refusedUnchanged(`${GIT}/deep-put`, () => s.request('PUT', `${GIT}/deep-put/status`, { body: withField('status') }), [400, 422]);
  });

  it('DeleteOptions whose preconditions.uid is an array nested 5,000 levels', async () => {
    await create(GIT, gitBody('deep-delete'));
    const body = `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":${nestedArrays(5000, '"x"')}}}`;
    // The raw client: Node's own sends a DELETE body with neither Content-Length nor chunked encoding.
    await refusedUnchanged(`${GIT}/deep-delete`, () => rawRequest('DELETE', `${GIT}/deep-delete`, body), [400, 422]);
  });
});

describe('the nesting limit is 1,000 levels: exactly 1,000 is accepted, 1,001 is a 400 naming the limit', () => {
  // The body object is level 1 and spec level 2, so a value of 998 nested objects reaches level 1,000.
  const values = (bodyDepth: number) => nestedObjects(bodyDepth - 2, '1');

  for (const kind of ['GitRepository', 'HelmRelease'] as const) {
    // An unknown field of a GitRepository (pruned, with a warning); HelmRelease spec.values (schemaless, kept).
    const path = kind === 'GitRepository' ? GIT : HR;
    const tag = kind === 'GitRepository' ? 'git' : 'hr';
    const field = kind === 'GitRepository' ? 'an unknown field of a GitRepository' : 'HelmRelease spec.values';
    const spec = (depth: number) => (kind === 'GitRepository' ? `{"interval":"1m","url":"https://example.com/repo.git","x":${values(depth)}}` : `{${hrSpecFields},"values":${values(depth)}}`);
    const body = (name: string, depth: number) => `{"apiVersion":"gitops.toolkit/v1","kind":"${kind}","metadata":{"name":"${name}"},"spec":${spec(depth)}}`;
    /** The stored object with its spec replaced by one nested `depth` levels (spliced: JSON.stringify cannot nest that deep). */
    const putBody = (current: any, depth: number) => `${JSON.stringify({ ...current, spec: undefined }).slice(0, -1)},"spec":${spec(depth)}}`;
    const mergePatch = (depth: number) => (kind === 'GitRepository' ? `{"spec":{"x":${values(depth)}}}` : `{"spec":{"values":${values(depth)}}}`);

    it(`create, PUT, merge patch and server-side apply at 1,000 levels in ${field}`, async () => {
      const r0 = await s.request('POST', path, { body: body(`d1000-${tag}`, 1000) });
      assert.equal(r0.status, 201, `create at 1,000 levels: ${show(r0)}`);

      await create(path, body(`d1000p-${tag}`, 10));
      const current = (await get(`${path}/d1000p-${tag}`)).json();
      const r1 = await s.request('PUT', `${path}/d1000p-${tag}`, { body: putBody(current, 1000) });
      assert.equal(r1.status, 200, `PUT at 1,000 levels: ${show(r1)}`);

      await create(path, body(`d1000m-${tag}`, 10));
      const r2 = await patch(`${path}/d1000m-${tag}`, MERGE_PATCH, mergePatch(1000));
      assert.equal(r2.status, 200, `merge patch at 1,000 levels: ${show(r2)}`);

      const r3 = await patch(`${path}/d1000a-${tag}`, APPLY_PATCH, body(`d1000a-${tag}`, 1000), '?fieldManager=hardening');
      assert.equal(r3.status, 201, `server-side apply (creating) at 1,000 levels: ${show(r3)}`);
      await assertAlive();
    });

    it(`create, PUT, merge patch and server-side apply at 1,001 levels in ${field} are a 400 naming the limit`, async () => {
      const namesLimit = (st: any) => assert.match(st.message, /1,?000/, `the message does not name the limit: ${st.message}`);

      namesLimit(assertStatus(await s.request('POST', path, { body: body(`d1001-${tag}`, 1001) }), [400]));
      assert.equal((await get(`${path}/d1001-${tag}`)).status, 404, 'the refused create was stored');

      const created = await create(path, body(`d1001p-${tag}`, 10));
      namesLimit(await refusedUnchanged(`${path}/d1001p-${tag}`, () => s.request('PUT', `${path}/d1001p-${tag}`, { body: putBody(created, 1001) }), [400]));
      namesLimit(await refusedUnchanged(`${path}/d1001p-${tag}`, () => patch(`${path}/d1001p-${tag}`, MERGE_PATCH, mergePatch(1001)), [400]));

      namesLimit(assertStatus(await patch(`${path}/d1001a-${tag}`, APPLY_PATCH, body(`d1001a-${tag}`, 1001), '?fieldManager=hardening'), [400]));
      assert.equal((await get(`${path}/d1001a-${tag}`)).status, 404, 'the refused apply created the object');
      await assertAlive();
    });
  }
});

describe('field names in Warning headers', () => {
  const assertValidWarnings = (r: HttpResult) => {
    const ws = warnings(r);
    assert.ok(ws.length > 0, 'no Warning header');
    for (const w of ws) {
      assert.match(w, /^[\x20-\x7e]*$/, `not printable ASCII: ${JSON.stringify(w)}`);
      assert.match(w, /^299 - "(?:[^"\\]|\\.)*"$/, `not a 299 warning: ${w}`);
    }
    assert.ok(ws.some((w) => w.includes('unknown field')), ws.join(' | '));
  };
  const storedOnce = async (name: string) => {
    const r = await get(`${GIT}?fieldSelector=metadata.name%3D${name}`);
    assert.equal(r.status, 200, show(r));
    assert.equal(r.json().items.length, 1, `${name} is stored ${r.json().items.length} times`);
    const all = (await get(GIT)).json().items.filter((o: any) => o.metadata.name === name);
    assert.equal(all.length, 1);
  };

  it('an unknown field named "💥" is a 201 with an escaped, printable Warning, stored once', async () => {
    const r = await s.request('POST', GIT, { body: gitBody('emoji-key', ',"💥":1') });
    assert.equal(r.status, 201, show(r));
    assertValidWarnings(r);
    await storedOnce('emoji-key');
  });

  it('an unknown field whose name is invalid UTF-8 (bytes 0xff 0xfe) is a 201 with a valid Warning, stored once', async () => {
    const [head, tail] = gitBody('bad-utf8-key', ',"KEY":1').split('KEY');
    const body = Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe]), Buffer.from(tail)]);
    const r = await s.request('POST', GIT, { body });
    assert.equal(r.status, 201, show(r));
    assertValidWarnings(r);
    await storedOnce('bad-utf8-key');
  });

  it('a 20,000-character unknown field name: 201, Warning headers ≤ 4,096 characters in all, read by Node’s default client', async () => {
    // s.request is Node's own https client with its default 16 KiB header limit: it would fail to parse a larger response head.
    const r = await s.request('POST', GIT, { body: gitBody('long-key', `,"${'k'.repeat(20_000)}":1`) });
    assert.equal(r.status, 201, show(r));
    assertValidWarnings(r);
    const total = warnings(r).reduce((n, w) => n + w.length, 0);
    assert.ok(total <= 4096, `Warning headers total ${total} characters`);
    assert.equal(r.json().metadata.name, 'long-key');
  });
});

describe('int64 list limits', () => {
  it('limit=9223372036854775807 lists every item; limit=9223372036854775808 is a 400', async () => {
    const path = '/apis/gitops.toolkit/v1/namespaces/limits/gitrepositories';
    for (const n of ['a', 'b', 'c']) await create(path, gitBody(n));
    const r = await get(`${path}?limit=9223372036854775807`);
    assert.equal(r.status, 200, show(r));
    const list = r.json();
    assert.deepEqual(
      list.items.map((o: any) => o.metadata.name),
      ['a', 'b', 'c'],
    );
    assert.equal(list.metadata.continue, undefined, 'a continue token although every item was listed');
    assertStatus(await get(`${path}?limit=9223372036854775808`), [400]);
    await assertAlive();
  });
});

describe('fields that must be strings, given as objects', () => {
  // Found by the fuzz suite (FUZZ_SEED=13): a message built with `${obj.apiVersion}` calls the value's own
  // "toString" member, and one that is not a function throws a TypeError (a 500).
  for (const [field, body] of [
    ['apiVersion', { apiVersion: { toString: 1 }, kind: 'GitRepository', metadata: { name: 'to-string-1' } }],
    ['kind', { apiVersion: 'gitops.toolkit/v1', kind: { toString: 1 }, metadata: { name: 'to-string-2' } }],
    ['metadata.name', { apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name: { toString: 1 } } }],
  ] as const) {
    it(`${field} = {"toString": 1} is a 400 or 422, nothing stored`, async () => {
      const before = (await get(GIT)).json().items.length;
      assertStatus(await s.request('POST', GIT, { body: JSON.stringify({ ...body, spec: JSON.parse(gitSpec) }) }), [400, 422]);
      await assertAlive();
      assert.equal((await get(GIT)).json().items.length, before, 'something was stored');
    });
  }
});

describe('large writes over kept-alive connections', () => {
  // Found writing the kill -9 case of test/api/crash.test.ts: six loops of 100 KB merge patches over
  // kept-alive connections (what kubectl and client-go use) get ECONNRESET for some of them; the
  // server logs "request failed: aborted" and Node's parser fails with "Parse Error: Paused" (HPE_PAUSED).
  it('six concurrent loops of ten 100 KB merge patches on kept-alive connections are all answered 200', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `keepalive-${i}`);
    for (const name of names) await create(HR, `{"apiVersion":"gitops.toolkit/v1","kind":"HelmRelease","metadata":{"name":"${name}"},"spec":{${hrSpecFields}}}`);
    const client = new RawClient(s);
    const failures: string[] = [];
    try {
      await Promise.all(
        names.map(async (name) => {
          for (let gen = 1; gen <= 10; gen++) {
            const body = JSON.stringify({ spec: { values: { gen, blob: 'v'.repeat(100_000) } } });
            try {
              const r = await client.request({ method: 'PATCH', path: `${HR}/${name}`, body, headers: { 'Content-Type': MERGE_PATCH } });
              if (r.status !== 200) failures.push(`${name} gen ${gen}: ${r.status} ${r.text().slice(0, 200)}`);
            } catch (e) {
              failures.push(`${name} gen ${gen}: ${(e as Error).message}`);
            }
          }
        }),
      );
    } finally {
      client.close();
    }
    assert.deepEqual(failures, []);
    await assertAlive();
    for (const name of names) assert.equal((await get(`${HR}/${name}`)).json().spec.values.gen, 10, name);
  });
});
