// The kustomization that is built, as Flux's generator writes it: when spec.path has no
// kustomization file one is generated listing every manifest under it (a sub-directory with its own
// kustomization file is listed as a directory and not descended into); then the Kustomization's
// targetNamespace, namePrefix/nameSuffix, patches, components, images and buildMetadata are merged
// into that file, in place. Every kustomization file of the tree is then checked: no remote
// resource/base/component, no helm, no path leaving the artifact root.

import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import yaml from 'js-yaml';
import type { KustomizationSpec } from '../../apis/v1/kustomization.js';
import { BuildError } from './errors.js';
import { within } from './tree.js';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const MANIFEST_EXT = /\.(ya?ml|json)$/i;

type Kus = Record<string, unknown>;

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const f of KUSTOMIZATION_FILES) if (await isFile(join(dir, f))) return join(dir, f);
  return undefined;
}

/** Parses YAML documents, turning a parse error into InvalidYAML naming `file` (relative) and the line. */
export function parseYAMLDocs(text: string, file: string): unknown[] {
  try {
    return yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA, filename: file });
  } catch (e) {
    const err = e as { mark?: { line?: number }; reason?: string; message: string };
    const line = err.mark?.line !== undefined ? err.mark.line + 1 : undefined;
    throw new BuildError(
      'InvalidYAML',
      `invalid YAML in ${file}${line !== undefined ? ` line ${line}` : ''}: ${err.reason ?? err.message.split('\n')[0]}`,
      { file, line },
    );
  }
}

const isKubeObject = (d: unknown): boolean =>
  !!d && typeof d === 'object' && !Array.isArray(d) && typeof (d as Kus).apiVersion === 'string' && typeof (d as Kus).kind === 'string';

/**
 * Lists the resources of a generated kustomization: `.yaml`/`.yml`/`.json` files under `dir` in
 * lexical order, each parsed (invalid YAML is an error naming file and line), files without any
 * Kubernetes object (no apiVersion and kind: CI configs, Helm values) skipped; sub-directories holding
 * a kustomization file listed as such. `parsed`, when given, receives each listed file's documents.
 */
export async function scanManifests(dir: string, root: string, parsed?: Map<string, { docs: unknown[]; bytes: number }>): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      let isDir = e.isDirectory();
      let isReg = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await stat(p).catch(() => undefined);
        isDir = !!st?.isDirectory();
        isReg = !!st?.isFile();
        if (isDir) continue; // a linked directory would be walked twice or loop; kustomize lists files
      }
      if (isDir) {
        if (await findKustomizationFile(p)) out.push('./' + relative(dir, p));
        else await walk(p);
      } else if (isReg && MANIFEST_EXT.test(e.name)) {
        const text = await readFile(p, 'utf8');
        const docs = parseYAMLDocs(text, relative(root, p));
        if (docs.some(isKubeObject)) {
          out.push('./' + relative(dir, p));
          parsed?.set('./' + relative(dir, p), { docs, bytes: Buffer.byteLength(text) });
        }
      }
    }
  };
  await walk(dir);
  return out;
}

/** kustomize's test for a local path (fluxcd/pkg IsLocalRelativePath, after kustomize's repospec). */
export function isRemote(p: string): boolean {
  const l = p.toLowerCase();
  if (['git::', 'gh:', 'ssh://', 'https://', 'http://', 'git@', 'github.com:', 'github.com/', 'file://'].some((x) => l.startsWith(x))) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(l)) return true;
  if (/[?&]ref=/.test(l)) return true;
  return false;
}

/** Host-looking path (`gitlab.com/org/repo`) that does not exist locally: kustomize would clone it. */
const looksLikeHost = (p: string) => /^[a-z0-9-]+(\.[a-z0-9-]+)+\//i.test(p);

function selectorOf(t: NonNullable<KustomizationSpec['patches']>[number]['target']) {
  if (!t) return undefined;
  const s: Kus = {};
  for (const k of ['group', 'version', 'kind', 'name', 'namespace', 'labelSelector', 'annotationSelector'] as const) {
    if (t[k]) s[k] = t[k];
  }
  return s;
}

/** Merges the Kustomization's build fields into the kustomization file's content, as Flux does. */
export async function mergeSpec(kus: Kus, spec: Partial<KustomizationSpec>, dir: string, root: string): Promise<Kus> {
  const k: Kus = { ...kus };
  if (spec.targetNamespace) k.namespace = spec.targetNamespace;
  if (spec.namePrefix) k.namePrefix = spec.namePrefix;
  if (spec.nameSuffix) k.nameSuffix = spec.nameSuffix;
  if (spec.patches?.length) {
    const patches = Array.isArray(k.patches) ? [...(k.patches as unknown[])] : [];
    for (const p of spec.patches) {
      const target = selectorOf(p.target);
      patches.push(target ? { patch: p.patch, target } : { patch: p.patch });
    }
    k.patches = patches;
  }
  if (spec.components?.length) {
    const comps = Array.isArray(k.components) ? [...(k.components as string[])] : [];
    for (const c of spec.components) {
      if (isRemote(c) || c.startsWith('/')) {
        throw new BuildError('RemoteBaseRefused', `component path '${c}' must be local and relative`);
      }
      const abs = resolve(dir, c);
      if (!within(root, abs)) throw new BuildError('ArtifactFailed', `component '${c}' points outside the artifact root`);
      if (!(await exists(abs)) && spec.ignoreMissingComponents) continue;
      comps.push(c);
    }
    if (comps.length) k.components = comps;
  }
  if (spec.images?.length) {
    const images = Array.isArray(k.images) ? (k.images as Kus[]).map((i) => ({ ...i })) : [];
    for (const im of spec.images) {
      const cur = images.find((i) => i.name === im.name);
      if (cur) {
        if (im.newName) cur.newName = im.newName;
        if (im.newTag || im.digest) {
          delete cur.newTag;
          delete cur.digest;
          if (im.newTag) cur.newTag = im.newTag;
          if (im.digest) cur.digest = im.digest;
        }
      } else {
        const n: Kus = { name: im.name };
        if (im.newName) n.newName = im.newName;
        if (im.newTag) n.newTag = im.newTag;
        if (im.digest) n.digest = im.digest;
        images.push(n);
      }
    }
    k.images = images;
  }
  if (spec.buildMetadata?.length) k.buildMetadata = [...spec.buildMetadata];
  return k;
}

/** Every local path a kustomization file names, with the field it comes from. */
function referencedPaths(k: Kus): { field: string; path: string }[] {
  const out: { field: string; path: string }[] = [];
  const strs = (field: string, v: unknown, inlineOk = false) => {
    if (!Array.isArray(v)) return;
    for (const x of v) {
      if (typeof x === 'string') {
        if (inlineOk && /\n|:\s/.test(x)) continue; // an inline patch or plugin config, not a path
        out.push({ field, path: x });
      }
    }
  };
  for (const f of ['resources', 'bases', 'components', 'crds', 'configurations']) strs(f, k[f]);
  for (const f of ['generators', 'transformers', 'validators', 'patchesStrategicMerge']) strs(f, k[f], true);
  for (const f of ['patches', 'patchesJson6902', 'replacements']) {
    const v = k[f];
    if (Array.isArray(v)) for (const x of v) if (x && typeof x === 'object' && typeof (x as Kus).path === 'string') out.push({ field: f, path: (x as Kus).path as string });
  }
  for (const f of ['configMapGenerator', 'secretGenerator']) {
    const v = k[f];
    if (!Array.isArray(v)) continue;
    for (const g of v as Kus[]) {
      if (!g || typeof g !== 'object') continue;
      for (const file of (Array.isArray(g.files) ? g.files : []) as unknown[]) {
        if (typeof file === 'string') out.push({ field: `${f}.files`, path: file.includes('=') ? file.slice(file.indexOf('=') + 1) : file });
      }
      for (const e of (Array.isArray(g.envs) ? g.envs : []) as unknown[]) if (typeof e === 'string') out.push({ field: `${f}.envs`, path: e });
      if (typeof g.env === 'string') out.push({ field: `${f}.env`, path: g.env });
    }
  }
  const oa = k.openapi as Kus | undefined;
  if (oa && typeof oa === 'object' && typeof oa.path === 'string') out.push({ field: 'openapi.path', path: oa.path });
  return out;
}

/**
 * Checks the kustomization file in `start` and every one it reaches through resources, bases and
 * components: it parses, names no remote resource, no helm chart and no path outside `root`.
 */
export async function checkKustomizations(root: string, start: string): Promise<void> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length) {
    const dir = queue.shift()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    const f = await findKustomizationFile(dir);
    if (!f) continue;
    const rel = relative(root, f);
    const docs = parseYAMLDocs(await readFile(f, 'utf8'), rel);
    const k = (docs[0] ?? {}) as Kus;
    if (!k || typeof k !== 'object' || Array.isArray(k)) throw new BuildError('InvalidYAML', `${rel} is not a YAML mapping`, { file: rel });
    for (const h of ['helmCharts', 'helmChartInflationGenerator', 'helmGlobals']) {
      if (k[h] !== undefined) throw new BuildError('BuildFailed', `${rel}: ${h} is not supported (kustomize runs without helm)`, { file: rel });
    }
    for (const { field, path } of referencedPaths(k)) {
      const abs = resolve(dirname(f), path);
      if (isRemote(path) || (looksLikeHost(path) && !(await exists(abs)))) {
        throw new BuildError('RemoteBaseRefused', `${rel}: remote ${field} entry '${path}' is not allowed: every resource must come from the artifact`, { file: rel });
      }
      if (path.startsWith('/') || !within(root, abs)) {
        throw new BuildError('ArtifactFailed', `${rel}: ${field} entry '${path}' points outside the artifact root`, { file: rel });
      }
      if (['resources', 'bases', 'components'].includes(field)) {
        const st = await stat(abs).catch(() => undefined);
        if (st?.isDirectory()) queue.push(abs);
      }
    }
  }
}

export function dumpKustomization(k: Kus): string {
  return yaml.dump(k, { lineWidth: -1, noRefs: true, schema: yaml.CORE_SCHEMA });
}
