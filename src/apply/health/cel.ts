// A Kustomization's `healthCheckExprs`: the health of a kind that kstatus cannot judge, given as CEL
// expressions (`current`, and optionally `inProgress` and `failed`) over the object. Evaluated with
// @bufbuild/cel, the library the local cluster's CRD validation rules use, on the object converted
// the same way (src/apis/meta/cel-values.ts: integers as ints, objects as maps).
//
// As Flux (fluxcd/pkg runtime/cel StatusEvaluator, RFC 0009):
//  - the object's top-level fields are the expression's variables (`status.conditions…`,
//    `metadata.generation`), which is how Flux users write them; `self` is the whole object too;
//  - a status.observedGeneration that differs from metadata.generation is InProgress, before any
//    expression runs;
//  - then the expressions given are tried in the order inProgress, failed, current — RFC 0009's order,
//    which fluxcd/pkg follows — and the first that is true decides; none true is InProgress;
//  - an expression that does not parse is the Kustomization's error (thrown: the reconciler reports
//    it, it is not the object's health); an evaluation error (a field that is not there) or a result
//    that is not a bool is Unknown with the error as the message, as kstatus reports a status
//    function's error, so the wait goes on until the timeout.

import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { toCelValue } from '../../apis/meta/cel-values.js';
import type { HealthStatus, ObjectHealth } from './kstatus.js';

export interface HealthCheckExpr {
  apiVersion: string;
  kind: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

/** An expression of a `healthCheckExprs` entry that cannot be used (missing or not parsable). */
export class HealthCheckExprError extends Error {
  constructor(
    readonly field: 'current' | 'inProgress' | 'failed',
    readonly expr: HealthCheckExpr,
    message: string,
  ) {
    super(`healthCheckExprs ${expr.apiVersion} ${expr.kind}: ${field}: ${message}`);
    this.name = 'HealthCheckExprError';
  }
}

const env = celEnv({ funcs: strings });
type Program = ReturnType<typeof plan>;

const cache = new Map<string, Program>();

/** The planned program of `source`, cached; a parse error is thrown as the library gives it. */
function planned(source: string): Program {
  let p = cache.get(source);
  if (p) return p;
  p = plan(env, parse(source));
  if (cache.size > 1000) cache.clear();
  cache.set(source, p);
  return p;
}

function compile(expr: HealthCheckExpr, field: 'current' | 'inProgress' | 'failed'): Program {
  const source = expr[field]!;
  try {
    return planned(source);
  } catch (e) {
    throw new HealthCheckExprError(field, expr, `failed to parse ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
}

/** The programs of one entry, in evaluation order; throws HealthCheckExprError when one does not parse. */
export function compileHealthCheck(expr: HealthCheckExpr): { field: 'inProgress' | 'failed' | 'current'; status: HealthStatus; program: Program }[] {
  if (typeof expr.current !== 'string' || !expr.current.trim()) throw new HealthCheckExprError('current', expr, 'required');
  const order = [
    ['inProgress', 'InProgress'],
    ['failed', 'Failed'],
    ['current', 'Current'],
  ] as const;
  return order.filter(([f]) => typeof expr[f] === 'string' && expr[f]!.trim()).map(([field, status]) => ({ field, status, program: compile(expr, field) }));
}

/** Whether a `healthCheckExprs` entry applies to `obj` (same apiVersion and kind). */
export function exprMatches(expr: Pick<HealthCheckExpr, 'apiVersion' | 'kind'>, obj: { apiVersion?: string; kind?: string }): boolean {
  return expr.apiVersion === obj.apiVersion && expr.kind === obj.kind;
}

/** The health of `obj` by the entry's expressions; throws HealthCheckExprError on an expression that does not parse. */
export function celHealthCheck(expr: HealthCheckExpr, obj: unknown): ObjectHealth {
  const programs = compileHealthCheck(expr);
  if (obj === undefined || obj === null) return { status: 'NotFound', message: 'not found' };
  if (typeof obj !== 'object' || Array.isArray(obj)) return { status: 'Unknown', message: 'not an object' };
  const o = obj as Record<string, any>;
  const observed = o.status?.observedGeneration;
  const generation = o.metadata?.generation;
  if (observed !== undefined && observed !== null && generation !== undefined && observed !== generation) {
    return { status: 'InProgress', message: `${o.kind ?? 'object'} generation ${generation} not observed yet (status is of generation ${observed})` };
  }
  const self = toCelValue(o) as Map<string, unknown>;
  const bindings: Record<string, unknown> = Object.fromEntries(self);
  bindings.self = self;
  for (const { field, status, program } of programs) {
    let value: unknown;
    try {
      value = program(bindings as never);
    } catch (e) {
      value = e;
    }
    if (isCelError(value) || value instanceof Error) {
      return { status: 'Unknown', message: `${field} expression ${JSON.stringify(expr[field])}: ${(value as { message?: string }).message ?? String(value)}` };
    }
    if (typeof value !== 'boolean') return { status: 'Unknown', message: `${field} expression ${JSON.stringify(expr[field])} is not a bool` };
    if (value) return { status, message: `${field} expression is true` };
  }
  return { status: 'InProgress', message: 'no health check expression is true yet' };
}

/** A `dependsOn[].readyExpr` that does not parse, or does not give a bool. */
export class ReadyExprError extends Error {
  override readonly name = 'ReadyExprError';
}

/**
 * A dependency's `readyExpr` (as Flux: `self` is the dependent, `dep` the dependency): whether the
 * dependency counts as ready. A parse error, an evaluation error or a non-bool result is thrown.
 */
export function evaluateReadyExpr(source: string, self: unknown, dep: unknown): boolean {
  let p: Program;
  try {
    p = planned(source);
  } catch (e) {
    throw new ReadyExprError(`readyExpr ${JSON.stringify(source)} does not parse: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = p({ self: toCelValue(self), dep: toCelValue(dep) } as never);
  } catch (e) {
    value = e;
  }
  if (isCelError(value) || value instanceof Error) throw new ReadyExprError(`readyExpr ${JSON.stringify(source)}: ${(value as { message?: string }).message ?? String(value)}`);
  if (typeof value !== 'boolean') throw new ReadyExprError(`readyExpr ${JSON.stringify(source)} does not give a bool`);
  return value;
}
