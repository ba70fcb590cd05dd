// Certificates and a TLS server for the authentication tests: the server is set up like the real one
// (requestCert, rejectUnauthorized off, the union of client and front-proxy CAs) and answers each
// request with the user the authenticator found, or 401.

import https from 'node:https';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { generateCA, issueCert, type CertKeyPair } from '../../src/pki/certs.js';
import type { Authenticator, UserInfo } from '../../src/auth/types.js';

export interface PKI {
  serverCA: CertKeyPair;
  serving: CertKeyPair;
  clientCA: CertKeyPair;
  frontProxyCA: CertKeyPair;
  otherCA: CertKeyPair;
}

export async function mintPKI(): Promise<PKI> {
  const [serverCA, clientCA, frontProxyCA, otherCA] = await Promise.all([generateCA('server-ca'), generateCA('client-ca'), generateCA('front-proxy-ca'), generateCA('other-ca')]);
  const serving = await issueCert(serverCA, { cn: 'localhost', ips: ['127.0.0.1'], server: true, days: 1 });
  return { serverCA, serving, clientCA, frontProxyCA, otherCA };
}

/** A CA signed by `root` (pki only makes self-signed ones), to test chains through an intermediate. */
export function intermediateCA(root: CertKeyPair, cn: string): CertKeyPair {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const rootCert = forge.pki.certificateFromPem(root.cert);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '0a1b2c';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer(rootCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(root.key), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

export interface Answer {
  status: number;
  user?: UserInfo;
  /** Identity headers the request still carried after authentication. */
  leftHeaders?: string[];
}

export interface AuthServer {
  server: https.Server;
  port: number;
  close(): Promise<void>;
}

export async function startAuthServer(pki: PKI, authenticator: Authenticator, ca: string | undefined): Promise<AuthServer> {
  const server = https.createServer({ ...pki.serving, ca, requestCert: true, rejectUnauthorized: false }, async (req, res) => {
    const user = await authenticator.authenticate(req);
    const leftHeaders = Object.keys(req.headers).filter((h) => h.startsWith('x-remote-') || h === 'authorization');
    res.writeHead(user ? 200 : 401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ user, leftHeaders }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One request on a fresh connection (so a new TLS handshake), with an optional client certificate. */
export function call(s: AuthServer, pki: PKI, o: { cert?: CertKeyPair; headers?: Record<string, string | string[]> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: s.port, path: '/', ca: pki.serverCA.cert, ...(o.cert ?? {}), headers: o.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ...JSON.parse(body) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
