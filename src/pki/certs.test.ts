import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { generateCA, issueCert } from './certs.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 86_400_000;

const lifetimeDays = (x: X509Certificate) => (Date.parse(x.validTo) - Date.now()) / DAY_MS;

/** The keyIdentifier inside an authorityKeyIdentifier extension, hex. */
function authorityKeyId(pem: string): string {
  const ext = forge.pki.certificateFromPem(pem).getExtension('authorityKeyIdentifier') as { value: string } | undefined;
  assert.ok(ext, 'no authorityKeyIdentifier');
  const seq = forge.asn1.fromDer(ext.value);
  const keyId = (seq.value as forge.asn1.Asn1[]).find((v) => v.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && v.type === 0);
  assert.ok(keyId, 'no keyIdentifier');
  return forge.util.bytesToHex(keyId.value as string);
}

function extension<T>(pem: string, name: string): T & { critical?: boolean } {
  const ext = forge.pki.certificateFromPem(pem).getExtension(name);
  assert.ok(ext, `no ${name}`);
  return ext as T & { critical?: boolean };
}

test('generateCA makes a self-signed 10-year CA', async () => {
  const ca = await generateCA('test-ca');
  const x = new X509Certificate(ca.cert);
  assert.equal(x.subject, 'CN=test-ca');
  assert.equal(x.issuer, 'CN=test-ca');
  assert.equal(x.ca, true);
  assert.ok(x.checkIssued(x) && x.verify(x.publicKey));
  assert.ok(x.checkPrivateKey(createPrivateKey(ca.key)));
  assert.equal(createPrivateKey(ca.key).asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(Math.abs(lifetimeDays(x) - 3650) < 1);
  assert.ok(Date.parse(x.validFrom) <= Date.now());
  assert.equal(extension(ca.cert, 'basicConstraints').critical, true);
  const ku = extension<{ keyCertSign?: boolean; cRLSign?: boolean }>(ca.cert, 'keyUsage');
  assert.ok(ku.critical && ku.keyCertSign && ku.cRLSign);
  assert.ok(extension<{ subjectKeyIdentifier: string }>(ca.cert, 'subjectKeyIdentifier').subjectKeyIdentifier);
  assert.match(forge.pki.certificateFromPem(ca.cert).siginfo.algorithmOid, /^1\.2\.840\.113549\.1\.1\.11$/); // sha256WithRSA
});

test('issueCert makes a serving certificate for the given names, signed by the CA', async () => {
  const ca = await generateCA('test-ca');
  const s = await issueCert(ca, { cn: 'server', dnsNames: ['localhost', 'api.example.com'], ips: ['127.0.0.1', '::1', '10.0.0.7'], server: true, days: 30 });
  const x = new X509Certificate(s.cert);
  const caX = new X509Certificate(ca.cert);
  assert.ok(x.checkIssued(caX) && x.verify(caX.publicKey));
  assert.ok(x.checkPrivateKey(createPrivateKey(s.key)));
  assert.equal(x.ca, false);
  assert.equal(x.subject, 'CN=server');
  assert.equal(x.issuer, 'CN=test-ca');
  assert.deepEqual(x.keyUsage, [SERVER_AUTH]);
  assert.equal(x.subjectAltName, 'DNS:localhost, DNS:api.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.7');
  assert.equal(x.checkHost('api.example.com'), 'api.example.com');
  assert.equal(x.checkHost('other.example.com'), undefined);
  assert.equal(x.checkIP('::1'), '::1');
  assert.equal(x.checkIP('10.0.0.8'), undefined);
  assert.ok(Math.abs(lifetimeDays(x) - 30) < 1);
  assert.equal(extension(s.cert, 'basicConstraints').critical, true);
  const ku = extension<{ digitalSignature?: boolean; keyEncipherment?: boolean; keyCertSign?: boolean }>(s.cert, 'keyUsage');
  assert.ok(ku.critical && ku.digitalSignature && ku.keyEncipherment && !ku.keyCertSign);
  const caKeyId = extension<{ subjectKeyIdentifier: string }>(ca.cert, 'subjectKeyIdentifier').subjectKeyIdentifier;
  assert.equal(authorityKeyId(s.cert), caKeyId);
  assert.notEqual(extension<{ subjectKeyIdentifier: string }>(s.cert, 'subjectKeyIdentifier').subjectKeyIdentifier, caKeyId);
});

test('issueCert makes client certificates whose organizations are groups', async () => {
  const ca = await generateCA('test-ca');
  const alice = new X509Certificate((await issueCert(ca, { cn: 'alice', org: 'dev', client: true, days: 1 })).cert);
  assert.equal(alice.subject, 'O=dev\nCN=alice');
  assert.deepEqual(alice.keyUsage, [CLIENT_AUTH]);
  assert.equal(alice.subjectAltName, undefined);
  const bob = new X509Certificate((await issueCert(ca, { cn: 'bob', org: ['dev', 'ops'], client: true, server: true, days: 1 })).cert);
  assert.equal(bob.subject, 'O=dev\nO=ops\nCN=bob');
  assert.deepEqual([...(bob.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH]);
});

test('a certificate from another CA does not verify', async () => {
  const [ca, foreign] = await Promise.all([generateCA('ca'), generateCA('ca')]);
  const x = new X509Certificate((await issueCert(foreign, { cn: 'mallory', client: true, days: 1 })).cert);
  const caX = new X509Certificate(ca.cert);
  // same subject name: the authority key identifier and the signature tell them apart
  assert.equal(x.issuer, caX.subject);
  assert.equal(x.checkIssued(caX), false);
  assert.equal(x.verify(caX.publicKey), false);
  assert.equal(x.checkIssued(new X509Certificate(foreign.cert)), true);
  assert.equal(x.verify(new X509Certificate(foreign.cert).publicKey), true);
});

test('serials are random, positive and at most 128 bits', async () => {
  const ca = await generateCA('ca');
  const serials = await Promise.all(Array.from({ length: 4 }, async () => new X509Certificate((await issueCert(ca, { cn: 'x', days: 1 })).cert).serialNumber));
  serials.push(new X509Certificate(ca.cert).serialNumber);
  assert.equal(new Set(serials).size, serials.length);
  for (const s of serials) {
    const n = BigInt(`0x${s}`);
    assert.ok(n > 0n && n < 2n ** 128n, s);
    assert.ok(n >= 2n ** 120n, `serial ${s} has fewer than 121 bits`);
  }
});
