// A second `npm start` on the same port and cert dir cannot bind, and must leave the running one's
// certificates and kubeconfig exactly as they were: it writes them only once the port is its own.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, it } from 'node:test';
import { TestServer } from '../helpers/server.js';

let s: TestServer;
let other: string;
before(async () => {
  s = await TestServer.start(['--controllers=']);
  other = await mkdtemp(join(tmpdir(), 'second-instance-'));
});
after(async () => {
  await s?.cleanup();
  await rm(other, { recursive: true, force: true });
});

const snapshot = async (dir: string) =>
  Promise.all(['kubeconfig', 'ca.crt', 'apiserver.crt', 'admin.crt'].map(async (f) => ({ f, text: await readFile(join(dir, f), 'utf8'), mtime: (await stat(join(dir, f))).mtimeMs })));

it('a second instance that cannot bind exits with an error and writes nothing to the cert dir', async () => {
  const before = await snapshot(s.certDir);
  const args = ['--import', 'tsx', resolve('src/main.ts'), '--secure-port', String(s.port), '--cert-dir', s.certDir, '--data-dir', join(other, 'data'), '--controllers='];
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => p.on('exit', r));
  assert.notEqual(code, 0, out);
  assert.match(out, /EADDRINUSE|address already in use/i);
  assert.deepEqual(await snapshot(s.certDir), before, 'the running server’s certificates and kubeconfig changed');
  assert.equal((await s.request('GET', '/readyz')).status, 200, 'the first server still serves');
});
