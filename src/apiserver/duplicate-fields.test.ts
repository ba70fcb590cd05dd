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
