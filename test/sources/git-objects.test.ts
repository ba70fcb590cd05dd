// ObjectStore against packs and loose objects written by real git: every object read back must hash
// to its id, with offset deltas, ref deltas and long delta chains.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ObjectStore } from '../../src/sources/git/objects.js';
import { GitServer } from '../helpers/git-server.js';

describe('ObjectStore', () => {
  let s: GitServer;
  let objects: { oid: string; type: string; size: number }[];

  before(async () => {
    s = await GitServer.start();
    await s.createRepo('deltas');
    // Many versions of the same files make long delta chains once repacked.
    const base = Array.from({ length: 300 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    for (let v = 0; v < 30; v++) {
      const lines = [...base];
      lines[v * 7] = `changed in version ${v}`;
      await s.commit('deltas', { 'doc.txt': lines.join('\n'), [`dir/v${v % 3}.txt`]: lines.slice(v).join('\n') }, { message: `v${v}` });
    }
    const out = await s.git(['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], { repo: 'deltas' });
    objects = out.split('\n').map((l) => {
      const [oid, type, size] = l.split(' ');
      return { oid, type, size: Number(size) };
    });
  });
  after(() => s.stop());

  async function readAll(label: string) {
    const store = await ObjectStore.open(s.gitDir('deltas'));
    try {
      for (const o of objects) {
        assert.deepEqual(await store.info(o.oid), { type: o.type, size: o.size }, `${label} info ${o.oid}`);
        const { type, data } = await store.read(o.oid);
        assert.equal(createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex'), o.oid, `${label} read ${o.oid}`);
      }
      assert.equal(await store.has('0'.repeat(40)), false);
      await assert.rejects(store.read('0'.repeat(40)), /not found/);
    } finally {
      store.close();
    }
  }

  /** How many objects the repository's pack stores as deltas. */
  const deltaCount = async () => {
    const dir = join(s.gitDir('deltas'), 'objects', 'pack');
    const idx = (await readdir(dir)).filter((f) => f.endsWith('.idx'));
    assert.equal(idx.length, 1);
    const out = await s.git(['verify-pack', '-v', join(dir, idx[0])], { repo: 'deltas' });
    return out.split('\n').filter((l) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length;
  };

  it('reads loose objects', async () => {
    await readAll('loose');
  });

  it('reads offset-delta packs with long chains', async () => {
    await s.git(['repack', '-a', '-d', '-f', '--depth=100', '--window=50'], { repo: 'deltas' });
    assert.ok((await deltaCount()) > 20, 'the pack holds deltas');
    await readAll('ofs-delta');
  });

  it('reads ref-delta packs', async () => {
    await s.git(['-c', 'repack.useDeltaBaseOffset=false', 'repack', '-a', '-d', '-f', '--depth=100', '--window=50'], { repo: 'deltas' });
    assert.ok((await deltaCount()) > 20, 'the pack holds deltas');
    await readAll('ref-delta');
  });
});
