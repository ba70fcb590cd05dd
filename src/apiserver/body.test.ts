import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { parseApplyBody, parseYAML } from './body.js';
import { StatusError } from '../apis/meta/errors.js';

/** Nine levels of ten aliases each: 10^9 nodes from a few hundred bytes. */
function aliasBomb(levels = 9): string {
  let y = `a0: &a0 [${Array(10).fill('"x"').join(',')}]\n`;
  for (let i = 1; i < levels; i++) y += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]\n`;
  return y;
}

describe('parseYAML', () => {
  it('refuses a document that expands through aliases, quickly', () => {
    const start = performance.now();
    assert.throws(
      () => parseYAML(Buffer.from(aliasBomb())),
      (e: unknown) => e instanceof StatusError && e.code === 400 && /too many nodes through aliases/.test(e.message),
    );
    assert.ok(performance.now() - start < 2000, 'rejected before anything walks the expanded value');
  });

  it('counts what an alias to a long string expands to: 3,000 aliases of 100 KB are refused', () => {
    const y = `finalizers: [&s "${'x'.repeat(100_000)}", ${Array(3000).fill('*s').join(', ')}]\n`;
    assert.throws(() => parseYAML(Buffer.from(y)), (e: unknown) => e instanceof StatusError && e.code === 400 && /too many nodes through aliases/.test(e.message));
    // a long string used a few times is fine
    const few = `a: &s "${'x'.repeat(100_000)}"\nb: *s\n`;
    assert.equal((parseYAML(Buffer.from(few)) as { b: string }).b.length, 100_000);
  });

  it('still accepts modest alias use and large alias-free documents', () => {
    assert.deepEqual(parseYAML(Buffer.from(aliasBomb(2))), { a0: Array(10).fill('x'), a1: Array(10).fill(Array(10).fill('x')) });
    const big = `items: [${Array(200_000).fill('1').join(',')}]\n`;
    assert.equal((parseYAML(Buffer.from(big)) as { items: number[] }).items.length, 200_000);
  });
});

test('apply bodies: JSON read as JSON, YAML and JSON with a repeated key through the YAML reader (same answers as before)', () => {
  assert.deepEqual(parseApplyBody(Buffer.from(' {"a": {"b": [1, 2]}}')), { a: { b: [1, 2] } });
  assert.deepEqual(parseApplyBody(Buffer.from('a:\n  b: [1, 2]\n')), { a: { b: [1, 2] } });
  const dup = '{"a": 1, "a": 2}';
  assert.throws(() => parseApplyBody(Buffer.from(dup)), (e: Error) => e.message === (() => {
    try {
      parseYAML(Buffer.from(dup));
    } catch (y) {
      return (y as Error).message;
    }
    return 'no error';
  })() && /duplicated mapping key/.test(e.message));
  assert.throws(() => parseApplyBody(Buffer.from('{"a": ')), /not valid YAML/);
});
