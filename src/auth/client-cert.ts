// Authenticates a request by its TLS client certificate, verified by the TLS layer against the CA
// (requestCert with rejectUnauthorized off, so an unauthenticated request still gets a 401 Status).
// The certificate's CN is the user name and its O values are the groups, as in kube-apiserver.

import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Authenticator, UserInfo } from './types.js';

export class ClientCertAuthenticator implements Authenticator {
  // A TLS connection's certificate cannot change, so it is read once per connection, not per request.
  private readonly bySocket = new WeakMap<TLSSocket, UserInfo | undefined>();

  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const socket = req.socket as TLSSocket;
    if (this.bySocket.has(socket)) return this.bySocket.get(socket);
    const user = this.fromCertificate(socket);
    this.bySocket.set(socket, user);
    return user;
  }

  private fromCertificate(socket: TLSSocket): UserInfo | undefined {
    if (!socket.authorized) return undefined;
    const cert = socket.getPeerCertificate();
    const cn = cert?.subject?.CN;
    if (!cn) return undefined;
    const name = Array.isArray(cn) ? cn[0] : cn;
    const o = cert.subject.O;
    const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
    return { name, groups: [...groups, 'system:authenticated'] };
  }
}

/** Standalone: every authenticated user may do everything (RBAC comes with cluster mode). */
export class AlwaysAllowAuthorizer {
  async authorize() {
    return { allowed: true };
  }
}
