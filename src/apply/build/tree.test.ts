import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildError } from './errors.js';
import { isRemote } from './generator.js';
import { resolveSpecPath } from './tree.js';

test('spec.path resolves inside the root; .. escapes are refused', () => {
  assert.equal(resolveSpecPath('/a/root', './deploy').rel, 'deploy');
  assert.equal(resolveSpecPath('/a/root', '/deploy/x/').rel, 'deploy/x');
  assert.equal(resolveSpecPath('/a/root', undefined).rel, '');
  assert.equal(resolveSpecPath('/a/root', 'x/../y').rel, 'y');
  for (const p of ['..', '../root2', 'x/../../etc', '/../..']) {
    assert.throws(() => resolveSpecPath('/a/root', p), (e: unknown) => e instanceof BuildError && e.reason === 'ArtifactFailed');
  }
});

test('remote references as kustomize recognises them', () => {
  for (const r of ['https://example.com/x.yaml', 'http://x', 'git::https://h/r.git', 'git@github.com:o/r', 'github.com/o/r//p', 'gh:o/r', 'ssh://h/r', 'file:///etc', 'base?ref=v1', 's3://b/k']) {
    assert.ok(isRemote(r), r);
  }
  for (const l of ['base', '../base', './x.yaml', 'dir.with.dots/x.yaml']) assert.ok(!isRemote(l), l);
});
