// A local RBAC evaluator with kube-apiserver's semantics, for running without a cluster: the same
// Role/ClusterRole/RoleBinding/ClusterRoleBinding objects, matched rule by rule the way kube's RBAC
// authorizer does, with ClusterRole aggregation computed as the aggregation controller would.

import type { Authorizer, Decision, RequestAttributes, Rule, Rules, UserInfo } from '../types.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
/** kube-apiserver lets this group do anything before any authorizer runs. */
export const SUPERUSER_GROUP = 'system:masters';

/** What an authorizer that allows everything lists: every verb on every resource and URL. */
export const ALL_RULES: Rule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup?: string;
  kind: string;
  name: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface RBACMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface Role {
  kind: 'Role';
  metadata: RBACMeta & { namespace: string };
  rules?: PolicyRule[];
}

export interface ClusterRole {
  kind: 'ClusterRole';
  metadata: RBACMeta;
  rules?: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
}

export interface RoleBinding {
  kind: 'RoleBinding';
  metadata: RBACMeta & { namespace: string };
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ClusterRoleBinding {
  kind: 'ClusterRoleBinding';
  metadata: RBACMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export type RBACObject = Role | ClusterRole | RoleBinding | ClusterRoleBinding;

const has = (list: string[] | undefined, v: string) => list?.includes(v) ?? false;

function resourceMatches(rule: PolicyRule, combined: string, subresource: string | undefined): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    // `*/status` grants that subresource of every resource.
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

/** kube's RuleAllows: verb, group, resource (with subresource) and name, or verb and non-resource path. */
export function ruleAllows(a: RequestAttributes, rule: PolicyRule): boolean {
  const verbOK = has(rule.verbs, '*') || has(rule.verbs, a.verb);
  if (!a.resourceRequest) return verbOK && nonResourceURLMatches(rule, a.path);
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  // resourceNames only match requests that carry a name, so they never grant create, list or watch.
  const nameOK = !rule.resourceNames?.length || (!!a.name && rule.resourceNames.includes(a.name));
  return verbOK && (has(rule.apiGroups, '*') || has(rule.apiGroups, a.apiGroup ?? '')) && resourceMatches(rule, combined, a.subresource) && nameOK;
}

/** metav1.LabelSelectorAsSelector: an empty selector matches everything. */
export function labelSelectorMatches(sel: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, e.key);
    const inValues = present && has(e.values, labels[e.key]);
    const ok = e.operator === 'In' ? inValues : e.operator === 'NotIn' ? !inValues : e.operator === 'Exists' ? present : e.operator === 'DoesNotExist' ? !present : false;
    if (!ok) return false;
  }
  return true;
}

const ruleKey = (r: PolicyRule) => JSON.stringify([r.verbs ?? [], r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? [], r.nonResourceURLs ?? []]);

/**
 * The ClusterRoles with every aggregated role's rules replaced by the union (in selector order, roles
 * by name, duplicates dropped) of the rules of the other roles its selectors match, repeated until
 * nothing changes so aggregated roles that select aggregated roles settle as the controller's would.
 */
export function aggregateClusterRoles(roles: ClusterRole[]): ClusterRole[] {
  const byName = [...roles].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const rules = new Map(roles.map((r) => [r.metadata.name, r.aggregationRule ? [] : (r.rules ?? [])]));
  for (let changed = true, rounds = 0; changed && rounds <= roles.length; rounds++) {
    changed = false;
    for (const role of roles) {
      if (!role.aggregationRule) continue;
      const out: PolicyRule[] = [];
      const seen = new Set<string>();
      for (const sel of role.aggregationRule.clusterRoleSelectors ?? []) {
        for (const other of byName) {
          if (other.metadata.name === role.metadata.name || !labelSelectorMatches(sel, other.metadata.labels)) continue;
          for (const r of rules.get(other.metadata.name)!) {
            const k = ruleKey(r);
            if (seen.has(k)) continue;
            seen.add(k);
            out.push(r);
          }
        }
      }
      if (out.length !== rules.get(role.metadata.name)!.length) changed = true;
      rules.set(role.metadata.name, out);
    }
  }
  return roles.map((r) => (r.aggregationRule ? { ...r, rules: rules.get(r.metadata.name) } : r));
}

function appliesTo(user: UserInfo, s: Subject, namespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.name === s.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      // A RoleBinding may leave its ServiceAccount's namespace out: it means the binding's own.
      const ns = s.namespace || namespace;
      return !!ns && user.name === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount "${s.name}/${s.namespace || bindingNamespace}"`;
  return `${s.kind} "${s.name}"`;
}

/** Answers from a fixed set of RBAC objects; anything no rule allows is denied (kube: no opinion). */
export class RBACAuthorizer implements Authorizer {
  private readonly roles = new Map<string, Role>();
  private readonly clusterRoles = new Map<string, ClusterRole>();
  private readonly roleBindings = new Map<string, RoleBinding[]>();
  private readonly clusterRoleBindings: ClusterRoleBinding[] = [];

  constructor(objects: RBACObject[]) {
    const clusterRoles: ClusterRole[] = [];
    for (const o of objects) {
      if (o.kind === 'Role') this.roles.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
      else if (o.kind === 'ClusterRole') clusterRoles.push(o);
      else if (o.kind === 'RoleBinding') this.roleBindings.set(o.metadata.namespace, [...(this.roleBindings.get(o.metadata.namespace) ?? []), o]);
      else this.clusterRoleBindings.push(o);
    }
    for (const r of aggregateClusterRoles(clusterRoles)) this.clusterRoles.set(r.metadata.name, r);
  }

  async authorize(a: RequestAttributes): Promise<Decision> {
    if (a.user.groups.includes(SUPERUSER_GROUP)) return { allowed: true };
    const errors: string[] = [];
    const visit = (binding: RoleBinding | ClusterRoleBinding, namespace: string): string | undefined => {
      const subject = binding.subjects?.find((s) => appliesTo(a.user, s, namespace));
      if (!subject) return undefined;
      const rules = this.roleRefRules(binding.roleRef, namespace);
      if (typeof rules === 'string') return void errors.push(rules);
      if (!rules.some((r) => ruleAllows(a, r))) return undefined;
      const where = binding.kind === 'RoleBinding' ? `RoleBinding "${binding.metadata.name}/${namespace}"` : `ClusterRoleBinding "${binding.metadata.name}"`;
      return `RBAC: allowed by ${where} of ${binding.roleRef.kind} "${binding.roleRef.name}" to ${describeSubject(subject, namespace)}`;
    };
    for (const b of this.clusterRoleBindings) {
      const reason = visit(b, '');
      if (reason) return { allowed: true, reason };
    }
    if (a.namespace) {
      for (const b of this.roleBindings.get(a.namespace) ?? []) {
        const reason = visit(b, a.namespace);
        if (reason) return { allowed: true, reason };
      }
    }
    if (!errors.length) return { allowed: false };
    return { allowed: false, reason: `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}` };
  }

  /** kube's RuleResolver: the rules of every binding that names the user, cluster-wide and in `namespace`. */
  async rulesFor(user: UserInfo, namespace: string): Promise<Rules> {
    if (user.groups.includes(SUPERUSER_GROUP)) return { rules: ALL_RULES, incomplete: false };
    const rules: Rule[] = [];
    const errors: string[] = [];
    const collect = (binding: RoleBinding | ClusterRoleBinding, ns: string) => {
      if (!binding.subjects?.some((s) => appliesTo(user, s, ns))) return;
      const r = this.roleRefRules(binding.roleRef, ns);
      if (typeof r === 'string') errors.push(r);
      else rules.push(...r);
    };
    for (const b of this.clusterRoleBindings) collect(b, '');
    if (namespace) for (const b of this.roleBindings.get(namespace) ?? []) collect(b, namespace);
    return { rules, incomplete: errors.length > 0, ...(errors.length ? { evaluationError: errors.join(', ') } : {}) };
  }

  /** The referenced role's rules, or kube's error text when it does not exist. */
  private roleRefRules(ref: RoleRef, namespace: string): PolicyRule[] | string {
    if (ref.kind === 'ClusterRole') return this.clusterRoles.get(ref.name)?.rules ?? `clusterrole.${RBAC_GROUP} "${ref.name}" not found`;
    if (ref.kind === 'Role') return this.roles.get(`${namespace}/${ref.name}`)?.rules ?? `role.${RBAC_GROUP} "${ref.name}" not found`;
    return `unsupported role reference kind: "${ref.kind}"`;
  }
}
