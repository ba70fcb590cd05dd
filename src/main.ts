// gitops-toolkit: options → storage → certificates → API server; graceful stop on SIGTERM/SIGINT.

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resources } from './apis/v1/index.js';
import { noArtifacts } from './apiserver/handlers/artifacts.js';
import { createApiServer } from './apiserver/server.js';
import { AlwaysAllowAuthorizer, ClientCertAuthenticator } from './auth/client-cert.js';
import { OptionsError, parseOptions, usage } from './config/options.js';
import { createLogger } from './observability/logger.js';
import { ensureStandaloneCerts } from './pki/standalone.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof OptionsError) {
      process.stderr.write(`error: ${e.message}\n\n${usage()}`);
      process.exit(2);
    }
    throw e;
  }
  if (options.help) {
    process.stdout.write(usage());
    return;
  }
  const log = createLogger(options.logLevel);
  const dataDir = resolve(options.dataDir);
  const certDir = resolve(options.certDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  const storage = openSqliteStorage({ path: join(dataDir, 'gitops.db'), compactWindow: options.compactionWindow, compactIntervalMs: options.compactionIntervalMs, progressIntervalMs: options.watchBookmarkIntervalMs });
  let certs = await ensureStandaloneCerts(certDir, { bindAddress: options.bindAddress, port: options.securePort });
  if (certs.generated.length) log.info('generated certificates', { dir: certDir, generated: certs.generated });

  const api = createApiServer({
    resources,
    storage,
    tls: { key: certs.servingKey, cert: certs.servingCert, clientCA: certs.caCert },
    authenticators: [new ClientCertAuthenticator()],
    authorizer: new AlwaysAllowAuthorizer(),
    artifacts: noArtifacts,
    log,
    maxBodyBytes: options.maxRequestBodyBytes,
    minRequestTimeoutSeconds: options.minRequestTimeoutSeconds,
    requestTimeoutMs: options.requestTimeoutMs,
    readyChecks: [{ name: 'storage', check: async () => void (await storage.currentRevision()) }],
  });
  const address = await api.listen(options.securePort, options.bindAddress);
  if (options.securePort === 0) certs = await ensureStandaloneCerts(certDir, { bindAddress: options.bindAddress, port: address.port });

  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info('serving', { url: `https://${host}:${address.port}`, dataDir, kubeconfig: certs.kubeconfigPath });
  process.stdout.write(`gitops-toolkit is serving gitops.toolkit/v1 on https://${host}:${address.port}\n`);
  process.stdout.write(`kubeconfig: ${certs.kubeconfigPath}\n`);
  process.stdout.write(`try: kubectl --kubeconfig ${certs.kubeconfigPath} api-resources --api-group=gitops.toolkit\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    await api.close();
    await storage.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: 'fatal', err: { message: (e as Error).message, stack: (e as Error).stack } })}\n`);
  process.exit(1);
});
