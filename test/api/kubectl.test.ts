// The API through the real kubectl 1.32, on every API set (test/helpers/api-sets.ts): the gitops
// server's GitRepository and the local cluster's Deployment, each against a server this test starts.

import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { API_SETS, serverPerSet, type Target } from '../helpers/api-sets.js';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const server = serverPerSet((x) => x.start());

// The sets side by side (their tests mostly wait on watches and timers), each set's tests in order.
describe('every API set', { concurrency: API_SETS.length }, () => {
  for (const set of API_SETS) {
    describe(set.name, { concurrency: 1 }, () => {
      const K = set.kind;
      const X = set.kubectl;
      let s: Target;
      before(async () => {
        s = await server(set);
      });
      after(async () => {
        await s?.stop();
      });

      const F = K.specField.name;
      const v = K.specField.value;
      /** The kind's object as YAML, in `ns`, its spec field at value(n). */
      const manifest = (name: string, ns = 'default', n = 1, tweak: (o: any) => void = () => undefined) => {
        const o = K.make(name, n);
        o.metadata.namespace = ns;
        tweak(o);
        return yaml.dump(o);
      };
      const get = async (name: string) => JSON.parse(await s.k(['get', K.shortName, name, '-o', 'json']));

      describe('kubectl discovery', () => {
        it(`api-resources lists the kinds of ${X.apiGroup} with short names and categories`, async () => {
          const out = await s.k(['api-resources', `--api-group=${X.apiGroup}`, '-o', 'wide']);
          for (const [name, short, kind, category] of X.resources) {
            const line = out.split('\n').find((l) => l.startsWith(`${name} `));
            assert.ok(line, `${name} missing from:\n${out}`);
            if (short) assert.match(line, new RegExp(`\\b${short}\\b`));
            assert.match(line, new RegExp(`${esc(K.apiVersion)}\\s+true\\s+${kind}\\b`));
            if (category) assert.match(line, new RegExp(`\\b${category}\\b`));
          }
        });

        it('explain prints the schema documentation of nested fields', async () => {
          const out = await s.k(['explain', X.explain.path]);
          assert.match(out, new RegExp(`GROUP:\\s+${esc(K.group)}`));
          assert.match(out, new RegExp(`KIND:\\s+${K.kind}`));
          assert.match(out, new RegExp(`VERSION:\\s+${K.version}`));
          assert.match(out, new RegExp(`FIELD: ${esc(X.explain.field)}`));
          for (const [f, type] of X.explain.children) assert.match(out, new RegExp(`^\\s+${f}\\s+<${esc(type)}>`, 'm'));
          const meta = await s.k(['explain', `${X.explain.labelsOf}.metadata.labels`]);
          assert.match(meta, /map\[string\]string/);
        });

        it('explain reads the OpenAPI v2 document in protobuf, as kubectl asks for it', async () => {
          const out = await s.k(['explain', X.explainV2.path, '--output=plaintext-openapiv2']);
          assert.match(out, new RegExp(`KIND:\\s+${X.explainV2.kind}`));
          assert.match(out, new RegExp(`VERSION:\\s+${esc(X.explainV2.version)}`));
          for (const [f, type] of X.explainV2.children) assert.match(out, new RegExp(`^\\s+${f}\\s+<${esc(type)}>`, 'm'));
          assert.match(await s.k(['explain', `${X.explainV2.labelsOf}.metadata.labels`, '--output=plaintext-openapiv2']), /map\[string\]string/);
        });

        it('an unported Flux manifest gets kubectl’s usual "no matches for kind", not a validation error', async () => {
          const flux = 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: app, namespace: default}\nspec: {interval: 1m, path: ./, prune: true, sourceRef: {kind: GitRepository, name: app}}\n';
          const r = await s.kubectl(['apply', '-f', '-'], { input: flux });
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /no matches for kind "Kustomization" in version "kustomize\.toolkit\.fluxcd\.io\/v1"/);
          assert.doesNotMatch(r.stderr, /error validating/);
        });
      });

      describe('kubectl writes and reads', () => {
        it('apply creates, a second apply updates with a merge patch and bumps generation', async () => {
          assert.match(await s.k(['apply', '-f', '-'], { input: manifest('podinfo') }), new RegExp(`${esc(K.ref('podinfo'))} created`));
          const first = await get('podinfo');
          assert.equal(first.metadata.generation, 1);
          assert.ok(first.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
          assert.match(await s.k(['apply', '-f', '-'], { input: manifest('podinfo', 'default', 10) }), /configured/);
          const second = await get('podinfo');
          assert.equal(second.spec[F], v(10));
          assert.equal(second.metadata.generation, 2);
          assert.equal(second.metadata.uid, first.metadata.uid);
          assert.match(await s.k(['apply', '-f', '-'], { input: manifest('podinfo', 'default', 10) }), /unchanged/);
        });

        it('get shows printer columns, -o wide extras, -o yaml, short names, category and -A', async () => {
          await s.ensureNamespace('team-a');
          await s.k(['apply', '-f', '-'], { input: manifest('other', 'team-a') });
          const table = await s.k(['get', K.plural]);
          assert.match(table.split('\n')[0], K.table.header);
          assert.match(table, K.table.row('podinfo'));
          assert.doesNotMatch(table, /other/);
          const wide = await s.k(['get', K.shortName, '-o', 'wide']);
          assert.match(wide.split('\n')[0], new RegExp(K.table.wideColumn));
          const asYaml = yaml.load(await s.k(['get', K.shortName, 'podinfo', '-o', 'yaml'])) as any;
          assert.equal(asYaml.kind, K.kind);
          assert.equal(K.mark(asYaml), K.markOf('podinfo'));
          const all = await s.k(['get', K.shortName, '-A']);
          assert.match(all.split('\n')[0], /^NAMESPACE\s+NAME/);
          assert.match(all, /team-a\s+other/);
          assert.match(all, /default\s+podinfo/);
          const byCategory = await s.k(['get', K.category, '-A']);
          assert.match(byCategory, new RegExp(esc(K.ref('podinfo'))));
          assert.match(byCategory, new RegExp(esc(K.ref('other'))));
        });

        it('apply --server-side creates, tracks managedFields, and reports a conflicting manager', async () => {
          assert.match(await s.k(['apply', '--server-side', '-f', '-'], { input: manifest('apps', 'default', 5) }), /serverside-applied/);
          const obj = JSON.parse(await s.k(['get', K.shortName, 'apps', '-o', 'json', '--show-managed-fields']));
          const entry = obj.metadata.managedFields.find((m: any) => m.manager === 'kubectl');
          assert.equal(entry.operation, 'Apply');
          assert.ok(entry.fieldsV1['f:spec'][`f:${F}`]);
          const clash = await s.kubectl(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: manifest('apps', 'default', 1) });
          assert.notEqual(clash.code, 0);
          assert.match(clash.stderr, /conflict/i);
          assert.match(clash.stderr, new RegExp(`\\.spec\\.${F}`));
          assert.match(clash.stderr, /kubectl/);
          assert.match(await s.k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], { input: manifest('apps', 'default', 1) }), /serverside-applied/);
          assert.equal(JSON.parse(await s.k(['get', K.shortName, 'apps', '-o', 'json'])).spec[F], v(1));
        });

        it('edit applies what a scripted editor changed', async () => {
          const editor = join(s.dir, 'editor.sh');
          await writeFile(editor, `#!/bin/sh\nsed -i 's/^\\(  *\\)${F}: ${v(10)}$/\\1${F}: ${v(7)}/' "$1"\n`);
          await chmod(editor, 0o755);
          assert.match(await s.k(['edit', K.singular, 'podinfo'], { env: { KUBE_EDITOR: editor, EDITOR: editor } }), /edited/);
          assert.equal((await get('podinfo')).spec[F], v(7));
        });

        it(K.strategic ? 'patch with json, merge and strategic types' : 'patch with json and merge types; strategic is refused', async () => {
          await s.k(['patch', K.shortName, 'podinfo', '--type=merge', '-p', JSON.stringify(K.flag.patch)]);
          await s.k(['patch', K.shortName, 'podinfo', '--type=json', '-p', JSON.stringify(K.jsonPatch.patch)]);
          const obj = await get('podinfo');
          assert.ok(K.flag.check(obj), JSON.stringify(obj.spec));
          assert.ok(K.jsonPatch.check(obj), JSON.stringify(obj.spec));
          if (K.strategic) {
            await s.k(['patch', K.shortName, 'podinfo', '--type=strategic', '-p', JSON.stringify(K.strategic.patch)]);
            const merged = await get('podinfo');
            assert.ok(K.strategic.check(merged), JSON.stringify(merged.spec));
          } else {
            const smp = await s.kubectl(['patch', K.shortName, 'podinfo', '--type=strategic', '-p', JSON.stringify(K.flag.patch)]);
            assert.notEqual(smp.code, 0);
            assert.match(smp.stderr, /UnsupportedMediaType|unknown format|not supported|415/i);
          }
        });

        it('label and annotate', async () => {
          await s.k(['label', K.shortName, 'podinfo', 'team=web']);
          await s.k(['annotate', K.shortName, 'podinfo', 'owner=alice']);
          const out = await s.k(['get', K.shortName, '-l', 'team=web', '-o', 'name']);
          assert.equal(out.trim(), K.ref('podinfo'));
          // In default, only the server-side applied object is not labelled team=web.
          assert.equal((await s.k(['get', K.shortName, '-l', 'team!=web', '-o', 'name'])).trim(), K.ref('apps'));
          const obj = await get('podinfo');
          assert.equal(obj.metadata.annotations.owner, 'alice');
        });

        it('create --dry-run=server validates and stores nothing', async () => {
          const out = await s.k(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: manifest('dry') });
          const obj = JSON.parse(out);
          assert.equal(obj.metadata.name, 'dry');
          assert.ok(obj.metadata.uid);
          const got = await s.kubectl(['get', K.shortName, 'dry']);
          assert.notEqual(got.code, 0);
          assert.match(got.stderr, /NotFound|not found/);
        });

        it('an invalid object is refused with its fields named, and nothing is stored', async () => {
          const r = await s.kubectl(['apply', '-f', '-'], { input: yaml.dump(K.invalid.make('bad')) });
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /is invalid/);
          for (const f of K.invalid.fields) assert.match(r.stderr, new RegExp(esc(f)));
          assert.notEqual((await s.kubectl(['get', K.shortName, 'bad'])).code, 0);
        });

        it(`wait --for=condition=${K.ready.condition} returns once the status says so`, async () => {
          const waiting = s.kubectl(['wait', `--for=condition=${K.ready.condition}`, `${K.shortName}/podinfo`, '--timeout=30s']);
          await new Promise((r) => setTimeout(r, 1500));
          const status = K.ready.status(await get('podinfo'));
          await s.k(['patch', K.shortName, 'podinfo', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
          const r = await waiting;
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /condition met/);
          assert.match(await s.k(['get', K.shortName, 'podinfo']), K.ready.row('podinfo'));
        });

        it('get -w prints a change as it happens', async () => {
          const watch = s.kubectl(['get', K.shortName, 'podinfo', '-w', '--output-watch-events', '--request-timeout=8s'], { timeoutMs: 15_000 });
          await new Promise((r) => setTimeout(r, 1500));
          await s.k(['label', K.shortName, 'podinfo', 'watched=yes']);
          const r = await watch;
          assert.match(r.stdout, /ADDED\s+podinfo/);
          assert.match(r.stdout, /MODIFIED\s+podinfo/);
        });

        it('delete removes an object at once; with a finalizer it waits for the finalizer', async () => {
          await s.k(['apply', '-f', '-'], { input: manifest('short-lived') });
          assert.match(await s.k(['delete', K.shortName, 'short-lived']), /deleted/);
          assert.notEqual((await s.kubectl(['get', K.shortName, 'short-lived'])).code, 0);

          await s.k(['apply', '-f', '-'], { input: manifest('held', 'default', 1, (o) => (o.metadata.finalizers = ['gitops.toolkit/finalizer'])) });
          await s.k(['delete', K.shortName, 'held', '--wait=false']);
          const obj = await get('held');
          assert.ok(obj.metadata.deletionTimestamp, 'deletionTimestamp set');
          await s.k(['patch', K.shortName, 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
          assert.notEqual((await s.kubectl(['get', K.shortName, 'held'])).code, 0);
        });
      });

    });
  }
});
