// apiextensions.k8s.io/v1 CustomResourceDefinition: its schema (written here, in our words: the Debian
// packages the other built-in schemas come from do not carry apiextensions) and its rules. Serving the
// kinds a CRD defines is the CRD controller's (src/cluster/crd-controller.ts).

import type { FieldError, JSONSchemaProps, ResourceDefinition } from '../../apis/meta/resource.js';
import type { KubeObject } from '../../apis/meta/types.js';
import { arr, bool, int, obj, statusCondition, str } from '../../apis/meta/schema.js';
import { crdErrors, crdWarnings } from '../crd.js';

const GROUP = 'apiextensions.k8s.io';

const condition = statusCondition('One aspect of the definition\'s state.', 'Established, NamesAccepted, NonStructuralSchema, Terminating or KubernetesAPIApprovalPolicyConformant.', 'A CamelCase reason for the last change.');

const names = (what: string) =>
  obj(
    what,
    {
      plural: str('The lowercase plural name served at /apis/<group>/<version>/<plural>; must match the first part of metadata.name.'),
      singular: str('The lowercase singular name, used by kubectl (defaults to the lowercased kind).'),
      shortNames: arr('Short names kubectl accepts for the resource.', str('A short name.'), { 'x-kubernetes-list-type': 'atomic' }),
      kind: str('The CamelCase kind of the objects.'),
      listKind: str('The kind of lists of the objects (defaults to <kind>List).'),
      categories: arr('Groups of resources the resource belongs to, such as "all" for kubectl get all.', str('A category.'), { 'x-kubernetes-list-type': 'atomic' }),
    },
    ['plural', 'kind'],
  );

const schemaProps: JSONSchemaProps = { type: 'object', description: 'An OpenAPI v3 schema in the structural subset Kubernetes requires.', 'x-kubernetes-preserve-unknown-fields': true };

const version = obj(
  'One version of the resource.',
  {
    name: str('The version name, such as v1 or v1beta1, served at /apis/<group>/<name>.'),
    served: bool('Whether the version is served by the REST API.'),
    storage: bool('Whether objects are stored in this version; exactly one version is.'),
    deprecated: bool('Whether the version is deprecated: responses carry a warning.'),
    deprecationWarning: str('The warning sent instead of the default one when deprecated.'),
    schema: obj('The schema of the objects of this version.', { openAPIV3Schema: schemaProps }),
    subresources: obj('The subresources served.', {
      status: { type: 'object', description: 'Serves /status: status is written there and apart from the rest of the object.', 'x-kubernetes-preserve-unknown-fields': true },
      scale: obj(
        'Serves /scale (autoscaling/v1 Scale).',
        {
          specReplicasPath: str('JSON path of the desired replicas under .spec.'),
          statusReplicasPath: str('JSON path of the observed replicas under .status.'),
          labelSelectorPath: str('JSON path of the label selector (a string) under .status or .spec.'),
        },
        ['specReplicasPath', 'statusReplicasPath'],
      ),
    }),
    additionalPrinterColumns: arr(
      'Columns kubectl get prints besides the name.',
      obj(
        'A column.',
        {
          name: str('The column header.'),
          type: str('boolean, date, integer, number or string.'),
          format: str('An optional format of the type.'),
          description: str('What the column shows.'),
          priority: int('0 for the default view; higher values are shown with -o wide.', { format: 'int32' }),
          jsonPath: str('A simple JSON path evaluated against each object.'),
        },
        ['name', 'type', 'jsonPath'],
      ),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    selectableFields: arr('Fields that field selectors may use.', obj('A field.', { jsonPath: str('A JSON path.') }, ['jsonPath']), { 'x-kubernetes-list-type': 'atomic' }),
  },
  ['name', 'served', 'storage'],
);

const schema: JSONSchemaProps = obj(
  'CustomResourceDefinition defines a resource that the API server serves from then on, in the versions it lists.',
  {
    apiVersion: str('The versioned schema of this representation of an object.'),
    kind: str('The REST resource this object represents.'),
    metadata: { type: 'object' },
    spec: obj(
      'The resource being defined.',
      {
        group: str('The API group of the resource: a DNS subdomain with at least one dot.'),
        names: names('The names the resource is served under.'),
        scope: str('Cluster or Namespaced.'),
        versions: arr('The versions served; exactly one is the storage version.', version, { 'x-kubernetes-list-type': 'atomic' }),
        conversion: obj('How objects are converted between versions.', {
          strategy: str('None (only apiVersion changes) or Webhook.', { default: 'None' }),
          webhook: { type: 'object', description: 'The conversion webhook (not supported by the local cluster: versions must share one schema).', 'x-kubernetes-preserve-unknown-fields': true },
        }),
        preserveUnknownFields: bool('Deprecated; must be false for apiextensions.k8s.io/v1.'),
      },
      ['group', 'names', 'scope', 'versions'],
    ),
    status: obj('The observed state of the definition.', {
      conditions: arr('The conditions of the definition.', condition, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
      acceptedNames: names('The names actually being served.'),
      storedVersions: arr('Every version objects have ever been stored in.', str('A version.'), { 'x-kubernetes-list-type': 'atomic' }),
    }),
  },
  ['spec'],
);

function validate(crd: KubeObject, old?: KubeObject): FieldError[] {
  const errors = crdErrors(crd);
  if (old) {
    const a = (crd.spec ?? {}) as { group?: string; scope?: string; names?: { plural?: string } };
    const b = (old.spec ?? {}) as typeof a;
    if (a.group !== b.group) errors.push({ type: 'FieldValueInvalid', field: 'spec.group', value: a.group, message: 'field is immutable' });
    if (a.scope !== b.scope) errors.push({ type: 'FieldValueInvalid', field: 'spec.scope', value: a.scope, message: 'field is immutable' });
  }
  const conv = (crd.spec as { conversion?: { strategy?: string } } | undefined)?.conversion?.strategy;
  if (conv && conv !== 'None') errors.push({ type: 'FieldValueNotSupported', field: 'spec.conversion.strategy', value: conv, message: 'supported values: "None" (the local cluster calls no conversion webhooks)' });
  return errors;
}

export function apiextensionsDefinitions(): ResourceDefinition[] {
  return [
    {
      group: GROUP,
      version: 'v1',
      kind: 'CustomResourceDefinition',
      listKind: 'CustomResourceDefinitionList',
      plural: 'customresourcedefinitions',
      singular: 'customresourcedefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
      hasArtifact: false,
      hasStatus: true,
      strategicMergePatch: true,
      defaultTypeMeta: true,
      schema,
      printerColumns: [{ name: 'Created At', type: 'date', format: 'date-time', jsonPath: '.metadata.creationTimestamp', description: 'The time the definition was created.', value: (o) => o.metadata.creationTimestamp }],
      validate,
      warnings: crdWarnings,
      prepareForCreate(o) {
        (o as { status?: unknown }).status = { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: [] };
      },
    },
  ];
}
