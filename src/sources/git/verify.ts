// spec.verify: OpenPGP signatures of the fetched commit and/or annotated tag, checked with openpgp
// against armored public keys (every data field of the referenced Secret).

import * as openpgp from 'openpgp';
import { ObjectStore } from './objects.js';
import { SignatureVerificationError, type ResolvedRef, type VerifiedSignature, type VerifyMode } from './types.js';

const PGP_BEGIN = '-----BEGIN PGP SIGNATURE-----';

/** Parses every armored key block in `armored` (one string per Secret field). */
export async function readPublicKeys(armored: string[]): Promise<openpgp.PublicKey[]> {
  const keys: openpgp.PublicKey[] = [];
  for (const text of armored) {
    if (!text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) continue;
    try {
      keys.push(...(await openpgp.readKeys({ armoredKeys: text })).map((k) => k.toPublic()));
    } catch (err) {
      throw new SignatureVerificationError(`unable to read armored PGP key: ${(err as Error).message}`);
    }
  }
  if (keys.length === 0) throw new SignatureVerificationError('no PGP public keys found in the verification secret');
  return keys;
}

/**
 * Splits a raw commit into the signed payload and its `gpgsig` header (continuation lines start with
 * a space). Latin-1 keeps every byte as one char, so re-encoding gives the exact signed bytes.
 */
export function splitCommitSignature(raw: Uint8Array): { payload: Uint8Array; signature?: string } {
  const text = Buffer.from(raw).toString('latin1');
  const headerEnd = text.indexOf('\n\n');
  const header = (headerEnd < 0 ? text : text.slice(0, headerEnd + 1)).split('\n');
  const kept: string[] = [];
  let sig: string[] | undefined;
  let inSig = false;
  for (const line of header) {
    if (line.startsWith('gpgsig ')) {
      sig = [line.slice(7)];
      inSig = true;
    } else if (inSig && line.startsWith(' ')) {
      sig!.push(line.slice(1));
    } else {
      inSig = false;
      kept.push(line);
    }
  }
  const rest = headerEnd < 0 ? '' : text.slice(headerEnd + 1);
  return { payload: Buffer.from(kept.join('\n') + rest, 'latin1'), ...(sig ? { signature: sig.join('\n') } : {}) };
}

/** A tag's signature is appended to its message; the payload is everything before it. */
export function splitTagSignature(raw: Uint8Array): { payload: Uint8Array; signature?: string } {
  const text = Buffer.from(raw).toString('latin1');
  const nl = text.lastIndexOf(`\n${PGP_BEGIN}`);
  const at = nl >= 0 ? nl + 1 : text.startsWith(PGP_BEGIN) ? 0 : -1;
  if (at < 0) return { payload: raw };
  return { payload: Buffer.from(text.slice(0, at), 'latin1'), signature: text.slice(at) };
}

async function checkSignature(what: string, payload: Uint8Array, armoredSignature: string | undefined, keys: openpgp.PublicKey[]): Promise<{ keyId: string; fingerprint: string }> {
  if (!armoredSignature) throw new SignatureVerificationError(`${what} is not signed`);
  if (!armoredSignature.startsWith(PGP_BEGIN)) throw new SignatureVerificationError(`${what} has a signature that is not OpenPGP (only PGP signatures can be verified)`);
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature });
  } catch (err) {
    throw new SignatureVerificationError(`${what} has an unreadable PGP signature: ${(err as Error).message}`);
  }
  const message = await openpgp.createMessage({ binary: payload });
  const { signatures } = await openpgp.verify({ message, signature, verificationKeys: keys, format: 'binary' });
  for (const s of signatures) {
    try {
      await s.verified;
    } catch {
      continue;
    }
    const key = keys.find((k) => k.getKeys(s.keyID).length > 0)!;
    return { keyId: key.getKeyID().toHex().toUpperCase(), fingerprint: key.getFingerprint().toUpperCase() };
  }
  const ids = signatures.map((s) => s.keyID.toHex().toUpperCase()).join(', ');
  throw new SignatureVerificationError(`unable to verify the signature of ${what} (signed with key ${ids || 'unknown'}) with any of the given keys`);
}

/**
 * Verifies what `mode` asks for, with the objects already fetched into `cacheDir`: `HEAD` the commit,
 * `Tag` the annotated tag the ref points at, `TagAndHEAD` both. Throws SignatureVerificationError for
 * an unsigned object, a signature no given key verifies, or Tag modes on a ref that is not an
 * annotated tag.
 */
export async function verifySignatures(cacheDir: string, resolved: ResolvedRef, mode: VerifyMode, armoredKeys: string[]): Promise<VerifiedSignature[]> {
  const keys = await readPublicKeys(armoredKeys);
  const store = await ObjectStore.open(cacheDir);
  try {
    return await verify(store, resolved, mode, keys);
  } finally {
    store.close();
  }
}

async function verify(store: ObjectStore, resolved: ResolvedRef, mode: VerifyMode, keys: openpgp.PublicKey[]): Promise<VerifiedSignature[]> {
  const raw = async (oid: string) => (await store.read(oid)).data;
  const out: VerifiedSignature[] = [];
  const m = mode === 'head' ? 'HEAD' : mode;
  if (m === 'Tag' || m === 'TagAndHEAD') {
    if (!resolved.tagObject) {
      throw new SignatureVerificationError(
        resolved.refName?.startsWith('refs/tags/') ? `tag '${resolved.refName.slice(10)}' is a lightweight tag: only annotated tags carry a signature` : `verify mode ${mode} needs a tag reference (spec.ref.tag, semver or a refs/tags/ name)`,
      );
    }
    const { payload, signature } = splitTagSignature(await raw(resolved.tagObject));
    const name = resolved.refName?.replace(/^refs\/tags\//, '') ?? resolved.tagObject;
    out.push({ object: 'tag', name, ...(await checkSignature(`tag '${name}'`, payload, signature, keys)) });
  }
  if (m === 'HEAD' || m === 'TagAndHEAD') {
    const { payload, signature } = splitCommitSignature(await raw(resolved.commit));
    out.push({ object: 'commit', name: resolved.commit, ...(await checkSignature(`commit '${resolved.commit}'`, payload, signature, keys)) });
  }
  if (out.length === 0) throw new SignatureVerificationError(`unknown verify mode ${JSON.stringify(mode)}`);
  return out;
}
