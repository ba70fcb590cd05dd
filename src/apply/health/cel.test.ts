import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { celHealthCheck, compileHealthCheck, exprMatches, HealthCheckExprError, type HealthCheckExpr } from './cel.js';
import { healthOf } from './index.js';

type Any = Record<string, any>;
const T = '2025-01-01T00:00:00Z';

// The cert-manager Certificate example of Flux's RFC 0009.
const certificate: HealthCheckExpr = {
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  inProgress: "status.conditions.filter(e, e.type == 'Issuing').all(e, e.observedGeneration == metadata.generation && e.status == 'True')",
  failed: "status.conditions.filter(e, e.type == 'Ready').all(e, e.observedGeneration == metadata.generation && e.status == 'False')",
  current: "status.conditions.filter(e, e.type == 'Ready').all(e, e.observedGeneration == metadata.generation && e.status == 'True')",
};
const cert = (conditions: Any[], generation = 2, extra: Any = {}): Any => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name: 'app-tls', namespace: 'default', generation },
  spec: { secretName: 'app-tls', dnsNames: ['app.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } },
  // cert-manager keeps an Issuing=False condition once issued; without any, `all()` over none is true.
  status: { conditions: [{ type: 'Issuing', status: 'False', observedGeneration: generation, reason: 'Issued' }, ...conditions], ...extra },
});
const c = (type: string, status: string, observedGeneration = 2) => ({ type, status, observedGeneration, reason: 'R', message: 'm', lastTransitionTime: T });

describe('celHealthCheck', () => {
  it('current when the current expression is true', () => {
    assert.equal(celHealthCheck(certificate, cert([c('Ready', 'True')])).status, 'Current');
  });
  it('failed when the failed expression is true', () => {
    assert.equal(celHealthCheck(certificate, cert([c('Ready', 'False')])).status, 'Failed');
  });
  it('inProgress is tried first (RFC 0009 order): Issuing=True wins over Ready=True', () => {
    const issuing = cert([c('Ready', 'True')]);
    issuing.status.conditions[0].status = 'True';
    assert.equal(celHealthCheck(certificate, issuing).status, 'InProgress');
    // a quirk of all(): with no Issuing condition at all, the inProgress expression is true
    assert.equal(celHealthCheck(certificate, { ...issuing, status: { conditions: [c('Ready', 'True')] } }).status, 'InProgress');
  });
  it('failed is tried before current', () => {
    const both: HealthCheckExpr = { apiVersion: 'example.com/v1', kind: 'W', current: 'true', failed: 'true' };
    assert.equal(celHealthCheck(both, { apiVersion: 'example.com/v1', kind: 'W', metadata: { name: 'w' } }).status, 'Failed');
  });
  it('no expression true is InProgress', () => {
    // Ready=Unknown: neither failed nor current holds
    const h = celHealthCheck(certificate, cert([c('Ready', 'Unknown')]));
    assert.equal(h.status, 'InProgress');
  });
  it('an old status.observedGeneration is InProgress before any expression runs', () => {
    const h = celHealthCheck(certificate, cert([c('Ready', 'True')], 3, { observedGeneration: 2 }));
    assert.equal(h.status, 'InProgress');
    assert.match(h.message, /generation 3 not observed/);
  });
  it('self is the whole object too, and integers compare as ints', () => {
    const e: HealthCheckExpr = { apiVersion: 'example.com/v1', kind: 'Widget', current: "self.status.readyReplicas == self.spec.replicas && self.metadata.name.startsWith('w')", failed: 'status.errors > 0' };
    const w = (ready: number, errors = 0) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', generation: 1 }, spec: { replicas: 3 }, status: { readyReplicas: ready, errors, ratio: 0.5 } });
    assert.equal(celHealthCheck(e, w(3)).status, 'Current');
    assert.equal(celHealthCheck(e, w(2)).status, 'InProgress');
    assert.equal(celHealthCheck(e, w(3, 1)).status, 'Failed');
    assert.equal(celHealthCheck({ ...e, current: 'status.ratio < 1.0 && has(status.readyReplicas)' }, w(1)).status, 'Current');
  });
  it('an evaluation error (a field that is not there yet) is Unknown, with the error', () => {
    const noStatus = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'x', generation: 1 } };
    const h = celHealthCheck(certificate, noStatus);
    assert.equal(h.status, 'Unknown');
    assert.match(h.message, /inProgress expression/);
    const h2 = celHealthCheck({ ...certificate, inProgress: undefined, failed: undefined }, cert([]));
    assert.equal(h2.status, 'Current', 'all() over no Ready condition is true, as in cel-go');
  });
  it('a result that is not a bool is Unknown', () => {
    assert.equal(celHealthCheck({ apiVersion: 'v', kind: 'K', current: "metadata.name + '!'" }, { apiVersion: 'v', kind: 'K', metadata: { name: 'n' } }).status, 'Unknown');
  });
  it('a parse error is thrown (the Kustomization is wrong, not the object)', () => {
    assert.throws(() => celHealthCheck({ ...certificate, failed: "status.conditions.filter(e, e.type == 'Ready'" }, cert([])), (e: unknown) => e instanceof HealthCheckExprError && e.field === 'failed' && /Certificate: failed: failed to parse/.test(e.message));
    assert.throws(() => compileHealthCheck({ apiVersion: 'v', kind: 'K', current: '' }), (e: unknown) => e instanceof HealthCheckExprError && e.field === 'current' && /required/.test(e.message));
  });
  it('not found is NotFound', () => assert.equal(celHealthCheck(certificate, undefined).status, 'NotFound'));
  it('exprMatches compares apiVersion and kind', () => {
    assert.ok(exprMatches(certificate, cert([])));
    assert.ok(!exprMatches(certificate, { apiVersion: 'cert-manager.io/v1alpha2', kind: 'Certificate' }));
  });
});

describe('healthOf', () => {
  it('uses a matching healthCheckExprs entry, else kstatus', () => {
    const obj = cert([c('Ready', 'False')]);
    assert.deepEqual(healthOf(obj, { exprs: [certificate] }), { ref: 'Certificate/default/app-tls', status: 'Failed', message: 'failed expression is true' });
    // kstatus alone reads Ready=False as InProgress
    assert.equal(healthOf(obj).status, 'InProgress');
    assert.deepEqual(healthOf(undefined, { ref: 'Deployment/default/gone' }), { ref: 'Deployment/default/gone', status: 'NotFound', message: 'not found' });
  });
});
