// Flux's postBuild substitution: each rendered object is serialized to YAML, its `${...}` expressions
// expanded (envsubst.ts), and the result parsed again, so `replicas: ${n}` becomes a number as in Flux.
// An object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` (or
// `gitops.toolkit/substitute: disabled`) is left as it is.

import yaml from 'js-yaml';
import type { KustomizationSpec, SubstituteReference } from '../../apis/v1/kustomization.js';
import { BuildError } from './errors.js';
import { envsubst, SubstitutionSyntaxError } from './envsubst.js';

export type KubeManifest = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
};

export type SubstituteStrategy = NonNullable<NonNullable<KustomizationSpec['postBuild']>['substituteStrategy']>;

const VAR_NAME_ASCII = /^[_A-Za-z][_A-Za-z0-9]*$/;
const OPT_OUT_KEYS = ['kustomize.toolkit.fluxcd.io/substitute', 'gitops.toolkit/substitute'];

export interface SubstituteOptions {
  /** `WithVariables` (default): substitute only when there is at least one variable; `Always`: also
   * when there is none, so that `${var:=default}` defaults apply. */
  strategy?: SubstituteStrategy;
  /** An unset variable without a default is an error instead of ''. */
  strict?: boolean;
}

export function substitutionDisabled(o: KubeManifest): boolean {
  const m = o.metadata ?? {};
  return OPT_OUT_KEYS.some((k) => m.labels?.[k] === 'disabled' || m.annotations?.[k] === 'disabled');
}

const objName = (o: KubeManifest): string =>
  `${o.kind ?? '?'}/${o.metadata?.namespace ? o.metadata.namespace + '/' : ''}${o.metadata?.name ?? '?'}`;

/** Checks every variable name against Flux's rule; throws SubstitutionFailed naming the first bad one. */
export function checkVarNames(vars: Record<string, string>): void {
  for (const k of Object.keys(vars)) {
    if (!VAR_NAME_ASCII.test(k)) {
      throw new BuildError('SubstitutionFailed', `'${k}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'`);
    }
  }
}

/** Substitutes `vars` into `objects` (returns new objects; the inputs are not modified). */
export function substitute(objects: KubeManifest[], vars: Record<string, string>, opts: SubstituteOptions | SubstituteStrategy = {}): KubeManifest[] {
  const o: SubstituteOptions = typeof opts === 'string' ? { strategy: opts } : opts;
  const always = o.strategy === 'Always';
  const has = Object.keys(vars).length > 0;
  if (!has && !always) return objects;
  checkVarNames(vars);
  return objects.map((obj) => {
    if (substitutionDisabled(obj)) return obj;
    const text = yaml.dump(obj, { lineWidth: -1, noRefs: true, schema: yaml.CORE_SCHEMA });
    if (!text.includes('$')) return obj;
    let out: string;
    try {
      out = envsubst(text, vars, { strict: o.strict });
    } catch (e) {
      if (e instanceof SubstitutionSyntaxError) {
        throw new BuildError('SubstitutionFailed', `${objName(obj)}: variable substitution failed: ${e.message}`);
      }
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = yaml.load(out, { schema: yaml.CORE_SCHEMA });
    } catch (e) {
      throw new BuildError('SubstitutionFailed', `${objName(obj)}: the substituted object is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new BuildError('SubstitutionFailed', `${objName(obj)}: the substituted object is not a mapping`);
    }
    return parsed as KubeManifest;
  });
}

/** What the caller found for one `substituteFrom` entry: `undefined` when it does not exist. */
export type FetchedSource =
  | { kind: 'ConfigMap'; data?: Record<string, string> }
  | { kind: 'Secret'; data?: Record<string, string> /* base64, as the API returns it */ };

/**
 * Merges postBuild variables in Flux's order: the `substituteFrom` entries in list order (a later one
 * overrides an earlier one), then the inline `substitute` map over them. A missing source is skipped
 * when `optional`, else an error. Newlines are removed from every value, as Flux does; Secret values
 * are base64-decoded.
 */
export function collectVars(
  postBuild: KustomizationSpec['postBuild'] | undefined,
  fetch: (ref: SubstituteReference) => FetchedSource | undefined,
): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const ref of postBuild?.substituteFrom ?? []) {
    const src = fetch(ref);
    if (!src) {
      if (ref.optional) continue;
      throw new BuildError('SubstitutionFailed', `substitute from '${ref.kind}/${ref.name}' error: ${ref.kind} not found`);
    }
    for (const [k, v] of Object.entries(src.data ?? {})) {
      const value = ref.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
      vars[k] = value.replaceAll('\n', '');
    }
  }
  for (const [k, v] of Object.entries(postBuild?.substitute ?? {})) vars[k] = v.replaceAll('\n', '');
  return vars;
}
