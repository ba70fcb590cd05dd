// A set of field paths as a trie, with SMD's set algebra and its FieldsV1 wire form. At each node,
// `members` are the paths that end there; `children` lead to longer paths. A child is never empty.

import { comparePathElements, isObject, parsePathElement, serializePathElement, type Path, type PathElement } from './path.js';

interface Child {
  pe: PathElement;
  set: FieldSet;
}

const byElement = <T extends { pe: PathElement }>(a: T, b: T) => comparePathElements(a.pe, b.pe);

export class FieldSet {
  readonly members = new Map<string, PathElement>();
  readonly children = new Map<string, Child>();

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: Path): void {
    if (path.length === 0) return;
    let node: FieldSet = this;
    for (const pe of path.slice(0, -1)) {
      const k = serializePathElement(pe);
      let c = node.children.get(k);
      if (!c) node.children.set(k, (c = { pe, set: new FieldSet() }));
      node = c.set;
    }
    const last = path[path.length - 1];
    node.members.set(serializePathElement(last), last);
  }

  /** The paths below the element with this key, relative to it. */
  child(key: string): FieldSet | undefined {
    return this.children.get(key)?.set;
  }

  empty(): boolean {
    return this.members.size === 0 && this.children.size === 0;
  }

  union(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of [...this.members, ...o.members]) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      const oc = o.children.get(k);
      out.children.set(k, { pe: c.pe, set: oc ? c.set.union(oc.set) : c.set });
    }
    for (const [k, c] of o.children) if (!out.children.has(k)) out.children.set(k, c);
    return out;
  }

  /** Paths of this set not in `o` (exact paths: removing a path keeps what is below it). */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (!o.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      const oc = o.children.get(k);
      const set = oc ? c.set.difference(oc.set) : c.set;
      if (!set.empty()) out.children.set(k, { pe: c.pe, set });
    }
    return out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (o.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      const oc = o.children.get(k);
      const set = oc ? c.set.intersection(oc.set) : undefined;
      if (set && !set.empty()) out.children.set(k, { pe: c.pe, set });
    }
    return out;
  }

  /** Every path, in SMD's order: a node's members (sorted), then its children (sorted), depth first. */
  paths(prefix: Path = []): Path[] {
    const members = [...this.members.values()].sort(comparePathElements).map((pe) => [...prefix, pe]);
    const below = [...this.children.values()].sort(byElement).flatMap((c) => c.set.paths([...prefix, c.pe]));
    return [...members, ...below];
  }

  /** FieldsV1, as SMD writes it: sorted keys; `.` marks a node that is also a member itself. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys = new Map(this.members);
    for (const [k, c] of this.children) keys.set(k, c.pe);
    for (const [k] of [...keys].sort((a, b) => comparePathElements(a[1], b[1]))) {
      const c = this.children.get(k);
      out[k] = c ? { ...(this.members.has(k) ? { '.': {} } : {}), ...c.set.toFieldsV1() } : {};
    }
    return out;
  }

  static fromFieldsV1(fields: unknown): FieldSet {
    const s = new FieldSet();
    read(fields, s);
    return s;
  }
}

/** Fills `into` with the children of one FieldsV1 node; returns whether the node is a member itself. */
function read(node: unknown, into: FieldSet): boolean {
  if (!isObject(node)) throw new Error('FieldsV1 nodes must be objects');
  let self = false;
  let any = false;
  for (const [k, v] of Object.entries(node)) {
    if (k === '.') {
      self = true;
      continue;
    }
    const pe = parsePathElement(k);
    if (!pe) continue;
    const sub = new FieldSet();
    const member = read(v, sub);
    const key = serializePathElement(pe);
    if (member) into.members.set(key, pe);
    if (!sub.empty()) into.children.set(key, { pe, set: sub });
    any ||= member || !sub.empty();
  }
  // A leaf `{}` is a member; so is a node holding nothing this version understands.
  return self || !any;
}
