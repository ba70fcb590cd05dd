/**
 * A reader of the `generated.proto` files go-to-protobuf writes for Kubernetes API packages: proto2,
 * one `message Name { ... }` per Go struct (no nesting, no oneofs, no enums), fields as
 * `optional|repeated TYPE name = N;` or `map<K, V> name = N;`, comments on their own lines.
 * Anything else inside a message is an error, so a format change upstream fails loudly.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface ProtoField {
  name: string;
  number: number;
  label: 'optional' | 'repeated' | 'map';
  /** A scalar (`string`, `int32`, ...) or a message's full name without the leading dot (`k8s.io.api.core.v1.PodSpec`). */
  type: string;
  /** For maps: the key's and value's types (value resolved like `type`). */
  key?: string;
  value?: string;
}

export interface ProtoMessage { name: string; fullName: string; fields: ProtoField[] }

export interface ProtoFile { package: string; messages: Map<string, ProtoMessage> }

export const PROTO_SCALARS = new Set(['string', 'bytes', 'bool', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'double', 'float']);

export function parseProtoFile(path: string): ProtoFile | undefined {
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split('\n');
  const file: ProtoFile = { package: '', messages: new Map() };
  let inComment = false;
  const resolveType = (t: string) => (PROTO_SCALARS.has(t) ? t : t.startsWith('.') ? t.slice(1) : `${file.package}.${t}`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (inComment) { if (line.includes('*/')) inComment = false; continue; }
    if (line.startsWith('/*')) { inComment = !line.includes('*/'); continue; }
    let m: RegExpExecArray | null;
    if ((m = /^package ([\w.]+);$/.exec(line))) file.package = m[1];
    else if ((m = /^message (\w+) \{$/.exec(line))) {
      const msg: ProtoMessage = { name: m[1], fullName: `${file.package}.${m[1]}`, fields: [] };
      for (i++; i < lines.length && lines[i].trim() !== '}'; i++) {
        const t = lines[i].trim();
        if (t === '' || t.startsWith('//')) continue;
        let f: RegExpExecArray | null;
        if ((f = /^(optional|repeated) ([\w.]+) (\w+) = (\d+);$/.exec(t))) {
          msg.fields.push({ label: f[1] as 'optional' | 'repeated', type: resolveType(f[2]), name: f[3], number: Number(f[4]) });
        } else if ((f = /^map<([\w.]+), ([\w.]+)> (\w+) = (\d+);$/.exec(t))) {
          msg.fields.push({ label: 'map', type: 'map', key: resolveType(f[1]), value: resolveType(f[2]), name: f[3], number: Number(f[4]) });
        } else throw new Error(`${path}: message ${m[1]}: cannot parse line: ${t}`);
      }
      file.messages.set(msg.name, msg);
    }
  }
  if (!file.package) throw new Error(`${path}: no package statement`);
  return file;
}

/** kube's definition name of a message: k8s.io.api.core.v1.PodSpec → io.k8s.api.core.v1.PodSpec (as generate.ts's definitionName). */
export function protoDefinitionName(fullName: string): string {
  if (!fullName.startsWith('k8s.io.')) throw new Error(`message ${fullName} is outside k8s.io`);
  return `io.k8s.${fullName.slice('k8s.io.'.length)}`;
}
