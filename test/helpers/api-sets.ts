// API sets: the suites of test/api that hold for any kube-style API (REST, kubectl, bad input, crash)
// run over each set in API_SETS, as kysely runs one suite over its dialects. A set says how to start
// its server (in the test's process where it can be, as a child process for kill -9), how to reach it
// (kubeconfig, HTTPS as admin, kubectl) and which of its kinds stands for "a namespaced kind", with
// everything a suite needs to make, change, break and recognise one. Messages, columns and
// subresources differ from kind to kind; the suites read them from here rather than weakening what
// they assert.
//
//   gitops      the gitops server (src/main.ts, TestServer), gitops.toolkit/v1 GitRepository
//   local-cluster  the local cluster (src/cluster, TestCluster in-process, src/cluster/main.ts as a
//                  process), apps/v1 Deployment: a built-in kind with status and scale subresources

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, TestServer, type HttpResult, type KubectlResult } from './server.js';
import { kubectl } from './run.js';
import { httpsCall } from './https.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Obj = Record<string, any>;

export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Another client certificate, or none (`null`); the admin's otherwise. */
  cert?: { cert: string; key: string } | null;
}

export interface KubectlOptions {
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** A running server of one API set, reached as its admin. */
export interface Target {
  readonly port: number;
  readonly url: string;
  /** The admin kubeconfig. */
  readonly kubeconfig: string;
  /** A scratch directory of the test's own, removed by stop(). */
  readonly dir: string;
  readonly caCert: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** A raw HTTPS request, as admin unless `o.cert` says otherwise. No Accept header unless given. */
  request(method: string, path: string, o?: RequestOptions): Promise<HttpResult>;
  /** The real kubectl with the admin kubeconfig; `o.input` on stdin. */
  kubectl(args: string[], o?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl that must succeed; its stdout. */
  k(args: string[], o?: KubectlOptions): Promise<string>;
  /** Makes the namespace exist where namespaces are objects (the cluster); nothing on the gitops server. */
  ensureNamespace(ns: string): Promise<void>;
  stop(): Promise<void>;
}

/** A server in a child process of its own, on data kept across restarts. */
export interface ProcessTarget extends Target {
  /** (Re)starts the process on the same port and directories. */
  restart(): Promise<void>;
  /** SIGKILL: no chance to flush anything. */
  kill9(): Promise<void>;
}

export interface StartOptions {
  /** Revisions of history kept, and how often compaction runs. */
  compaction?: { window: number; intervalMs: number };
  /** How long an idle watch that asked for bookmarks waits for one. */
  bookmarkIntervalMs?: number;
}

/** The kind a suite exercises: one namespaced kind of the set, and what the suites need of it. */
export interface KindUnderTest {
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  plural: string;
  singular: string;
  shortName: string;
  /** `/apis/<group>/<version>`, or `/api/v1` for the core group. */
  groupVersionPath: string;
  /** kubectl's name for an object of the kind: `<singular>.<group>/<name>`. */
  ref(name: string): string;
  collection(ns: string): string;
  /** The collection across namespaces. */
  all: string;
  /** A valid object; `n` picks the value of the spec field below (1 when not given). */
  make(name: string, n?: number): Obj;
  /** A top-level field of spec whose value the tests change: value(n) for n = 1, 2, ... */
  specField: { name: string; value(n: number): string | number };
  /** A value the maker derives from the name: how a suite knows an object is the one made for it. */
  mark(o: Obj): unknown;
  markOf(name: string): unknown;
  /** Whether writes to spec bump metadata.generation (every custom resource, kube's apps kinds). */
  generation: boolean;
  /** What status a create leaves when the client sent one (a status subresource resets it). */
  createdStatus: unknown;
  /** The subresources discovery lists, sorted. */
  subresources: string[];
  /** Another kind of the same group and version (a wrong kind for this collection). */
  otherKind: string;
  /** A field path the schema does not have, below spec. */
  unknownField: string;
  /** A field selector the kind does not support. */
  unsupportedFieldSelector: string;
  /** An object refused with 422, and the fields the refusal names. */
  invalid: { make(name: string): Obj; fields: string[] };
  /** Server-side Table: the first two column names, kubectl's header, what a fresh object's row reads (from its name on), a column of -o wide. */
  table: { first: [string, string]; header: RegExp; row(name: string): RegExp; wideColumn: string };
  /** A boolean field of spec, set by a merge patch. */
  flag: { patch: Obj; check(o: Obj): boolean };
  /** A nested string replaced by a JSON patch. */
  jsonPatch: { patch: Obj[]; check(o: Obj): boolean };
  /** A strategic merge patch and what it must do, or null where it is refused with 415 (custom resources). */
  strategic: { patch: Obj; check(o: Obj): boolean } | null;
  /** A status that satisfies `kubectl wait --for=condition=<condition>`, and the row showing it. */
  ready: { condition: string; status(o: Obj): Obj; row(name: string): RegExp };
  /** The category kubectl can get the kind by. */
  category: string;
  openapi: { v3Schema: string; described: string[]; v2Definition: string; patchTypes: string[] };
  /** Whether `Accept: application/vnd.kubernetes.protobuf` is served (kube: built-in kinds only). */
  protobuf: boolean;
}

/** What a kubectl suite checks of `kubectl api-resources` and `kubectl explain`. */
export interface KubectlFacts {
  apiGroup: string;
  /** name, short name ('' for none), kind, category ('' for none) */
  resources: [string, string, string, string][];
  /** `explain` of a nested object: its path, the FIELD line, and child fields with their types. */
  explain: { path: string; field: string; children: [string, string][]; labelsOf: string };
  /** `explain --output=plaintext-openapiv2`, which reads /openapi/v2 in protobuf. */
  explainV2: { path: string; kind: string; version: string; children: [string, string][]; labelsOf: string };
}

/** The large objects of the crash suite: ~1 MB values, changed by merge patches. */
export interface BigObjects {
  collection: string;
  make(name: string, gen: number, blob: string): Obj;
  patch(gen: number, blob: string): Obj;
  read(o: Obj): { gen: unknown; blob: unknown };
  /** Something of the object the patches leave alone. */
  unchanged(o: Obj): boolean;
}

export interface ApiSet {
  name: string;
  start(o?: StartOptions): Promise<Target>;
  startProcess(): Promise<ProcessTarget>;
  kind: KindUnderTest;
  kubectl: KubectlFacts;
  big: BigObjects;
}

// ---- clients -------------------------------------------------------------------------------

function httpsRequest(t: { port: number; caCert: string; adminCert: string; adminKey: string }, method: string, path: string, o: RequestOptions = {}): Promise<HttpResult> {
  const cert = o.cert === undefined ? { cert: t.adminCert, key: t.adminKey } : o.cert;
  const headers = { ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...o.headers };
  return httpsCall(new URL(path, `https://127.0.0.1:${t.port}`), { method, ca: t.caCert, cert, headers, body: o.body });
}

function runKubectl(kubeconfig: string, args: string[], o: KubectlOptions = {}): Promise<KubectlResult> {
  return kubectl(kubeconfig, args, { ...o, timeoutMs: o.timeoutMs ?? 30_000 });
}

async function mustKubectl(t: Target, args: string[], o?: KubectlOptions): Promise<string> {
  const r = await t.kubectl(args, o);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The gitops server: TestServer, a process already, so the same target serves both needs. */
function gitopsTarget(s: TestServer): ProcessTarget {
  return {
    get port() {
      return s.port;
    },
    get url() {
      return s.url;
    },
    kubeconfig: s.kubeconfig,
    dir: s.dir,
    get caCert() {
      return s.caCert;
    },
    get adminCert() {
      return s.adminCert;
    },
    get adminKey() {
      return s.adminKey;
    },
    request: (method, path, o) => s.request(method, path, o),
    kubectl: (args, o) => s.kubectl(args, o),
    k(args, o) {
      return mustKubectl(this, args, o);
    },
    ensureNamespace: async () => undefined,
    stop: () => s.cleanup(),
    restart: () => s.restart(),
    kill9: () => s.kill9(),
  };
}

/** Namespaces the cluster was asked for; a 409 means one is there already. */
async function createNamespace(t: Target, ns: string): Promise<void> {
  const r = await t.request('POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }) });
  if (r.status !== 201 && r.status !== 409) throw new Error(`namespace ${ns}: ${r.status} ${r.body}`);
}

/** The local cluster in the test's process (TestCluster). */
async function clusterTarget(o: StartOptions): Promise<Target> {
  // Imported when used: a file that runs the cluster only as a process does not load it in its own.
  const { TestCluster } = await import('./local-cluster.js');
  const c = await TestCluster.start({
    ...(o.compaction ? { compactionWindow: o.compaction.window, compactionIntervalMs: o.compaction.intervalMs } : {}),
    ...(o.bookmarkIntervalMs ? { watchBookmarkIntervalMs: o.bookmarkIntervalMs } : {}),
  });
  const certs = c.cluster.certs;
  const namespaces = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
  const t: Target = {
    port: c.cluster.port,
    url: c.url,
    kubeconfig: c.kubeconfig,
    dir: c.dir,
    caCert: certs.caCert,
    adminCert: certs.adminCert,
    adminKey: certs.adminKey,
    request: (method, path, ro) => httpsRequest(t, method, path, ro),
    kubectl: (args, ko) => runKubectl(c.kubeconfig, args, ko),
    k: (args, ko) => mustKubectl(t, args, ko),
    async ensureNamespace(ns) {
      if (namespaces.has(ns)) return;
      await createNamespace(t, ns);
      namespaces.add(ns);
    },
    stop: () => c.stop(),
  };
  return t;
}

/** `node --import tsx src/cluster/main.ts` on a free port and temporary directories, restartable on them. */
class ClusterProcess implements ProcessTarget {
  proc?: ChildProcess;
  port = 0;
  logs = '';
  caCert = '';
  adminCert = '';
  adminKey = '';
  private readonly namespaces = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

  constructor(readonly dir: string) {}

  get url() {
    return `https://127.0.0.1:${this.port}`;
  }
  get kubeconfig() {
    return join(this.dir, 'certs', 'kubeconfig');
  }

  async restart(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const args = ['--import', 'tsx', join(ROOT, 'src', 'cluster', 'main.ts'), '--secure-port', String(this.port), '--data-dir', join(this.dir, 'data'), '--cert-dir', join(this.dir, 'certs'), '--log-level', 'warn'];
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    this.proc = proc;
    proc.stdout!.on('data', (d) => (this.logs += d));
    proc.stderr!.on('data', (d) => (this.logs += d));
    const from = this.logs.length; // a killed predecessor's output holds the marker already
    const deadline = Date.now() + 60_000;
    while (this.logs.indexOf('kubeconfig: ', from) < 0) {
      if (proc.exitCode !== null) throw new Error(`local cluster exited with ${proc.exitCode}:\n${this.logs}`);
      if (Date.now() > deadline) throw new Error(`local cluster did not start in time:\n${this.logs}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const read = (f: string) => readFile(join(this.dir, 'certs', f), 'utf8');
    [this.caCert, this.adminCert, this.adminKey] = await Promise.all([read('ca.crt'), read('admin.crt'), read('admin.key')]);
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  request(method: string, path: string, o?: RequestOptions): Promise<HttpResult> {
    return httpsRequest(this, method, path, o);
  }
  kubectl(args: string[], o?: KubectlOptions): Promise<KubectlResult> {
    return runKubectl(this.kubeconfig, args, o);
  }
  k(args: string[], o?: KubectlOptions): Promise<string> {
    return mustKubectl(this, args, o);
  }
  async ensureNamespace(ns: string): Promise<void> {
    if (this.namespaces.has(ns)) return;
    await createNamespace(this, ns);
    this.namespaces.add(ns);
  }
}

/**
 * One server per set for a whole test file, all started at once on first use (a child process and an
 * in-process cluster start side by side), each awaited by its set's describe. Call at the top level
 * of the file: every server started is stopped after the file's tests, also those of a set whose
 * tests did not run.
 */
export function serverPerSet<T extends Target>(start: (set: ApiSet) => Promise<T>, sets: ApiSet[] = API_SETS): (set: ApiSet) => Promise<T> {
  let started: Map<ApiSet, Promise<T>> | undefined;
  after(async () => {
    if (started) await Promise.all([...started.values()].map((p) => p.then((t) => t.stop(), () => undefined)));
  });
  return (set) => {
    if (!started) {
      started = new Map(sets.map((x) => [x, start(x)]));
      // Only the set's own describe reports its start failing; the others must not be unhandled meanwhile.
      for (const p of started.values()) p.catch(() => undefined);
    }
    const p = started.get(set);
    if (!p) throw new Error(`${set.name} is not one of the sets given to serverPerSet`);
    return p;
  };
}

// ---- the sets ------------------------------------------------------------------------------

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const gitRepository: KindUnderTest = {
  group: 'gitops.toolkit',
  version: 'v1',
  apiVersion: 'gitops.toolkit/v1',
  kind: 'GitRepository',
  plural: 'gitrepositories',
  singular: 'gitrepository',
  shortName: 'gitrepo',
  groupVersionPath: '/apis/gitops.toolkit/v1',
  ref: (name) => `gitrepository.gitops.toolkit/${name}`,
  collection: (ns) => `/apis/gitops.toolkit/v1/namespaces/${ns}/gitrepositories`,
  all: '/apis/gitops.toolkit/v1/gitrepositories',
  make: (name, n = 1) => ({
    apiVersion: 'gitops.toolkit/v1',
    kind: 'GitRepository',
    metadata: { name },
    spec: { interval: `${n}m`, url: `https://example.com/${name}.git`, ref: { branch: 'master' } },
  }),
  specField: { name: 'interval', value: (n) => `${n}m` },
  mark: (o) => o.spec?.url,
  markOf: (name) => `https://example.com/${name}.git`,
  generation: true,
  createdStatus: { observedGeneration: -1 }, // the status sent is dropped; only the schema default remains
  subresources: ['artifact', 'status'],
  otherKind: 'Kustomization',
  unknownField: 'spec.colour',
  unsupportedFieldSelector: 'spec.url',
  invalid: {
    make: (name) => ({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name }, spec: { interval: 'often', url: 'ftp://example.com/repo', ref: { semver: '>>1.0' } } }),
    fields: ['spec.interval', 'spec.url'],
  },
  table: { first: ['Name', 'URL'], header: /^NAME\s+URL\s+AGE\s+READY\s+STATUS/, row: (name) => new RegExp(`${esc(name)}\\s+https://example\\.com/${esc(name)}\\.git\\s+\\d+s`), wideColumn: 'REVISION' },
  flag: { patch: { spec: { suspend: true } }, check: (o) => o.spec.suspend === true },
  jsonPatch: { patch: [{ op: 'replace', path: '/spec/ref/branch', value: 'main' }], check: (o) => o.spec.ref.branch === 'main' },
  strategic: null,
  ready: {
    condition: 'Ready',
    status: (o) => ({
      observedGeneration: o.metadata.generation,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'stored artifact for revision main@sha1:abc', lastTransitionTime: now(), observedGeneration: o.metadata.generation },
      ],
    }),
    row: (name) => new RegExp(`${esc(name)}\\s+\\S+\\s+\\S+\\s+True\\s+stored artifact`),
  },
  category: 'gitops',
  openapi: {
    v3Schema: 'toolkit.gitops.v1.GitRepository',
    described: ['spec', 'ref'],
    v2Definition: 'toolkit.gitops.v1.HelmRelease',
    patchTypes: ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'],
  },
  protobuf: false,
};

const now = () => new Date().toISOString().replace(/\.\d+Z/, 'Z');

const deploymentOf = (name: string, replicas: number, env?: { name: string; value: string }[]) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'demo' } },
    template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'app', image: `example.com/${name || 'generated'}:1`, ...(env ? { env } : {}) }] } },
  },
});

const deployment: KindUnderTest = {
  group: 'apps',
  version: 'v1',
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  shortName: 'deploy',
  groupVersionPath: '/apis/apps/v1',
  ref: (name) => `deployment.apps/${name}`,
  collection: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  all: '/apis/apps/v1/deployments',
  make: (name, n = 1) => deploymentOf(name, n),
  specField: { name: 'replicas', value: (n) => n },
  mark: (o) => o.spec?.template?.spec?.containers?.[0]?.image,
  markOf: (name) => `example.com/${name}:1`,
  generation: true,
  // kube's Deployment strategy resets status on create (apps.DeploymentStatus{}), serialized as {}.
  createdStatus: {},
  subresources: ['scale', 'status'],
  otherKind: 'StatefulSet',
  unknownField: 'spec.colour',
  unsupportedFieldSelector: 'spec.replicas',
  invalid: {
    make: (name) => {
      const d = deploymentOf(name, -1);
      d.spec.template.metadata.labels = { app: 'other' };
      return d;
    },
    fields: ['spec.replicas', 'spec.template.metadata.labels'],
  },
  table: { first: ['Name', 'Ready'], header: /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/, row: (name) => new RegExp(`${esc(name)}\\s+0/\\d+\\s+0\\s+0\\s+\\d+s`), wideColumn: 'CONTAINERS' },
  flag: { patch: { spec: { paused: true } }, check: (o) => o.spec.paused === true },
  jsonPatch: { patch: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'example.com/main:2' }], check: (o) => o.spec.template.spec.containers[0].image === 'example.com/main:2' },
  // Merged by the containers' patch merge key (name): the image stays, the env is added.
  strategic: {
    patch: { spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }] }] } } } },
    check: (o) => {
      const cs = o.spec.template.spec.containers;
      return cs.length === 1 && cs[0].image === 'example.com/main:2' && cs[0].env?.[0]?.value === '1';
    },
  },
  ready: {
    condition: 'Available',
    status: (o) => {
      const n = o.spec.replicas;
      return {
        observedGeneration: o.metadata.generation,
        replicas: n,
        updatedReplicas: n,
        readyReplicas: n,
        availableReplicas: n,
        conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastTransitionTime: now(), lastUpdateTime: now() }],
      };
    },
    row: (name) => new RegExp(`${esc(name)}\\s+(\\d+)/\\1\\s+\\1\\s+\\1\\s`),
  },
  category: 'all',
  openapi: {
    v3Schema: 'io.k8s.api.apps.v1.Deployment',
    described: ['spec'],
    v2Definition: 'io.k8s.api.apps.v1.StatefulSet',
    patchTypes: ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'],
  },
  protobuf: true,
};

export const GITOPS: ApiSet = {
  name: 'gitops.toolkit/v1 GitRepository on the gitops server',
  async start(o = {}) {
    const args = ['--controllers=']; // API semantics only: no reconciler touching the objects
    if (o.compaction) args.push('--compaction-window', String(o.compaction.window), '--compaction-interval', `${o.compaction.intervalMs}ms`);
    if (o.bookmarkIntervalMs) args.push('--watch-bookmark-interval', `${o.bookmarkIntervalMs}ms`);
    return gitopsTarget(await TestServer.start(args));
  },
  async startProcess() {
    return gitopsTarget(await TestServer.start(['--controllers=']));
  },
  kind: gitRepository,
  kubectl: {
    apiGroup: 'gitops.toolkit',
    resources: [
      ['gitrepositories', 'gitrepo', 'GitRepository', 'gitops'],
      ['ocirepositories', 'ocirepo', 'OCIRepository', 'gitops'],
      ['helmrepositories', 'helmrepo', 'HelmRepository', 'gitops'],
      ['helmcharts', 'hc', 'HelmChart', 'gitops'],
      ['buckets', '', 'Bucket', 'gitops'],
      ['kustomizations', 'ks', 'Kustomization', 'gitops'],
      ['helmreleases', 'hr', 'HelmRelease', 'gitops'],
    ],
    explain: { path: 'gitrepository.spec.ref', field: 'ref <Object>', children: ['branch', 'tag', 'semver', 'name', 'commit'].map((f) => [f, 'string']), labelsOf: 'kustomization' },
    explainV2: { path: 'helmrelease.spec.chart.spec.sourceRef', kind: 'HelmRelease', version: 'gitops.toolkit/v1', children: ['kind', 'name', 'namespace'].map((f) => [f, 'string']), labelsOf: 'gitrepository' },
  },
  big: {
    collection: '/apis/gitops.toolkit/v1/namespaces/default/helmreleases',
    make: (name, gen, blob) => ({
      apiVersion: 'gitops.toolkit/v1',
      kind: 'HelmRelease',
      metadata: { name },
      spec: { interval: '10m', chart: { spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } } }, values: { gen, blob } },
    }),
    patch: (gen, blob) => ({ spec: { values: { gen, blob } } }),
    read: (o) => ({ gen: o.spec?.values?.gen, blob: o.spec?.values?.blob }),
    unchanged: (o) => o.spec?.interval === '10m',
  },
};

// A Deployment's large value: an env var of its container (kube limits annotations to 256 KiB and
// ConfigMaps to 1 MiB, but not an env value). A merge patch replaces the containers list whole.
const bigContainers = (gen: number, blob: string) => [
  {
    name: 'app',
    image: 'example.com/big:1',
    env: [
      { name: 'GEN', value: String(gen) },
      { name: 'BLOB', value: blob },
    ],
  },
];

export const LOCAL_CLUSTER: ApiSet = {
  name: 'apps/v1 Deployment on the local cluster',
  start: (o = {}) => clusterTarget(o),
  async startProcess() {
    const p = new ClusterProcess(await mkdtemp(join(tmpdir(), 'gitops-local-cluster-proc-')));
    await p.restart();
    return p;
  },
  kind: deployment,
  kubectl: {
    apiGroup: 'apps',
    resources: [
      ['deployments', 'deploy', 'Deployment', 'all'],
      ['statefulsets', 'sts', 'StatefulSet', 'all'],
      ['daemonsets', 'ds', 'DaemonSet', 'all'],
      ['replicasets', 'rs', 'ReplicaSet', 'all'],
    ],
    explain: {
      path: 'deployment.spec.strategy',
      field: 'strategy <DeploymentStrategy>',
      children: [
        ['rollingUpdate', 'RollingUpdateDeployment'],
        ['type', 'string'],
      ],
      labelsOf: 'statefulset',
    },
    explainV2: {
      path: 'deployment.spec.selector',
      kind: 'Deployment',
      version: 'apps/v1',
      children: [
        ['matchExpressions', '[]Object'],
        ['matchLabels', 'map[string]string'],
      ],
      labelsOf: 'deployment',
    },
  },
  big: {
    collection: '/apis/apps/v1/namespaces/default/deployments',
    make: (name, gen, blob) => {
      const d = deploymentOf(name, 1);
      (d.spec.template.spec as Obj).containers = bigContainers(gen, blob);
      return d;
    },
    patch: (gen, blob) => ({ spec: { template: { spec: { containers: bigContainers(gen, blob) } } } }),
    read: (o) => {
      const env = (o.spec?.template?.spec?.containers?.[0]?.env ?? []) as { name: string; value: string }[];
      const gen = env.find((e) => e.name === 'GEN')?.value;
      return { gen: gen === undefined ? undefined : Number(gen), blob: env.find((e) => e.name === 'BLOB')?.value };
    },
    unchanged: (o) => o.spec?.replicas === 1 && o.spec?.selector?.matchLabels?.app === 'demo',
  },
};

export const API_SETS: ApiSet[] = [GITOPS, LOCAL_CLUSTER];
