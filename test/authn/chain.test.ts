// The authentication chain over real TLS connections: front-proxy headers, client certificates,
// token-file bearer tokens and the anonymous fallback.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AuthenticationChain } from '../../src/auth/authn/chain.js';
import type { AuthenticationConfig } from '../../src/auth/authn/cluster-config.js';
import { trustedClientCAs } from '../../src/auth/authn/tls.js';
import { parseTokenFile, TokenFileAuthenticator } from '../../src/auth/authn/token-file.js';
import { CABundle } from '../../src/auth/authn/x509.js';
import { issueCert, type CertKeyPair } from '../../src/pki/certs.js';
import { call, intermediateCA, mintPKI, startAuthServer, type AuthServer, type PKI } from './fixture.js';

const HEADERS = { usernameHeaders: ['X-Remote-User'], uidHeaders: ['X-Remote-Uid'], groupHeaders: ['X-Remote-Group'], extraHeaderPrefixes: ['X-Remote-Extra-'] };
const IDENTITY = {
  'X-Remote-User': 'alice',
  'X-Remote-Uid': 'uid-1',
  'X-Remote-Group': ['devs', 'ops,qa'],
  'X-Remote-Extra-Acme.com%2Fproject': ['p1', 'p2'],
  'X-Remote-Extra-Scopes': 'read',
};

let pki: PKI;
let proxy: CertKeyPair;
let strangerProxy: CertKeyPair; // signed by the front-proxy CA, CN not allowed
let otherProxy: CertKeyPair; // CN allowed, wrong CA
let bob: CertKeyPair; // client CA, two groups
let config: AuthenticationConfig;
const tokens = new TokenFileAuthenticator(parseTokenFile('tok-carol,carol,uid-c,"editors,system:authenticated"\ntok-dave,dave,,\n'));

before(async () => {
  pki = await mintPKI();
  [proxy, strangerProxy, otherProxy, bob] = await Promise.all([
    issueCert(pki.frontProxyCA, { cn: 'front-proxy-client', client: true, days: 1 }),
    issueCert(pki.frontProxyCA, { cn: 'someone-else', client: true, days: 1 }),
    issueCert(pki.otherCA, { cn: 'front-proxy-client', client: true, days: 1 }),
    issueCert(pki.clientCA, { cn: 'bob', org: ['team-a', 'team-b'], client: true, days: 1 }),
  ]);
  config = {
    clientCA: new CABundle(pki.clientCA.cert),
    requestHeader: { ca: new CABundle(pki.frontProxyCA.cert), allowedNames: ['front-proxy-client'], ...HEADERS },
  };
});

describe('front-proxy request headers', () => {
  let s: AuthServer;
  before(async () => {
    s = await startAuthServer(pki, new AuthenticationChain({ config: () => config }), trustedClientCAs(config));
  });
  after(() => s.close());

  test('a proxy certificate from the request-header CA with an allowed CN: the headers name the user', async () => {
    const r = await call(s, pki, { cert: proxy, headers: IDENTITY });
    assert.equal(r.status, 200);
    assert.deepEqual(r.user, {
      name: 'alice',
      uid: 'uid-1',
      groups: ['devs', 'ops,qa', 'system:authenticated'],
      extra: { 'acme.com/project': ['p1', 'p2'], scopes: ['read'] },
    });
    assert.deepEqual(r.leftHeaders, [], 'identity headers are removed once read');
  });

  test('without a client certificate the headers are ignored', async () => {
    const r = await call(s, pki, { headers: IDENTITY });
    assert.equal(r.status, 401);
  });

  test('a certificate from another CA, even with an allowed CN, is not a proxy', async () => {
    const r = await call(s, pki, { cert: otherProxy, headers: IDENTITY });
    assert.equal(r.status, 401);
  });

  test('a request-header CA certificate whose CN is not allowed is not a proxy', async () => {
    const r = await call(s, pki, { cert: strangerProxy, headers: IDENTITY });
    assert.equal(r.status, 401);
  });

  test('a client-CA certificate sending the headers authenticates as itself, even with the allowed CN', async () => {
    const r = await call(s, pki, { cert: bob, headers: IDENTITY });
    assert.equal(r.status, 200);
    assert.deepEqual(r.user, { name: 'bob', groups: ['team-a', 'team-b', 'system:authenticated'] });
    const impostor = await issueCert(pki.clientCA, { cn: 'front-proxy-client', client: true, days: 1 });
    const i = await call(s, pki, { cert: impostor, headers: IDENTITY });
    assert.deepEqual(i.user, { name: 'front-proxy-client', groups: ['system:authenticated'] });
  });

  test('a proxy certificate without a user header authenticates nobody (it is not a client-CA certificate)', async () => {
    const r = await call(s, pki, { cert: proxy, headers: { 'X-Remote-Group': 'devs' } });
    assert.equal(r.status, 401);
  });

  test('an empty allowed-names list lets any certificate of the request-header CA proxy', async () => {
    const open: AuthenticationConfig = { requestHeader: { ...config.requestHeader!, allowedNames: [] } };
    const s2 = await startAuthServer(pki, new AuthenticationChain({ config: () => open }), trustedClientCAs(open));
    try {
      const r = await call(s2, pki, { cert: strangerProxy, headers: { 'x-remote-user': 'erin' } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.user, { name: 'erin', groups: ['system:authenticated'] });
      // Still only that CA: a client-CA certificate's headers stay unread (and it names no one here).
      assert.equal((await call(s2, pki, { cert: bob, headers: { 'x-remote-user': 'erin' } })).status, 401);
    } finally {
      await s2.close();
    }
  });

  test('the configured header names are used, checked in order', async () => {
    const custom: AuthenticationConfig = {
      requestHeader: { ca: config.requestHeader!.ca, allowedNames: [], usernameHeaders: ['X-Proxy-User', 'X-Remote-User'], uidHeaders: [], groupHeaders: ['X-Proxy-Group'], extraHeaderPrefixes: ['X-Proxy-Extra-'] },
    };
    const s2 = await startAuthServer(pki, new AuthenticationChain({ config: () => custom }), trustedClientCAs(custom));
    try {
      const r = await call(s2, pki, { cert: proxy, headers: { 'X-Remote-User': 'second', 'X-Proxy-User': 'first', 'X-Remote-Uid': 'ignored', 'X-Remote-Group': 'ignored', 'X-Proxy-Group': 'g', 'X-Proxy-Extra-K%zz': 'v' } });
      assert.equal(r.status, 200);
      // A malformed escape keeps the key as sent.
      assert.deepEqual(r.user, { name: 'first', groups: ['g', 'system:authenticated'], extra: { 'k%zz': ['v'] } });
    } finally {
      await s2.close();
    }
  });
});

describe('x509 client certificates', () => {
  let s: AuthServer;
  before(async () => {
    s = await startAuthServer(pki, new AuthenticationChain({ config: () => config }), trustedClientCAs(config));
  });
  after(() => s.close());

  test('CN is the user and each O a group', async () => {
    const r = await call(s, pki, { cert: bob });
    assert.deepEqual(r.user, { name: 'bob', groups: ['team-a', 'team-b', 'system:authenticated'] });
  });

  test('a certificate of the request-header CA is not a client certificate', async () => {
    const r = await call(s, pki, { cert: proxy });
    assert.equal(r.status, 401);
  });

  test('an expired certificate is rejected', async () => {
    const expired = await issueCert(pki.clientCA, { cn: 'old', client: true, days: 0 });
    const r = await call(s, pki, { cert: expired });
    assert.equal(r.status, 401);
  });

  test('a certificate limited to server authentication is rejected', async () => {
    const serverOnly = await issueCert(pki.clientCA, { cn: 'srv', server: true, days: 1 });
    const r = await call(s, pki, { cert: serverOnly });
    assert.equal(r.status, 401);
  });

  test('a chain through an intermediate CA sent by the client verifies; one through a non-CA certificate does not', async () => {
    const mid = intermediateCA(pki.clientCA, 'client-intermediate');
    const leaf = await issueCert(mid, { cn: 'frank', org: 'mid-team', client: true, days: 1 });
    const good = await call(s, pki, { cert: { cert: leaf.cert + mid.cert, key: leaf.key } });
    assert.deepEqual(good.user, { name: 'frank', groups: ['mid-team', 'system:authenticated'] });

    const notCA = await issueCert(pki.clientCA, { cn: 'not-a-ca', client: true, days: 1 });
    const forged = await issueCert(notCA, { cn: 'mallory', client: true, days: 1 });
    const bad = await call(s, pki, { cert: { cert: forged.cert + notCA.cert, key: forged.key } });
    assert.equal(bad.status, 401);
  });

  test('with several requests on one connection the certificate is verified once and still answers', async () => {
    const bundle = new CABundle(pki.clientCA.cert);
    let verifications = 0;
    const counting = new Proxy(bundle, {
      get(target, prop, receiver) {
        if (prop === 'verify') verifications++;
        return Reflect.get(target, prop, receiver);
      },
    });
    const c: AuthenticationConfig = { clientCA: counting };
    const s2 = await startAuthServer(pki, new AuthenticationChain({ config: () => c }), trustedClientCAs(c));
    try {
      const https = await import('node:https');
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: pki.serverCA.cert, ...bob });
      const once = () =>
        new Promise<number>((resolve, reject) => {
          https.get({ host: '127.0.0.1', port: s2.port, agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', reject);
        });
      assert.deepEqual([await once(), await once(), await once()], [200, 200, 200]);
      assert.equal(verifications, 1);
      agent.destroy();
    } finally {
      await s2.close();
    }
  });
});

describe('bearer tokens from the token file, and anonymous', () => {
  let s: AuthServer;
  let anon: AuthServer;
  before(async () => {
    s = await startAuthServer(pki, new AuthenticationChain({ config: () => config, tokens: [tokens] }), trustedClientCAs(config));
    anon = await startAuthServer(pki, new AuthenticationChain({ config: () => config, tokens: [tokens], anonymous: true }), trustedClientCAs(config));
  });
  after(async () => {
    await s.close();
    await anon.close();
  });

  test('a known token names its user; system:authenticated is not added twice; the header is removed', async () => {
    const r = await call(s, pki, { headers: { Authorization: 'Bearer tok-carol' } });
    assert.deepEqual(r.user, { name: 'carol', uid: 'uid-c', groups: ['editors', 'system:authenticated'] });
    assert.deepEqual(r.leftHeaders, []);
    const d = await call(s, pki, { headers: { Authorization: 'bearer tok-dave' } });
    assert.deepEqual(d.user, { name: 'dave', groups: ['system:authenticated'] });
  });

  test('an unknown token is a 401, with or without anonymous', async () => {
    assert.equal((await call(s, pki, { headers: { Authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await call(anon, pki, { headers: { Authorization: 'Bearer nope' } })).status, 401);
  });

  test('no credential: 401 unless anonymous is enabled, then system:anonymous outside system:authenticated', async () => {
    assert.equal((await call(s, pki)).status, 401);
    const r = await call(anon, pki);
    assert.deepEqual(r.user, { name: 'system:anonymous', groups: ['system:unauthenticated'] });
  });

  test('a rejected client certificate is not turned into anonymous', async () => {
    const r = await call(anon, pki, { cert: otherProxy });
    assert.equal(r.status, 401);
  });

  test('a non-bearer Authorization header is no credential', async () => {
    assert.equal((await call(anon, pki, { headers: { Authorization: 'Basic Zm9vOmJhcg==' } })).user?.name, 'system:anonymous');
  });
});
