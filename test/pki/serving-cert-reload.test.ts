// A rotated serving certificate is picked up without a restart; a half-written rotation is not.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, it } from 'node:test';
import { generateCA, issueCert } from '../../src/pki/certs.js';
import { TestServer } from '../helpers/server.js';

let s: TestServer;
let dir: string;
let ca: Awaited<ReturnType<typeof generateCA>>;

async function servingCN(): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: s.port, ca: ca.cert, servername: 'localhost' }, () => {
      const cn = sock.getPeerCertificate().subject.CN;
      sock.end();
      resolve(String(Array.isArray(cn) ? cn[0] : cn));
    });
    sock.on('error', reject);
  });
}

before(async () => {
  ca = await generateCA('rotation test CA');
  s = await TestServer.start(['--controllers=']);
  dir = join(s.dir, 'serving');
  await mkdir(dir);
  const one = await issueCert(ca, { cn: 'serving-one', dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true, days: 1 });
  await writeFile(join(dir, 'tls.crt'), one.cert);
  await writeFile(join(dir, 'tls.key'), one.key);
  await s.stop();
  s.extraArgs.push('--tls-cert-file', join(dir, 'tls.crt'), '--tls-private-key-file', join(dir, 'tls.key'), '--tls-reload-interval', '200ms');
  await s.restart();
});
after(() => s?.cleanup());

it('serves the certificate from --tls-cert-file and reloads a rotated one without a restart', async () => {
  assert.equal(await servingCN(), 'serving-one');
  const pid = s.proc!.pid;
  const two = await issueCert(ca, { cn: 'serving-two', dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true, days: 1 });
  // Half a rotation first: a new certificate with the old key must not be taken.
  await writeFile(join(dir, 'tls.crt'), two.cert);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await servingCN(), 'serving-one');
  await writeFile(join(dir, 'tls.key'), two.key);
  const end = Date.now() + 5000;
  let cn = '';
  while (Date.now() < end && (cn = await servingCN()) !== 'serving-two') await new Promise((r) => setTimeout(r, 100));
  assert.equal(cn, 'serving-two');
  assert.equal(s.proc!.pid, pid, 'same process');
  assert.match(s.logs, /serving certificate reloaded/);
  assert.match(s.logs, /serving certificate not reloaded/);
});
