// The local cluster (src/cluster/local-cluster.ts) started in the test's own process on a free
// loopback port, with temporary data and cert directories: the real peer for everything that talks to
// kube-apiserver. Offers kubectl and HTTPS clients bound to its admin kubeconfig, and client
// certificates for other users.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../src/cluster/local-cluster.js';
import { createLogger } from '../../src/observability/logger.js';
import { issueCert } from '../../src/pki/certs.js';
import type { KubectlResult } from './server.js';
import { httpsCall, type HttpResult } from './https.js';
import { kubectl } from './run.js';

export class TestCluster {
  private constructor(
    readonly dir: string,
    readonly cluster: LocalCluster,
    readonly logs: string[],
  ) {}

  /** Starts a cluster; `o` overrides the defaults (port 0, temp dirs, warnings-only log kept in `logs`). */
  static async start(o: Partial<LocalClusterOptions> = {}): Promise<TestCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'gitops-local-cluster-'));
    const logs: string[] = [];
    const cluster = await startLocalCluster({
      securePort: 0,
      bindAddress: '127.0.0.1',
      dataDir: join(dir, 'data'),
      certDir: join(dir, 'certs'),
      log: createLogger(process.env.CLUSTER_LOG_LEVEL === 'debug' ? 'debug' : 'warn', { component: 'local-cluster' }, (l) => void logs.push(l)),
      ...o,
    });
    return new TestCluster(dir, cluster, logs);
  }

  get url(): string {
    return this.cluster.url;
  }
  get kubeconfig(): string {
    return this.cluster.kubeconfigPath;
  }
  get caCert(): string {
    return this.cluster.certs.caCert;
  }

  async stop(): Promise<void> {
    await this.cluster.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Runs the real kubectl with the admin kubeconfig (or `o.kubeconfig`), `o.input` on stdin. */
  kubectl(args: string[], o: { input?: string; kubeconfig?: string; env?: Record<string, string> } = {}): Promise<KubectlResult> {
    return kubectl(o.kubeconfig ?? this.kubeconfig, args, o);
  }

  /** A kubeconfig for `user` (client certificate from the cluster CA, groups as O), written to the test dir. */
  async kubeconfigFor(user: string, groups: string[] = []): Promise<string> {
    const pair = await issueCert({ cert: this.cluster.certs.caCert, key: this.cluster.certs.caKey }, { cn: user, org: groups, client: true, days: 1 });
    return this.writeKubeconfig(`user-${user.replace(/[^a-z0-9-]/gi, '_')}`, { 'client-certificate-data': b64(pair.cert), 'client-key-data': b64(pair.key) });
  }

  /** A kubeconfig that sends `token` as a bearer token. */
  async kubeconfigForToken(name: string, token: string): Promise<string> {
    return this.writeKubeconfig(`token-${name}`, { token });
  }

  private writeKubeconfig(name: string, user: Record<string, string>): Promise<string> {
    return writeKubeconfig(join(this.dir, `${name}.kubeconfig`), { server: this.url, caCert: this.caCert, name, user });
  }

  /** An HTTPS request as admin (client certificate), or with `o.token` as a bearer token instead. */
  request(method: string, path: string, o: { body?: unknown; contentType?: string; token?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
    const body = o.body === undefined ? undefined : typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
    return httpsCall(new URL(path, this.url), {
      method,
      ca: this.caCert,
      cert: o.token ? null : { cert: this.cluster.certs.adminCert, key: this.cluster.certs.adminKey },
      headers: {
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}),
        ...o.headers,
      },
      body,
    });
  }

  /** A ServiceAccount token minted through the `token` subresource (creating the ServiceAccount when missing). */
  async serviceAccountToken(namespace: string, name: string, o: { audiences?: string[]; expirationSeconds?: number } = {}): Promise<string> {
    const sa = await this.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } });
    if (sa.status !== 201 && sa.status !== 409) throw new Error(`serviceaccount ${namespace}/${name}: ${sa.status} ${sa.body}`);
    const r = await this.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: o.audiences ?? [], expirationSeconds: o.expirationSeconds ?? 3600 } },
    });
    if (r.status !== 201) throw new Error(`token for ${namespace}/${name}: ${r.status} ${r.body}`);
    return r.json().status.token;
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Writes a one-context kubeconfig for `server` (trusting `caCert`) with `user`'s credentials; returns its path. */
export async function writeKubeconfig(path: string, o: { server: string; caCert: string; name: string; user: Record<string, string>; namespace?: string }): Promise<string> {
  await writeFile(
    path,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local-cluster', cluster: { server: o.server, 'certificate-authority-data': b64(o.caCert) } }],
      users: [{ name: o.name, user: o.user }],
      contexts: [{ name: o.name, context: { cluster: 'local-cluster', user: o.name, namespace: o.namespace ?? 'default' } }],
      'current-context': o.name,
    }),
    { mode: 0o600 },
  );
  return path;
}
