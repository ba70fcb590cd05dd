// Kubernetes REST semantics over raw HTTPS, where kubectl does not reach: paging, resourceVersion
// rules, watch details, status subresource, deletecollection, tables, discovery and OpenAPI — on every
// API set (test/helpers/api-sets.ts): the gitops server's GitRepository and the local cluster's
// Deployment. What only the gitops server has (artifacts, its other kinds) is grouped at the end.

import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { API_SETS, serverPerSet, GITOPS, type Target } from '../helpers/api-sets.js';

const server = serverPerSet((x) => x.start({ compaction: { window: 5, intervalMs: 1000 }, bookmarkIntervalMs: 500 }));

// The sets side by side (their tests mostly wait on watches and timers), each set's tests in order.
describe('every API set', { concurrency: API_SETS.length }, () => {
  for (const set of API_SETS) {
    describe(set.name, { concurrency: 1 }, () => {
      const K = set.kind;
      let s: Target;
      before(async () => {
        s = await server(set);
      });
      after(async () => {
        await s?.stop();
      });

      const G = K.groupVersionPath;
      const NS = K.collection;
      const F = K.specField.name;
      const v = K.specField.value;
      const obj = (name: string, labels: Record<string, string> = {}, extra: Record<string, any> = {}) => {
        const o = K.make(name);
        return JSON.stringify({ ...o, ...extra, metadata: { name, labels, ...extra.metadata } });
      };

      async function create(ns: string, name: string, labels: Record<string, string> = {}) {
        await s.ensureNamespace(ns);
        const r = await s.request('POST', NS(ns), { body: obj(name, labels) });
        assert.equal(r.status, 201, r.body);
        return r.json();
      }

      /** Reads a watch stream until `until` says stop or the server ends it; returns the events. */
      function watch(path: string, until: (events: any[]) => boolean = () => false, ms = 10_000): Promise<any[]> {
        return new Promise((resolve, reject) => {
          const events: any[] = [];
          let buf = '';
          const req = https.request({ host: '127.0.0.1', port: s.port, path, ca: s.caCert, cert: s.adminCert, key: s.adminKey }, (res) => {
            if (res.statusCode !== 200) {
              let body = '';
              res.on('data', (d) => (body += d));
              res.on('end', () => reject(new Error(`watch ${res.statusCode}: ${body}`)));
              return;
            }
            res.on('data', (d) => {
              buf += d;
              let i;
              while ((i = buf.indexOf('\n')) >= 0) {
                events.push(JSON.parse(buf.slice(0, i)));
                buf = buf.slice(i + 1);
                if (until(events)) {
                  req.destroy();
                  resolve(events);
                }
              }
            });
            res.on('end', () => resolve(events));
            res.on('error', () => resolve(events));
          });
          req.on('error', (e) => (events.length || (e as any).code === 'ECONNRESET' ? resolve(events) : reject(e)));
          setTimeout(() => {
            req.destroy();
            resolve(events);
          }, ms);
          req.end();
        });
      }

      describe('create, update and status', () => {
        it('create sets uid, creationTimestamp and generation 1, drops status, supports generateName', async () => {
          const r = await s.request('POST', NS('default'), { body: obj('', {}, { metadata: { generateName: 'gen-' }, status: { conditions: [] } }) });
          assert.equal(r.status, 201, r.body);
          const o = r.json();
          assert.match(o.metadata.name, /^gen-[a-z0-9]{5}$/);
          assert.match(o.metadata.uid, /^[0-9a-f-]{36}$/);
          assert.match(o.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
          assert.equal(o.metadata.generation, 1);
          assert.deepEqual(o.status, K.createdStatus, 'the status sent is dropped');
          assert.match(o.metadata.resourceVersion, /^\d+$/);
          const long = await s.request('POST', NS('default'), { body: obj('', {}, { metadata: { generateName: `${'x'.repeat(62)}-` } }) });
          assert.equal(long.status, 201, long.body);
          assert.equal(long.json().metadata.name.length, 63, 'the prefix is cut so the generated name fits');
        });

        it('update keeps status and bumps generation only when spec changes', async () => {
          const o = await create('default', 'gen-check');
          const st = await s.request('PUT', `${NS('default')}/gen-check/status`, { body: JSON.stringify({ ...o, status: { observedGeneration: 1 }, spec: { ...o.spec, [F]: v(99) } }) });
          assert.equal(st.status, 200, st.body);
          const afterStatus = st.json();
          assert.equal(afterStatus.status.observedGeneration, 1);
          assert.equal(afterStatus.spec[F], v(1), 'a status write does not change spec');
          assert.equal(afterStatus.metadata.generation, 1);

          const labelled = { ...afterStatus, metadata: { ...afterStatus.metadata, labels: { a: 'b' } }, status: { observedGeneration: 42 } };
          const u1 = (await s.request('PUT', `${NS('default')}/gen-check`, { body: JSON.stringify(labelled) })).json();
          assert.equal(u1.metadata.generation, 1, 'metadata-only change keeps generation');
          assert.equal(u1.status.observedGeneration, 1, 'main resource cannot change status');
          const u2 = (await s.request('PUT', `${NS('default')}/gen-check`, { body: JSON.stringify({ ...u1, spec: { ...u1.spec, [F]: v(2) } }) })).json();
          assert.equal(u2.metadata.generation, 2);
          const missingRV = await s.request('PUT', `${NS('default')}/gen-check`, { body: JSON.stringify({ ...u2, metadata: { ...u2.metadata, resourceVersion: undefined } }) });
          // kube's AllowUnconditionalUpdate: a built-in kind takes a PUT without resourceVersion, a custom resource refuses it.
          assert.equal(missingRV.status, set === GITOPS ? 422 : 200, missingRV.body);
        });

        it('status merge-patch changes only status', async () => {
          await create('default', 'st-patch');
          const r = await s.request('PATCH', `${NS('default')}/st-patch/status`, {
            body: JSON.stringify({ spec: { [F]: v(9) }, status: { observedGeneration: 1 } }),
            headers: { 'Content-Type': 'application/merge-patch+json' },
          });
          assert.equal(r.status, 200, r.body);
          assert.equal(r.json().spec[F], v(1));
          assert.equal(r.json().status.observedGeneration, 1);
          const get = await s.request('GET', `${NS('default')}/st-patch/status`);
          assert.equal(get.json().status.observedGeneration, 1);
        });

        it('server-side apply creates a missing object and requires a fieldManager', async () => {
          const body = JSON.stringify(K.make('applied'));
          const noManager = await s.request('PATCH', `${NS('default')}/applied`, { body, headers: { 'Content-Type': 'application/apply-patch+yaml' } });
          assert.equal(noManager.status, 422);
          const r = await s.request('PATCH', `${NS('default')}/applied?fieldManager=tester`, { body, headers: { 'Content-Type': 'application/apply-patch+yaml' } });
          assert.equal(r.status, 201, r.body);
          assert.equal(r.json().metadata.managedFields[0].manager, 'tester');
          assert.equal(r.json().metadata.managedFields[0].operation, 'Apply');
        });

        it('dryRun=All on update and delete changes nothing', async () => {
          const o = await create('default', 'dry-upd');
          const u = await s.request('PUT', `${NS('default')}/dry-upd?dryRun=All`, { body: JSON.stringify({ ...o, spec: { ...o.spec, [F]: v(5) } }) });
          assert.equal(u.status, 200);
          assert.equal(u.json().spec[F], v(5));
          const d = await s.request('DELETE', `${NS('default')}/dry-upd?dryRun=All`);
          assert.equal(d.status, 200);
          const get = await s.request('GET', `${NS('default')}/dry-upd`);
          assert.equal(get.status, 200);
          assert.equal(get.json().spec[F], v(1));
        });

        it('dryRun=All create of a name that exists is 409 AlreadyExists, as the real write would be', async () => {
          await create('default', 'dry-taken');
          const r = await s.request('POST', `${NS('default')}?dryRun=All`, { body: obj('dry-taken') });
          assert.equal(r.status, 409, r.body);
          assert.equal(r.json().reason, 'AlreadyExists');
          const free = await s.request('POST', `${NS('default')}?dryRun=All`, { body: obj('dry-free') });
          assert.equal(free.status, 201);
          assert.equal((await s.request('GET', `${NS('default')}/dry-free`)).status, 404);
        });

        it('no finalizer can be added to an object being deleted (422), one can be removed', async () => {
          const r = await s.request('POST', NS('default'), { body: obj('fin-del', {}, { metadata: { finalizers: ['example.com/a'] } }) });
          assert.equal(r.status, 201, r.body);
          assert.equal((await s.request('DELETE', `${NS('default')}/fin-del`)).status, 200);
          const add = await s.request('PATCH', `${NS('default')}/fin-del`, {
            body: JSON.stringify({ metadata: { finalizers: ['example.com/a', 'example.com/b'] } }),
            headers: { 'Content-Type': 'application/merge-patch+json' },
          });
          assert.equal(add.status, 422, add.body);
          assert.match(add.json().message, /metadata\.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers \[\]string\{"example.com\/b"\}/);
          // finalizers of the wrong type on a deleting object: a validation error, never a 500
          for (const finalizers of ['str', { a: 1 }, 7]) {
            const r = await s.request('PATCH', `${NS('default')}/fin-del`, { body: JSON.stringify({ metadata: { finalizers } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
            assert.ok(r.status === 400 || r.status === 422, `${JSON.stringify(finalizers)}: ${r.status} ${r.body}`);
          }
          const dry = JSON.stringify({ dryRun: [{ toString: 1 }] });
          const badDry = await s.request('DELETE', `${NS('default')}/fin-del`, { body: dry, headers: { 'Content-Length': String(Buffer.byteLength(dry)) } });
          assert.equal(badDry.status, 400, badDry.body);
          const remove = await s.request('PATCH', `${NS('default')}/fin-del`, { body: JSON.stringify({ metadata: { finalizers: null } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
          assert.equal(remove.status, 200, remove.body);
          assert.equal((await s.request('GET', `${NS('default')}/fin-del`)).status, 404, 'the last finalizer gone completes the deletion');
        });
      });

      describe('list', () => {
        it('pages with limit/continue over one consistent snapshot', async () => {
          for (let i = 0; i < 7; i++) await create('paging', `p-${i}`);
          const first = (await s.request('GET', `${NS('paging')}?limit=3`)).json();
          assert.equal(first.items.length, 3);
          assert.ok(first.metadata.continue);
          assert.equal(first.metadata.remainingItemCount, 4);
          await create('paging', 'p-late'); // not part of the snapshot
          const second = (await s.request('GET', `${NS('paging')}?limit=3&continue=${encodeURIComponent(first.metadata.continue)}`)).json();
          const third = (await s.request('GET', `${NS('paging')}?limit=3&continue=${encodeURIComponent(second.metadata.continue)}`)).json();
          const names = [...first.items, ...second.items, ...third.items].map((i: any) => i.metadata.name);
          assert.deepEqual(names, ['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);
          assert.equal(third.metadata.continue, undefined);
          assert.equal(third.metadata.resourceVersion, first.metadata.resourceVersion);
        });

        it('an invalid continue token is a 400, an expired one a 410', async () => {
          assert.equal((await s.request('GET', `${NS('paging')}?limit=1&continue=garbage`)).status, 400);
          const page = (await s.request('GET', `${NS('paging')}?limit=1`)).json();
          for (let i = 0; i < 12; i++) await create('churn', `c-${i}`); // past the compaction window of 5
          await new Promise((r) => setTimeout(r, 2500)); // compaction runs every second
          const r = await s.request('GET', `${NS('paging')}?limit=1&continue=${encodeURIComponent(page.metadata.continue)}`);
          assert.equal(r.status, 410, r.body);
          assert.equal(r.json().reason, 'Expired');
        });

        it('resourceVersionMatch rules', async () => {
          assert.equal((await s.request('GET', `${NS('paging')}?resourceVersionMatch=Exact`)).status, 400);
          assert.equal((await s.request('GET', `${NS('paging')}?resourceVersion=0&resourceVersionMatch=Exact`)).status, 400);
          assert.equal((await s.request('GET', `${NS('paging')}?resourceVersion=1&resourceVersionMatch=Exact`)).status, 410);
          const now = (await s.request('GET', NS('paging'))).json();
          assert.equal((await s.request('GET', `${NS('paging')}?resourceVersion=${now.metadata.resourceVersion}&resourceVersionMatch=NotOlderThan`)).status, 200);
          const exact = await s.request('GET', `${NS('paging')}?resourceVersion=${now.metadata.resourceVersion}&resourceVersionMatch=Exact`);
          assert.equal(exact.status, 200);
          assert.equal(exact.json().items.length, now.items.length);
          assert.equal((await s.request('GET', `${NS('paging')}?resourceVersion=999999999&resourceVersionMatch=NotOlderThan`)).status, 504);
        });

        it('label selectors (=, !=, in, notin, exists) and field selectors', async () => {
          await create('sel', 'a', { tier: 'web', env: 'prod' });
          await create('sel', 'b', { tier: 'db', env: 'prod' });
          await create('sel', 'c', { tier: 'web' });
          const names = async (q: string) => (await s.request('GET', `${NS('sel')}?${q}`)).json().items.map((i: any) => i.metadata.name).sort().join(',');
          assert.equal(await names('labelSelector=tier%3Dweb'), 'a,c');
          assert.equal(await names('labelSelector=tier!%3Dweb'), 'b');
          assert.equal(await names('labelSelector=tier%20in%20(web,db),env'), 'a,b');
          assert.equal(await names('labelSelector=tier%20notin%20(web)'), 'b');
          assert.equal(await names('labelSelector=!env'), 'c');
          assert.equal(await names('fieldSelector=metadata.name%3Db'), 'b');
          assert.equal(await names('fieldSelector=metadata.name!%3Db'), 'a,c');
          const all = (await s.request('GET', `${K.all}?fieldSelector=metadata.namespace%3Dsel`)).json();
          assert.equal(all.items.length, 3);
          assert.equal((await s.request('GET', `${NS('sel')}?fieldSelector=${K.unsupportedFieldSelector}%3Dx`)).status, 400);
          assert.equal((await s.request('GET', `${NS('sel')}?labelSelector=in%20(`)).status, 400);
        });

        it('deletecollection honours selectors', async () => {
          const r = await s.request('DELETE', `${NS('sel')}?labelSelector=tier%3Dweb`);
          assert.equal(r.status, 200, r.body);
          assert.deepEqual(r.json().items.map((i: any) => i.metadata.name).sort(), ['a', 'c']);
          assert.deepEqual((await s.request('GET', NS('sel'))).json().items.map((i: any) => i.metadata.name), ['b']);
        });

        it('Table and PartialObjectMetadata output', async () => {
          const t = await s.request('GET', NS('paging'), { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
          const table = t.json();
          assert.equal(table.kind, 'Table');
          assert.deepEqual(table.columnDefinitions.slice(0, 2).map((c: any) => c.name), K.table.first);
          assert.equal(table.rows[0].object.kind, 'PartialObjectMetadata');
          assert.equal(table.rows[0].cells[0], 'p-0');
          const p = (await s.request('GET', NS('paging'), { headers: { Accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' } })).json();
          assert.equal(p.kind, 'PartialObjectMetadataList');
          assert.equal(p.items[0].spec, undefined);
        });

        // kube-apiserver serves protobuf for built-in kinds and refuses it (406) for custom resources.
        // The local cluster decodes protobuf request bodies but answers in JSON only: a client that
        // accepts nothing else gets 406 (kubectl, helm and client-go's typed clients accept JSON too).
        it(K.protobuf ? 'a protobuf-only Accept is refused with 406 naming JSON; protobuf-or-JSON is answered in JSON' : 'protobuf is refused with 406, as kube refuses it for custom resources', async () => {
          const r = await s.request('GET', NS('paging'), { headers: { Accept: 'application/vnd.kubernetes.protobuf' } });
          assert.equal(r.status, 406);
          if (!K.protobuf) return;
          assert.match(r.json().message, /application\/json/);
          const both = await s.request('GET', NS('paging'), { headers: { Accept: 'application/vnd.kubernetes.protobuf, application/json' } });
          assert.equal(both.status, 200);
          assert.match(String(both.headers['content-type']), /^application\/json/);
        });
      });

      describe('watch', () => {
        it('starts with ADDED for existing objects, then streams changes', async () => {
          await create('w1', 'existing');
          const p = watch(`${NS('w1')}?watch=true`, (ev) => ev.length >= 3);
          await new Promise((r) => setTimeout(r, 500));
          await create('w1', 'new');
          await s.request('DELETE', `${NS('w1')}/existing`);
          const events = await p;
          assert.deepEqual(events.map((e) => `${e.type}:${e.object.metadata.name}`), ['ADDED:existing', 'ADDED:new', 'DELETED:existing']);
        });

        it('resumes from a resourceVersion with exactly the missed events', async () => {
          const a = await create('w2', 'a');
          await create('w2', 'b');
          await s.request('DELETE', `${NS('w2')}/a`);
          const events = await watch(`${NS('w2')}?watch=1&resourceVersion=${a.metadata.resourceVersion}`, (ev) => ev.length >= 2, 5000);
          assert.deepEqual(events.map((e) => `${e.type}:${e.object.metadata.name}`), ['ADDED:b', 'DELETED:a']);
        });

        it('sendInitialEvents ends the initial state with an annotated BOOKMARK', async () => {
          const events = await watch(`${NS('w2')}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`, (ev) => ev.some((e) => e.type === 'BOOKMARK'));
          assert.equal(events[0].type, 'ADDED');
          const bm = events.at(-1);
          assert.equal(bm.type, 'BOOKMARK');
          assert.equal(bm.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
          assert.equal((await s.request('GET', `${NS('w2')}?watch=1&sendInitialEvents=true`)).status, 422);
        });

        it('an idle watch that asked for bookmarks gets BOOKMARKs with the current resourceVersion', async () => {
          const list = (await s.request('GET', NS('idle'))).json();
          const events = await watch(`${NS('idle')}?watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`, (ev) => ev.length >= 1, 5000);
          assert.equal(events[0]?.type, 'BOOKMARK');
          assert.equal(events[0].object.kind, K.kind);
          assert.ok(BigInt(events[0].object.metadata.resourceVersion) >= BigInt(list.metadata.resourceVersion));
          const none = await watch(`${NS('idle')}?watch=1&resourceVersion=${list.metadata.resourceVersion}`, () => false, 1500);
          assert.deepEqual(none, [], 'no bookmarks unless asked');
        });

        it('timeoutSeconds ends the stream', async () => {
          const started = Date.now();
          await watch(`${NS('w2')}?watch=1&timeoutSeconds=1`, () => false, 10_000);
          assert.ok(Date.now() - started < 5000);
        });

        it('a compacted resourceVersion gives an ERROR event with 410 Expired', async () => {
          for (let i = 0; i < 12; i++) await create('w3', `x-${i}`);
          await new Promise((r) => setTimeout(r, 2500));
          const events = await watch(`${NS('w3')}?watch=1&resourceVersion=2`, (ev) => ev.length >= 1, 5000);
          assert.equal(events[0].type, 'ERROR');
          assert.equal(events[0].object.code, 410);
          assert.equal(events[0].object.reason, 'Expired');
        });

        it('a label selector turns an object leaving the selection into DELETED', async () => {
          const o = await create('w4', 'lab', { sel: 'yes' });
          const p = watch(`${NS('w4')}?watch=1&labelSelector=sel%3Dyes&resourceVersion=${o.metadata.resourceVersion}`, (ev) => ev.length >= 1);
          await new Promise((r) => setTimeout(r, 300));
          await s.request('PATCH', `${NS('w4')}/lab`, { body: '{"metadata":{"labels":{"sel":"no"}}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
          const events = await p;
          assert.equal(events[0].type, 'DELETED');
        });
      });

      describe('discovery, OpenAPI and health', () => {
        const groupPath = G.startsWith('/api/') ? '/api' : G.slice(0, G.lastIndexOf('/'));
        const root = G.startsWith('/api/') ? '/api' : '/apis';

        it('aggregated discovery by Accept, with ETag, 304 and Vary', async () => {
          const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
          const r = await s.request('GET', root, { headers: { Accept: accept } });
          assert.equal(r.status, 200);
          assert.match(String(r.headers['content-type']), /as=APIGroupDiscoveryList/);
          assert.equal(r.headers.vary, 'Accept');
          const doc = r.json();
          assert.equal(doc.kind, 'APIGroupDiscoveryList');
          const group = doc.items.find((g: any) => (g.metadata.name ?? '') === K.group);
          assert.ok(group, `${K.group} missing from ${doc.items.map((g: any) => g.metadata.name)}`);
          const version = group.versions.find((x: any) => x.version === K.version);
          const res = version.resources.find((x: any) => x.resource === K.plural);
          assert.deepEqual(res.subresources.map((x: any) => x.subresource).sort(), K.subresources);
          const again = await s.request('GET', root, { headers: { Accept: accept, 'If-None-Match': String(r.headers.etag) } });
          assert.equal(again.status, 304);
          const beta = await s.request('GET', root, { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' } });
          assert.equal(beta.json().apiVersion, 'apidiscovery.k8s.io/v2beta1');
          assert.equal((await s.request('GET', '/apis')).json().kind, 'APIGroupList');
          assert.equal((await s.request('GET', '/apis', { headers: { Accept: 'application/yaml' } })).status, 406);
          const rl = (await s.request('GET', G)).json();
          for (const sub of K.subresources) assert.ok(rl.resources.some((x: any) => x.name === `${K.plural}/${sub}`), `${K.plural}/${sub}`);
        });

        it('group and group-version discovery answer an Accept they cannot serve with 406, as kube does', async () => {
          for (const path of [groupPath, G]) {
            for (const accept of ['application/xml', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'text/html']) {
              const r = await s.request('GET', path, { headers: { Accept: accept } });
              assert.equal(r.status, 406, `${path} ${accept}: ${r.status}`);
              assert.equal(r.json().reason, 'NotAcceptable');
            }
            for (const accept of ['application/json', '*/*', 'application/json, */*', 'application/*']) assert.equal((await s.request('GET', path, { headers: { Accept: accept } })).status, 200, `${path} ${accept}`);
          }
        });

        it('OpenAPI v3 declares dryRun and fieldValidation, and the patch types the kind takes', async () => {
          const index = (await s.request('GET', '/openapi/v3')).json();
          const url = index.paths[G.slice(1)].serverRelativeURL;
          const doc = (await s.request('GET', url)).json();
          const patch = doc.paths[`${G}/namespaces/{namespace}/${K.plural}/{name}`].patch;
          const names = patch.parameters.map((x: any) => x.name);
          assert.ok(names.includes('dryRun') && names.includes('fieldValidation') && names.includes('force'));
          assert.deepEqual(Object.keys(patch.requestBody.content).sort(), K.openapi.patchTypes);
          assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: K.group, version: K.version, kind: K.kind });
          let schema = doc.components.schemas[K.openapi.v3Schema];
          for (const p of K.openapi.described) schema = schema.properties[p];
          assert.ok(schema.description, K.openapi.described.join('.'));
          const v2 = (await s.request('GET', '/openapi/v2')).json();
          assert.ok(v2.definitions[K.openapi.v2Definition]);
        });

        it('health endpoints answer without credentials, verbose lists checks', async () => {
          for (const p of ['/healthz', '/livez', '/readyz']) assert.equal((await s.request('GET', p, { cert: null })).body, 'ok');
          const v = await s.request('GET', '/readyz?verbose', { cert: null });
          assert.match(v.body, /\[\+\]ping ok/);
          assert.match(v.body, /\[\+\]storage ok/);
          assert.match(v.body, /readyz check passed/);
          assert.equal((await s.request('GET', '/version')).json().major, '1');
          assert.equal((await s.request('GET', '/version', { cert: null })).status, 401);
        });
      });

      if (set === GITOPS)
        describe('gitops only: the other kinds and artifacts', () => {
          it('discovery lists each kind’s subresources: artifact for the sources, status for all, the views a kind declares', async () => {
            const doc = (await s.request('GET', '/apis', { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' } })).json();
            assert.equal(doc.items[0].metadata.name, 'gitops.toolkit');
            const kus = doc.items[0].versions[0].resources.find((x: any) => x.resource === 'kustomizations');
            assert.deepEqual(kus.subresources.map((x: any) => [x.subresource, x.verbs]), [['build', ['get']], ['diff', ['get']], ['status', ['get', 'patch', 'update']]]);
            const rl = (await s.request('GET', G)).json();
            assert.ok(rl.resources.some((x: any) => x.name === 'helmcharts/artifact'));
            assert.ok(!rl.resources.some((x: any) => x.name === 'helmreleases/artifact'));
          });

          it('the artifact subresource is a 404 Status while there is no artifact', async () => {
            await create('default', 'no-artifact');
            const r = await s.request('GET', `${NS('default')}/no-artifact/artifact`);
            assert.equal(r.status, 404);
            assert.equal(r.json().kind, 'Status');
          });
        });
    });
  }
});
