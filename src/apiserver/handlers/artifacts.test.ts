import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { KubeObject } from '../../apis/meta/types.js';
import { gitRepository } from '../../apis/v1/git-repository.js';
import { ArtifactStore } from '../../artifacts/store.js';
import type { ArchiveEntry, StoredArtifact } from '../../artifacts/types.js';
import { ResourceStore } from '../../registry/store.js';
import { openSqliteStorage, type SqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { StatusError } from '../../apis/meta/errors.js';
import { artifactServer } from './artifacts.js';

const entry = (text: string): ArchiveEntry => ({ path: 'a.txt', type: 'file', size: Buffer.byteLength(text), read: async () => Buffer.from(text) });
const repo = (namespace: string, name: string, artifact: Partial<StoredArtifact>): KubeObject => ({
  apiVersion: 'gitops.toolkit/v1',
  kind: 'GitRepository',
  metadata: { namespace, name },
  spec: {},
  status: { artifact },
});

let root: string;
let storage: SqliteStorage;
let artifacts: ArtifactStore;
let server: ReturnType<express.Express['listen']>;
let port: number;
let victim: StoredArtifact;
let mine: StoredArtifact;
let mineOld: StoredArtifact;
// The object whose status the next request serves: what a user with status write could have set.
let current: KubeObject;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'artifact-handler-'));
  storage = openSqliteStorage({ path: ':memory:', compactIntervalMs: 0 });
  artifacts = new ArtifactStore(root);
  victim = await artifacts.store({ kind: 'GitRepository', namespace: 'secret', name: 'private' }, [entry('secret data')]);
  mineOld = await artifacts.store({ kind: 'GitRepository', namespace: 'team', name: 'mine' }, [entry('old')]);
  mine = await artifacts.store({ kind: 'GitRepository', namespace: 'team', name: 'mine' }, [entry('mine')]);
  const store = new ResourceStore(gitRepository, storage);
  const serve = artifactServer(artifacts);
  const app = express();
  app.get('/', (req, res) => serve.serve(req, res, store, current));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err instanceof StatusError ? err.code : 500).end(err instanceof Error ? err.message : '');
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((r) => server.close(r));
  storage.close();
  await rm(root, { recursive: true, force: true });
});

async function get(obj: KubeObject): Promise<{ status: number; body: Buffer }> {
  current = obj;
  const r = await fetch(`http://127.0.0.1:${port}/`);
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
}

describe('artifact subresource', () => {
  it("serves the object's own artifact", async () => {
    const r = await get(repo('team', 'mine', mine));
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, await readFile(artifacts.absolute(mine.path)));
  });

  it("refuses a status path naming another object's artifact or the shared content file", async () => {
    const hex = victim.digest.slice('sha256:'.length);
    for (const path of [victim.path, `sha256/${hex}.tar.gz`]) {
      const r = await get(repo('team', 'mine', { ...mine, path, digest: victim.digest }));
      assert.equal(r.status, 404, path);
      assert.match(r.body.toString(), /does not name its own stored artifact/, path);
    }
  });

  it('refuses traversal, absolute paths and a digest that is not the file name', async () => {
    for (const forged of [
      { path: '../../certs/ca.key' },
      { path: `/${root}/${mine.path}` },
      { path: `gitrepository/team/mine/../../secret/private/${victim.digest.slice(7)}.tar.gz`, digest: victim.digest },
      { digest: mineOld.digest }, // own path, another digest: the ETag would lie
    ]) {
      const r = await get(repo('team', 'mine', { ...mine, ...forged }));
      assert.equal(r.status, 404, JSON.stringify(forged));
    }
  });
});
