// Reads --authorization-rbac-file: one YAML/JSON file or a directory of them (not recursive, like
// `kubectl apply -f DIR`), several documents per file, `kind: List` (or RoleList, …) unwrapped.
// rbac.authorization.k8s.io/v1 objects are validated as kube-apiserver would on create, with v1's
// defaults; other kinds are skipped so a directory of mixed manifests can be pointed at.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { RBAC_GROUP, type LabelSelector, type PolicyRule, type RBACObject, type Subject } from './rbac.js';

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
const API_VERSION = `${RBAC_GROUP}/v1`;
const DEFAULT_NAMESPACE = 'default';

type Doc = Record<string, any>;

/** All RBAC objects at `path`; throws an Error naming the file and object on anything kube would reject. */
export async function loadRBACFile(path: string): Promise<RBACObject[]> {
  const files = (await stat(path)).isDirectory()
    ? (await readdir(path))
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const out: RBACObject[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const obj of parseRBACDocuments(await readFile(file, 'utf8'), file)) {
      const id = `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
      const first = seen.get(id);
      if (first) throw new Error(`${file}: ${id} is also defined in ${first}`);
      seen.set(id, file);
      out.push(obj);
    }
  }
  return out;
}

/** The RBAC objects in one file's text; `source` names it in errors. */
export function parseRBACDocuments(text: string, source: string): RBACObject[] {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw new Error(`${source}: invalid YAML: ${(e as Error).message}`);
  }
  const out: RBACObject[] = [];
  const add = (d: unknown, where: string) => {
    if (d === null || d === undefined) return;
    if (typeof d !== 'object' || Array.isArray(d)) throw new Error(`${source}: ${where}: not an object`);
    const doc = d as Doc;
    if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items)) {
      doc.items.forEach((item: unknown, i: number) => add(item, `${where} items[${i}]`));
      return;
    }
    const group = typeof doc.apiVersion === 'string' ? doc.apiVersion.split('/')[0] : '';
    if (group !== RBAC_GROUP || !RBAC_KINDS.has(doc.kind)) return;
    if (doc.apiVersion !== API_VERSION) throw new Error(`${source}: ${where}: ${doc.kind}: apiVersion ${doc.apiVersion} is not served; use ${API_VERSION}`);
    out.push(toObject(doc, source, where));
  };
  docs.forEach((d, i) => add(d, `document ${i + 1}`));
  return out;
}

function toObject(doc: Doc, source: string, where: string): RBACObject {
  const kind = doc.kind as RBACObject['kind'];
  const namespaced = kind === 'Role' || kind === 'RoleBinding';
  const meta = (doc.metadata ?? {}) as Doc;
  const errs: string[] = [];
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!name) errs.push('metadata.name: Required value: name or generateName is required');
  else if (name.includes('/') || name.includes('%') || name === '.' || name === '..') errs.push(`metadata.name: Invalid value: "${name}": may not contain '/' or '%' or be '.' or '..'`);
  const metadata = {
    name,
    ...(namespaced ? { namespace: typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : DEFAULT_NAMESPACE } : {}),
    ...(meta.labels && typeof meta.labels === 'object' ? { labels: meta.labels as Record<string, string> } : {}),
  };
  let obj: RBACObject;
  if (kind === 'Role' || kind === 'ClusterRole') {
    const rules = list<PolicyRule>(doc.rules, 'rules', errs);
    rules.forEach((r, i) => validateRule(r, namespaced, `rules[${i}]`, errs));
    if (kind === 'Role') obj = { kind, metadata: metadata as RBACObject['metadata'] & { namespace: string }, rules };
    else {
      const agg = doc.aggregationRule as Doc | undefined;
      if (agg) list<LabelSelector>(agg.clusterRoleSelectors, 'aggregationRule.clusterRoleSelectors', errs).forEach((s, i) => validateSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`, errs));
      obj = { kind, metadata, rules, ...(agg ? { aggregationRule: { clusterRoleSelectors: agg.clusterRoleSelectors ?? [] } } : {}) };
    }
  } else {
    const ref = (doc.roleRef ?? {}) as Doc;
    const roleRef = { apiGroup: ref.apiGroup || RBAC_GROUP, kind: String(ref.kind ?? ''), name: String(ref.name ?? '') };
    if (roleRef.apiGroup !== RBAC_GROUP) errs.push(`roleRef.apiGroup: Unsupported value: "${roleRef.apiGroup}": supported values: "${RBAC_GROUP}"`);
    const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
    if (!kinds.includes(roleRef.kind)) errs.push(`roleRef.kind: Unsupported value: "${roleRef.kind}": supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`);
    if (!roleRef.name) errs.push('roleRef.name: Required value');
    const subjects = list<Subject>(doc.subjects, 'subjects', errs).map((s, i) => validateSubject(s, namespaced, `subjects[${i}]`, errs));
    obj = { kind, metadata, subjects, roleRef } as RBACObject;
  }
  if (errs.length) throw new Error(`${source}: ${where}: ${kind} "${name}" is invalid: ${errs.join(', ')}`);
  return obj;
}

function list<T>(v: unknown, field: string, errs: string[]): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errs.push(`${field}: Invalid value: must be a list`);
    return [];
  }
  return v as T[];
}

const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');

function validateRule(r: PolicyRule, namespaced: boolean, at: string, errs: string[]): void {
  for (const f of ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
    if (r[f] !== undefined && !strings(r[f])) errs.push(`${at}.${f}: Invalid value: must be a list of strings`);
  }
  if (!r.verbs?.length) errs.push(`${at}.verbs: Required value: verbs must contain at least one value`);
  if (r.nonResourceURLs?.length) {
    if (namespaced) errs.push(`${at}.nonResourceURLs: Invalid value: namespaced rules cannot apply to non-resource URLs`);
    if (r.apiGroups?.length || r.resources?.length || r.resourceNames?.length)
      errs.push(`${at}.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs`);
    return;
  }
  if (!r.apiGroups?.length) errs.push(`${at}.apiGroups: Required value: resource rules must supply at least one api group`);
  if (!r.resources?.length) errs.push(`${at}.resources: Required value: resource rules must supply at least one resource`);
}

function validateSelector(s: LabelSelector, at: string, errs: string[]): void {
  (s?.matchExpressions ?? []).forEach((e, i) => {
    const p = `${at}.matchExpressions[${i}]`;
    if (e.operator === 'In' || e.operator === 'NotIn') {
      if (!e.values?.length) errs.push(`${p}.values: Required value: must be specified when \`operator\` is 'In' or 'NotIn'`);
    } else if (e.operator === 'Exists' || e.operator === 'DoesNotExist') {
      if (e.values?.length) errs.push(`${p}.values: Forbidden: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`);
    } else errs.push(`${p}.operator: Invalid value: "${e.operator}": not a valid selector operator`);
  });
}

/** v1 defaulting of apiGroup, then kube's subject checks. */
function validateSubject(s: Subject, namespaced: boolean, at: string, errs: string[]): Subject {
  const apiGroup = s.apiGroup ?? (s.kind === 'ServiceAccount' ? '' : RBAC_GROUP);
  if (!s.name) errs.push(`${at}.name: Required value`);
  if (s.kind === 'ServiceAccount') {
    if (apiGroup !== '') errs.push(`${at}.apiGroup: Unsupported value: "${apiGroup}": supported values: ""`);
    if (!s.namespace && !namespaced) errs.push(`${at}.namespace: Required value`);
  } else if (s.kind === 'User' || s.kind === 'Group') {
    if (apiGroup !== RBAC_GROUP) errs.push(`${at}.apiGroup: Unsupported value: "${apiGroup}": supported values: "${RBAC_GROUP}"`);
  } else errs.push(`${at}.kind: Unsupported value: "${s.kind}": supported values: "ServiceAccount", "User", "Group"`);
  return { ...s, apiGroup };
}
