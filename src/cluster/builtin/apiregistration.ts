// apiregistration.k8s.io/v1 APIService: which group version an aggregated API server serves, and
// where. Written here in our words (the Debian packages the other schemas come from lack it). The
// aggregator (src/cluster/aggregator/) proxies to it and reports its Available condition.

import type { FieldError, JSONSchemaProps, ResourceDefinition } from '../../apis/meta/resource.js';
import type { KubeObject } from '../../apis/meta/types.js';
import { arr, bool, int, obj, statusCondition, str } from '../../apis/meta/schema.js';

const condition = statusCondition('One aspect of the APIService\'s state.', 'Available: whether the group version can be reached.', 'A CamelCase reason for the last change, such as Local, Passed, FailedDiscoveryCheck, ServiceNotFound or MissingEndpoints.');

const schema: JSONSchemaProps = obj(
  'APIService says which server serves one group version: the API server itself (no service) or an aggregated server behind a Service.',
  {
    apiVersion: str('The versioned schema of this representation of an object.'),
    kind: str('The REST resource this object represents.'),
    metadata: { type: 'object' },
    spec: obj(
      'Where the group version is served.',
      {
        service: obj('The Service in front of the aggregated server; unset for a group version served locally.', {
          namespace: str('The namespace of the Service.'),
          name: str('The name of the Service.'),
          port: int('The Service port to call (443 when unset).', { format: 'int32' }),
        }),
        group: str('The API group served.'),
        version: str('The API version served.'),
        insecureSkipTLSVerify: bool('Skip verifying the server\'s certificate. Not recommended: use caBundle.'),
        caBundle: str('PEM CA bundle that verifies the aggregated server\'s serving certificate.', { format: 'byte' }),
        groupPriorityMinimum: int('Orders groups in discovery: higher first.', { format: 'int32' }),
        versionPriority: int('Orders versions within the group: higher first.', { format: 'int32' }),
      },
      ['groupPriorityMinimum', 'versionPriority'],
    ),
    status: obj('The observed state.', {
      conditions: arr('The conditions of the APIService.', condition, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' }),
    }),
  },
);

function validate(o: KubeObject): FieldError[] {
  const s = (o.spec ?? {}) as { group?: string; version?: string; service?: { name?: string; namespace?: string }; caBundle?: string; insecureSkipTLSVerify?: boolean; groupPriorityMinimum?: number; versionPriority?: number };
  const errors: FieldError[] = [];
  // kube's rule: <version>.<group>, so the core group's is "v1." (with the dot).
  const want = `${s.version}.${s.group ?? ''}`;
  if (!s.version) errors.push({ type: 'FieldValueRequired', field: 'spec.version', message: 'Required value' });
  else if (o.metadata.name !== want) errors.push({ type: 'FieldValueInvalid', field: 'metadata.name', value: o.metadata.name, message: `must be ${JSON.stringify(want)}` });
  if (s.service) {
    if (!s.service.name) errors.push({ type: 'FieldValueRequired', field: 'spec.service.name', message: 'Required value' });
    if (!s.service.namespace) errors.push({ type: 'FieldValueRequired', field: 'spec.service.namespace', message: 'Required value' });
    if (s.insecureSkipTLSVerify && s.caBundle) errors.push({ type: 'FieldValueForbidden', field: 'spec.insecureSkipTLSVerify', message: 'may not be true if caBundle is present' });
  }
  if (!(typeof s.groupPriorityMinimum === 'number' && s.groupPriorityMinimum > 0 && s.groupPriorityMinimum <= 20000))
    errors.push({ type: 'FieldValueInvalid', field: 'spec.groupPriorityMinimum', value: s.groupPriorityMinimum, message: 'must be positive and less than 20000' });
  if (!(typeof s.versionPriority === 'number' && s.versionPriority > 0 && s.versionPriority <= 1000))
    errors.push({ type: 'FieldValueInvalid', field: 'spec.versionPriority', value: s.versionPriority, message: 'must be positive and less than 1000' });
  return errors;
}

const serviceText = (o: KubeObject) => {
  const svc = (o.spec as { service?: { namespace?: string; name?: string } } | undefined)?.service;
  return svc ? `${svc.namespace}/${svc.name}` : 'Local';
};
const availableText = (o: KubeObject) => {
  const c = ((o.status as { conditions?: { type: string; status: string; reason?: string }[] } | undefined)?.conditions ?? []).find((x) => x.type === 'Available');
  if (!c) return 'Unknown';
  return c.status === 'True' ? 'True' : `${c.status} (${c.reason ?? ''})`;
};

export function apiregistrationDefinitions(): ResourceDefinition[] {
  return [
    {
      group: 'apiregistration.k8s.io',
      version: 'v1',
      kind: 'APIService',
      listKind: 'APIServiceList',
      plural: 'apiservices',
      singular: 'apiservice',
      namespaced: false,
      // kube validates APIService names as path segments: "v1." (the core group's) is one.
      nameRule: 'path-segment',
      shortNames: [],
      categories: ['api-extensions'],
      hasArtifact: false,
      hasStatus: true,
      generation: false,
      strategicMergePatch: true,
      defaultTypeMeta: true,
      schema,
      printerColumns: [
        { name: 'Service', type: 'string', jsonPath: '.spec.service', description: 'The Service in front of the server, or Local.', value: serviceText },
        { name: 'Available', type: 'string', jsonPath: '.status.conditions', description: 'Whether the group version can be reached.', value: availableText },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' },
      ],
      validate,
      warnings: () => [],
    },
  ];
}
