// Runs a command to completion with `input` on its stdin, collecting its output: how the suites call
// kubectl and helm.

import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `timeoutMs`: the process is killed (SIGKILL) if it runs longer. */
export function run(cmd: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = o.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), o.timeoutMs) : undefined;
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.end(o.input ?? '');
  });
}

/** The real kubectl with `kubeconfig` only (an exported KUBECONFIG is ignored). */
export const kubectl = (kubeconfig: string, args: string[], o: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> =>
  run('kubectl', ['--kubeconfig', kubeconfig, ...args], { input: o.input, timeoutMs: o.timeoutMs, env: { ...process.env, KUBECONFIG: '', ...o.env } });
