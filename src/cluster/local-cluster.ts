// The local cluster: an API-only Kubernetes (like envtest's kube-apiserver + etcd) built from the same
// registry and API server that serve gitops.toolkit/v1 — the built-in kinds of Kubernetes 1.32 and
// any CRD's kinds, on SQLite, with client-certificate and ServiceAccount-token authentication, RBAC
// from its own objects, admission (namespace lifecycle, webhooks), and only the controllers an API
// needs to keep its promises: garbage collection, namespace deletion and CRD serving. Nothing runs:
// Pods are stored and stay Pending. Its aggregation layer (./aggregator/) proxies the group versions
// APIServices hand to other servers, with front-proxy certificates from its own front-proxy CA.

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { notFound } from '../apis/meta/errors.js';
import { readerAdmission, type Admission } from '../admission/chain.js';
import { createApiServer, type ApiServer } from '../apiserver/server.js';
import { AuthenticationChain } from '../auth/authn/chain.js';
import { TokenFileAuthenticator } from '../auth/authn/token-file.js';
import type { TokenAuthenticator } from '../auth/authn/types.js';
import { CABundle } from '../auth/authn/x509.js';
import { GarbageCollector } from '../controllers/garbage-collector/garbage-collector.js';
import type { Logger } from '../observability/logger.js';
import { prepareStandaloneCerts, writeStandaloneCerts, type StandaloneCerts } from '../pki/standalone.js';
import { ResourceStores } from '../registry/resource-stores.js';
import type { SqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { openSqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { bootstrapCluster } from './bootstrap.js';
import { builtinDefinitions } from './builtin/kinds.js';
import { CRDController } from './crd-controller.js';
import { LocalKubeReader } from './local-reader.js';
import { NamespaceController } from './namespace-controller.js';
import { ClusterRBACAuthorizer } from './rbac-authorizer.js';
import { Aggregator } from './aggregator/aggregator.js';
import { apiServiceName } from './aggregator/apiservices.js';
import { AuthenticationConfigMapPublisher, authenticationConfigMapData } from './aggregator/authentication-configmap.js';
import { endpointURL, ServiceEndpoints } from './aggregator/endpoints.js';
import { ensureFrontProxyCerts, type FrontProxyCerts } from './aggregator/front-proxy.js';
import { serviceAccountAuthenticator, serviceAccountKey, tokenSubresource } from './service-account-tokens.js';
import { WorkloadSimulator } from './workloads.js';

export interface LocalClusterOptions {
  securePort: number;
  bindAddress: string;
  dataDir: string;
  certDir: string;
  log: Logger;
  tokenAuthFile?: string;
  anonymousAuth?: boolean;
  maxRequestBodyBytes?: number;
  minRequestTimeoutSeconds?: number;
  requestTimeoutMs?: number;
  maxInflight?: { readOnly: number; mutating: number };
  compactionWindow?: number;
  compactionIntervalMs?: number;
  watchBookmarkIntervalMs?: number;
  /** --simulate-workloads: workloads marked rolled out (Jobs complete) after delayMs; off when unset. */
  workloads?: { delayMs: number };
  /** How often remote APIServices are checked for availability (besides on every change); 30 s by default. */
  availabilityIntervalMs?: number;
}

export interface LocalCluster {
  /** `https://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The admin kubeconfig (CN admin, O system:masters): `<cert-dir>/kubeconfig`. */
  kubeconfigPath: string;
  certs: StandaloneCerts;
  stores: ResourceStores;
  api: ApiServer;
  /** The front-proxy CA (requestheader-client-ca-file) and the aggregator's client certificate. */
  frontProxy: FrontProxyCerts;
  aggregator: Aggregator;
  /** Service → EndpointSlice resolution, shared by the aggregator and the webhooks. */
  endpoints: ServiceEndpoints;
  close(): Promise<void>;
}

/** The version the local cluster reports: the Kubernetes release its kinds and schemas are of. */
export const LOCAL_CLUSTER_VERSION = 'v1.32.3';

export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const log = o.log;
  const dataDir = resolve(o.dataDir);
  const certDir = resolve(o.certDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  const prepared = await prepareStandaloneCerts(certDir, { bindAddress: o.bindAddress, names: { ca: 'local-cluster-ca', serving: 'kube-apiserver', cluster: 'local-cluster' } });
  const saKey = await serviceAccountKey(certDir);
  const frontProxy = await ensureFrontProxyCerts(certDir);

  const storage: SqliteStorage = openSqliteStorage({
    path: join(dataDir, 'cluster.db'),
    compactWindow: o.compactionWindow,
    compactIntervalMs: o.compactionIntervalMs,
    progressIntervalMs: o.watchBookmarkIntervalMs ?? 5000,
  });
  const defs = builtinDefinitions();
  // Built once for all: the workload schemas compile on their first write rather than at start.
  const stores = new ResourceStores(defs, storage, { precompile: false });
  const sa = defs.find((d) => d.group === '' && d.kind === 'ServiceAccount')!;
  sa.actions = [tokenSubresource(stores, saKey)];

  const rbac = new ClusterRBACAuthorizer(stores, log.child({ component: 'rbac' }));
  const clientCA = new CABundle(prepared.caCert);
  const tokens: TokenAuthenticator[] = [serviceAccountAuthenticator(stores, saKey)];
  if (o.tokenAuthFile) tokens.unshift(await TokenFileAuthenticator.load(resolve(o.tokenAuthFile), log));
  const authenticator = new AuthenticationChain({ config: () => ({ clientCA }), tokens, anonymous: o.anonymousAuth ?? false, log });
  // Webhooks with clientConfig.service are reached as the aggregator reaches its backends: through the
  // Service's EndpointSlices (there is no cluster DNS or kube-proxy here).
  const endpoints = new ServiceEndpoints(stores, log.child({ component: 'endpoints' }));
  const admission: Admission = readerAdmission(new LocalKubeReader(stores), {
    plugins: ['NamespaceLifecycle', 'MutatingAdmissionWebhook', 'ValidatingAdmissionWebhook'],
    resolveService: (svc) => endpointURL(endpoints.resolve(svc.namespace, svc.name, svc.port)),
    log: log.child({ component: 'admission' }),
  });
  const builtin = new Set<string>();
  let api: ApiServer | undefined;
  const aggregator = new Aggregator({
    stores,
    endpoints,
    frontProxy,
    localGroupVersions: () => api?.groupVersions() ?? [],
    builtin,
    log: log.child({ component: 'aggregator' }),
    availabilityIntervalMs: o.availabilityIntervalMs,
  });
  const authConfigMap = new AuthenticationConfigMapPublisher(stores, authenticationConfigMapData(prepared.caCert, frontProxy.ca.cert), log.child({ component: 'authentication-configmap' }));

  const gc = new GarbageCollector(stores, log.child({ component: 'garbage-collector' }));
  const namespaces = new NamespaceController(stores, log.child({ component: 'namespace-controller' }));
  const crds = new CRDController(stores, log.child({ component: 'crd-controller' }));
  const workloads = o.workloads ? new WorkloadSimulator(stores, log.child({ component: 'workload-simulator' }), o.workloads) : undefined;

  api = createApiServer({
    stores,
    tls: { key: prepared.servingKey, cert: prepared.servingCert, clientCA: prepared.caCert },
    authenticators: [authenticator],
    tokenReviewer: (token) => authenticator.authenticateToken(token),
    authorizer: rbac,
    admission,
    artifacts: {
      serve: async (_req, _res, store, obj) => {
        throw notFound({ group: store.def.group, resource: store.def.plural }, obj.metadata.name ?? '');
      },
    },
    log,
    maxBodyBytes: o.maxRequestBodyBytes ?? 3 * 1024 * 1024,
    minRequestTimeoutSeconds: o.minRequestTimeoutSeconds ?? 1800,
    requestTimeoutMs: o.requestTimeoutMs ?? 60_000,
    maxInflight: o.maxInflight,
    version: { gitVersion: LOCAL_CLUSTER_VERSION },
    aggregator,
    readyChecks: [
      { name: 'storage', check: async () => void (await storage.currentRevision()) },
      {
        name: 'admission',
        check: async () => {
          if (!admission.hasSynced) throw new Error('admission caches not synced');
        },
      },
    ],
  });

  // Everything that decides requests is ready before the port is: RBAC, CRDs served, the bootstrap objects.
  for (const gv of api.groupVersions()) builtin.add(apiServiceName(gv.group, gv.version));

  await rbac.start();
  await crds.start();
  await endpoints.start();
  const address = await api.listen(o.securePort, o.bindAddress);
  let certs: StandaloneCerts;
  try {
    certs = await writeStandaloneCerts(prepared, { bindAddress: o.bindAddress, port: address.port });
    await bootstrapCluster(stores, { apiServerPort: address.port });
    await authConfigMap.start();
    await aggregator.start();
    admission.start();
    await gc.start();
    await namespaces.start();
    workloads?.start();
  } catch (e) {
    await Promise.all([aggregator.stop(), authConfigMap.stop(), endpoints.stop()]);
    await api.close();
    await storage.close();
    throw e;
  }
  const host = o.bindAddress === '0.0.0.0' || o.bindAddress === '::' ? '127.0.0.1' : o.bindAddress;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  log.info('local cluster serving', { url, kubeconfig: certs.kubeconfigPath, dataDir });

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    kubeconfigPath: certs.kubeconfigPath,
    certs,
    stores,
    api,
    frontProxy,
    aggregator,
    endpoints,
    close: () =>
      (closed ??= (async () => {
        await Promise.all([gc.stop(), namespaces.stop(), crds.stop(), rbac.stop(), admission.stop(), workloads?.stop(), aggregator.stop(), authConfigMap.stop(), endpoints.stop()]);
        await api.close();
        await storage.close();
      })()),
  };
}
