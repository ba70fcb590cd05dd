// Where the client CA and the front-proxy settings come from, with the precedence of kube's
// DelegatingAuthenticationOptions.ApplyTo:
//   - --client-ca-file, when set, is the client CA; otherwise the `client-ca-file` key of ConfigMap
//     kube-system/extension-apiserver-authentication when there is a cluster; otherwise the
//     standalone CA, if given;
//   - --requestheader-client-ca-file, when set, brings the whole front-proxy config from flags (allowed
//     names and header names, with kube's defaults); otherwise all of it comes from the ConfigMap's
//     `requestheader-*` keys (JSON arrays; a missing key is an empty list) and the header flags are
//     ignored; without a cluster there is no front-proxy authentication.
// The ConfigMap is watched: a change takes effect on the next request, and listeners are told (so the
// TLS server can trust the new CAs for new connections). Like kube, an unreadable or deleted
// ConfigMap, or a key that does not parse, keeps the last good value.

import { readFile } from 'node:fs/promises';
import { Informer, KubeApi } from '../../kube/informer.js';
import { KubeError, type KubeClient } from '../../kube/client.js';
import type { Logger } from '../../observability/logger.js';
import type { RequestHeaderConfig } from './requestheader.js';
import { CABundle } from './x509.js';
import { parseOptions, type Options } from '../../config/options.js';

export interface AuthenticationConfig {
  clientCA?: CABundle;
  requestHeader?: RequestHeaderConfig;
}

/** The authentication flags, as the server's options carry them (empty path = unset). */
export type AuthenticationFlags = Pick<
  Options,
  'clientCAFile' | 'requestHeaderClientCAFile' | 'requestHeaderAllowedNames' | 'requestHeaderUsernameHeaders' | 'requestHeaderUIDHeaders' | 'requestHeaderGroupHeaders' | 'requestHeaderExtraHeadersPrefix'
>;

/** The flags' defaults, from the one flag table (the UID header stays opt-in, as in kube). */
export const DEFAULT_AUTHENTICATION_FLAGS: AuthenticationFlags = parseOptions([], {});

export const AUTHENTICATION_CONFIGMAP = { namespace: 'kube-system', name: 'extension-apiserver-authentication' } as const;

type HeaderLists = Omit<RequestHeaderConfig, 'ca'>;
const HEADER_KEYS: Record<keyof HeaderLists, string> = {
  allowedNames: 'requestheader-allowed-names',
  usernameHeaders: 'requestheader-username-headers',
  uidHeaders: 'requestheader-uid-headers',
  groupHeaders: 'requestheader-group-headers',
  extraHeaderPrefixes: 'requestheader-extra-headers-prefix',
};

/** Header names as kube takes them: trimmed, none empty (an empty prefix would match every header). */
function headerNames(names: string[], what: string): string[] {
  return names.map((n) => {
    const t = n.trim();
    if (!t) throw new Error(`${what}: empty header name`);
    return t;
  });
}

async function bundleFromFile(path: string, flag: string): Promise<CABundle> {
  try {
    return new CABundle(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`--${flag}=${path}: ${(e as Error).message}`);
  }
}

function jsonStrings(text: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The ConfigMap's part of the config, each piece falling back to `prev` when absent or malformed. */
export function fromConfigMap(data: Record<string, string>, prev: AuthenticationConfig, warn: (msg: string) => void): AuthenticationConfig {
  const bundle = (key: string, old: CABundle | undefined): CABundle | undefined => {
    const pem = data[key] ?? '';
    if (old?.pem === pem) return old; // unchanged: keeps the per-connection verification cache
    if (!pem) {
      if (old) warn(`${key} is empty; keeping the previous CA bundle`);
      return old;
    }
    try {
      return new CABundle(pem);
    } catch (e) {
      warn(`${key}: ${(e as Error).message}; keeping the previous CA bundle`);
      return old;
    }
  };
  const clientCA = bundle('client-ca-file', prev.clientCA);
  const ca = bundle('requestheader-client-ca-file', prev.requestHeader?.ca);
  let lists: HeaderLists | undefined = {} as HeaderLists;
  try {
    for (const [field, key] of Object.entries(HEADER_KEYS) as [keyof HeaderLists, string][]) {
      const v = data[key] ? jsonStrings(data[key]) : [];
      if (!v) throw new Error(`${key} is not a JSON array of strings`);
      lists[field] = field === 'allowedNames' ? v : headerNames(v, key);
    }
  } catch (e) {
    warn(`${(e as Error).message}; keeping the previous front-proxy headers`);
    lists = prev.requestHeader;
  }
  return { clientCA, requestHeader: ca && lists ? { ...lists, ca } : undefined };
}

const sameConfig = (a: AuthenticationConfig, b: AuthenticationConfig) =>
  a.clientCA === b.clientCA &&
  a.requestHeader?.ca === b.requestHeader?.ca &&
  (Object.keys(HEADER_KEYS) as (keyof HeaderLists)[]).every((k) => JSON.stringify(a.requestHeader?.[k]) === JSON.stringify(b.requestHeader?.[k]));

/** The part of a ConfigMap read here. */
interface ConfigMap {
  metadata?: { name?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

export interface ConfigSourceOptions {
  flags: AuthenticationFlags;
  /** The host cluster; without it only the flags count. */
  cluster?: KubeClient;
  /**
   * The generated CA (the server made its own certificates: standalone, or `npm start -- --kubeconfig`
   * on a workstation): trusted as a client CA unless --client-ca-file names one — with a cluster, beside
   * the cluster's, so the printed admin kubeconfig works in both modes.
   */
  standaloneClientCA?: string;
  log: Logger;
  /** Delay before a failed watch is started again. */
  retryMs?: number;
}

export class AuthenticationConfigSource {
  private config: AuthenticationConfig;
  private readonly listeners: ((c: AuthenticationConfig) => void)[] = [];
  private informer?: Informer<ConfigMap>;
  /** The ConfigMap's part as last read, and the client CA trusted with it (the generated CA added). */
  private fromCluster: AuthenticationConfig = {};
  private merged?: { of?: CABundle; bundle: CABundle };

  private constructor(
    private readonly fixed: AuthenticationConfig,
    private readonly o: ConfigSourceOptions,
  ) {
    this.config = fixed;
  }

  /**
   * Reads the flag files and, when a cluster is given and a part is not set by flags, the ConfigMap
   * (missing is fine; forbidden or unreachable fails the start, as kube's default), then watches it.
   */
  static async start(o: ConfigSourceOptions): Promise<AuthenticationConfigSource> {
    const f = o.flags;
    const fixed: AuthenticationConfig = {};
    if (f.clientCAFile) fixed.clientCA = await bundleFromFile(f.clientCAFile, 'client-ca-file');
    if (f.requestHeaderClientCAFile) {
      fixed.requestHeader = {
        ca: await bundleFromFile(f.requestHeaderClientCAFile, 'requestheader-client-ca-file'),
        allowedNames: f.requestHeaderAllowedNames,
        usernameHeaders: headerNames(f.requestHeaderUsernameHeaders, '--requestheader-username-headers'),
        uidHeaders: headerNames(f.requestHeaderUIDHeaders, '--requestheader-uid-headers'),
        groupHeaders: headerNames(f.requestHeaderGroupHeaders, '--requestheader-group-headers'),
        extraHeaderPrefixes: headerNames(f.requestHeaderExtraHeadersPrefix, '--requestheader-extra-headers-prefix'),
      };
    }
    if (!fixed.clientCA && !o.cluster && o.standaloneClientCA) fixed.clientCA = new CABundle(o.standaloneClientCA);
    const source = new AuthenticationConfigSource(fixed, o);
    // With a cluster, until its ConfigMap is read (or when it names no client CA), the generated CA alone.
    if (!fixed.clientCA && o.cluster && o.standaloneClientCA) source.config = { ...fixed, clientCA: source.withGenerated(undefined) };
    if (o.cluster && !(fixed.clientCA && fixed.requestHeader)) await source.watch(o.cluster);
    return source;
  }

  /** The config now; cheap, meant to be read on every request. */
  current(): AuthenticationConfig {
    return this.config;
  }

  /** Called after every change, with the new config. */
  onChange(listener: (c: AuthenticationConfig) => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }

  private async watch(client: KubeClient) {
    const { namespace, name } = AUTHENTICATION_CONFIGMAP;
    const collection = `/api/v1/namespaces/${namespace}/configmaps`;
    let read: ConfigMap | undefined;
    try {
      read = await client.request<ConfigMap>('GET', `${collection}/${name}`);
      this.apply(read);
    } catch (e) {
      const code = e instanceof KubeError ? e.code : 0;
      if (code !== 404) {
        const hint = code === 403 ? ' (bind the Role kube-system/extension-apiserver-authentication-reader to this server)' : '';
        throw new Error(`reading ConfigMap ${namespace}/${name}: ${code ? `HTTP ${code}` : (e as Error).message.split('\n')[0]}${hint}`);
      }
      this.o.log.warn(`ConfigMap ${namespace}/${name} not found; waiting for it`);
    }
    // A watch of the one name: kube authorizes it as a request on that ConfigMap, which the reader Role allows.
    const retryMs = this.o.retryMs ?? 2000;
    this.informer = new Informer<ConfigMap>(new KubeApi(client), collection, {
      query: { fieldSelector: `metadata.name=${name}` },
      // Watched from the read above, so an edit made as start() returns is not missed.
      initial: read && { items: [read], resourceVersion: read.metadata?.resourceVersion ?? '' },
      backoff: { baseMs: retryMs, maxMs: retryMs },
      log: this.o.log,
      onChange: (type, cm) => {
        if (type === 'DELETED') this.o.log.warn(`ConfigMap ${namespace}/${name} deleted; keeping the last authentication config`);
        else this.apply(cm);
      },
    });
    this.informer.start();
  }

  /** The cluster's client CA with the generated one beside it (one bundle object per cluster bundle, so unchanged reads change nothing). */
  private withGenerated(cluster: CABundle | undefined): CABundle | undefined {
    const generated = this.o.standaloneClientCA;
    if (!generated) return cluster;
    if (!this.merged || this.merged.of !== cluster) this.merged = { of: cluster, bundle: new CABundle(cluster ? `${cluster.pem}\n${generated}` : generated) };
    return this.merged.bundle;
  }

  private apply(cm: ConfigMap) {
    const fromCluster = fromConfigMap(cm.data ?? {}, this.fromCluster, (msg) => this.o.log.warn(`ConfigMap ${AUTHENTICATION_CONFIGMAP.name}: ${msg}`));
    this.fromCluster = fromCluster;
    const next: AuthenticationConfig = {
      clientCA: this.fixed.clientCA ?? this.withGenerated(fromCluster.clientCA),
      requestHeader: this.fixed.requestHeader ?? fromCluster.requestHeader,
    };
    if (sameConfig(next, this.config)) return;
    this.config = next;
    this.o.log.info('authentication config loaded', { clientCA: !!next.clientCA, requestHeader: !!next.requestHeader, allowedNames: next.requestHeader?.allowedNames });
    for (const l of this.listeners) l(next);
  }
}
