// What source tests share: a server with a --secrets-dir, and kubectl-driven helpers to apply a
// GitRepository, wait for a condition, and read its artifact back (through `kubectl get --raw`).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import yaml from 'js-yaml';
import { TestServer } from './server.js';

export const cond = (o: any, type: string) => o.status?.conditions?.find((c: any) => c.type === type);
/** The status speaks for the object's current generation. */
export const current = (o: any) => o.status?.observedGeneration === o.metadata.generation;
export const readyTrue = (o: any) => cond(o, 'Ready')?.status === 'True' && current(o);
export const readyFalse = (o: any) => cond(o, 'Ready')?.status === 'False' && current(o);
export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The regular files of a tar.gz, path → content. */
export async function filesOf(buf: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const parser = new tar.Parser();
  await new Promise<void>((resolve, reject) => {
    parser.on('entry', (e: any) => {
      if (e.type !== 'File') return void e.resume();
      const chunks: Buffer[] = [];
      e.on('data', (c: Buffer) => chunks.push(c));
      e.on('end', () => (out[e.path] = Buffer.concat(chunks).toString('utf8')));
    });
    parser.on('end', resolve);
    parser.on('error', reject);
    parser.end(buf);
  });
  return out;
}

export class SourceServer {
  private constructor(
    readonly s: TestServer,
    readonly secretsDir: string,
  ) {}

  /** A server whose spec.secretRef Secrets are manifests in its own --secrets-dir. */
  static async start(args: string[] = []): Promise<SourceServer> {
    const s = await TestServer.start(args);
    const secretsDir = join(s.dir, 'secrets');
    await mkdir(secretsDir);
    await s.stop();
    s.extraArgs.push('--secrets-dir', secretsDir);
    await s.restart();
    return new SourceServer(s, secretsDir);
  }

  cleanup(): Promise<void> {
    return this.s.cleanup();
  }

  async secret(name: string, stringData: Record<string, string>): Promise<void> {
    await writeFile(join(this.secretsDir, `${name}.yaml`), yaml.dump({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, stringData }));
  }

  apply(name: string, spec: Record<string, unknown>): Promise<string> {
    return this.s.k(['apply', '-f', '-'], { input: yaml.dump({ apiVersion: 'gitops.toolkit/v1', kind: 'GitRepository', metadata: { name, namespace: 'default' }, spec: { interval: '10m', ...spec } }) });
  }

  async get(name: string): Promise<any> {
    return JSON.parse(await this.s.k(['get', 'gitrepository', name, '-o', 'json']));
  }

  /** Polls the object until `test` holds; fails with its last status. */
  async until(name: string, test: (o: any) => boolean, ms = 30_000): Promise<any> {
    const end = Date.now() + ms;
    let last: any;
    while (Date.now() < end) {
      last = await this.get(name);
      if (test(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${name} did not get there in time; last status: ${JSON.stringify(last?.status, null, 2)}`);
  }

  /** The artifact as `kubectl get --raw` downloads it, byte for byte. */
  artifactBytes(name: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const p = spawn('kubectl', ['--kubeconfig', this.s.kubeconfig, 'get', '--raw', `/apis/gitops.toolkit/v1/namespaces/default/gitrepositories/${name}/artifact`]);
      const chunks: Buffer[] = [];
      let err = '';
      p.stdout.on('data', (c) => chunks.push(c));
      p.stderr.on('data', (c) => (err += c));
      p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(err))));
    });
  }

  async artifactFiles(name: string): Promise<Record<string, string>> {
    return filesOf(await this.artifactBytes(name));
  }
}
