/**
 * A focused reader of Kubernetes API Go packages: not a Go parser, just enough for `types.go`-style
 * files (gofmt'ed, one declaration per line) and `types_swagger_doc_generated.go`. It reads
 *
 *  - top-level `type Name struct { ... }` (members with their struct tags and doc comments),
 *  - top-level `type Name <type>` (named types over string, slices, maps: `Protocol`, `ResourceList`),
 *  - typed string constants (`Name Type = "value"`, in `const (...)` blocks or alone), for `+enum`,
 *  - `var map_Name = map[string]string{ "field": "doc", ... }` swagger docs.
 *
 * Anything it does not understand inside a struct body is an error, so a format change upstream fails
 * loudly instead of dropping fields.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A Go type expression; `ident.pkg` is an import path, '' for builtins (string, int32, ...). */
export type GoType =
  | { k: 'ident'; pkg: string; name: string }
  | { k: 'ptr'; elem: GoType }
  | { k: 'slice'; elem: GoType }
  | { k: 'map'; key: GoType; elem: GoType }
  | { k: 'interface' }
  | { k: 'struct' };

export interface GoMember {
  goName: string;
  type: GoType;
  /** The raw struct tag, without backquotes: `json:"name,omitempty" patchStrategy:"merge"`. */
  tag: string;
  /** Doc comment lines, `//` and one space removed (as go/ast's CommentGroup.Text). */
  comments: string[];
  embedded: boolean;
}

/**
 * `error` is set when a declaration uses Go this reader does not handle (func fields, channels, ...):
 * runtime/ and meta/v1 hold non-API code too; only using such a type for a schema is an error.
 */
export interface GoStruct { kind: 'struct'; pkg: string; name: string; comments: string[]; members: GoMember[]; error?: string }
export interface GoNamed { kind: 'named'; pkg: string; name: string; comments: string[]; underlying: GoType; error?: string }
export type GoDecl = GoStruct | GoNamed;

export interface GoConst {
  pkg: string;
  name: string;
  /** Qualified name of the constant's declared type (`pkg.Name`), '' when untyped. */
  type: string;
  /** The string value, when the constant is a string literal… */
  value?: string;
  /** …or the constant it is defined as (`AddressType(v1.IPv4Protocol)`), resolved by the caller. */
  ref?: { pkg: string; name: string };
  comments: string[];
}

export interface GoPackage {
  path: string;
  decls: Map<string, GoDecl>;
  consts: GoConst[];
  /** Swagger docs by type name: json field name → description ('' is the type's own). */
  docs: Map<string, Map<string, string>>;
}

export const BUILTINS = new Set([
  'string', 'bool', 'byte', 'rune', 'int', 'int8', 'int16', 'int32', 'int64',
  'uint', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64',
]);

export const qualified = (pkg: string, name: string): string => (pkg ? `${pkg}.${name}` : name);

/** Reads the Go files of one package directory (not tests, not generated protobuf/deepcopy code). */
export function parsePackage(dir: string, path: string): GoPackage {
  const pkg: GoPackage = { path, decls: new Map(), consts: [], docs: new Map() };
  const files = readdirSync(dir)
    .filter(f => f.endsWith('.go') && !f.endsWith('_test.go') && !f.startsWith('zz_generated') && !f.startsWith('generated.'))
    .sort();
  for (const f of files) parseFile(readFileSync(join(dir, f), 'utf8'), pkg);
  return pkg;
}

/** The doc comment directly above line i (a blank line ends it), with `//` and one space stripped. */
function docAbove(lines: string[], i: number): string[] {
  const out: string[] = [];
  for (let j = i - 1; j >= 0; j--) {
    const t = lines[j].trim();
    if (!t.startsWith('//')) break;
    out.unshift(t.slice(2).replace(/^ /, ''));
  }
  return out;
}

function parseImports(lines: string[]): Map<string, string> {
  const imports = new Map<string, string>();
  const add = (spec: string) => {
    const m = /^(?:([\w.]+)\s+)?"([^"]+)"/.exec(spec.trim());
    if (!m) return;
    const alias = m[1] ?? m[2].split('/').pop()!;
    imports.set(alias, m[2]);
  };
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('import (')) {
      for (i++; i < lines.length && !lines[i].startsWith(')'); i++) add(lines[i]);
    } else if (lines[i].startsWith('import ')) {
      add(lines[i].slice('import '.length));
    }
  }
  return imports;
}

/** Parses `*a.B`, `[]T`, `map[K]V`, `interface{}`, `T`, resolving package aliases through the file's imports. */
export function parseType(src: string, pkgPath: string, imports: Map<string, string>): GoType {
  let s = src;
  const read = (): GoType => {
    if (s.startsWith('*')) { s = s.slice(1); return { k: 'ptr', elem: read() }; }
    if (s.startsWith('[]')) { s = s.slice(2); return { k: 'slice', elem: read() }; }
    if (s.startsWith('interface{}')) { s = s.slice('interface{}'.length); return { k: 'interface' }; }
    if (s.startsWith('struct{}')) { s = s.slice('struct{}'.length); return { k: 'struct' }; }
    if (s.startsWith('map[')) {
      s = s.slice(4);
      const key = read();
      if (!s.startsWith(']')) throw new Error(`bad map type: ${src}`);
      s = s.slice(1);
      return { k: 'map', key, elem: read() };
    }
    const m = /^(?:(\w+)\.)?(\w+)/.exec(s);
    if (!m) throw new Error(`cannot parse Go type: ${src}`);
    s = s.slice(m[0].length);
    if (m[1]) {
      const imp = imports.get(m[1]);
      if (!imp) throw new Error(`unknown package alias ${m[1]} in ${src} (${pkgPath})`);
      return { k: 'ident', pkg: imp, name: m[2] };
    }
    return { k: 'ident', pkg: BUILTINS.has(m[2]) ? '' : pkgPath, name: m[2] };
  };
  const t = read();
  if (s !== '') throw new Error(`trailing text in Go type ${src}: ${s}`);
  return t;
}

function parseGoString(lit: string): string {
  // Go interpreted string literals as the doc generator writes them use JSON-compatible escapes.
  return JSON.parse(lit) as string;
}

/** Blanks out lines inside block comments that start a line (licence headers, commented-out fields). */
function dropBlockComments(lines: string[]): string[] {
  let inside = false;
  return lines.map(l => {
    if (!inside && l.trim().startsWith('/*')) inside = true;
    if (!inside) return l;
    if (l.includes('*/')) inside = false;
    return '';
  });
}

function parseFile(text: string, pkg: GoPackage): void {
  const lines = dropBlockComments(text.split('\n'));
  const imports = parseImports(lines);

  const addConst = (spec: string, comments: string[]) => {
    // Name Type = "value" | Name = Type("value") | Name = Type(pkg.Const) | Name Type = Const | ... = iota
    const m = /^(\w+)(?:\s+([\w.]+))?\s*=\s*(.+?)\s*(?:\/\/.*)?$/.exec(spec);
    if (!m) return; // iota continuations and the like: not string constants
    let typeSrc = m[2], rhs = m[3];
    const conv = /^([\w.]+)\((.+)\)$/.exec(rhs);
    if (conv && !typeSrc) { typeSrc = conv[1]; rhs = conv[2]; }
    const c: GoConst = { pkg: pkg.path, name: m[1], type: '', comments };
    if (typeSrc && !BUILTINS.has(typeSrc)) {
      const t = parseType(typeSrc, pkg.path, imports);
      if (t.k === 'ident') c.type = qualified(t.pkg, t.name);
    }
    const ref = /^(?:(\w+)\.)?(\w+)$/.exec(rhs);
    if (/^"(?:[^"\\]|\\.)*"$/.test(rhs)) c.value = parseGoString(rhs);
    else if (ref && !/^\d/.test(rhs) && rhs !== 'iota') {
      const refPkg = ref[1] ? imports.get(ref[1]) : pkg.path;
      if (refPkg) c.ref = { pkg: refPkg, name: ref[2] };
    }
    pkg.consts.push(c);
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if ((m = /^type (\w+) struct ?\{\}/.exec(line))) {
      pkg.decls.set(m[1], { kind: 'struct', pkg: pkg.path, name: m[1], comments: docAbove(lines, i), members: [] });
    } else if ((m = /^type (\w+) struct \{\s*$/.exec(line))) {
      const decl: GoStruct = { kind: 'struct', pkg: pkg.path, name: m[1], comments: docAbove(lines, i), members: [] };
      for (i++; i < lines.length && lines[i] !== '}'; i++) {
        const t = lines[i].trim();
        if (t === '' || t.startsWith('//')) continue;
        const mm = /^(?:(\w+)\s+)?([^\s`]+)\s*(?:`([^`]*)`)?\s*(?:\/\/.*)?$/.exec(t);
        let type: GoType;
        try {
          if (!mm) throw new Error(`cannot parse struct member line: ${t}`);
          type = parseType(mm[2], pkg.path, imports);
        } catch (e) {
          decl.error ??= `${pkg.path}.${decl.name}: ${(e as Error).message}`;
          if (t.endsWith('{')) for (i++; i < lines.length && lines[i].trim() !== '}' ; i++); // a nested struct
          continue;
        }
        const embedded = mm![1] === undefined;
        const base = type.k === 'ptr' ? type.elem : type;
        const goName = embedded ? (base.k === 'ident' ? base.name : '') : mm![1]!;
        decl.members.push({ goName, type, tag: mm![3] ?? '', comments: docAbove(lines, i), embedded });
      }
      pkg.decls.set(decl.name, decl);
    } else if ((m = /^type (\w+) (\S.*?)\s*(?:\/\/.*)?$/.exec(line)) && !m[2].startsWith('interface') && !m[2].startsWith('func') && !m[2].startsWith('=')) {
      const named: GoNamed = { kind: 'named', pkg: pkg.path, name: m[1], comments: docAbove(lines, i), underlying: { k: 'interface' } };
      try { named.underlying = parseType(m[2], pkg.path, imports); } catch (e) { named.error = `${pkg.path}.${m[1]}: ${(e as Error).message}`; }
      pkg.decls.set(m[1], named);
    } else if (line.startsWith('const (')) {
      for (i++; i < lines.length && !lines[i].startsWith(')'); i++) {
        const t = lines[i].trim();
        if (t === '' || t.startsWith('//')) continue;
        addConst(t, docAbove(lines, i));
      }
    } else if (line.startsWith('const ')) {
      addConst(line.slice('const '.length).trim(), docAbove(lines, i));
    } else if ((m = /^var map_(\w+) = map\[string\]string\{$/.exec(line))) {
      const doc = new Map<string, string>();
      for (i++; i < lines.length && lines[i] !== '}'; i++) {
        const e = /^\s*("(?:[^"\\]|\\.)*"):\s*("(?:[^"\\]|\\.)*"),$/.exec(lines[i]);
        if (!e) throw new Error(`${pkg.path} map_${m[1]}: cannot parse swagger doc line: ${lines[i]}`);
        doc.set(parseGoString(e[1]), parseGoString(e[2]));
      }
      pkg.docs.set(m[1], doc);
    }
  }
}

/** One struct tag's value: tagValue('json:"a,omitempty" x:"y"', 'json') === 'a,omitempty'. */
export function tagValue(tag: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}:"((?:[^"\\\\]|\\\\.)*)"`).exec(tag);
  return m ? m[1] : undefined;
}

/** gengo's ExtractCommentTags('+', lines): `+key=value` lines, values collected per key in order. */
export function commentTags(comments: string[]): Map<string, string[]> {
  const tags = new Map<string, string[]>();
  for (const raw of comments) {
    const line = raw.trim();
    if (!line.startsWith('+')) continue;
    const body = line.slice(1);
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? '' : body.slice(eq + 1);
    if (!/^[\w:.-]+$/.test(key)) continue;
    tags.set(key, [...(tags.get(key) ?? []), value]);
  }
  return tags;
}

/**
 * kube-openapi's generateDescription: joins comment lines into a description, keeping paragraphs,
 * turning indented lines into their own lines, dropping `+markers`, one-line TODOs and all after `---`.
 */
export function describe(lines: string[]): string {
  let buf = '';
  const delPrev = () => { if (buf.length > 0) buf = buf.slice(0, -1); };
  for (let line of lines) {
    if (line === '---') break;
    line = line.replace(/ +$/, '');
    const leading = line.replace(/^ +/, '');
    if (line.length === 0) { delPrev(); buf += '\n\n'; }
    else if (leading.startsWith('TODO') || leading.startsWith('+')) continue;
    else if (line.startsWith(' ') || line.startsWith('\t')) { delPrev(); buf += '\n' + line + '\n'; }
    else buf += line + ' ';
  }
  return buf.trim();
}
