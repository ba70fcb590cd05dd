import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envsubst, SubstitutionSyntaxError } from './envsubst.js';

const vars = { name: 'World', empty: '', path: 'a/b/c.tar.gz', n: '8080' };

test('${var}, defaults, and unset variables', () => {
  assert.equal(envsubst('hello ${name}!', vars), 'hello World!');
  assert.equal(envsubst('${missing}', vars), '');
  assert.equal(envsubst('${missing:=dev} ${empty:=dev} ${name:=dev}', vars), 'dev dev World');
  assert.equal(envsubst('${missing:-x} ${missing=y}', vars), 'x y');
  assert.equal(envsubst('${missing:=${name}-1}', vars), 'World-1', 'a default may hold an expression');
});

test('$var is text, $$ escapes, $${var} stays literal', () => {
  assert.equal(envsubst('$name $ x', vars), '$name $ x');
  assert.equal(envsubst('$${name}', vars), '${name}');
  assert.equal(envsubst('a$$b', vars), 'a$b');
  assert.equal(envsubst('$$$${name}', vars), '$${name}');
});

test('string functions of the fork', () => {
  assert.equal(envsubst('${#name}', vars), '5');
  assert.equal(envsubst('${name^^} ${name,,} ${name,}', vars), 'WORLD world world');
  assert.equal(envsubst('${name:1} ${name:1:2} ${name:-3}', vars), 'orld or World');
  assert.equal(envsubst('${path#*/} ${path##*/} ${path%.*} ${path%%.*}', vars), 'b/c.tar.gz c.tar.gz a/b/c.tar a/b/c');
  assert.equal(envsubst('${path/\\//-} ${path//\\//-}', vars), 'a-b/c.tar.gz a-b-c.tar.gz');
  assert.equal(envsubst('${n/#80/90} ${n/%80/90}', vars), '9080 8090');
});

test('syntax errors and strict mode', () => {
  assert.throws(() => envsubst('${name', vars), SubstitutionSyntaxError);
  assert.throws(() => envsubst('${}', vars), SubstitutionSyntaxError);
  assert.throws(() => envsubst('${name-x}', vars), SubstitutionSyntaxError);
  assert.throws(() => envsubst('${missing}', vars, { strict: true }), /strict/);
  assert.equal(envsubst('${missing:=d}', vars, { strict: true }), 'd');
});
