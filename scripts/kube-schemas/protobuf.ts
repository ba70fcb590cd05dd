/**
 * Makes src/cluster/builtin/protobuf.json: what a reader of Kubernetes' protobuf encoding needs to turn
 * a built-in kind's message back into the JSON kube's own JSON encoding of the same Go value gives
 * (src/apiserver/protobuf-objects.ts reads it). For every struct definition of schemas.json:
 *
 *   field number → [json name, kind, flags?]
 *
 *  - kind: a proto scalar (`string`, `bytes`, `bool`, `int32`, `int64`, ...), a message's definition
 *    name (`io.k8s.api.core.v1.PodSpec`), or `map<K,V>` with K and V in the same terms;
 *  - flags, letters: `r` repeated (a Go slice); `p` the Go field is a pointer (written only when set,
 *    so its value is kept even when zero); `e` a non-pointer Go field with `omitempty` (gogo proto2
 *    writes non-pointer fields even when zero — empty strings, 0, false — and Go's JSON drops them
 *    there); `i` a `json:",inline"` member (its message's fields belong to the parent object).
 *    A non-pointer field without `omitempty` keeps its zero value, as Go's JSON does; so does a
 *    non-pointer struct (omitempty never drops a struct in Go).
 *
 * `special` names the messages kube encodes by hand (Time, Quantity, IntOrString, ...), whose JSON is
 * not an object of their fields; `lists` the messages that wrap a named Go slice type
 * (authentication's `ExtraValue []string` is `message ExtraValue { repeated string items = 1; }` and
 * JSON's plain list).
 *
 * Field numbers, proto types and names come from the package's generated.proto; json names, pointers,
 * omitempty and inline from types.go (the member's `protobuf:"bytes,N,..."` tag ties the two). Any
 * disagreement between the two (a proto field no Go member carries, a name or shape that differs) is an
 * error, so the tables cannot silently drift from the wire.
 */
import { join } from 'node:path';
import { qualified, tagValue, type GoDecl, type GoPackage, type GoType } from './goparse.js';
import { parseProtoFile, PROTO_SCALARS, protoDefinitionName, type ProtoFile, type ProtoMessage } from './protoparse.js';

type Entry = [string, string] | [string, string, string];

/** The hand-encoded messages (kube's Marshal/MarshalJSON methods) and what their JSON is. */
const SPECIAL_KINDS: Record<string, string> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': 'time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': 'micro-time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Duration': 'duration',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1': 'fields-v1',
  'io.k8s.apimachinery.pkg.api.resource.Quantity': 'quantity',
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': 'int-or-string',
  'io.k8s.apimachinery.pkg.runtime.RawExtension': 'raw-extension',
};

interface Context {
  load(pkg: string): GoPackage;
  decl(t: { pkg: string; name: string }): GoDecl;
  /** Qualified Go names of generate.ts's SPECIAL types. */
  special: string[];
}

const defName = (pkg: string, name: string): string => {
  const [host, ...rest] = pkg.split('/');
  return [...host.split('.').reverse(), ...rest, name].join('.');
};

export function protobufMetadata(src: string, structs: { pkg: string; name: string }[], ctx: Context): string {
  const protos = new Map<string, ProtoFile | undefined>();
  const protoOf = (pkg: string): ProtoFile => {
    if (!protos.has(pkg)) protos.set(pkg, parseProtoFile(join(src, pkg, 'generated.proto')));
    const f = protos.get(pkg);
    if (!f) throw new Error(`${pkg} has no generated.proto`);
    return f;
  };
  const specialNames = new Map(ctx.special.map(q => {
    const dot = q.lastIndexOf('.');
    const name = defName(q.slice(0, dot), q.slice(dot + 1));
    if (!SPECIAL_KINDS[name]) throw new Error(`protobuf.ts does not know how kube encodes ${q}`);
    return [name, SPECIAL_KINDS[name]];
  }));

  const messages = new Map<string, Record<string, Entry>>();
  const lists = new Set<string>();
  /** Messages used by a field: each must end up described (a struct, a special, or a list wrapper). */
  const wanted = new Map<string, { pkg: string; name: string }>();

  const kindOf = (protoType: string, where: string): string => {
    if (PROTO_SCALARS.has(protoType)) return protoType;
    const name = protoDefinitionName(protoType);
    if (!wanted.has(name) && !specialNames.has(name)) {
      const dot = protoType.lastIndexOf('.');
      const pkg = `k8s.io/${protoType.slice('k8s.io.'.length, dot).replaceAll('.', '/')}`;
      if (defName(pkg, protoType.slice(dot + 1)) !== name) throw new Error(`${where}: cannot place ${protoType}`);
      wanted.set(name, { pkg, name: protoType.slice(dot + 1) });
    }
    return name;
  };

  const structMessage = (t: { pkg: string; name: string }, msg: ProtoMessage): Record<string, Entry> => {
    const d = ctx.decl(t);
    if (d.kind !== 'struct') throw new Error(`${qualified(t.pkg, t.name)} is not a struct`);
    const out: Record<string, Entry> = {};
    const byNumber = new Map(msg.fields.map(f => [f.number, f]));
    const seen = new Set<number>();
    for (const m of d.members) {
      const where = `${qualified(t.pkg, t.name)}.${m.goName}`;
      const pb = tagValue(m.tag, 'protobuf');
      const json = (tagValue(m.tag, 'json') ?? '').split(',');
      if (pb === undefined) {
        // TypeMeta comes from the envelope; `json:"-"` members are not on the wire at all.
        if (json[0] === '-' || (m.embedded && m.type.k === 'ident' && m.type.name === 'TypeMeta')) continue;
        throw new Error(`${where} has no protobuf tag`);
      }
      const parts = pb.split(',');
      const number = Number(parts[1]);
      // Without `name=` go-to-protobuf names the field after the Go member, first letter lowered.
      const pbName = parts.find(p => p.startsWith('name='))?.slice(5) ?? m.goName[0].toLowerCase() + m.goName.slice(1);
      const f = byNumber.get(number);
      if (!f) throw new Error(`${where}: field ${number} is not in ${msg.fullName}`);
      if (f.name !== pbName) throw new Error(`${where}: protobuf tag names ${pbName}, generated.proto ${f.name}`);
      seen.add(number);
      if (json[0] === '-') continue;
      const inline = json[1] === 'inline';
      const jsonName = inline ? '' : tagValue(m.tag, 'json') === undefined ? m.goName : json[0];
      const goType: GoType = m.type;
      const pointer = goType.k === 'ptr';
      const base = pointer ? goType.elem : goType;
      const isBytes = base.k === 'slice' && base.elem.k === 'ident' && base.elem.pkg === '' && base.elem.name === 'byte';
      // A named slice (`[]string` under a name) is repeated too, unless proto wraps it in a message.
      const resolved = resolveSlice(base, ctx);
      if (f.label === 'repeated' && resolved !== 'slice') throw new Error(`${where}: repeated in proto, not a slice in Go`);
      if (f.label === 'map' && resolved !== 'map') throw new Error(`${where}: a map in proto, not in Go`);
      let kind: string;
      if (f.label === 'map') {
        if (f.key !== 'string') throw new Error(`${where}: map key ${f.key}`);
        kind = `map<${f.key},${kindOf(f.value!, where)}>`;
      } else kind = kindOf(f.type, where);
      if (f.type === 'bytes' && !isBytes && f.label !== 'map') throw new Error(`${where}: bytes in proto, not []byte in Go`);
      if (inline && (PROTO_SCALARS.has(kind) || f.label !== 'optional')) throw new Error(`${where}: inline of a non-message`);
      let flags = '';
      if (f.label === 'repeated') flags += 'r';
      if (pointer) flags += 'p';
      if (!pointer && json.includes('omitempty')) flags += 'e';
      if (inline) flags += 'i';
      out[String(number)] = flags ? [jsonName, kind, flags] : [jsonName, kind];
    }
    for (const f of msg.fields) if (!seen.has(f.number)) throw new Error(`${msg.fullName}.${f.name} (${f.number}) has no Go member`);
    return out;
  };

  const describeMessage = (t: { pkg: string; name: string }): void => {
    const name = defName(t.pkg, t.name);
    if (messages.has(name) || specialNames.has(name)) return;
    const msg = protoOf(t.pkg).messages.get(t.name);
    if (!msg) throw new Error(`${qualified(t.pkg, t.name)} has no message in ${t.pkg}/generated.proto`);
    const d = ctx.decl(t);
    if (d.kind === 'named') {
      // A named slice type wrapped for proto: `items`, repeated.
      const items = msg.fields[0];
      if (d.underlying.k !== 'slice' || msg.fields.length !== 1 || items.label !== 'repeated' || items.number !== 1) throw new Error(`${msg.fullName}: not a list wrapper of ${qualified(t.pkg, t.name)}`);
      messages.set(name, { 1: [items.name, kindOf(items.type, msg.fullName), 'r'] });
      lists.add(name);
      return;
    }
    messages.set(name, structMessage(t, msg));
  };

  for (const t of structs) describeMessage(t);
  for (let more = true; more;) {
    more = false;
    for (const [name, t] of wanted) {
      if (messages.has(name) || specialNames.has(name)) continue;
      describeMessage(t);
      more = true;
    }
  }

  const names = [...messages.keys()].sort(goLess);
  const special = Object.fromEntries([...specialNames].sort((a, b) => goLess(a[0], b[0])));
  return `{"special":${JSON.stringify(special)},\n"lists":${JSON.stringify([...lists].sort(goLess))},\n"messages":{\n`
    + names.map(n => `${JSON.stringify(n)}:${JSON.stringify(messages.get(n))}`).join(',\n') + '\n}}\n';
}

/** Whether a Go type is (under its names) a slice, a map, or something else; []byte is not a slice here. */
function resolveSlice(t: GoType, ctx: Context): 'slice' | 'map' | 'other' {
  for (let depth = 0; depth < 10; depth++) {
    if (t.k === 'slice') return t.elem.k === 'ident' && t.elem.pkg === '' && t.elem.name === 'byte' ? 'other' : 'slice';
    if (t.k === 'map') return 'map';
    if (t.k !== 'ident' || t.pkg === '') return 'other';
    const d = ctx.decl(t);
    if (d.kind !== 'named') return 'other';
    t = d.underlying;
  }
  return 'other';
}

function goLess(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }
