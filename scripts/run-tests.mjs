// Runs every *.test.ts under src/ and test/ with Node's own test runner (tsx for TypeScript).
// Node 20's --test does not expand globs, so the files are found here.
// test/e2e needs a real cluster: it is its own suite, run by `npm run test:e2e` with E2E_KUBECONFIG
// set (never by `npm test`, whatever KUBECONFIG says: the README's walkthrough exports that).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['src', 'test'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) {
      if (p === join('test', 'e2e') && !roots.includes(p)) continue;
      walk(p);
    } else if (name.endsWith('.test.ts')) files.push(p);
  }
};
for (const r of roots) statSync(r).isDirectory() ? walk(r) : files.push(r);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// RUN_TESTS_LIST=1 prints the files instead of running them (how the suite's own test checks what runs).
if (process.env.RUN_TESTS_LIST === '1') {
  console.log(files.join('\n'));
  process.exit(0);
}
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', ...files];
if (process.env.CI) args.splice(2, 0, '--test-reporter=spec');
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
