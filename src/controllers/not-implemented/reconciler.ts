// The kinds this version stores and validates but does not reconcile yet. No object sits silently:
// each is marked Stalled (reason NotImplemented) and Ready=False with a message saying what is not
// done, so `kubectl get` and `kubectl wait` tell the user at once instead of waiting forever.

import { StallingError } from '../runtime/errors.js';
import type { ReconcilerDefinition } from '../runtime/controller.js';

/** What each kind would do, for the message. */
const WHAT: Record<string, string> = {
  OCIRepository: 'nothing is pulled from the registry and no artifact is made',
  HelmRepository: 'no index is fetched and no artifact is made',
  HelmChart: 'no chart is fetched or packaged and no artifact is made',
  Bucket: 'nothing is fetched from the bucket and no artifact is made',
  HelmRelease: 'no chart is installed or upgraded',
};

export const NOT_IMPLEMENTED = 'NotImplemented';

export const notImplementedMessage = (kind: string) => `${kind} reconciliation is not implemented in this version of gitops-toolkit: the object is stored and validated, but ${WHAT[kind] ?? 'nothing is done with it'}`;

/** A reconciler that owns nothing (no finalizer) and stalls every object of `kind` with the reason NotImplemented. */
export function notImplementedReconciler(kind: string): ReconcilerDefinition {
  return {
    kind,
    steps: [
      async () => {
        throw new StallingError(notImplementedMessage(kind), NOT_IMPLEMENTED);
      },
    ],
    finalize: async () => {},
  };
}

export const NOT_IMPLEMENTED_KINDS = Object.keys(WHAT);
