// Fuzz suite (issue 7): random mutations of valid objects of every kind, sent with every verb and patch
// type, random query parameters, headers and content types, deep nesting, huge and non-ASCII names and
// keys, malformed bodies. After every request: no 5xx (but kube's own 504 for a future
// resourceVersion), every error a metav1.Status, well-formed headers with short printable Warnings,
// and nothing left behind by a rejected or dry-run write. Every 100 requests and at the end: the
// process is alive and /readyz answers fast.
//
// Bounded: FUZZ_RUNS generated cases (2,000 by default; one request each, a burst several), within
// FUZZ_TIME_LIMIT_MS. FUZZ_SEED=<n> (printed at the start) replays a run; FUZZ_PATH=<path> (printed by
// fast-check on failure) replays the shrunk counterexample; FUZZ_KEEP_GOING=1 lists one example of
// every kind of failure instead of stopping at the first.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import yaml from 'js-yaml';
import {
  Case,
  caseArbitrary,
  encodeBody,
  encodeSegment,
  GV,
  jsonPatchOps,
  KINDS,
  mergePatchBody,
  mutate,
  queryString,
  validObject,
  value,
  type CaseDesc,
  type DeleteBodyDesc,
  type Format,
} from '../helpers/fuzz-arbitraries.js';
import { encodeJSON, preview, truncate } from '../helpers/json-text.js';
import { RawClient, type RawRequest, type RawResponse } from '../helpers/raw-https.js';
import { TestServer } from '../helpers/server.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const PATH = process.env.FUZZ_PATH;
/** FUZZ_KEEP_GOING=1: record every failure (one example per kind of failure) instead of stopping and shrinking at the first. */
const KEEP_GOING = !!process.env.FUZZ_KEEP_GOING;
/** Liveness: /readyz must answer within this, however busy the (2-core) machine. */
const READYZ_MS = 2000;
/** Stops generating (and shrinking) after this; a run cut short without a failure still passes. */
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 150_000);
const NS = 'fuzz';
const DC_NS = 'fuzz-dc';
const API = `/apis/${GV}`;

console.log(`FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}${PATH ? ` FUZZ_PATH=${PATH}` : ''}${KEEP_GOING ? ' FUZZ_KEEP_GOING=1' : ''}`);

let s: TestServer;
let client: RawClient;
before(async () => {
  s = await TestServer.start(['--controllers=']); // API semantics only: no reconciler touching the objects
  client = new RawClient(s);
});
after(async () => {
  client?.close();
  await s?.cleanup();
});

// ---- bookkeeping ----

/** `plural/ns/name` of every object a 2xx non-dry-run write created. */
const acknowledged = new Set<string>();
/** kind index → a live object in NS that updates, patches and deletes work on. */
const pool = new Map<number, string>();
let counter = 0;
const fresh = () => `fz${SEED.toString(36)}-${counter++}`;
const stats = { cases: 0, fuzzRequests: 0, requests: 0, byStatus: new Map<number, number>(), slowest: { ms: 0, what: '' }, readyzWorstMs: 0, restarts: 0 };
const ackKey = (plural: string, ns: string, name: string) => `${plural}/${ns}/${name}`;

const collection = (plural: string, ns = NS) => `${API}/namespaces/${encodeSegment(ns)}/${plural}`;
const item = (plural: string, name: string, ns = NS) => `${collection(plural, ns)}/${encodeSegment(name)}`;

function describeRequest(r: RawRequest): string {
  const body = r.body === undefined ? 'no body' : `body ${Buffer.byteLength(r.body)} bytes: ${truncate(Buffer.from(r.body).toString('latin1'), 300)}`;
  return `${r.method} ${truncate(r.path, 300)} headers ${preview(r.headers ?? {}, 300)} ${body}`;
}
function describeResponse(res: RawResponse): string {
  return `→ ${res.status} warning=${truncate(String(res.headers.warning ?? ''), 300)} ${truncate(res.text(), 800)}`;
}

/** Sends a request; a lost connection is a failure, and a dead server is restarted so shrinking can go on. */
async function send(r: RawRequest, fuzzed = false): Promise<RawResponse> {
  stats.requests++;
  if (fuzzed) stats.fuzzRequests++;
  try {
    const res = await client.request({ timeoutMs: 60_000, maxHeaderSize: 1024 * 1024, ...r });
    if (res.ms > stats.slowest.ms) stats.slowest = { ms: Math.round(res.ms), what: `${r.method} ${truncate(r.path, 120)} → ${res.status}` };
    return res;
  } catch (e) {
    const proc = s.proc!;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const why = `the server died (exit ${proc.exitCode}, signal ${proc.signalCode}; ${(e as Error).message}) on ${describeRequest(r)}\nlast log lines:\n${s.logs.slice(-3000)}`;
      client.close();
      stats.restarts++;
      await s.restart();
      client = new RawClient(s);
      throw new Error(why);
    }
    throw new Error(`no answer (${(e as Error).message}) to ${describeRequest(r)}`);
  }
}

// ---- the properties every response has ----

const PRINTABLE = /^[\x20-\x7e]*$/;
const WARNING = /^299 - "(?:[^"\\]|\\.)*"$/;

function checkResponse(r: RawRequest, res: RawResponse, o: { watch?: boolean; textErrors?: boolean } = {}): void {
  const where = () => `${describeRequest(r)} ${describeResponse(res)}`;
  stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
  // No 5xx, except kube's own answer to a resourceVersion from the future.
  if (res.status >= 500) {
    let st: any;
    try {
      st = res.json();
    } catch {
      /* judged below */
    }
    const tooLargeRV = res.status === 504 && st?.reason === 'Timeout' && st?.details?.causes?.some((c: any) => c.reason === 'ResourceVersionTooLarge');
    assert.ok(tooLargeRV, `5xx: ${where()}`);
  }
  // Every error is a metav1.Status with the HTTP status as its code.
  if ((res.status < 200 || res.status >= 300) && !o.textErrors) {
    let st: any;
    assert.doesNotThrow(() => (st = res.json()), `an error body that is not JSON: ${where()}`);
    assert.equal(st?.kind, 'Status', `an error that is not a Status: ${where()}`);
    assert.equal(st?.apiVersion, 'v1', `Status apiVersion: ${where()}`);
    assert.equal(st?.status, 'Failure', `Status status: ${where()}`);
    assert.equal(st?.code, res.status, `Status code ≠ HTTP status: ${where()}`);
    assert.equal(typeof st?.message, 'string', `Status without a message: ${where()}`);
  } else if (!o.watch && !res.cut && String(res.headers['content-type'] ?? '').startsWith('application/json') && res.body.length) {
    assert.doesNotThrow(() => res.json(), `a 2xx application/json body that is not JSON: ${where()}`);
  }
  // Headers: printable, and Warnings escaped and bounded the way kube's warning recorder bounds them:
  // once the texts pass 4,096 characters each is cut to 256 and none is added past 4,096, so the
  // texts total at most 4,096 + 256; with the `299 - "…"` around each, well under the 16 KiB clients read.
  let warningText = 0;
  let warningBytes = 0;
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const [name, v] = [res.rawHeaders[i], res.rawHeaders[i + 1]];
    assert.ok(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name), `header name ${JSON.stringify(name)}: ${where()}`);
    assert.ok(/^[\t\x20-\x7e\x80-\xff]*$/.test(v), `header ${name} has control characters: ${where()}`);
    if (name.toLowerCase() === 'warning') {
      assert.ok(PRINTABLE.test(v), `Warning header is not printable ASCII: ${JSON.stringify(truncate(v, 300))} on ${where()}`);
      assert.ok(WARNING.test(v), `Warning header is not 299 - "…": ${JSON.stringify(truncate(v, 300))} on ${where()}`);
      warningText += v.length - '299 - ""'.length;
      warningBytes += v.length;
    }
  }
  assert.ok(warningText <= 4096 + 256, `Warning texts total ${warningText} > 4,096 + 256 characters: ${where()}`);
  assert.ok(warningBytes <= 8192, `Warning headers total ${warningBytes} > 8 KiB: ${where()}`);
}

async function checkAlive(): Promise<void> {
  const p = s.proc!;
  assert.ok(p.exitCode === null && p.signalCode === null, `the server is not running (exit ${p.exitCode}, signal ${p.signalCode})`);
  const res = await send({ method: 'GET', path: '/readyz' });
  stats.readyzWorstMs = Math.max(stats.readyzWorstMs, Math.round(res.ms));
  assert.equal(res.status, 200, `/readyz: ${res.status} ${res.text()}`);
  assert.ok(res.ms <= READYZ_MS, `/readyz took ${Math.round(res.ms)} ms (> ${READYZ_MS} ms)`);
}

// ---- objects to work on ----

async function getObject(plural: string, name: string, ns = NS): Promise<{ status: number; obj?: any; res: RawResponse }> {
  const r = { method: 'GET', path: item(plural, name, ns) };
  const res = await send(r);
  checkResponse(r, res);
  return { status: res.status, obj: res.status === 200 ? res.json() : undefined, res };
}

async function createValid(kind: number, ns = NS): Promise<string> {
  const k = KINDS[kind];
  const name = fresh();
  const r = { method: 'POST', path: collection(k.plural, ns), headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(validObject(k, name)) };
  const res = await send(r);
  checkResponse(r, res);
  assert.equal(res.status, 201, `creating a valid ${k.kind}: ${describeResponse(res)}`);
  acknowledged.add(ackKey(k.plural, ns, name));
  return name;
}

/** A live, non-terminating object of the kind: the pool's, or a new one. */
async function target(kind: number): Promise<{ name: string; obj: any }> {
  const plural = KINDS[kind].plural;
  const name = pool.get(kind);
  if (name) {
    const got = await getObject(plural, name);
    if (got.status === 200 && !got.obj.metadata.deletionTimestamp) return { name, obj: got.obj };
    assert.ok(got.status === 200 || got.status === 404, `reading the pool's ${plural}/${name}: ${describeResponse(got.res)}`);
  }
  const created = await createValid(kind);
  pool.set(kind, created);
  const got = await getObject(plural, created);
  assert.equal(got.status, 200, `reading back ${plural}/${created}: ${describeResponse(got.res)}`);
  return { name: created, obj: got.obj };
}

// ---- from a case to a request ----

const isDryRun = (q: [string, string][]) => q.some(([k]) => k === 'dryRun');

function headersFor(d: CaseDesc, contentType: string | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  const ct = d.headers.contentType === undefined ? contentType : d.headers.contentType;
  if (ct) h['Content-Type'] = ct;
  if (d.headers.accept !== undefined) h.Accept = d.headers.accept;
  for (const [k, v] of d.headers.extra) h[k] = v;
  return h;
}

/** The DeleteOptions body, and whether it asks for a dry run (after the mutations: they may drop it). */
function deleteBody(b: DeleteBodyDesc, current: any): { body: Buffer | undefined; dry: boolean } {
  if (b.t === 'none') return { body: undefined, dry: false };
  if (b.t === 'value') return { body: encodeJSON(value(b.v)), dry: false };
  const opts: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  const pre: Record<string, unknown> = {};
  const pick = (p: typeof b.uid, right: unknown) => (p === 'right' ? right : p === 'wrong' ? '00000000-0000-0000-0000-000000000000' : p === 'none' ? undefined : value(p));
  if (b.uid !== 'none') pre.uid = pick(b.uid, current?.metadata?.uid);
  if (b.rv !== 'none') pre.resourceVersion = pick(b.rv, current?.metadata?.resourceVersion);
  if (Object.keys(pre).length) opts.preconditions = pre;
  if (b.policy !== undefined) opts.propagationPolicy = b.policy;
  if (b.grace !== undefined) opts.gracePeriodSeconds = value(b.grace);
  if (b.dryRun) opts.dryRun = ['All'];
  mutate(opts, b.extra, fresh);
  return { body: encodeJSON(opts), dry: Array.isArray(opts.dryRun) && opts.dryRun.length > 0 };
}

type ApplyCase = Extract<CaseDesc, { verb: 'apply' | 'applyCreate' }>;
/** fieldManager and force, when the case has them, before the case's own query parameters. */
const applyParams = (d: ApplyCase): [string, string][] => [...(d.manager !== null ? [['fieldManager', d.manager] as [string, string]] : []), ...(d.force !== null ? [['force', d.force] as [string, string]] : [])];


/** The name of the object a 2xx write answered with, in whichever form the Accept header asked for. */
function createdName(res: RawResponse): string | undefined {
  const type = String(res.headers['content-type'] ?? '');
  let body: any;
  try {
    body = type.includes('yaml') ? yaml.load(res.text()) : res.json();
  } catch {
    return undefined;
  }
  if (body?.kind === 'Table') return body.rows?.[0]?.object?.metadata?.name ?? body.rows?.[0]?.cells?.[0];
  return typeof body?.metadata?.name === 'string' ? body.metadata.name : undefined;
}

async function runCase(c: Case): Promise<void> {
  const d = c.d;
  const k = KINDS[d.kind];
  stats.cases++;
  const q = queryString(d.query);
  const dry = isDryRun(d.query);
  const fail = (why: string, r: RawRequest, res: RawResponse) => assert.fail(`${why}: ${describeRequest(r)} ${describeResponse(res)}`);

  switch (d.verb) {
    case 'create':
    case 'applyCreate': {
      const name = fresh();
      const o = validObject(k, name);
      const made: string[] = [];
      const renamed = mutate(o, d.mutations, () => (made.push(fresh()), made[made.length - 1]));
      // A name this case made up can only be stored by this case; another ("null", say) may already exist.
      const ours = (n: string) => n === name || made.some((f) => n.toLowerCase().includes(f));
      const finalName = renamed ? renamed.name : name;
      // Whether the server must refuse it for its name: a create needs a valid one; an apply's body
      // may leave the name to the URL, but may not name another object.
      const badName =
        d.verb === 'create' ? (renamed ? (renamed.name === undefined ? undefined : !renamed.valid) : false) : renamed !== undefined && !!renamed.name && renamed.name !== name;
      const format: Format = d.format;
      const body = encodeBody(o, format, d.wrap);
      let r: RawRequest;
      if (d.verb === 'create') {
        r = { method: 'POST', path: collection(k.plural) + q, headers: headersFor(d, format === 'yaml' ? 'application/yaml' : 'application/json'), body };
      } else {
        r = { method: 'PATCH', path: item(k.plural, name) + queryString([...applyParams(d as ApplyCase), ...d.query]), headers: headersFor(d, 'application/apply-patch+yaml'), body };
      }
      const res = await send(r, true);
      checkResponse(r, res);
      const ok = res.status >= 200 && res.status < 300;
      if (ok && badName) fail(`accepted an object named ${JSON.stringify(truncate(String(finalName), 100))}${d.verb === 'create' ? ', not a DNS-1123 subdomain' : ` on the URL of ${name}`}`, r, res);
      if (ok && !dry) {
        acknowledged.add(ackKey(k.plural, NS, createdName(res) ?? finalName ?? ''));
        return;
      }
      // Rejected, or a dry run: nothing of it is stored.
      // (A name too long for a URL is left to the final check that everything stored was acknowledged.)
      const lookedUp = d.verb === 'applyCreate' ? name : finalName;
      if (lookedUp && lookedUp.length <= 1000 && ours(lookedUp)) {
        const got = await getObject(k.plural, lookedUp);
        if (badName === false || d.verb === 'applyCreate') assert.equal(got.status, 404, `${ok ? 'a dry-run' : 'a rejected'} create left ${k.plural}/${lookedUp} behind (GET → ${got.status}): ${describeRequest(r)} ${describeResponse(res)}`);
        else assert.ok(got.status >= 400, `a rejected create left ${k.plural}/${truncate(lookedUp, 100)} behind (GET → ${got.status}): ${describeRequest(r)} ${describeResponse(res)}`);
      }
      return;
    }

    case 'update':
    case 'status':
    case 'merge':
    case 'json':
    case 'apply':
    case 'strategic':
    case 'delete': {
      const { name, obj } = await target(d.kind);
      let r: RawRequest;
      let dryDelete = false;
      const path = item(k.plural, name);
      switch (d.verb) {
        case 'update':
        case 'status': {
          const o = structuredClone(obj);
          if (d.verb === 'status') o.status = k.status();
          mutate(o, d.mutations, fresh);
          r = {
            method: 'PUT',
            path: path + (d.verb === 'status' ? '/status' : '') + q,
            headers: headersFor(d, d.format === 'yaml' ? 'application/yaml' : 'application/json'),
            body: encodeBody(o, d.format, d.wrap),
          };
          break;
        }
        case 'merge': {
          const patch = d.top !== undefined ? value(d.top) : mergePatchBody(d.entries, obj);
          r = { method: 'PATCH', path: path + q, headers: headersFor(d, 'application/merge-patch+json'), body: encodeBody(patch, 'json', d.wrap) };
          break;
        }
        case 'strategic':
          r = { method: 'PATCH', path: path + q, headers: headersFor(d, 'application/strategic-merge-patch+json'), body: encodeBody(mergePatchBody(d.entries, obj), 'json', d.wrap) };
          break;
        case 'json':
          r = { method: 'PATCH', path: path + q, headers: headersFor(d, 'application/json-patch+json'), body: encodeBody(jsonPatchOps(d.ops, obj), 'json', d.wrap) };
          break;
        case 'apply': {
          const o = validObject(k, name);
          mutate(o, d.mutations, fresh);
          r = { method: 'PATCH', path: path + queryString([...applyParams(d), ...d.query]), headers: headersFor(d, 'application/apply-patch+yaml'), body: encodeBody(o, d.format, d.wrap) };
          break;
        }
        case 'delete': {
          const { body, dry: bodyDry } = deleteBody(d.body, obj);
          dryDelete = bodyDry;
          r = { method: 'DELETE', path: path + q, headers: headersFor(d, 'application/json'), body };
          break;
        }
      }
      const res = await send(r, true);
      checkResponse(r, res);
      const ok = res.status >= 200 && res.status < 300;
      const ct = (r.headers?.['Content-Type'] ?? '').split(';')[0].trim().toLowerCase();
      if (ok && r.method === 'PATCH' && ct === 'application/strategic-merge-patch+json') fail('a strategic merge patch was accepted (kube answers 415 for custom resources)', r, res);
      const got = await getObject(k.plural, name);
      const dryRun = dry || dryDelete;
      if (!ok || dryRun) {
        // Nothing changed: same resourceVersion.
        assert.equal(got.status, 200, `the object is gone after ${ok ? 'a dry-run' : 'a rejected'} ${d.verb}: ${describeRequest(r)} ${describeResponse(res)} then GET ${describeResponse(got.res)}`);
        assert.equal(
          got.obj.metadata.resourceVersion,
          obj.metadata.resourceVersion,
          `${ok ? 'a dry-run' : 'a rejected'} ${d.verb} changed the object (resourceVersion ${obj.metadata.resourceVersion} → ${got.obj.metadata.resourceVersion}): ${describeRequest(r)} ${describeResponse(res)}`,
        );
      } else if (d.verb === 'delete') {
        assert.ok(got.status === 404 || (got.status === 200 && got.obj.metadata.deletionTimestamp), `deleted (${res.status}) but GET → ${got.status} without a deletionTimestamp`);
        pool.delete(d.kind);
      } else {
        assert.equal(got.status, 200, `the object is gone after a ${res.status} ${d.verb}: GET ${describeResponse(got.res)}`);
      }
      return;
    }

    case 'deletecollection': {
      // In a namespace of its own, so the pool survives; two objects to (maybe) delete.
      const listR = { method: 'GET', path: collection(k.plural, DC_NS) };
      const before = await send(listR);
      checkResponse(listR, before);
      for (let i = before.json().items.length; i < 2; i++) await createValid(d.kind, DC_NS);
      const snapshot = async () => {
        const l = await send(listR);
        checkResponse(listR, l);
        return l
          .json()
          .items.map((o: any) => `${o.metadata.name}@${o.metadata.resourceVersion}`)
          .sort();
      };
      const was = await snapshot();
      const { body, dry: bodyDry } = deleteBody(d.body, undefined);
      const r: RawRequest = { method: 'DELETE', path: collection(k.plural, DC_NS) + q, headers: headersFor(d, 'application/json'), body };
      const res = await send(r, true);
      checkResponse(r, res);
      const ok = res.status >= 200 && res.status < 300;
      if (!ok || dry || bodyDry) assert.deepEqual(await snapshot(), was, `${ok ? 'a dry-run' : 'a rejected'} deletecollection changed the collection: ${describeRequest(r)} ${describeResponse(res)}`);
      return;
    }

    case 'get':
    case 'list':
    case 'listAll':
    case 'watch': {
      let path: string;
      let query = d.query;
      if (d.verb === 'get') path = item(k.plural, (await target(d.kind)).name) + (d.sub ? `/${d.sub}` : '');
      else if (d.verb === 'listAll') path = `${API}/${k.plural}`;
      else path = collection(k.plural);
      if (d.verb === 'watch') query = [['watch', 'true'], ...query];
      // A `watch` parameter (the first one) other than 0/false makes a list a watch (kube's rule): read
      // those for a moment, then cut.
      const w = query.find(([key]) => key === 'watch')?.[1];
      const mayWatch = w !== undefined && w !== '0' && w.toLowerCase() !== 'false';
      const r: RawRequest = { method: 'GET', path: path + queryString(query), headers: headersFor(d, undefined), streamForMs: mayWatch ? 150 : undefined };
      const res = await send(r, true);
      checkResponse(r, res, { watch: mayWatch });
      if (mayWatch && d.verb !== 'get' && res.status === 200 && String(res.headers['content-type'] ?? '').startsWith('application/json')) {
        // Every complete line is a watch event; an ERROR event carries a Status that is no 5xx.
        const lines = res.text().split('\n');
        if (res.cut) lines.pop();
        for (const line of lines.filter((l) => l.trim())) {
          let ev: any;
          assert.doesNotThrow(() => (ev = JSON.parse(line)), `a watch line that is not JSON: ${truncate(line, 300)} on ${describeRequest(r)}`);
          assert.ok(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'].includes(ev.type), `watch event type ${ev.type} on ${describeRequest(r)}`);
          if (ev.type === 'ERROR') {
            assert.equal(ev.object?.kind, 'Status', `a watch ERROR that is not a Status: ${truncate(line, 300)}`);
            assert.ok(ev.object.code < 500, `a watch ERROR with code ${ev.object.code}: ${truncate(line, 500)} on ${describeRequest(r)}`);
          }
        }
      }
      return;
    }

    case 'burst': {
      // n loops of `rounds` valid merge patches each, all at once: every one is answered 200 and lands.
      const hr = KINDS.findIndex((x) => x.kind === 'HelmRelease');
      const names: string[] = [];
      for (let i = 0; i < d.n; i++) names.push(await createValid(hr));
      const results = await Promise.all(
        names.map(async (name) => {
          for (let round = 1; round <= d.rounds; round++) {
            const r: RawRequest = { method: 'PATCH', path: item('helmreleases', name), headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { values: { round, blob: 'b'.repeat(d.size) } } }) };
            try {
              const res = await send(r, true);
              checkResponse(r, res);
              if (res.status !== 200) return `${name} round ${round}: ${describeResponse(res)}`;
            } catch (e) {
              return `${name} round ${round}: ${(e as Error).message.slice(0, 300)}`;
            }
          }
          return '';
        }),
      );
      const lost = results.filter(Boolean);
      assert.deepEqual(lost, [], `${d.n} loops of ${d.rounds} concurrent ${d.size}-byte merge patches on kept-alive connections: ${lost.length} not answered 200: ${lost.map((l) => truncate(l, 400)).join(' | ')}`);
      for (const name of names) {
        const got = await getObject('helmreleases', name);
        assert.equal(got.obj?.spec?.values?.round, d.rounds, `${name} after the burst: ${describeResponse(got.res)}`);
      }
      return;
    }

    case 'odd': {
      const mayWatch = d.path.includes('/watch/') || d.query.some(([key]) => key === 'watch');
      const r: RawRequest = {
        method: d.method,
        path: d.path + (d.path.includes('?') ? '' : q),
        headers: headersFor(d, 'application/json'),
        body: d.method === 'GET' ? undefined : encodeBody(validObject(k, fresh()), 'json', d.wrap),
        streamForMs: mayWatch ? 150 : undefined,
      };
      const res = await send(r, true);
      // Outside /apis kube answers some errors in plain text (`404 page not found`): only the status and headers are judged there.
      checkResponse(r, res, { textErrors: !d.path.startsWith('/apis'), watch: mayWatch });
      // Should an odd path create something, it is acknowledged like any create (the final check counts it).
      if (res.status >= 200 && res.status < 300 && !mayWatch && ['POST', 'PUT', 'PATCH'].includes(d.method)) {
        try {
          const o = res.json();
          const kind = KINDS.find((x) => x.kind === o?.kind);
          if (kind && o.metadata?.name) acknowledged.add(ackKey(kind.plural, o.metadata.namespace, o.metadata.name));
        } catch {
          /* not an object */
        }
      }
      return;
    }
  }
}

const failures = new Map<string, { count: number; example: string }>();

/** The server's peak resident set (VmHWM), for the report: the run must not balloon it. */
function peakRssMiB(): string {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.proc!.pid}/status`, 'utf8'))?.[1];
    return kb ? String(Math.round(Number(kb) / 1024)) : '?';
  } catch {
    return '?';
  }
}

it(`fuzz: ${RUNS} generated requests, no 5xx, Status errors, nothing left behind by a rejected write, /readyz fast`, { timeout: TIME_LIMIT_MS + 120_000 }, async () => {
  const start = performance.now();
  let runs = 0;
  const report = () =>
    console.log(
      `fuzz: ${stats.cases} cases, ${stats.fuzzRequests} generated requests (${stats.requests} with the checks' own) in ${((performance.now() - start) / 1000).toFixed(1)} s; ` +
        `statuses ${JSON.stringify(Object.fromEntries([...stats.byStatus].sort((a, b) => a[0] - b[0])))}; slowest ${stats.slowest.ms} ms (${stats.slowest.what}); ` +
        `worst /readyz ${stats.readyzWorstMs} ms; restarts ${stats.restarts}; server peak RSS ${peakRssMiB()} MiB`,
    );
  try {
    await fc.assert(
      fc.asyncProperty(caseArbitrary, async (c) => {
        try {
          await runCase(c);
          if (++runs % 100 === 0) await checkAlive();
        } catch (e) {
          if (!KEEP_GOING) throw e;
          const message = (e as Error).message;
          // One example per kind of failure: the message's start, numbers and names blanked.
          const kind = message.split(/: (GET|PUT|POST|PATCH|DELETE) /)[0].replace(/\d+/g, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 120);
          const seen = failures.get(kind);
          if (seen) seen.count++;
          else failures.set(kind, { count: 1, example: `${fc.stringify(c)}\n${truncate(message, 2500)}` });
        }
      }),
      { seed: SEED, numRuns: RUNS, ...(PATH ? { path: PATH } : {}), includeErrorInReport: true, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
    );
    if (failures.size) {
      const listing = [...failures].map(([kind, f]) => `--- ${f.count} × ${kind}\n${f.example}`).join('\n\n');
      assert.fail(`${failures.size} kinds of failure in ${stats.cases} cases (FUZZ_SEED=${SEED}):\n${listing}`);
    }
    await checkAlive();

    // Nothing is stored that no 2xx write created, and everything stored reads back.
    for (const k of KINDS) {
      const r = { method: 'GET', path: `${API}/${k.plural}` };
      const res = await send(r);
      checkResponse(r, res);
      assert.equal(res.status, 200);
      for (const o of res.json().items) {
        const key = ackKey(k.plural, o.metadata.namespace, o.metadata.name);
        assert.ok(acknowledged.has(key), `${key} is stored, but no write that created it was acknowledged`);
        assert.match(o.metadata.uid, /^[0-9a-f-]{36}$/, key);
        assert.match(o.metadata.resourceVersion, /^\d+$/, key);
        const got = await getObject(k.plural, o.metadata.name, o.metadata.namespace);
        assert.equal(got.status, 200, `${key} is listed but does not read back: ${describeResponse(got.res)}`);
      }
    }
  } finally {
    report();
  }
});
