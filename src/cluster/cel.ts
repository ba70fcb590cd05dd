// CRD validation rules (`x-kubernetes-validations`), evaluated with @bufbuild/cel (Buf's CEL for
// ECMAScript, conformance-tested against the CEL spec; chosen over writing an evaluator of our own).
// As kube-apiserver does: each rule sees the value at its node as `self` (integers as CEL ints, objects
// as maps), transition rules (those naming `oldSelf`) run only on an update where the old value is
// there, and a failed rule is a field error with the rule's message (or `failed rule: <rule>`).
// What this library lacks of kube's CEL environment (its lists, regex, quantity, url, ip/cidr and
// format libraries) cannot be evaluated here: such rules are reported as a warning when the CRD is
// written and skipped, never silently passed off as checked.

import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { toCelValue as toCel } from '../apis/meta/cel-values.js';
import type { FieldError, JSONSchemaProps } from '../apis/meta/resource.js';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
  optionalOldSelf?: boolean;
}
type WithRules = JSONSchemaProps & { 'x-kubernetes-validations'?: ValidationRule[] };

const env = celEnv({ funcs: strings });
type Program = ReturnType<typeof plan>;

interface Compiled {
  program?: Program;
  /** Functions the rule calls that this environment does not have. */
  missing: string[];
  transition: boolean;
  error?: string;
}
const cache = new Map<string, Compiled>();

/** Names the rule calls, from its parsed form (the AST's call expressions). */
function calledFunctions(node: unknown, out: Set<string>): void {
  const stack = [node];
  while (stack.length) {
    const n = stack.pop();
    if (!n || typeof n !== 'object') continue;
    const o = n as Record<string, unknown>;
    if (o.case === 'callExpr' && o.value && typeof (o.value as { function?: unknown }).function === 'string') out.add((o.value as { function: string }).function);
    for (const v of Object.values(o)) if (v && typeof v === 'object') stack.push(v);
  }
}

/** Whether the expression reads `oldSelf` (a transition rule). */
function readsOldSelf(node: unknown): boolean {
  const stack = [node];
  while (stack.length) {
    const n = stack.pop();
    if (!n || typeof n !== 'object') continue;
    const o = n as Record<string, unknown>;
    if (o.case === 'identExpr' && (o.value as { name?: string })?.name === 'oldSelf') return true;
    for (const v of Object.values(o)) if (v && typeof v === 'object') stack.push(v);
  }
  return false;
}

// Operators and macros the parser turns into calls; they always exist.
const BUILTIN = /^(_.*_|!_|-_|@.*|_\[_\]|has|all|exists|exists_one|map|filter)$/;

function compile(rule: string): Compiled {
  let c = cache.get(rule);
  if (c) return c;
  try {
    const parsed = parse(rule);
    const names = new Set<string>();
    calledFunctions(parsed.expr, names);
    const missing = [...names].filter((n) => !BUILTIN.test(n) && !env.funcs.find(n));
    c = { missing, transition: readsOldSelf(parsed.expr), ...(missing.length ? {} : { program: plan(env, parsed) }) };
  } catch (e) {
    c = { missing: [], transition: false, error: (e as Error).message };
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(rule, c);
  return c;
}

/** Each rule node of a schema with its path (`spec.replicas`) as kube names schema locations. */
function* ruleNodes(schema: WithRules, path = ''): Generator<{ node: WithRules; path: string }> {
  const stack: [WithRules, string, number][] = [[schema, path, 0]];
  while (stack.length) {
    const [s, at, depth] = stack.pop()!;
    if (depth > 64) continue;
    if (s['x-kubernetes-validations']?.length) yield { node: s, path: at };
    for (const [k, p] of Object.entries(s.properties ?? {})) stack.push([p as WithRules, at ? `${at}.properties[${k}]` : `properties[${k}]`, depth + 1]);
    if (s.items) stack.push([s.items as WithRules, `${at}.items`, depth + 1]);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') stack.push([s.additionalProperties as WithRules, `${at}.additionalProperties`, depth + 1]);
  }
}

/** Rules that do not parse: the CRD is refused, as kube refuses a rule that does not compile. */
export function celRuleErrors(schema: JSONSchemaProps, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const { node, path: at } of ruleNodes(schema as WithRules)) {
    node['x-kubernetes-validations']!.forEach((r, i) => {
      const where = `${path}${at ? `.${at}` : ''}.x-kubernetes-validations[${i}].rule`;
      if (typeof r?.rule !== 'string' || !r.rule.trim()) return void errors.push({ type: 'FieldValueRequired', field: where, message: 'Required value' });
      const c = compile(r.rule);
      if (c.error) errors.push({ type: 'FieldValueInvalid', field: where, value: r.rule, message: `compilation failed: ${c.error}` });
    });
  }
  return errors;
}

/** Rules this cluster cannot evaluate (functions of kube's CEL libraries that @bufbuild/cel lacks). */
export function celWarnings(schema: JSONSchemaProps, path: string): string[] {
  const out: string[] = [];
  for (const { node, path: at } of ruleNodes(schema as WithRules)) {
    node['x-kubernetes-validations']!.forEach((r, i) => {
      const c = typeof r?.rule === 'string' ? compile(r.rule) : undefined;
      if (c?.missing.length)
        out.push(`${path}${at ? `.${at}` : ''}.x-kubernetes-validations[${i}]: the local cluster cannot evaluate ${c.missing.map((m) => `${m}()`).join(', ')}; this rule is not checked`);
    });
  }
  return out;
}

/** kube's field path printing: `spec.items[2].name`. */
const join = (base: string, key: string | number) => (typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key);

const kindOfValue = (v: unknown) => (Array.isArray(v) ? 'array' : v !== null && typeof v === 'object' ? 'object' : v);

/** Evaluates every rule the object reaches; `old` is the stored object on an update. */
export function celErrors(schema: JSONSchemaProps, obj: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const stack: [WithRules, unknown, unknown, string, number][] = [[schema as WithRules, obj, old, '', 0]];
  while (stack.length) {
    const [s, v, o, at, depth] = stack.pop()!;
    if (v === undefined || depth > 64) continue;
    for (const r of s['x-kubernetes-validations'] ?? []) {
      if (typeof r?.rule !== 'string') continue;
      const c = compile(r.rule);
      if (!c.program) continue; // unparsable rules were refused with the CRD; unevaluable ones warned about
      if (c.transition && o === undefined && !r.optionalOldSelf) continue;
      const bindings: Record<string, unknown> = { self: toCel(v, s) };
      if (c.transition) bindings.oldSelf = o === undefined ? null : toCel(o, s);
      const result = c.program(bindings as never);
      const field = r.fieldPath ? join(at, r.fieldPath.replace(/^\./, '')) : at;
      if (isCelError(result)) {
        errors.push({ type: 'FieldValueInvalid', field: field || '<nil>', value: kindOfValue(v), message: `rule evaluation error: ${(result as { message?: string }).message ?? String(result)}` });
      } else if (result !== true) {
        errors.push({ type: r.reason ?? 'FieldValueInvalid', field: field || '<nil>', value: kindOfValue(v), message: r.message ?? `failed rule: ${r.rule}` });
      }
    }
    if (Array.isArray(v)) {
      // Old items are matched by index only for list-type map keys; otherwise transition rules below have no old value.
      const keys = s['x-kubernetes-list-map-keys'];
      const oldList = Array.isArray(o) ? o : [];
      v.forEach((item, i) => {
        const before = keys?.length ? oldList.find((x) => keys.every((k) => (x as Record<string, unknown>)?.[k] === (item as Record<string, unknown>)?.[k])) : undefined;
        if (s.items) stack.push([s.items as WithRules, item, before, join(at, i), depth + 1]);
      });
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const child = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
        if (child) stack.push([child as WithRules, x, o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined, join(at, k), depth + 1]);
      }
    }
  }
  return errors;
}
