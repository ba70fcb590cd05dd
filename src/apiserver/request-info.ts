// Turns a request into kube's RequestInfo: verb, group, version, namespace, resource, subresource,
// name. Authorization, metrics and the resource handler all read it.

import { GROUP, VERSION } from '../apis/v1/common.js';

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
}

const METHOD_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

export function requestInfo(method: string, rawPath: string, query: URLSearchParams): RequestInfo {
  const path = rawPath.split('?')[0];
  const lowerVerb = (METHOD_VERBS[method] ?? method.toLowerCase());
  const prefix = `/apis/${GROUP}/${VERSION}/`;
  if (!path.startsWith(prefix)) return { resourceRequest: false, path, verb: method.toLowerCase() };
  let parts = path.slice(prefix.length).split('/').filter((p, i, a) => p !== '' || i < a.length - 1);
  parts = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  // kube needs a resource after group and version; `/apis/GROUP/VERSION/` is the discovery document.
  if (parts.length === 0) return { resourceRequest: false, path, verb: method.toLowerCase() };
  const info: RequestInfo = { resourceRequest: true, path, verb: lowerVerb, apiGroup: GROUP, apiVersion: VERSION };
  if (parts[0] === 'watch') {
    info.legacyWatch = true;
    info.verb = 'watch';
    parts = parts.slice(1);
  }
  if (parts[0] === 'namespaces' && parts.length >= 2) {
    info.namespace = parts[1];
    parts = parts.slice(2);
  }
  [info.resource, info.name, info.subresource] = parts;
  if (parts.length > 3) info.subresource = parts.slice(2).join('/');
  if (parts.length === 0) info.resource = undefined;
  // kube's query boolean: present and neither "0" nor "false" (any case) means true, even `?watch`.
  const watch = query.get('watch');
  const isWatch = watch !== null && watch !== '0' && watch.toLowerCase() !== 'false';
  if (info.verb === 'get' && !info.name) info.verb = isWatch ? 'watch' : 'list';
  if (info.verb === 'delete' && !info.name) info.verb = 'deletecollection';
  return info;
}
