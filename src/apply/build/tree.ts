// The private working copy of an artifact tree. The artifact directory is read-only input: it is
// copied (regular files and directories; symlinks only when they stay inside the root, re-created as
// relative links) into a fresh temp dir, where the generated kustomization is written and kustomize
// runs. Anything that would let the build read outside the root is refused with ArtifactFailed.

import { lstat, mkdir, mkdtemp, readdir, readlink, copyFile, symlink, realpath, stat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { BuildError } from './errors.js';

export interface TreeLimits {
  /** Most files copied (default 100,000). */
  maxFiles?: number;
  /** Most bytes copied (default 1 GiB). */
  maxBytes?: number;
}

/** `p` is `root` or below it (both absolute and normalized). */
export const within = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Resolves spec.path against the artifact root lexically: `./deploy`, `deploy/`, `/deploy` (Flux
 * treats a leading slash as relative to the root) all name `<root>/deploy`; a path that climbs out
 * with `..` is refused.
 */
export function resolveSpecPath(root: string, path: string | undefined): { abs: string; rel: string } {
  const p = (path ?? '').replace(/\\/g, '/');
  const abs = resolve(root, '.' + (p.startsWith('/') ? p : '/' + p));
  if (!within(resolve(root), abs)) {
    throw new BuildError('ArtifactFailed', `path '${path}' points outside the artifact root`);
  }
  return { abs, rel: relative(resolve(root), abs) };
}

/** Copies `root` into a new temp dir; returns it with a cleanup function. */
export async function copyTree(root: string, limits: TreeLimits = {}): Promise<{ dir: string; dispose: () => Promise<void> }> {
  const maxFiles = limits.maxFiles ?? 100_000;
  const maxBytes = limits.maxBytes ?? 1024 ** 3;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    if (!(await stat(realRoot)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new BuildError('ArtifactFailed', `artifact directory '${root}' does not exist or is not a directory`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'gitops-build-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  let files = 0;
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(realRoot, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? join(rel, e.name) : e.name;
      const src = join(realRoot, r);
      const dst = join(dir, r);
      if (++files > maxFiles) throw new BuildError('ArtifactFailed', `artifact has more than ${maxFiles} files`);
      if (e.isSymbolicLink()) {
        const target = await readlink(src);
        const abs = resolve(dirname(src), target);
        let real: string;
        try {
          real = await realpath(src);
        } catch {
          real = abs; // dangling: judge the lexical target
        }
        if (!within(realRoot, abs) || !within(realRoot, real)) {
          throw new BuildError('ArtifactFailed', `symlink '${r}' points outside the artifact root (to '${target}')`);
        }
        await symlink(relative(dirname(src), real) || '.', dst);
      } else if (e.isDirectory()) {
        await mkdir(dst);
        await walk(r);
      } else if (e.isFile()) {
        const st = await lstat(src);
        bytes += st.size;
        if (bytes > maxBytes) throw new BuildError('ArtifactFailed', `artifact is larger than ${maxBytes} bytes`);
        await copyFile(src, dst);
      } // sockets, fifos, devices: left out
    }
  };
  try {
    await walk('');
  } catch (e) {
    await dispose();
    throw e;
  }
  return { dir, dispose };
}

