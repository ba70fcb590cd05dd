import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvalidCredentials } from './types.js';
import { ServiceAccountTokenAuthenticator, signServiceAccountToken } from './service-account-token.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const sa = { namespace: 'team-a', name: 'deployer', uid: 'uid-1' };
const ISSUER = 'https://local-cluster.example';
const authn = (o: { now?: () => number; audiences?: string[] } = {}) => new ServiceAccountTokenAuthenticator({ publicKeys: [publicKey], issuers: [ISSUER], audiences: o.audiences ?? [ISSUER], now: o.now });
const refused = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof InvalidCredentials && re.test((e as Error).message));

describe('service account tokens', () => {
  it('a signed token authenticates as the service account, with kube’s groups, uid and credential id', async () => {
    const { token, expirationTimestamp } = signServiceAccountToken(privateKey, { issuer: ISSUER, audiences: [ISSUER], sa, expirationSeconds: 600, now: Date.UTC(2026, 0, 1) });
    assert.equal(expirationTimestamp, '2026-01-01T00:10:00Z');
    const user = await authn({ now: () => Date.UTC(2026, 0, 1, 0, 5) }).authenticateToken(token);
    assert.equal(user?.name, 'system:serviceaccount:team-a:deployer');
    assert.equal(user?.uid, 'uid-1');
    assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a']);
    assert.match(user!.extra!['authentication.kubernetes.io/credential-id'][0], /^JTI=[0-9a-f-]{36}$/);
    const [head, body] = token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, any>);
    assert.equal(head.alg, 'RS256');
    assert.deepEqual(body['kubernetes.io'], { namespace: 'team-a', serviceaccount: { name: 'deployer', uid: 'uid-1' } });
  });

  it('refuses an expired, foreign-signed, tampered or wrong-audience token; leaves other tokens to the next authenticator', async () => {
    const at = Date.UTC(2026, 0, 1);
    const { token } = signServiceAccountToken(privateKey, { issuer: ISSUER, audiences: [ISSUER], sa, expirationSeconds: 600, now: at });
    await refused(authn({ now: () => at + 3_600_000 }).authenticateToken(token), /expired/);
    await refused(authn({ now: () => at, audiences: ['other'] }).authenticateToken(token), /no accepted audience/);
    const foreign = signServiceAccountToken(other.privateKey, { issuer: ISSUER, audiences: [ISSUER], sa, now: at }).token;
    await refused(authn({ now: () => at }).authenticateToken(foreign), /invalid signature/);
    const [h, b, sig] = token.split('.');
    const claims = JSON.parse(Buffer.from(b, 'base64url').toString());
    claims.sub = 'system:serviceaccount:kube-system:admin';
    await refused(authn({ now: () => at }).authenticateToken(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`), /invalid signature/);
    // re-signed with the right key but claims that do not agree with each other
    const bad = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    await refused(authn({ now: () => at }).authenticateToken(`${bad}.${sign('RSA-SHA256', Buffer.from(bad), privateKey).toString('base64url')}`), /malformed claims/);
    assert.equal(await authn().authenticateToken('tok-from-a-file'), undefined);
    const otherIssuer = signServiceAccountToken(privateKey, { issuer: 'https://elsewhere', audiences: [ISSUER], sa }).token;
    assert.equal(await authn().authenticateToken(otherIssuer), undefined, 'another issuer’s token is not ours to judge');
  });
});
