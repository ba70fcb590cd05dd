// How kube words a wrong-typed field in a built-in kind's create or update body: its decoder fails
// before any validation runs — a 400 `Deployment in version "v1" cannot be handled as a Deployment:
// json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32` —
// where a custom resource (decoded untyped) gets the schema's 422. The Go names come from the
// built-in schemas' definition marks (io.k8s.api.apps.v1.DeploymentSpec → DeploymentSpec, v1.PodSpec).

import type { JSONSchemaProps } from '../apis/meta/resource.js';

const DEFINITION_NAME = Symbol.for('gitops.definitionName');
const nameOf = (s: JSONSchemaProps | undefined) => (s as Record<symbol, unknown> | undefined)?.[DEFINITION_NAME] as string | undefined;

/** `io.k8s.api.core.v1.PodSpec` → `v1.PodSpec`; `io.k8s.apimachinery.pkg.api.resource.Quantity` → `resource.Quantity`. */
const goTypeName = (definition: string) => definition.split('.').slice(-2).join('.');

function goType(s: JSONSchemaProps | undefined): string {
  if (!s) return 'interface {}';
  const named = nameOf(s);
  if (named && (s.type === 'object' || s['x-kubernetes-int-or-string'])) return goTypeName(named);
  switch (s.type) {
    case 'integer':
      return s.format === 'int32' ? 'int32' : 'int64';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'string':
      return s.format === 'byte' ? '[]uint8' : 'string';
    case 'array':
      return `[]${goType(s.items)}`;
    case 'object':
      return typeof s.additionalProperties === 'object' ? `map[string]${goType(s.additionalProperties)}` : 'map[string]interface {}';
  }
  return 'interface {}';
}

/** JSON's name of a value's type as Go's decoder reports it. */
const GO_JSON_TYPES: Record<string, string> = { string: 'string', integer: 'number', number: 'number', boolean: 'bool', array: 'array', object: 'object', null: 'null' };

/**
 * kube's decode error for the field at `field` (`spec.template.spec.containers[0].name`) of the kind
 * whose schema is `root`, holding a value of JSON type `actual`; undefined when the schema does not
 * reach the field.
 */
export function typedDecodeMessage(kind: string, version: string, root: JSONSchemaProps, field: string, actual: string): string | undefined {
  const segments = field.match(/[^.[\]]+|\[\d+\]/g) ?? [];
  let s: JSONSchemaProps | undefined = root;
  let struct = kind;
  const path: string[] = [];
  for (const seg of segments) {
    if (!s) return undefined;
    if (seg.startsWith('[')) {
      s = s.items;
      continue;
    }
    const named = nameOf(s);
    if (named && s.properties) struct = named.split('.').pop()!;
    s = s.properties?.[seg] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    path.push(seg);
  }
  if (!s) return undefined;
  return `${kind} in version "${version}" cannot be handled as a ${kind}: json: cannot unmarshal ${GO_JSON_TYPES[actual] ?? actual} into Go struct field ${struct}.${path.join('.')} of type ${goType(s)}`;
}
