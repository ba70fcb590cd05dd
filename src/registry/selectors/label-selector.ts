// Label selectors with Kubernetes' grammar, validation, error messages and matching rules
// (apimachinery pkg/labels): what `kubectl get -l …` sends and `matchLabels`/`matchExpressions` hold.

import { SelectorError } from './errors.js';
import { labelValueErrors, qualifiedNameErrors } from './label-syntax.js';

/** Kubernetes' selection.Operator values. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  /** ANDed, sorted by key; none selects everything. */
  readonly requirements: readonly LabelRequirement[];
  /** Set for a null metav1.LabelSelector, which selects nothing. */
  readonly nothing?: true;
}

/** metav1.LabelSelector as it appears in an object. */
export interface MetaLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const BINARY_OPERATORS = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

type Tok = 'end' | 'ident' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<';
interface Token { tok: Tok; lit: string }

const SPECIAL = '=!(),><';
const WHITESPACE = ' \t\r\n';
const SYMBOLS = new Set(['(', ')', ',', '!', '=', '==', '!=', '>', '<']);

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && WHITESPACE.includes(s[i])) i++;
    if (i === s.length) {
      out.push({ tok: 'end', lit: '' });
      return out;
    }
    if (SPECIAL.includes(s[i])) {
      // The longest run of special characters that is still an operator: `!=` but `=` then `(`.
      let lit = s[i++];
      while (i < s.length && SYMBOLS.has(lit + s[i])) lit += s[i++];
      out.push({ tok: lit as Tok, lit });
    } else {
      const start = i;
      while (i < s.length && !SPECIAL.includes(s[i]) && !WHITESPACE.includes(s[i])) i++;
      const lit = s.slice(start, i);
      out.push({ tok: lit === 'in' || lit === 'notin' ? lit : 'ident', lit });
    }
  }
}

type FieldProblem = { field: string; value: unknown; detail: string };
// Renders like a field.Error: `values[0][app]: Invalid value: "-x": …`.
const render = (p: FieldProblem) => `${p.field}: Invalid value: ${JSON.stringify(p.value)}: ${p.detail}`;

/** Kubernetes' NewRequirement: validates the key, the operator's arity and every value. */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const problems: FieldProblem[] = [];
  const keyErrs = qualifiedNameErrors(key);
  if (keyErrs.length) problems.push({ field: 'key', value: key, detail: keyErrs.join('; ') });
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) problems.push({ field: 'values', value: values, detail: "for 'in', 'notin' operators, values set can't be empty" });
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) problems.push({ field: 'values', value: values, detail: 'exact-match compatibility requires one single value' });
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) problems.push({ field: 'values', value: values, detail: 'values set must be empty for exists and does not exist' });
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) problems.push({ field: 'values', value: values, detail: "for 'Gt', 'Lt' operators, exactly one value is required" });
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) problems.push({ field: `values[${i}]`, value: v, detail: "for 'Gt', 'Lt' operators, the value must be an integer" });
      });
      break;
  }
  values.forEach((v, i) => {
    const errs = labelValueErrors(v);
    if (errs.length) problems.push({ field: `values[${i}][${key}]`, value: v, detail: errs.join('; ') });
  });
  if (problems.length === 1) throw new SelectorError(render(problems[0]));
  if (problems.length > 1) throw new SelectorError(`[${problems.map(render).join(', ')}]`);
  return { key, operator, values };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64), or undefined. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

// A recursive-descent parser over the token list. In the values context `in` and `notin` are plain
// identifiers, so `in in (in)` is a valid selector, as in Kubernetes.
class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    const t = this.tokens[this.pos];
    return t.tok === 'in' || t.tok === 'notin' ? { tok: 'ident', lit: t.lit } : t;
  }
  private next(): Token {
    const t = this.peek();
    this.pos++;
    return t;
  }
  private nextOperator(): Token {
    return this.tokens[this.pos++];
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek();
      if (tok === 'end') return reqs;
      if (tok !== 'ident' && tok !== '!') throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const after = this.next();
      if (after.tok === 'end') return reqs;
      if (after.tok !== ',') throw new SelectorError(`found '${after.lit}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.tok !== 'ident' && following.tok !== '!') {
        throw new SelectorError(`found '${following.lit}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    let t = this.next();
    const negated = t.tok === '!';
    if (negated) t = this.next();
    if (t.tok !== 'ident') throw new SelectorError(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    // A bad key is reported before any syntax error after it (`-a b`), as Kubernetes does.
    const keyErrs = qualifiedNameErrors(key);
    if (keyErrs.length) throw new SelectorError(render({ field: 'key', value: key, detail: keyErrs.join('; ') }));
    // `!key` ends here whatever follows; the caller then rejects anything but `,` or the end.
    if (negated) return newRequirement(key, '!', []);
    const ahead = this.peek().tok;
    if (ahead === 'end' || ahead === ',') return newRequirement(key, 'exists', []);

    const op = this.nextOperator();
    switch (op.tok) {
      case 'in':
      case 'notin':
        return newRequirement(key, op.tok, this.valueSet());
      case '=':
      case '==':
      case '!=':
        return newRequirement(key, op.tok, [this.exactValue()]);
      case '>':
      case '<':
        return newRequirement(key, op.tok === '>' ? 'gt' : 'lt', [this.exactValue()]);
      default:
        throw new SelectorError(`found '${op.lit}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  /** `(a,b,c)`; empty members are the empty string, duplicates collapse, the result is sorted. */
  private valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new SelectorError(`found '${open.lit}' expected: '('`);
    const first = this.peek();
    if (first.tok === ')') {
      this.next();
      return [''];
    }
    if (first.tok !== 'ident' && first.tok !== ',') throw new SelectorError(`found '${first.lit}', expected: ',', ')' or identifier`);
    const values = new Set<string>();
    for (;;) {
      const t = this.next();
      if (t.tok === 'ident') {
        values.add(t.lit);
        const ahead = this.peek();
        if (ahead.tok === ')') break;
        if (ahead.tok !== ',') throw new SelectorError(`found '${ahead.lit}', expected: ',' or ')'`);
      } else if (t.tok === ',') {
        if (values.size === 0) values.add('');
        const ahead = this.peek().tok;
        if (ahead === ')') {
          values.add('');
          break;
        }
        if (ahead === ',') {
          this.next();
          values.add('');
        }
      } else {
        throw new SelectorError(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
    this.next(); // the ')' seen above
    return [...values].sort();
  }

  /** The value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end means the empty string. */
  private exactValue(): string {
    const ahead = this.peek().tok;
    if (ahead === 'end' || ahead === ',') return '';
    const t = this.next();
    if (t.tok !== 'ident') throw new SelectorError(`found '${t.lit}', expected: identifier`);
    return t.lit;
  }
}

const byKey = (a: LabelRequirement, b: LabelRequirement) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Parses the `labelSelector` query parameter; the empty string selects everything. */
export function parseLabelSelector(s: string): LabelSelector {
  return { requirements: new Parser(lex(s)).parse().sort(byKey) };
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/** metav1.LabelSelectorAsSelector: null selects nothing, `{}` selects everything. */
export function labelSelectorFromObject(ls: MetaLabelSelector | null | undefined): LabelSelector {
  if (ls == null) return { requirements: [], nothing: true };
  const reqs = Object.entries(ls.matchLabels ?? {}).map(([k, v]) => newRequirement(k, '=', [v]));
  for (const e of ls.matchExpressions ?? []) {
    const op = Object.hasOwn(EXPRESSION_OPERATORS, e.operator) ? EXPRESSION_OPERATORS[e.operator] : undefined;
    if (!op) throw new SelectorError(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(e.key, op, [...(e.values ?? [])]));
  }
  return { requirements: reqs.sort(byKey) };
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(labels[r.key]);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(labels[r.key]);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has) return false;
      const actual = parseInt64(labels[r.key]);
      const bound = parseInt64(r.values[0]);
      if (actual === undefined || bound === undefined) return false;
      return r.operator === 'gt' ? actual > bound : actual < bound;
    }
  }
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, string> = {}): boolean {
  return !sel.nothing && sel.requirements.every((r) => requirementMatches(r, labels));
}

/** labels.Selector's String(): requirements by key, `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`; '' for none. */
export function formatLabelSelector(sel: LabelSelector): string {
  return sel.requirements
    .map((r) => {
      if (r.operator === 'exists') return r.key;
      if (r.operator === '!') return `!${r.key}`;
      const values = r.values.length === 1 ? r.values[0] : [...r.values].sort().join(',');
      if (r.operator === 'in' || r.operator === 'notin') return `${r.key} ${r.operator} (${values})`;
      const op = r.operator === 'gt' ? '>' : r.operator === 'lt' ? '<' : r.operator;
      return `${r.key}${op}${values}`;
    })
    .join(',');
}
