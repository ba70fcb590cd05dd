import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { generateCA, issueCert, type CertKeyPair } from './certs.js';
import { ensureStandaloneCerts, type StandaloneCerts } from './standalone.js';

const PAIRS = ['ca', 'apiserver', 'admin'];
const FILES = PAIRS.flatMap((p) => [`${p}.crt`, `${p}.key`]);

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'pki-test-'));
  t.after(() => rm(parent, { recursive: true, force: true }));
  return join(parent, 'certs'); // not there yet: ensureStandaloneCerts creates it
}

/** Identity (inode + mtime) and fingerprint of every certificate and key file. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of FILES) {
    const s = await stat(join(dir, f));
    out[f] = `${s.ino}/${s.mtimeMs}/${f.endsWith('.crt') ? new X509Certificate(await readFile(join(dir, f))).fingerprint256 : ''}`;
  }
  return out;
}

interface Kubeconfig {
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace: string } }[];
  'current-context': string;
}
const readKubeconfig = async (c: StandaloneCerts) => yaml.load(await readFile(c.kubeconfigPath, 'utf8')) as Kubeconfig;
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

test('first call makes CA, serving and admin certificates and a kubeconfig, with private modes', async (t) => {
  const dir = await tempDir(t);
  const c = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 });
  assert.deepEqual(c.generated, ['ca', 'serving', 'admin']);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  for (const f of FILES) assert.equal((await stat(join(dir, f))).mode & 0o777, f.endsWith('.key') ? 0o600 : 0o644, f);
  assert.equal((await stat(c.kubeconfigPath)).mode & 0o777, 0o600);
  assert.equal(await readFile(c.caCertPath, 'utf8'), c.caCert);
  assert.equal(await readFile(c.servingCertPath, 'utf8'), c.servingCert);
  assert.equal(await readFile(c.servingKeyPath, 'utf8'), c.servingKey);

  const ca = new X509Certificate(c.caCert);
  assert.equal(ca.ca, true);
  const serving = new X509Certificate(c.servingCert);
  assert.ok(serving.checkIssued(ca) && serving.verify(ca.publicKey));
  assert.deepEqual(serving.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(serving.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assert.ok(serving.checkHost('localhost') && serving.checkIP('127.0.0.1') && serving.checkIP('::1'));
  assert.ok(Math.abs((Date.parse(serving.validTo) - Date.now()) / 86_400_000 - 365) < 1);
  const admin = new X509Certificate(c.adminCert);
  assert.ok(admin.checkIssued(ca) && admin.verify(ca.publicKey));
  assert.equal(admin.subject, 'O=system:masters\nCN=admin');
  assert.deepEqual(admin.keyUsage, ['1.3.6.1.5.5.7.3.2']);

  const kc = await readKubeconfig(c);
  assert.equal(kc['current-context'], 'gitops-toolkit');
  assert.deepEqual(kc.contexts, [{ name: 'gitops-toolkit', context: { cluster: 'gitops-toolkit', user: 'admin', namespace: 'default' } }]);
  assert.equal(kc.clusters.length, 1);
  assert.equal(kc.clusters[0].name, 'gitops-toolkit');
  assert.equal(kc.clusters[0].cluster.server, 'https://127.0.0.1:8443');
  assert.equal(unb64(kc.clusters[0].cluster['certificate-authority-data']), c.caCert);
  assert.equal(kc.users[0].name, 'admin');
  assert.equal(unb64(kc.users[0].user['client-certificate-data']), c.adminCert);
  assert.equal(unb64(kc.users[0].user['client-key-data']), c.adminKey);
});

test('later calls reuse every file untouched and only rewrite the kubeconfig', async (t) => {
  const dir = await tempDir(t);
  const first = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 });
  const before = await snapshot(dir);
  const again = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 9555 });
  assert.deepEqual(again.generated, []);
  assert.deepEqual(await snapshot(dir), before);
  assert.equal(again.servingCert, first.servingCert);
  assert.equal(again.adminKey, first.adminKey);
  assert.equal((await readKubeconfig(again)).clusters[0].cluster.server, 'https://127.0.0.1:9555');
});

test('a new bind address IP remakes only the serving certificate', async (t) => {
  const dir = await tempDir(t);
  await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 });
  const before = await snapshot(dir);
  const c = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.2', port: 8443 });
  assert.deepEqual(c.generated, ['serving']);
  const after = await snapshot(dir);
  for (const f of FILES) {
    if (f.startsWith('apiserver.')) assert.notEqual(after[f], before[f], f);
    else assert.equal(after[f], before[f], f);
  }
  const serving = new X509Certificate(c.servingCert);
  assert.ok(serving.checkIP('127.0.0.2') && serving.checkIP('127.0.0.1') && serving.checkHost('localhost'));
  assert.equal((await readKubeconfig(c)).clusters[0].cluster.server, 'https://127.0.0.2:8443');
  // going back needs nothing new: the current certificate covers 127.0.0.1 too
  assert.deepEqual((await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 })).generated, []);
});

test('the bind address decides the extra SAN and the kubeconfig host', async (t) => {
  const dir = await tempDir(t);
  const cases: [bind: string, covered: (x: X509Certificate) => boolean, server: string][] = [
    ['0.0.0.0', (x) => !!x.checkHost(hostname().toLowerCase()), 'https://127.0.0.1:1'],
    ['::', (x) => !!x.checkHost(hostname().toLowerCase()), 'https://127.0.0.1:1'],
    ['::1', (x) => !!x.checkIP('::1'), 'https://[::1]:1'],
    ['fd00::5', (x) => !!x.checkIP('fd00::5'), 'https://[fd00::5]:1'],
    ['gitops.example.com', (x) => !!x.checkHost('gitops.example.com'), 'https://gitops.example.com:1'],
  ];
  for (const [bind, covered, server] of cases) {
    const c = await ensureStandaloneCerts(dir, { bindAddress: bind, port: 1 });
    const x = new X509Certificate(c.servingCert);
    assert.ok(covered(x), `${bind}: ${x.subjectAltName}`);
    assert.equal(x.checkIP('0.0.0.0'), undefined, bind);
    assert.equal(x.checkIP('::'), undefined, bind);
    assert.equal((await readKubeconfig(c)).clusters[0].cluster.server, server, bind);
  }
});

test('a serving certificate that expires within 30 days, is foreign or lacks its key is remade', async (t) => {
  const dir = await tempDir(t);
  const c = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 });
  const ca: CertKeyPair = { cert: c.caCert, key: c.caKey };
  const names = { dnsNames: ['localhost'], ips: ['127.0.0.1', '::1'] };
  const writePair = async (name: string, p: CertKeyPair) => {
    await writeFile(join(dir, `${name}.crt`), p.cert);
    await writeFile(join(dir, `${name}.key`), p.key);
  };

  await writePair('apiserver', await issueCert(ca, { cn: 's', ...names, server: true, days: 31 }));
  assert.deepEqual((await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 })).generated, []);

  await writePair('apiserver', await issueCert(ca, { cn: 's', ...names, server: true, days: 29 }));
  assert.deepEqual((await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 })).generated, ['serving']);

  await writePair('apiserver', await issueCert(await generateCA('other'), { cn: 's', ...names, server: true, days: 300 }));
  assert.deepEqual((await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 })).generated, ['serving']);

  await rm(join(dir, 'apiserver.key'));
  assert.deepEqual((await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 })).generated, ['serving']);

  // a key that is not the certificate's, and garbage, are both remade
  const other = await issueCert(ca, { cn: 's', ...names, server: true, days: 300 });
  await writeFile(join(dir, 'apiserver.key'), other.key);
  assert.deepEqual((await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 })).generated, ['serving']);
  await writeFile(join(dir, 'admin.crt'), 'not a certificate');
  assert.deepEqual((await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 })).generated, ['admin']);
});

test('a missing CA remakes everything it signed', async (t) => {
  const dir = await tempDir(t);
  const first = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 });
  await rm(join(dir, 'ca.key'));
  const c = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 });
  assert.deepEqual(c.generated, ['ca', 'serving', 'admin']);
  assert.notEqual(c.caCert, first.caCert);
  const ca = new X509Certificate(c.caCert);
  assert.ok(new X509Certificate(c.servingCert).verify(ca.publicKey));
  assert.ok(new X509Certificate(c.adminCert).verify(ca.publicKey));
});

/**
 * An HTTPS server on the standalone serving certificate that asks for a client certificate and
 * answers with the verified identity, or 401 and the reason the certificate was not accepted.
 */
async function startServer(t: { after(fn: () => Promise<void>): void }, c: StandaloneCerts): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server: Server = createServer({ cert: c.servingCert, key: c.servingKey, ca: c.caCert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) {
      res.statusCode = 401;
      res.end(String(socket.authorizationError));
      return;
    }
    const peer = socket.getPeerCertificate();
    const who = `${peer.subject.CN}/${[peer.subject.O].flat().join('+')}`;
    seen.push(`${req.url} ${who}`);
    res.end(req.url === '/healthz' ? 'ok' : who);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** `<status> <body>` of GET /whoami. */
function get(port: number, tls: { ca: string; cert?: string; key?: string; servername?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/whoami', agent: false, ...tls }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('TLS handshakes: the server proves its name, client certificates carry user and groups', async (t) => {
  const dir = await tempDir(t);
  const c = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 8443 });
  const { port } = await startServer(t, c);
  const kc = await readKubeconfig(c);
  const user = kc.users[0].user;
  const admin = { ca: unb64(kc.clusters[0].cluster['certificate-authority-data']), cert: unb64(user['client-certificate-data']), key: unb64(user['client-key-data']) };
  assert.equal(await get(port, admin), '200 admin/system:masters');
  assert.equal(await get(port, { ...admin, servername: 'localhost' }), '200 admin/system:masters');

  const alice = await issueCert({ cert: c.caCert, key: c.caKey }, { cn: 'alice', org: 'dev', client: true, days: 1 });
  assert.equal(await get(port, { ca: c.caCert, ...alice }), '200 alice/dev');

  const foreign = await issueCert(await generateCA('gitops-toolkit-ca'), { cn: 'mallory', org: 'system:masters', client: true, days: 1 });
  assert.match(await get(port, { ca: c.caCert, ...foreign }), /^401 .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|signature)/i);
  assert.match(await get(port, { ca: c.caCert }), /^401 UNABLE_TO_GET_ISSUER_CERT/);
  await assert.rejects(get(port, { ca: foreign.cert, ...alice }), /self[- ]signed|unable to (get|verify)/i);
  await assert.rejects(get(port, { ...admin, servername: 'elsewhere.example.com' }), /altnames|Hostname\/IP does not match/i);
});

test('kubectl accepts the kubeconfig and talks TLS to a server on these certificates', async (t) => {
  const dir = await tempDir(t);
  // The port is known only once the server listens, as with --secure-port 0: certificates first,
  // then a second call that rewrites the kubeconfig.
  const c0 = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port: 1 });
  const { port, seen } = await startServer(t, c0);
  const c = await ensureStandaloneCerts(dir, { bindAddress: '127.0.0.1', port });
  assert.deepEqual(c.generated, []);

  const kubectl = async (...args: string[]) =>
    (await promisify(execFile)('kubectl', ['--kubeconfig', c.kubeconfigPath, ...args], { env: { PATH: process.env.PATH, HOME: dir }, timeout: 60_000 })).stdout;
  const view = (path: string) => kubectl('config', 'view', '--raw', '-o', `jsonpath={${path}}`);
  assert.equal(await view('.clusters[0].cluster.server'), `https://127.0.0.1:${port}`);
  assert.equal(await view('.current-context'), 'gitops-toolkit');
  assert.equal(await view('.contexts[0].context.namespace'), 'default');
  assert.equal(unb64(await view('.users[0].user.client-certificate-data')), c.adminCert);

  assert.equal(await kubectl('get', '--raw', '/healthz'), 'ok');
  // kubectl may ask for /version first; every request must have come as admin
  assert.ok(seen.includes('/healthz admin/system:masters'), seen.join());
  assert.ok(seen.every((s) => s.endsWith(' admin/system:masters')), seen.join());
});
