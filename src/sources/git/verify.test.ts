import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPublicKeys, splitCommitSignature, splitTagSignature } from './verify.js';
import { SignatureVerificationError } from './types.js';

const SIG = ['-----BEGIN PGP SIGNATURE-----', '', 'iHUEABYIAB0WIQ==', '=3Keb', '-----END PGP SIGNATURE-----'];

describe('signature payloads', () => {
  it('cuts the gpgsig header (with its continuation lines) out of a commit, byte for byte', () => {
    const head = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n';
    const signed = Buffer.from(`${head}gpgsig ${SIG.map((l, i) => (i ? ` ${l}` : l)).join('\n')}\n\nmessage \xe9\n`, 'latin1');
    const { payload, signature } = splitCommitSignature(signed);
    assert.equal(Buffer.from(payload).toString('latin1'), `${head}\nmessage \xe9\n`);
    assert.equal(signature, SIG.join('\n'));
    assert.equal(splitCommitSignature(Buffer.from(`${head}\nmsg\n`)).signature, undefined);
  });

  it('splits a tag at its trailing signature block', () => {
    const body = 'object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nrelease\n';
    const { payload, signature } = splitTagSignature(Buffer.from(`${body}${SIG.join('\n')}\n`));
    assert.equal(Buffer.from(payload).toString(), body);
    assert.equal(signature, `${SIG.join('\n')}\n`);
    assert.equal(splitTagSignature(Buffer.from(body)).signature, undefined);
  });

  it('reads keys only from fields holding armored public keys', async () => {
    await assert.rejects(readPublicKeys(['not a key', '']), (e: unknown) => e instanceof SignatureVerificationError && /no PGP public keys/.test(e.message));
    await assert.rejects(readPublicKeys(['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\ngarbage\n-----END PGP PUBLIC KEY BLOCK-----\n']), /unable to read armored PGP key/);
  });
});
