// Certificates of the standalone server: a CA, a serving certificate and an admin client certificate
// under one directory, plus a kubeconfig, so `kubectl --kubeconfig <dir>/kubeconfig` just works.
// Made on first start and reused after; only what is missing, invalid or about to expire is remade.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { generateCA, issueCert, type CertKeyPair } from './certs.js';
import { writeFileAtomic } from './write-atomic.js';

export interface StandaloneCerts {
  dir: string;
  caCert: string;
  /** Lets tests and tools issue more client certificates the server accepts. */
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  caCertPath: string;
  servingCertPath: string;
  servingKeyPath: string;
  kubeconfigPath: string;
  /** What this call had to make, for a log line at start. */
  generated: ('ca' | 'serving' | 'admin')[];
}

const LEAF_DAYS = 365;
const RENEW_BEFORE_MS = 30 * 86_400_000;
const CLUSTER = 'gitops-toolkit';

// 0.0.0.0, ::, 0:0::0 …: an IP made only of zeros listens on every interface.
const isUnspecified = (address: string) => isIP(address) !== 0 && /^[0:.]+$/.test(address);

/** The names a client may use to reach a server bound to `bindAddress`. */
function servingNames(bindAddress: string): { dnsNames: string[]; ips: string[] } {
  const dnsNames = ['localhost'];
  const ips = ['127.0.0.1', '::1'];
  if (isUnspecified(bindAddress)) dnsNames.push(hostname().toLowerCase());
  else if (isIP(bindAddress)) ips.push(bindAddress);
  else dnsNames.push(bindAddress.toLowerCase());
  return { dnsNames: [...new Set(dnsNames)], ips: [...new Set(ips)] };
}

async function readPair(dir: string, name: string): Promise<CertKeyPair | undefined> {
  try {
    return { cert: await readFile(join(dir, `${name}.crt`), 'utf8'), key: await readFile(join(dir, `${name}.key`), 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Whether a pair on disk can be kept: it parses, the key is the certificate's, it is not within 30
 * days of expiry, it was signed by `ca` (for leaves) and it covers `names` (for the serving cert).
 */
function reusable(pair: CertKeyPair | undefined, ca?: X509Certificate, names?: { dnsNames: string[]; ips: string[] }): boolean {
  if (!pair) return false;
  try {
    const x = new X509Certificate(pair.cert);
    if (!x.checkPrivateKey(createPrivateKey(pair.key))) return false;
    if (Date.parse(x.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    if (ca && !(x.checkIssued(ca) && x.verify(ca.publicKey))) return false;
    if (names) {
      if (!names.ips.every((ip) => x.checkIP(ip))) return false;
      if (!names.dnsNames.every((n) => x.checkHost(n, { subject: 'never', wildcards: false }))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function writePair(dir: string, name: string, pair: CertKeyPair): Promise<void> {
  // Key first: a crash in between leaves a mismatched pair, which the next start remakes.
  await writeFileAtomic(join(dir, `${name}.key`), pair.key, 0o600);
  await writeFileAtomic(join(dir, `${name}.crt`), pair.cert, 0o644);
}

/** `https://host:port` for kubectl: loopback when the server listens everywhere, IPv6 bracketed. */
function serverURL(bindAddress: string, port: number): string {
  const host = isUnspecified(bindAddress) ? '127.0.0.1' : bindAddress;
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

const b64 = (pem: string) => Buffer.from(pem).toString('base64');

function kubeconfig(server: string, ca: string, admin: CertKeyPair, cluster = CLUSTER): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64(admin.cert), 'client-key-data': b64(admin.key) } }],
    contexts: [{ name: cluster, context: { cluster, user: 'admin', namespace: 'default' } }],
    'current-context': cluster,
    preferences: {},
  });
}

/** Standalone certificates read or made, not yet written: what writeStandaloneCerts persists. */
export interface PreparedCerts extends StandaloneCerts {
  /** The pairs made by this call, to be written. */
  readonly pending: { name: string; pair: CertKeyPair }[];
  /** The kubeconfig's cluster and context name. */
  readonly clusterName: string;
}

/** Who the certificates are for: the gitops server by default, the local cluster with its own names. */
export interface CertNames {
  ca: string;
  serving: string;
  cluster: string;
}
const SERVER_NAMES: CertNames = { ca: 'gitops-toolkit-ca', serving: 'gitops-toolkit-apiserver', cluster: CLUSTER };

/**
 * Reuses the standalone certificates in `dir` or makes new ones, in memory only: nothing is written
 * until writeStandaloneCerts, which a server calls once it holds its port, so a second instance that
 * cannot bind leaves a running one's certificates and kubeconfig alone.
 */
export async function prepareStandaloneCerts(dir: string, o: { bindAddress: string; names?: CertNames; extraDNSNames?: string[] }): Promise<PreparedCerts> {
  const n = o.names ?? SERVER_NAMES;
  const generated: StandaloneCerts['generated'] = [];
  const pending: { name: string; pair: CertKeyPair }[] = [];

  let ca = await readPair(dir, 'ca');
  if (!ca || !reusable(ca)) {
    ca = await generateCA(n.ca);
    pending.push({ name: 'ca', pair: ca });
    generated.push('ca');
  }
  const caX509 = new X509Certificate(ca.cert);

  const names = servingNames(o.bindAddress);
  // e.g. the Service name an aggregator verifies (<service>.<namespace>.svc); a cert with more names is kept.
  for (const extra of o.extraDNSNames ?? []) if (!names.dnsNames.includes(extra)) names.dnsNames.push(extra);
  let serving = await readPair(dir, 'apiserver');
  if (!serving || !reusable(serving, caX509, names)) {
    serving = await issueCert(ca, { cn: n.serving, ...names, server: true, days: LEAF_DAYS });
    pending.push({ name: 'apiserver', pair: serving });
    generated.push('serving');
  }

  let admin = await readPair(dir, 'admin');
  if (!admin || !reusable(admin, caX509)) {
    admin = await issueCert(ca, { cn: 'admin', org: 'system:masters', client: true, days: LEAF_DAYS });
    pending.push({ name: 'admin', pair: admin });
    generated.push('admin');
  }

  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    caCertPath: join(dir, 'ca.crt'),
    servingCertPath: join(dir, 'apiserver.crt'),
    servingKeyPath: join(dir, 'apiserver.key'),
    kubeconfigPath: join(dir, 'kubeconfig'),
    generated,
    pending,
    clusterName: n.cluster,
  };
}

/** Writes what prepareStandaloneCerts made and the kubeconfig for `https://<bindAddress>:<port>`. */
export async function writeStandaloneCerts(c: PreparedCerts, o: { bindAddress: string; port: number }): Promise<StandaloneCerts> {
  await mkdir(c.dir, { recursive: true, mode: 0o700 });
  for (const { name, pair } of c.pending) await writePair(c.dir, name, pair);
  await writeFileAtomic(c.kubeconfigPath, kubeconfig(serverURL(o.bindAddress, o.port), c.caCert, { cert: c.adminCert, key: c.adminKey }, c.clusterName), 0o600);
  const { pending: _p, clusterName: _c, ...certs } = c;
  return certs;
}

/** prepareStandaloneCerts, then writeStandaloneCerts: for tools and tests that serve nothing themselves. */
export async function ensureStandaloneCerts(dir: string, o: { bindAddress: string; port: number; names?: CertNames }): Promise<StandaloneCerts> {
  return writeStandaloneCerts(await prepareStandaloneCerts(dir, o), o);
}
