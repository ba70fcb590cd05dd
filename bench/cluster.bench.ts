// The local cluster (src/cluster/main.ts as a child process, so the clients here do not share its
// event loop) over HTTPS with keep-alive and the admin client certificate: server-side apply of 1,000
// objects (Deployment, Service, ConfigMap, ServiceAccount × 250), their no-op re-apply, the same
// objects by `kubectl apply --server-side`, a list of 10,000 ConfigMaps and 500 watchers, against a
// bare better-sqlite3 loop run in this process on the same machine. Prints figures and ratios; the
// targets are printed next to them, never asserted: these machines are noisy and have 2 cores.
//
// BENCH_CPU_PROF=DIR runs the cluster with `node --cpu-prof --cpu-prof-dir DIR` (written when it stops).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { freePort } from '../test/helpers/server.js';
import { BareSqlite, call, closedLoop, expect, kubectl, median, ms, pct, printTable, rate, reportWatch, timeList, timedAsync, times, verdict, watchFanout, type Reply } from './common.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONCURRENCY = 16;
const PER_KIND = 250; // × 4 kinds = 1,000 objects
const SSA_TARGET_S = 2; // the aim for 1,000 objects on 2 cores
const LIST_SIZE = 10_000;
const LIST_RUNS = 5;
const WATCHERS = 500;
const WATCH_ROUNDS = 3;
const START_CAP_MS = 60_000;
const APPLY_CAP_MS = 60_000; // each of the two HTTP apply phases
const KUBECTL_CAP_MS = 150_000; // each of the two kubectl runs
const FILL_CAP_MS = 120_000; // the untimed creates of the list phase

interface Cluster {
  port: number;
  tls: https.AgentOptions;
  kubeconfig: string;
  stop(): Promise<void>;
}

/** `npm run cluster` on a free port in `dir`; resolves once it printed its kubeconfig. */
async function startCluster(dir: string): Promise<Cluster> {
  const port = await freePort();
  const certDir = join(dir, 'certs');
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.BENCH_CPU_PROF)] : [];
  const args = [...profile, '--import', 'tsx', join(ROOT, 'src/cluster/main.ts'), '--secure-port', String(port), '--data-dir', join(dir, 'data'), '--cert-dir', certDir, '--log-level', 'warn'];
  const proc: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let logs = '';
  const kubeconfig = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the local cluster did not start in ${START_CAP_MS} ms:\n${logs}`)), START_CAP_MS);
    const fail = (why: string) => (clearTimeout(timer), rej(new Error(`the local cluster ${why}:\n${logs}`)));
    proc.once('exit', (code, signal) => fail(`exited (${code ?? signal})`));
    proc.once('error', (e) => fail(`did not start: ${e.message}`));
    proc.stderr!.on('data', (d) => (logs += d));
    proc.stdout!.on('data', (d) => {
      logs += d;
      const m = /^kubeconfig: (.+)$/m.exec(logs);
      if (m) (clearTimeout(timer), res(m[1]));
    });
  });
  proc.removeAllListeners('exit');
  const read = (f: string) => readFile(join(certDir, f), 'utf8');
  const tls = { ca: await read('ca.crt'), cert: await read('admin.crt'), key: await read('admin.key') };
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  return { port, tls, kubeconfig, stop };
}

interface Workload {
  kind: string;
  /** The object's path, e.g. /apis/apps/v1/namespaces/NS/deployments/NAME. */
  path: string;
  manifest: Record<string, unknown>;
}

const KINDS = ['Deployment', 'Service', 'ConfigMap', 'ServiceAccount'];
const pad = (i: number) => String(i).padStart(4, '0');

/** The 1,000 objects of `ns`, kinds interleaved (as a directory of an app's manifests mixes them). */
function workloads(ns: string): Workload[] {
  const out: Workload[] = [];
  for (let i = 0; i < PER_KIND; i++) {
    const name = `app-${pad(i)}`;
    const labels = { app: name, 'app.kubernetes.io/part-of': 'bench' };
    const metadata = { name, namespace: ns, labels };
    out.push({
      kind: 'Deployment',
      path: `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
      manifest: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata,
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              containers: [
                {
                  name: 'app',
                  image: `registry.example.com/bench/app:1.${i}`,
                  ports: [{ name: 'http', containerPort: 8080 }],
                  env: [
                    { name: 'MODE', value: 'bench' },
                    { name: 'INDEX', value: String(i) },
                  ],
                  envFrom: [{ configMapRef: { name } }],
                  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                  readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
                },
              ],
            },
          },
        },
      },
    });
    out.push({
      kind: 'Service',
      path: `/api/v1/namespaces/${ns}/services/${name}`,
      manifest: { apiVersion: 'v1', kind: 'Service', metadata, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    });
    out.push({
      kind: 'ConfigMap',
      path: `/api/v1/namespaces/${ns}/configmaps/${name}`,
      manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { LOG_LEVEL: 'info', INDEX: String(i), 'app.properties': `name=${name}\nreplicas=2\nfeature.x=true\n` } },
    });
    out.push({ kind: 'ServiceAccount', path: `/api/v1/namespaces/${ns}/serviceaccounts/${name}`, manifest: { apiVersion: 'v1', kind: 'ServiceAccount', metadata } });
  }
  return out;
}

/** Server-side apply as kubectl sends it: a JSON body as application/apply-patch+yaml. */
const apply = (c: Cluster, agent: https.Agent, w: Workload, status: number) =>
  expect(status, call(c.port, agent, 'PATCH', `${w.path}?fieldManager=bench&force=true`, JSON.stringify(w.manifest), 'application/apply-patch+yaml'));

/** Applies every object once; the replies in order (kept to be read after the clock stops). */
async function applyAll(c: Cluster, agent: https.Agent, objs: Workload[], status: number) {
  const replies: Reply[] = new Array(objs.length);
  const byIndex: number[] = new Array(objs.length);
  const run = await closedLoop(
    objs.length,
    CONCURRENCY,
    async (i) => {
      const t = performance.now();
      replies[i] = await apply(c, agent, objs[i], status);
      byIndex[i] = performance.now() - t;
    },
    APPLY_CAP_MS,
  );
  if (run.done !== objs.length) throw new Error(`only ${run.done} of ${objs.length} applies within ${APPLY_CAP_MS} ms`);
  return { ...run, replies, byIndex };
}

const resourceVersion = (r: Reply) => JSON.parse(r.body.toString()).metadata.resourceVersion as string;

const configMap = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'bench' } }, data: { 'settings.yaml': `name: ${name}\nlevel: info\n` } });
const createConfigMap = (c: Cluster, agent: https.Agent, ns: string, name: string) => expect(201, call(c.port, agent, 'POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(name)));
const cmName = (i: number) => `cm-${String(i).padStart(5, '0')}`;

async function subdir(dir: string, name: string): Promise<string> {
  await mkdir(join(dir, name));
  return join(dir, name);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gitops-toolkit-cluster-bench-'));
  const bares: BareSqlite[] = [];
  let cluster: Cluster | undefined;
  try {
    const started = performance.now();
    cluster = await startCluster(join(dir, 'cluster'));
    const c = cluster;
    console.log(`local cluster on https://127.0.0.1:${c.port} (child process, started in ${ms(performance.now() - started)}); ${CONCURRENCY} keep-alive connections; bare SQLite in ${dir}`);
    const agent = new https.Agent({ ...c.tls, keepAlive: true, maxSockets: CONCURRENCY });
    for (const ns of ['ssa', 'kubectl', 'list', 'watch']) {
      await expect(201, call(c.port, agent, 'POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })));
    }
    // Warm-up of the connections and the read path only: the first writes of each kind (schema
    // compilation among them) belong to the 1,000 applies, as they would to a first reconcile.
    await closedLoop(CONCURRENCY * 20, CONCURRENCY, () => expect(200, call(c.port, agent, 'GET', '/api/v1/namespaces/ssa')));

    // --- server-side apply of 1,000 objects, then the same again (no-op) ---
    const objs = workloads('ssa');
    const first = await applyAll(c, agent, objs, 201);
    const storedSize = Math.round(first.replies.reduce((n, r) => n + r.body.length, 0) / objs.length);
    const ssaRate = objs.length / first.seconds;
    const firstOfKind = KINDS.map((k) => `${k} ${ms(first.byIndex[objs.findIndex((w) => w.kind === k)])}`);
    console.log(
      `server-side apply of ${objs.length} new objects, ${CONCURRENCY} concurrent: ${first.seconds.toFixed(2)} s, ${rate(ssaRate)} ` +
        `(p50 ${ms(median(first.latencies))}, p99 ${ms(pct(first.latencies, 0.99))}, max ${ms(Math.max(...first.latencies))}); mean stored size ${storedSize} B`,
    );
    console.log(`  the first apply of each kind (its schema compiled on first write): ${firstOfKind.join(', ')}`);

    const again = await applyAll(c, agent, objs, 200);
    const noopRate = objs.length / again.seconds;
    const rewritten = again.replies.filter((r, i) => resourceVersion(r) !== resourceVersion(first.replies[i])).length;
    console.log(
      `the same ${objs.length} applied again (no-op): ${again.seconds.toFixed(2)} s, ${rate(noopRate)} ` +
        `(p50 ${ms(median(again.latencies))}, p99 ${ms(pct(again.latencies, 0.99))}); ${rewritten} of them wrote a new resourceVersion`,
    );

    // The bare loop, at the mean stored size, in the same run: 1,000 inserts.
    const bareApply = new BareSqlite(await subdir(dir, 'bare-apply'), storedSize, '/registry/bench/ssa/', pad);
    bares.push(bareApply);
    const bareInsertMs = bareApply.insertLoop(objs.length) / objs.length;
    const bareInsertRate = 1000 / bareInsertMs;
    console.log(`bare SQLite: insert of ${storedSize} B ${rate(bareInsertRate)}`);

    // --- kubectl apply --server-side -f DIR (fresh discovery cache: what a first `kubectl apply` pays) ---
    // With its default --validate=strict, kubectl 1.32 decodes the /openapi/v3 document of each
    // object's group version again for every object (kubernetes/kubernetes#127095; kubectl caches it
    // from 1.34 on), so the no-op run is made with --validate=false: the server's and the wire's share.
    const manifests = await subdir(dir, 'manifests');
    const kubectlObjs = workloads('kubectl');
    for (const kind of KINDS) {
      const docs = kubectlObjs.filter((w) => w.kind === kind).map((w) => yaml.dump(w.manifest));
      await writeFile(join(manifests, `${kind.toLowerCase()}s.yaml`), docs.join('---\n'));
    }
    const kubectlRun = async (what: string, extra: string[] = []) => {
      const kubectlArgs = ['--cache-dir', join(dir, 'kube-cache'), 'apply', '--server-side', '--field-manager=bench', '--force-conflicts', ...extra, '-f', manifests];
      let r = { code: 0, out: '' };
      const t = await timedAsync(async () => (r = await kubectl(c.kubeconfig, kubectlArgs, KUBECTL_CAP_MS)));
      const applied = r.out.split('\n').filter((l) => l.endsWith(' serverside-applied')).length;
      if (r.code !== 0 || applied !== kubectlObjs.length) throw new Error(`kubectl apply --server-side (${what}): exit ${r.code} after ${ms(t)}, ${applied} applied:\n${r.out.slice(-2000)}`);
      console.log(`kubectl apply --server-side -f DIR of ${applied} objects (${what}): ${(t / 1000).toFixed(2)} s, ${rate(applied / (t / 1000))}`);
      return t / 1000;
    };
    const kubectlSeconds = await kubectlRun('new objects');
    const kubectlAgainSeconds = await kubectlRun('again, no-op, --validate=false', ['--validate=false']);

    // --- list of 10,000 ConfigMaps ---
    const fill = await closedLoop(LIST_SIZE, CONCURRENCY, (i) => createConfigMap(c, agent, 'list', cmName(i)), FILL_CAP_MS);
    if (fill.done !== LIST_SIZE) throw new Error(`only ${fill.done} of ${LIST_SIZE} ConfigMaps created within ${FILL_CAP_MS} ms`);
    console.log(`(untimed) ${LIST_SIZE} ConfigMaps created in ${fill.seconds.toFixed(1)} s, ${rate(fill.done / fill.seconds)}`);
    const cmSize = (await expect(200, call(c.port, agent, 'GET', `/api/v1/namespaces/list/configmaps/${cmName(0)}`))).body.length;
    const bareList = new BareSqlite(await subdir(dir, 'bare-list'), cmSize, '/registry/configmaps/list/', cmName);
    bares.push(bareList);
    bareList.fill(LIST_SIZE);
    const bareScanMs = bareList.scan(LIST_RUNS);
    const list = await timeList(c.port, agent, '/api/v1/namespaces/list/configmaps', LIST_SIZE, LIST_RUNS);
    const listMs = list.ms;
    console.log(`list of ${LIST_SIZE} ConfigMaps (${list.megabytes} MB): median ${ms(listMs)} of ${list.runs}; bare SQLite select of ${LIST_SIZE} rows of ${cmSize} B: ${ms(bareScanMs)}`);
    agent.destroy();

    // --- 500 watchers on the ConfigMaps of one namespace ---
    const watch = await watchFanout({
      port: c.port,
      tls: c.tls,
      listPath: '/api/v1/namespaces/watch/configmaps?limit=1',
      watchPath: '/api/v1/namespaces/watch/configmaps',
      watchers: WATCHERS,
      rounds: WATCH_ROUNDS,
      create: (writer, name) => createConfigMap(c, writer, 'watch', name),
    });
    const watchReport = reportWatch(watch, WATCHERS, WATCH_ROUNDS);

    const ssaP50 = median(first.latencies);
    const ssaP99 = pct(first.latencies, 0.99);
    const noopP99 = pct(again.latencies, 0.99);
    const kubectlRate = kubectlObjs.length / kubectlSeconds;
    const met = first.seconds < SSA_TARGET_S;
    console.log('');
    console.log(`server-side apply of ${objs.length} objects = ${first.seconds.toFixed(2)} s (target < ${SSA_TARGET_S} s on 2 cores: ${verdict(met)})`);
    console.log(`server-side apply throughput = ${(ssaRate / bareInsertRate).toFixed(2)} × bare SQLite insert loop; no-op re-apply ${rate(noopRate)}`);
    console.log(
      `kubectl apply --server-side of ${kubectlObjs.length} = ${kubectlSeconds.toFixed(2)} s = ${times(kubectlSeconds / first.seconds)} the HTTP applies; ` +
        `no-op with --validate=false ${kubectlAgainSeconds.toFixed(2)} s = ${times(kubectlAgainSeconds / again.seconds)} the HTTP no-op applies`,
    );
    console.log(`list of ${LIST_SIZE} ConfigMaps = ${ms(listMs)} = ${times(listMs / bareScanMs)} bare SQLite select of ${LIST_SIZE} rows`);
    console.log(watchReport.conclusion);

    const n = objs.length;
    printTable(
      ['figure', 'cluster', 'baseline', 'ratio', 'target'],
      [
        [`SSA ${n} new, total`, `${first.seconds.toFixed(2)} s`, `${((bareInsertMs * n) / 1000).toFixed(2)} s`, times((first.seconds * 1000) / (bareInsertMs * n)), `< ${SSA_TARGET_S} s: ${verdict(met)}`],
        ['SSA new throughput', rate(ssaRate), rate(bareInsertRate), times(ssaRate / bareInsertRate), ''],
        ['SSA new p50', ms(ssaP50), ms(bareInsertMs), times(ssaP50 / bareInsertMs), ''],
        ['SSA new p99', ms(ssaP99), ms(bareInsertMs), times(ssaP99 / bareInsertMs), ''],
        ['SSA no-op throughput', rate(noopRate), rate(bareInsertRate), times(noopRate / bareInsertRate), ''],
        ['SSA no-op p99', ms(noopP99), ms(bareInsertMs), times(noopP99 / bareInsertMs), ''],
        [`kubectl SSA ${n} new`, rate(kubectlRate), rate(bareInsertRate), times(kubectlRate / bareInsertRate), ''],
        [`kubectl SSA ${n} no-op *`, rate(n / kubectlAgainSeconds), rate(bareInsertRate), times(n / kubectlAgainSeconds / bareInsertRate), ''],
        [`list ${LIST_SIZE}`, ms(listMs), ms(bareScanMs), times(listMs / bareScanMs), ''],
        ...watchReport.rows,
      ],
    );
    console.log(
      `baselines: bare better-sqlite3 in this process (insert of ${storedSize} B, one transaction each, for every apply row; select of ${LIST_SIZE} rows for the list); ` +
        'watch rows against the round trip of the create they saw; * with --validate=false',
    );
  } finally {
    for (const b of bares) b.close();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
