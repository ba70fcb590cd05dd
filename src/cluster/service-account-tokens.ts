// ServiceAccount tokens of the local cluster: the `token` subresource (TokenRequest, what `kubectl
// create token` posts) signs a JWT with the cluster's key, and the authenticator accepts such tokens
// while their ServiceAccount exists with the uid they name — deleting the ServiceAccount revokes them,
// as kube's legacy-lookup validator does.

import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SubresourceAction } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';
import { invalid, StatusError } from '../apis/meta/errors.js';
import { ServiceAccountTokenAuthenticator, signServiceAccountToken } from '../auth/authn/service-account-token.js';
import type { TokenAuthenticator } from '../auth/authn/types.js';
import { InvalidCredentials } from '../auth/authn/types.js';
import type { UserInfo } from '../auth/types.js';
import { writeFileAtomic } from '../pki/write-atomic.js';
import { rfc3339 } from '../registry/meta.js';
import type { ResourceStores } from '../registry/resource-stores.js';

/** kube's default issuer and API audience (--service-account-issuer / --api-audiences). */
export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

/** The signing key, made on first start and kept in the cert dir (`sa.key`) so tokens outlive restarts. */
export async function serviceAccountKey(certDir: string): Promise<KeyObject> {
  const path = join(certDir, 'sa.key');
  try {
    return createPrivateKey(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFileAtomic(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  return privateKey;
}

/** The `token` subresource of serviceaccounts. */
export function tokenSubresource(stores: ResourceStores, key: KeyObject): SubresourceAction {
  return {
    name: 'token',
    kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
    // A protobuf TokenRequest (kubectl create token) is read by the generated authentication.k8s.io/v1 message.
    async create(namespace, name, body) {
      const sa = await stores.get('', 'v1', 'serviceaccounts')!.get(namespace, name);
      const spec = (body.spec ?? {}) as { audiences?: unknown; expirationSeconds?: unknown; boundObjectRef?: unknown };
      const audiences = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : [ISSUER];
      const raw = spec.expirationSeconds ?? 3600;
      const seconds = typeof raw === 'string' ? Number(raw) : raw;
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < MIN_EXPIRATION_SECONDS || seconds > MAX_EXPIRATION_SECONDS)
        throw invalid('authentication.k8s.io', 'TokenRequest', name, [{ type: 'FieldValueInvalid', field: 'spec.expirationSeconds', value: raw, message: `may not specify a duration less than ${MIN_EXPIRATION_SECONDS} seconds` }]);
      const signed = signServiceAccountToken(key, { issuer: ISSUER, audiences, sa: { namespace, name, uid: sa.metadata.uid! }, expirationSeconds: seconds });
      return {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { name, namespace, creationTimestamp: rfc3339() },
        spec: { audiences, expirationSeconds: seconds, ...(spec.boundObjectRef ? { boundObjectRef: spec.boundObjectRef } : {}) },
        status: { token: signed.token, expirationTimestamp: signed.expirationTimestamp },
      } as KubeObject;
    },
  };
}

/** Accepts the cluster's ServiceAccount tokens (API audience) whose ServiceAccount still exists. */
export function serviceAccountAuthenticator(stores: ResourceStores, key: KeyObject, audiences: string[] = [ISSUER]): TokenAuthenticator {
  const jwt = new ServiceAccountTokenAuthenticator({ publicKeys: [key], issuers: [ISSUER], audiences });
  return {
    async authenticateToken(token: string): Promise<UserInfo | undefined> {
      const user = await jwt.authenticateToken(token);
      if (!user) return undefined;
      const [, , namespace, name] = user.name.split(':');
      let sa: KubeObject;
      try {
        sa = await stores.get('', 'v1', 'serviceaccounts')!.get(namespace, name);
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) throw new InvalidCredentials(`service account token: serviceaccount ${namespace}/${name} has been deleted`);
        throw e;
      }
      if (sa.metadata.uid !== user.uid) throw new InvalidCredentials(`service account token: serviceaccount ${namespace}/${name} was recreated (uid differs)`);
      return user;
    },
  };
}
