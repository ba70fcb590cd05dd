// The build library: from an unpacked artifact and a Kustomization spec to the rendered objects, as
// Flux's kustomize-controller builds them (fluxcd/pkg kustomize: generator, build, varsub).
//
//   buildKustomization({ root, path, spec, vars })
//     1. copy the artifact `root` (read-only) to a private temp dir, refusing symlinks that leave it;
//     2. resolve `path` in it (`..` escapes refused, a missing directory is PathNotFound);
//     3. use its kustomization file, or generate one listing every manifest under it;
//     4. merge targetNamespace, namePrefix/nameSuffix, patches, components (+ignoreMissingComponents),
//        images and buildMetadata into it;
//     5. check every kustomization file: no remote base, no helm, nothing outside the root;
//     6. run `kubectl kustomize` in a child process with a time and an output bound;
//     7. parse the output document by document, yielding to the event loop between batches;
//     8. substitute postBuild variables (`vars` from substituteFrom, then spec.postBuild.substitute);
//     9. add spec.commonMetadata's labels and annotations to every object (after substitution, as Flux).

import { readFile, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type { KustomizationSpec } from '../../apis/v1/kustomization.js';
import { BuildError } from './errors.js';
import { checkKustomizations, dumpKustomization, findKustomizationFile, mergeSpec, parseYAMLDocs, scanManifests } from './generator.js';
import { DEFAULT_MAX_OUTPUT_BYTES, runKustomize } from './kustomize.js';
import { substitute, type KubeManifest } from './substitute.js';
import { copyTree, resolveSpecPath, within, type TreeLimits } from './tree.js';
import { needsKustomize, plainManifests } from './plain.js';

export { BuildError, isBuildError, type BuildErrorReason } from './errors.js';
export { substitute, collectVars, checkVarNames, substitutionDisabled, type KubeManifest, type FetchedSource, type SubstituteStrategy } from './substitute.js';
export { envsubst } from './envsubst.js';

export interface BuildOptions {
  /** The unpacked artifact directory; never written to. */
  root: string;
  /** spec.path when not given here. */
  path?: string;
  spec: Partial<KustomizationSpec>;
  /** Variables from postBuild.substituteFrom (see collectVars); spec.postBuild.substitute overrides them. */
  vars?: Record<string, string>;
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Most objects in the output (default 100,000). */
  maxObjects?: number;
  /** Unset variables without default are an error (Flux's StrictPostBuildSubstitutions). */
  strictSubstitution?: boolean;
  kubectl?: string;
  tree?: TreeLimits;
  /**
   * `root` is a private copy the caller made for this build (an artifact unpacked for it, holding only
   * regular files and directories): built in place instead of being copied first.
   */
  inPlace?: boolean;
  /** Run kustomize even where plain manifests could be read directly (the reference the fast path is checked against). */
  alwaysKustomize?: boolean;
}

export interface BuildResult {
  objects: KubeManifest[];
  /** The kustomization file that was built (generated or merged), for diagnostics. */
  kustomization: string;
  /** Whether the kustomization file was generated (the path had none). */
  generated: boolean;
}

const BATCH = 256;
const tick = () => new Promise<void>((r) => setImmediate(r));

/** Splits kustomize's output into documents and parses them, `BATCH` at a time between event-loop turns. */
export async function parseOutput(text: string, maxObjects = 100_000): Promise<KubeManifest[]> {
  const objects: KubeManifest[] = [];
  const parts = text.split(/^---[ \t]*$/m);
  for (let i = 0; i < parts.length; i++) {
    if (i % BATCH === BATCH - 1) await tick();
    const part = parts[i];
    if (!part.trim()) continue;
    for (const d of parseYAMLDocs(part, 'kustomize output')) {
      if (d === null || d === undefined) continue;
      if (typeof d !== 'object' || Array.isArray(d)) throw new BuildError('BuildFailed', 'kustomize output holds a document that is not an object');
      objects.push(d as KubeManifest);
      if (objects.length > maxObjects) throw new BuildError('BuildFailed', `the build renders more than ${maxObjects} objects`);
    }
  }
  return objects;
}

function addCommonMetadata(objects: KubeManifest[], cm: KustomizationSpec['commonMetadata']): KubeManifest[] {
  if (!cm || (!cm.labels && !cm.annotations)) return objects;
  return objects.map((o) => {
    const metadata = { ...(o.metadata ?? {}) };
    if (cm.labels) metadata.labels = { ...(metadata.labels ?? {}), ...cm.labels };
    if (cm.annotations) metadata.annotations = { ...(metadata.annotations ?? {}), ...cm.annotations };
    return { ...o, metadata };
  });
}

export async function buildKustomization(o: BuildOptions): Promise<BuildResult> {
  const spec = o.spec ?? {};
  const specPath = o.path ?? spec.path;
  const { dir, dispose } = o.inPlace ? { dir: o.root, dispose: async () => {} } : await copyTree(o.root, o.tree);
  try {
    const { abs } = resolveSpecPath(dir, specPath);
    let real: string;
    try {
      real = await realpath(abs);
      if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new BuildError('PathNotFound', `kustomization path not found: '${specPath ?? './'}' does not exist in the artifact or is not a directory`);
    }
    const realRoot = await realpath(dir);
    if (!within(realRoot, real)) throw new BuildError('ArtifactFailed', `path '${specPath}' points outside the artifact root`);

    let kfile = await findKustomizationFile(real);
    const parsed = new Map<string, { docs: unknown[]; bytes: number }>(); // the generator's reads, for the plain path
    let generated = false;
    let kus: Record<string, unknown>;
    if (kfile) {
      const docs = parseYAMLDocs(await readFile(kfile, 'utf8'), relative(realRoot, kfile));
      const d = docs[0];
      if (d !== null && d !== undefined && (typeof d !== 'object' || Array.isArray(d))) {
        throw new BuildError('InvalidYAML', `${relative(realRoot, kfile)} is not a YAML mapping`, { file: relative(realRoot, kfile) });
      }
      kus = { ...((d as Record<string, unknown>) ?? {}) };
      if (!kus.resources && !kus.components && !kus.bases) kus.buildMetadata ??= ['originAnnotations']; // as Flux: not "empty"
    } else {
      generated = true;
      // Kept only when the plain path may use them.
      const resources = await scanManifests(real, realRoot, !o.alwaysKustomize && !needsKustomize(spec) ? parsed : undefined);
      kus = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };
      if (resources.length) kus.resources = resources;
      else kus.namespace = '_placeholder'; // as Flux: an empty kustomization is a kustomize error
      kfile = join(real, 'kustomization.yaml');
    }
    kus = await mergeSpec(kus, spec, real, realRoot);
    const text = dumpKustomization(kus);
    const maxOut = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const plain =
      parsed.size && Array.isArray(kus.resources) ? plainManifests(kus.resources as string[], parsed, maxOut) : undefined;
    if (plain) return finish(plain, text, generated);
    if (basename(kfile) !== 'kustomization.yaml' && !generated) await unlink(kfile);
    await writeFile(join(real, 'kustomization.yaml'), text);

    await checkKustomizations(realRoot, real);
    const out = await runKustomize(real, { kubectl: o.kubectl, timeoutMs: o.timeoutMs, maxOutputBytes: maxOut, root: realRoot });
    return finish(await parseOutput(out, o.maxObjects), text, generated);
  } finally {
    await dispose();
  }

  /** postBuild substitution and commonMetadata over the built objects. */
  function finish(built: KubeManifest[], text: string, generated: boolean): BuildResult {
    let objects = built;
    if (objects.length > (o.maxObjects ?? 100_000)) throw new BuildError('BuildFailed', `the build renders more than ${o.maxObjects ?? 100_000} objects`);
    const vars = { ...(o.vars ?? {}) };
    for (const [k, v] of Object.entries(spec.postBuild?.substitute ?? {})) vars[k] = v.replaceAll('\n', '');
    if (spec.postBuild || o.vars) {
      objects = substitute(objects, vars, { strategy: spec.postBuild?.substituteStrategy, strict: o.strictSubstitution });
    }
    objects = addCommonMetadata(objects, spec.commonMetadata);
    return { objects, kustomization: text, generated };
  }
}
