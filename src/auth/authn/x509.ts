// Client certificates, verified here rather than by the TLS layer: the server trusts the union of the
// client CA and the front-proxy CA for the handshake, so which of the two a certificate chains to is
// decided per authenticator, against its own bundle (kube's x509.Authenticator and x509.Verifier).

import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { Authenticator, UserInfo } from '../types.js';
import { InvalidCredentials } from './types.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_USAGE = '2.5.29.37.0';
const MAX_CHAIN = 8;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

interface Verdict {
  leaf?: X509Certificate;
  error?: string;
  /** The verdict holds until the first certificate of the chain expires. */
  until: number;
}

/** A PEM bundle of trusted CAs, parsed once; verifies TLS clients against it, once per connection. */
export class CABundle {
  private readonly certs: X509Certificate[];
  private readonly bySocket = new WeakMap<TLSSocket, Verdict>();

  /** Throws when the text holds no certificate or a malformed one. */
  constructor(readonly pem: string) {
    this.certs = (pem.match(PEM_CERT) ?? []).map((block) => new X509Certificate(block));
    if (this.certs.length === 0) throw new Error('no PEM certificate found');
  }

  /**
   * The client's certificate if it chains to this bundle; undefined if the client sent none; throws
   * InvalidCredentials for a certificate this bundle does not vouch for.
   */
  verifiedClient(socket: TLSSocket): X509Certificate | undefined {
    let v = this.bySocket.get(socket);
    if (!v || Date.now() >= v.until) {
      v = this.verify(socket.getPeerCertificate(true));
      this.bySocket.set(socket, v);
    }
    if (v.error) throw new InvalidCredentials(v.error);
    return v.leaf;
  }

  private verify(peer: DetailedPeerCertificate | undefined): Verdict {
    if (!peer?.raw) return { until: Infinity };
    // The peer's chain as the TLS layer saw it: the leaf, then what the client sent (and what the
    // TLS layer added from its own store); all of it is only a pool of candidate intermediates.
    const pool: X509Certificate[] = [];
    for (let c: DetailedPeerCertificate | undefined = peer; c?.raw && pool.length < MAX_CHAIN; c = c.issuerCertificate === c ? undefined : c.issuerCertificate) {
      pool.push(new X509Certificate(c.raw));
    }
    const [leaf, ...intermediates] = pool;
    const now = Date.now();
    const fail = (why: string): Verdict => ({ error: `x509: ${why} (subject ${leaf.subject.replaceAll('\n', ', ')})`, until: Infinity });
    if (!current(leaf, now)) return fail('certificate has expired or is not yet valid');
    if (!forClientAuth(leaf)) return fail('certificate specifies an incompatible key usage');
    let until = Date.parse(leaf.validTo);
    for (let cert = leaf, depth = 0; depth < MAX_CHAIN; depth++) {
      const root = this.certs.find((r) => issued(r, cert) && current(r, now));
      if (root) return { leaf, until: Math.min(until, Date.parse(root.validTo)) };
      const next = intermediates.find((i) => i.ca && issued(i, cert) && current(i, now) && forClientAuth(i));
      if (!next) break;
      until = Math.min(until, Date.parse(next.validTo));
      cert = next;
    }
    return fail('certificate signed by unknown authority');
  }
}

const issued = (issuer: X509Certificate, cert: X509Certificate) => cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
const current = (c: X509Certificate, now: number) => Date.parse(c.validFrom) <= now && now < Date.parse(c.validTo);
// No extended key usage means any (Go's rule); otherwise it must allow client authentication.
const forClientAuth = (c: X509Certificate) => !c.keyUsage?.length || c.keyUsage.includes(CLIENT_AUTH) || c.keyUsage.includes(ANY_USAGE);

/** The subject's common name (the last, as Go reads it), or undefined. */
export function commonName(cert: X509Certificate): string | undefined {
  return subjectValues(cert, 'CN').at(-1);
}

function subjectValues(cert: X509Certificate, attr: string): string[] {
  const v = (cert.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined>)[attr];
  return v === undefined ? [] : [v].flat();
}

// Subject parsing (toLegacyObject) is costly and a connection's certificate never changes: once per certificate.
const users = new WeakMap<X509Certificate, UserInfo | undefined>();

/** CN is the user name, each O a group; a certificate without a CN names nobody. */
export function userFromCertificate(cert: X509Certificate): UserInfo | undefined {
  let user = users.get(cert);
  if (!users.has(cert)) {
    const name = commonName(cert);
    user = name ? { name, groups: subjectValues(cert, 'O') } : undefined;
    users.set(cert, user);
  }
  return user && { ...user, groups: [...user.groups] }; // callers may add groups

}

/** The socket of a TLS request, or undefined for plain HTTP. */
export const tlsSocket = (req: IncomingMessage) => (req.socket instanceof TLSSocket ? req.socket : undefined);

/** Users named by client certificates that chain to the client CA (read on every request: it reloads). */
export class X509Authenticator implements Authenticator {
  constructor(private readonly clientCA: () => CABundle | undefined) {}

  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const ca = this.clientCA();
    const socket = tlsSocket(req);
    if (!ca || !socket) return undefined;
    const leaf = ca.verifiedClient(socket);
    return leaf && userFromCertificate(leaf);
  }
}
