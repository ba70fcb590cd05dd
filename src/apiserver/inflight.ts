// kube-apiserver's max-in-flight filter (--max-requests-inflight, --max-mutating-requests-inflight),
// run after authentication: past the limit a request gets 429 with Retry-After, which clients retry.
// system:masters is never limited; watches, being long-running, are not counted.

import type { NextFunction, Request, Response } from 'express';
import { StatusError } from '../apis/meta/errors.js';

const MUTATING_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** `readOnly` and `mutating` requests served at once; 0 is no limit. */
export function maxInflight(limits: { readOnly: number; mutating: number }) {
  const inflight = { readOnly: 0, mutating: 0 };
  return (req: Request, res: Response, next: NextFunction): void => {
    const verb = req.info?.verb;
    if (!req.user || verb === 'watch' || req.user.groups.includes('system:masters')) return next();
    const kind = MUTATING_VERBS.has(verb ?? '') || !['GET', 'HEAD', 'OPTIONS'].includes(req.method) ? 'mutating' : 'readOnly';
    const limit = limits[kind];
    if (limit > 0 && inflight[kind] >= limit) {
      res.setHeader('Retry-After', '1');
      return next(new StatusError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 }));
    }
    inflight[kind]++;
    // Released when the handler ends the answer: 'finish' can come after the client, having read it,
    // has already sent its next request. 'close' covers a request cut short.
    let done = false;
    const release = () => {
      if (!done) inflight[kind]--;
      done = true;
    };
    const end = res.end.bind(res) as (...a: unknown[]) => Response;
    res.end = ((...a: unknown[]) => {
      release();
      return end(...a);
    }) as typeof res.end;
    res.once('close', release);
    next();
  };
}
