import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { generateCA, issueCert } from '../pki/certs.js';
import { ClusterSecretReader, DirectorySecretReader } from './secrets.js';
import { KubeClient } from './client.js';

describe('DirectorySecretReader', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secrets-'));
    await writeFile(
      join(dir, 'git.yaml'),
      [
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: basic\n  namespace: flux\ndata:\n  username: ' + Buffer.from('git').toString('base64') + '\nstringData:\n  password: s3cret\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: basic\n  namespace: flux\n',
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  bearerToken: abc\n',
      ].join('---\n'),
    );
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('finds Secrets by namespace and name, merging data and stringData', async () => {
    const r = new DirectorySecretReader(dir);
    const s = await r.get('flux', 'basic');
    assert.equal(s?.username.toString(), 'git');
    assert.equal(s?.password.toString(), 's3cret');
    assert.equal((await r.get('default', 'token'))?.bearerToken.toString(), 'abc', 'no namespace means default');
    assert.equal(await r.get('other', 'basic'), undefined);
    assert.equal(await new DirectorySecretReader(join(dir, 'missing')).get('flux', 'basic'), undefined);
  });
});

describe('ClusterSecretReader', () => {
  // Speaks kube-apiserver's wire format for GET /api/v1/namespaces/NS/secrets/NAME.
  const requests: string[] = [];
  let server: https.Server;
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.setHeader('Content-Type', 'application/json');
    if (req.url === '/api/v1/namespaces/flux/secrets/basic') {
      res.end(JSON.stringify({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 'basic', namespace: 'flux' }, type: 'Opaque', data: { password: Buffer.from('pw').toString('base64') } }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'secrets "x" not found', reason: 'NotFound', details: { name: 'x', kind: 'secrets' }, code: 404 }));
    }
  };
  let kc: k8s.KubeConfig;
  before(async () => {
    const ca = await generateCA('test-apiserver-ca');
    const serving = await issueCert(ca, { cn: 'kube-apiserver', ips: ['127.0.0.1'], server: true, days: 1 });
    server = https.createServer({ cert: serving.cert, key: serving.key }, handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.cert).toString('base64') }],
      users: [{ name: 'u', token: 'server-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('reads a Secret with the server credentials, and a 404 is "none"', async () => {
    const r = new ClusterSecretReader(new KubeClient(kc));
    assert.equal((await r.get('flux', 'basic'))?.password.toString(), 'pw');
    assert.equal(await r.get('flux', 'missing'), undefined);
    assert.deepEqual(requests, ['GET /api/v1/namespaces/flux/secrets/basic Bearer server-token', 'GET /api/v1/namespaces/flux/secrets/missing Bearer server-token']);
  });
});
