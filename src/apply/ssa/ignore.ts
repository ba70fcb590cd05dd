// A Kustomization's `spec.ignore` (Flux's drift ignore rules): JSON Pointer paths, optionally scoped by a
// kustomize-style target, that the apply leaves alone on objects that already exist. The paths are cut
// out of what is applied, so this field manager stops claiming them and whatever another manager (an
// HPA, kubectl scale, a webhook) set there stays; a new object is created whole, as Git says.

import type { KubeObject } from '../../kube/client.js';
import { matchesLabels, parseLabelSelector } from '../../registry/selectors/index.js';

export interface IgnoreRule {
  paths: string[];
  target?: { group?: string; version?: string; kind?: string; name?: string; namespace?: string; labelSelector?: string; annotationSelector?: string };
}

const whole = (re: string | undefined, v: string) => !re || new RegExp(`^(?:${re})$`).test(v);

/** Whether `rule` applies to `obj` (regexes on group, version, kind, name, namespace; label and annotation selectors). */
export function ruleMatches(rule: IgnoreRule, obj: KubeObject): boolean {
  const t = rule.target;
  if (!t) return true;
  const av = obj.apiVersion ?? '';
  const [group, version] = av.includes('/') ? [av.slice(0, av.indexOf('/')), av.slice(av.indexOf('/') + 1)] : ['', av];
  const m = obj.metadata ?? {};
  return (
    whole(t.group, group) &&
    whole(t.version, version) &&
    whole(t.kind, obj.kind ?? '') &&
    whole(t.name, m.name ?? '') &&
    whole(t.namespace, m.namespace ?? '') &&
    (!t.labelSelector || matchesLabels(parseLabelSelector(t.labelSelector), m.labels ?? {})) &&
    (!t.annotationSelector || matchesLabels(parseLabelSelector(t.annotationSelector), m.annotations ?? {}))
  );
}

const unescape = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');

/** A copy of `obj` without the fields at `pointer` (RFC 6901); a path that is not there changes nothing. */
function without(obj: unknown, tokens: string[]): unknown {
  if (!tokens.length || obj === null || typeof obj !== 'object') return obj;
  const [head, ...rest] = tokens;
  if (Array.isArray(obj)) {
    const i = Number(head);
    if (!Number.isInteger(i) || i < 0 || i >= obj.length) return obj;
    if (!rest.length) return obj.filter((_, j) => j !== i);
    return obj.map((v, j) => (j === i ? without(v, rest) : v));
  }
  const o = obj as Record<string, unknown>;
  if (!(head in o)) return obj;
  if (!rest.length) {
    const { [head]: _, ...others } = o;
    return others;
  }
  return { ...o, [head]: without(o[head], rest) };
}

/** The paths (as tokens) of the rules matching `obj`, without the object's identity. */
export function ignoredPaths(obj: KubeObject, rules: IgnoreRule[]): string[][] {
  const out: string[][] = [];
  for (const r of rules) {
    if (!ruleMatches(r, obj)) continue;
    for (const p of r.paths) {
      if (!p.startsWith('/')) continue;
      const tokens = p.slice(1).split('/').map(unescape);
      // The identity of the object is never cut out.
      if (tokens[0] === 'apiVersion' || tokens[0] === 'kind' || (tokens[0] === 'metadata' && (tokens.length === 1 || tokens[1] === 'name' || tokens[1] === 'namespace'))) continue;
      out.push(tokens);
    }
  }
  return out;
}

/** `obj` with the paths of every matching rule removed. */
export function withoutIgnored(obj: KubeObject, paths: string[][]): KubeObject {
  let out: unknown = obj;
  for (const tokens of paths) out = without(out, tokens);
  return out as KubeObject;
}
