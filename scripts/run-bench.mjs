// Runs every bench/*.bench.ts (or the files given as arguments) one after another, so no two compete
// for the CPU; exits non-zero when any of them failed. Benchmarks print figures, they assert no times.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync('bench')
      .filter((f) => f.endsWith('.bench.ts'))
      .sort()
      .map((f) => join('bench', f));
if (files.length === 0) {
  console.error('no bench/*.bench.ts found');
  process.exit(1);
}
const failed = [];
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(`${file} (${r.status ?? r.signal})`);
}
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
