// Content negotiation the way kube-apiserver does it: the Accept header picks plain JSON/YAML, a
// Table, PartialObjectMetadata, or an aggregated discovery document; anything else is 406.

export interface MediaRange {
  type: string; // e.g. application/json
  params: Record<string, string>;
}

/** The Accept header's media ranges, most preferred first: by q, then exact types before wildcards. */
export function parseMediaRanges(header: string | undefined): MediaRange[] {
  if (!header) return [];
  const q = (r: MediaRange) => (r.params.q === undefined ? 1 : Number(r.params.q));
  const wild = (r: MediaRange) => (r.type === '*/*' ? 2 : r.type.endsWith('/*') ? 1 : 0);
  return header
    .split(',')
    .map((part) => {
      const [type, ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const i = p.indexOf('=');
        if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim().replace(/^"|"$/g, '');
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((r) => r.type)
    .filter((r) => q(r) > 0)
    .sort((a, b) => q(b) - q(a) || wild(a) - wild(b)); // stable: header order breaks ties
}

export type ObjectOutput =
  | { as: 'object'; format: 'json' | 'yaml' }
  | { as: 'Table'; version: 'v1' | 'v1beta1' }
  | { as: 'PartialObjectMetadata'; version: 'v1' | 'v1beta1'; list: boolean };

const jsonLike = (t: string) => t === 'application/json' || t === 'application/*' || t === '*/*';

/** The first acceptable representation of an object or list; undefined → 406. */
export function negotiateObject(accept: string | undefined, isList: boolean): ObjectOutput | undefined {
  if (!accept?.trim()) return { as: 'object', format: 'json' };
  for (const r of parseMediaRanges(accept)) {
    const as = r.params.as;
    if (as) {
      if (r.type !== 'application/json' || r.params.g !== 'meta.k8s.io') continue;
      const version = r.params.v === 'v1beta1' ? 'v1beta1' : r.params.v === 'v1' ? 'v1' : undefined;
      if (!version) continue;
      if (as === 'Table') return { as: 'Table', version };
      if (as === 'PartialObjectMetadata' && !isList) return { as, version, list: false };
      if (as === 'PartialObjectMetadataList' && isList) return { as: 'PartialObjectMetadata', version, list: true };
      continue;
    }
    if (jsonLike(r.type)) return { as: 'object', format: 'json' };
    if (r.type === 'application/yaml') return { as: 'object', format: 'yaml' };
  }
  return undefined;
}

export const SERVED_OBJECT_TYPES = [
  'application/json',
  'application/yaml',
  'application/json;as=Table;v=v1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
];

export type DiscoveryOutput = { as: 'APIGroupDiscoveryList'; version: 'v2' | 'v2beta1' } | { as: 'legacy' };

/** /apis and friends: aggregated discovery (v2, v2beta1) by Accept, else the plain document. */
export function negotiateDiscovery(accept: string | undefined): DiscoveryOutput | undefined {
  if (!accept?.trim()) return { as: 'legacy' };
  for (const r of parseMediaRanges(accept)) {
    if (r.params.as === 'APIGroupDiscoveryList' && r.type === 'application/json' && r.params.g === 'apidiscovery.k8s.io') {
      if (r.params.v === 'v2' || r.params.v === 'v2beta1') return { as: 'APIGroupDiscoveryList', version: r.params.v };
      continue;
    }
    if (r.params.as) continue;
    if (jsonLike(r.type)) return { as: 'legacy' };
  }
  return undefined;
}

export const SERVED_DISCOVERY_TYPES = [
  'application/json',
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
];
