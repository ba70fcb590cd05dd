// Bad input gets a precise metav1.Status, the server keeps serving, and nothing partial is stored — on
// every API set (test/helpers/api-sets.ts): the gitops server's GitRepository and the local cluster's
// Deployment.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { API_SETS, serverPerSet, GITOPS, type Target } from '../helpers/api-sets.js';

async function expectStatus(r: { status: number; json(): any }, code: number, reason: string) {
  assert.equal(r.status, code);
  const st = r.json();
  assert.equal(st.kind, 'Status');
  assert.equal(st.apiVersion, 'v1');
  assert.equal(st.status, 'Failure');
  assert.equal(st.code, code);
  assert.equal(st.reason, reason);
  return st;
}

const server = serverPerSet((x) => x.start());

for (const set of API_SETS) {
  describe(set.name, () => {
    const K = set.kind;
    let s: Target;
    before(async () => {
      s = await server(set);
    });
    after(async () => {
      await s?.stop();
    });

    const BASE = K.collection('default');
    const good = (name: string, extra: Record<string, unknown> = {}) => ({ ...K.make(name), ...extra });
    const field = K.specField.name;

    async function count(): Promise<number> {
      const r = await s.request('GET', BASE);
      assert.equal(r.status, 200);
      return r.json().items.length;
    }

    describe('bad input', () => {
      it('malformed JSON is a 400 naming the problem', async () => {
        const st = await expectStatus(await s.request('POST', BASE, { body: `{"apiVersion": "${K.apiVersion}", "kind": ` }), 400, 'BadRequest');
        assert.match(st.message, /not valid JSON/);
      });

      it('malformed YAML is a 400', async () => {
        const st = await expectStatus(await s.request('POST', BASE, { body: `kind: ${K.kind}\n  bad: [indent`, headers: { 'Content-Type': 'application/yaml' } }), 400, 'BadRequest');
        assert.match(st.message, /not valid YAML/);
      });

      it('YAML bodies are accepted', async () => {
        const r = await s.request('POST', BASE, { body: yaml.dump(good('from-yaml')), headers: { 'Content-Type': 'application/yaml' } });
        assert.equal(r.status, 201, r.body);
      });

      it('a wrong apiVersion or kind is a 400', async () => {
        const st = await expectStatus(await s.request('POST', BASE, { body: JSON.stringify(good('x', { apiVersion: 'source.toolkit.fluxcd.io/v1' })) }), 400, 'BadRequest');
        assert.match(st.message, /source.toolkit.fluxcd.io\/v1/);
        await expectStatus(await s.request('POST', BASE, { body: JSON.stringify(good('x', { kind: K.otherKind })) }), 400, 'BadRequest');
      });

      it('a namespace in the body that differs from the URL is a 400', async () => {
        const st = await expectStatus(await s.request('POST', BASE, { body: JSON.stringify({ ...good('x'), metadata: { name: 'x', namespace: 'other' } }) }), 400, 'BadRequest');
        assert.match(st.message, /namespace of the provided object does not match/);
      });

      it('unknown fields: Strict refuses, Warn warns and drops, Ignore drops', async () => {
        const leaf = K.unknownField.split('.').at(-1)!;
        const o = good('unknown');
        const body = JSON.stringify({ ...o, spec: { ...o.spec, [leaf]: 'blue' } });
        const st = await expectStatus(await s.request('POST', `${BASE}?fieldValidation=Strict`, { body }), 400, 'BadRequest');
        assert.match(st.message, new RegExp(`unknown field "${K.unknownField}"`));
        const warned = await s.request('POST', `${BASE}?fieldValidation=Warn`, { body });
        assert.equal(warned.status, 201);
        assert.match(String(warned.headers.warning), new RegExp(`299 - "unknown field \\\\"${K.unknownField}\\\\""`));
        assert.equal(warned.json().spec[leaf], undefined);
        const del = await s.request('DELETE', `${BASE}/unknown`);
        assert.equal(del.status, 200);
        const ignored = await s.request('POST', `${BASE}?fieldValidation=Ignore`, { body });
        assert.equal(ignored.status, 201);
        assert.equal(ignored.headers.warning, undefined);
      });

      it('duplicate fields: Strict refuses, Warn warns and keeps the last value', async () => {
        // spec's field twice: first value(1), then value(2), the maker's.
        const body = JSON.stringify(K.make('dup', 2)).replace('"spec":{', `"spec":{${JSON.stringify(field)}:${JSON.stringify(K.specField.value(1))},`);
        const st = await expectStatus(await s.request('POST', `${BASE}?fieldValidation=Strict`, { body }), 400, 'BadRequest');
        assert.match(st.message, new RegExp(`duplicate field "spec.${field}"`));
        const warned = await s.request('POST', BASE, { body });
        assert.equal(warned.status, 201);
        assert.match(String(warned.headers.warning), /duplicate field/);
        assert.equal(warned.json().spec[field], K.specField.value(2));
      });

      it('a body over 3 MiB is a 413 and the server keeps serving', async () => {
        const big = JSON.stringify(good('big', { metadata: { name: 'big', annotations: { a: 'x'.repeat(4 * 1024 * 1024) } } }));
        await expectStatus(await s.request('POST', BASE, { body: big }), 413, 'RequestEntityTooLarge');
        assert.equal((await s.request('GET', '/readyz')).status, 200);
        assert.equal((await s.request('GET', `${BASE}/big`)).status, 404);
      });

      it('invalid names are a 422 naming metadata.name', async () => {
        for (const name of ['Upper_Case', 'a'.repeat(254), '-leading']) {
          const st = await expectStatus(await s.request('POST', BASE, { body: JSON.stringify(good(name)) }), 422, 'Invalid');
          assert.ok(st.details.causes.some((c: any) => c.field === 'metadata.name'), JSON.stringify(st.details));
        }
      });

      it('a validation failure names every bad field, with the kind and group', async () => {
        const st = await expectStatus(await s.request('POST', BASE, { body: JSON.stringify(K.invalid.make('invalid')) }), 422, 'Invalid');
        const fields = st.details.causes.map((c: any) => c.field);
        for (const f of K.invalid.fields) assert.ok(fields.includes(f), `${f} not in ${fields.join()}`);
        assert.equal(st.details.kind, K.kind);
        assert.equal(st.details.group, K.group);
      });

      it('nothing of a rejected request is stored', async () => {
        const before = await count();
        await s.request('POST', BASE, { body: '{"kind":' });
        await s.request('POST', BASE, { body: JSON.stringify(K.invalid.make('half')) });
        assert.equal(await count(), before);
      });

      it('no client certificate is a 401 Status', async () => {
        await expectStatus(await s.request('GET', BASE, { cert: null }), 401, 'Unauthorized');
      });

      it('unknown resources and methods get Status errors', async () => {
        await expectStatus(await s.request('GET', `${K.groupVersionPath}/namespaces/default/widgets`), 404, 'NotFound');
        await expectStatus(await s.request('GET', `${BASE}/missing`), 404, 'NotFound');
        await expectStatus(await s.request('GET', `${BASE}/x/bogus`), 404, 'NotFound');
      });

      it('a stale resourceVersion on update is a 409 Conflict', async () => {
        const created = await s.request('POST', BASE, { body: JSON.stringify(good('cas')) });
        const obj = created.json();
        obj.spec[field] = K.specField.value(2);
        assert.equal((await s.request('PUT', `${BASE}/cas`, { body: JSON.stringify(obj) })).status, 200);
        obj.spec[field] = K.specField.value(3);
        await expectStatus(await s.request('PUT', `${BASE}/cas`, { body: JSON.stringify(obj) }), 409, 'Conflict');
      });
    });

    if (set === GITOPS)
      describe('bad input of the gitops schemas', () => {
        it('a schema violation names every bad field', async () => {
          const body = JSON.stringify({ ...good('schema'), spec: { interval: 5, url: 'https://x/y', ref: { semver: 'not a range!' }, timeout: 'soon' } });
          const st = await expectStatus(await s.request('POST', BASE, { body }), 422, 'Invalid');
          const fields = st.details.causes.map((c: any) => c.field);
          assert.ok(fields.includes('spec.interval'), fields.join());
          assert.ok(fields.includes('spec.timeout'), fields.join());
          assert.equal(st.details.kind, 'GitRepository');
          assert.equal(st.details.group, 'gitops.toolkit');
        });
      });
  });
}
