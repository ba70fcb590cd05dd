import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCSV, parseTokenFile, TokenFileAuthenticator, TokenFileError } from './token-file.js';

test('CSV as Go reads it: quotes, doubled quotes, commas and newlines inside quotes, CRLF, blank lines', () => {
  const text = 'a,b,c\r\n\r\n"x,y","say ""hi""",  spaced \n"multi\nline",z\n';
  assert.deepEqual(parseCSV(text), [
    { line: 1, fields: ['a', 'b', 'c'] },
    { line: 3, fields: ['x,y', 'say "hi"', '  spaced '] },
    { line: 4, fields: ['multi\nline', 'z'] },
  ]);
  assert.deepEqual(parseCSV('last,row,no-newline'), [{ line: 1, fields: ['last', 'row', 'no-newline'] }]);
  assert.deepEqual(parseCSV('a,,\n'), [{ line: 1, fields: ['a', '', ''] }]);
});

test('CSV errors name the line', () => {
  assert.throws(() => parseCSV('ok,1,2\nbad"quote,1,2\n'), new TokenFileError('line 2: bare " in non-quoted-field'));
  assert.throws(() => parseCSV('"closed"x,1,2\n'), new TokenFileError('line 1: extraneous or missing " in quoted-field'));
  assert.throws(() => parseCSV('a,1,2\n"never closed,1,2\n'), new TokenFileError('line 2: extraneous or missing " in quoted-field'));
});

test('token rows: user, uid, quoted groups; optional uid and groups; extra columns ignored', async () => {
  const users = new TokenFileAuthenticator(parseTokenFile('t1,alice,u1,"g1,g2"\nt2,bob,\nt3,carol,u3,solo,extra-column\n'));
  assert.deepEqual(await users.authenticateToken('t1'), { name: 'alice', uid: 'u1', groups: ['g1', 'g2'] });
  assert.deepEqual(await users.authenticateToken('t2'), { name: 'bob', groups: [] });
  assert.deepEqual(await users.authenticateToken('t3'), { name: 'carol', uid: 'u3', groups: ['solo'] });
  assert.equal(await users.authenticateToken('t4'), undefined);
  assert.equal(await users.authenticateToken('T1'), undefined);
});

test('fewer than 3 columns is an error; an empty token is skipped and a duplicate replaces, both with a warning', () => {
  assert.throws(() => parseTokenFile('t1,alice\n'), new TokenFileError('line 1: at least 3 columns are needed (token, user name, user uid), found 2'));
  const warnings: string[] = [];
  const users = parseTokenFile(',nobody,u0\nt1,first,u1\nt1,second,u2\n', (w) => warnings.push(w));
  assert.equal(users.size, 1);
  assert.equal([...users.values()][0].name, 'second');
  assert.deepEqual(warnings, ['line 1: empty token, row ignored', 'line 3: duplicate token, this row replaces the earlier one']);
});

test('tokens are held only as digests', () => {
  const users = parseTokenFile('super-secret,alice,u1\n');
  assert.ok(![...users.keys()].some((k) => k.includes('super-secret')), 'no key holds the token');
});

test('load reads the file and names it in errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'token-file-'));
  try {
    const path = join(dir, 'tokens.csv');
    await writeFile(path, 'tok,svc,uid-1,"system:serviceaccounts,system:serviceaccounts:ns"\n');
    const a = await TokenFileAuthenticator.load(path);
    assert.deepEqual(await a.authenticateToken('tok'), { name: 'svc', uid: 'uid-1', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns'] });
    await writeFile(path, 'just-one-column\n');
    await assert.rejects(TokenFileAuthenticator.load(path), { name: 'TokenFileError', message: `token file ${path}: line 1: at least 3 columns are needed (token, user name, user uid), found 1` });
    await assert.rejects(TokenFileAuthenticator.load(join(dir, 'missing.csv')), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
