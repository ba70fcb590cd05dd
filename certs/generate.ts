// `npm run certs`: the certificates for running in a cluster. Mints (or reuses) a CA, issues a serving
// certificate for the Service, writes it as a kubernetes.io/tls Secret into manifests/ and the CA into
// the APIService's caBundle. Re-running keeps the CA, so it rotates only the serving certificate and
// leaves the APIService unchanged.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { generateCA, issueCert, type CertKeyPair } from '../src/pki/certs.js';
import { writeFileAtomic } from '../src/pki/write-atomic.js';

const SERVING_DAYS = 365;
const SECRET_NAME = 'gitops-toolkit-serving-cert';

const USAGE = `Usage: npm run certs -- [--namespace NS] [--service NAME] [--out-dir DIR]

  --namespace  namespace of the Service and the Secret (default gitops-system)
  --service    name of the Service the APIService points at (default gitops-toolkit)
  --out-dir    the directory holding manifests/ and apiservice/ (default: this checkout);
               the CA is kept in DIR/certs/cluster/ (ca.crt, ca.key) and reused when present
`;

/** The CA in `dir`, if it is there, its key matches and it outlives a new serving certificate. */
async function reusableCA(dir: string): Promise<CertKeyPair | undefined> {
  let pair: CertKeyPair;
  try {
    pair = { cert: await readFile(join(dir, 'ca.crt'), 'utf8'), key: await readFile(join(dir, 'ca.key'), 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const x = new X509Certificate(pair.cert);
  if (!x.checkPrivateKey(createPrivateKey(pair.key))) throw new Error(`${dir}: ca.key is not the key of ca.crt`);
  return Date.parse(x.validTo) > Date.now() + (SERVING_DAYS + 1) * 86_400_000 ? pair : undefined;
}

/** Replaces the value of the `caBundle:` line, leaving every other byte of the file as it was. */
function withCABundle(apiService: string, caPem: string): string {
  const line = /^(\s*caBundle:)[^\n]*$/m;
  if (!line.test(apiService)) throw new Error('apiservice.yaml has no caBundle line to fill');
  return apiService.replace(line, `$1 ${Buffer.from(caPem).toString('base64')}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string', default: 'gitops-system' },
      service: { type: 'string', default: 'gitops-toolkit' },
      'out-dir': { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '..') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const { namespace, service } = values;
  const outDir = resolve(values['out-dir']);
  const caDir = join(outDir, 'certs', 'cluster');
  const secretPath = join(outDir, 'manifests', 'serving-cert-secret.yaml');
  const apiServicePath = join(outDir, 'apiservice', 'apiservice.yaml');

  let ca = await reusableCA(caDir);
  const newCA = !ca;
  if (!ca) {
    ca = await generateCA('gitops-toolkit-serving-ca');
    await mkdir(caDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(caDir, 'ca.key'), ca.key, 0o600);
    await writeFileAtomic(join(caDir, 'ca.crt'), ca.cert, 0o644);
  }
  // kube-apiserver dials <service>.<namespace>.svc; the other names serve in-cluster clients.
  const dnsNames = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  const serving = await issueCert(ca, { cn: `${service}.${namespace}.svc`, dnsNames, server: true, days: SERVING_DAYS });

  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET_NAME, namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(serving.cert), 'tls.key': b64(serving.key), 'ca.crt': b64(ca.cert) },
  };
  await writeFileAtomic(secretPath, `# Written by \`npm run certs\`; holds a private key: keep it out of Git.\n${yaml.dump(secret, { lineWidth: -1 })}`, 0o600);

  const before = await readFile(apiServicePath, 'utf8');
  const after = withCABundle(before, ca.cert);
  if (after !== before) await writeFile(apiServicePath, after);

  const expires = new X509Certificate(serving.cert).validTo;
  process.stdout.write(
    `${newCA ? `new CA in ${caDir}` : `reused the CA in ${caDir}`}\n` +
      `serving certificate for ${dnsNames.join(', ')} (until ${expires}) in ${secretPath}\n` +
      `caBundle in ${apiServicePath} ${after === before ? 'unchanged' : 'updated'}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}`);
  process.exit(1);
});
