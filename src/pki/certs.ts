// X.509 issuance for the standalone server, the in-cluster cert script and tests. Node generates the
// RSA keys (native, off the event loop); node-forge builds and signs the certificates.

import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

/** A certificate and its private key, both PEM; spreads straight into TLS options. */
export interface CertKeyPair {
  cert: string;
  key: string;
}

export interface IssueOptions {
  cn: string;
  /** Organizations; Kubernetes reads each as a group of a client certificate's user. */
  org?: string | string[];
  dnsNames?: string[];
  ips?: string[];
  /** Adds extKeyUsage clientAuth. */
  client?: boolean;
  /** Adds extKeyUsage serverAuth. */
  server?: boolean;
  days: number;
}

const DAY_MS = 86_400_000;
const generateKeyPairAsync = promisify(generateKeyPair);

async function newKey(): Promise<{ publicKey: forge.pki.rsa.PublicKey; keyPem: string }> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKey: forge.pki.publicKeyFromPem(publicKey), keyPem: privateKey };
}

/** A random positive 128-bit serial, hex, DER-minimal (Go rejects integers padded with a zero byte). */
function serialNumber(): string {
  const b = randomBytes(16);
  if (b[0] === 0) b[0] = 1;
  return (b[0] & 0x80 ? '00' : '') + b.toString('hex');
}

function newCertificate(publicKey: forge.pki.rsa.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  const now = Date.now();
  // Backdated a little so a peer whose clock is slightly behind accepts it at once.
  cert.validity.notBefore = new Date(now - 5 * 60_000);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
  return cert;
}

const sign = (cert: forge.pki.Certificate, keyPem: string) => cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());

/** A self-signed CA (10 years unless told otherwise). */
export async function generateCA(cn: string, days = 3650): Promise<CertKeyPair> {
  const { publicKey, keyPem } = await newKey();
  const cert = newCertificate(publicKey, days);
  const name = [{ name: 'commonName', value: cn }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  sign(cert, keyPem);
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

/** A leaf certificate signed by `ca`. */
export async function issueCert(ca: CertKeyPair, o: IssueOptions): Promise<CertKeyPair> {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const { publicKey, keyPem } = await newKey();
  const cert = newCertificate(publicKey, o.days);
  const orgs = o.org === undefined ? [] : [o.org].flat();
  cert.setSubject([...orgs.map((value) => ({ name: 'organizationName', value })), { name: 'commonName', value: o.cn }]);
  cert.setIssuer(caCert.subject.attributes);
  const caKeyId = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  const altNames = [...(o.dnsNames ?? []).map((value) => ({ type: 2, value })), ...(o.ips ?? []).map((ip) => ({ type: 7, ip }))];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    ...(o.client || o.server ? [{ name: 'extKeyUsage', serverAuth: !!o.server, clientAuth: !!o.client }] : []),
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: caKeyId?.subjectKeyIdentifier ? forge.util.hexToBytes(caKeyId.subjectKeyIdentifier) : caCert.generateSubjectKeyIdentifier().getBytes(),
    },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  sign(cert, ca.key);
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}
