// JSON Schema building blocks for ResourceDefinitions, so each kind's file reads like its API type
// and every field carries a description.

import type { JSONSchemaProps } from './resource.js';

export type Extra = Omit<JSONSchemaProps, 'description' | 'type'>;

export const str = (description: string, extra: Extra = {}): JSONSchemaProps => ({ type: 'string', description, ...extra });
export const int = (description: string, extra: Extra = {}): JSONSchemaProps => ({ type: 'integer', description, ...extra });
export const bool = (description: string, extra: Extra = {}): JSONSchemaProps => ({ type: 'boolean', description, ...extra });
export const obj = (description: string, properties: Record<string, JSONSchemaProps>, required?: string[], extra: Extra = {}): JSONSchemaProps => ({
  type: 'object',
  description,
  properties,
  ...(required?.length ? { required } : {}),
  ...extra,
});
export const arr = (description: string, items: JSONSchemaProps, extra: Extra = {}): JSONSchemaProps => ({ type: 'array', description, items, ...extra });
/** map[string]string */
export const stringMap = (description: string): JSONSchemaProps => ({ type: 'object', description, additionalProperties: { type: 'string' } });
/** Free-form JSON kept as given (apiextensionsv1.JSON in Flux types). */
export const anyJSON = (description: string): JSONSchemaProps => ({ description, 'x-kubernetes-preserve-unknown-fields': true });


/** A status condition as the built-in kinds' own types carry it (type, status, time, reason, message). */
export const statusCondition = (description: string, types: string, reasons: string) =>
  obj(
    description,
    {
      type: str(types),
      status: str('True, False or Unknown.'),
      lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
      reason: str(reasons),
      message: str('A human-readable explanation.'),
    },
    ['type', 'status'],
  );
