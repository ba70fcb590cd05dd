// What the API benchmarks share: HTTPS calls with keep-alive agents, closed and open load loops,
// percentiles, the bare better-sqlite3 loop the servers are compared with, the watch fan-out, the
// result table, a JSON-lines watch of one collection, kubectl, and /proc readers. Figures are printed, never asserted: these machines are noisy and have 2 cores.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

export interface Reply {
  status: number;
  body: Buffer;
}

/** No closed-loop phase runs longer than this by default, however slow the server is. */
export const PHASE_CAP_MS = 40_000;

/** One request to 127.0.0.1:`port`; a body goes as `contentType` (JSON unless told). */
export function call(port: number, agent: https.Agent, method: string, path: string, body?: string, contentType = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, agent, headers: body === undefined ? {} : { 'Content-Type': contentType } },
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

/** The reply, when its status is one of `status`; otherwise an error with the start of its body. */
export async function expect(status: number | number[], reply: Promise<Reply>): Promise<Reply> {
  const r = await reply;
  const wanted = Array.isArray(status) ? status : [status];
  if (!wanted.includes(r.status)) throw new Error(`expected HTTP ${wanted.join(' or ')}, got ${r.status}: ${r.body.toString('utf8', 0, 500)}`);
  return r;
}

/** `concurrency` workers take indices from [0, count) until done or past the cap; latencies in ms. */
export async function closedLoop(count: number, concurrency: number, fn: (i: number) => Promise<unknown>, capMs = PHASE_CAP_MS) {
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
export async function openLoop(count: number, rate: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
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

export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
export const median = (values: number[]) => pct(values, 0.5);

export function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

export async function timedAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** One full list (its item count checked against `expected`), then the median ms of `runs` more. */
export async function timeList(port: number, agent: https.Agent, path: string, expected: number, runs: number) {
  const first = await expect(200, call(port, agent, 'GET', path));
  const count = JSON.parse(first.body.toString()).items.length;
  if (count !== expected) throw new Error(`list returned ${count} items, expected ${expected}`);
  const lists: number[] = [];
  for (let i = 0; i < runs; i++) lists.push(await timedAsync(() => expect(200, call(port, agent, 'GET', path))));
  return { ms: median(lists), runs: lists.map((v) => v.toFixed(0)).join(', '), megabytes: (first.body.length / 1e6).toFixed(1) };
}

/**
 * The bare loop: one key/value table, one transaction per insert, WAL + synchronous=FULL as the
 * servers. Row i has the key `prefix + name(i)` and a value of `valueSize` bytes.
 */
export class BareSqlite {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #one: Database.Transaction<(key: string) => void>;
  readonly #value: Buffer;
  #rows = 0;

  constructor(
    dir: string,
    valueSize: number,
    readonly prefix: string,
    readonly name: (i: number) => string,
  ) {
    this.#db = new Database(join(dir, 'bare.db'));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)');
    this.#insert = this.#db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
    this.#one = this.#db.transaction((key: string) => void this.#insert.run(key, this.#value));
    this.#value = Buffer.alloc(valueSize, 'x');
  }

  #key(i: number): string {
    return this.prefix + this.name(i);
  }

  /** ms taken by `n` inserts, each its own transaction. */
  insertLoop(n: number): number {
    return timed(() => {
      for (let i = 0; i < n; i++) this.#one.immediate(this.#key(this.#rows++));
    });
  }

  /** Tops the table up to `rows` rows in one transaction (not timed). */
  fill(rows: number): void {
    this.#db.transaction(() => {
      while (this.#rows < rows) this.#insert.run(this.#key(this.#rows++), this.#value);
    })();
  }

  /** Point selects/s of existing keys. */
  selectLoop(n: number): number {
    const select = this.#db.prepare('SELECT value FROM kv WHERE key = ?');
    const ms = timed(() => {
      for (let i = 0; i < n; i++) select.get(this.#key((i * 7919) % this.#rows));
    });
    return n / (ms / 1000);
  }

  /** Median ms of `runs` reads of every row under the prefix, as the servers' lists read them. */
  scan(runs: number): number {
    const range = this.#db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key');
    const end = this.prefix.slice(0, -1) + '0';
    const times = Array.from({ length: runs }, () =>
      timed(() => {
        if (range.all(this.prefix, end).length !== this.#rows) throw new Error('bare scan returned the wrong row count');
      }),
    );
    return median(times);
  }

  close(): void {
    this.#db.close();
  }
}

export interface WatchFanoutOptions {
  port: number;
  tls: https.AgentOptions;
  /** A list of the watched collection (for its resourceVersion), e.g. `/api/v1/namespaces/watch/configmaps?limit=1`. */
  listPath: string;
  /** The watch request without its query, e.g. `/api/v1/namespaces/watch/configmaps`. */
  watchPath: string;
  watchers: number;
  rounds: number;
  /** Creates the object named `name` in the watched collection over `agent`. */
  create: (agent: https.Agent, name: string) => Promise<unknown>;
}

/**
 * `watchers` watches; per round one create, the time each watcher took to see it, the time until all
 * had, and the round trip of that create itself (the baseline: what the fan-out adds).
 */
export async function watchFanout(o: WatchFanoutOptions): Promise<{ perWatcher: number[]; allReceived: number[]; writes: number[] }> {
  const agent = new https.Agent({ ...o.tls, keepAlive: false, maxSockets: Infinity });
  const writer = new https.Agent({ ...o.tls, keepAlive: true, maxSockets: 1 });
  const requests: ClientRequest[] = [];
  let closing = false;
  let round: { name: string; t0: number; times: number[]; done: () => void } | undefined;
  try {
    const list = await expect(200, call(o.port, writer, 'GET', o.listPath));
    const rv = JSON.parse(list.body.toString()).metadata.resourceVersion as string;
    const open = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const path = `${o.watchPath}?watch=true&resourceVersion=${rv}&timeoutSeconds=600`;
        const req = https.request({ host: '127.0.0.1', port: o.port, path, agent }, (res) => {
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
                if (round.times.length === o.watchers) round.done();
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
    await closedLoop(o.watchers, 50, open);
    if (requests.length !== o.watchers) throw new Error(`only ${requests.length} of ${o.watchers} watchers opened`);
    await sleep(500); // let the server register every watcher

    const perWatcher: number[] = [];
    const allReceived: number[] = [];
    const writes: number[] = [];
    // Round 0 warms the path up and is not counted.
    for (let r = 0; r <= o.rounds; r++) {
      const received = new Promise<void>((done) => (round = { name: `fanout-${r}`, t0: 0, times: [], done }));
      const current = round!;
      current.t0 = performance.now();
      await o.create(writer, current.name);
      const written = performance.now() - current.t0;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${o.watchers - current.times.length} of ${o.watchers} watchers never saw ${current.name}`)), 30_000);
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

export interface WatchReport {
  p50: number;
  p99: number;
  /** Median over the rounds of the time until every watcher had the change. */
  all: number;
  /** Median round trip of the creates. */
  write: number;
  /** The one-line conclusion and the table rows, against the create's round trip. */
  conclusion: string;
  rows: string[][];
}

/** Prints the fan-out's figures and returns them with the rows they make in the result table. */
export function reportWatch(w: Awaited<ReturnType<typeof watchFanout>>, watchers: number, rounds: number): WatchReport {
  const p50 = median(w.perWatcher);
  const p99 = pct(w.perWatcher, 0.99);
  const all = median(w.allReceived);
  const write = median(w.writes);
  console.log(
    `watch, ${watchers} watchers × ${rounds} changes: p50 ${ms(p50)}, p99 ${ms(p99)}, ` +
      `all received after ${w.allReceived.map((v) => v.toFixed(0)).join(', ')} ms; the creates took ${w.writes.map((v) => v.toFixed(1)).join(', ')} ms`,
  );
  const row = (what: string, v: number) => [`watch ${watchers} ${what}`, ms(v), ms(write), times(v / write), ''];
  return {
    p50,
    p99,
    all,
    write,
    conclusion: `${watchers} watchers all notified in ${ms(all)} = ${times(all / write)} the round trip of the create that caused it`,
    rows: [row('p50', p50), row('p99', p99), row('all', all)],
  };
}

export const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
export const rate = (v: number) => `${Math.round(v)}/s`;
export const times = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ×`;
export const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

/** Prints `rows` under `header`: the first column left-aligned, the others right-aligned. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ').trimEnd();
  console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${rows.map(line).join('\n')}`);
}

/** Runs fn(0..n-1), `concurrency` at a time. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Cleanups run last-registered first, also on SIGINT/SIGTERM (then the bench exits 130). */
export class Cleanups {
  readonly #fns: (() => Promise<unknown>)[] = [];

  constructor() {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void this.run().finally(() => process.exit(130)));
  }

  add(fn: () => Promise<unknown>): void {
    this.#fns.push(fn);
  }

  async run(): Promise<void> {
    for (const c of this.#fns.splice(0).reverse()) await c().catch((e) => console.error(`cleanup: ${(e as Error).message}`));
  }
}

// ---- watches ------------------------------------------------------------------------------------

/** What a watch needs of an object: its name (the rest is the bench's to read). */
export interface Named {
  metadata: { name: string };
}

export interface WatchOptions {
  port: number;
  /** The client's ca, cert and key. */
  tls: https.RequestOptions;
  /** The watched collection without a query, e.g. `/apis/gitops.toolkit/v1/namespaces/default/gitrepositories`. */
  path: string;
  /** Where the watch starts (from a list of the collection). */
  resourceVersion: string;
  timeoutSeconds: number;
  /** Starts its error messages, e.g. `watch gitrepositories`. */
  label: string;
}

/**
 * A watch of one collection of a server (JSON lines, one event a line): each object's latest state;
 * `onEvent` sees each event as it arrives, with the time its chunk arrived.
 */
export class Watch<O extends Named> {
  readonly objects = new Map<string, O>();
  onEvent?: (o: O, at: number) => void;
  failed?: Error;
  readonly #waiters = new Set<() => void>();
  #req?: ClientRequest;

  /** Resolves once the server answered the watch with 200. */
  static async open<O extends Named>(o: WatchOptions): Promise<Watch<O>> {
    const w = new Watch<O>();
    await new Promise<void>((res, rej) => {
      const path = `${o.path}?watch=true&resourceVersion=${o.resourceVersion}&timeoutSeconds=${o.timeoutSeconds}`;
      const req = https.request({ host: '127.0.0.1', port: o.port, path, ...o.tls, agent: false }, (r) => {
        if (r.statusCode !== 200) return rej(new Error(`${o.label}: HTTP ${r.statusCode}`));
        r.setEncoding('utf8');
        let buf = '';
        r.on('data', (chunk: string) => {
          buf += chunk;
          const at = performance.now();
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const ev = JSON.parse(buf.slice(0, nl)) as { type: string; object: O };
            buf = buf.slice(nl + 1);
            if (ev.type === 'ERROR') w.failed ??= new Error(`${o.label}: ${JSON.stringify(ev.object)}`);
            if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') continue;
            if (ev.type === 'DELETED') w.objects.delete(ev.object.metadata.name);
            else w.objects.set(ev.object.metadata.name, ev.object);
            w.onEvent?.(ev.object, at);
          }
          for (const check of w.#waiters) check();
        });
        res();
      });
      w.#req = req;
      req.on('error', (e) => (req.destroyed ? undefined : rej(e)));
      req.end();
    });
    return w;
  }

  /** Resolves with the object and the time it was seen once `test` holds for `name` (checked after each chunk). */
  until(name: string, test: (o: O) => boolean, timeoutMs = 120_000): Promise<{ obj: O; at: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.failed) {
          done();
          return reject(this.failed);
        }
        const o = this.objects.get(name);
        if (o && test(o)) {
          done();
          resolve({ obj: o, at: performance.now() });
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${name} not there after ${timeoutMs} ms; status: ${JSON.stringify((this.objects.get(name) as { status?: unknown } | undefined)?.status)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves once `test` held for `count` distinct objects (each first time recorded in `at`), or at `capMs`. */
  async untilAll(count: number, test: (o: O) => boolean, capMs: number, at = new Map<string, number>()): Promise<Map<string, number>> {
    const prev = this.onEvent;
    await new Promise<void>((res) => {
      const timer = setTimeout(res, capMs);
      const check = (o: O, t: number) => {
        if (!at.has(o.metadata.name) && test(o)) at.set(o.metadata.name, t);
        if (at.size >= count || this.failed) (clearTimeout(timer), res());
      };
      for (const o of this.objects.values()) check(o, performance.now());
      this.onEvent = (o, t) => (prev?.(o, t), check(o, t));
      if (at.size >= count) (clearTimeout(timer), res());
    });
    this.onEvent = prev;
    if (this.failed) throw this.failed;
    return at;
  }

  close(): void {
    this.#req?.destroy();
  }
}

/** kubectl with `kubeconfig` only (an exported KUBECONFIG is ignored), killed after `capMs`; stdout and stderr together. */
export function kubectl(kubeconfig: string, args: string[], capMs: number): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    const p = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), capMs);
    p.on('error', rej);
    p.on('close', (code) => (clearTimeout(timer), res({ code: code ?? -1, out })));
  });
}

// ---- /proc (Linux) ------------------------------------------------------------------------------

const CLK_TCK = 100;

/** A `kB` field of /proc/PID/status (VmRSS, VmHWM, ...), in bytes. */
export function procStatus(pid: number, field: string): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
}

/** utime+stime (own) and cutime+cstime (reaped children) of a process or thread (`/proc/.../stat`), in ms. */
export function cpuOf(statPath: string): { own: number; children: number } {
  const f = readFileSync(statPath, 'utf8');
  const v = f.slice(f.lastIndexOf(')') + 2).split(' ').map(Number); // v[0] is field 3 (state)
  return { own: ((v[11] + v[12]) * 1000) / CLK_TCK, children: ((v[13] + v[14]) * 1000) / CLK_TCK };
}

/** CPU ms the whole machine spent busy (every process, every tenant of this VM), and idle. */
export function machineCpu(): { busy: number; idle: number } {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  return { busy: ((user + nice + system + irq + softirq + steal) * 1000) / CLK_TCK, idle: ((idle + iowait) * 1000) / CLK_TCK };
}

/** CPU ms per thread of `pid`. */
export function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(t), cpuOf(`/proc/${pid}/task/${t}/stat`).own);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** CPU ms of `pid`'s threads since `before`: the main thread, threads started since (workers), the rest. */
export function threadSplit(pid: number, before: Map<number, number>, now: Map<number, number>) {
  let workers = 0;
  let helpers = 0;
  for (const [tid, v] of now) {
    if (tid === pid) continue;
    if (before.has(tid)) helpers += v - before.get(tid)!;
    else workers += v;
  }
  return { main: now.get(pid)! - before.get(pid)!, workers, helpers, newThreads: [...now.keys()].filter((t) => !before.has(t)).length };
}

/** Runs `sample` now, every `everyMs` and once more when stopped; `stop` returns what `result` makes of the samples. */
export function sampleEvery<T>(everyMs: number, sample: () => void, result: () => T): { stop(): T } {
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return result();
    },
  };
}

/** The live child processes of `pid` (of all its threads). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out;
}
