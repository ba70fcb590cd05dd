import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warningHeaders } from './warnings.js';

const printable = (h: string) => /^[\x20-\x7e]*$/.test(h);

test('one header per distinct warning, quoted, in order', () => {
  assert.deepEqual(warningHeaders(['unknown field "spec.x"', 'b', 'unknown field "spec.x"']), ['299 - "unknown field \\"spec.x\\""', '299 - "b"']);
  assert.deepEqual(warningHeaders([]), []);
  assert.deepEqual(warningHeaders(['line\none']), ['299 - "line one"']);
});

test('non-ASCII and control characters are escaped, so the header is printable ASCII', () => {
  const [h] = warningHeaders(['unknown field "💥"', ]);
  assert.equal(h, '299 - "unknown field \\"\\ud83d\\udca5\\""');
  for (const w of ['tab\there', 'nul\u0000', 'é', '\ufffd lone \ud800 surrogate', 'back\\slash']) {
    const [x] = warningHeaders([w]);
    assert.ok(printable(x), x);
  }
});

test('past 4,096 characters in total every warning is cut to 256 and the total stops growing', () => {
  const long = 'x'.repeat(20_000);
  const [h] = warningHeaders([`unknown field "${long}"`]);
  assert.equal(h.length, '299 - ""'.length + 256);
  const many = Array.from({ length: 100 }, (_, i) => `${i} ${'y'.repeat(300)}`);
  const hs = warningHeaders(many);
  const chars = hs.reduce((n, x) => n + x.length, 0);
  assert.ok(hs.length < many.length && hs.length >= 16, String(hs.length));
  assert.ok(chars <= 4096 + 256 + hs.length * 8, String(chars));
  // Under the budget nothing is cut.
  const small = ['a'.repeat(300), 'b'.repeat(300)];
  assert.deepEqual(warningHeaders(small), small.map((s) => `299 - "${s}"`));
});

test('escaping counts against the budget: 20,000 emoji still make a small header', () => {
  const hs = warningHeaders(['💥'.repeat(20_000), 'another']);
  assert.ok(hs.every(printable));
  assert.ok(hs.reduce((n, x) => n + x.length, 0) < 1000);
  assert.ok(!hs[0].includes('\\ud83d"') || hs[0].endsWith('\\udca5"'), 'never a split escape pair');
});
