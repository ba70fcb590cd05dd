// Turns a request into kube's RequestInfo: verb, group, version, namespace, resource, subresource,
// name. Authorization, metrics and the resource handler all read it.

export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  apiGroup?: string;
  apiVersion?: string;
  namespace?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  /** The legacy /watch/ path prefix was used. */
  legacyWatch?: boolean;
  /**
   * A list or watch narrowed to one object by `fieldSelector=metadata.name=X` is authorized as a
   * request on X (kube's RequestInfoFactory), so a Role limited by resourceNames can watch its object.
   */
  selectedName?: string;
}

const METHOD_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

/** Subresources of a namespace that keep `/namespaces/NS/<sub>` a request on the namespace itself (kube's list). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * kube's RequestInfoFactory: `/apis/<group>/<version>/…` and `/api/<version>/…` are resource
 * requests for whatever group they name (an unknown one is a 404 later, after authorization, as in
 * kube); everything else, discovery included, is a non-resource request.
 */
export function requestInfo(method: string, rawPath: string, query: URLSearchParams): RequestInfo {
  const path = rawPath.split('?')[0];
  const lowerVerb = METHOD_VERBS[method] ?? method.toLowerCase();
  const nonResource: RequestInfo = { resourceRequest: false, path, verb: method.toLowerCase() };
  const segments = path.split('/');
  // ['', 'apis', group, version, ...rest] or ['', 'api', version, ...rest]
  let apiGroup: string;
  let apiVersion: string;
  let rest: string[];
  if (segments[1] === 'apis' && segments.length > 4 && segments[2] && segments[3]) {
    [apiGroup, apiVersion, rest] = [segments[2], segments[3], segments.slice(4)];
  } else if (segments[1] === 'api' && segments.length > 3 && segments[2]) {
    [apiGroup, apiVersion, rest] = ['', segments[2], segments.slice(3)];
  } else return nonResource;
  let parts = rest.filter((p, i, a) => p !== '' || i < a.length - 1);
  parts = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  // kube needs a resource after group and version; `/apis/GROUP/VERSION/` is the discovery document.
  if (parts.length === 0) return nonResource;
  const info: RequestInfo = { resourceRequest: true, path, verb: lowerVerb, apiGroup, apiVersion };
  if (parts[0] === 'watch') {
    info.legacyWatch = true;
    info.verb = 'watch';
    parts = parts.slice(1);
  }
  if (parts[0] === 'namespaces' && parts.length >= 2) {
    info.namespace = parts[1];
    // `/namespaces/NS` and `/namespaces/NS/status` are the namespace object itself.
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
  }
  [info.resource, info.name, info.subresource] = parts;
  if (parts.length > 3) info.subresource = parts.slice(2).join('/');
  if (parts.length === 0) info.resource = undefined;
  // kube's query boolean: present and neither "0" nor "false" (any case) means true, even `?watch`.
  const watch = query.get('watch');
  const isWatch = watch !== null && watch !== '0' && watch.toLowerCase() !== 'false';
  if (info.verb === 'get' && !info.name) info.verb = isWatch ? 'watch' : 'list';
  if (info.verb === 'delete' && !info.name) info.verb = 'deletecollection';
  if ((info.verb === 'list' || info.verb === 'watch') && !info.name) {
    const fs = query.get('fieldSelector');
    const terms = fs ? fs.split(',').map((t) => t.trim()).filter(Boolean) : [];
    for (const t of terms) {
      const m = /^metadata\.name(==|=)(.*)$/.exec(t);
      if (m && m[2] && !m[2].includes('\\') && !/[/%]/.test(m[2])) info.selectedName = m[2];
    }
  }
  return info;
}
