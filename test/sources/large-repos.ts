// Repositories that used to exhaust the server's memory, written quickly with git plumbing on a
// GitServer: one with a file of zeros (a sparse file, so creating it costs no disk) and one with tens
// of thousands of tiny files (git fast-import). Both are repacked, so serving them is a copy.

import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitServer } from '../helpers/git-server.js';

async function initBare(s: GitServer, repo: string): Promise<void> {
  await s.git(['init', '--quiet', '--bare', '-b', 'main', s.gitDir(repo)]);
}

/** `README.md` and `path`, a file of `size` zero bytes; returns the commit. */
export async function zerosRepo(s: GitServer, repo: string, path: string, size: number): Promise<string> {
  await initBare(s, repo);
  const file = join(s.dir, `${repo}-zeros`);
  const fh = await open(file, 'w');
  await fh.truncate(size);
  await fh.close();
  const blob = await s.git(['hash-object', '-w', file], { repo });
  await rm(file);
  const readme = await s.git(['hash-object', '-w', '--stdin'], { repo, input: `# ${repo}\n` });
  const tree = await s.git(['mktree'], { repo, input: `100644 blob ${readme}\tREADME.md\n100644 blob ${blob}\t${path}\n` });
  const commit = await s.git(['commit-tree', tree, '-m', `${path}: ${size} zero bytes`], { repo });
  await s.git(['update-ref', 'refs/heads/main', commit], { repo });
  await s.git(['repack', '-adq'], { repo });
  return commit;
}

/** `count` distinct tiny files, 500 to a directory; returns the commit. */
export async function manyFilesRepo(s: GitServer, repo: string, count: number): Promise<string> {
  await initBare(s, repo);
  const parts: string[] = [];
  for (let i = 1; i <= count; i++) {
    const body = `file ${i}\n`;
    parts.push(`blob\nmark :${i}\ndata ${Buffer.byteLength(body)}\n${body}\n`);
  }
  const message = `${count} files\n`;
  parts.push(`commit refs/heads/main\ncommitter Test <test@example.com> 1700000000 +0000\ndata ${message.length}\n${message}`);
  for (let i = 1; i <= count; i++) parts.push(`M 100644 :${i} d${Math.floor(i / 500)}/f${i}.txt\n`);
  await s.git(['fast-import', '--quiet'], { repo, input: parts.join('') });
  await s.git(['repack', '-adq'], { repo });
  return s.rev(repo, 'main');
}

/** VmHWM (peak resident set) of a process, in bytes; it covers the process's worker threads. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}
