// --authorization-mode with several modes: asked in order, the first to allow wins, as kube's union
// authorizer does. AlwaysAllow lets every authenticated request through (standalone default).

import type { Authorizer, Decision, RequestAttributes, Rules, UserInfo } from '../types.js';
import { ALL_RULES } from './rbac.js';

export const alwaysAllow: Authorizer = { authorize: async () => ({ allowed: true }), rulesFor: async () => ({ rules: ALL_RULES, incomplete: false }) };

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

  /** Every authorizer's rules together; one that cannot list them (a webhook) makes the list incomplete. */
  async rulesFor(user: UserInfo, namespace: string): Promise<Rules> {
    const out: Rules = { rules: [], incomplete: false };
    const errors: string[] = [];
    for (const z of this.authorizers) {
      if (!z.rulesFor) {
        out.incomplete = true;
        continue;
      }
      const r = await z.rulesFor(user, namespace);
      out.rules.push(...r.rules);
      if (r.incomplete) out.incomplete = true;
      if (r.evaluationError) errors.push(r.evaluationError);
    }
    return errors.length ? { ...out, evaluationError: errors.join(', ') } : out;
  }
}
