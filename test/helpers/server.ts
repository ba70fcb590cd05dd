// Starts the real server (`tsx src/main.ts`) as a child process on a free loopback port, with its
// own temporary data and cert directories, and offers kubectl and HTTPS clients bound to it.

import { spawn, type ChildProcess } from 'node:child_process';
import { kubectl, type RunResult } from './run.js';
import { httpsCall, type HttpResult } from './https.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type KubectlResult = RunResult;

export type { HttpResult } from './https.js';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export class TestServer {
  proc?: ChildProcess;
  port = 0;
  logs = '';
  caCert = '';
  adminCert = '';
  adminKey = '';

  private constructor(
    readonly dir: string,
    readonly extraArgs: string[],
  ) {}

  get certDir() {
    return join(this.dir, 'certs');
  }
  get dataDir() {
    return join(this.dir, 'data');
  }
  get kubeconfig() {
    return join(this.certDir, 'kubeconfig');
  }
  get url() {
    return `https://127.0.0.1:${this.port}`;
  }

  /** A fresh server in a new temporary directory. */
  static async start(extraArgs: string[] = []): Promise<TestServer> {
    const dir = await mkdtemp(join(tmpdir(), 'gitops-toolkit-test-'));
    const s = new TestServer(dir, extraArgs);
    await s.restart();
    return s;
  }

  /** (Re)starts the process on the same directories and port (a new port the first time). */
  async restart(): Promise<void> {
    if (!this.port) this.port = await freePort();
    // node with the tsx loader rather than the tsx CLI: the CLI runs the server in a grandchild, which
    // SIGKILL of the CLI would orphan.
    // No embedded local cluster unless a test asks for one (extra args come later and win).
    const args = ['--import', 'tsx', join(ROOT, 'src', 'main.ts'), '--secure-port', String(this.port), '--cert-dir', this.certDir, '--data-dir', this.dataDir, '--local-cluster=false', ...this.extraArgs];
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    this.proc = proc;
    proc.stdout!.on('data', (d) => (this.logs += d));
    proc.stderr!.on('data', (d) => (this.logs += d));
    // Only this run's output counts: the logs of a killed predecessor already hold the marker.
    const from = this.logs.length;
    const deadline = Date.now() + 60_000;
    while (this.logs.indexOf('is serving gitops.toolkit/v1 on', from) < 0) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${this.logs}`);
      if (Date.now() > deadline) throw new Error(`server did not start in time:\n${this.logs}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Standalone certificates exist unless the server was given its own (--tls-cert-file).
    const read = (f: string) => readFile(join(this.certDir, f), 'utf8').catch(() => '');
    this.caCert = (await read('ca.crt')) || this.caCert;
    this.adminCert = (await read('admin.crt')) || this.adminCert;
    this.adminKey = (await read('admin.key')) || this.adminKey;
  }

  /** SIGKILL: no chance to flush anything. */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
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
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Runs the real kubectl against this server. `input` goes to stdin. */
  kubectl(args: string[], o: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<KubectlResult> {
    return kubectl(this.kubeconfig, args, { ...o, timeoutMs: o.timeoutMs ?? 30_000 });
  }

  /** kubectl that must succeed; returns stdout. */
  async k(args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
    const r = await this.kubectl(args, o);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** A raw HTTPS request; authenticated as admin unless `cert: null`. */
  request(
    method: string,
    path: string,
    o: { body?: string | Buffer; headers?: Record<string, string>; cert?: { cert: string; key: string } | null } = {},
  ): Promise<HttpResult> {
    const cert = o.cert === undefined ? { cert: this.adminCert, key: this.adminKey } : o.cert;
    const headers = { ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...o.headers };
    return httpsCall(new URL(path, `https://127.0.0.1:${this.port}`), { method, ca: this.caCert, cert, headers, body: o.body });
  }
}
