import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestInfo, type RequestInfo } from './request-info.js';

const G = '/apis/gitops.toolkit/v1';

function info(method: string, url: string): RequestInfo {
  return requestInfo(method, url, new URLSearchParams(url.split('?')[1] ?? ''));
}

const res = (verb: string, rest: Partial<RequestInfo>, path: string): RequestInfo => ({
  resourceRequest: true,
  path,
  verb,
  apiGroup: 'gitops.toolkit',
  apiVersion: 'v1',
  ...rest,
});

describe('requestInfo: resource requests', () => {
  const NS = `${G}/namespaces/ns1/gitrepositories`;
  const cases: [string, string, string, Partial<RequestInfo>, string?][] = [
    ['GET', `${G}/gitrepositories`, 'list', { resource: 'gitrepositories' }],
    ['GET', `${G}/gitrepositories?watch=true`, 'watch', { resource: 'gitrepositories' }],
    ['GET', NS, 'list', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}/`, 'list', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}?watch=true&resourceVersion=5`, 'watch', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}?watch=1`, 'watch', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}?watch=True`, 'watch', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}?watch`, 'watch', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}?watch=false`, 'list', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}?watch=FALSE`, 'list', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['GET', `${NS}?watch=0`, 'list', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['HEAD', NS, 'list', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['POST', NS, 'create', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['DELETE', NS, 'deletecollection', { namespace: 'ns1', resource: 'gitrepositories' }],
    ['DELETE', `${G}/gitrepositories`, 'deletecollection', { resource: 'gitrepositories' }],
    ['GET', `${NS}/repo`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo' }],
    ['HEAD', `${NS}/repo`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo' }],
    // a named GET stays a get with ?watch, as in kube (watch one object with /watch/ or a field selector)
    ['GET', `${NS}/repo?watch=true`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo' }],
    ['PUT', `${NS}/repo`, 'update', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo' }],
    ['PATCH', `${NS}/repo`, 'patch', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo' }],
    ['DELETE', `${NS}/repo`, 'delete', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo' }],
    ['GET', `${NS}/repo/status`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo', subresource: 'status' }],
    ['PUT', `${NS}/repo/status`, 'update', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo', subresource: 'status' }],
    ['PATCH', `${NS}/repo/status`, 'patch', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo', subresource: 'status' }],
    ['GET', `${NS}/repo/artifact`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo', subresource: 'artifact' }],
    // a view (ResourceDefinition.views) is a get of its subresource: RBAC grants it as `get` on kustomizations/build
    ['GET', `${G}/namespaces/ns1/kustomizations/app/build`, 'get', { namespace: 'ns1', resource: 'kustomizations', name: 'app', subresource: 'build' }],
    ['GET', `${G}/namespaces/ns1/kustomizations/app/diff?watch=1`, 'get', { namespace: 'ns1', resource: 'kustomizations', name: 'app', subresource: 'diff' }],
    ['GET', `${NS}/repo/status/extra`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo', subresource: 'status/extra' }],
    ['GET', `${G}/gitrepositories/repo`, 'get', { resource: 'gitrepositories', name: 'repo' }],
    // legacy /watch/ paths
    ['GET', `${G}/watch/gitrepositories`, 'watch', { resource: 'gitrepositories', legacyWatch: true }],
    ['GET', `${G}/watch/namespaces/ns1/gitrepositories`, 'watch', { namespace: 'ns1', resource: 'gitrepositories', legacyWatch: true }],
    ['GET', `${G}/watch/namespaces/ns1/gitrepositories/repo`, 'watch', { namespace: 'ns1', resource: 'gitrepositories', name: 'repo', legacyWatch: true }],
    ['GET', `${G}/watch/namespaces/ns1/gitrepositories?watch=false`, 'watch', { namespace: 'ns1', resource: 'gitrepositories', legacyWatch: true }],
    ['POST', `${G}/watch/namespaces/ns1/gitrepositories`, 'watch', { namespace: 'ns1', resource: 'gitrepositories', legacyWatch: true }],
    // names are percent-decoded after splitting, so an encoded "/" stays inside the name (and is refused later)
    ['GET', `${NS}/a%2Fb`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'a/b' }],
    ['GET', `${NS}/bad%zz`, 'get', { namespace: 'ns1', resource: 'gitrepositories', name: 'bad%zz' }],
    // kube's rule: /namespaces lists namespaces; /namespaces/NS and /namespaces/NS/status|finalize are that namespace
    ['GET', `${G}/namespaces`, 'list', { resource: 'namespaces' }],
    ['GET', `${G}/namespaces/ns1`, 'get', { namespace: 'ns1', resource: 'namespaces', name: 'ns1' }],
    ['PUT', `${G}/namespaces/ns1/finalize`, 'update', { namespace: 'ns1', resource: 'namespaces', name: 'ns1', subresource: 'finalize' }],
    ['GET', `${G}/namespaces/ns1/status`, 'get', { namespace: 'ns1', resource: 'namespaces', name: 'ns1', subresource: 'status' }],
  ];
  for (const [method, url, verb, rest] of cases) {
    it(`${method} ${url.slice(G.length)} → ${verb}`, () => {
      const want = res(verb, rest, url.split('?')[0]);
      const got = info(method, url);
      for (const k of Object.keys(got) as (keyof RequestInfo)[]) if (got[k] === undefined) delete got[k];
      assert.deepEqual(got, want);
    });
  }
});

describe('requestInfo: any group, and the core group under /api', () => {
  const cases: [string, string, Partial<RequestInfo> & { verb: string }][] = [
    ['GET', '/apis/other.example/v1/foos', { verb: 'list', apiGroup: 'other.example', apiVersion: 'v1', resource: 'foos' }],
    ['GET', '/api/v1/namespaces/default/configmaps/cm', { verb: 'get', apiGroup: '', apiVersion: 'v1', namespace: 'default', resource: 'configmaps', name: 'cm' }],
    ['POST', '/api/v1/namespaces', { verb: 'create', apiGroup: '', apiVersion: 'v1', resource: 'namespaces' }],
    ['DELETE', '/api/v1/namespaces/team-a', { verb: 'delete', apiGroup: '', apiVersion: 'v1', namespace: 'team-a', resource: 'namespaces', name: 'team-a' }],
    ['GET', '/apis/apps/v1/deployments?watch=1', { verb: 'watch', apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments' }],
    ['PUT', '/apis/apps/v1/namespaces/ns/deployments/web/scale', { verb: 'update', apiGroup: 'apps', apiVersion: 'v1', namespace: 'ns', resource: 'deployments', name: 'web', subresource: 'scale' }],
  ];
  for (const [method, url, want] of cases) {
    it(`${method} ${url}`, () => {
      const got = info(method, url);
      for (const k of Object.keys(got) as (keyof RequestInfo)[]) if (got[k] === undefined) delete got[k];
      assert.deepEqual(got, { resourceRequest: true, path: url.split('?')[0], ...want });
    });
  }
});

describe('requestInfo: non-resource requests', () => {
  const cases: [string, string, string][] = [
    ['GET', '/apis', 'get'],
    ['GET', '/apis/gitops.toolkit', 'get'],
    ['GET', G, 'get'],
    ['GET', `${G}/`, 'get'],
    ['POST', `${G}/`, 'post'],
    ['GET', '/healthz', 'get'],
    ['GET', '/readyz/storage?verbose', 'get'],
    ['HEAD', '/version', 'head'],
    ['GET', '/openapi/v3/apis/gitops.toolkit/v1?hash=abc', 'get'],
    ['GET', '/api', 'get'],
    ['GET', '/api/v1', 'get'],
    ['GET', '/apis/apps', 'get'],
    ['PUT', '/metrics', 'put'],
  ];
  for (const [method, url, verb] of cases) {
    it(`${method} ${url}`, () => assert.deepEqual(info(method, url), { resourceRequest: false, path: url.split('?')[0], verb }));
  }
});

describe('a list or watch narrowed by fieldSelector=metadata.name', () => {
  it('is authorized as a request on that name (kube: a resourceNames Role may watch its object)', () => {
    const w = info('GET', '/api/v1/namespaces/kube-system/configmaps?watch=true&fieldSelector=metadata.name%3Dextension-apiserver-authentication');
    assert.equal(w.verb, 'watch');
    assert.equal(w.name, undefined, 'still served as a watch of the collection');
    assert.equal(w.selectedName, 'extension-apiserver-authentication');
    assert.equal(info('GET', '/api/v1/namespaces/x/configmaps?fieldSelector=metadata.name%3D%3Da').selectedName, 'a');
    assert.equal(info('GET', '/api/v1/namespaces/x/configmaps?fieldSelector=metadata.name!%3Da').selectedName, undefined);
    assert.equal(info('GET', '/api/v1/namespaces/x/configmaps?fieldSelector=metadata.namespace%3Dx').selectedName, undefined);
    assert.equal(info('GET', '/api/v1/namespaces/x/configmaps/a').selectedName, undefined);
  });
});
