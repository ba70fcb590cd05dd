// OpenAPI v2 (/openapi/v2) and v3 (/openapi/v3, one document per group version such as
// /openapi/v3/apis/gitops.toolkit/v1) built from the kinds' JSON Schemas — the same schemas that validate writes. kubectl reads them for `explain`, for
// client-side validation, and to learn that writes take `dryRun` and `fieldValidation` and which
// kinds' PATCH takes strategic merge patches (built-in kinds; never custom resources).

import { createHash } from 'node:crypto';
import { groupVersionPath, type JSONSchemaProps, type ResourceDefinition } from '../apis/meta/resource.js';
import { metaDefinitions, META } from './openapi-meta.js';

/**
 * Non-enumerable marks a schema may carry (the built-in schemas do, see src/cluster/builtin/schemas.ts):
 * the kube definition a subtree is, and the keys a field adds beside its `$ref`. Marked subtrees are
 * published once under definitions and referred to, as kube publishes them, instead of inlined.
 */
const DEFINITION_NAME = Symbol.for('gitops.definitionName');
const REF_SIBLINGS = Symbol.for('gitops.refSiblings');
const definitionNameOf = (s: JSONSchemaProps) => (s as Record<symbol, unknown>)[DEFINITION_NAME] as string | undefined;
/** Collects the named definitions a conversion refers to; `schemaOf` gives a name's plain definition. */
interface Named {
  ref: (name: string) => string;
  add: (name: string, schema: JSONSchemaProps) => void;
}

type Doc = Record<string, unknown>;
type GroupVersion = Pick<ResourceDefinition, 'group' | 'version'>;

/**
 * kube names a CRD group's definitions by the reversed group (gitops.toolkit → toolkit.gitops.v1.Kind)
 * and the core group's io.k8s.api.core.v1.Kind.
 */
const computedName = (gv: GroupVersion, kind: string) => `${gv.group ? gv.group.split('.').reverse().join('.') : 'io.k8s.api.core'}.${gv.version}.${kind}`;
/** A built-in kind's schema carries kube's own definition name (io.k8s.api.apps.v1.Deployment); its list is named beside it. */
function defName(def: GroupVersion & { schema?: JSONSchemaProps; kind?: string }, kind: string): string {
  const own = def.schema ? definitionNameOf(def.schema) : undefined;
  if (own && def.kind) return own.replace(new RegExp(`${def.kind}$`), kind);
  return computedName(def, kind);
}
const gvk = (gv: GroupVersion, kind: string) => ({ group: gv.group, version: gv.version, kind });
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** kube's operation id and tag stem: GitopsToolkitV1, CoreV1, RbacAuthorizationV1 (".k8s.io" dropped). */
const opStem = (gv: GroupVersion) => `${gv.group ? gv.group.replace(/\.k8s\.io$/, '').split('.').map(capitalize).join('') : 'Core'}${capitalize(gv.version)}`;
const tagOf = (gv: GroupVersion) => `${opStem(gv).charAt(0).toLowerCase()}${opStem(gv).slice(1).replace(new RegExp(`${capitalize(gv.version)}$`), '')}_${gv.version}`;

const PATCH_CONTENT_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
/** What a kind's PATCH takes: strategic merge patch too for kinds that serve it. */
const patchTypes = (def: ResourceDefinition) => (def.strategicMergePatch ? [...PATCH_CONTENT_TYPES, 'application/strategic-merge-patch+json'] : PATCH_CONTENT_TYPES);

interface Param {
  name: string;
  in: 'path' | 'query';
  description: string;
  type: 'string' | 'integer' | 'boolean';
  required?: boolean;
  uniqueItems?: boolean;
}

const p = (name: string, description: string, type: Param['type'] = 'string', inPath = false): Param => ({
  name,
  in: inPath ? 'path' : 'query',
  description,
  type,
  ...(inPath ? { required: true } : { uniqueItems: true }),
});

const PARAMS = {
  namespace: p('namespace', 'object name and auth scope, such as for teams and projects', 'string', true),
  name: p('name', 'name of the object', 'string', true),
  pretty: p('pretty', "If 'true', then the output is pretty printed."),
  dryRun: p('dryRun', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: p('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes. Required for apply requests (application/apply-patch); optional otherwise.'),
  fieldValidation: p(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore: drops them silently - Warn: drops them and returns a Warning header for each (the default) - Strict: fails the request with a BadRequest error naming them.',
  ),
  force: p('force', 'Force is going to "force" Apply requests: the applier takes ownership of conflicting fields from other managers. Must be unset for non-apply patch requests.', 'boolean'),
  labelSelector: p('labelSelector', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  fieldSelector: p('fieldSelector', 'A selector to restrict the list of returned objects by their fields (metadata.name, metadata.namespace). Defaults to everything.'),
  limit: p('limit', 'limit is a maximum number of responses to return for a list call. If more items exist, the server sets the `continue` field on the list metadata.', 'integer'),
  continue: p('continue', 'The continue option should be set when retrieving more results from the server, with the value the server returned in the previous page.'),
  resourceVersion: p('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to the latest state.'),
  resourceVersionMatch: p('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls: Exact or NotOlderThan.'),
  watch: p('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
  allowWatchBookmarks: p('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  sendInitialEvents: p('sendInitialEvents', 'sendInitialEvents=true may be set together with watch=true: the watch starts with synthetic events for the current state, ended by a bookmark annotated "k8s.io/initial-events-end".', 'boolean'),
  timeoutSeconds: p('timeoutSeconds', 'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.', 'integer'),
  gracePeriodSeconds: p('gracePeriodSeconds', 'The duration in seconds before the object should be deleted. Objects of this API are deleted at once (or when their finalizers are removed).', 'integer'),
  propagationPolicy: p('propagationPolicy', "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
};

const LIST_PARAMS = [PARAMS.allowWatchBookmarks, PARAMS.continue, PARAMS.fieldSelector, PARAMS.labelSelector, PARAMS.limit, PARAMS.resourceVersion, PARAMS.resourceVersionMatch, PARAMS.sendInitialEvents, PARAMS.timeoutSeconds, PARAMS.watch];
const WRITE_PARAMS = [PARAMS.dryRun, PARAMS.fieldManager, PARAMS.fieldValidation];

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  action: 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';
  operationId: string;
  description: string;
  params: Param[];
  kind: string;
  body?: 'object' | 'patch' | 'deleteOptions';
  /** The definition name of what it answers; unused with `raw`. */
  response: string;
  /** It answers bytes of its own (an artifact, a view), not an object: their media types, and whether they are binary. */
  raw?: { produces: string[]; binary?: boolean };
  created?: boolean;
}

interface PathSpec {
  path: string;
  params: Param[];
  ops: Operation[];
}

function pathsFor(def: ResourceDefinition): PathSpec[] {
  const K = def.kind;
  const stem = opStem(def);
  // kube's ids: readGitopsToolkitV1NamespacedGitRepository, readCoreV1Namespace for cluster-scoped kinds.
  const scoped = def.namespaced ? 'Namespaced' : '';
  const id = (verb: string, suffix = '') => `${verb}${stem}${scoped}${K}${suffix}`;
  const base = groupVersionPath(def);
  const collection = def.namespaced ? `${base}/namespaces/{namespace}/${def.plural}` : `${base}/${def.plural}`;
  const scopeParams = def.namespaced ? [PARAMS.namespace] : [];
  const obj = defName(def, K);
  const list = defName(def, def.listKind);
  const paths: PathSpec[] = [
    ...(def.namespaced
      ? [
          {
            path: `${base}/${def.plural}`,
            params: [PARAMS.pretty],
            ops: [{ method: 'get', action: 'list', operationId: `list${stem}${K}ForAllNamespaces`, description: `list or watch objects of kind ${K}`, params: LIST_PARAMS, kind: K, response: list } satisfies Operation],
          },
        ]
      : []),
    {
      path: collection,
      params: [...scopeParams, PARAMS.pretty],
      ops: [
        { method: 'get', action: 'list', operationId: id('list'), description: `list or watch objects of kind ${K}`, params: LIST_PARAMS, kind: K, response: list },
        { method: 'post', action: 'post', operationId: id('create'), description: `create a ${K}`, params: WRITE_PARAMS, kind: K, body: 'object', response: obj, created: true },
        {
          method: 'delete',
          action: 'deletecollection',
          operationId: `delete${stem}Collection${scoped}${K}`,
          description: `delete collection of ${K}`,
          params: [PARAMS.dryRun, PARAMS.fieldSelector, PARAMS.labelSelector, PARAMS.gracePeriodSeconds, PARAMS.propagationPolicy],
          kind: K,
          body: 'deleteOptions',
          response: list,
        },
      ],
    },
    {
      path: `${collection}/{name}`,
      params: [PARAMS.name, ...scopeParams, PARAMS.pretty],
      ops: [
        { method: 'get', action: 'get', operationId: id('read'), description: `read the specified ${K}`, params: [PARAMS.resourceVersion], kind: K, response: obj },
        { method: 'put', action: 'put', operationId: id('replace'), description: `replace the specified ${K}`, params: WRITE_PARAMS, kind: K, body: 'object', response: obj, created: true },
        { method: 'patch', action: 'patch', operationId: id('patch'), description: `partially update the specified ${K}`, params: [...WRITE_PARAMS, PARAMS.force], kind: K, body: 'patch', response: obj, created: true },
        { method: 'delete', action: 'delete', operationId: id('delete'), description: `delete a ${K}`, params: [PARAMS.dryRun, PARAMS.gracePeriodSeconds, PARAMS.propagationPolicy], kind: K, body: 'deleteOptions', response: obj },
      ],
    },
  ];
  if (def.hasStatus !== false) {
    paths.push({
      path: `${collection}/{name}/status`,
      params: [PARAMS.name, ...scopeParams, PARAMS.pretty],
      ops: [
        { method: 'get', action: 'get', operationId: id('read', 'Status'), description: `read status of the specified ${K}`, params: [PARAMS.resourceVersion], kind: K, response: obj },
        { method: 'put', action: 'put', operationId: id('replace', 'Status'), description: `replace status of the specified ${K}`, params: WRITE_PARAMS, kind: K, body: 'object', response: obj, created: true },
        { method: 'patch', action: 'patch', operationId: id('patch', 'Status'), description: `partially update status of the specified ${K}`, params: [...WRITE_PARAMS, PARAMS.force], kind: K, body: 'patch', response: obj },
      ],
    });
  }
  if (def.hasArtifact) {
    paths.push({
      path: `${collection}/{name}/artifact`,
      params: [PARAMS.name, ...scopeParams],
      ops: [{ method: 'get', action: 'get', operationId: id('read', 'Artifact'), description: `download the artifact (tar.gz) of the specified ${K}`, params: [], kind: K, response: '', raw: { produces: ['application/gzip'], binary: true } }],
    });
  }
  for (const v of def.views ?? []) {
    paths.push({
      path: `${collection}/{name}/${v.name}`,
      params: [PARAMS.name, ...scopeParams],
      ops: [{ method: 'get', action: 'get', operationId: id('read', v.name[0].toUpperCase() + v.name.slice(1)), description: `read the ${v.name} of the specified ${K}: ${v.description}`, params: [], kind: K, response: '', raw: { produces: v.produces } }],
    });
  }
  return paths;
}

// ---- schema conversion ----

/** The kind's schema with `metadata` pointing at ObjectMeta, as kube publishes CRD schemas. */
function publishedSchema(def: ResourceDefinition, ref: (name: string) => string, v3: boolean, named?: Named): Doc {
  const schema = convert(def.schema, v3, named, true) as Doc;
  const props = { ...(schema.properties as Doc) };
  const metaDescription = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
  props.metadata = v3 ? { allOf: [{ $ref: ref(META.ObjectMeta) }], description: metaDescription } : { $ref: ref(META.ObjectMeta), description: metaDescription };
  return { ...schema, properties: props, 'x-kubernetes-group-version-kind': [gvk(def, def.kind)] };
}

function listSchema(def: ResourceDefinition, ref: (name: string) => string): Doc {
  return {
    description: `${def.listKind} is a list of ${def.kind}`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      items: { type: 'array', description: `List of ${def.plural}.`, items: { $ref: ref(defName(def, def.kind)) } },
      metadata: { $ref: ref(META.ListMeta), description: 'Standard list metadata.' },
    },
    'x-kubernetes-group-version-kind': [gvk(def, def.listKind)],
  };
}

/** OpenAPI v2 has no nullable/oneOf/anyOf: kube drops them when publishing v2 (so does this). */
function convert(s: JSONSchemaProps, v3: boolean, named?: Named, root = false): JSONSchemaProps {
  const name = named && !root ? definitionNameOf(s) : undefined;
  if (name && named) {
    const siblings = (s as Record<symbol, unknown>)[REF_SIBLINGS] as Record<string, unknown> | undefined;
    const base = siblings ? Object.fromEntries(Object.entries(s).filter(([k]) => !(k in siblings))) : s;
    named.add(name, base as JSONSchemaProps);
    const $ref = named.ref(name);
    if (!siblings) return { $ref } as unknown as JSONSchemaProps;
    // kube's v3 wraps a $ref with siblings in allOf; v2 writes them beside it.
    return (v3 ? { allOf: [{ $ref }], ...siblings } : { $ref, ...siblings }) as unknown as JSONSchemaProps;
  }
  const out: JSONSchemaProps = { ...s };
  if (!v3) {
    delete out.nullable;
    delete out.oneOf;
    delete out.anyOf;
    delete out.allOf;
    delete out.not;
  }
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, convert(v, v3, named)]));
  if (s.items) out.items = convert(s.items, v3, named);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.additionalProperties = convert(s.additionalProperties, v3, named);
  return out;
}

/** A Named that writes each referred definition into `into` once (the published meta ones win). */
function namedInto(into: Doc, ref: (name: string) => string, v3: boolean): Named {
  const named: Named = {
    ref,
    add(name, schema) {
      if (name in into) return;
      into[name] = {}; // placeholder first: a definition reached again while converting is not converted twice
      into[name] = convert(schema, v3, named, true);
    },
  };
  return named;
}

// ---- documents ----

export function openAPIv2(defs: ResourceDefinition[]): Doc {
  const ref = (name: string) => `#/definitions/${name}`;
  const definitions: Doc = { ...metaDefinitions(ref, false) };
  const paths: Doc = {};
  const named = namedInto(definitions, ref, false);
  for (const def of defs) {
    definitions[defName(def, def.kind)] = publishedSchema(def, ref, false, named);
    definitions[defName(def, def.listKind)] = listSchema(def, ref);
    for (const ps of pathsFor(def)) {
      const item: Doc = { parameters: ps.params };
      for (const op of ps.ops) {
        const parameters: unknown[] = [...op.params];
        if (op.body === 'object') parameters.unshift({ name: 'body', in: 'body', required: true, schema: { $ref: ref(op.response) } });
        if (op.body === 'patch') parameters.unshift({ name: 'body', in: 'body', required: true, schema: { $ref: ref(META.Patch) } });
        if (op.body === 'deleteOptions') parameters.unshift({ name: 'body', in: 'body', schema: { $ref: ref(META.DeleteOptions) } });
        const ok = op.raw ? { description: 'OK', schema: { type: op.raw.binary ? 'file' : 'string' } } : { description: 'OK', schema: { $ref: ref(op.response) } };
        item[op.method] = {
          description: op.description,
          operationId: op.operationId,
          consumes: op.body === 'patch' ? patchTypes(def) : ['application/json', 'application/yaml'],
          produces: op.raw?.produces ?? ['application/json', 'application/yaml'],
          schemes: ['https'],
          tags: [tagOf(def)],
          parameters,
          responses: { '200': ok, ...(op.created ? { '201': ok } : {}), '401': { description: 'Unauthorized' } },
          'x-kubernetes-action': op.action,
          'x-kubernetes-group-version-kind': gvk(def, op.kind),
        };
      }
      paths[ps.path] = item;
    }
  }
  return {
    swagger: '2.0',
    info: { title: 'gitops-toolkit', version: 'v1' },
    paths,
    definitions,
    securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication' } },
    security: [{ BearerToken: [] }],
  };
}

/** The v3 document of one group version: `defs` all share it. */
export function openAPIv3GroupVersion(defs: ResourceDefinition[]): Doc {
  const ref = (name: string) => `#/components/schemas/${name}`;
  const schemas: Doc = { ...metaDefinitions(ref, true) };
  const paths: Doc = {};
  const v3Param = (x: Param) => ({ name: x.name, in: x.in, description: x.description, ...(x.required ? { required: true } : {}), schema: { type: x.type, ...(x.uniqueItems ? { uniqueItems: true } : {}) } });
  const jsonContent = (schema: unknown, types = ['application/json', 'application/yaml']) => Object.fromEntries(types.map((t) => [t, { schema }]));
  const named = namedInto(schemas, ref, true);
  for (const def of defs) {
    schemas[defName(def, def.kind)] = publishedSchema(def, ref, true, named);
    schemas[defName(def, def.listKind)] = listSchema(def, ref);
    for (const ps of pathsFor(def)) {
      const item: Doc = { parameters: ps.params.map(v3Param) };
      for (const op of ps.ops) {
        const ok = op.raw
          ? { description: 'OK', content: jsonContent({ type: 'string', ...(op.raw.binary ? { format: 'binary' } : {}) }, op.raw.produces) }
          : { description: 'OK', content: jsonContent({ $ref: ref(op.response) }) };
        let requestBody: Doc | undefined;
        if (op.body === 'object') requestBody = { content: jsonContent({ $ref: ref(op.response) }), required: true };
        if (op.body === 'patch') requestBody = { content: jsonContent({ $ref: ref(META.Patch) }, patchTypes(def)), required: true };
        if (op.body === 'deleteOptions') requestBody = { content: jsonContent({ $ref: ref(META.DeleteOptions) }) };
        item[op.method] = {
          tags: [tagOf(def)],
          description: op.description,
          operationId: op.operationId,
          parameters: op.params.map(v3Param),
          ...(requestBody ? { requestBody } : {}),
          responses: { '200': ok, ...(op.created ? { '201': ok } : {}), '401': { description: 'Unauthorized' } },
          'x-kubernetes-action': op.action,
          'x-kubernetes-group-version-kind': gvk(def, op.kind),
        };
      }
      paths[ps.path] = item;
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'gitops-toolkit', version: defs[0]?.version ?? 'v1' },
    paths,
    components: { schemas, securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } } },
  };
}

/** Where a group version's v3 document is under /openapi/v3/: `apis/gitops.toolkit/v1`, `api/v1`. */
export const openAPIv3Path = (gv: GroupVersion) => groupVersionPath(gv).slice(1);

export const hashOf = (body: string) => createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase();

/** /openapi/v3: where each group version's document is, with a content hash for caching. */
export function openAPIv3Index(docs: { path: string; hash: string }[]): Doc {
  return { paths: Object.fromEntries(docs.map((d) => [d.path, { serverRelativeURL: `/openapi/v3/${d.path}?hash=${d.hash}` }])) };
}
