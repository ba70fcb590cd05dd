// Flux's exclusion rules (fluxcd/pkg sourceignore, as source-controller applies them), in gitignore
// syntax through the `ignore` package, case-sensitive as Git is on Linux.
//
// 'git' (GitRepository, OCIRepository): VCS files are always excluded. The default list applies only
// while there are no custom rules; custom rules are every `.sourceignore` in the tree (each relative
// to its own directory, deeper files after shallower ones) followed by spec.ignore. As in Flux's code,
// any custom rule replaces the default list, so a `.sourceignore` that needs `*.png` gone says so.
// 'bucket' (Bucket): no default list; the root `.sourceignore` (itself left out) and spec.ignore.
// 'none': spec.ignore alone.
// Later rules win; an excluded directory excludes everything below it.
import ignore from 'ignore';
import type { ArchiveEntry } from './types.js';

type Ignore = ignore.Ignore;

export const IGNORE_FILE = '.sourceignore';
export const VCS_PATTERNS = ['.git/', '.gitignore', '.gitmodules', '.gitattributes'];
export const DEFAULT_PATTERNS = [
  ...['*.jpg', '*.jpeg', '*.gif', '*.png', '*.wmv', '*.flv', '*.tar.gz', '*.zip'],
  ...['.github/', '.circleci/', '.travis.yml', '.gitlab-ci.yml', 'appveyor.yml', '.drone.yml', 'cloudbuild.yaml', 'codeship-services.yml', 'codeship-steps.yml'],
  ...['**/.goreleaser.yml', '**/.sops.yaml', '**/.flux.yaml'],
];
/** A `.sourceignore` larger than this is refused rather than read into memory. */
export const MAX_IGNORE_FILE_BYTES = 1 << 20;

export type IgnoreDefaults = 'git' | 'bucket' | 'none';

interface Layer {
  /** Directory the rules are relative to, '' for the root. */
  domain: string;
  rules: Ignore;
}

const matcher = (patterns: string | string[]): Ignore => ignore({ ignorecase: false }).add(patterns);

/** Rule lines that count as rules: not blank, not comments. */
const ruleLines = (text: string): string[] => text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));

async function readRules(e: ArchiveEntry): Promise<string> {
  if ((e.size ?? 0) > MAX_IGNORE_FILE_BYTES) throw new Error(`${e.path} is larger than ${MAX_IGNORE_FILE_BYTES} bytes`);
  const c = await e.read!();
  if (c instanceof Uint8Array) return Buffer.from(c).toString('utf8');
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of c) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    if ((n += b.length) > MAX_IGNORE_FILE_BYTES) throw new Error(`${e.path} is larger than ${MAX_IGNORE_FILE_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const dirOf = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
};

/** Pre-order of a walk that visits each directory's entries by name: compare segment by segment. */
function walkOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return Buffer.compare(Buffer.from(x[i]), Buffer.from(y[i]));
  }
  return x.length - y.length;
}

/** The entries that survive the ignore rules; `.sourceignore` contents are read with `read()`. */
export async function filterEntries(entries: ArchiveEntry[], o: { specIgnore?: string; defaults: IgnoreDefaults }): Promise<ArchiveEntry[]> {
  const vcs = o.defaults === 'git' ? matcher(VCS_PATTERNS) : undefined;
  const layers: Layer[] = [];
  let custom = 0;
  const ignoreFiles = entries.filter(
    (e) => e.type === 'file' && (o.defaults === 'git' ? e.path.endsWith(`/${IGNORE_FILE}`) || e.path === IGNORE_FILE : o.defaults === 'bucket' && e.path === IGNORE_FILE),
  );
  ignoreFiles.sort((a, b) => walkOrder(dirOf(a.path), dirOf(b.path)));
  for (const f of ignoreFiles) {
    if (vcs && isVcs(vcs, f.path)) continue; // Flux does not look inside .git
    const lines = ruleLines(await readRules(f));
    custom += lines.length;
    layers.push({ domain: dirOf(f.path), rules: matcher(lines) });
  }
  if (o.specIgnore !== undefined) {
    const lines = ruleLines(o.specIgnore);
    custom += lines.length;
    layers.push({ domain: '', rules: matcher(lines) });
  }
  if (o.defaults === 'git' && custom === 0) layers.push({ domain: '', rules: matcher(DEFAULT_PATTERNS) });

  const decided = new Map<string, boolean>(); // directory → excluded
  const excludedItself = (path: string, dir: boolean): boolean => {
    if (vcs && isVcs(vcs, path, dir)) return true;
    for (let i = layers.length - 1; i >= 0; i--) {
      const { domain, rules } = layers[i];
      if (domain && !path.startsWith(`${domain}/`)) continue;
      const rel = domain ? path.slice(domain.length + 1) : path;
      const r = rules.test(dir ? `${rel}/` : rel);
      if (r.ignored) return true;
      if (r.unignored) return false;
    }
    return false;
  };
  const dirExcluded = (dir: string): boolean => {
    let v = decided.get(dir);
    if (v === undefined) {
      const parent = dirOf(dir);
      v = (parent !== '' && dirExcluded(parent)) || excludedItself(dir, true);
      decided.set(dir, v);
    }
    return v;
  };
  return entries.filter((e) => {
    if (o.defaults === 'bucket' && e.path === IGNORE_FILE) return false;
    if (e.type === 'directory') return !dirExcluded(e.path);
    const parent = dirOf(e.path);
    return !(parent !== '' && dirExcluded(parent)) && !excludedItself(e.path, false);
  });
}

const isVcs = (vcs: Ignore, path: string, dir = false): boolean => vcs.ignores(dir ? `${path}/` : path);
