/**
 * Generates src/cluster/builtin/schemas.json (and, beside it, protobuf.json: the protobuf field tables of
 * the same definitions, from the packages' generated.proto — see ./protobuf.ts): the OpenAPI v2 definitions of the Kubernetes 1.32 built-in
 * kinds our local cluster serves, in kube-apiserver's /openapi/v2 shape and naming
 * (`io.k8s.api.apps.v1.Deployment`, `{"$ref": "#/definitions/..."}`), with descriptions and the
 * x-kubernetes-* markers, plus `default`s from ./defaults.ts.
 *
 * Source: Debian's packages of the Go API types, which are Kubernetes 1.32.3 —
 * golang-k8s-api-dev 0.32.3 and golang-k8s-apimachinery-dev 0.32.3 from Debian trixie. No npm package
 * carries 1.32 schemas with the markers. To fetch them (./fetch.sh, or `--fetch`):
 *
 *   S=/tmp/apt-trixie; mkdir -p $S/lists/partial $S/cache/archives/partial $S/etc
 *   echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' > $S/etc/sources.list
 *   O="-o Dir::State=$S -o Dir::State::Lists=$S/lists -o Dir::Cache=$S/cache -o Dir::Etc::SourceList=$S/etc/sources.list -o Dir::Etc::SourceParts=/nonexistent"
 *   apt-get $O update; mkdir -p /tmp/k8sdeb && cd /tmp/k8sdeb && apt-get $O download golang-k8s-api-dev golang-k8s-apimachinery-dev
 *   for f in *.deb; do dpkg-deb -x $f root; done
 *
 * Usage: node --import tsx scripts/kube-schemas/generate.ts [--fetch] [--src DIR] [--out FILE] [--protobuf-out FILE]
 *   --src  the gocode src dir holding k8s.io/ (default /tmp/k8sdeb/root/usr/share/gocode/src)
 *   --out  where to write (default src/cluster/builtin/schemas.json)
 *   --protobuf-out  where the protobuf field tables go (./protobuf.ts; default protobuf.json beside --out)
 *
 * The rules follow kube-openapi's openapi-gen (pkg/generators/openapi.go), which makes kube's own doc:
 *  - a field is required unless `+optional`, or its json tag has `omitempty` (and no `+required`);
 *  - `json:",inline"` members are flattened into the parent (TypeMeta, VolumeSource, ...), `json:"-"` dropped;
 *  - named types over string/slices/maps are inlined; `+enum` string types get `enum` and kube's
 *    "Possible enum values:" paragraph; structs become definitions referenced by `$ref`;
 *  - member markers `+listType`, `+listMapKey`, `+mapType`, `+patchMergeKey`, `+patchStrategy` (the
 *    struct tags as fallback), type markers `+structType` and `+union`; `+default=` markers kept.
 * Descriptions are Kubernetes' published ones, from types_swagger_doc_generated.go; where that file
 * has none, or cut the text short at a `---` inside a line, the doc comment formatted as openapi-gen does.
 * Deliberate differences from kube's v2 doc, for structural validation of what clients send:
 *  - Quantity and IntOrString are `x-kubernetes-int-or-string: true` without `type` (kube: type string);
 *    Quantity has `format: quantity`, since it also takes any number (`cpu: 0.5`), IntOrString only integers,
 *  - RawExtension and FieldsV1 also get `x-kubernetes-preserve-unknown-fields: true` (kube: just object),
 *  - no zero-value defaults for non-omitempty scalars/structs (openapi-gen's "enforced" defaults,
 *    which kube's v2 doc drops too), only `+default=` markers and ./defaults.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  commentTags, describe, parsePackage, qualified, tagValue,
  type GoConst, type GoDecl, type GoMember, type GoPackage, type GoStruct, type GoType,
} from './goparse.js';
import { DEFAULTS } from './defaults.js';
import { protobufMetadata } from './protobuf.js';

type Schema = Record<string, unknown>;
interface GVK { group: string; version: string; kind: string }

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SRC = '/tmp/k8sdeb/root/usr/share/gocode/src';
export const DEFAULT_OUT = resolve(HERE, '../../src/cluster/builtin/schemas.json');

const META = 'k8s.io/apimachinery/pkg/apis/meta/v1';

/** The kinds served, by group/version and Go package; each kind's `<Kind>List` is included when it exists. */
const ROOTS: { group: string; version: string; pkg: string; kinds: string[] }[] = [
  { group: '', version: 'v1', pkg: 'k8s.io/api/core/v1', kinds: ['Namespace', 'ConfigMap', 'Secret', 'Service', 'Endpoints', 'ServiceAccount', 'Pod', 'PodTemplate', 'PersistentVolumeClaim', 'Event', 'ResourceQuota', 'LimitRange'] },
  { group: 'apps', version: 'v1', pkg: 'k8s.io/api/apps/v1', kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision'] },
  { group: 'batch', version: 'v1', pkg: 'k8s.io/api/batch/v1', kinds: ['Job', 'CronJob'] },
  { group: 'rbac.authorization.k8s.io', version: 'v1', pkg: 'k8s.io/api/rbac/v1', kinds: ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'] },
  { group: 'networking.k8s.io', version: 'v1', pkg: 'k8s.io/api/networking/v1', kinds: ['Ingress', 'IngressClass', 'NetworkPolicy'] },
  { group: 'policy', version: 'v1', pkg: 'k8s.io/api/policy/v1', kinds: ['PodDisruptionBudget', 'Eviction'] },
  { group: 'discovery.k8s.io', version: 'v1', pkg: 'k8s.io/api/discovery/v1', kinds: ['EndpointSlice'] },
  { group: 'coordination.k8s.io', version: 'v1', pkg: 'k8s.io/api/coordination/v1', kinds: ['Lease'] },
  { group: 'events.k8s.io', version: 'v1', pkg: 'k8s.io/api/events/v1', kinds: ['Event'] },
  { group: 'admissionregistration.k8s.io', version: 'v1', pkg: 'k8s.io/api/admissionregistration/v1', kinds: ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] },
  { group: 'authentication.k8s.io', version: 'v1', pkg: 'k8s.io/api/authentication/v1', kinds: ['TokenReview', 'SelfSubjectReview', 'TokenRequest'] },
  { group: 'authorization.k8s.io', version: 'v1', pkg: 'k8s.io/api/authorization/v1', kinds: ['SubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'LocalSubjectAccessReview'] },
  { group: 'autoscaling', version: 'v1', pkg: 'k8s.io/api/autoscaling/v1', kinds: ['Scale'] },
];
/** meta/v1 types published in their own right: Status is a kind in every group (kube lists it as core v1), DeleteOptions too. */
const META_ROOTS = ['Status', 'DeleteOptions', 'ListMeta'];

/** Types kube describes by hand (OpenAPISchemaType methods), or whose Go form says nothing about the wire. */
const SPECIAL: Record<string, Schema> = {
  [`${META}.Time`]: { type: 'string', format: 'date-time' },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time' },
  [`${META}.Duration`]: { type: 'string' },
  'k8s.io/apimachinery/pkg/api/resource.Quantity': { format: 'quantity', 'x-kubernetes-int-or-string': true },
  'k8s.io/apimachinery/pkg/util/intstr.IntOrString': { format: 'int-or-string', 'x-kubernetes-int-or-string': true },
  'k8s.io/apimachinery/pkg/runtime.RawExtension': { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  [`${META}.FieldsV1`]: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
};

/** kube-openapi's schemaTypeFormatMap (pkg/common/common.go). */
const BUILTIN_FORMAT: Record<string, [string, string]> = {
  string: ['string', ''], bool: ['boolean', ''], byte: ['integer', 'byte'], int8: ['integer', 'byte'],
  int: ['integer', 'int32'], int16: ['integer', 'int32'], int32: ['integer', 'int32'], int64: ['integer', 'int64'],
  uint: ['integer', 'int32'], uint8: ['integer', 'byte'], uint16: ['integer', 'int32'], uint32: ['integer', 'int64'],
  uint64: ['integer', 'int64'], float32: ['number', 'float'], float64: ['number', 'double'],
};

/** Kube's OpenAPI definition name: k8s.io/api/apps/v1 + Deployment → io.k8s.api.apps.v1.Deployment. */
export function definitionName(pkg: string, name: string): string {
  const [host, ...rest] = pkg.split('/');
  return [...host.split('.').reverse(), ...rest, name].join('.');
}

export function generate(src: string): string {
  return generateAll(src).schemas;
}

/** schemas.json's text and protobuf.json's (see ./protobuf.ts). */
export function generateAll(src: string): { schemas: string; protobuf: string } {
  const packages = new Map<string, GoPackage>();
  const load = (path: string): GoPackage => {
    let p = packages.get(path);
    if (!p) {
      const dir = join(src, path);
      if (!existsSync(dir)) throw new Error(`Go package ${path} not found under ${src}`);
      p = parsePackage(dir, path);
      packages.set(path, p);
    }
    return p;
  };
  for (const r of ROOTS) load(r.pkg);
  load(META);

  const decl = (t: { pkg: string; name: string }): GoDecl => {
    const d = load(t.pkg).decls.get(t.name);
    if (!d) throw new Error(`type ${qualified(t.pkg, t.name)} not found`);
    if (d.error) throw new Error(d.error);
    return d;
  };

  /** A constant's string value, following `X = Y` / `X = T(pkg.Y)` definitions. */
  const constValue = (c: GoConst): string | undefined => {
    for (let depth = 0; c.value === undefined && c.ref && depth < 10; depth++) {
      const next = load(c.ref.pkg).consts.find(k => k.name === c.ref!.name);
      if (!next) return undefined;
      c = next;
    }
    return c.value;
  };

  // ---- enums: string types marked +enum, their values from typed constants of all loaded packages
  const isEnum = (t: GoType): t is Extract<GoType, { k: 'ident' }> => {
    if (t.k !== 'ident' || t.pkg === '') return false;
    const d = decl(t);
    return d.kind === 'named' && d.underlying.k === 'ident' && d.underlying.name === 'string' && d.underlying.pkg === ''
      && commentTags(d.comments).has('enum');
  };
  const enumValues = (t: { pkg: string; name: string }): { value: string; comment: string; name: string }[] => {
    const q = qualified(t.pkg, t.name);
    const out: { value: string; comment: string; name: string }[] = [];
    for (const p of packages.values()) {
      for (const c of p.consts) {
        const value = c.type === q ? constValue(c) : undefined;
        if (value === undefined) continue;
        const v = { value, comment: c.comments.join(' '), name: c.name };
        const i = out.findIndex(e => e.value === v.value);
        if (i < 0) out.push(v);
        else if (out[i].comment.length < v.comment.length || (out[i].comment.length === v.comment.length && out[i].comment > v.comment)) out[i] = v;
      }
    }
    return out;
  };
  const enumLines = (t: { pkg: string; name: string }): string[] => {
    const vals = enumValues(t);
    if (vals.length === 0) return [];
    const lines = vals.map(v => {
      const c = v.comment.trim().replace(new RegExp(`^${v.name}`), '').trim().replace(/\s+/g, ' ');
      return ` - \`${JSON.stringify(v.value)}\` ${c}`.trimEnd();
    }).sort(goLess);
    return ['Possible enum values:', ...lines];
  };

  // ---- definitions, built from the roots outwards
  const definitions = new Map<string, Schema>();
  /** The Go type of each definition. */
  const goTypes = new Map<string, { pkg: string; name: string }>();
  const queue: { pkg: string; name: string }[] = [];
  const refTo = (t: { pkg: string; name: string }): Schema => {
    const name = definitionName(t.pkg, t.name);
    if (!definitions.has(name)) { definitions.set(name, {}); queue.push(t); goTypes.set(name, t); }
    return { $ref: `#/definitions/${name}` };
  };

  /** The schema of a Go type in a property position (openapi-gen's generateProperty / Map / Slice). */
  const typeSchema = (t: GoType): Schema => {
    if (t.k === 'ptr') return typeSchema(t.elem);
    if (t.k === 'slice' && t.elem.k === 'ident' && t.elem.pkg === '' && t.elem.name === 'byte') return { type: 'string', format: 'byte' };
    if (t.k === 'slice') return { type: 'array', items: typeSchema(t.elem) };
    if (t.k === 'map') {
      const key = resolveNamed(t.key);
      if (key.k !== 'ident' || key.name !== 'string') throw new Error('map keys must be strings');
      return { type: 'object', additionalProperties: typeSchema(t.elem) };
    }
    if (t.k === 'interface' || t.k === 'struct') throw new Error(`${t.k}{} members are not supported`);
    if (t.pkg === '') {
      const tf = BUILTIN_FORMAT[t.name];
      if (!tf) throw new Error(`unsupported builtin ${t.name}`);
      return tf[1] ? { type: tf[0], format: tf[1] } : { type: tf[0] };
    }
    if (qualified(t.pkg, t.name) in SPECIAL) return refTo(t);
    const d = decl(t);
    if (d.kind === 'struct') return refTo(t);
    const s = typeSchema(d.underlying);
    const values = isEnum(t) ? enumValues(t).map(v => v.value) : [];
    if (values.length) s.enum = values.map(v => JSON.stringify(v)).sort(goLess).map(v => JSON.parse(v) as string);
    return s;
  };
  const resolveNamed = (t: GoType): GoType => {
    while (t.k === 'ident' && t.pkg !== '') { const d = decl(t); if (d.kind !== 'named') break; t = d.underlying; }
    return t;
  };

  /** `+default=` on the member, else on its (pointed-to, named) type: JSON, or ref(Const). */
  const markerDefault = (m: GoMember, owner: GoStruct): unknown => {
    let comments = m.comments, pkg = owner.pkg, t: GoType | undefined = m.type;
    for (;;) {
      const v = commentTags(comments).get('default');
      if (v) {
        const ref = /^ref\(([\w./-]+)\)$/.exec(v[0]);
        if (!ref) return JSON.parse(v[0]);
        const dot = ref[1].lastIndexOf('.');
        const [cpkg, cname] = dot < 0 ? [pkg, ref[1]] : [ref[1].slice(0, dot), ref[1].slice(dot + 1)];
        const c = load(cpkg).consts.find(k => k.name === cname);
        const value = c && constValue(c);
        if (value === undefined) throw new Error(`+default=${v[0]}: constant not found`);
        return value;
      }
      if (!t) return undefined;
      if (t.k === 'ptr') t = t.elem;
      if (t.k !== 'ident' || t.pkg === '') return undefined;
      const d = decl(t);
      comments = d.comments; pkg = d.pkg;
      t = d.kind === 'named' ? d.underlying : undefined;
    }
  };

  const docOf = (owner: GoStruct, jsonName: string): string | undefined => load(owner.pkg).docs.get(owner.name)?.get(jsonName);

  /** One member's property schema: type, description, markers, default. */
  const propertySchema = (m: GoMember, owner: GoStruct, jsonName: string): Schema => {
    const json = (tagValue(m.tag, 'json') ?? '').split(',');
    const base = m.type.k === 'ptr' ? m.type.elem : m.type;
    const commentDoc = m.comments.includes('---') ? m.comments.slice(0, m.comments.indexOf('---')) : m.comments;
    const extra = isEnum(base) && !m.comments.includes('---') ? enumLines(base) : [];
    let description = (cutByDashes(m.comments) ? undefined : docOf(owner, jsonName)) ?? describe(commentDoc);
    // openapi-gen runs the enum lines through generateDescription after the member's comment: a new
    // paragraph, then one line per value (they start with a space, so each stays on its own line).
    if (extra.length) description = (description ? `${description}\n\n` : '') + extra.join('\n');
    const typed = json[1] === 'string' ? { type: 'string' } : typeSchema(m.type);
    const s: Schema = {};
    if (description) s.description = description;
    Object.assign(s, typed);
    const d = json[1] === 'string' ? undefined : markerDefault(m, owner);
    if (d !== undefined) s.default = d;
    const tags = commentTags(m.comments);
    const one = (k: string) => tags.get(k)?.[0];
    const listType = one('listType'), mapType = one('mapType') ?? one('structType');
    const mergeKey = one('patchMergeKey') ?? tagValue(m.tag, 'patchMergeKey');
    const strategy = one('patchStrategy') ?? tagValue(m.tag, 'patchStrategy');
    if (tags.has('listMapKey')) s['x-kubernetes-list-map-keys'] = tags.get('listMapKey');
    if (listType) s['x-kubernetes-list-type'] = listType;
    if (mapType) s['x-kubernetes-map-type'] = mapType;
    if (mergeKey) s['x-kubernetes-patch-merge-key'] = mergeKey;
    if (strategy) s['x-kubernetes-patch-strategy'] = strategy;
    return s;
  };

  const isOptional = (m: GoMember): boolean => {
    const tags = commentTags(m.comments);
    if (tags.has('optional') && tags.has('required')) throw new Error(`${m.goName} is both +optional and +required`);
    if (tags.has('required')) return false;
    if (tags.has('optional')) return true;
    return (tagValue(m.tag, 'json') ?? '').includes('omitempty');
  };
  const skipped = (comments: string[]) => commentTags(comments).get('k8s:openapi-gen')?.includes('false') ?? false;

  /** openapi-gen's generateMembers: properties and required of a struct, inline members flattened. */
  const members = (st: GoStruct, props: Record<string, Schema>, required: string[]): void => {
    for (const m of st.members) {
      if (skipped(m.comments)) continue;
      const json = (tagValue(m.tag, 'json') ?? '').split(',');
      if (json[1] === 'inline') {
        const t = m.type.k === 'ptr' ? m.type.elem : m.type;
        const inner = t.k === 'ident' && t.pkg !== '' ? decl(t) : undefined;
        if (inner?.kind !== 'struct') throw new Error(`${st.name}.${m.goName}: inline of a non-struct`);
        members(inner, props, required);
        continue;
      }
      const name = tagValue(m.tag, 'json') === undefined ? m.goName : json[0];
      if (name === '-' || name === '') continue;
      if (!isOptional(m)) required.push(name);
      props[name] = propertySchema(m, st, name);
    }
  };

  const unions = (st: GoStruct): Schema[] | undefined => {
    if (!commentTags(st.comments).has('union')) return undefined;
    let discriminator: string | undefined;
    const fields: Record<string, string> = {};
    for (const m of st.members) {
      const json = (tagValue(m.tag, 'json') ?? '').split(',')[0];
      if (!json || json === '-') continue;
      if (commentTags(m.comments).has('unionDiscriminator')) discriminator = json;
      else fields[json] = m.goName;
    }
    const sorted = Object.fromEntries(Object.keys(fields).sort(goLess).map(k => [k, fields[k]]));
    return [{ ...(discriminator ? { discriminator } : {}), 'fields-to-discriminateBy': sorted }];
  };

  const definitionOf = (t: { pkg: string; name: string }): Schema => {
    const q = qualified(t.pkg, t.name);
    const d = q in SPECIAL ? load(t.pkg).decls.get(t.name)! : decl(t);
    const description = (cutByDashes(d.comments) ? undefined : load(t.pkg).docs.get(t.name)?.get('')) ?? describe(d.comments);
    const s: Schema = description ? { description } : {};
    if (q in SPECIAL) return { ...s, ...SPECIAL[q] };
    if (d.kind !== 'struct') throw new Error(`${q} is not a struct`);
    if (skipped(d.comments)) throw new Error(`${q} is +k8s:openapi-gen=false but referenced`);
    s.type = 'object';
    const props: Record<string, Schema> = {};
    const required: string[] = [];
    members(d, props, required);
    if (required.length) s.required = required;
    if (Object.keys(props).length) s.properties = Object.fromEntries(Object.keys(props).sort(goLess).map(k => [k, props[k]]));
    const structType = commentTags(d.comments).get('structType')?.[0];
    if (structType) s['x-kubernetes-map-type'] = structType;
    const u = unions(d);
    if (u) s['x-kubernetes-unions'] = u;
    return s;
  };

  const gvks = new Map<string, GVK[]>();
  const addGVK = (name: string, gvk: GVK) => gvks.set(name, [...(gvks.get(name) ?? []), gvk]);
  for (const r of ROOTS) {
    const pkg = load(r.pkg);
    for (const kind of r.kinds) {
      for (const k of pkg.decls.has(`${kind}List`) ? [kind, `${kind}List`] : [kind]) {
        refTo({ pkg: r.pkg, name: k });
        addGVK(definitionName(r.pkg, k), { group: r.group, kind: k, version: r.version });
      }
    }
  }
  for (const name of META_ROOTS) refTo({ pkg: META, name });
  addGVK(definitionName(META, 'Status'), { group: '', kind: 'Status', version: 'v1' });
  for (const gv of [...new Map(ROOTS.map(r => [`${r.group}/${r.version}`, r])).values()]) {
    addGVK(definitionName(META, 'DeleteOptions'), { group: gv.group, kind: 'DeleteOptions', version: gv.version });
  }

  for (let t = queue.shift(); t; t = queue.shift()) definitions.set(definitionName(t.pkg, t.name), definitionOf(t));

  for (const [name, list] of gvks) {
    const s = definitions.get(name)!;
    s['x-kubernetes-group-version-kind'] = [...list].sort((a, b) => goLess(`${a.group}/${a.version}/${a.kind}`, `${b.group}/${b.version}/${b.kind}`));
  }

  for (const e of DEFAULTS) {
    const prop = (definitions.get(e.definition)?.properties as Record<string, Schema> | undefined)?.[e.property];
    if (!prop) throw new Error(`defaults.ts: ${e.definition}.${e.property} does not exist`);
    prop.default = e.default;
  }

  const names = [...definitions.keys()].sort(goLess);
  const schemas = '{"definitions":{\n' + names.map(n => `${JSON.stringify(n)}:${JSON.stringify(definitions.get(n))}`).join(',\n') + '\n}}\n';
  const structs = names.filter(n => !(qualified(goTypes.get(n)!.pkg, goTypes.get(n)!.name) in SPECIAL)).map(n => goTypes.get(n)!);
  return { schemas, protobuf: protobufMetadata(src, structs, { load, decl, special: Object.keys(SPECIAL) }) };
}

/**
 * The swagger doc generator cuts a comment at the first `---` anywhere (`rw-rw----`, ASCII tables);
 * openapi-gen, which makes the published OpenAPI, only at a line that is `---`. There the comment wins.
 */
function cutByDashes(comments: string[]): boolean {
  const end = comments.indexOf('---');
  return (end < 0 ? comments : comments.slice(0, end)).some(l => l.includes('---'));
}

/** Byte-wise string order (Go's sort.Strings), independent of locale. */
function goLess(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }

function fetchSources(): void {
  execFileSync('sh', [join(HERE, 'fetch.sh')], { stdio: 'inherit' });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
  if (args.includes('--fetch')) fetchSources();
  const src = opt('--src') ?? DEFAULT_SRC;
  const out = opt('--out') ?? DEFAULT_OUT;
  // protobuf.json goes beside schemas.json unless told otherwise.
  const protobufOut = opt('--protobuf-out') ?? join(dirname(out), 'protobuf.json');
  const { schemas: text, protobuf } = generateAll(src);
  writeFileSync(out, text);
  const count = (text.match(/\n"/g) ?? []).length;
  console.log(`wrote ${out}: ${count} definitions, ${text.length} bytes`);
  writeFileSync(protobufOut, protobuf);
  console.log(`wrote ${protobufOut}: ${(protobuf.match(/\n"/g) ?? []).length} messages, ${protobuf.length} bytes`);
}
