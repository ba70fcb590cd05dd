// Runs `kubectl kustomize` (kustomize 5.5 inside kubectl 1.32) in a child process — off the event
// loop — with loads restricted to the kustomization root, no plugins, no exec, no helm, a time bound
// and an output bound. The environment has no PATH (so no `git` for remote bases, which are refused
// before this anyway) and proxies that go nowhere (so no HTTP fetch either).

import { spawn } from 'node:child_process';
import { isAbsolute, relative, resolve } from 'node:path';
import { BuildError } from './errors.js';

export interface KustomizeOptions {
  kubectl?: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Relative file names in error messages are relative to this (the working copy's root). */
  root?: string;
  home?: string;
}

export const DEFAULT_KUBECTL = process.env.GITOPS_KUBECTL ?? '/usr/bin/kubectl';
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The message inside klog's `"command failed" err="..."` wrapper. */
export function kubectlMessage(stderr: string): string {
  const m = /"command failed" err="((?:[^"\\]|\\.)*)"/.exec(stderr);
  if (m) {
    try {
      return JSON.parse(`"${m[1]}"`);
    } catch {
      return m[1];
    }
  }
  return stderr.replace(/^error: /, '').trim();
}

/**
 * `dir` is the kustomization directory that was built. kustomize names a malformed file relative to
 * the kustomization that lists it (the built one, or the innermost base it recursed into), so
 * `kz/broken.yaml` was reported as `broken.yaml`; it is resolved here and named relative to `root`,
 * as the generated-kustomization path (parseYAMLDocs) names files, so both say the same file.
 */
export function classify(message: string, root?: string, dir?: string): BuildError {
  const msg = root ? message.split(root + '/').join('').split(root).join('.') : message;
  const y = /MalformedYAMLError: yaml: line (\d+): (.*?) in File: (\S+)/.exec(msg);
  if (y) {
    const line = Number(y[1]);
    let file = y[3];
    if (root && dir && !isAbsolute(file)) {
      const bases = [...message.matchAll(/recursed accumulation of path '([^']+)'/g)].map((m) => m[1]);
      const abs = resolve(bases.at(-1) ?? dir, file);
      const rel = relative(root, abs);
      if (rel && !rel.startsWith('..') && !isAbsolute(rel)) file = rel;
    }
    return new BuildError('InvalidYAML', `invalid YAML in ${file} line ${line}: ${y[2]}`, { file, line });
  }
  return new BuildError('BuildFailed', `kustomize build failed: ${msg}`);
}

export function runKustomize(dir: string, opts: KustomizeOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(opts.kubectl ?? DEFAULT_KUBECTL, ['kustomize', dir, '--load-restrictor', 'LoadRestrictionsRootOnly'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: '',
        HOME: opts.home ?? dir,
        KUBECONFIG: '/dev/null',
        HTTP_PROXY: 'http://127.0.0.1:9',
        HTTPS_PROXY: 'http://127.0.0.1:9',
        NO_PROXY: '',
        GIT_TERMINAL_PROMPT: '0',
      },
    });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    let failure: BuildError | undefined;
    const kill = (e: BuildError) => {
      if (!failure) failure = e;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(new BuildError('BuildFailed', `kustomize build timed out after ${timeoutMs} ms`)), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > max) {
        kill(new BuildError('BuildFailed', `kustomize build output is larger than the limit of ${max} bytes`));
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 64 * 1024) err += b.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new BuildError('BuildFailed', `cannot run kustomize (${opts.kubectl ?? DEFAULT_KUBECTL}): ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (code !== 0) return reject(classify(kubectlMessage(err) || `exit code ${code}`, opts.root, dir));
      resolvePromise(Buffer.concat(out).toString('utf8'));
    });
  });
}
