// Field selectors with Kubernetes' grammar, escaping and messages (apimachinery pkg/fields), limited
// to the fields a resource supports, as kube-apiserver limits custom resources to theirs.

import { SelectorError } from './errors.js';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '==' | '!=';
  /** Unescaped. */
  readonly value: string;
}

export interface FieldSelector {
  /** ANDed; none selects everything. */
  readonly requirements: readonly FieldRequirement[];
}

// `!=` before `==` before `=`, tried at each position from the left: `a!==b` is `a != "=b"`.
const OPERATORS = ['!=', '==', '='] as const;

/** Splits on commas that are not escaped by a backslash. */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    if (escaped) escaped = false;
    else if (s[i] === '\\') escaped = true;
    else if (s[i] === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

function splitTerm(term: string): FieldRequirement | undefined {
  for (let i = 0; i < term.length; i++) {
    const op = OPERATORS.find((o) => term.startsWith(o, i));
    if (op) return { field: term.slice(0, i), operator: op, value: term.slice(i + op.length) };
  }
  return undefined;
}

/** Only `\\`, `\,` and `\=` are escapes; a bare `,` or `=` cannot occur in a value. */
function unescapeValue(s: string): string {
  let out = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') throw new SelectorError(`invalid field selector: unescaped character in value: ${c}`);
    else out += c;
  }
  if (escaped) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/**
 * Parses the `fieldSelector` query parameter; the empty string selects everything. Fields are
 * compared verbatim (no trimming, like Kubernetes), and any field outside `supported` is refused.
 */
export function parseFieldSelector(s: string, supported: readonly string[]): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(s).sort()) {
    if (term === '') continue;
    const r = splitTerm(term);
    if (!r) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
    requirements.push({ ...r, value: unescapeValue(r.value) });
  }
  // Syntax errors anywhere win over an unsupported field, as in Kubernetes.
  const unsupported = requirements.find((r) => !supported.includes(r.field));
  if (unsupported) throw new SelectorError(`field label not supported: ${unsupported.field}`);
  return { requirements };
}

/** A missing field reads as the empty string, so `f=` selects objects without `f`. */
export function matchesFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  return sel.requirements.every((r) => {
    const actual = Object.hasOwn(fields, r.field) ? fields[r.field] : '';
    return r.operator === '!=' ? actual !== r.value : actual === r.value;
  });
}

function exactMatch(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.operator !== '!=')?.value;
}

/** The name the selector pins with `metadata.name=…`, letting a list read one key. */
export const selectedName = (sel: FieldSelector) => exactMatch(sel, 'metadata.name');

/** The namespace the selector pins with `metadata.namespace=…`. */
export const selectedNamespace = (sel: FieldSelector) => exactMatch(sel, 'metadata.namespace');
