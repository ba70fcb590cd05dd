// One verdict over many objects' health, as Flux's kustomize-controller gives it when it waits: Failed
// as soon as any object is Failed (Flux stops waiting early on a stalled object), Current only when every
// object is, else InProgress (still waiting: InProgress, Terminating, NotFound and Unknown objects may
// yet become Current before the timeout). The message names the object that decides it — the first
// Failed one, else the first not Current — with that object's own message, and counts the rest.

import type { HealthStatus, ObjectHealth } from './kstatus.js';

export interface NamedHealth extends ObjectHealth {
  /** `Kind/namespace/name` (see objectRef). */
  ref: string;
}

export interface AggregateHealth {
  status: 'Current' | 'InProgress' | 'Failed';
  message: string;
  /** The objects that are not Current, in the order given. */
  pending: NamedHealth[];
}

const line = (h: NamedHealth) => `${h.ref}: ${h.status === 'InProgress' || h.status === 'Failed' ? '' : `${h.status}: `}${h.message}`;

export function aggregate(statuses: NamedHealth[]): AggregateHealth {
  const pending = statuses.filter((s) => s.status !== 'Current');
  if (!pending.length) return { status: 'Current', message: statuses.length === 1 ? `${statuses[0]!.ref} is Current` : `all ${statuses.length} objects are Current`, pending };
  const failed = pending.filter((s) => s.status === 'Failed');
  const first = failed[0] ?? pending[0]!;
  const others = pending.length - 1;
  const more = others ? ` (and ${others} more not Current${failed.length > 1 ? `, ${failed.length - 1} of them Failed` : ''})` : '';
  const status: AggregateHealth['status'] = failed.length ? 'Failed' : 'InProgress';
  return { status, message: `${line(first)}${more}`, pending };
}

/** Statuses that count as done waiting for one object. */
export const isFinal = (s: HealthStatus) => s === 'Current' || s === 'Failed';
