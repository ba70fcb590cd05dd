// Server options from command-line flags and GITOPS_* environment variables, validated at start.
// One table describes every flag; parsing, environment names and --help all derive from it.

import { isIP } from 'node:net';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Options {
  securePort: number;
  bindAddress: string;
  certDir: string;
  dataDir: string;
  logLevel: LogLevel;
  maxRequestBodyBytes: number;
  compactionWindow: number;
  minRequestTimeoutSeconds: number;
  requestTimeoutMs: number;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  compactionIntervalMs: number;
  watchBookmarkIntervalMs: number;
  kubeconfig: string;
  secretsDir: string;
  concurrent: number;
  artifactRetentionRecords: number;
  maxArtifactSize: number;
  maxFileSize: number;
  artifactBaseURL: string;
  controllers: string[];
  noCrossNamespaceRefs: boolean;
  defaultServiceAccount: string;
  requeueDependencyMs: number;
  kustomizeBuildTimeoutMs: number;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  tlsReloadIntervalMs: number;
  authorizationMode: string[];
  authorizationRBACFile: string;
  clientCAFile: string;
  requestHeaderClientCAFile: string;
  requestHeaderAllowedNames: string[];
  requestHeaderUsernameHeaders: string[];
  requestHeaderUIDHeaders: string[];
  requestHeaderGroupHeaders: string[];
  requestHeaderExtraHeadersPrefix: string[];
  tokenAuthFile: string;
  anonymousAuth: boolean;
  authenticationTokenWebhookCacheTTLMs: number;
  authorizationWebhookCacheTTLMs: number;
  enableAdmissionPlugins: string[];
  disableAdmissionPlugins: string[];
  localCluster: boolean;
  localClusterPort: number;
  localClusterSimulateWorkloads: boolean;
  localClusterSimulatedRolloutDelayMs: number;
  help: boolean;
}

/** A bad flag, value or environment variable; main prints the message and exits with status 2. */
export class OptionsError extends Error {
  override name = 'OptionsError';
}

/** How a flag's text becomes a value; `parse` throws an Error whose message says what is allowed. */
interface ValueType<T> {
  name: string;
  parse(raw: string): T;
}

export interface FlagDef<O, K extends keyof O = keyof O> {
  flag: string;
  key: K;
  type: ValueType<O[K]>;
  /** Text, parsed like a user's value, so --help shows exactly what one would type. */
  default: string;
  description: string;
  /** Settable only on the command line. */
  noEnv?: true;
  short?: string;
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): ValueType<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return {
    name: 'int',
    parse(raw) {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`must be ${range}`);
      return n;
    },
  };
}

export const text: ValueType<string> = {
  name: 'string',
  parse(raw) {
    if (raw === '') throw new Error('must not be empty');
    return raw;
  },
};

/** A comma-separated list; empty means none. */
export const nameList: ValueType<string[]> = {
  name: 'names',
  parse: (raw) => raw.split(',').map((x) => x.trim()).filter(Boolean),
};

/** The controllers this build has; --controllers may name only these (kube-controller-manager refuses unknown ones too). */
export const CONTROLLER_NAMES = ['gitrepository', 'ocirepository', 'helmrepository', 'helmchart', 'bucket', 'kustomization', 'helmrelease'];
const controllerList: ValueType<string[]> = {
  name: 'names',
  parse(raw) {
    const names = nameList.parse(raw);
    for (const n of names) {
      const bare = n.startsWith('-') ? n.slice(1) : n;
      if (n !== '*' && !CONTROLLER_NAMES.includes(bare)) throw new Error(`unknown controller ${JSON.stringify(n)}: known are ${CONTROLLER_NAMES.join(', ')} (and '*', -name)`);
    }
    return names;
  },
};

const AUTHZ_MODES = ['AlwaysAllow', 'RBAC', 'Webhook'];
const authorizationModes: ValueType<string[]> = {
  name: 'modes',
  parse(raw) {
    const modes = nameList.parse(raw);
    if (modes.length === 0) throw new Error(`must name at least one of ${AUTHZ_MODES.join(', ')}`);
    for (const m of modes) if (!AUTHZ_MODES.includes(m)) throw new Error(`unknown mode ${m}: use ${AUTHZ_MODES.join(', ')}`);
    return modes;
  },
};

/** A path or URL that may be left unset (the empty default). */
export const optionalText: ValueType<string> = { name: 'string', parse: (raw) => raw };

// Host names a certificate can carry: RFC 1123, case-insensitive; all digits would be a bad IPv4.
const HOSTNAME = /^(?![\d.]+$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;
export const address: ValueType<string> = {
  name: 'address',
  parse(raw) {
    if (!isIP(raw) && !(raw.length <= 253 && HOSTNAME.test(raw))) throw new Error('must be an IP address or a host name');
    return raw;
  },
};

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const logLevel: ValueType<LogLevel> = {
  name: 'level',
  parse(raw) {
    if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new Error(`must be one of ${LOG_LEVELS.join(', ')}`);
    return raw as LogLevel;
  },
};

export const boolean: ValueType<boolean> = {
  name: 'bool',
  parse(raw) {
    if (raw !== 'true' && raw !== 'false') throw new Error('must be true or false');
    return raw === 'true';
  },
};

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
const DURATION_PART = '(\\d+\\.?\\d*|\\.\\d+)(ns|us|µs|μs|ms|s|m|h)';

/** Go's time.ParseDuration (`1h30m`, `500ms`, `1.5s`), in milliseconds; only positive ones pass. */
export const duration: ValueType<number> = {
  name: 'duration',
  parse(raw) {
    if (!new RegExp(`^(${DURATION_PART})+$`).test(raw)) throw new Error('must be a duration such as 30s, 1m30s or 500ms');
    let ms = 0;
    for (const [, n, unit] of raw.matchAll(new RegExp(DURATION_PART, 'g'))) ms += Number(n) * UNIT_MS[unit];
    if (!(ms > 0)) throw new Error('must be longer than zero');
    return ms;
  },
};

const def = <K extends keyof Options>(d: FlagDef<Options, K>) => d;

const FLAGS = [
  def({ flag: 'secure-port', key: 'securePort', type: integer(0, 65535), default: '8443', description: 'Port to serve HTTPS on; 0 picks a free port.' }),
  def({ flag: 'bind-address', key: 'bindAddress', type: address, default: '127.0.0.1', description: 'Address to listen on; 0.0.0.0 or :: for every interface.' }),
  def({ flag: 'cert-dir', key: 'certDir', type: text, default: './certs', description: 'Directory of the CA, serving and admin certificates and the kubeconfig, generated when missing.' }),
  def({ flag: 'data-dir', key: 'dataDir', type: text, default: './data', description: 'Directory of the SQLite store and the artifacts.' }),
  def({ flag: 'log-level', key: 'logLevel', type: logLevel, default: 'info', description: 'Least severe level logged: debug, info, warn or error.' }),
  def({ flag: 'max-request-body-bytes', key: 'maxRequestBodyBytes', type: integer(1), default: '3145728', description: 'Largest request body accepted; larger ones get 413.' }),
  def({ flag: 'compaction-window', key: 'compactionWindow', type: integer(1), default: '10000', description: 'Revisions of history kept for watches to resume from; older ones are compacted.' }),
  def({ flag: 'compaction-interval', key: 'compactionIntervalMs', type: duration, default: '5m', description: 'How often history beyond --compaction-window is compacted.' }),
  def({ flag: 'watch-bookmark-interval', key: 'watchBookmarkIntervalMs', type: duration, default: '5s', description: 'A watch that asked for bookmarks and saw no event for this long gets a BOOKMARK with the current resourceVersion.' }),
  def({ flag: 'min-request-timeout', key: 'minRequestTimeoutSeconds', type: integer(1), default: '1800', description: 'Seconds; a watch without timeoutSeconds ends after a random time between this and twice this.' }),
  def({ flag: 'request-timeout', key: 'requestTimeoutMs', type: duration, default: '60s', description: 'Longest time a non-watch request may take before it fails with 504.' }),
  def({ flag: 'max-requests-inflight', key: 'maxRequestsInflight', type: integer(0), default: '400', description: 'Reads (not watches) served at once, as kube-apiserver counts them; more get 429 and retry. Zero means no limit; system:masters is never limited.' }),
  def({ flag: 'max-mutating-requests-inflight', key: 'maxMutatingRequestsInflight', type: integer(0), default: '200', description: 'Writes served at once; more get 429 and retry. Each may hold a request body of up to --max-request-body-bytes. Zero means no limit.' }),
  def({ flag: 'kubeconfig', key: 'kubeconfig', type: optionalText, default: '', description: 'Kubeconfig of the host cluster, whose Secrets spec.secretRef names; in a pod the in-cluster config is used without it.' }),
  def({ flag: 'secrets-dir', key: 'secretsDir', type: optionalText, default: '', description: 'Standalone: a directory of Secret manifests (YAML or JSON) that spec.secretRef names, used when there is no cluster.' }),
  def({ flag: 'concurrent', key: 'concurrent', type: integer(1, 1000), default: '4', description: 'Objects of one kind reconciled at the same time; Kustomizations four times as many, as they mostly wait on the cluster.' }),
  def({ flag: 'artifact-retention-records', key: 'artifactRetentionRecords', type: integer(1, 100), default: '2', description: 'Artifacts kept per source; older ones are garbage-collected.' }),
  def({ flag: 'max-artifact-size', key: 'maxArtifactSize', type: integer(1), default: '104857600', description: 'Largest artifact, in bytes, a source may produce; a larger one fails with a clear condition.' }),
  def({ flag: 'max-file-size', key: 'maxFileSize', type: integer(1), default: '33554432', description: 'Largest single file, in bytes (an inflated Git blob or other object), a source may fetch; a larger one stops the fetch. Checked from the object headers as they arrive.' }),
  def({ flag: 'artifact-base-url', key: 'artifactBaseURL', type: optionalText, default: '', description: 'Base URL written into status.artifact.url (e.g. the cluster API address); the server\'s own https address when unset.' }),
  def({ flag: 'controllers', key: 'controllers', type: controllerList, default: '*', description: "Controllers to run, as kube-controller-manager takes them: '*' for all, a name such as gitrepository to add one, -name to leave one out; empty runs none, serving the API only." }),
  def({ flag: 'no-cross-namespace-refs', key: 'noCrossNamespaceRefs', type: boolean, default: 'false', description: "Flux's multi-tenancy lockdown: a Kustomization may not build from a source, depend on an object, or set spec.targetNamespace, in another namespace." }),
  def({ flag: 'default-service-account', key: 'defaultServiceAccount', type: optionalText, default: '', description: "Flux's lockdown flag: the ServiceAccount (of the Kustomization's namespace) impersonated when a Kustomization names no spec.serviceAccountName; unset applies with this server's own identity." }),
  def({ flag: 'requeue-dependency', key: 'requeueDependencyMs', type: duration, default: '30s', description: 'How soon a Kustomization waiting for a dependency or a source artifact looks again; a change of the dependency also wakes it at once.' }),
  def({ flag: 'kustomize-build-timeout', key: 'kustomizeBuildTimeoutMs', type: duration, default: '60s', description: 'Longest a kustomize build may run before it fails.' }),
  def({ flag: 'tls-cert-file', key: 'tlsCertFile', type: optionalText, default: '', description: 'Serving certificate, PEM, instead of the generated one; reloaded when the file changes, as a rotated Secret does.' }),
  def({ flag: 'tls-private-key-file', key: 'tlsPrivateKeyFile', type: optionalText, default: '', description: 'Private key of --tls-cert-file, PEM.' }),
  def({ flag: 'tls-reload-interval', key: 'tlsReloadIntervalMs', type: duration, default: '10s', description: 'How often --tls-cert-file and --tls-private-key-file are checked for a rotation.' }),
  def({ flag: 'authorization-mode', key: 'authorizationMode', type: authorizationModes, default: 'AlwaysAllow', description: 'Ordered authorizers, as kube-apiserver takes them: AlwaysAllow, RBAC with --authorization-rbac-file, or Webhook, a SubjectAccessReview to the cluster; the first to decide wins.' }),
  def({ flag: 'authorization-rbac-file', key: 'authorizationRBACFile', type: optionalText, default: '', description: 'A YAML file or directory of Roles, ClusterRoles and their bindings for --authorization-mode=RBAC.' }),
  def({ flag: 'client-ca-file', key: 'clientCAFile', type: optionalText, default: '', description: "CA bundle whose client certificates authenticate as their CN, user, and O values, groups; when unset, the cluster's extension-apiserver-authentication ConfigMap, or standalone the generated CA." }),
  def({ flag: 'requestheader-client-ca-file', key: 'requestHeaderClientCAFile', type: optionalText, default: '', description: 'CA bundle of the front proxy whose X-Remote-* headers are believed; when set, every front-proxy setting comes from these flags instead of the ConfigMap.' }),
  def({ flag: 'requestheader-allowed-names', key: 'requestHeaderAllowedNames', type: nameList, default: '', description: 'Front-proxy certificate common names allowed; empty allows any the CA signed.' }),
  def({ flag: 'requestheader-username-headers', key: 'requestHeaderUsernameHeaders', type: nameList, default: 'X-Remote-User', description: 'Headers checked in order for the user name.' }),
  def({ flag: 'requestheader-uid-headers', key: 'requestHeaderUIDHeaders', type: nameList, default: '', description: 'Headers checked for the user UID, X-Remote-Uid being the usual one.' }),
  def({ flag: 'requestheader-group-headers', key: 'requestHeaderGroupHeaders', type: nameList, default: 'X-Remote-Group', description: 'Headers whose every value is a group.' }),
  def({ flag: 'requestheader-extra-headers-prefix', key: 'requestHeaderExtraHeadersPrefix', type: nameList, default: 'X-Remote-Extra-', description: 'Header prefixes for the user extra, keys lowercased and percent-decoded.' }),
  def({ flag: 'token-auth-file', key: 'tokenAuthFile', type: optionalText, default: '', description: 'Static bearer tokens in kube\'s CSV format: token,user,uid,"group1,group2".' }),
  def({ flag: 'anonymous-auth', key: 'anonymousAuth', type: boolean, default: 'false', description: 'Let requests with no credential in as system:anonymous, group system:unauthenticated; off by default.' }),
  def({ flag: 'authentication-token-webhook-cache-ttl', key: 'authenticationTokenWebhookCacheTTLMs', type: duration, default: '10s', description: 'How long TokenReview answers, yes and no, are reused.' }),
  def({ flag: 'authorization-webhook-cache-ttl', key: 'authorizationWebhookCacheTTLMs', type: duration, default: '10s', description: 'How long SubjectAccessReview answers, allowed and denied, are reused.' }),
  def({ flag: 'enable-admission-plugins', key: 'enableAdmissionPlugins', type: nameList, default: '', description: 'Admission plugins to run besides the defaults: NamespaceLifecycle, MutatingAdmissionWebhook, ValidatingAdmissionWebhook; all three run by default when there is a cluster.' }),
  def({ flag: 'disable-admission-plugins', key: 'disableAdmissionPlugins', type: nameList, default: '', description: 'Admission plugins not to run.' }),
  def({ flag: 'local-cluster', key: 'localCluster', type: boolean, default: 'true', description: "With no host cluster (no --kubeconfig, not in a pod), also run an embedded local cluster — an API-only Kubernetes (no Pods run) with its data under <data-dir>/local-cluster and certificates under <cert-dir>/local-cluster — that aggregates this API through an APIService and serves spec.secretRef Secrets when there is no --secrets-dir; its admin kubeconfig is copied to <cert-dir>/local-cluster.kubeconfig. --local-cluster=false turns it off." }),
  def({ flag: 'local-cluster-port', key: 'localClusterPort', type: integer(0, 65535), default: '6443', description: 'Port of the embedded local cluster; 0 picks a free port.' }),
  def({ flag: 'local-cluster-simulate-workloads', key: 'localClusterSimulateWorkloads', type: boolean, default: 'false', description: "The embedded local cluster marks Deployments, StatefulSets, DaemonSets and Jobs rolled out or complete after --local-cluster-simulated-rollout-delay, as if their Pods ran, though nothing runs: for trying health checks and waits; off by default." }),
  def({ flag: 'local-cluster-simulated-rollout-delay', key: 'localClusterSimulatedRolloutDelayMs', type: duration, default: '2s', description: 'How long a simulated rollout or Job takes in the embedded local cluster.' }),
  def({ flag: 'help', short: 'h', key: 'help', type: boolean, default: 'false', noEnv: true, description: 'Print this help and exit.' }),
];

/** A command's flags: parsing (flags over `<PREFIX>_*` environment variables) and --help, from one table. */
export function flagSet<O>(flags: FlagDef<O>[], envPrefix: string, summary: string) {
  const envName = (f: FlagDef<O>) => `${envPrefix}_${f.flag.toUpperCase().replaceAll('-', '_')}`;
  const parseValue = (f: FlagDef<O>, raw: string, source: string): unknown => {
    try {
      return f.type.parse(raw);
    } catch (e) {
      throw new OptionsError(`invalid value ${JSON.stringify(raw)} for ${source}: ${(e as Error).message}`);
    }
  };
  return {
    /**
     * Reads options from `argv` (without the node and script paths) and `env`; flags win over the
     * environment, an empty environment variable counts as unset. Accepts `--flag=value` and
     * `--flag value`; the last occurrence of a flag wins.
     */
    parse(argv: string[], env: NodeJS.ProcessEnv): O {
      const fromArgs = new Map<FlagDef<O>, string>();
      for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
        const f = m ? flags.find((d) => d.flag === m[1]) : flags.find((d) => d.short && arg === `-${d.short}`);
        if (!f) {
          if (arg.startsWith('-')) throw new OptionsError(`unknown flag: ${m ? `--${m[1]}` : arg}`);
          throw new OptionsError(`unexpected argument ${JSON.stringify(arg)}: this command takes only flags`);
        }
        let raw = m?.[2];
        if (raw === undefined) {
          if ((f.type as ValueType<unknown>) === boolean) raw = 'true';
          else if (i + 1 < argv.length) raw = argv[++i];
          else throw new OptionsError(`flag needs an argument: --${f.flag}`);
        }
        fromArgs.set(f, raw);
      }
      const out: Record<string, unknown> = {};
      for (const f of flags) {
        const arg = fromArgs.get(f);
        const envValue = f.noEnv ? undefined : env[envName(f)];
        if (arg !== undefined) out[f.key as string] = parseValue(f, arg, `--${f.flag}`);
        else if (envValue) out[f.key as string] = parseValue(f, envValue, `${envName(f)} (--${f.flag})`);
        else out[f.key as string] = f.type.parse(f.default);
      }
      return out as O;
    },
    /** The --help text: every flag with its type, description, default and environment variable. */
    usage(program: string): string {
      const isBool = (f: FlagDef<O>) => (f.type as ValueType<unknown>) === boolean;
      const heads = flags.map((f) => `${f.short ? `-${f.short}, ` : '    '}--${f.flag}${isBool(f) ? '' : ` ${f.type.name}`}`);
      const width = Math.max(...heads.map((h) => h.length)) + 3;
      const lines = flags.map((f, i) => {
        const notes = [isBool(f) ? '' : `default ${f.default}`, f.noEnv ? '' : `env ${envName(f)}`].filter(Boolean);
        return `  ${heads[i].padEnd(width)}${f.description}${notes.length ? ` (${notes.join('; ')})` : ''}`;
      });
      return `Usage: ${program} [flags]\n\n${summary} Flags:\n${lines.join('\n')}\n`;
    },
  };
}

const serverFlags = flagSet<Options>(FLAGS as FlagDef<Options>[], 'GITOPS', 'Serves the gitops.toolkit/v1 API.');

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  return serverFlags.parse(argv, env);
}

export function usage(program = 'gitops-toolkit'): string {
  return serverFlags.usage(program);
}
