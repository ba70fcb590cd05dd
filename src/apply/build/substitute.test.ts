import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildError } from './errors.js';
import { collectVars, substitute, type FetchedSource } from './substitute.js';

const cm = (data: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', ...meta },
  data,
});

test('values are substituted in the YAML text, so a number stays a number', () => {
  const [o] = substitute([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: '${n}' } }], { n: '3' });
  assert.equal((o as any).spec.replicas, 3);
  const [c] = substitute([cm({ v: '${x}', k: 'pre-${x}' })], { x: 'y' });
  assert.deepEqual((c as any).data, { v: 'y', k: 'pre-y' });
});

test('opt-out by annotation or label, Flux prefix and ours', () => {
  for (const meta of [
    { annotations: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' } },
    { labels: { 'kustomize.toolkit.fluxcd.io/substitute': 'disabled' } },
    { annotations: { 'gitops.toolkit/substitute': 'disabled' } },
  ]) {
    const [o] = substitute([cm({ v: '${x}' }, meta)], { x: 'y' });
    assert.equal((o as any).data.v, '${x}');
  }
});

test('strategy: WithVariables skips when there are no variables, Always applies defaults', () => {
  const objs = [cm({ v: '${x:=d}' })];
  assert.equal((substitute(objs, {}) as any)[0].data.v, '${x:=d}');
  assert.equal((substitute(objs, {}, 'Always') as any)[0].data.v, 'd');
});

test('invalid variable names and bad expressions are SubstitutionFailed', () => {
  for (const bad of ['1abc', 'a-b', 'a.b', '']) {
    assert.throws(() => substitute([cm({})], { [bad]: 'x' }), (e: unknown) => e instanceof BuildError && e.reason === 'SubstitutionFailed');
  }
  assert.throws(() => substitute([cm({ v: '${x' })], { x: 'y' }), (e: unknown) => e instanceof BuildError && e.reason === 'SubstitutionFailed' && /ConfigMap\/c/.test(e.message));
});

test('collectVars: substituteFrom in order, optional, Secrets decoded, inline last, newlines removed', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const vars = collectVars(
    {
      substituteFrom: [
        { kind: 'ConfigMap', name: 'one' },
        { kind: 'Secret', name: 'two' },
        { kind: 'ConfigMap', name: 'gone', optional: true },
      ],
      substitute: { c: 'inline' },
    },
    (ref): FetchedSource | undefined =>
      ref.name === 'one'
        ? { kind: 'ConfigMap', data: { a: 'cm-a', b: 'cm-b\n', c: 'cm-c' } }
        : ref.name === 'two'
          ? { kind: 'Secret', data: { b: b64('secret-b\n'), c: b64('secret-c') } }
          : undefined,
  );
  assert.deepEqual(vars, { a: 'cm-a', b: 'secret-b', c: 'inline' });
  assert.throws(
    () => collectVars({ substituteFrom: [{ kind: 'Secret', name: 'gone' }] }, () => undefined),
    (e: unknown) => e instanceof BuildError && e.reason === 'SubstitutionFailed' && /Secret\/gone/.test(e.message),
  );
});
