// The Kustomization test bed: `npm start` as a user runs it (the server with its embedded local
// cluster, through which everything is applied and read with the real kubectl), a Git server (the
// real git http-backend), and shorthands for the story's steps: a source and a Kustomization applied
// together, waits on conditions, reconcile requests, and the cluster's objects read back.

import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { GitServer } from './git-server.js';
import { TestServer } from './server.js';
import { kubectl as runKubectl, type RunResult } from './run.js';
import { eventually } from './eventually.js';

/** A Deployment of two replicas of `image` in namespace default, selecting `app: <name>`. */
export const deploymentYaml = (name: string, image = 'nginx:1.27') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: web, image: "${image}"}]}
`;

export interface BedOptions {
  /** Extra server flags (e.g. `--simulate-workloads` is a local-cluster flag: see localClusterArgs). */
  serverArgs?: string[];
}

export class KustomizationBed {
  private constructor(
    readonly server: TestServer,
    readonly git: GitServer,
    /** certs/local-cluster.kubeconfig: the cluster's admin, as the README tells users. */
    readonly kubeconfig: string,
  ) {}

  static async start(o: BedOptions = {}): Promise<KustomizationBed> {
    const git = await GitServer.start();
    const server = await TestServer.start(['--local-cluster=true', '--local-cluster-port', '0', ...(o.serverArgs ?? [])]);
    // The server prints this line after the one TestServer waits for, maybe in a later chunk.
    const kubeconfig = await eventually(() => /local-cluster kubeconfig: (.+)\n/.exec(server.logs)?.[1], 10_000, () => `no local-cluster kubeconfig line:\n${server.logs}`);
    return new KustomizationBed(server, git, kubeconfig);
  }

  async stop(): Promise<void> {
    await this.server?.cleanup();
    await this.git?.stop();
  }

  /** kubectl against the local cluster; the result whatever the exit code. */
  run(args: string[], input = '', as?: string): Promise<RunResult> {
    return runKubectl(this.kubeconfig, as ? [...args, `--as=${as}`] : args, { input });
  }

  /** kubectl against the local cluster; stdout, asserting success. */
  async k(args: string[], input = ''): Promise<string> {
    const r = await this.run(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  async apply(docs: object | object[] | string): Promise<void> {
    const text = typeof docs === 'string' ? docs : (Array.isArray(docs) ? docs : [docs]).map((d) => yaml.dump(d)).join('---\n');
    await this.k(['apply', '-f', '-'], text);
  }

  /** A repo with `files` and a GitRepository `name` on its main branch (interval 1h: tests ask for reconciles). */
  async source(name: string, files: Record<string, string>, namespace = 'default'): Promise<void> {
    await this.git.createRepo(name, { files });
    await this.apply({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name, namespace }, spec: { interval: '1h', url: this.git.url(name), ref: { branch: 'main' } } });
  }

  /** A Kustomization `name` from GitRepository `source` (default: the same name), spec merged over the defaults. */
  async kustomization(name: string, spec: Record<string, unknown> = {}, namespace = 'default'): Promise<void> {
    await this.apply({
      apiVersion: 'gitops.toolkit/v1',
      kind: 'Kustomization',
      metadata: { name, namespace },
      spec: { interval: '1h', path: './', prune: true, sourceRef: { kind: 'GitRepository', name }, ...spec },
    });
  }

  /** Commits to the repo and has its GitRepository fetch now; resolves once the new revision is its artifact. */
  async push(repo: string, files: Record<string, string>, o: { remove?: string[]; namespace?: string } = {}): Promise<string> {
    const sha = await this.git.commit(repo, files, { remove: o.remove });
    await this.requestReconcile('gitrepository', repo, o.namespace);
    await eventually(async () => (await this.get('gitrepository', repo, o.namespace)).status?.artifact?.revision?.endsWith(sha), 30_000, () => `GitRepository ${repo} did not fetch ${sha}`);
    return sha;
  }

  async requestReconcile(kind: string, name: string, namespace = 'default'): Promise<void> {
    await this.k(['annotate', '-n', namespace, `${kind}/${name}`, '--overwrite', `gitops.toolkit/requestedAt=${Date.now()}-${Math.random()}`]);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of arbitrary objects
  async get(kind: string, name: string, namespace = 'default'): Promise<any> {
    return JSON.parse(await this.k(['get', '-n', namespace, `${kind}/${name}`, '-o', 'json']));
  }

  /** Whether `kind/name` exists in the cluster. */
  async exists(kind: string, name: string, namespace = 'default'): Promise<boolean> {
    const r = await this.run(['get', '-n', namespace, `${kind}/${name}`, '--ignore-not-found', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim() !== '';
  }

  /** The condition `type` of a Kustomization (or any kind), once `match` holds for it; the object on timeout in the message. */
  async condition(name: string, type: string, match: (c: { status: string; reason: string; message: string }) => boolean, o: { kind?: string; namespace?: string; timeoutMs?: number } = {}) {
    let last: unknown;
    return eventually(
      async () => {
        const obj = await this.get(o.kind ?? 'kustomization', name, o.namespace);
        last = obj.status;
        const c = (obj.status?.conditions ?? []).find((x: { type: string }) => x.type === type);
        return c && match(c) && c;
      },
      o.timeoutMs ?? 60_000,
      () => `${o.kind ?? 'kustomization'} ${name}: condition ${type} not as expected; status: ${JSON.stringify(last)}\nserver log tail:\n${this.server.logs.slice(-2000)}`,
    );
  }

  /** Waits for Ready=True of a Kustomization (or `kind`). */
  ready(name: string, o: { kind?: string; namespace?: string; timeoutMs?: number } = {}) {
    return this.condition(name, 'Ready', (c) => c.status === 'True', o);
  }
}
