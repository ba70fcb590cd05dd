// --authorization-mode with several modes: asked in order, the first to allow wins, as kube's union
// authorizer does. AlwaysAllow lets every authenticated request through (standalone default).

import type { Authorizer, Decision, RequestAttributes } from '../types.js';

export const alwaysAllow: Authorizer = { authorize: async () => ({ allowed: true }) };

export class UnionAuthorizer implements Authorizer {
  constructor(private readonly authorizers: Authorizer[]) {}

  async authorize(a: RequestAttributes): Promise<Decision> {
    const reasons: string[] = [];
    for (const z of this.authorizers) {
      const d = await z.authorize(a);
      if (d.allowed) return d;
      if (d.reason) reasons.push(d.reason);
    }
    return { allowed: false, ...(reasons.length ? { reason: reasons.join(', ') } : {}) };
  }
}
