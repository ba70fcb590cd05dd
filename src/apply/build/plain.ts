// The common case without kustomize: a path with no kustomization file, whose generated kustomization
// would only list its manifest files (no Kustomization field asks kustomize for a transformation). The
// objects are then what the files hold, so they are read here — saving a `kubectl kustomize` process
// per build (about 0.3 s and a fork of this large process). Anything kustomize would treat specially
// or refuse — a nested kustomization, a List, a document that is not a complete object, two objects
// with one identity — is left to kustomize, so its answer (or its error) stays the reference.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KustomizationSpec } from '../../apis/v1/kustomization.js';
import { BuildError } from './errors.js';
import { parseYAMLDocs } from './generator.js';
import type { KubeManifest } from './substitute.js';

/** Whether a spec asks kustomize for nothing beyond listing the manifests. */
export function needsKustomize(spec: Partial<KustomizationSpec>): boolean {
  return !!(spec.targetNamespace || spec.namePrefix || spec.nameSuffix || spec.patches?.length || spec.images?.length || spec.components?.length || spec.buildMetadata?.length);
}

const isObject = (d: unknown): d is Record<string, unknown> => !!d && typeof d === 'object' && !Array.isArray(d);

/**
 * The objects of `resources` (files relative to `dir`, as the generator lists them), or undefined when
 * kustomize must build them.
 */
export async function readPlainManifests(dir: string, resources: string[], root: string, maxBytes: number): Promise<KubeManifest[] | undefined> {
  const out: KubeManifest[] = [];
  const ids = new Set<string>();
  let bytes = 0;
  for (const r of resources) {
    let text: string;
    try {
      text = await readFile(join(dir, r), 'utf8');
    } catch {
      return undefined; // a directory (nested kustomization) or unreadable: kustomize decides
    }
    // The bound kustomize's output has, on what would be its output.
    bytes += Buffer.byteLength(text);
    if (bytes > maxBytes) throw new BuildError('BuildFailed', `kustomize build output is larger than the limit of ${maxBytes} bytes`);
    for (const d of parseYAMLDocs(text, join(root, r))) {
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
