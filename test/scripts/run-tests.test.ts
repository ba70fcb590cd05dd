// What `npm test` runs: everything but test/e2e, whatever KUBECONFIG the shell exports; test/e2e only
// when asked for by path (`npm run test:e2e`, which also insists on E2E_KUBECONFIG).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

const list = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', ...args], { env: { ...process.env, ...env, RUN_TESTS_LIST: '1' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
};

it('npm test never runs test/e2e, even with KUBECONFIG exported', () => {
  const files = list([], { KUBECONFIG: '/tmp/some-cluster.kubeconfig' });
  assert.ok(files.length > 50, String(files.length));
  assert.ok(files.includes('test/scripts/run-tests.test.ts'));
  assert.deepEqual(files.filter((f) => f.startsWith('test/e2e')), []);
});

it('test/e2e runs when named, and npm run test:e2e refuses to start without E2E_KUBECONFIG', () => {
  assert.deepEqual(list(['test/e2e']), ['test/e2e/cluster.test.ts']);
  const env = { ...process.env };
  delete env.E2E_KUBECONFIG;
  const r = spawnSync('npm', ['run', '--silent', 'test:e2e'], { env, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /set E2E_KUBECONFIG/);
});
