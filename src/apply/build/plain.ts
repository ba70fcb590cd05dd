// The common case without kustomize: a path with no kustomization file, whose generated kustomization
// would only list its manifest files (no Kustomization field asks kustomize for a transformation). The
// objects are then what the files hold, so they are read here — saving a `kubectl kustomize` process
// per build (about 0.3 s and a fork of this large process). Anything kustomize would treat specially
// or refuse — a nested kustomization, a List, a document that is not a complete object, two objects
// with one identity — is left to kustomize, so its answer (or its error) stays the reference.

import type { KustomizationSpec } from '../../apis/v1/kustomization.js';
import { BuildError } from './errors.js';
import type { KubeManifest } from './substitute.js';

/** Whether a spec asks kustomize for nothing beyond listing the manifests. */
export function needsKustomize(spec: Partial<KustomizationSpec>): boolean {
  return !!(spec.targetNamespace || spec.namePrefix || spec.nameSuffix || spec.patches?.length || spec.images?.length || spec.components?.length || spec.buildMetadata?.length);
}

const isObject = (d: unknown): d is Record<string, unknown> => !!d && typeof d === 'object' && !Array.isArray(d);

/**
 * The objects of `resources` (as the generator lists them, with the documents it parsed), or undefined
 * when kustomize must build them.
 */
export function plainManifests(resources: string[], parsed: Map<string, { docs: unknown[]; bytes: number }>, maxBytes: number): KubeManifest[] | undefined {
  const out: KubeManifest[] = [];
  const ids = new Set<string>();
  let bytes = 0;
  for (const r of resources) {
    const file = parsed.get(r);
    if (!file) return undefined; // a directory (nested kustomization): kustomize decides
    // The bound kustomize's output has, on what would be its output.
    bytes += file.bytes;
    if (bytes > maxBytes) throw new BuildError('BuildFailed', `kustomize build output is larger than the limit of ${maxBytes} bytes`);
    for (const d of file.docs) {
      if (d === null || d === undefined) continue;
      if (!isObject(d) || typeof d.apiVersion !== 'string' || typeof d.kind !== 'string' || d.kind.endsWith('List')) return undefined;
      const meta = d.metadata;
      if (!isObject(meta) || typeof meta.name !== 'string' || !meta.name) return undefined;
      const group = d.apiVersion.includes('/') ? d.apiVersion.slice(0, d.apiVersion.indexOf('/')) : '';
      const id = `${group}/${d.kind}/${typeof meta.namespace === 'string' ? meta.namespace : ''}/${meta.name}`;
      if (ids.has(id)) return undefined;
      ids.add(id);
      out.push(d as KubeManifest);
    }
  }
  return out;
}
