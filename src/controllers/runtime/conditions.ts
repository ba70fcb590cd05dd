// kstatus conditions: Ready, Reconciling, Stalled plus a kind's own, each with observedGeneration.
// lastTransitionTime moves only when a condition's status changes, as metav1.Condition requires.

import type { Condition } from '../../apis/meta/types.js';
import { rfc3339 } from '../../registry/meta.js';

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

export interface ConditionInput {
  type: string;
  status: Condition['status'];
  reason: string;
  message: string;
}

const ORDER = [READY, RECONCILING, STALLED];
const rank = (t: string) => (ORDER.includes(t) ? ORDER.indexOf(t) : ORDER.length);

export class Conditions {
  private readonly list: Condition[];

  constructor(
    existing: Condition[] | undefined,
    private readonly generation: number,
    private readonly now: () => string = () => rfc3339(),
  ) {
    this.list = (existing ?? []).map((c) => ({ ...c }));
  }

  get(type: string): Condition | undefined {
    return this.list.find((c) => c.type === type);
  }

  isTrue(type: string): boolean {
    return this.get(type)?.status === 'True';
  }

  set(c: ConditionInput): void {
    const message = c.message.length > 32768 ? `${c.message.slice(0, 32765)}...` : c.message;
    const old = this.get(c.type);
    const next: Condition = {
      type: c.type,
      status: c.status,
      observedGeneration: this.generation,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : this.now(),
      reason: c.reason,
      message,
    };
    if (old) this.list.splice(this.list.indexOf(old), 1, next);
    else this.list.push(next);
  }

  delete(type: string): void {
    const i = this.list.findIndex((c) => c.type === type);
    if (i >= 0) this.list.splice(i, 1);
  }

  toArray(): Condition[] {
    return [...this.list].sort((a, b) => rank(a.type) - rank(b.type));
  }
}
