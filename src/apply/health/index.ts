// The health library of src/apply: kstatus rules for one object, CEL health checks (`healthCheckExprs`),
// and one verdict over many. Pure functions: the caller reads the objects from the cluster.

export { objectStatus, objectRef, SCHEDULE_WINDOW_MS, type HealthStatus, type ObjectHealth } from './kstatus.js';
export { celHealthCheck, compileHealthCheck, evaluateReadyExpr, exprMatches, HealthCheckExprError, ReadyExprError, type HealthCheckExpr } from './cel.js';
export { aggregate, isFinal, type AggregateHealth, type NamedHealth } from './aggregate.js';

import { celHealthCheck, exprMatches, type HealthCheckExpr } from './cel.js';
import { objectRef, objectStatus, type ObjectHealth } from './kstatus.js';
import type { NamedHealth } from './aggregate.js';

/**
 * The health of `obj` as a Kustomization judges it: by the first `healthCheckExprs` entry for its
 * apiVersion and kind when there is one, else by kstatus. `ref` names it when it was not found.
 */
export function healthOf(obj: Record<string, any> | undefined, o: { exprs?: HealthCheckExpr[]; ref?: string; now?: number } = {}): NamedHealth {
  const ref = o.ref ?? (obj ? objectRef(obj) : '');
  const expr = obj ? o.exprs?.find((e) => exprMatches(e, obj)) : undefined;
  const h: ObjectHealth = expr ? celHealthCheck(expr, obj) : objectStatus(obj, o.now);
  return { ref, ...h };
}
