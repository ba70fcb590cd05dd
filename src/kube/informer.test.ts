// The Informer's change hook over a scripted reader: a watch event is told as it comes, a relist
// (after a 410) tells only what differs from what was held, the query goes with the list and every
// watch, and an initial read is watched from without a list.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Informer, KubeApiError, type KubeReader, type WatchEvent } from './informer.js';

interface Obj {
  metadata: { name: string; resourceVersion: string };
}
const obj = (name: string, resourceVersion: string): Obj => ({ metadata: { name, resourceVersion } });

/**
 * Answers lists from `lists` and watches from `watches`, in turn (a watch's events, then the server
 * ends it; past the script a watch stays open until stopped); records what was asked for.
 */
function scripted(lists: Obj[][], watches: (WatchEvent<Obj>[] | Error)[]) {
  const calls: string[] = [];
  const reader: KubeReader = {
    async get<T>(path: string): Promise<T> {
      calls.push(`list ${path}`);
      const items = lists.shift();
      if (!items) throw new Error('no more lists');
      return { metadata: { resourceVersion: items.at(-1)?.metadata.resourceVersion ?? '1' }, items } as T;
    },
    async *watch<T>(path: string, query: Record<string, string>, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
      calls.push(`watch ${path} rv=${query.resourceVersion} fieldSelector=${query.fieldSelector}`);
      const next = watches.shift();
      if (next instanceof Error) throw next;
      if (!next) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      for (const ev of next ?? []) yield ev as WatchEvent<T>;
    },
  };
  return { reader, calls };
}

async function until(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
}

it('tells watch events, and on a relist only the differences', async () => {
  const { reader, calls } = scripted(
    [
      [obj('a', '1'), obj('b', '2')],
      [obj('a', '1'), obj('c', '5')],
    ],
    [[{ type: 'MODIFIED', object: obj('b', '3') }, { type: 'BOOKMARK', object: obj('', '4') }], new KubeApiError(410, 'too old')],
  );
  const told: string[] = [];
  const inf = new Informer<Obj>(reader, '/api/v1/namespaces/x/configmaps', {
    query: { fieldSelector: 'metadata.name=a' },
    backoff: { baseMs: 1, maxMs: 1 },
    onChange: (type, o) => told.push(`${type} ${o.metadata.name}@${o.metadata.resourceVersion}`),
  });
  inf.start();
  try {
    await until(() => told.length >= 5);
    // The first watch ends at once: the informer backs off, resumes at rv 4, is told 410, relists.
    assert.deepEqual(told, ['ADDED a@1', 'ADDED b@2', 'MODIFIED b@3', 'ADDED c@5', 'DELETED b@3']);
    assert.deepEqual(inf.list().map((o) => o.metadata.name).sort(), ['a', 'c']);
    assert.deepEqual(calls, [
      'list /api/v1/namespaces/x/configmaps?fieldSelector=metadata.name%3Da',
      'watch /api/v1/namespaces/x/configmaps rv=2 fieldSelector=metadata.name=a',
      'watch /api/v1/namespaces/x/configmaps rv=4 fieldSelector=metadata.name=a',
      'list /api/v1/namespaces/x/configmaps?fieldSelector=metadata.name%3Da',
      'watch /api/v1/namespaces/x/configmaps rv=5 fieldSelector=metadata.name=a',
    ]);
  } finally {
    await inf.stop();
  }
});

it('watches from an initial read without listing, and tells nothing for it', async () => {
  const { reader, calls } = scripted([], [[{ type: 'DELETED', object: obj('a', '8') }]]);
  const told: string[] = [];
  const inf = new Informer<Obj>(reader, '/api/v1/namespaces', { initial: { items: [obj('a', '7')], resourceVersion: '7' }, onChange: (type, o) => told.push(`${type} ${o.metadata.name}`) });
  assert.equal(inf.hasSynced, true);
  assert.equal(inf.get('a')?.metadata.resourceVersion, '7');
  inf.start();
  try {
    await until(() => told.length >= 1);
    assert.deepEqual(told, ['DELETED a']);
    assert.equal(calls[0], 'watch /api/v1/namespaces rv=7 fieldSelector=undefined');
    assert.ok(!calls.some((c) => c.startsWith('list')), calls.join('\n'));
    assert.equal(inf.get('a'), undefined);
  } finally {
    await inf.stop();
  }
});
