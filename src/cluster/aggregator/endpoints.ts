// Service → address, as kube-apiserver's service resolver finds an aggregated server or a webhook: the
// Service port named by number (443 by default), then the Service's EndpointSlices (label
// kubernetes.io/service-name) for a ready endpoint with the port of that name. There is no kube-proxy
// here: a selector-less Service with a hand-written EndpointSlice pointing at a process on this
// machine is how a backend is reached. Services and EndpointSlices are cached from watches, so a
// lookup is synchronous (the webhook resolver's contract) and always current.

import { isIP } from 'node:net';
import type { KubeObject } from '../../apis/meta/types.js';
import type { Logger } from '../../observability/logger.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import { StoreFollowers } from '../../registry/watch-store.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
}
interface Service extends KubeObject {
  spec?: { type?: string; externalName?: string; ports?: ServicePort[] };
}
interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null } }[];
  ports?: { name?: string; port?: number }[] | null;
}

/** Why a Service could not be resolved, in the words and reasons kube's availability controller uses. */
export class ResolveError extends Error {
  constructor(
    readonly reason: 'ServiceNotFound' | 'ServicePortError' | 'EndpointsNotFound' | 'MissingEndpoints',
    message: string,
  ) {
    super(message);
  }
}

export interface Endpoint {
  host: string;
  port: number;
}

/** `https://host:port`, IPv6 bracketed. */
export const endpointURL = (e: Endpoint) => `https://${isIP(e.host) === 6 ? `[${e.host}]` : e.host}:${e.port}`;

export class ServiceEndpoints {
  private readonly services = new Map<string, Service>();
  /** By `namespace/service`, then by slice name. */
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();
  private readonly listeners = new Set<() => void>();
  private readonly followers: StoreFollowers;

  constructor(
    private readonly stores: ResourceStores,
    log: Logger,
  ) {
    this.followers = new StoreFollowers(log);
  }

  async start(): Promise<void> {
    await this.followers.follow(this.stores.get('', 'v1', 'services')!, (t, o) => this.putService(t, o));
    await this.followers.follow(this.stores.get('discovery.k8s.io', 'v1', 'endpointslices')!, (t, o) => this.putSlice(t, o));
  }

  stop(): Promise<void> {
    return this.followers.stop();
  }

  /** Told after every change of a Service or an EndpointSlice. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed() {
    for (const l of this.listeners) l();
  }

  private putService(type: string, o: KubeObject) {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    if (type === 'DELETED') this.services.delete(key);
    else this.services.set(key, o as Service);
    this.changed();
  }

  private putSlice(type: string, o: KubeObject) {
    // A slice may be relabelled to another Service: drop it everywhere first.
    for (const m of this.slices.values()) m.delete(`${o.metadata.namespace}/${o.metadata.name}`);
    const svc = o.metadata.labels?.[SERVICE_NAME_LABEL];
    if (type !== 'DELETED' && svc) {
      const key = `${o.metadata.namespace}/${svc}`;
      const m = this.slices.get(key) ?? new Map<string, EndpointSlice>();
      m.set(`${o.metadata.namespace}/${o.metadata.name}`, o as EndpointSlice);
      this.slices.set(key, m);
    }
    this.changed();
  }

  /** Every ready address of the Service's port `port`; throws a ResolveError saying what is missing. */
  endpoints(namespace: string, name: string, port = 443): Endpoint[] {
    const svc = this.services.get(`${namespace}/${name}`);
    if (!svc) throw new ResolveError('ServiceNotFound', `service/${name} in "${namespace}" is not present`);
    if (svc.spec?.type === 'ExternalName') {
      if (!svc.spec.externalName) throw new ResolveError('ServiceNotFound', `service/${name} in "${namespace}" has no externalName`);
      return [{ host: svc.spec.externalName, port }];
    }
    const sp = (svc.spec?.ports ?? []).find((p) => p.port === port);
    if (!sp) throw new ResolveError('ServicePortError', `service/${name} in "${namespace}" is not listening on port ${port}`);
    const portName = sp.name ?? '';
    const slices = [...(this.slices.get(`${namespace}/${name}`)?.values() ?? [])];
    if (!slices.length) throw new ResolveError('EndpointsNotFound', `cannot find endpoints for service/${name} in "${namespace}"`);
    const out: Endpoint[] = [];
    for (const slice of slices) {
      const p = (slice.ports ?? []).find((x) => (x.name ?? '') === portName);
      // A slice port without a number serves the Service's targetPort (when it is a number).
      const number = p?.port ?? (typeof sp.targetPort === 'number' ? sp.targetPort : undefined);
      if (!p || number === undefined) continue;
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue; // unset means ready, as the API documents
        for (const host of ep.addresses ?? []) out.push({ host, port: number });
      }
    }
    if (!out.length) throw new ResolveError('MissingEndpoints', `endpoints for service/${name} in "${namespace}" have no addresses with port name "${portName}"`);
    return out;
  }

  /** One ready address, chosen at random as kube's resolver does. */
  resolve(namespace: string, name: string, port = 443): Endpoint {
    const all = this.endpoints(namespace, name, port);
    return all[Math.floor(Math.random() * all.length)];
  }
}
