// APIService objects as the aggregator reads them, the priorities kube-apiserver gives the built-in
// group versions it registers at start (so /apis lists the groups in kube's order), and the order
// itself: groups by their highest groupPriorityMinimum, then by name; versions by versionPriority,
// then kube's version order (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else).

import type { KubeObject } from '../../apis/meta/types.js';

export const APIREGISTRATION = 'apiregistration.k8s.io';
/** kube marks the APIServices it makes for its own group versions with this label. */
export const AUTOMANAGED_LABEL = 'kube-aggregator.kubernetes.io/automanaged';

export interface APIServiceCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface APIService extends KubeObject {
  spec: {
    group?: string;
    version: string;
    service?: { namespace: string; name: string; port?: number } | null;
    caBundle?: string;
    insecureSkipTLSVerify?: boolean;
    groupPriorityMinimum: number;
    versionPriority: number;
  };
  status?: { conditions?: APIServiceCondition[] };
}

export const apiServiceName = (group: string, version: string) => `${version}.${group}`;

// The built-in group versions' priorities in kube-apiserver 1.32 (its table of default APIServices).
// A group version not listed (a CRD's) gets kube's CRD default: 1000 and 100.
const BUILTIN_PRIORITIES: Record<string, [number, number]> = {
  'v1.': [18000, 1],
  'v1.apiregistration.k8s.io': [18000, 15],
  'v1.apps': [17800, 15],
  'v1.events.k8s.io': [17750, 15],
  'v1.authentication.k8s.io': [17700, 15],
  'v1.authorization.k8s.io': [17600, 15],
  'v1.autoscaling': [17500, 15],
  'v2.autoscaling': [17500, 30],
  'v1.batch': [17400, 15],
  'v1.certificates.k8s.io': [17300, 15],
  'v1.networking.k8s.io': [17200, 15],
  'v1.policy': [17100, 15],
  'v1.rbac.authorization.k8s.io': [17000, 15],
  'v1.storage.k8s.io': [16800, 15],
  'v1.admissionregistration.k8s.io': [16700, 15],
  'v1.apiextensions.k8s.io': [16700, 15],
  'v1.scheduling.k8s.io': [16600, 15],
  'v1.coordination.k8s.io': [16500, 15],
  'v1.node.k8s.io': [16300, 15],
  'v1.discovery.k8s.io': [16200, 15],
  'v1.flowcontrol.apiserver.k8s.io': [16100, 21],
};

/** The Local APIService kube-apiserver registers for a group version it serves itself. */
export function localAPIService(group: string, version: string, builtin: boolean): APIService {
  const name = apiServiceName(group, version);
  const [groupPriorityMinimum, versionPriority] = BUILTIN_PRIORITIES[name] ?? [1000, 100];
  return {
    apiVersion: `${APIREGISTRATION}/v1`,
    kind: 'APIService',
    metadata: { name, labels: { [AUTOMANAGED_LABEL]: builtin ? 'onstart' : 'true' } },
    spec: { ...(group ? { group } : {}), version, groupPriorityMinimum, versionPriority },
  };
}

/** -1 when a sorts first: kube's order of version strings. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    return { major: Number(m[1]), stage: m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2, minor: Number(m[3] ?? 0) };
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) {
    if (pa.stage !== pb.stage) return pb.stage - pa.stage;
    if (pa.major !== pb.major) return pb.major - pa.major;
    return pb.minor - pa.minor;
  }
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface VersionPriority {
  group: string;
  version: string;
  groupPriorityMinimum: number;
  versionPriority: number;
}

/** Group versions, grouped and ordered as kube's discovery orders them. */
export function orderedGroups(entries: VersionPriority[]): { group: string; versions: string[] }[] {
  const byGroup = new Map<string, VersionPriority[]>();
  for (const e of entries) byGroup.set(e.group, [...(byGroup.get(e.group) ?? []), e]);
  const groups = [...byGroup].map(([group, vs]) => ({
    group,
    priority: Math.max(...vs.map((v) => v.groupPriorityMinimum)),
    versions: vs.sort((a, b) => b.versionPriority - a.versionPriority || compareVersions(a.version, b.version)).map((v) => v.version),
  }));
  groups.sort((a, b) => b.priority - a.priority || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return groups.map(({ group, versions }) => ({ group, versions }));
}
