// The generic protobuf reader of built-in kinds: bytes the real kubectl sends (recorded by a tiny HTTP
// listener the test runs) decode to what `kubectl create ... --dry-run=client -o json` prints (Go's JSON of
// the same object), and hand-encoded messages cover kube's special types and the wire's corner cases.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StatusError } from '../apis/meta/errors.js';
import { decodeBuiltinMessage, decodeBuiltinProtobuf, goDuration, hasProtobufMessage } from './protobuf-objects.js';
import { bytesField, envelope, fieldKey, varint } from './protobuf.js';

const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

// ---- a small encoder
const str = (no: number, s: string | Buffer) => bytesField(no, Buffer.isBuffer(s) ? s : Buffer.from(s));
const msg = (no: number, ...parts: Buffer[]) => bytesField(no, Buffer.concat(parts));
const num = (no: number, n: number | bigint) => Buffer.concat([fieldKey(no, 0), varint64(BigInt.asUintN(64, BigInt(n)))]);
const entry = (no: number, k: string, v: Buffer) => msg(no, str(1, k), v);
function varint64(v: bigint): Buffer {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
const decode = (name: string, ...parts: Buffer[]) => decodeBuiltinMessage(Buffer.concat(parts), `io.k8s.${name}`) as any;

describe('decodeBuiltinMessage: kube special types and Go JSON rules', () => {
  it('drops zero values of omitempty non-pointer fields, keeps non-omitempty and pointer ones and non-pointer structs', () => {
    // ObjectMeta: name, generateName '' (omitempty), generation 0 (omitempty), creationTimestamp zero (empty message).
    const meta = msg(1, str(1, 'x'), str(2, ''), num(7, 0), msg(8));
    const cm = decode('api.core.v1.ConfigMap', meta, entry(2, 'a', str(2, 'b')), num(4, 0));
    assert.deepEqual(cm, { metadata: { name: 'x' }, data: { a: 'b' }, immutable: false }); // immutable is *bool: kept
    const rb = decode('api.rbac.v1.RoleBinding', msg(1, str(1, 'rb')), msg(3, str(1, ''), str(2, 'ClusterRole'), str(3, 'view')));
    assert.deepEqual(rb, { metadata: { name: 'rb' }, roleRef: { apiGroup: '', kind: 'ClusterRole', name: 'view' } }); // apiGroup has no omitempty
    const dep = decode('api.apps.v1.Deployment', msg(1, str(1, 'd')), msg(2, msg(3), msg(4, str(1, ''))), msg(3));
    assert.deepEqual(dep, { metadata: { name: 'd' }, spec: { template: {}, strategy: {} }, status: {} });
  });

  it('Time, MicroTime, Duration, Quantity, IntOrString, RawExtension, FieldsV1 and bytes', () => {
    const meta = decode('apimachinery.pkg.apis.meta.v1.ObjectMeta', msg(8, num(1, 1700000000), num(2, 123456789)), msg(9, num(1, 0)), num(10, -1),
      msg(17, str(1, 'kubectl'), str(2, 'Update'), str(3, 'v1'), msg(4, num(1, 1700000001)), str(6, 'FieldsV1'), msg(7, str(1, '{"f:data":{"f:a":{}}}'))));
    assert.equal(meta.creationTimestamp, '2023-11-14T22:13:20Z'); // seconds only, as kube reads it
    assert.equal(meta.deletionTimestamp, '1970-01-01T00:00:00Z'); // a written zero second is not the zero time
    assert.equal(meta.deletionGracePeriodSeconds, -1);
    assert.deepEqual(meta.managedFields, [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2023-11-14T22:13:21Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }]);
    const lease = decode('api.coordination.v1.Lease', msg(2, str(1, 'me'), msg(3, num(1, 1700000000), num(2, 123456789)), num(2, 15)));
    assert.deepEqual(lease.spec, { holderIdentity: 'me', acquireTime: '2023-11-14T22:13:20.123456Z', leaseDurationSeconds: 15 });
    const svc = decode('api.core.v1.Service', msg(2, msg(1, str(1, 'http'), str(2, 'TCP'), num(3, 80), msg(4, num(1, 1), str(3, 'web')), num(5, 0)), msg(1, num(3, 443), msg(4, num(2, 8443)))));
    assert.deepEqual(svc.spec.ports, [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' }, { port: 443, targetPort: 8443 }]);
    const quota = decode('api.core.v1.ResourceQuota', msg(2, entry(1, 'cpu', msg(2, str(1, '500m'))), entry(1, 'pods', msg(2, str(1, '10')))));
    assert.deepEqual(quota.spec, { hard: { cpu: '500m', pods: '10' } });
    const secret = decode('api.core.v1.Secret', entry(2, 'bin', str(2, Buffer.from([0, 255, 1]))), str(3, 'Opaque'));
    assert.deepEqual(secret, { data: { bin: 'AP8B' }, type: 'Opaque' });
    const rev = decode('api.apps.v1.ControllerRevision', msg(2, str(1, '{"spec":{"a":[1,2]}}')), num(3, 2));
    assert.deepEqual(rev, { data: { spec: { a: [1, 2] } }, revision: 2 });
    assert.deepEqual(decode('api.apps.v1.ControllerRevision', msg(2), num(3, 1)), { revision: 1 }); // unset RawExtension: Go's null
    // RuleWithOperations inlines Rule (field 2).
    const hook = decode('api.admissionregistration.v1.ValidatingWebhook', str(1, 'w'), msg(3, str(1, 'CREATE'), msg(2, str(1, 'apps'), str(3, 'deployments'))), num(7, 5));
    assert.deepEqual(hook.rules, [{ operations: ['CREATE'], apiGroups: ['apps'], resources: ['deployments'] }]);
    assert.equal(hook.timeoutSeconds, 5);
  });

  it('maps of list wrappers (ExtraValue), map keys like __proto__, and a map entry without its value', () => {
    const sar = decode('api.authorization.v1.SubjectAccessReview', msg(2, str(3, 'alice'), entry(5, 'scopes', msg(2, str(1, 'a'), str(1, 'b'))), entry(5, '__proto__', msg(2)), str(4, 'dev'), str(4, 'ops')));
    assert.deepEqual(Object.keys(sar.spec.extra), ['scopes', '__proto__']);
    assert.deepEqual(sar.spec.extra.scopes, ['a', 'b']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(sar.spec.extra, '__proto__')?.value, []);
    assert.deepEqual(sar.spec.groups, ['dev', 'ops']);
    assert.deepEqual(decode('api.core.v1.ConfigMap', msg(2, str(1, 'k'))).data, { k: '' });
  });

  it('packed and unpacked repeated scalars, negative int32s, inline members, unknown fields', () => {
    const ctx = decode('api.core.v1.PodSecurityContext', num(5, 1000), bytesField(4, Buffer.concat([varint64(3n), varint64(BigInt.asUintN(64, -5n))])), num(4, 7));
    assert.deepEqual(ctx.supplementalGroups, [3, -5, 7]);
    assert.equal(ctx.fsGroup, 1000);
    // EphemeralContainer inlines EphemeralContainerCommon (field 1): its fields are the parent's.
    const eph = decode('api.core.v1.EphemeralContainer', msg(1, str(1, 'debug'), str(2, 'busybox')), str(2, 'app'), str(99, 'unknown'), Buffer.concat([fieldKey(98, 5), Buffer.alloc(4)]));
    assert.deepEqual(eph, { name: 'debug', image: 'busybox', targetContainerName: 'app' });
    assert.equal(decode('api.core.v1.ServicePort', num(3, -1)).port, -1);
  });

  it('refuses malformed input', () => {
    assert.throws(() => decode('api.core.v1.ConfigMap', num(1, 3)), /wire type 0/);
    assert.throws(() => decode('api.core.v1.ConfigMap', str(1, 'x').subarray(0, 2)), /past the end/);
    assert.throws(() => decode('api.apps.v1.ControllerRevision', msg(2, str(1, '{not json'))), (e: unknown) => e instanceof StatusError && e.code === 400);
    assert.throws(() => decodeBuiltinProtobuf(Buffer.from('{}'), 'io.k8s.api.core.v1.ConfigMap'), (e: unknown) => e instanceof StatusError && e.code === 400 && /magic/.test(e.message));
    assert.throws(() => decodeBuiltinProtobuf(envelope(num(1, 3)), 'io.k8s.api.core.v1.ConfigMap'), (e: unknown) => e instanceof StatusError && e.code === 400 && /not valid/.test(e.message));
  });

  it('knows the built-in definitions, not others', () => {
    assert.ok(hasProtobufMessage('io.k8s.api.core.v1.ConfigMap'));
    assert.ok(hasProtobufMessage('io.k8s.api.authentication.v1.TokenRequest'));
    assert.ok(!hasProtobufMessage('io.k8s.apimachinery.pkg.apis.meta.v1.Time'));
    assert.ok(!hasProtobufMessage(undefined));
    assert.ok(!hasProtobufMessage('toolkit.gitops.v1.GitRepository'));
  });

  it('Go duration strings', () => {
    const cases: [bigint, string][] = [[0n, '0s'], [1n, '1ns'], [1500n, '1.5µs'], [2_000_000n, '2ms'], [1_500_000_000n, '1.5s'], [90_000_000_000n, '1m30s'], [3_600_000_000_000n, '1h0m0s'], [-61_000_000_000n, '-1m1s'], [3_723_000_000_001n, '1h2m3.000000001s']];
    for (const [d, s] of cases) assert.equal(goDuration(d), s);
  });
});

// ---- what kubectl sends

/** A listener that records request bodies and answers every request with a 404 Status. */
async function recorder(): Promise<{ url: string; bodies: { method: string; path: string; type: string; body: Buffer }[]; close(): Promise<void> }> {
  const bodies: { method: string; path: string; type: string; body: Buffer }[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'GET') bodies.push({ method: req.method!, path: req.url!.split('?')[0], type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: 'recorded' }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, bodies, close: () => new Promise((r) => srv.close(() => r())) };
}

const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(KUBECTL, args, { env: { ...process.env, KUBECONFIG: '/dev/null' } }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });

/** Go's JSON with nulls removed (a zero Time prints `null`; the decoder leaves it out, which decodes the same). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]));
  return v;
}

const COMMANDS: [string, string[]][] = [
  ['io.k8s.api.core.v1.Namespace', ['create', 'namespace', 'tmp']],
  ['io.k8s.api.core.v1.ConfigMap', ['create', 'configmap', 'cm', '--from-literal=a=b', '--from-literal=empty=']],
  ['io.k8s.api.core.v1.Secret', ['create', 'secret', 'generic', 's', '--from-literal=password=hunter2', '--type=Opaque']],
  ['io.k8s.api.core.v1.Secret', ['create', 'secret', 'docker-registry', 'reg', '--docker-server=r.example', '--docker-username=u', '--docker-password=p']],
  ['io.k8s.api.core.v1.ServiceAccount', ['create', 'serviceaccount', 'bot']],
  ['io.k8s.api.apps.v1.Deployment', ['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=3', '--port=80']],
  ['io.k8s.api.batch.v1.Job', ['create', 'job', 'once', '--image=busybox', '--', 'echo', 'hi']],
  ['io.k8s.api.batch.v1.CronJob', ['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date']],
  ['io.k8s.api.rbac.v1.RoleBinding', ['create', 'rolebinding', 'rb', '--clusterrole=view', '--user=alice', '--serviceaccount=default:bot']],
  ['io.k8s.api.rbac.v1.ClusterRoleBinding', ['create', 'clusterrolebinding', 'crb', '--clusterrole=view', '--group=devs']],
  ['io.k8s.api.core.v1.Service', ['create', 'service', 'clusterip', 'svc', '--tcp=80:8080', '--tcp=443:https']],
  ['io.k8s.api.core.v1.Service', ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080']],
  ['io.k8s.api.networking.v1.Ingress', ['create', 'ingress', 'ing', '--rule=foo.com/bar*=svc1:8080,tls=cert', '--annotation=a=b']],
  ['io.k8s.api.policy.v1.PodDisruptionBudget', ['create', 'pdb', 'pdb', '--selector=app=web', '--min-available=50%']],
  ['io.k8s.api.core.v1.ResourceQuota', ['create', 'quota', 'q', '--hard=cpu=1,memory=1Gi,pods=10', '--scopes=BestEffort']],
];

describe('decodeBuiltinProtobuf: what kubectl 1.32 sends', { skip: !existsSync(KUBECTL) && `no kubectl at ${KUBECTL}` }, () => {
  let rec: Awaited<ReturnType<typeof recorder>>;
  before(async () => {
    rec = await recorder();
  });
  after(() => rec.close());

  for (const [definition, args] of COMMANDS) {
    it(`kubectl ${args.slice(0, 3).join(' ')} decodes to kubectl's own JSON of the object`, async () => {
      const dash = args.indexOf('--');
      const dryRun = dash < 0 ? [...args, '--dry-run=client', '-o', 'json'] : [...args.slice(0, dash), '--dry-run=client', '-o', 'json', ...args.slice(dash)];
      const expected = await run(['--server', rec.url, ...dryRun]);
      assert.equal(expected.code, 0, expected.stderr);
      const before = rec.bodies.length;
      await run(['--server', rec.url, ...args]);
      const sent = rec.bodies.slice(before);
      assert.equal(sent.length, 1, JSON.stringify(sent.map((s) => s.path)));
      assert.equal(sent[0].type, 'application/vnd.kubernetes.protobuf');
      const got = decodeBuiltinProtobuf(sent[0].body, definition);
      assert.deepEqual(got, withoutNulls(JSON.parse(expected.stdout)));
    });
  }

  it('kubectl create token sends a TokenRequest (audiences, expirationSeconds, boundObjectRef)', async () => {
    const before = rec.bodies.length;
    await run(['--server', rec.url, 'create', 'token', 'bot', '--audience=a1', '--audience=a2', '--duration=2h', '--bound-object-kind=Pod', '--bound-object-name=p', '--bound-object-uid=u-1']);
    const sent = rec.bodies.slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, '/api/v1/namespaces/default/serviceaccounts/bot/token');
    const got = decodeBuiltinProtobuf(sent[0].body, 'io.k8s.api.authentication.v1.TokenRequest');
    assert.deepEqual(got, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: { audiences: ['a1', 'a2'], expirationSeconds: 7200, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'u-1' } },
      status: { token: '' },
    });
  });
});
