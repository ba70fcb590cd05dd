// /openapi/v2 in protobuf (gnostic's openapi.v2.Document), the form kubectl asks for
// (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) to validate manifests and to find
// kinds: without it, an unported manifest fails with a protobuf parse error instead of kubectl's "no
// matches for kind". Encoded from the same JSON document this server publishes, with the subset of
// Swagger 2.0 that document uses; anything else in it is refused here rather than dropped.
// Values that are arbitrary JSON (defaults, enums, vendor extensions) travel as YAML text in gnostic's
// Any, as kube-openapi writes them.

import yaml from 'js-yaml';
import { bytesField, fieldKey, varint } from './protobuf.js';

type Doc = Record<string, unknown>;

// ---- typed field writers, on protobuf.ts's wire format ----

const str = (field: number, s: unknown) => (typeof s === 'string' && s !== '' ? bytesField(field, Buffer.from(s, 'utf8')) : undefined);
const strs = (field: number, a: unknown) => (Array.isArray(a) ? a.map((s) => str(field, String(s))) : []);
const bool = (field: number, b: unknown) => (b === true ? Buffer.concat([fieldKey(field, 0), varint(1)]) : undefined);
const int = (field: number, n: unknown) => (typeof n === 'number' && Number.isInteger(n) && n >= 0 ? Buffer.concat([fieldKey(field, 0), varint(n)]) : undefined);
function double(field: number, n: unknown): Buffer | undefined {
  if (typeof n !== 'number') return undefined;
  const b = Buffer.alloc(8);
  b.writeDoubleLE(n);
  return Buffer.concat([fieldKey(field, 1), b]);
}
const message = (parts: (Buffer | undefined)[]) => Buffer.concat(parts.filter((p): p is Buffer => p !== undefined));
const sub = (field: number, parts: (Buffer | undefined)[]) => bytesField(field, message(parts));

/** gnostic Any with the value as YAML text. */
const anyYaml = (v: unknown) => message([str(2, yaml.dump(v, { lineWidth: -1, noRefs: true }))]);
/** NamedAny, the message of a vendor extension. */
const namedAny = (field: number, name: string, v: unknown) => bytesField(field, message([str(1, name), bytesField(2, anyYaml(v))]));

class UnsupportedError extends Error {}
const isObj = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);

function check(o: Doc, known: Set<string>, where: string): void {
  for (const k of Object.keys(o)) if (!known.has(k) && !k.startsWith('x-')) throw new UnsupportedError(`${where}: ${k} has no protobuf encoding here`);
}
const extensions = (field: number, o: Doc) => Object.entries(o).filter(([k]) => k.startsWith('x-')).map(([k, v]) => namedAny(field, k, v));

// ---- openapi.v2 messages ----

const SCHEMA_KEYS = new Set(['$ref', 'format', 'title', 'description', 'default', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties', 'required', 'enum', 'additionalProperties', 'type', 'items', 'allOf', 'properties', 'readOnly', 'example']);

function schema(s: Doc, where: string): Buffer {
  check(s, SCHEMA_KEYS, where);
  const items = s.items === undefined ? undefined : sub(23, (Array.isArray(s.items) ? s.items : [s.items]).map((i, n) => bytesField(1, schema(i as Doc, `${where}.items[${n}]`))));
  let additional: Buffer | undefined;
  if (typeof s.additionalProperties === 'boolean') additional = sub(21, [Buffer.concat([fieldKey(2, 0), varint(s.additionalProperties ? 1 : 0)])]);
  else if (isObj(s.additionalProperties)) additional = sub(21, [bytesField(1, schema(s.additionalProperties, `${where}.additionalProperties`))]);
  const properties = isObj(s.properties)
    ? sub(25, Object.entries(s.properties).map(([name, p]) => bytesField(1, message([str(1, name), bytesField(2, schema(p as Doc, `${where}.${name}`))]))))
    : undefined;
  return message([
    str(1, s.$ref),
    str(2, s.format),
    str(3, s.title),
    str(4, s.description),
    s.default !== undefined ? bytesField(5, anyYaml(s.default)) : undefined,
    double(6, s.multipleOf),
    double(7, s.maximum),
    bool(8, s.exclusiveMaximum),
    double(9, s.minimum),
    bool(10, s.exclusiveMinimum),
    int(11, s.maxLength),
    int(12, s.minLength),
    str(13, s.pattern),
    int(14, s.maxItems),
    int(15, s.minItems),
    bool(16, s.uniqueItems),
    int(17, s.maxProperties),
    int(18, s.minProperties),
    ...strs(19, s.required),
    ...(Array.isArray(s.enum) ? s.enum.map((v) => bytesField(20, anyYaml(v))) : []),
    additional,
    s.type !== undefined ? sub(22, strs(1, Array.isArray(s.type) ? s.type : [s.type])) : undefined,
    items,
    ...(Array.isArray(s.allOf) ? s.allOf.map((a, n) => bytesField(24, schema(a as Doc, `${where}.allOf[${n}]`))) : []),
    properties,
    bool(27, s.readOnly),
    s.example !== undefined ? bytesField(30, anyYaml(s.example)) : undefined,
    ...extensions(31, s),
  ]);
}

const PARAM_KEYS = new Set(['name', 'in', 'description', 'required', 'type', 'format', 'uniqueItems', 'schema']);

/** A ParametersItem holding a Parameter: body, or a query or path one (the kinds this API has). */
function parameter(p: Doc, where: string): Buffer {
  check(p, PARAM_KEYS, where);
  let param: Buffer;
  if (p.in === 'body') {
    param = sub(1, [str(1, p.description), str(2, p.name), str(3, p.in), bool(4, p.required), isObj(p.schema) ? bytesField(5, schema(p.schema, `${where}.schema`)) : undefined, ...extensions(6, p)]);
  } else if (p.in === 'query') {
    const q = message([bool(1, p.required), str(2, p.in), str(3, p.description), str(4, p.name), str(6, p.type), str(7, p.format), bool(20, p.uniqueItems), ...extensions(23, p)]);
    param = sub(2, [bytesField(3, q)]);
  } else if (p.in === 'path') {
    const q = message([bool(1, p.required), str(2, p.in), str(3, p.description), str(4, p.name), str(5, p.type), str(6, p.format), bool(19, p.uniqueItems), ...extensions(22, p)]);
    param = sub(2, [bytesField(4, q)]);
  } else throw new UnsupportedError(`${where}: parameters in ${String(p.in)} have no protobuf encoding here`);
  return message([bytesField(1, param)]);
}

const OP_KEYS = new Set(['tags', 'summary', 'description', 'operationId', 'produces', 'consumes', 'parameters', 'responses', 'schemes', 'deprecated']);

function operation(op: Doc, where: string): Buffer {
  check(op, OP_KEYS, where);
  const responses = isObj(op.responses)
    ? sub(
        9,
        Object.entries(op.responses).map(([code, r]) => {
          const resp = r as Doc;
          const s = resp.schema as Doc | undefined;
          // A download (type: file) is gnostic's FileSchema; anything else a Schema.
          const schemaItem = s ? (s.type === 'file' ? sub(2, [bytesField(2, message([str(6, 'file')]))]) : sub(2, [bytesField(1, schema(s, `${where}.responses.${code}`))])) : undefined;
          return bytesField(1, message([str(1, code), sub(2, [sub(1, [str(1, resp.description), schemaItem])])]));
        }),
      )
    : undefined;
  return message([
    ...strs(1, op.tags),
    str(2, op.summary),
    str(3, op.description),
    str(5, op.operationId),
    ...strs(6, op.produces),
    ...strs(7, op.consumes),
    ...(Array.isArray(op.parameters) ? op.parameters.map((p, n) => bytesField(8, parameter(p as Doc, `${where}.parameters[${n}]`))) : []),
    responses,
    ...strs(10, op.schemes),
    bool(11, op.deprecated),
    ...extensions(13, op),
  ]);
}

const METHOD_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(item: Doc, where: string): Buffer {
  check(item, new Set([...Object.keys(METHOD_FIELDS), 'parameters']), where);
  return message([
    ...Object.entries(METHOD_FIELDS).map(([m, f]) => (isObj(item[m]) ? bytesField(f, operation(item[m] as Doc, `${where}.${m}`)) : undefined)),
    ...(Array.isArray(item.parameters) ? item.parameters.map((p, n) => bytesField(9, parameter(p as Doc, `${where}.parameters[${n}]`))) : []),
    ...extensions(10, item),
  ]);
}

/** The protobuf form of a Swagger 2.0 document; throws for parts it cannot encode faithfully. */
export function openAPIv2Protobuf(doc: Doc): Buffer {
  check(doc, new Set(['swagger', 'info', 'paths', 'definitions', 'security', 'securityDefinitions']), 'document');
  const info = (doc.info ?? {}) as Doc;
  const paths = Object.entries((doc.paths ?? {}) as Doc).map(([p, item]) => bytesField(2, message([str(1, p), bytesField(2, pathItem(item as Doc, `paths.${p}`))])));
  const definitions = Object.entries((doc.definitions ?? {}) as Doc).map(([name, s]) => bytesField(1, message([str(1, name), bytesField(2, schema(s as Doc, `definitions.${name}`))])));
  const security = ((doc.security ?? []) as Doc[]).map((req) =>
    sub(12, Object.entries(req).map(([name, scopes]) => bytesField(1, message([str(1, name), sub(2, strs(1, scopes))])))),
  );
  const securityDefinitions = Object.entries((doc.securityDefinitions ?? {}) as Doc).map(([name, d]) => {
    const def = d as Doc;
    if (def.type !== 'apiKey') throw new UnsupportedError(`securityDefinitions.${name}: only apiKey has a protobuf encoding here`);
    return bytesField(1, message([str(1, name), sub(2, [sub(2, [str(1, def.type), str(2, def.name), str(3, def.in), str(4, def.description)])])]));
  });
  return message([str(1, doc.swagger), sub(2, [str(1, info.title), str(2, info.version)]), sub(8, paths), sub(9, definitions), ...security, securityDefinitions.length ? sub(13, securityDefinitions) : undefined]);
}

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
