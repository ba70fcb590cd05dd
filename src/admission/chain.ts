// The admission chain in kube-apiserver's plugin order: NamespaceLifecycle, then mutating webhooks
// (both in `mutate`, before the store's own validation), then validating webhooks (`validate`).

import type { KubeClient } from '../kube/client.js';
import type { Logger } from '../observability/logger.js';
import { Informer, KubeApi, type KubeReader } from '../kube/informer.js';
import { NamespaceCache, NamespaceLifecycle } from './namespace-lifecycle.js';
import type { AdmissionChain } from './types.js';
import { WebhookAdmission, type MutatingWebhook, type ServiceResolver, type ValidatingWebhook, type WebhookConfiguration } from './webhooks.js';

export interface Admission extends AdmissionChain {
  /** Starts the watches behind the plugins. */
  start(): void;
  stop(): Promise<void>;
  /** Every cache has its first list: a readiness check (`/readyz`) can report it. */
  readonly hasSynced: boolean;
}

export function createAdmissionChain(parts: { namespaces?: NamespaceLifecycle; webhooks?: WebhookAdmission }): Admission {
  const { namespaces, webhooks } = parts;
  return {
    async mutate(a) {
      await namespaces?.admit(a);
      return webhooks ? webhooks.mutate(a) : a.object;
    },
    async validate(a) {
      await webhooks?.validate(a);
    },
    start() {
      namespaces?.start();
      webhooks?.start();
    },
    async stop() {
      await Promise.all([namespaces?.stop(), webhooks?.stop()]);
    },
    get hasSynced() {
      return (namespaces?.hasSynced ?? true) && (webhooks?.hasSynced ?? true);
    },
  };
}

/** kube-apiserver's names for the plugins this server runs. */
export const ADMISSION_PLUGINS = ['NamespaceLifecycle', 'MutatingAdmissionWebhook', 'ValidatingAdmissionWebhook'] as const;
export type AdmissionPlugin = (typeof ADMISSION_PLUGINS)[number];

export interface ClusterAdmissionOptions {
  plugins: readonly AdmissionPlugin[];
  /** Where a webhook's service is dialled; `https://NAME.NAMESPACE.svc:PORT` by default. */
  resolveService?: ServiceResolver;
  log?: Logger;
}

const REGISTRATION = '/apis/admissionregistration.k8s.io/v1';

/** The chain for a server running against a cluster, its caches fed by watches made with `client`. */
export function clusterAdmission(client: KubeClient, o: ClusterAdmissionOptions): Admission {
  return readerAdmission(new KubeApi(client), o);
}

/** The same chain over any reader: the local cluster feeds it from its own stores. */
export function readerAdmission(api: KubeReader, o: ClusterAdmissionOptions): Admission {
  const log = o.log;
  const on = (p: AdmissionPlugin) => o.plugins.includes(p);
  const namespaces = new NamespaceCache(api, { log });
  const webhooks = on('MutatingAdmissionWebhook') || on('ValidatingAdmissionWebhook');
  return createAdmissionChain({
    namespaces: on('NamespaceLifecycle') ? new NamespaceLifecycle(namespaces) : undefined,
    webhooks: webhooks
      ? new WebhookAdmission({
          mutating: on('MutatingAdmissionWebhook') ? new Informer<WebhookConfiguration<MutatingWebhook>>(api, `${REGISTRATION}/mutatingwebhookconfigurations`, { log }) : undefined,
          validating: on('ValidatingAdmissionWebhook') ? new Informer<WebhookConfiguration<ValidatingWebhook>>(api, `${REGISTRATION}/validatingwebhookconfigurations`, { log }) : undefined,
          namespaces,
          resolveService: o.resolveService,
          log,
        })
      : undefined,
  });
}
