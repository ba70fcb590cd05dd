// The meta.k8s.io/v1 definitions the published schemas refer to (ObjectMeta, ListMeta, Status,
// DeleteOptions, Patch, …), so `kubectl explain gitrepository.metadata` reads like any other kind.

type Doc = Record<string, unknown>;

const M = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const META = {
  ObjectMeta: `${M}.ObjectMeta`,
  ListMeta: `${M}.ListMeta`,
  Status: `${M}.Status`,
  StatusDetails: `${M}.StatusDetails`,
  StatusCause: `${M}.StatusCause`,
  DeleteOptions: `${M}.DeleteOptions`,
  Preconditions: `${M}.Preconditions`,
  Patch: `${M}.Patch`,
  ManagedFieldsEntry: `${M}.ManagedFieldsEntry`,
  OwnerReference: `${M}.OwnerReference`,
  Time: `${M}.Time`,
  FieldsV1: `${M}.FieldsV1`,
  WatchEvent: `${M}.WatchEvent`,
};

const s = (description: string, extra: Doc = {}) => ({ type: 'string', description, ...extra });
const i = (description: string) => ({ type: 'integer', format: 'int64', description });
const b = (description: string) => ({ type: 'boolean', description });
const strMap = (description: string) => ({ type: 'object', description, additionalProperties: { type: 'string', default: '' } });

export function metaDefinitions(ref: (name: string) => string, v3: boolean): Doc {
  // v3 wraps a described $ref in allOf (a sibling of $ref is ignored there); v2 keeps them side by side.
  const r = (name: string, description: string) => (v3 ? { allOf: [{ $ref: ref(name) }], description } : { $ref: ref(name), description });
  const listOf = (name: string, description: string, extra: Doc = {}) => ({ type: 'array', description, items: v3 ? { allOf: [{ $ref: ref(name) }], default: {} } : { $ref: ref(name) }, ...extra });
  return {
    [META.Time]: { type: 'string', format: 'date-time', description: 'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON, in RFC 3339 form.' },
    [META.FieldsV1]: { type: 'object', description: 'FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.' },
    [META.OwnerReference]: {
      type: 'object',
      description: 'OwnerReference contains enough information to let you identify an owning object.',
      required: ['apiVersion', 'kind', 'name', 'uid'],
      properties: {
        apiVersion: s('API version of the referent.'),
        kind: s('Kind of the referent.'),
        name: s('Name of the referent.'),
        uid: s('UID of the referent.'),
        controller: b('If true, this reference points to the managing controller.'),
        blockOwnerDeletion: b('If true, AND if the owner has the "foregroundDeletion" finalizer, then the owner cannot be deleted from the key-value store until this reference is removed.'),
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [META.ManagedFieldsEntry]: {
      type: 'object',
      description: 'ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.',
      properties: {
        apiVersion: s('APIVersion defines the version of this resource that this field set applies to.'),
        fieldsType: s('FieldsType is the discriminator for the different fields format and version. There is currently only one possible value: "FieldsV1".'),
        fieldsV1: r(META.FieldsV1, 'FieldsV1 holds the first JSON version format as described in the "FieldsV1" type.'),
        manager: s('Manager is an identifier of the workflow managing these fields.'),
        operation: s("Operation is the type of operation which lead to this ManagedFieldsEntry being created. The only valid values for this field are 'Apply' and 'Update'."),
        subresource: s('Subresource is the name of the subresource used to update that object, or empty string if the object was updated through the main resource.'),
        time: r(META.Time, 'Time is the timestamp of when the ManagedFields entry was added.'),
      },
    },
    [META.ObjectMeta]: {
      type: 'object',
      description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
      properties: {
        annotations: strMap('Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.'),
        creationTimestamp: r(META.Time, 'CreationTimestamp is a timestamp representing the server time when this object was created. Populated by the system. Read-only.'),
        deletionGracePeriodSeconds: i('Number of seconds allowed for this object to gracefully terminate before it will be removed from the system. Only set when deletionTimestamp is also set.'),
        deletionTimestamp: r(META.Time, 'DeletionTimestamp is the time after which this resource will be deleted, set by the server when a graceful deletion is requested (here: when finalizers hold the object). Read-only.'),
        finalizers: { type: 'array', description: 'Must be empty before the object is deleted from the registry. Each entry is an identifier for the responsible component that will remove the entry from the list.', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'set' },
        generateName: s('GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.'),
        generation: i('A sequence number representing a specific generation of the desired state. Populated by the system. Read-only.'),
        labels: strMap('Map of string keys and values that can be used to organize and categorize (scope and select) objects.'),
        managedFields: listOf(META.ManagedFieldsEntry, 'ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.', { 'x-kubernetes-list-type': 'atomic' }),
        name: s('Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Cannot be updated.'),
        namespace: s('Namespace defines the space within which each name must be unique. Cannot be updated.'),
        ownerReferences: listOf(META.OwnerReference, 'List of objects depended by this object.', { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['uid'], 'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge' }),
        resourceVersion: s('An opaque value that represents the internal version of this object that can be used by clients to determine when objects have changed. Populated by the system. Read-only.'),
        selfLink: s('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
        uid: s('UID is the unique in time and space value for this object. Populated by the system. Read-only.'),
      },
    },
    [META.ListMeta]: {
      type: 'object',
      description: 'ListMeta describes metadata that synthetic resources must have, including lists and various status objects.',
      properties: {
        continue: s('continue may be set if the user set a limit on the number of items returned, and indicates that the server has more data available.'),
        remainingItemCount: i('remainingItemCount is the number of subsequent items in the list which are not included in this list response.'),
        resourceVersion: s('String that identifies the server\'s internal version of this object that can be used by clients to determine when objects have changed.'),
        selfLink: s('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
      },
    },
    [META.StatusCause]: {
      type: 'object',
      description: 'StatusCause provides more information about an api.Status failure, including cases when multiple errors are encountered.',
      properties: { field: s('The field of the resource that has caused this error, as named by its JSON serialization.'), message: s('A human-readable description of the cause of the error.'), reason: s('A machine-readable description of the cause of the error.') },
    },
    [META.StatusDetails]: {
      type: 'object',
      description: 'StatusDetails is a set of additional properties that MAY be set by the server to provide additional information about a response.',
      properties: {
        causes: listOf(META.StatusCause, 'The Causes array includes more details associated with the StatusReason failure.', { 'x-kubernetes-list-type': 'atomic' }),
        group: s('The group attribute of the resource associated with the status StatusReason.'),
        kind: s('The kind attribute of the resource associated with the status StatusReason.'),
        name: s('The name attribute of the resource associated with the status StatusReason.'),
        retryAfterSeconds: { type: 'integer', format: 'int32', description: 'If specified, the time in seconds before the operation should be retried.' },
        uid: s('UID of the resource.'),
      },
    },
    [META.Status]: {
      type: 'object',
      description: 'Status is a return value for calls that don\'t return other objects.',
      properties: {
        apiVersion: s('APIVersion defines the versioned schema of this representation of an object.'),
        code: { type: 'integer', format: 'int32', description: 'Suggested HTTP return code for this status, 0 if not set.' },
        details: r(META.StatusDetails, 'Extended data associated with the reason.'),
        kind: s('Kind is a string value representing the REST resource this object represents.'),
        message: s('A human-readable description of the status of this operation.'),
        metadata: r(META.ListMeta, 'Standard list metadata.'),
        reason: s('A machine-readable description of why this operation is in the "Failure" status.'),
        status: s('Status of the operation. One of: "Success" or "Failure".'),
      },
      'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
    },
    [META.Preconditions]: {
      type: 'object',
      description: 'Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.',
      properties: { resourceVersion: s('Specifies the target ResourceVersion'), uid: s('Specifies the target UID.') },
    },
    [META.DeleteOptions]: {
      type: 'object',
      description: 'DeleteOptions may be provided when deleting an API object.',
      properties: {
        apiVersion: s('APIVersion defines the versioned schema of this representation of an object.'),
        dryRun: { type: 'array', description: 'When present, indicates that modifications should not be persisted.', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'atomic' },
        gracePeriodSeconds: i('The duration in seconds before the object should be deleted.'),
        kind: s('Kind is a string value representing the REST resource this object represents.'),
        preconditions: r(META.Preconditions, 'Must be fulfilled before a deletion is carried out.'),
        propagationPolicy: s("Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
      },
      'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'DeleteOptions' }, { group: 'meta.k8s.io', version: 'v1', kind: 'DeleteOptions' }],
    },
    [META.Patch]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
    [META.WatchEvent]: {
      type: 'object',
      description: 'Event represents a single event to a watched resource.',
      required: ['type', 'object'],
      properties: { object: { type: 'object', description: 'Object is the object the event is about: the changed object, a BOOKMARK\'s resourceVersion, or an ERROR Status.' }, type: s('ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.') },
    },
  };
}
