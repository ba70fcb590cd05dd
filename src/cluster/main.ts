// `npm run cluster`: the local cluster alone. Prints the admin kubeconfig's path; SIGTERM/SIGINT stop it.

import { OptionsError } from '../config/options.js';
import { createLogger } from '../observability/logger.js';
import { stopOnSignals } from '../observability/shutdown.js';
import { startLocalCluster } from './local-cluster.js';
import { clusterFlags } from './options.js';

async function main(): Promise<void> {
  let o;
  try {
    o = clusterFlags.parse(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof OptionsError) {
      process.stderr.write(`error: ${e.message}\n\n${clusterFlags.usage('local-cluster')}`);
      process.exit(2);
    }
    throw e;
  }
  if (o.help) return void process.stdout.write(clusterFlags.usage('local-cluster'));
  const log = createLogger(o.logLevel);
  const cluster = await startLocalCluster({
    ...o,
    tokenAuthFile: o.tokenAuthFile || undefined,
    maxInflight: { readOnly: o.maxRequestsInflight, mutating: o.maxMutatingRequestsInflight },
    log,
    workloads: o.simulateWorkloads ? { delayMs: o.simulatedRolloutDelayMs } : undefined,
  });
  process.stdout.write(`local cluster (Kubernetes API only: no Pods run) serving on ${cluster.url}\n`);
  process.stdout.write(`kubeconfig: ${cluster.kubeconfigPath}\n`);
  process.stdout.write(`try: kubectl --kubeconfig ${cluster.kubeconfigPath} get ns\n`);
  stopOnSignals(log, () => cluster.close());
}

main().catch((e) => {
  process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
