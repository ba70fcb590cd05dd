// Where spec.secretRef Secrets come from: the host cluster's core/v1 Secrets (through KubeClient) when the server has a kubeconfig or runs in a cluster, or, standalone, a
// directory of Secret manifests. Values never reach logs, events or status.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeError, type KubeClient } from './client.js';
import { briefError } from './client-errors.js';

export type SecretData = Record<string, Buffer>;

export interface SecretReader {
  /** The Secret's data (stringData merged in), or undefined when it does not exist. */
  get(namespace: string, name: string): Promise<SecretData | undefined>;
}

interface SecretManifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function decode(s: SecretManifest): SecretData {
  const out: SecretData = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = Buffer.from(v, 'utf8');
  return out;
}

/** Secret manifests (YAML or JSON, several per file) in one directory, read afresh on every lookup. */
export class DirectorySecretReader implements SecretReader {
  constructor(private readonly dir: string) {}

  async get(namespace: string, name: string): Promise<SecretData | undefined> {
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    for (const f of files) {
      const docs = yaml.loadAll(await readFile(join(this.dir, f), 'utf8'), undefined, { schema: yaml.CORE_SCHEMA }) as SecretManifest[];
      for (const d of docs) {
        if (d?.kind !== 'Secret' || d.metadata?.name !== name) continue;
        if ((d.metadata.namespace ?? 'default') === namespace) return decode(d);
      }
    }
    return undefined;
  }
}

/** Secrets of the host cluster, read with the server's own credentials. */
export class ClusterSecretReader implements SecretReader {
  constructor(private readonly client: KubeClient) {}

  async get(namespace: string, name: string): Promise<SecretData | undefined> {
    try {
      const s = await this.client.request<SecretManifest>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
      return decode(s);
    } catch (e) {
      if (e instanceof KubeError && e.code === 404) return undefined;
      throw new Error(`reading Secret ${namespace}/${name}: ${briefError(e)}`);
    }
  }
}

/** No source of Secrets configured: every lookup finds nothing. */
export const noSecrets: SecretReader = { get: async () => undefined };
