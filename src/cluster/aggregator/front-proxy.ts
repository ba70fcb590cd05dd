// The front-proxy PKI of the local cluster, as kube-apiserver's --requestheader-client-ca-file and
// --proxy-client-cert-file: a CA of its own (never the cluster CA, so a user's client certificate can
// never pass for the proxy) and the client certificate CN=front-proxy-client that the aggregator
// presents to aggregated servers. Kept in the cluster's cert dir, made when missing or near expiry.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCA, issueCert, type CertKeyPair } from '../../pki/certs.js';
import { writeFileAtomic } from '../../pki/write-atomic.js';

export const FRONT_PROXY_CLIENT_CN = 'front-proxy-client';

export interface FrontProxyCerts {
  ca: CertKeyPair;
  client: CertKeyPair;
  caCertPath: string;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

async function read(dir: string, name: string): Promise<CertKeyPair | undefined> {
  try {
    return { cert: await readFile(join(dir, `${name}.crt`), 'utf8'), key: await readFile(join(dir, `${name}.key`), 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function usable(pair: CertKeyPair | undefined, issuer?: X509Certificate): pair is CertKeyPair {
  if (!pair) return false;
  try {
    const x = new X509Certificate(pair.cert);
    if (!x.checkPrivateKey(createPrivateKey(pair.key))) return false;
    if (Date.parse(x.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    return !issuer || (x.checkIssued(issuer) && x.verify(issuer.publicKey));
  } catch {
    return false;
  }
}

async function write(dir: string, name: string, pair: CertKeyPair): Promise<void> {
  await writeFileAtomic(join(dir, `${name}.key`), pair.key, 0o600);
  await writeFileAtomic(join(dir, `${name}.crt`), pair.cert, 0o644);
}

/** Reads `front-proxy-ca.*` and `front-proxy-client.*` from `dir`, making what is missing or unusable. */
export async function ensureFrontProxyCerts(dir: string): Promise<FrontProxyCerts> {
  let ca = await read(dir, 'front-proxy-ca');
  let remadeCA = false;
  if (!usable(ca)) {
    ca = await generateCA('front-proxy-ca');
    await write(dir, 'front-proxy-ca', ca);
    remadeCA = true;
  }
  let client = await read(dir, 'front-proxy-client');
  if (remadeCA || !usable(client, new X509Certificate(ca.cert))) {
    client = await issueCert(ca, { cn: FRONT_PROXY_CLIENT_CN, client: true, days: 365 });
    await write(dir, 'front-proxy-client', client);
  }
  return { ca, client: client!, caCertPath: join(dir, 'front-proxy-ca.crt') };
}
