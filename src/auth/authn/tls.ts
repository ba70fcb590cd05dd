// What the HTTPS server trusts in the handshake: both the client CA and the front-proxy CA, so either
// kind of client certificate is asked for and received. The handshake only collects certificates;
// which CA a certificate must chain to is decided per authenticator (x509.ts), never by the union.

import type { AuthenticationConfig } from './cluster-config.js';

/** The PEM bundle for the server's `ca` option (with requestCert), or undefined when no CA is configured. */
export function trustedClientCAs(c: AuthenticationConfig): string | undefined {
  const pems = [...new Set([c.clientCA?.pem, c.requestHeader?.ca.pem].filter((p): p is string => !!p))];
  return pems.length ? pems.join('\n') : undefined;
}
