// The API over HTTPS (keep-alive, client cert) on the embedded SQLite store, against a bare
// better-sqlite3 loop run in this process on the same machine. Prints figures and ratios; the
// targets are printed next to them, never asserted: these machines are noisy and have 2 cores.
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestServer } from '../test/helpers/server.js';
import { BareSqlite, call, closedLoop, expect, median, ms, openLoop, pct, printTable, rate, reportWatch, timeList, times, verdict, watchFanout } from './common.js';

const NS = '/apis/gitops.toolkit/v1/namespaces';
const CONCURRENCY = 16;
const RATE = 200; // offered requests/s of the latency runs
const LIST_SIZE = 10_000;
const PAIRS = 8; // create throughput alternates API slices with bare slices: the disk is shared and drifts
const SLICE = 500; // creates per API slice, inserts per bare slice
const OPEN_LOOP_CREATES = 2_000;
const GETS = 6_000;
const OPEN_LOOP_GETS = 1_000;
const LIST_RUNS = 5;
const WATCHERS = 500;
const WATCH_ROUNDS = 3;
const BARE_SELECTS = 100_000;

type Agent = https.Agent;

let server: TestServer;

const manifest = (name: string) =>
  JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1m', url: `https://example.com/${name}.git` } });
const create = (agent: Agent, ns: string, name: string) => expect(201, call(server.port, agent, 'POST', `${NS}/${ns}/gitrepositories`, manifest(name)));
const get = (agent: Agent, ns: string, name: string) => expect(200, call(server.port, agent, 'GET', `${NS}/${ns}/gitrepositories/${name}`));
const objName = (i: number) => `repo-${String(i).padStart(5, '0')}`;

async function main(): Promise<void> {
  const bareDir = await mkdtemp(join(tmpdir(), 'gitops-toolkit-bench-'));
  server = await TestServer.start();
  let bare: BareSqlite | undefined;
  try {
    const tls = { ca: server.caCert, cert: server.adminCert, key: server.adminKey };
    const agent = new https.Agent({ ...tls, keepAlive: true, maxSockets: CONCURRENCY });
    console.log(`server on ${server.url}; ${CONCURRENCY} keep-alive connections; bare SQLite in ${bareDir}`);

    // Warm-up (TLS sessions, JIT); it also gives the stored size of one object for the bare loop.
    await closedLoop(400, CONCURRENCY, (i) => create(agent, 'warm', objName(i)));
    await closedLoop(400, CONCURRENCY, (i) => get(agent, 'warm', objName(i)));
    const valueSize = (await get(agent, 'warm', objName(0))).body.length;
    bare = new BareSqlite(bareDir, valueSize, '/registry/gitops.toolkit/gitrepositories/bench/', objName);

    let made = 0;
    let apiSeconds = 0;
    let bareMs = 0;
    const putLatencies: number[] = [];
    const pairRatios: number[] = [];
    for (let p = 0; p < PAIRS; p++) {
      const slice = await closedLoop(SLICE, CONCURRENCY, (i) => create(agent, 'bench', objName(made + i)));
      const sliceMs = bare.insertLoop(SLICE);
      made += slice.done;
      apiSeconds += slice.seconds;
      bareMs += sliceMs;
      putLatencies.push(...slice.latencies);
      pairRatios.push(slice.done / slice.seconds / (SLICE / (sliceMs / 1000)));
    }
    const createRate = made / apiSeconds;
    const bareInsertRate = (PAIRS * SLICE) / (bareMs / 1000);
    const bareInsertMs = bareMs / (PAIRS * SLICE);
    console.log(
      `create, ${CONCURRENCY} concurrent: ${rate(createRate)} (p50 ${ms(median(putLatencies))}, p99 ${ms(pct(putLatencies, 0.99))}); ` +
        `bare SQLite insert of ${valueSize} B: ${rate(bareInsertRate)}; ratio per pair ${pairRatios.map((r) => r.toFixed(2)).join(', ')}`,
    );

    const createLat = await openLoop(OPEN_LOOP_CREATES, RATE, (i) => create(agent, 'bench', objName(made + i)));
    const createP50 = median(createLat);
    const createP99 = pct(createLat, 0.99);
    console.log(`create at ${RATE} rq/s offered: p50 ${ms(createP50)}, p99 ${ms(createP99)}, max ${ms(Math.max(...createLat))}`);
    made += OPEN_LOOP_CREATES;
    await closedLoop(LIST_SIZE - made, CONCURRENCY, (i) => create(agent, 'bench', objName(made + i)), Infinity);

    bare.fill(LIST_SIZE);
    const bareSelectRate = bare.selectLoop(BARE_SELECTS);
    const bareSelectMs = 1000 / bareSelectRate;
    const bareScanMs = bare.scan(LIST_RUNS);
    console.log(`bare SQLite: point select ${rate(bareSelectRate)}, select of ${LIST_SIZE} rows ${ms(bareScanMs)}`);

    const reads = await closedLoop(GETS, CONCURRENCY, (i) => get(agent, 'bench', objName((i * 7919) % LIST_SIZE)));
    const getRate = reads.done / reads.seconds;
    console.log(`get, ${CONCURRENCY} concurrent: ${rate(getRate)} (p50 ${ms(median(reads.latencies))}, p99 ${ms(pct(reads.latencies, 0.99))})`);
    const getLat = await openLoop(OPEN_LOOP_GETS, RATE, (i) => get(agent, 'bench', objName((i * 104729) % LIST_SIZE)));
    const getP50 = median(getLat);
    const getP99 = pct(getLat, 0.99);
    console.log(`get at ${RATE} rq/s offered: p50 ${ms(getP50)}, p99 ${ms(getP99)}`);

    const list = await timeList(server.port, agent, `${NS}/bench/gitrepositories`, LIST_SIZE, LIST_RUNS);
    const listMs = list.ms;
    console.log(`list of ${LIST_SIZE} (${list.megabytes} MB): median ${ms(listMs)} of ${list.runs}`);
    agent.destroy();

    const watch = await watchFanout({
      port: server.port,
      tls,
      listPath: `${NS}/watch/gitrepositories?limit=1`,
      watchPath: `${NS}/watch/gitrepositories`,
      watchers: WATCHERS,
      rounds: WATCH_ROUNDS,
      create: (writer, name) => create(writer, 'watch', name),
    });
    const watchReport = reportWatch(watch, WATCHERS, WATCH_ROUNDS);

    const throughputRatio = createRate / bareInsertRate;
    console.log('');
    console.log(`API create throughput = ${throughputRatio.toFixed(2)} × bare SQLite insert loop (target ≥ 0.33: ${verdict(throughputRatio >= 1 / 3)})`);
    console.log(`API create p99 at ${RATE} rq/s = ${ms(createP99)} (target < 10 ms: ${verdict(createP99 < 10)})`);
    console.log(`API list of ${LIST_SIZE} = ${ms(listMs)} = ${times(listMs / bareScanMs)} bare SQLite select of ${LIST_SIZE} rows (target < 300 ms: ${verdict(listMs < 300)})`);
    console.log(`API get throughput = ${(getRate / bareSelectRate).toFixed(3)} × bare SQLite point select loop`);
    console.log(watchReport.conclusion);

    const rows: string[][] = [
      ['create throughput', rate(createRate), rate(bareInsertRate), times(throughputRatio), `≥ 0.33 × bare: ${verdict(throughputRatio >= 1 / 3)}`],
      [`create p50 @${RATE}/s`, ms(createP50), ms(bareInsertMs), times(createP50 / bareInsertMs), ''],
      [`create p99 @${RATE}/s`, ms(createP99), ms(bareInsertMs), times(createP99 / bareInsertMs), `< 10 ms: ${verdict(createP99 < 10)}`],
      ['get throughput', rate(getRate), rate(bareSelectRate), times(getRate / bareSelectRate), ''],
      [`get p50 @${RATE}/s`, ms(getP50), ms(bareSelectMs), times(getP50 / bareSelectMs), ''],
      [`get p99 @${RATE}/s`, ms(getP99), ms(bareSelectMs), times(getP99 / bareSelectMs), ''],
      [`list ${LIST_SIZE}`, ms(listMs), ms(bareScanMs), times(listMs / bareScanMs), `< 300 ms: ${verdict(listMs < 300)}`],
      ...watchReport.rows,
    ];
    printTable(['figure', 'API', 'baseline', 'ratio', 'target'], rows);
    console.log('baselines: bare better-sqlite3 in this process (insert, point select, select of 10,000 rows); watch rows against the round trip of the create they saw');
  } finally {
    bare?.close();
    await server.cleanup();
    await rm(bareDir, { recursive: true, force: true });
  }
}

await main();
