import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregate, isFinal } from './aggregate.js';

describe('aggregate', () => {
  it('all Current is Current', () => {
    assert.deepEqual(aggregate([{ ref: 'Deployment/default/web', status: 'Current', message: 'rolled out' }, { ref: 'Service/default/web', status: 'Current', message: 'ready' }]), { status: 'Current', message: 'all 2 objects are Current', pending: [] });
    assert.equal(aggregate([{ ref: 'Deployment/default/web', status: 'Current', message: 'x' }]).message, 'Deployment/default/web is Current');
    assert.equal(aggregate([]).status, 'Current');
  });
  it('names the first object not Current, with its message', () => {
    const r = aggregate([
      { ref: 'Service/default/web', status: 'Current', message: 'ready' },
      { ref: 'Deployment/default/web', status: 'InProgress', message: '0 of 3 replicas ready' },
      { ref: 'StatefulSet/default/db', status: 'InProgress', message: '1 of 3 replicas ready' },
    ]);
    assert.equal(r.status, 'InProgress');
    assert.equal(r.message, 'Deployment/default/web: 0 of 3 replicas ready (and 1 more not Current)');
    assert.deepEqual(r.pending.map((p) => p.ref), ['Deployment/default/web', 'StatefulSet/default/db']);
  });
  it('any Failed is Failed, named before objects still in progress', () => {
    const r = aggregate([
      { ref: 'Deployment/default/web', status: 'InProgress', message: '0 of 3 replicas ready' },
      { ref: 'Job/default/migrate', status: 'Failed', message: 'failed (6 Pods failed): BackoffLimitExceeded' },
      { ref: 'Pod/default/p', status: 'Failed', message: 'containers crash-looping: web' },
    ]);
    assert.equal(r.status, 'Failed');
    assert.equal(r.message, 'Job/default/migrate: failed (6 Pods failed): BackoffLimitExceeded (and 2 more not Current, 1 of them Failed)');
  });
  it('Terminating, NotFound and Unknown are waited on, and say which they are', () => {
    assert.deepEqual(aggregate([{ ref: 'ConfigMap/default/c', status: 'NotFound', message: 'not found' }]), { status: 'InProgress', message: 'ConfigMap/default/c: NotFound: not found', pending: [{ ref: 'ConfigMap/default/c', status: 'NotFound', message: 'not found' }] });
    assert.equal(aggregate([{ ref: 'Pod/default/p', status: 'Terminating', message: 'being deleted' }]).message, 'Pod/default/p: Terminating: being deleted');
  });
  it('isFinal', () => {
    assert.ok(isFinal('Current') && isFinal('Failed') && !isFinal('InProgress') && !isFinal('Unknown'));
  });
});
