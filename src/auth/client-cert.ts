// Authenticates a request by its TLS client certificate, verified by the TLS layer against the CA
// (requestCert with rejectUnauthorized off, so an unauthenticated request still gets a 401 Status).
// The certificate's CN is the user name and its O values are the groups, as in kube-apiserver.

import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Authenticator, UserInfo } from './types.js';

export class ClientCertAuthenticator implements Authenticator {
  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const socket = req.socket as TLSSocket;
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
