import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicateFields } from './duplicate-fields.js';

test('finds repeated keys at every depth, with kube-style paths', () => {
  assert.deepEqual(duplicateFields('{"a":1,"a":2}'), ['a']);
  assert.deepEqual(duplicateFields('{"spec":{"interval":"1m","url":"x","interval":"2m"}}'), ['spec.interval']);
  assert.deepEqual(duplicateFields('{"spec":{"include":[{"toPath":"a"},{"toPath":"b","toPath":"c"}]}}'), ['spec.include[1].toPath']);
  assert.deepEqual(duplicateFields('{"a":[[{"b":1,"b":1}]]}'), ['a[0][0].b']);
});

test('no false positives: same key in sibling objects, keys inside strings, escaped quotes', () => {
  assert.deepEqual(duplicateFields('{"a":{"x":1},"b":{"x":1}}'), []);
  assert.deepEqual(duplicateFields('[{"x":1},{"x":2}]'), []);
  assert.deepEqual(duplicateFields('{"a":"{\\"a\\":1,\\"a\\":2}","b":"a,a"}'), []);
  assert.deepEqual(duplicateFields('{"k\\"q":1,"k\\"q":2}'), ['k"q']);
  assert.deepEqual(duplicateFields('{"a":1}'), []);
});

test('reports at most 100 repeats, each path cut at 1,024 characters: a deep body of repeats costs its size', () => {
  const deep = '{"aaaaaaaaaa":'.repeat(500);
  const repeats = Array.from({ length: 100_000 }, () => '"b":0').join(',');
  const dups = duplicateFields(`${deep}{${repeats}}${'}'.repeat(500)}`);
  assert.equal(dups.length, 100);
  assert.ok(dups.every((d) => d.length <= 1025), String(dups[0].length));
  assert.ok(dups[0].endsWith('…'));
});
