// SIGKILL mid-write, on every API set (test/helpers/api-sets.ts): the gitops server and the local
// cluster, each as a process of its own. Every create the server acknowledged with 201 must survive a
// kill -9 and restart on the same data directory, whole, and the restarted server must serve reads,
// writes and watches; every acknowledged ~1 MB merge patch must survive likewise.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { API_SETS, serverPerSet, type ProcessTarget } from '../helpers/api-sets.js';
import { RawClient } from '../helpers/raw-https.js';

const LOOPS = 8;
const PER_LOOP = 150;

// What a client sees when the server dies under it: reset mid-request, refused afterwards.
const CONNECTION_LOST = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE']);
const isConnectionLost = (e: any) => CONNECTION_LOST.has(e?.code) || e?.message === 'socket hang up';

interface Load {
  /** name → uid of every create answered 201 */
  acked: Map<string, string>;
  attempted: Set<string>;
  /** anything other than a 201 or a connection lost after the kill */
  failures: string[];
  /** loops that were still sending when the server was killed */
  interrupted: number;
}

const server = serverPerSet((x) => x.startProcess());

for (const set of API_SETS) {
  describe(set.name, () => {
    const K = set.kind;
    const PATH = K.collection('default');
    const body = (name: string) => JSON.stringify(K.make(name));
    let s: ProcessTarget;
    before(async () => {
      s = await server(set);
    });
    after(async () => {
      await s?.stop();
    });

    /** Runs LOOPS parallel create loops, SIGKILLs the server after 1 s (or half the creates), and waits for them. */
    async function createUntilKilled(prefix: string): Promise<Load> {
      const load: Load = { acked: new Map(), attempted: new Set(), failures: [], interrupted: 0 };
      let killed = false;
      let halfway!: () => void;
      const halfDone = new Promise<void>((r) => (halfway = r));
      const loop = async (l: number) => {
        for (let i = 0; i < PER_LOOP; i++) {
          const name = `${prefix}-${l}-${i}`;
          load.attempted.add(name);
          try {
            const r = await s.request('POST', PATH, { body: body(name) });
            if (r.status === 201) load.acked.set(name, r.json().metadata.uid);
            else load.failures.push(`${name}: ${r.status} ${r.body}`);
            if (load.acked.size >= (LOOPS * PER_LOOP) / 2) halfway();
          } catch (e) {
            if (!killed || !isConnectionLost(e)) load.failures.push(`${name}: ${(e as Error).message}`);
            if (killed) load.interrupted++;
            return;
          }
        }
      };
      const loops = Array.from({ length: LOOPS }, (_, l) => loop(l));
      // Kill while loops are still sending, however fast the machine.
      await Promise.race([new Promise((r) => setTimeout(r, 1_000)), halfDone]);
      killed = true;
      await s.kill9();
      await Promise.all(loops);
      return load;
    }

    /** Checks every acknowledged create is stored whole; returns the list. */
    async function assertDurable(acked: Map<string, string>, attempted: Set<string>) {
      const r = await s.request('GET', PATH);
      assert.equal(r.status, 200, r.body);
      const list = r.json();
      const byName = new Map<string, any>(list.items.map((o: any) => [o.metadata.name, o]));
      for (const [name, uid] of acked) {
        const o = byName.get(name);
        assert.ok(o, `${name} was acknowledged with 201 but is gone after the restart`);
        assert.equal(o.metadata.uid, uid, `${name} is not the object that was acknowledged`);
      }
      const ours = list.items.filter((o: any) => attempted.has(o.metadata.name));
      // A create can commit and lose its response to the kill, so more may be stored than acknowledged.
      assert.ok(ours.length >= acked.size, `${ours.length} stored < ${acked.size} acknowledged`);
      for (const o of list.items) {
        assert.match(o.metadata.uid, /^[0-9a-f-]{36}$/, o.metadata.name);
        assert.match(o.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, o.metadata.name);
        assert.match(o.metadata.resourceVersion, /^\d+$/, o.metadata.name);
        assert.equal(o.metadata.generation, K.generation ? 1 : undefined, o.metadata.name);
        assert.equal(K.mark(o), K.markOf(o.metadata.name), o.metadata.name);
        assert.equal(o.spec[K.specField.name], K.specField.value(1), o.metadata.name);
      }
      assert.equal(new Set(list.items.map((o: any) => o.metadata.resourceVersion)).size, list.items.length, 'resourceVersions are unique');
      return list;
    }

    /** After a restart: a create succeeds and a watch from the list's resourceVersion reports it; returns its uid. */
    async function assertServes(listRV: string, name: string): Promise<string> {
      const kc = new KubeConfig();
      kc.loadFromFile(s.kubeconfig);
      const seen: any[] = [];
      let watchEnded: unknown = 'not yet';
      const ctl = await new Watch(kc).watch(PATH, { resourceVersion: listRV, allowWatchBookmarks: false }, (type, obj) => seen.push({ type, obj }), (err) => (watchEnded = err));
      try {
        const r = await s.request('POST', PATH, { body: body(name) });
        assert.equal(r.status, 201, r.body);
        const deadline = Date.now() + 10_000;
        while (!seen.some((e) => e.obj?.metadata?.name === name) && watchEnded === 'not yet' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
        assert.equal(watchEnded, 'not yet', 'the watch ended early');
        // Nothing else was written since the list, so the watch carries exactly the new object.
        assert.deepEqual(
          seen.map((e) => `${e.type} ${e.obj?.metadata?.name}`),
          [`ADDED ${name}`],
        );
        assert.equal(seen[0].obj.metadata.uid, r.json().metadata.uid);
        assert.ok(BigInt(seen[0].obj.metadata.resourceVersion) > BigInt(listRV), 'resourceVersion moves forward after a restart');
        return seen[0].obj.metadata.uid;
      } finally {
        ctl.abort();
      }
    }

    it('acknowledged creates survive kill -9 mid-flight, twice, and the server serves after each restart', async () => {
      const acked = new Map<string, string>();
      const attempted = new Set<string>();
      for (const cycle of [1, 2]) {
        const load = await createUntilKilled(`c${cycle}`);
        assert.deepEqual(load.failures, [], `cycle ${cycle}: unexpected failures`);
        assert.ok(load.acked.size > 0, `cycle ${cycle}: no create succeeded before the kill`);
        assert.ok(load.interrupted > 0, `cycle ${cycle}: the kill came after all loops had finished, not mid-flight`);
        for (const [n, uid] of load.acked) acked.set(n, uid);
        for (const n of load.attempted) attempted.add(n);

        await s.restart();
        // Checks everything acknowledged so far, so cycle 1's objects must also survive cycle 2's kill.
        const list = await assertDurable(acked, attempted);
        const probe = `after-restart-${cycle}`;
        acked.set(probe, await assertServes(list.metadata.resourceVersion, probe));
        attempted.add(probe);
      }
    });

    // SIGKILL during large patches: every acknowledged ~1 MB merge patch survives, and every object is
    // exactly its last acknowledged version or the one after it (a patch can commit and lose its
    // response to the kill), never a mix, a partial value or unreadable.
    const BIG = set.big;
    const BIG_OBJECTS = 6;
    const PATCHES_PER_OBJECT = 12;
    const BLOB_BYTES = 1024 * 1024;
    /** Version `gen` of the big value: its number, then a megabyte of one letter that changes with it. */
    const blob = (gen: number) => `${gen}:${String.fromCharCode(97 + (gen % 26)).repeat(BLOB_BYTES)}`;

    it('acknowledged ~1 MB merge patches survive kill -9 mid-flight, and each object is its old or new version, whole', async () => {
      const names = Array.from({ length: BIG_OBJECTS }, (_, i) => `big-${i}`);
      for (const name of names) {
        const r = await s.request('POST', BIG.collection, { body: JSON.stringify(BIG.make(name, 0, blob(0))) });
        assert.equal(r.status, 201, r.body.slice(0, 500));
      }
      /** name → the last gen whose patch was answered 200 */
      const acked = new Map(names.map((n) => [n, 0]));
      const failures: string[] = [];
      let killed = false;
      let interrupted = 0;
      let patched = 0;
      let halfway!: () => void;
      const halfDone = new Promise<void>((r) => (halfway = r));
      // Over kept-alive connections, as kubectl and client-go send them.
      const client = new RawClient(s);
      const loop = async (name: string) => {
        for (let gen = 1; gen <= PATCHES_PER_OBJECT; gen++) {
          const body = JSON.stringify(BIG.patch(gen, blob(gen)));
          try {
            const r = await client.request({ method: 'PATCH', path: `${BIG.collection}/${name}`, body, headers: { 'Content-Type': 'application/merge-patch+json' } });
            if (r.status !== 200) {
              failures.push(`${name} gen ${gen}: ${r.status} ${r.text().slice(0, 300)}`);
              return;
            }
            acked.set(name, gen);
            if (++patched >= (BIG_OBJECTS * PATCHES_PER_OBJECT) / 2) halfway();
          } catch (e) {
            if (!killed || !isConnectionLost(e)) failures.push(`${name} gen ${gen}: ${(e as Error).message}`);
            if (killed) interrupted++;
            return;
          }
        }
      };
      const loops = names.map(loop);
      await Promise.race([new Promise((r) => setTimeout(r, 1_500)), halfDone]);
      killed = true;
      await s.kill9();
      await Promise.all(loops);
      client.close();
      assert.deepEqual(failures, [], 'unexpected failures before the kill');
      assert.ok(patched > 0, 'no patch was acknowledged before the kill');
      assert.ok(interrupted > 0, 'the kill came after every patch had been answered, not mid-flight');

      await s.restart();
      for (const name of names) {
        const r = await s.request('GET', `${BIG.collection}/${name}`);
        assert.equal(r.status, 200, `${name} after the restart: ${r.status} ${r.body.slice(0, 300)}`);
        let o: any;
        assert.doesNotThrow(() => (o = r.json()), `${name} does not read back as JSON`);
        const { gen, blob: value } = BIG.read(o) as { gen: number; blob: string };
        const last = acked.get(name)!;
        assert.ok(gen === last || gen === last + 1, `${name}: gen ${gen} stored, but gen ${last} was the last acknowledged`);
        assert.ok(value === blob(gen), `${name}: the value of gen ${gen} is not whole (${String(value).length} chars, starts ${String(value).slice(0, 20)})`);
        // metadata from the same write as the spec: one generation per spec change.
        assert.equal(o.metadata.generation, gen + 1, `${name}: generation ${o.metadata.generation} for gen ${gen}`);
        assert.ok(BIG.unchanged(o), name);
      }
      // The restarted server serves the objects: a list reads them all, and another large patch lands.
      const list = await s.request('GET', BIG.collection);
      assert.equal(list.status, 200);
      assert.deepEqual(
        list
          .json()
          .items.map((o: any) => o.metadata.name)
          .filter((n: string) => n.startsWith('big-'))
          .sort(),
        names,
      );
      const next = PATCHES_PER_OBJECT + 1;
      const r = await s.request('PATCH', `${BIG.collection}/big-0`, { body: JSON.stringify(BIG.patch(next, blob(next))), headers: { 'Content-Type': 'application/merge-patch+json' } });
      assert.equal(r.status, 200, r.body.slice(0, 300));
      assert.equal(BIG.read((await s.request('GET', `${BIG.collection}/big-0`)).json()).blob, blob(next));
    });
  });
}
