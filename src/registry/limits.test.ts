import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cloneJSON, formatBytes, jsonSize, nestingProblem, nestsDeeperThan } from './limits.js';

const nested = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));

describe('nestsDeeperThan', () => {
  it('counts objects and arrays, not scalars', () => {
    assert.equal(nestsDeeperThan(1, 0), false);
    assert.equal(nestsDeeperThan({}, 0), true);
    assert.equal(nestsDeeperThan({}, 1), false);
    assert.equal(nestsDeeperThan({ a: [{ b: 'x' }] }, 3), false);
    assert.equal(nestsDeeperThan({ a: [{ b: 'x' }] }, 2), true);
    assert.equal(nestsDeeperThan({ a: 1, b: { c: { d: {} } } }, 3), true);
  });
  it('walks a million levels without recursion', () => {
    const deep = nested(1_000_000);
    assert.equal(nestsDeeperThan(deep, 1000), true);
    assert.equal(nestsDeeperThan(nested(1000), 1000), false);
    assert.equal(nestsDeeperThan(nested(1001), 1000), true);
  });
});

describe('jsonSize', () => {
  it('matches JSON.stringify for ASCII values', () => {
    for (const v of [{ a: 1, b: [true, null, 'xy'] }, [], {}, 'abc', 12.5, { k: { j: [] } }]) assert.equal(jsonSize(v), JSON.stringify(v).length, JSON.stringify(v));
  });
  it('stops counting once past the bound', () => {
    const big = Array.from({ length: 100_000 }, () => 'x'.repeat(100));
    const n = jsonSize(big, 1000);
    assert.ok(n > 1000 && n < 200_000, String(n)); // the array's commas, one string: not 10 MB of them
  });
});

describe('cloneJSON', () => {
  it('copies deeply and independently', () => {
    const v = { a: [1, { b: 'c' }], d: null, e: { f: true } };
    const c = cloneJSON(v);
    assert.deepEqual(c, v);
    (c.a[1] as { b: string }).b = 'changed';
    assert.equal((v.a[1] as { b: string }).b, 'c');
  });
  it('keeps "__proto__" as data', () => {
    const v = JSON.parse('{"__proto__":{"polluted":1}}');
    const c = cloneJSON(v) as Record<string, unknown>;
    assert.deepEqual(Object.keys(c), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(c), Object.prototype);
  });
  it('clones nesting deeper than structuredClone can', () => {
    const deep = nested(50_000);
    assert.throws(() => structuredClone(deep), RangeError);
    let c = cloneJSON(deep) as unknown[];
    let n = 0;
    while (c.length) {
      c = c[0] as unknown[];
      n++;
    }
    assert.equal(n, 49_999);
  });
});

it('formatBytes names limits the way messages do', () => {
  assert.equal(formatBytes(1.5 * 1024 * 1024), '1.5 MiB');
  assert.equal(formatBytes(3 * 1024 * 1024), '3 MiB');
  assert.equal(formatBytes(2048), '2 KiB');
  assert.equal(formatBytes(12), '12 bytes');
});

describe('nestingProblem', () => {
  const deepObj = (n: number): unknown => JSON.parse('{"a":'.repeat(n) + '1' + '}'.repeat(n));
  const withFields = (fieldsV1: unknown, spec: unknown = {}) => ({ metadata: { name: 'x', managedFields: [{ manager: 'm', fieldsV1 }] }, spec });
  it('an object may nest 1,000 levels, counting from its root', () => {
    assert.equal(nestingProblem({ spec: deepObj(999) }), undefined);
    assert.match(nestingProblem({ spec: deepObj(1000) }) ?? '', /deeper than the limit of 1000 levels/);
  });
  it('managedFields fieldsV1 may nest 10 levels more, wherever it sits in the list', () => {
    // root, metadata, managedFields, the entry, then fieldsV1 itself at level 5
    assert.equal(nestingProblem(withFields(deepObj(1006))), undefined);
    assert.match(nestingProblem(withFields(deepObj(1007))) ?? '', /fieldsV1 deeper than the limit of 1010 levels/);
    const two = { metadata: { managedFields: [{ fieldsV1: {} }, { fieldsV1: deepObj(1007) }] } };
    assert.match(nestingProblem(two) ?? '', /fieldsV1/);
    // the allowance is for fieldsV1 only
    assert.match(nestingProblem({ metadata: { managedFields: [{ other: deepObj(1000) }] } }) ?? '', /limit of 1000 levels/);
    assert.match(nestingProblem({ spec: { metadata: { managedFields: [{ fieldsV1: deepObj(1000) }] } } }) ?? '', /limit of 1000 levels/);
  });
  it('a patch document (an array) gets the wider bound', () => {
    assert.equal(nestingProblem(JSON.parse('['.repeat(1010) + ']'.repeat(1010))), undefined);
    assert.match(nestingProblem(JSON.parse('['.repeat(1011) + ']'.repeat(1011))) ?? '', /1010 levels for a patch document/);
    assert.equal(nestingProblem('x'), undefined);
  });
});
