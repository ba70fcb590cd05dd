// One HTTPS request to a test server on this machine, its whole answer read: what the server, local
// cluster and API-set helpers send their raw requests with.

import https from 'node:https';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = any>(): T;
}

export function httpsCall(
  url: URL,
  o: { method: string; ca: string; cert?: { cert: string; key: string } | null; headers?: Record<string, string>; body?: string | Buffer },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: o.method, ca: o.ca, ...(o.cert ? { cert: o.cert.cert, key: o.cert.key } : {}), headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
