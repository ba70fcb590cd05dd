// Admission in the request path, in kube-apiserver's order: mutating admission runs after defaulting,
// validating admission after the schema and the kind's own rules, both before anything is stored.
// Either phase denies by throwing a StatusError (the handler answers with it).

import type { KubeObject } from '../apis/meta/types.js';
import type { UserInfo } from '../auth/types.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

/** What an AdmissionReview v1 `request` carries (minus uid, which the webhook caller makes). */
export interface AdmissionAttributes {
  operation: Operation;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name: string;
  namespace: string;
  /** The object as it would be stored (undefined for DELETE). */
  object?: KubeObject;
  /** The stored object (UPDATE, DELETE). */
  oldObject?: KubeObject;
  userInfo: UserInfo;
  dryRun: boolean;
  /** CreateOptions / UpdateOptions / PatchOptions / DeleteOptions as kube sends them. */
  options?: Record<string, unknown>;
  /** Where webhooks' warnings go (the response's Warning headers); dropped when unset. */
  warnings?: string[];
}

export interface AdmissionChain {
  /** May change the object (mutating webhooks); returns the object to continue with. */
  mutate(a: AdmissionAttributes): Promise<KubeObject | undefined>;
  /** Denies by throwing; runs on the final object. */
  validate(a: AdmissionAttributes): Promise<void>;
}

/** No admission plugins (tests, or a server told to run none). */
export const noAdmission: AdmissionChain = {
  mutate: async (a) => a.object,
  validate: async () => {},
};
