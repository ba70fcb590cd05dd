// The cluster a Kustomization applies to, and as whom: the cluster this server runs against, or the one
// of the kubeconfig in `spec.kubeConfig.secretRef` (key `value`, else `value.yaml`, as Flux); acting as
// `spec.serviceAccountName` of the Kustomization's namespace (impersonated) when set. The workload-
// identity form (`configMapRef`) needs a cloud provider's login and stalls, saying so.

import type { KubeObject } from '../../apis/meta/types.js';
import type { KustomizationSpec } from '../../apis/v1/kustomization.js';
import { KubeClient, KubeError, serviceAccountIdentity } from '../../kube/client.js';
import { ReconcileError, StallingError, WaitingError } from '../runtime/errors.js';

const KUBECONFIG_KEYS = ['value', 'value.yaml'];
/** Deadline of the reachability check of a remote cluster (its requests keep their own, longer, deadline). */
const PROBE_TIMEOUT_MS = 10_000;

export class TargetClients {
  /** Remote clients by `namespace/secret@resourceVersion/key`, so discovery is not redone each reconcile. */
  private readonly remote = new Map<string, KubeClient>();

  constructor(
    private readonly cluster: KubeClient | undefined,
    private readonly o: { requeueMs: number; defaultServiceAccount?: string },
  ) {}

  async clientFor(obj: KubeObject): Promise<KubeClient> {
    const spec = obj.spec as unknown as KustomizationSpec;
    const namespace = obj.metadata.namespace!;
    let client = this.cluster;
    if (spec.kubeConfig?.configMapRef)
      throw new StallingError(
        `spec.kubeConfig.configMapRef (workload identity of a cloud provider) is not supported: this server has no cloud login; use spec.kubeConfig.secretRef with a kubeconfig`,
        'UnsupportedKubeConfig',
      );
    if (spec.kubeConfig?.secretRef) {
      client = await this.remoteClient(namespace, spec.kubeConfig.secretRef);
      await this.probe(client, namespace, spec.kubeConfig.secretRef.name);
    }
    if (!client)
      throw new StallingError(
        'this server has no cluster to apply to: start it with --kubeconfig, in a pod, or with the embedded local cluster (--local-cluster), or set spec.kubeConfig',
        'NoCluster',
      );
    const sa = spec.serviceAccountName || this.o.defaultServiceAccount;
    return sa ? client.as(serviceAccountIdentity(namespace, sa)) : client;
  }

  /**
   * Asks the remote cluster for its core API group as the kubeconfig's user. Without it, a cluster that is
   * down or refuses the credentials shows up as the failure of whichever request came first (a GET of
   * some object), which names neither the Secret nor that the cluster is the problem. A failure here is
   * retried with backoff: the cluster may come back, or the Secret be fixed.
   */
  private async probe(client: KubeClient, namespace: string, secret: string): Promise<void> {
    const what = `the cluster of the kubeconfig in Secret '${namespace}/${secret}' (${client.server})`;
    try {
      await client.request('GET', '/api', { timeoutMs: Math.min(PROBE_TIMEOUT_MS, client.timeoutMs) });
    } catch (e) {
      if (!(e instanceof KubeError)) throw e;
      if (e.transport) throw new ReconcileError(`${what} cannot be reached: ${e.message}`, 'ReconciliationFailed');
      if (e.code === 401) throw new ReconcileError(`${what} does not accept the kubeconfig's credentials (401 Unauthorized)`, 'ReconciliationFailed');
      throw new ReconcileError(`${what} answered GET /api with ${e.code}: ${e.message}`, 'ReconciliationFailed');
    }
  }

  private async remoteClient(namespace: string, ref: { name: string; key?: string }): Promise<KubeClient> {
    if (!this.cluster) throw new StallingError(`spec.kubeConfig.secretRef needs a cluster to read Secret '${ref.name}' from, and this server has none`, 'NoCluster');
    let secret: KubeObject | undefined;
    try {
      secret = await this.cluster.getOptional({ apiVersion: 'v1', kind: 'Secret', namespace, name: ref.name });
    } catch (e) {
      throw new ReconcileError(`reading the kubeconfig Secret '${namespace}/${ref.name}': ${(e as Error).message}`, 'ReconciliationFailed');
    }
    if (!secret) throw new WaitingError(`the kubeconfig Secret '${namespace}/${ref.name}' (spec.kubeConfig.secretRef) was not found`, 'ReconciliationFailed', this.o.requeueMs);
    const data = ((secret as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
    const key = ref.key ?? KUBECONFIG_KEYS.find((k) => data[k] !== undefined);
    if (!key || data[key] === undefined)
      throw new StallingError(`the kubeconfig Secret '${namespace}/${ref.name}' has no key ${ref.key ? `'${ref.key}'` : KUBECONFIG_KEYS.map((k) => `'${k}'`).join(' or ')}`, 'InvalidKubeConfig');
    const id = `${namespace}/${ref.name}@${secret.metadata.resourceVersion}/${key}`;
    const cached = this.remote.get(id);
    if (cached) return cached;
    let client: KubeClient;
    try {
      client = KubeClient.fromKubeconfigText(Buffer.from(data[key], 'base64').toString('utf8'));
    } catch (e) {
      // Never the kubeconfig's content: it holds credentials.
      throw new StallingError(`the kubeconfig in Secret '${namespace}/${ref.name}' key '${key}' cannot be used: ${e instanceof KubeError ? e.message : (e as Error).message}`, 'InvalidKubeConfig');
    }
    for (const k of this.remote.keys()) if (k.startsWith(`${namespace}/${ref.name}@`)) this.remote.delete(k);
    this.remote.set(id, client);
    return client;
  }
}
