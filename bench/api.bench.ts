// The API over HTTPS (keep-alive, client cert) on the embedded SQLite store, against a bare
// better-sqlite3 loop run in this process on the same machine. Prints figures and ratios; the
// targets are printed next to them, never asserted: these machines are noisy and have 2 cores.
import { mkdtemp, rm } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { TestServer } from '../test/helpers/server.js';

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
const PHASE_CAP_MS = 40_000; // no closed-loop phase runs longer, however slow the server is

interface Reply {
  status: number;
  body: Buffer;
}

type Agent = https.Agent;

let server: TestServer;

function call(agent: Agent, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: server.port, method, path, agent, headers: body === undefined ? {} : { 'Content-Type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function expect(status: number, reply: Promise<Reply>): Promise<Reply> {
  const r = await reply;
  if (r.status !== status) throw new Error(`expected HTTP ${status}, got ${r.status}: ${r.body.toString('utf8', 0, 500)}`);
  return r;
}

const manifest = (name: string) =>
  JSON.stringify({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: '1m', url: `https://example.com/${name}.git` } });
const create = (agent: Agent, ns: string, name: string) => expect(201, call(agent, 'POST', `${NS}/${ns}/gitrepositories`, manifest(name)));
const get = (agent: Agent, ns: string, name: string) => expect(200, call(agent, 'GET', `${NS}/${ns}/gitrepositories/${name}`));
const objName = (i: number) => `repo-${String(i).padStart(5, '0')}`;

/** `concurrency` workers take indices from [0, count) until done or past the cap; latencies in ms. */
async function closedLoop(count: number, concurrency: number, fn: (i: number) => Promise<unknown>, capMs = PHASE_CAP_MS) {
  const latencies: number[] = [];
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count && performance.now() - start < capMs) {
      const i = next++;
      const t = performance.now();
      await fn(i);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done: latencies.length, seconds: (performance.now() - start) / 1000, latencies };
}

/** Request i is due at start + i/rate; its latency runs from then, so time spent queued counts. */
async function openLoop(count: number, rate: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const start = performance.now() + 5;
  const inflight: Promise<unknown>[] = [];
  let failure: unknown;
  for (let i = 0; i < count && failure === undefined; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(fn(i).then(() => latencies.push(performance.now() - due), (e) => (failure ??= e)));
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
  return latencies;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
const median = (values: number[]) => pct(values, 0.5);

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

async function timedAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The bare loop: one key/value table, one transaction per insert, WAL + synchronous=FULL as the server. */
class BareSqlite {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #one: Database.Transaction<(key: string) => void>;
  readonly #value: Buffer;
  #rows = 0;
  static readonly prefix = '/registry/gitops.toolkit/gitrepositories/bench/';

  constructor(dir: string, valueSize: number) {
    this.#db = new Database(join(dir, 'bare.db'));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)');
    this.#insert = this.#db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
    this.#one = this.#db.transaction((key: string) => void this.#insert.run(key, this.#value));
    this.#value = Buffer.alloc(valueSize, 'x');
  }

  /** ms taken by `n` inserts, each its own transaction. */
  insertLoop(n: number): number {
    return timed(() => {
      for (let i = 0; i < n; i++) this.#one.immediate(BareSqlite.prefix + objName(this.#rows++));
    });
  }

  /** Tops the table up to `rows` rows in one transaction (not timed). */
  fill(rows: number): void {
    this.#db.transaction(() => {
      while (this.#rows < rows) this.#insert.run(BareSqlite.prefix + objName(this.#rows++), this.#value);
    })();
  }

  /** Point selects/s of existing keys. */
  selectLoop(n: number): number {
    const select = this.#db.prepare('SELECT value FROM kv WHERE key = ?');
    const ms = timed(() => {
      for (let i = 0; i < n; i++) select.get(BareSqlite.prefix + objName((i * 7919) % this.#rows));
    });
    return n / (ms / 1000);
  }

  /** Median ms of reading every row under the prefix, as the server's list reads them. */
  scan(): number {
    const range = this.#db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key');
    const end = BareSqlite.prefix.slice(0, -1) + '0';
    const runs = Array.from({ length: LIST_RUNS }, () =>
      timed(() => {
        if (range.all(BareSqlite.prefix, end).length !== this.#rows) throw new Error('bare scan returned the wrong row count');
      }),
    );
    return median(runs);
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * WATCHERS watches on one namespace; per round one create, the time each watcher took to see it, the
 * time until all had, and the round trip of that create itself (the baseline: what the fan-out adds).
 */
async function watchFanout(tls: https.AgentOptions): Promise<{ perWatcher: number[]; allReceived: number[]; writes: number[] }> {
  const agent = new https.Agent({ ...tls, keepAlive: false, maxSockets: Infinity });
  const writer = new https.Agent({ ...tls, keepAlive: true, maxSockets: 1 });
  const requests: ClientRequest[] = [];
  let closing = false;
  let round: { name: string; t0: number; times: number[]; done: () => void } | undefined;
  try {
    const list = await expect(200, call(writer, 'GET', `${NS}/watch/gitrepositories?limit=1`));
    const rv = JSON.parse(list.body.toString()).metadata.resourceVersion as string;
    const open = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const path = `${NS}/watch/gitrepositories?watch=true&resourceVersion=${rv}&timeoutSeconds=600`;
        const req = https.request({ host: '127.0.0.1', port: server.port, path, agent }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`watcher ${i}: HTTP ${res.statusCode}`));
          res.setEncoding('utf8');
          let buffered = '';
          res.on('data', (chunk: string) => {
            buffered += chunk;
            for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
              const line = buffered.slice(0, nl);
              buffered = buffered.slice(nl + 1);
              // Substring checks instead of JSON.parse keep the client's share of the measured time small.
              if (round && line.includes('"type":"ADDED"') && line.includes(`"name":"${round.name}"`)) {
                round.times.push(performance.now() - round.t0);
                if (round.times.length === WATCHERS) round.done();
              }
            }
          });
          resolve();
        });
        req.on('error', (e) => (closing ? undefined : reject(e)));
        requests.push(req);
        req.end();
      });
    // 50 handshakes at a time: opening 500 at once only measures the listen backlog.
    await closedLoop(WATCHERS, 50, open);
    if (requests.length !== WATCHERS) throw new Error(`only ${requests.length} of ${WATCHERS} watchers opened`);
    await sleep(500); // let the server register every watcher

    const perWatcher: number[] = [];
    const allReceived: number[] = [];
    const writes: number[] = [];
    // Round 0 warms the path up and is not counted.
    for (let r = 0; r <= WATCH_ROUNDS; r++) {
      const received = new Promise<void>((done) => (round = { name: `fanout-${r}`, t0: 0, times: [], done }));
      const current = round!;
      current.t0 = performance.now();
      await create(writer, 'watch', current.name);
      const written = performance.now() - current.t0;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${WATCHERS - current.times.length} of ${WATCHERS} watchers never saw ${current.name}`)), 30_000);
      });
      await Promise.race([received, timeout]).finally(() => clearTimeout(timer));
      if (r > 0) {
        perWatcher.push(...current.times);
        allReceived.push(Math.max(...current.times));
        writes.push(written);
      }
      round = undefined;
      await sleep(300);
    }
    return { perWatcher, allReceived, writes };
  } finally {
    closing = true;
    for (const req of requests) req.destroy();
    agent.destroy();
    writer.destroy();
  }
}

const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
const rate = (v: number) => `${Math.round(v)}/s`;
const times = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ×`;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

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
    bare = new BareSqlite(bareDir, valueSize);

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
    const bareScanMs = bare.scan();
    console.log(`bare SQLite: point select ${rate(bareSelectRate)}, select of ${LIST_SIZE} rows ${ms(bareScanMs)}`);

    const reads = await closedLoop(GETS, CONCURRENCY, (i) => get(agent, 'bench', objName((i * 7919) % LIST_SIZE)));
    const getRate = reads.done / reads.seconds;
    console.log(`get, ${CONCURRENCY} concurrent: ${rate(getRate)} (p50 ${ms(median(reads.latencies))}, p99 ${ms(pct(reads.latencies, 0.99))})`);
    const getLat = await openLoop(OPEN_LOOP_GETS, RATE, (i) => get(agent, 'bench', objName((i * 104729) % LIST_SIZE)));
    const getP50 = median(getLat);
    const getP99 = pct(getLat, 0.99);
    console.log(`get at ${RATE} rq/s offered: p50 ${ms(getP50)}, p99 ${ms(getP99)}`);

    const listPath = `${NS}/bench/gitrepositories`;
    const first = await expect(200, call(agent, 'GET', listPath));
    const count = JSON.parse(first.body.toString()).items.length;
    if (count !== LIST_SIZE) throw new Error(`list returned ${count} items, expected ${LIST_SIZE}`);
    const lists: number[] = [];
    for (let i = 0; i < LIST_RUNS; i++) lists.push(await timedAsync(() => expect(200, call(agent, 'GET', listPath))));
    const listMs = median(lists);
    console.log(`list of ${LIST_SIZE} (${(first.body.length / 1e6).toFixed(1)} MB): median ${ms(listMs)} of ${lists.map((v) => v.toFixed(0)).join(', ')}`);
    agent.destroy();

    const watch = await watchFanout(tls);
    const watchP50 = median(watch.perWatcher);
    const watchP99 = pct(watch.perWatcher, 0.99);
    const watchAll = median(watch.allReceived);
    const watchWrite = median(watch.writes);
    console.log(
      `watch, ${WATCHERS} watchers × ${WATCH_ROUNDS} changes: p50 ${ms(watchP50)}, p99 ${ms(watchP99)}, ` +
        `all received after ${watch.allReceived.map((v) => v.toFixed(0)).join(', ')} ms; the creates took ${watch.writes.map((v) => v.toFixed(1)).join(', ')} ms`,
    );

    const throughputRatio = createRate / bareInsertRate;
    console.log('');
    console.log(`API create throughput = ${throughputRatio.toFixed(2)} × bare SQLite insert loop (target ≥ 0.33: ${verdict(throughputRatio >= 1 / 3)})`);
    console.log(`API create p99 at ${RATE} rq/s = ${ms(createP99)} (target < 10 ms: ${verdict(createP99 < 10)})`);
    console.log(`API list of ${LIST_SIZE} = ${ms(listMs)} = ${times(listMs / bareScanMs)} bare SQLite select of ${LIST_SIZE} rows (target < 300 ms: ${verdict(listMs < 300)})`);
    console.log(`API get throughput = ${(getRate / bareSelectRate).toFixed(3)} × bare SQLite point select loop`);
    console.log(`${WATCHERS} watchers all notified in ${ms(watchAll)} = ${times(watchAll / watchWrite)} the round trip of the create that caused it`);

    const rows: string[][] = [
      ['create throughput', rate(createRate), rate(bareInsertRate), times(throughputRatio), `≥ 0.33 × bare: ${verdict(throughputRatio >= 1 / 3)}`],
      [`create p50 @${RATE}/s`, ms(createP50), ms(bareInsertMs), times(createP50 / bareInsertMs), ''],
      [`create p99 @${RATE}/s`, ms(createP99), ms(bareInsertMs), times(createP99 / bareInsertMs), `< 10 ms: ${verdict(createP99 < 10)}`],
      ['get throughput', rate(getRate), rate(bareSelectRate), times(getRate / bareSelectRate), ''],
      [`get p50 @${RATE}/s`, ms(getP50), ms(bareSelectMs), times(getP50 / bareSelectMs), ''],
      [`get p99 @${RATE}/s`, ms(getP99), ms(bareSelectMs), times(getP99 / bareSelectMs), ''],
      [`list ${LIST_SIZE}`, ms(listMs), ms(bareScanMs), times(listMs / bareScanMs), `< 300 ms: ${verdict(listMs < 300)}`],
      [`watch ${WATCHERS} p50`, ms(watchP50), ms(watchWrite), times(watchP50 / watchWrite), ''],
      [`watch ${WATCHERS} p99`, ms(watchP99), ms(watchWrite), times(watchP99 / watchWrite), ''],
      [`watch ${WATCHERS} all`, ms(watchAll), ms(watchWrite), times(watchAll / watchWrite), ''],
    ];
    const header = ['figure', 'API', 'baseline', 'ratio', 'target'];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ').trimEnd();
    console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${rows.map(line).join('\n')}`);
    console.log('baselines: bare better-sqlite3 in this process (insert, point select, select of 10,000 rows); watch rows against the round trip of the create they saw');
  } finally {
    bare?.close();
    await server.cleanup();
    await rm(bareDir, { recursive: true, force: true });
  }
}

await main();
