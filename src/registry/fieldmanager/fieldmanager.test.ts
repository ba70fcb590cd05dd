import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JSONSchemaProps } from '../../apis/meta/resource.js';
import type { KubeObject, ManagedFieldsEntry } from '../../apis/meta/types.js';
import { apply, ApplyBadRequestError, ApplyConflictError, defaultManager, recordUpdate } from './index.js';

const str: JSONSchemaProps = { type: 'string' };
const byType: JSONSchemaProps = { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] };

const schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    apiVersion: str,
    kind: str,
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      properties: {
        interval: str,
        url: str,
        ref: { type: 'object', properties: { branch: str, tag: str } },
        args: { type: 'array', items: str },
        tags: { type: 'array', items: str, 'x-kubernetes-list-type': 'set' },
        targets: { type: 'array', ...byType, items: { type: 'object', properties: { type: str, value: str } } },
        values: { type: 'object', additionalProperties: str },
      },
    },
    status: {
      type: 'object',
      properties: {
        observedGeneration: { type: 'integer' },
        conditions: { type: 'array', ...byType, items: { type: 'object', properties: { type: str, status: str, reason: str } } },
      },
    },
  },
};

const API = 'gitops.toolkit/v1';
const T = (minute: number) => `2024-05-01T10:${String(minute).padStart(2, '0')}:00Z`;
const opts = (manager: string, minute: number, extra: { force?: boolean; subresource?: 'status' } = {}) => ({
  schema,
  apiVersion: API,
  now: T(minute),
  manager,
  force: extra.force ?? false,
  ...(extra.subresource ? { subresource: extra.subresource } : {}),
});

function obj(spec: Record<string, unknown> | undefined, more: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: API, kind: 'GitRepository', metadata: { name: 'repo', namespace: 'default' }, ...(spec ? { spec } : {}), ...more };
}

/** The stored object as the registry would keep it (it adds uid and friends on create). */
const stored = (o: KubeObject): KubeObject => ({ ...o, metadata: { uid: 'u-1', resourceVersion: '1', ...o.metadata } });

function entry(o: KubeObject, manager: string, operation = 'Apply'): ManagedFieldsEntry | undefined {
  return o.metadata.managedFields?.find((e) => e.manager === manager && e.operation === operation);
}
const fields = (o: KubeObject, manager: string, operation = 'Apply') => entry(o, manager, operation)?.fieldsV1;

function conflictOf(fn: () => unknown): ApplyConflictError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApplyConflictError) return e;
    throw e;
  }
  assert.fail('expected an apply conflict');
}

test('apply creates a missing object; the applier owns exactly what it applied, encoded as kube encodes it', () => {
  const applied = obj(
    {
      interval: '1m',
      ref: { branch: 'main' },
      args: ['--a', '--b'],
      tags: ['x', 'y'],
      targets: [{ type: 'web', value: 'v1' }],
      values: { k: 'v' },
    },
    { metadata: { name: 'repo', namespace: 'default', labels: { app: 'demo' } } },
  );
  const out = apply(undefined, applied, opts('flux', 1));
  assert.deepEqual(out.spec, applied.spec);
  assert.deepEqual(out.metadata.labels, { app: 'demo' });
  assert.equal(out.metadata.name, 'repo');
  assert.deepEqual(out.metadata.managedFields, [
    {
      manager: 'flux',
      operation: 'Apply',
      apiVersion: API,
      time: T(1),
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:args': {},
          'f:interval': {},
          'f:ref': { 'f:branch': {} },
          'f:tags': { 'v:"x"': {}, 'v:"y"': {} },
          'f:targets': { 'k:{"type":"web"}': { '.': {}, 'f:type': {}, 'f:value': {} } },
          'f:values': { 'f:k': {} },
        },
      },
    },
  ]);
  // Key order matters on the wire: kube writes them sorted.
  assert.equal(
    JSON.stringify(out.metadata.managedFields![0].fieldsV1),
    '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:args":{},"f:interval":{},"f:ref":{"f:branch":{}},"f:tags":{"v:\\"x\\"":{},"v:\\"y\\"":{}},"f:targets":{"k:{\\"type\\":\\"web\\"}":{".":{},"f:type":{},"f:value":{}}},"f:values":{"f:k":{}}}}',
  );
});

test('create by a non-apply write: an Update entry owning everything set, new containers marked with "."', () => {
  const created = obj({ interval: '1m', ref: { branch: 'main' } }, { metadata: { name: 'repo', namespace: 'default', labels: { app: 'demo' } } });
  const out = recordUpdate(undefined, created, opts('kubectl-create', 1));
  assert.equal(out.metadata.managedFields!.length, 1);
  const e = out.metadata.managedFields![0];
  assert.deepEqual({ ...e, fieldsV1: undefined }, { manager: 'kubectl-create', operation: 'Update', apiVersion: API, time: T(1), fieldsType: 'FieldsV1', fieldsV1: undefined });
  assert.equal(JSON.stringify(e.fieldsV1), '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{".":{},"f:interval":{},"f:ref":{".":{},"f:branch":{}}}}');
  assert.deepEqual(out.spec, created.spec, 'the object itself is untouched');
});

test('two appliers setting the same value share the field without conflict', () => {
  let live = stored(apply(undefined, obj({ interval: '1m' }), opts('a', 1)));
  live = apply(live, obj({ interval: '1m', url: 'https://x' }), opts('b', 2));
  assert.deepEqual(fields(live, 'a'), { 'f:spec': { 'f:interval': {} } });
  assert.deepEqual(fields(live, 'b'), { 'f:spec': { 'f:interval': {}, 'f:url': {} } });
  // a lets go of interval: b still owns it, so it stays.
  live = apply(live, obj(undefined), opts('a', 3));
  assert.equal(live.spec!.interval, '1m');
  assert.equal(entry(live, 'a'), undefined, 'an applier left owning nothing is dropped');
});

test('a different value for fields another manager owns is a conflict listing every field', () => {
  const live = stored(apply(undefined, obj({ interval: '1m', url: 'https://a', ref: { branch: 'main' } }), opts('a', 1)));
  const e = conflictOf(() => apply(live, obj({ interval: '5m', url: 'https://b', ref: { branch: 'main' } }), opts('b', 2)));
  assert.deepEqual(
    e.conflicts.map((c) => [c.manager, c.field]),
    [
      ['a', '.spec.interval'],
      ['a', '.spec.url'],
    ],
  );
  assert.equal(e.message, 'Apply failed with 2 conflicts: conflicts with "a":\n- .spec.interval\n- .spec.url');
  assert.deepEqual(e.causes[0], { reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.spec.interval' });
});

test('force takes the fields over from their owners', () => {
  let live = stored(apply(undefined, obj({ interval: '1m', url: 'https://a' }), opts('a', 1)));
  live = apply(live, obj({ interval: '5m' }), opts('b', 2, { force: true }));
  assert.equal(live.spec!.interval, '5m');
  assert.equal(live.spec!.url, 'https://a');
  assert.deepEqual(fields(live, 'a'), { 'f:spec': { 'f:url': {} } });
  assert.deepEqual(fields(live, 'b'), { 'f:spec': { 'f:interval': {} } });
  // Now a is the one in conflict.
  const e = conflictOf(() => apply(live, obj({ interval: '1m', url: 'https://a' }), opts('a', 3)));
  assert.deepEqual(
    e.conflicts.map((c) => c.field),
    ['.spec.interval'],
  );
});

test('a field dropped from the applied configuration is removed from the object', () => {
  let live = stored(apply(undefined, obj({ interval: '1m', url: 'https://a', ref: { branch: 'main' }, tags: ['x'] }, { metadata: { name: 'repo', labels: { app: 'x', tier: 'y' } } }), opts('a', 1)));
  live = apply(live, obj({ url: 'https://a' }, { metadata: { name: 'repo', labels: { app: 'x' } } }), opts('a', 2));
  assert.deepEqual(live.spec, { url: 'https://a' });
  assert.deepEqual(live.metadata.labels, { app: 'x' });
  assert.deepEqual(fields(live, 'a'), { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:url': {} } });
  assert.equal(entry(live, 'a')!.time, T(2));
});

test('a dropped field that another manager also owns stays, and is only disowned', () => {
  let live = stored(recordUpdate(undefined, obj({ interval: '1m', url: 'https://a' }), opts('kubectl-create', 1)));
  // Applying the value the creator set shares interval with it.
  live = apply(live, obj({ interval: '1m', ref: { branch: 'main' } }), opts('a', 2));
  assert.deepEqual(fields(live, 'a'), { 'f:spec': { 'f:interval': {}, 'f:ref': { 'f:branch': {} } } });
  live = apply(live, obj(undefined), opts('a', 3));
  assert.deepEqual(live.spec, { interval: '1m', url: 'https://a' }, "ref was a's alone: removed; interval is shared: kept");
  assert.equal(entry(live, 'a'), undefined);
  assert.deepEqual(fields(live, 'kubectl-create', 'Update'), { 'f:spec': { '.': {}, 'f:interval': {}, 'f:url': {} } });
});

test('metadata: finalizers are a set, ownerReferences a map keyed by uid; server-owned fields are never tracked', () => {
  const created = obj(
    { interval: '1m' },
    {
      metadata: {
        name: 'repo',
        namespace: 'default',
        uid: 'u-1',
        generation: 1,
        creationTimestamp: T(0),
        finalizers: ['gitops.toolkit/finalizer'],
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'o-1' }],
      },
    },
  );
  const out = recordUpdate(undefined, created, opts('kubectl-create', 1));
  assert.equal(
    JSON.stringify(out.metadata.managedFields![0].fieldsV1),
    '{"f:metadata":{"f:finalizers":{".":{},"v:\\"gitops.toolkit/finalizer\\"":{}},"f:ownerReferences":{".":{},"k:{\\"uid\\":\\"o-1\\"}":{".":{},"f:apiVersion":{},"f:kind":{},"f:name":{},"f:uid":{}}}},"f:spec":{".":{},"f:interval":{}}}',
  );
  // Two appliers each add a finalizer: the set is their union.
  let live = stored(apply(undefined, obj(undefined, { metadata: { name: 'repo', finalizers: ['a/x'] } }), opts('a', 1)));
  live = apply(live, obj(undefined, { metadata: { name: 'repo', finalizers: ['b/y'] } }), opts('b', 2));
  assert.deepEqual(live.metadata.finalizers, ['a/x', 'b/y']);
  assert.equal(live.metadata.uid, 'u-1', 'server-owned metadata comes from the live object');
});

test('after a merge patch changes an applied field, the patcher owns it and the applier conflicts', () => {
  let live = stored(apply(undefined, obj({ interval: '1m', url: 'https://a' }), opts('flux', 1)));
  const patched = structuredClone(live);
  patched.spec!.interval = '10m';
  live = recordUpdate(live, patched, opts('kubectl-patch', 2));
  assert.deepEqual(fields(live, 'flux'), { 'f:spec': { 'f:url': {} } });
  assert.deepEqual(entry(live, 'kubectl-patch', 'Update'), {
    manager: 'kubectl-patch',
    operation: 'Update',
    apiVersion: API,
    time: T(2),
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { 'f:interval': {} } },
  });
  const e = conflictOf(() => apply(live, obj({ interval: '1m', url: 'https://a' }), opts('flux', 3)));
  assert.equal(e.message, `Apply failed with 1 conflict: conflict with "kubectl-patch" using ${API}: .spec.interval`);
  assert.deepEqual(e.conflicts[0], { manager: 'kubectl-patch', operation: 'Update', field: '.spec.interval', message: `conflict with "kubectl-patch" using ${API}` });
});

test('a write that changes nothing records nothing', () => {
  const live = stored(apply(undefined, obj({ interval: '1m' }), opts('flux', 1)));
  const out = recordUpdate(live, structuredClone(live), opts('kubectl-edit', 2));
  assert.deepEqual(out.metadata.managedFields, live.metadata.managedFields);
  // Re-applying the same configuration keeps the entry's time.
  const again = apply(live, obj({ interval: '1m' }), opts('flux', 3));
  assert.equal(entry(again, 'flux')!.time, T(1));
});

test('list-maps merge by key, sets union, atomic lists replace, string maps merge by key', () => {
  let live = stored(
    apply(undefined, obj({ targets: [{ type: 'a', value: '1' }, { type: 'b', value: '2' }], tags: ['x'], args: ['--one'], values: { p: '1' } }), opts('a', 1)),
  );
  live = apply(live, obj({ targets: [{ type: 'c', value: '3' }, { type: 'a', value: '1' }], tags: ['y'], values: { q: '2' } }), opts('b', 2));
  assert.deepEqual(live.spec!.targets, [
    { type: 'c', value: '3' },
    { type: 'a', value: '1' },
    { type: 'b', value: '2' },
  ]);
  assert.deepEqual(live.spec!.tags, ['x', 'y']);
  assert.deepEqual(live.spec!.values, { p: '1', q: '2' });
  // An atomic list is one value: another applier's different list conflicts as a whole …
  const e = conflictOf(() => apply(live, obj({ args: ['--two'] }), opts('b', 3)));
  assert.deepEqual(
    e.conflicts.map((c) => c.field),
    ['.spec.args'],
  );
  // … and its owner replaces it rather than merging.
  live = apply(live, obj({ targets: [{ type: 'a', value: '1' }, { type: 'b', value: '2' }], tags: ['x'], args: ['--two'], values: { p: '1' } }), opts('a', 3));
  assert.deepEqual(live.spec!.args, ['--two']);
  // a drops item b, tag x and key p; b still holds item a, c, tag y and key q.
  live = apply(live, obj({ targets: [{ type: 'a', value: '1' }] }), opts('a', 4));
  assert.deepEqual(live.spec!.targets, [
    { type: 'c', value: '3' },
    { type: 'a', value: '1' },
  ]);
  assert.deepEqual(live.spec!.tags, ['y']);
  assert.deepEqual(live.spec!.values, { q: '2' });
  assert.equal(live.spec!.args, undefined);
});

test('status is owned through /status only: conditions merge by type, each writer owning its own', () => {
  let live = stored(apply(undefined, obj({ interval: '1m' }), opts('kubectl', 1)));
  const status = (conditions: unknown[]) => obj(undefined, { status: { conditions } });
  live = apply(live, status([{ type: 'Ready', status: 'True', reason: 'Succeeded' }]), opts('source-controller', 2, { subresource: 'status' }));
  live = apply(live, status([{ type: 'Reconciling', status: 'True', reason: 'Progressing' }]), opts('other', 3, { subresource: 'status' }));
  assert.deepEqual(live.status!.conditions, [
    { type: 'Ready', status: 'True', reason: 'Succeeded' },
    { type: 'Reconciling', status: 'True', reason: 'Progressing' },
  ]);
  assert.deepEqual(live.spec, { interval: '1m' }, 'a /status apply leaves spec alone');
  const e = entry(live, 'source-controller')!;
  assert.equal(e.subresource, 'status');
  assert.deepEqual(e.fieldsV1, {
    'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:reason': {}, 'f:status': {}, 'f:type': {} } } },
  });
  // Same manager name, different subresource: a different manager.
  const c = conflictOf(() => apply(live, status([{ type: 'Ready', status: 'False', reason: 'Failed' }]), opts('other', 4, { subresource: 'status' })));
  assert.deepEqual(c.conflicts[0], {
    manager: 'source-controller',
    operation: 'Apply',
    subresource: 'status',
    field: '.status.conditions[type="Ready"].reason',
    message: 'conflict with "source-controller" with subresource "status"',
  });
  // The main resource neither writes nor owns status; an Update on /status owns what it changed.
  const main = apply(live, obj({ interval: '2m' }, { status: { observedGeneration: 9 } }), opts('kubectl', 5));
  assert.deepEqual(main.status, live.status);
  assert.deepEqual(fields(main, 'kubectl'), { 'f:spec': { 'f:interval': {} } });
  const next = recordUpdate(live, { ...structuredClone(live), status: { ...live.status, observedGeneration: 2 } }, opts('source-controller', 6, { subresource: 'status' }));
  assert.deepEqual(entry(next, 'source-controller', 'Update'), {
    manager: 'source-controller',
    operation: 'Update',
    apiVersion: API,
    time: T(6),
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:status': { 'f:observedGeneration': {} } },
    subresource: 'status',
  });
});

test('null in an applied configuration is owned and set to null, as in SMD', () => {
  let live = stored(apply(undefined, obj({ interval: '1m', url: 'https://a' }), opts('a', 1)));
  live = apply(live, obj({ interval: null, url: 'https://a' }), opts('a', 2));
  assert.equal(live.spec!.interval, null);
  assert.deepEqual(fields(live, 'a'), { 'f:spec': { 'f:interval': {}, 'f:url': {} } });
});

test('entries: Apply before Update, then oldest first; one manager can hold both', () => {
  let live = stored(recordUpdate(undefined, obj({ interval: '1m' }), opts('zeta', 1)));
  live = apply(live, obj({ url: 'https://a' }), opts('zeta', 5));
  live = apply(live, obj({ ref: { branch: 'main' } }), opts('alpha', 3));
  const patched = structuredClone(live);
  patched.spec!.args = ['x'];
  live = recordUpdate(live, patched, opts('alpha', 2));
  assert.deepEqual(
    live.metadata.managedFields!.map((e) => [e.manager, e.operation, e.time]),
    [
      ['alpha', 'Apply', T(3)],
      ['zeta', 'Apply', T(5)],
      ['zeta', 'Update', T(1)],
      ['alpha', 'Update', T(2)],
    ],
  );
});

test('more than ten Update managers: the oldest merge into ancient-changes', () => {
  let live = stored(recordUpdate(undefined, obj({ values: { m0: 'x' } }), opts('m0', 0)));
  for (let i = 1; i < 12; i++) {
    const next = structuredClone(live);
    next.spec!.values = { ...(next.spec!.values as object), [`m${i}`]: 'x' };
    live = recordUpdate(live, next, opts(`m${i}`, i));
  }
  const managers = live.metadata.managedFields!.map((e) => e.manager);
  assert.equal(managers.length, 10);
  assert.deepEqual(managers.slice(0, 1), ['ancient-changes']);
  assert.ok(!managers.includes('m0') && !managers.includes('m1') && !managers.includes('m2'));
  const ancient = entry(live, 'ancient-changes', 'Update')!;
  assert.equal(ancient.time, T(2), 'the bucket keeps the newest merged time');
  assert.equal(JSON.stringify(ancient.fieldsV1), '{"f:spec":{".":{},"f:values":{".":{},"f:m0":{},"f:m1":{},"f:m2":{}}}}');
});

test('managedFields sent with an update: a list replaces them, [] clears them, absent keeps them, /status ignores them', () => {
  const live = stored(apply(undefined, obj({ interval: '1m' }), opts('flux', 1)));
  const keep = recordUpdate(live, { ...structuredClone(live), metadata: { ...live.metadata, managedFields: undefined } }, opts('kubectl-edit', 2));
  assert.deepEqual(keep.metadata.managedFields, live.metadata.managedFields);

  const custom: ManagedFieldsEntry[] = [{ manager: 'someone', operation: 'Update', apiVersion: API, time: T(0), fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:interval': {} } } }];
  const replaced = recordUpdate(live, { ...structuredClone(live), metadata: { ...live.metadata, managedFields: custom } }, opts('kubectl-edit', 2));
  assert.deepEqual(replaced.metadata.managedFields, custom);

  const cleared = recordUpdate(live, { ...structuredClone(live), spec: { interval: '2m' }, metadata: { ...live.metadata, managedFields: [] } }, opts('kubectl-edit', 2));
  assert.equal(cleared.metadata.managedFields, undefined);
  // Nothing is tracked again until someone applies.
  const later = recordUpdate(stored(cleared), { ...structuredClone(cleared), spec: { interval: '3m' } }, opts('kubectl-edit', 3));
  assert.equal(later.metadata.managedFields, undefined);

  const viaStatus = recordUpdate(live, { ...structuredClone(live), metadata: { ...live.metadata, managedFields: [] } }, opts('ctl', 2, { subresource: 'status' }));
  assert.deepEqual(viaStatus.metadata.managedFields, live.metadata.managedFields);
});

test('applying to an object nobody tracked yet: its fields belong to before-first-apply', () => {
  const live = stored(obj({ interval: '1m', url: 'https://a' }));
  const out = apply(live, obj({ url: 'https://a', ref: { branch: 'main' } }), opts('flux', 2));
  assert.deepEqual(entry(out, 'before-first-apply', 'Update'), {
    manager: 'before-first-apply',
    operation: 'Update',
    apiVersion: API,
    time: T(2),
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { '.': {}, 'f:interval': {}, 'f:url': {} } },
  });
  assert.deepEqual(out.spec, { interval: '1m', url: 'https://a', ref: { branch: 'main' } });
});

test('kubectl --server-side over client-side apply: takes over what the annotation recorded, and keeps it current', () => {
  const lastApplied = JSON.stringify({ apiVersion: API, kind: 'GitRepository', metadata: { name: 'repo', namespace: 'default' }, spec: { interval: '1m' } });
  let live = stored(
    recordUpdate(
      undefined,
      obj({ interval: '1m' }, { metadata: { name: 'repo', namespace: 'default', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } } }),
      opts('kubectl-client-side-apply', 1),
    ),
  );
  const patched = structuredClone(live);
  patched.spec!.url = 'https://by-hand';
  live = recordUpdate(live, patched, opts('kubectl-edit', 2));

  const applied = obj({ interval: '5m', url: 'https://new' });
  // url was never in the annotation: still a conflict, and only that one.
  const e = conflictOf(() => apply(live, applied, opts('kubectl', 3)));
  assert.deepEqual(
    e.conflicts.map((c) => [c.manager, c.field]),
    [['kubectl-edit', '.spec.url']],
  );
  const out = apply(live, obj({ interval: '5m', url: 'https://by-hand' }), opts('kubectl', 3));
  assert.equal(out.spec!.interval, '5m');
  assert.deepEqual(fields(out, 'kubectl'), { 'f:spec': { 'f:interval': {}, 'f:url': {} } });
  assert.equal(
    out.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration'],
    '{"apiVersion":"gitops.toolkit/v1","kind":"GitRepository","metadata":{"name":"repo","namespace":"default"},"spec":{"interval":"5m","url":"https://by-hand"}}\n',
  );
  // Another manager name is not kubectl: no takeover, no annotation update.
  assert.throws(() => apply(live, obj({ interval: '5m' }), opts('my-tool', 3)), ApplyConflictError);
});

test('configurations kube refuses with 400', () => {
  assert.throws(
    () => apply(undefined, { ...obj({}), apiVersion: 'gitops.toolkit/v2' }, { ...opts('a', 1), kind: 'GitRepository' }),
    (e: unknown) => e instanceof ApplyBadRequestError && e.message === 'invalid object type: gitops.toolkit/v2, Kind=GitRepository',
  );
  assert.throws(() => apply(undefined, { ...obj({}), kind: 'Bucket' }, { ...opts('a', 1), kind: 'GitRepository' }), ApplyBadRequestError);
  assert.throws(() => apply(undefined, obj({}, { metadata: { name: 'repo', managedFields: [] } }), opts('a', 1)), /metadata.managedFields must be nil/);
  assert.throws(
    () => apply(undefined, obj({ targets: [{ type: 'a' }, { type: 'a' }] }), opts('a', 1)),
    (e: unknown) => e instanceof ApplyBadRequestError && e.message.endsWith('.spec.targets: duplicate entries for key [type="a"]'),
  );
  assert.throws(
    () => apply(undefined, obj({ targets: [{ value: 'x' }] }), opts('a', 1)),
    (e: unknown) => e instanceof ApplyBadRequestError && /element 0: associative list with keys has an element that omits key field "type"/.test(e.message),
  );
});

test('a write kube cannot track keeps the stored entries rather than failing', () => {
  const live = stored(apply(undefined, obj({ interval: '1m' }), opts('flux', 1)));
  const bad = { ...structuredClone(live), spec: { interval: '1m', targets: [{ value: 'no key' }] } };
  assert.deepEqual(recordUpdate(live, bad, opts('kubectl-edit', 2)).metadata.managedFields, live.metadata.managedFields);
});

test('the default manager is the User-Agent up to its first slash', () => {
  assert.equal(defaultManager('kubectl-edit/v1.32.0 (linux/amd64) kubernetes/abc'), 'kubectl-edit');
  assert.equal(defaultManager('curl/8.5.0'), 'curl');
  assert.equal(defaultManager('a\u0001b'), 'ab');
  assert.equal(defaultManager('x'.repeat(200)), 'x'.repeat(128));
  assert.equal(defaultManager(undefined), '');
  // And a request without any manager is recorded as kube records it.
  assert.equal(recordUpdate(undefined, obj({ interval: '1m' }), opts('', 1)).metadata.managedFields![0].manager, 'unknown');
});
