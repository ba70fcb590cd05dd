import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDelta, commitTree, parseTree } from './objects.js';

describe('git object parsing', () => {
  it('applies a delta of copies and inserts', () => {
    const base = Buffer.from('hello world');
    const delta = Buffer.from([11, 18, 0x90, 6, 6, ...Buffer.from('there '), 0x91, 6, 5, 1, 0x21]);
    assert.equal(applyDelta(base, delta).toString(), 'hello there world!');
  });

  it('refuses corrupt deltas instead of reading out of bounds', () => {
    const base = Buffer.from('hello world');
    assert.throws(() => applyDelta(base, Buffer.from([12, 5, 0x90, 5])), /base is 11 bytes/);
    assert.throws(() => applyDelta(base, Buffer.from([11, 20, 0x91, 8, 10])), /out of bounds/);
    assert.throws(() => applyDelta(base, Buffer.from([11, 3, 5, 0x61])), /out of bounds/);
    assert.throws(() => applyDelta(base, Buffer.from([11, 5, 0x90, 4])), /produced 4 bytes/);
    assert.throws(() => applyDelta(base, Buffer.from([11, 1, 0])), /opcode 0/);
  });

  it('parses tree entries and a commit header', () => {
    const oid = 'ab'.repeat(20);
    const tree = Buffer.concat([Buffer.from('100755 run.sh\0'), Buffer.from(oid, 'hex'), Buffer.from('40000 dir\0'), Buffer.from(oid, 'hex')]);
    assert.deepEqual(parseTree(tree), [
      { mode: 0o100755, name: 'run.sh', oid },
      { mode: 0o40000, name: 'dir', oid },
    ]);
    assert.throws(() => parseTree(tree.subarray(0, 30)), /corrupt tree/);
    assert.equal(commitTree(Buffer.from(`tree ${oid}\nauthor x\n\nmsg\n`)), oid);
    assert.throws(() => commitTree(Buffer.from('parent x\n')), /corrupt commit/);
  });
});
