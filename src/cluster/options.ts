// Flags of `npm run cluster`: the names and conventions of the server's own (src/config/options.ts),
// with the local cluster's defaults (port 6443, its own data and cert directories).

import { address, boolean, duration, flagSet, integer, logLevel, optionalText, text, type FlagDef, type LogLevel } from '../config/options.js';

export interface ClusterOptions {
  securePort: number;
  bindAddress: string;
  dataDir: string;
  certDir: string;
  logLevel: LogLevel;
  tokenAuthFile: string;
  anonymousAuth: boolean;
  maxRequestBodyBytes: number;
  minRequestTimeoutSeconds: number;
  requestTimeoutMs: number;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  compactionWindow: number;
  watchBookmarkIntervalMs: number;
  simulateWorkloads: boolean;
  simulatedRolloutDelayMs: number;
  help: boolean;
}

const def = <K extends keyof ClusterOptions>(d: FlagDef<ClusterOptions, K>) => d as unknown as FlagDef<ClusterOptions>;

const FLAGS: FlagDef<ClusterOptions>[] = [
  def({ flag: 'secure-port', key: 'securePort', type: integer(0, 65535), default: '6443', description: 'Port to serve the cluster API on; 0 picks a free port.' }),
  def({ flag: 'bind-address', key: 'bindAddress', type: address, default: '127.0.0.1', description: 'Address to listen on; 0.0.0.0 or :: for every interface.' }),
  def({ flag: 'data-dir', key: 'dataDir', type: text, default: './data/local-cluster', description: 'Directory of the SQLite store, kept across restarts.' }),
  def({ flag: 'cert-dir', key: 'certDir', type: text, default: './certs/local-cluster', description: 'Directory of the CA, serving and admin certificates, the ServiceAccount signing key and the admin kubeconfig, generated when missing.' }),
  def({ flag: 'log-level', key: 'logLevel', type: logLevel, default: 'info', description: 'Least severe level logged: debug, info, warn or error.' }),
  def({ flag: 'token-auth-file', key: 'tokenAuthFile', type: optionalText, default: '', description: 'Static bearer tokens in kube\'s CSV format: token,user,uid,"group1,group2".' }),
  def({ flag: 'anonymous-auth', key: 'anonymousAuth', type: boolean, default: 'false', description: 'Let requests with no credential in as system:anonymous; off by default.' }),
  def({ flag: 'max-request-body-bytes', key: 'maxRequestBodyBytes', type: integer(1), default: '3145728', description: 'Largest request body accepted; larger ones get 413.' }),
  def({ flag: 'min-request-timeout', key: 'minRequestTimeoutSeconds', type: integer(1), default: '1800', description: 'Seconds; a watch without timeoutSeconds ends after a random time between this and twice this.' }),
  def({ flag: 'request-timeout', key: 'requestTimeoutMs', type: duration, default: '60s', description: 'Longest time a non-watch request may take before it fails with 504.' }),
  def({ flag: 'max-requests-inflight', key: 'maxRequestsInflight', type: integer(0), default: '400', description: 'Reads served at once; more get 429. Zero means no limit.' }),
  def({ flag: 'max-mutating-requests-inflight', key: 'maxMutatingRequestsInflight', type: integer(0), default: '200', description: 'Writes served at once; more get 429. Zero means no limit.' }),
  def({ flag: 'compaction-window', key: 'compactionWindow', type: integer(1), default: '10000', description: 'Revisions of history kept for watches to resume from.' }),
  def({ flag: 'watch-bookmark-interval', key: 'watchBookmarkIntervalMs', type: duration, default: '5s', description: 'A watch that asked for bookmarks and saw no event for this long gets a BOOKMARK.' }),
  def({ flag: 'simulate-workloads', key: 'simulateWorkloads', type: boolean, default: 'false', description: 'Mark Deployments, StatefulSets, DaemonSets and Jobs rolled out or complete after --simulated-rollout-delay, as if their Pods ran (nothing runs); off by default.' }),
  def({ flag: 'simulated-rollout-delay', key: 'simulatedRolloutDelayMs', type: duration, default: '2s', description: 'How long a simulated rollout or Job takes.' }),
  def({ flag: 'help', short: 'h', key: 'help', type: boolean, default: 'false', noEnv: true, description: 'Print this help and exit.' }),
];

export const clusterFlags = flagSet<ClusterOptions>(FLAGS, 'LOCAL_CLUSTER', 'Runs the local cluster: an API-only Kubernetes 1.32 (no Pods run).');
