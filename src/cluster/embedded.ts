// `npm start` with no host cluster: the gitops server starts a local cluster in its own process and
// registers itself into it the way the in-cluster manifests (manifests/, apiservice/) do in a real
// one — a namespace, a selector-less Service, an EndpointSlice pointing at the server's own address
// (what the endpoints controller would write for a Pod), and the APIService v1.gitops.toolkit with the
// server's CA as caBundle. The cluster's aggregator then proxies gitops.toolkit to the server with
// front-proxy certificates, so one kubeconfig shows built-in kinds and GitRepositories side by side.

import { isIP } from 'node:net';
import { StatusError } from '../apis/meta/errors.js';
import type { KubeObject } from '../apis/meta/types.js';
import type { SecretData, SecretReader } from '../kube/secrets.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import type { WriteContext } from '../registry/store.js';
import { ensureObject } from './bootstrap.js';
import { SERVICE_NAME_LABEL } from './aggregator/endpoints.js';

/** Where the gitops API is registered, as in manifests/ and apiservice/. */
export const GITOPS_SERVICE = { namespace: 'gitops-system', name: 'gitops-toolkit' } as const;
/** The name the aggregator verifies the server's certificate for. */
export const GITOPS_SERVICE_DNS_NAME = `${GITOPS_SERVICE.name}.${GITOPS_SERVICE.namespace}.svc`;

export interface AggregatedServer {
  group: string;
  version: string;
  namespace: string;
  service: string;
  /** The address and port the server listens on. */
  host: string;
  port: number;
  /** PEM of the CA that signed the server's serving certificate. */
  caBundle: string;
  groupPriorityMinimum: number;
  versionPriority: number;
}

const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'gitops-toolkit', fieldValidation: 'Strict', warnings: [] });

/** Creates `obj`, or sets the fields `change` sets on the one already there (a restart on another port). */
async function upsert(stores: ResourceStores, group: string, plural: string, obj: KubeObject, change: (o: KubeObject) => void): Promise<void> {
  const store = stores.get(group, 'v1', plural)!;
  const ns = obj.metadata.namespace ?? '';
  try {
    await store.create(ns, structuredClone(obj), ctx());
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 409)) throw e;
    await store.systemUpdate(ns, obj.metadata.name!, change);
  }
}

/** The Service, EndpointSlice and APIService that make the cluster's aggregator proxy `group/version` to the server. */
export async function registerAggregatedServer(stores: ResourceStores, s: AggregatedServer): Promise<void> {
  await ensureObject(stores, '', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.namespace } });
  const ports = [{ name: 'https', port: 443, protocol: 'TCP', targetPort: s.port }];
  await upsert(stores, '', 'services', { apiVersion: 'v1', kind: 'Service', metadata: { name: s.service, namespace: s.namespace }, spec: { type: 'ClusterIP', ports } } as KubeObject, (o) => {
    o.spec = { ...(o.spec ?? {}), ports };
  });
  // An unspecified bind address listens on loopback too; a host name is an FQDN endpoint.
  const unspecified = isIP(s.host) !== 0 && /^[0:.]+$/.test(s.host);
  const address = unspecified ? '127.0.0.1' : s.host;
  const addressType = isIP(address) === 6 ? 'IPv6' : isIP(address) === 4 ? 'IPv4' : 'FQDN';
  const slice = { addressType, endpoints: [{ addresses: [address], conditions: { ready: true } }], ports: [{ name: 'https', port: s.port, protocol: 'TCP' }] };
  await upsert(
    stores,
    'discovery.k8s.io',
    'endpointslices',
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: s.service, namespace: s.namespace, labels: { [SERVICE_NAME_LABEL]: s.service, 'endpointslice.kubernetes.io/managed-by': 'gitops-toolkit' } }, ...slice } as unknown as KubeObject,
    (o) => Object.assign(o, slice),
  );
  const spec = {
    group: s.group,
    version: s.version,
    service: { namespace: s.namespace, name: s.service, port: 443 },
    caBundle: Buffer.from(s.caBundle).toString('base64'),
    groupPriorityMinimum: s.groupPriorityMinimum,
    versionPriority: s.versionPriority,
  };
  await upsert(stores, 'apiregistration.k8s.io', 'apiservices', { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: `${s.version}.${s.group}` }, spec } as unknown as KubeObject, (o) => {
    (o as { spec: unknown }).spec = spec;
  });
}

/** spec.secretRef Secrets read from the cluster's own store, in process. */
export class LocalSecretReader implements SecretReader {
  constructor(private readonly stores: ResourceStores) {}

  async get(namespace: string, name: string): Promise<SecretData | undefined> {
    let secret: KubeObject;
    try {
      secret = await this.stores.get('', 'v1', 'secrets')!.get(namespace, name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return undefined;
      throw e;
    }
    const out: SecretData = {};
    // stringData is folded into data when a Secret is written.
    for (const [k, v] of Object.entries((secret as { data?: Record<string, string> }).data ?? {})) out[k] = Buffer.from(v, 'base64');
    return out;
  }
}
