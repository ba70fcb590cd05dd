// A bash-style `${...}` expander with the semantics of fluxcd/pkg/envsubst (a fork of drone/envsubst),
// the engine behind Flux's postBuild substitution:
//   ${var}                 the value ('' when unset, unless strict)
//   ${var:=d} ${var:-d} ${var=d}   d when var is unset or empty
//   ${var:?d} ${var:+d}    accepted and treated as defaults (as the fork does); ${var-d} is a syntax error there too
//   ${#var} ${var^} ${var^^} ${var,} ${var,,} ${var:n} ${var:n:len}
//   ${var#p} ${var##p} ${var%p} ${var%%p} (glob patterns) ${var/p/r} ${var//p/r} ${var/#p/r} ${var/%p/r}
// Only the braced form is an expression: `$var` is plain text. `$$` is an escaped `$`, so `$${var}`
// renders as the literal `${var}`. Defaults may themselves contain `${...}`.

export class SubstitutionSyntaxError extends Error {}

type Lookup = (name: string) => string | undefined;

interface Options {
  /** An unset variable without a default operator is an error (Flux's StrictPostBuildSubstitutions). */
  strict?: boolean;
}

const IDENT = /[\p{L}\p{N}_]/u;

class Parser {
  i = 0;
  constructor(
    readonly s: string,
    readonly lookup: Lookup,
    readonly opts: Options,
  ) {}

  fail(what: string): never {
    const line = this.s.slice(0, this.i).split('\n').length;
    throw new SubstitutionSyntaxError(`${what} at line ${line}`);
  }

  /** Text outside any expression, until the end. */
  top(): string {
    let out = '';
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === '$' && s[this.i + 1] === '{') {
        this.i += 2;
        out += this.expr();
      } else if (c === '$' && s[this.i + 1] === '$') {
        out += '$';
        this.i += 2;
      } else if (c === '$') {
        out += '$';
        this.i++;
      } else {
        let j = s.indexOf('$', this.i);
        if (j === -1) j = s.length;
        out += s.slice(this.i, j);
        this.i = j;
      }
    }
    return out;
  }

  /** An argument inside an expression: text (with nested `${...}`) until one of `stops` or `}`. */
  arg(stops: string): string {
    let out = '';
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === '}' || stops.includes(c)) return out;
      if (c === '$' && s[this.i + 1] === '{') {
        this.i += 2;
        out += this.expr();
      } else if (c === '$' && s[this.i + 1] === '$') {
        out += '$';
        this.i += 2;
      } else if (c === '\\' && (s[this.i + 1] === '/' || s[this.i + 1] === '\\') && stops.includes('/')) {
        out += s[this.i + 1];
        this.i += 2;
      } else {
        out += c;
        this.i++;
      }
    }
    this.fail('missing closing brace');
  }

  close(): void {
    if (this.s[this.i] !== '}') this.fail('bad substitution');
    this.i++;
  }

  name(): string {
    const start = this.i;
    while (this.i < this.s.length && IDENT.test(this.s[this.i])) this.i++;
    if (this.i === start) this.fail('unable to parse variable name');
    return this.s.slice(start, this.i);
  }

  value(name: string, defaultOp: boolean): string {
    const v = this.lookup(name);
    if (v === undefined && this.opts.strict && !defaultOp) {
      throw new SubstitutionSyntaxError(`variable not set (strict mode): "${name}"`);
    }
    return v ?? '';
  }

  /** After `${`. */
  expr(): string {
    const s = this.s;
    if (s[this.i] === '#') {
      this.i++;
      const n = this.name();
      this.close();
      return String(this.value(n, false).length);
    }
    const name = this.name();
    const c = s[this.i];
    const c2 = s[this.i + 1];
    if (c === '}') {
      this.i++;
      return this.value(name, false);
    }
    if ((c === ':' && c2 !== undefined && '=-?+'.includes(c2)) || c === '=') {
      // `:=`, `:-`, `:?`, `:+` and `=`: the fork evaluates all of them as "the default when the value is
      // empty" (an unset variable reads as ''); `${var-d}`, `${var+d}`, `${var?d}` do not parse there
      this.i += c === ':' ? 2 : 1;
      const d = this.arg('');
      this.close();
      const v = this.lookup(name) ?? '';
      return v === '' ? d : v;
    }
    if (c === ':') {
      this.i++;
      const off = this.arg(':');
      let len: string | undefined;
      if (s[this.i] === ':') {
        this.i++;
        len = this.arg('');
      }
      this.close();
      return substr(this.value(name, false), off, len);
    }
    if (c === '^' || c === ',') {
      const op = c2 === c ? c + c : c;
      this.i += op.length;
      this.close();
      const v = this.value(name, false);
      if (op === '^^') return v.toUpperCase();
      if (op === ',,') return v.toLowerCase();
      const first = [...v][0] ?? '';
      const rest = v.slice(first.length);
      return (op === '^' ? first.toUpperCase() : first.toLowerCase()) + rest;
    }
    if (c === '#' || c === '%') {
      const op = c2 === c ? c + c : c;
      this.i += op.length;
      const pat = this.arg('');
      this.close();
      const v = this.value(name, false);
      return trim(v, pat, op);
    }
    if (c === '/') {
      let op = '/';
      if (c2 === '/' || c2 === '#' || c2 === '%') op += c2;
      this.i += op.length;
      const pat = this.arg('/');
      let rep: string | undefined;
      if (s[this.i] === '/') {
        this.i++;
        rep = this.arg('');
      }
      this.close();
      const v = this.value(name, false);
      return replace(v, op, pat, rep);
    }
    this.fail('bad substitution');
  }
}

function substr(v: string, offS: string, lenS: string | undefined): string {
  let pos = Number.parseInt(offS.trim(), 10);
  if (Number.isNaN(pos)) return v;
  if (pos < 0) pos = Math.max(0, v.length + pos);
  if (lenS === undefined) return pos < v.length ? v.slice(pos) : '';
  const len = Number.parseInt(lenS.trim(), 10);
  if (Number.isNaN(len)) return v;
  if (pos + len >= v.length) return pos < v.length ? v.slice(pos) : '';
  return v.slice(pos, pos + len);
}

/** A shell glob (`*`, `?`, `[...]`) as an anchored regular expression. */
function globToRegExp(p: string): RegExp {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = p.indexOf(']', i + 2);
      if (j === -1) re += '\\[';
      else {
        let body = p.slice(i + 1, j);
        if (body.startsWith('!') || body.startsWith('^')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = j;
      }
    } else if (c === '\\' && i + 1 < p.length) re += '\\' + p[++i];
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$', 's');
}

function trim(v: string, pat: string, op: string): string {
  let re: RegExp;
  try {
    re = globToRegExp(pat);
  } catch {
    return v;
  }
  const n = v.length;
  if (op === '#' || op === '##') {
    const lens = [...Array(n + 1).keys()].slice(1); // prefixes of length 1..n
    if (op === '##') lens.reverse();
    for (const l of lens) if (re.test(v.slice(0, l))) return v.slice(l);
    return v;
  }
  const lens = [...Array(n + 1).keys()].slice(1);
  if (op === '%%') lens.reverse();
  for (const l of lens) if (re.test(v.slice(n - l))) return v.slice(0, n - l);
  return v;
}

function replace(v: string, op: string, pat: string, rep: string | undefined): string {
  const r = rep ?? '';
  switch (op) {
    case '//':
      return pat === '' ? v : v.split(pat).join(r);
    case '/':
      return v.replace(pat, () => r);
    case '/#':
      return rep !== undefined && v.startsWith(pat) ? r + v.slice(pat.length) : v;
    case '/%':
      return rep !== undefined && v.endsWith(pat) ? v.slice(0, v.length - pat.length) + r : v;
  }
  return v;
}

/** Expands every `${...}` of `text`; throws SubstitutionSyntaxError on a malformed expression. */
export function envsubst(text: string, lookup: Lookup | Record<string, string>, opts: Options = {}): string {
  const fn: Lookup =
    typeof lookup === 'function' ? lookup : (n) => (Object.prototype.hasOwnProperty.call(lookup, n) ? lookup[n] : undefined);
  return new Parser(text, fn, opts).top();
}
