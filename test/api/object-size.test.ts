// The stored-object limit (1.5 MiB encoded, etcd's default and so kube's) holds on every write path:
// create, PUT, PUT /status, each patch type, server-side apply, dry runs included. The body limit
// (3 MiB) is larger, so each of these bodies gets through decoding and is refused by the store: a
// 413 that names the limit, nothing stored, the object unchanged.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestServer, type HttpResult } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start(['--controllers=']);
});
after(async () => {
  await s?.cleanup();
});

const HR = '/apis/gitops.toolkit/v1/namespaces/default/helmreleases';
const BIG = 'x'.repeat(2 * 1024 * 1024); // over 1.5 MiB stored, under the 3 MiB body limit
const hr = (name: string, values: unknown = {}) => ({
  apiVersion: 'gitops.toolkit/v1',
  kind: 'HelmRelease',
  metadata: { name },
  spec: { interval: '10m', chart: { spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } } }, values },
});

function assertTooLarge(r: HttpResult, what: string): void {
  assert.equal(r.status, 413, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
  const st = r.json();
  assert.equal(st.reason, 'RequestEntityTooLarge', what);
  assert.match(st.message, /would be 2(\.\d+)? MiB when stored, over the limit of 1\.5 MiB for one object/, what);
}

describe('the 1.5 MiB stored-object limit', () => {
  it('refuses a create, and a dry-run create, storing nothing', async () => {
    for (const q of ['', '?dryRun=All']) assertTooLarge(await s.request('POST', `${HR}${q}`, { body: JSON.stringify(hr('big', { blob: BIG })) }), `create${q}`);
    assert.equal((await s.request('GET', `${HR}/big`)).status, 404);
  });

  it('refuses PUT, PUT /status, merge, JSON and apply patches of an existing object, which stays as it was', async () => {
    const created = await s.request('POST', HR, { body: JSON.stringify(hr('small', { a: 1 })) });
    assert.equal(created.status, 201, created.body);
    const obj = created.json();
    const rv = obj.metadata.resourceVersion;
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    const attempts: [string, () => Promise<HttpResult>][] = [
      ['PUT', () => s.request('PUT', `${HR}/small`, { body: JSON.stringify({ ...obj, spec: { ...obj.spec, values: { blob: BIG } } }) })],
      ['PUT /status', () => s.request('PUT', `${HR}/small/status`, { body: JSON.stringify({ ...obj, status: { lastAttemptedRevision: BIG } }) })],
      ['merge patch', () => s.request('PATCH', `${HR}/small`, { body: JSON.stringify({ spec: { values: { blob: BIG } } }), headers: merge })],
      ['merge patch of /status', () => s.request('PATCH', `${HR}/small/status`, { body: JSON.stringify({ status: { lastAttemptedRevision: BIG } }), headers: merge })],
      ['JSON patch', () => s.request('PATCH', `${HR}/small`, { body: JSON.stringify([{ op: 'add', path: '/spec/values/blob', value: BIG }]), headers: { 'Content-Type': 'application/json-patch+json' } })],
      ['server-side apply', () => s.request('PATCH', `${HR}/small?fieldManager=t&force=true`, { body: JSON.stringify(hr('small', { blob: BIG })), headers: { 'Content-Type': 'application/apply-patch+yaml' } })],
      ['dry-run merge patch', () => s.request('PATCH', `${HR}/small?dryRun=All`, { body: JSON.stringify({ spec: { values: { blob: BIG } } }), headers: merge })],
    ];
    for (const [what, send] of attempts) assertTooLarge(await send(), what);
    const after = (await s.request('GET', `${HR}/small`)).json();
    assert.equal(after.metadata.resourceVersion, rv, 'nothing was written');
    assert.deepEqual(after.spec.values, { a: 1 });
  });

  it('server-side apply creating an object is refused too', async () => {
    assertTooLarge(
      await s.request('PATCH', `${HR}/applied?fieldManager=t`, { body: JSON.stringify(hr('applied', { blob: BIG })), headers: { 'Content-Type': 'application/apply-patch+yaml' } }),
      'apply create',
    );
    assert.equal((await s.request('GET', `${HR}/applied`)).status, 404);
  });

  it('an object just under the limit is stored and served whole', async () => {
    const r = await s.request('POST', HR, { body: JSON.stringify(hr('near', { blob: 'y'.repeat(1024 * 1024) })) });
    assert.equal(r.status, 201, r.body.slice(0, 300));
    assert.equal((await s.request('GET', `${HR}/near`)).json().spec.values.blob.length, 1024 * 1024);
  });
});

describe('metadata fields of the wrong type', () => {
  it('resourceVersion or uid given as an object is a 400 at decode, as kube answers', async () => {
    for (const f of ['resourceVersion', 'uid']) {
      const body = hr(`typed-${f.toLowerCase()}`);
      (body.metadata as Record<string, unknown>)[f] = { x: 1 };
      const r = await s.request('POST', HR, { body: JSON.stringify(body) });
      assert.equal(r.status, 400, `${f}: ${r.body}`);
      assert.match(r.json().message, new RegExp(`metadata\\.${f}: Invalid value: must be a string, got object`));
    }
  });
});
