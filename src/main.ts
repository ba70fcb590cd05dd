// gitops-toolkit: options → storage → certificates → API server → controllers; graceful stop on
// SIGTERM/SIGINT.

import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { resources } from './apis/v1/index.js';
import { GROUP, VERSION } from './apis/v1/common.js';
import { ResourceStores } from './registry/resource-stores.js';
import { artifactServer } from './apiserver/handlers/artifacts.js';
import { createApiServer } from './apiserver/server.js';
import { ArtifactStore, ownerKey } from './artifacts/store.js';
import { ADMISSION_PLUGINS, clusterAdmission, type AdmissionPlugin } from './admission/chain.js';
import { AuthenticationChain } from './auth/authn/chain.js';
import { AuthenticationConfigSource, type AuthenticationConfig } from './auth/authn/cluster-config.js';
import type { RequestHeaderConfig } from './auth/authn/requestheader.js';
import { CABundle } from './auth/authn/x509.js';
import { startLocalCluster, type LocalCluster } from './cluster/local-cluster.js';
import { GITOPS_SERVICE, GITOPS_SERVICE_DNS_NAME, LocalSecretReader, registerAggregatedServer } from './cluster/embedded.js';
import { FRONT_PROXY_CLIENT_CN } from './cluster/aggregator/front-proxy.js';
import { trustedClientCAs } from './auth/authn/tls.js';
import { TokenFileAuthenticator } from './auth/authn/token-file.js';
import { TokenReviewAuthenticator } from './auth/authn/token-review.js';
import { bootstrapPolicy } from './auth/authz/bootstrap.js';
import { loadRBACFile } from './auth/authz/rbac-loader.js';
import { RBACAuthorizer } from './auth/authz/rbac.js';
import { SubjectAccessReviewAuthorizer } from './auth/authz/sar.js';
import { alwaysAllow, UnionAuthorizer } from './auth/authz/union.js';
import type { Authorizer } from './auth/types.js';
import { OptionsError, parseOptions, usage, type Options } from './config/options.js';
import { startControllers } from './controllers/registry.js';
import { registerKustomizationViews } from './controllers/kustomization/views.js';
import { GarbageCollector } from './controllers/garbage-collector/garbage-collector.js';
import { WorkerPool } from './controllers/runtime/worker-pool.js';
import { KubeClient } from './kube/client.js';
import { ClusterEventRecorder, noEvents } from './kube/events.js';
import { ClusterSecretReader, DirectorySecretReader, noSecrets, type SecretReader } from './kube/secrets.js';
import { createLogger, type Logger } from './observability/logger.js';
import { stopOnSignals } from './observability/shutdown.js';
import { Metrics } from './observability/metrics.js';
import { readKeyPair, watchKeyPair } from './pki/reload.js';
import { prepareStandaloneCerts, writeStandaloneCerts, type StandaloneCerts } from './pki/standalone.js';
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
  // Given a serving certificate (in a cluster), nothing is generated and --cert-dir is not written:
  // it may be read-only there. Standalone, the CA, serving and admin certificates are made on first start.
  const servingFiles = options.tlsCertFile ? { certFile: resolve(options.tlsCertFile), keyFile: resolve(options.tlsPrivateKeyFile) } : undefined;
  // The host cluster, when there is one: Secrets, TokenReview, SubjectAccessReview, the
  // authentication ConfigMap, admission and Kustomizations all talk to it, through one client.
  const kc = hostCluster(options.kubeconfig);
  if (kc) log.info('using the host cluster', { server: kc.server });
  // Without one, an embedded local cluster (started once our port is ours, below) aggregates this API.
  const embedded = !kc && options.localCluster;

  // Written only once the port is ours (below): a second instance that cannot bind leaves a running
  // one's certificates and kubeconfig as they are. Embedded, the serving certificate also names the
  // Service the cluster's aggregator verifies it as.
  const prepared = servingFiles ? undefined : await prepareStandaloneCerts(certDir, { bindAddress: options.bindAddress, extraDNSNames: embedded ? [GITOPS_SERVICE_DNS_NAME] : [] });
  let certs: StandaloneCerts | undefined = prepared;

  const authn = await AuthenticationConfigSource.start({ flags: options, cluster: kc, standaloneClientCA: certs?.caCert, log: log.child({ component: 'authn' }) });
  // Embedded, the local cluster's front proxy is believed as kube-apiserver's would be (unless
  // --requestheader-client-ca-file names another): set once the cluster has made its front-proxy CA.
  let embeddedFrontProxy: RequestHeaderConfig | undefined;
  let authConfig: { from?: AuthenticationConfig; merged?: AuthenticationConfig } = {};
  const currentAuthn = (): AuthenticationConfig => {
    const c = authn.current();
    if (!embeddedFrontProxy || c.requestHeader) return c;
    if (authConfig.from !== c) authConfig = { from: c, merged: { ...c, requestHeader: embeddedFrontProxy } };
    return authConfig.merged!;
  };
  const authenticator = new AuthenticationChain({
    config: currentAuthn,
    tokens: [
      ...(options.tokenAuthFile ? [await TokenFileAuthenticator.load(resolve(options.tokenAuthFile), log)] : []),
      ...(kc ? [new TokenReviewAuthenticator(kc, { cacheTTLMs: options.authenticationTokenWebhookCacheTTLMs })] : []),
    ],
    anonymous: options.anonymousAuth,
    log,
  });
  const authorizer = new UnionAuthorizer(await authorizers(options, kc, log));
  const plugins = admissionPlugins(options, !!kc);
  const admission = kc && plugins.length ? clusterAdmission(kc, { plugins, log: log.child({ component: 'admission' }) }) : undefined;
  admission?.start();

  const metrics = new Metrics();
  const artifacts = new ArtifactStore(join(dataDir, 'artifacts'));
  metrics.artifactBytesSource = () => artifacts.totalBytes();
  const serving = servingFiles ? await readKeyPair(servingFiles) : { cert: certs!.servingCert, key: certs!.servingKey };
  // Built once: the API server serves them and the controllers reconcile through them.
  const stores = new ResourceStores(resources, storage);
  const api = createApiServer({
    stores,
    tls: { key: serving.key, cert: serving.cert, clientCA: trustedClientCAs(authn.current()) ?? '' },
    authenticators: [authenticator],
    tokenReviewer: (token) => authenticator.authenticateToken(token),
    authorizer,
    admission,
    artifacts: artifactServer(artifacts),
    metrics,
    log,
    maxBodyBytes: options.maxRequestBodyBytes,
    minRequestTimeoutSeconds: options.minRequestTimeoutSeconds,
    requestTimeoutMs: options.requestTimeoutMs,
    // A view may build: give it the build's time, within the request's.
    viewTimeoutMs: Math.min(options.kustomizeBuildTimeoutMs + 5_000, options.requestTimeoutMs),
    maxInflight: { readOnly: options.maxRequestsInflight, mutating: options.maxMutatingRequestsInflight },
    readyChecks: [
      { name: 'storage', check: async () => void (await storage.currentRevision()) },
      {
        name: 'admission',
        check: async () => {
          if (admission && !admission.hasSynced) throw new Error('admission caches not synced');
        },
      },
    ],
  });
  authn.onChange(() => api.setTLS({ clientCA: trustedClientCAs(currentAuthn()) ?? '' }));
  const address = await api.listen(options.securePort, options.bindAddress);
  if (servingFiles) {
    watchKeyPair(
      servingFiles,
      options.tlsReloadIntervalMs,
      (pair) => {
        api.setTLS(pair);
        log.info('serving certificate reloaded', { file: servingFiles.certFile });
      },
      (e) => log.warn('serving certificate not reloaded', { err: e.message }),
    );
  }
  if (prepared) {
    certs = await writeStandaloneCerts(prepared, { bindAddress: options.bindAddress, port: address.port });
    if (certs.generated.length) log.info('generated certificates', { dir: certDir, generated: certs.generated });
  }

  // The embedded local cluster, once the server holds its port (so a second instance that cannot bind
  // touches neither). Decided here: it is the host cluster for Secrets (spec.secretRef, unless
  // --secrets-dir is given) and for events, which the Kustomization work will apply to as well; but
  // not for this server's own authentication, authorization or admission — the direct kubeconfig
  // (certs/kubeconfig) works exactly as standalone. Requests through the cluster's aggregator were
  // already authenticated and authorized by the cluster (its RBAC); here they are authenticated by the
  // front-proxy certificate and authorized by --authorization-mode like any other.
  let local: LocalCluster | undefined;
  let localKubeconfig: string | undefined;
  if (embedded) {
    try {
      local = await startLocalCluster({
        securePort: options.localClusterPort,
        bindAddress: options.bindAddress,
        dataDir: join(dataDir, 'local-cluster'),
        certDir: join(certDir, 'local-cluster'),
        log: log.child({ component: 'local-cluster' }),
        ...(options.localClusterSimulateWorkloads ? { workloads: { delayMs: options.localClusterSimulatedRolloutDelayMs } } : {}),
      });
    } catch (e) {
      await api.close();
      throw new Error(`starting the embedded local cluster on port ${options.localClusterPort}: ${(e as Error).message} (choose another --local-cluster-port, or --local-cluster=false)`);
    }
    embeddedFrontProxy = {
      ca: new CABundle(local.frontProxy.ca.cert),
      allowedNames: [FRONT_PROXY_CLIENT_CN],
      usernameHeaders: ['X-Remote-User'],
      uidHeaders: [],
      groupHeaders: ['X-Remote-Group'],
      extraHeaderPrefixes: ['X-Remote-Extra-'],
    };
    api.setTLS({ clientCA: trustedClientCAs(currentAuthn()) ?? '' });
    await registerAggregatedServer(local.stores, {
      group: GROUP,
      version: VERSION,
      ...GITOPS_SERVICE,
      service: GITOPS_SERVICE.name,
      host: address.address,
      port: address.port,
      // With --tls-cert-file, that file must hold the chain up to its CA for the aggregator to verify it.
      caBundle: certs?.caCert ?? serving.cert,
      // As apiservice/apiservice.yaml registers it in a real cluster.
      groupPriorityMinimum: 1000,
      versionPriority: 15,
    });
    // The kubeconfig printed below works at once: the first availability check has passed (or failed, logged).
    if (!(await local.aggregator.waitAvailable(`${VERSION}.${GROUP}`, 10_000))) log.warn('APIService v1.gitops.toolkit is not available yet', { condition: local.aggregator.availability(`${VERSION}.${GROUP}`) });
    localKubeconfig = join(certDir, 'local-cluster.kubeconfig');
    await copyFile(local.kubeconfigPath, localKubeconfig);
  }

  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const baseURL = options.artifactBaseURL || `https://${host}:${address.port}`;
  // Builds mostly wait on the network and the disk, so the pool matches --concurrent rather than the cores.
  const pool = new WorkerPool(options.concurrent);
  // The cluster controllers talk to: the host cluster, else the embedded local cluster (as its admin).
  const cluster = kc ?? (local ? kubeConfigFile(local.kubeconfigPath) : undefined);
  const events = cluster ? new ClusterEventRecorder(cluster, log) : noEvents;
  const secrets: SecretReader = kc
    ? new ClusterSecretReader(cluster!)
    : options.secretsDir
      ? new DirectorySecretReader(resolve(options.secretsDir))
      : local
        ? new LocalSecretReader(local.stores)
        : noSecrets;
  const controllers = startControllers({ options, stores, artifacts, secrets, pool, dataDir, baseURL, cluster, events, log, metrics });
  registerKustomizationViews(api.views, { stores, artifacts, cluster, options, dataDir });
  // Part of the API's semantics (propagationPolicy, ownerReferences), not a reconciler: it runs
  // whatever --controllers says, as deletions would otherwise wait on its finalizers forever.
  const gc = new GarbageCollector(stores, log.child({ component: 'garbage-collector' }));
  await gc.start();
  // Artifacts whose object is gone without its finalizer running (removed by hand, or a restored
  // store): swept a minute after start and then hourly.
  const sweep = async () => {
    try {
      const live = new Set<string>();
      for (const store of stores.values()) {
        if (!store.def.hasArtifact) continue;
        for (const item of (await store.list(undefined, {})).items) live.add(ownerKey({ kind: store.def.kind, namespace: item.metadata.namespace!, name: item.metadata.name! }));
      }
      const removed = await artifacts.gcOrphans(live);
      if (removed.length) log.info('removed orphaned artifacts', { count: removed.length });
    } catch (e) {
      log.error('orphan sweep failed', { err: e });
    }
  };
  setTimeout(() => void sweep(), 60_000).unref();
  setInterval(() => void sweep(), 3_600_000).unref();
  log.info('serving', { url: `https://${host}:${address.port}`, dataDir, ...(certs ? { kubeconfig: certs.kubeconfigPath } : {}) });
  process.stdout.write(`gitops-toolkit is serving gitops.toolkit/v1 on https://${host}:${address.port}\n`);
  if (certs) {
    process.stdout.write(`kubeconfig: ${certs.kubeconfigPath}\n`);
    process.stdout.write(`try: kubectl --kubeconfig ${certs.kubeconfigPath} api-resources --api-group=gitops.toolkit\n`);
  }
  if (local && localKubeconfig) {
    log.info('embedded local cluster serving', { url: local.url, kubeconfig: localKubeconfig });
    process.stdout.write(`local cluster (Kubernetes API only: no Pods run) serving on ${local.url}, aggregating gitops.toolkit/v1\n`);
    process.stdout.write(`local-cluster kubeconfig: ${localKubeconfig}\n`);
    process.stdout.write(`try: kubectl --kubeconfig ${localKubeconfig} get ns,deploy,cm,gitrepositories,kustomizations -A\n`);
  }

  stopOnSignals(log, async () => {
    await Promise.all([...controllers.map((c) => c.stop()), gc.stop()]);
    await api.close();
    await local?.close();
    await admission?.stop();
    authn.stop();
    await pool.close();
    await storage.close();
  });
}

function kubeConfigFile(path: string): KubeClient {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return new KubeClient(kc);
}

/** The host cluster: --kubeconfig, or the in-cluster config in a pod; none standalone. */
function hostCluster(kubeconfig: string): KubeClient | undefined {
  if (!kubeconfig && !process.env.KUBERNETES_SERVICE_HOST) return undefined;
  const kc = new k8s.KubeConfig();
  if (kubeconfig) kc.loadFromFile(resolve(kubeconfig));
  else kc.loadFromCluster();
  return new KubeClient(kc);
}

/** --authorization-mode, in order. */
async function authorizers(o: Options, kc: KubeClient | undefined, log: Logger): Promise<Authorizer[]> {
  const out: Authorizer[] = [];
  for (const mode of o.authorizationMode) {
    if (mode === 'AlwaysAllow') out.push(alwaysAllow);
    else if (mode === 'RBAC') {
      if (!o.authorizationRBACFile) throw new OptionsError('--authorization-mode=RBAC needs --authorization-rbac-file');
      out.push(new RBACAuthorizer([...bootstrapPolicy(), ...(await loadRBACFile(resolve(o.authorizationRBACFile)))]));
    } else if (mode === 'Webhook') {
      if (!kc) throw new OptionsError('--authorization-mode=Webhook needs a cluster: --kubeconfig, or run in a pod');
      out.push(new SubjectAccessReviewAuthorizer(kc, { allowedTTLMs: o.authorizationWebhookCacheTTLMs, deniedTTLMs: o.authorizationWebhookCacheTTLMs, logger: log.child({ component: 'authz' }) }));
    }
  }
  return out;
}

/** kube-apiserver's admission flags: all three plugins by default when there is a cluster, none standalone. */
function admissionPlugins(o: Options, cluster: boolean): AdmissionPlugin[] {
  for (const p of [...o.enableAdmissionPlugins, ...o.disableAdmissionPlugins])
    if (!(ADMISSION_PLUGINS as readonly string[]).includes(p)) throw new OptionsError(`unknown admission plugin "${p}" (known: ${ADMISSION_PLUGINS.join(', ')})`);
  const on = new Set<string>(cluster ? ADMISSION_PLUGINS : []);
  for (const p of o.enableAdmissionPlugins) on.add(p);
  for (const p of o.disableAdmissionPlugins) on.delete(p);
  return ADMISSION_PLUGINS.filter((p) => on.has(p));
}

main().catch((e) => {
  if (e instanceof OptionsError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: 'fatal', err: { message: (e as Error).message, stack: (e as Error).stack } })}\n`);
  process.exit(1);
});
