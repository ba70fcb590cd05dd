// kube-system/extension-apiserver-authentication, as kube-apiserver publishes it for aggregated
// servers (src/auth/authn/cluster-config.ts is the reader): the client CA, the front-proxy CA and the
// front-proxy header names as JSON arrays in strings. Written at start and written again whenever
// someone changes or deletes it (kube's controller keeps it the same way).

import { StatusError } from '../../apis/meta/errors.js';
import type { KubeObject } from '../../apis/meta/types.js';
import { AUTHENTICATION_CONFIGMAP } from '../../auth/authn/cluster-config.js';
import type { Logger } from '../../observability/logger.js';
import type { ResourceStores } from '../../registry/resource-stores.js';
import type { WriteContext } from '../../registry/store.js';
import { watchStore } from '../../registry/watch-store.js';
import { FRONT_PROXY_CLIENT_CN } from './front-proxy.js';

export function authenticationConfigMapData(clientCA: string, frontProxyCA: string): Record<string, string> {
  return {
    'client-ca-file': clientCA,
    'requestheader-allowed-names': JSON.stringify([FRONT_PROXY_CLIENT_CN]),
    'requestheader-client-ca-file': frontProxyCA,
    'requestheader-extra-headers-prefix': JSON.stringify(['X-Remote-Extra-']),
    'requestheader-group-headers': JSON.stringify(['X-Remote-Group']),
    'requestheader-username-headers': JSON.stringify(['X-Remote-User']),
  };
}

const ctx = (): WriteContext => ({ dryRun: false, fieldManager: 'kube-apiserver', fieldValidation: 'Ignore', warnings: [] });
const same = (a: Record<string, string> | undefined, b: Record<string, string>) => !!a && Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

export class AuthenticationConfigMapPublisher {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly stores: ResourceStores,
    private readonly data: Record<string, string>,
    private readonly log: Logger,
  ) {}

  private get store() {
    return this.stores.get('', 'v1', 'configmaps')!;
  }

  async start(): Promise<void> {
    await this.ensure();
    const { resourceVersion } = (await this.store.list(AUTHENTICATION_CONFIGMAP.namespace, { limit: 1 })).metadata;
    this.loop = watchStore(
      this.store,
      (type, o) => {
        if (o.metadata.namespace !== AUTHENTICATION_CONFIGMAP.namespace || o.metadata.name !== AUTHENTICATION_CONFIGMAP.name) return;
        if (type !== 'DELETED' && same((o as { data?: Record<string, string> }).data, this.data)) return;
        this.writing = this.writing.then(() => this.ensure()).catch((e) => this.log.error('extension-apiserver-authentication not restored', { err: e }));
      },
      this.abort.signal,
      this.log,
      resourceVersion,
    );
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.writing;
  }

  private async ensure(): Promise<void> {
    const { namespace, name } = AUTHENTICATION_CONFIGMAP;
    let current: KubeObject | undefined;
    try {
      current = await this.store.get(namespace, name);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
    if (current && same((current as { data?: Record<string, string> }).data, this.data)) return;
    if (!current) {
      try {
        await this.store.create(namespace, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: this.data }, ctx());
        return;
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 409)) throw e;
      }
    }
    await this.store.systemUpdate(namespace, name, (o) => {
      (o as { data?: Record<string, string> }).data = { ...this.data };
    });
  }
}
