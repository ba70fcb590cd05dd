import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiateDiscovery, negotiateObject, parseMediaRanges, type ObjectOutput } from './negotiation.js';

// Accept headers as real clients send them.
const KUBECTL_GET = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const KUBECTL_DISCOVERY =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const CLIENT_GO_PROTOBUF = 'application/vnd.kubernetes.protobuf,application/json';
const METADATA_CLIENT_LIST =
  'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_CLIENT_GET =
  'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

const JSON_OUT: ObjectOutput = { as: 'object', format: 'json' };
const YAML_OUT: ObjectOutput = { as: 'object', format: 'yaml' };
const TABLE_V1: ObjectOutput = { as: 'Table', version: 'v1' };

describe('negotiateObject', () => {
  const cases: [string, string | undefined, boolean, ObjectOutput | undefined][] = [
    ['no Accept header', undefined, false, JSON_OUT],
    ['empty Accept header', '', true, JSON_OUT],
    ['kubectl get (object)', KUBECTL_GET, false, TABLE_V1],
    ['kubectl get (list)', KUBECTL_GET, true, TABLE_V1],
    ['Table v1beta1 only', 'application/json;as=Table;v=v1beta1;g=meta.k8s.io', true, { as: 'Table', version: 'v1beta1' }],
    ['spaces and upper case around parameters', 'Application/JSON ; as=Table ; v=v1 ; g=meta.k8s.io', true, TABLE_V1],
    ['quoted parameter values', 'application/json;as="Table";v="v1";g="meta.k8s.io"', true, TABLE_V1],
    ['client-go protobuf first, JSON second', CLIENT_GO_PROTOBUF, false, JSON_OUT],
    ['protobuf only is not served', 'application/vnd.kubernetes.protobuf', false, undefined],
    ['*/*', '*/*', true, JSON_OUT],
    ['application/*', 'application/*', false, JSON_OUT],
    ['yaml', 'application/yaml', false, YAML_OUT],
    ['text/html is not served', 'text/html', false, undefined],
    ['browser-style header falls back to */*', 'text/html,application/xhtml+xml,*/*;q=0.8', false, JSON_OUT],
    ['watch stream parameter', 'application/json;stream=watch', true, JSON_OUT],
    ['q=0 refuses a type', 'application/json;q=0,application/yaml', false, YAML_OUT],
    ['q=0 on the only type', 'application/json;q=0', false, undefined],
    ['higher q wins over header order', 'application/json;q=0.5,application/yaml', false, YAML_OUT],
    ['equal q keeps header order', 'application/yaml,application/json', false, YAML_OUT],
    ['an exact type beats */* of the same q', '*/*,application/yaml', false, YAML_OUT],
    ['Table of another group is skipped', 'application/json;as=Table;v=v1;g=example.com,application/yaml', true, YAML_OUT],
    ['Table without a version is skipped', 'application/json;as=Table;g=meta.k8s.io', true, undefined],
    ['Table of an unknown version is skipped', 'application/json;as=Table;v=v2;g=meta.k8s.io,application/json', true, JSON_OUT],
    ['Table as protobuf is not served', 'application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io', true, undefined],
    ['an unknown conversion kind is skipped', 'application/json;as=Foo;v=v1;g=meta.k8s.io,application/json', false, JSON_OUT],
    ['metadata client list', METADATA_CLIENT_LIST, true, { as: 'PartialObjectMetadata', version: 'v1', list: true }],
    ['PartialObjectMetadataList on a single object falls through', METADATA_CLIENT_LIST, false, JSON_OUT],
    ['metadata client get', METADATA_CLIENT_GET, false, { as: 'PartialObjectMetadata', version: 'v1', list: false }],
    ['PartialObjectMetadata on a list falls through', METADATA_CLIENT_GET, true, JSON_OUT],
    ['PartialObjectMetadataList v1beta1', 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1', true, { as: 'PartialObjectMetadata', version: 'v1beta1', list: true }],
    ['PartialObjectMetadata alone on a list', 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', true, undefined],
  ];
  for (const [name, accept, isList, want] of cases) it(name, () => assert.deepEqual(negotiateObject(accept, isList), want));
});

describe('negotiateDiscovery', () => {
  const cases: [string, string | undefined, ReturnType<typeof negotiateDiscovery>][] = [
    ['kubectl aggregated discovery', KUBECTL_DISCOVERY, { as: 'APIGroupDiscoveryList', version: 'v2' }],
    ['v2beta1 only', 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json', { as: 'APIGroupDiscoveryList', version: 'v2beta1' }],
    ['an unknown version falls back to the legacy document', 'application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json', { as: 'legacy' }],
    ['protobuf aggregated discovery is not served', 'application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json', { as: 'legacy' }],
    ['no Accept header', undefined, { as: 'legacy' }],
    ['plain JSON', 'application/json', { as: 'legacy' }],
    ['*/*', '*/*', { as: 'legacy' }],
    ['client-go protobuf first', CLIENT_GO_PROTOBUF, { as: 'legacy' }],
    ['only protobuf', 'application/vnd.kubernetes.protobuf', undefined],
    ['a Table is not a discovery document', 'application/json;as=Table;v=v1;g=meta.k8s.io', undefined],
    ['q=0 on aggregated discovery', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0,application/json', { as: 'legacy' }],
  ];
  for (const [name, accept, want] of cases) it(name, () => assert.deepEqual(negotiateDiscovery(accept), want));
});

describe('parseMediaRanges', () => {
  it('lower-cases types and parameter names, keeps parameter values', () => {
    assert.deepEqual(parseMediaRanges('Application/Json;AS=Table;V=v1'), [{ type: 'application/json', params: { as: 'Table', v: 'v1' } }]);
  });

  it('skips empty entries and parameters without a value', () => {
    assert.deepEqual(parseMediaRanges('application/json;pretty,,'), [{ type: 'application/json', params: {} }]);
  });

  it('orders by q, then exact before wildcard, then header order', () => {
    const types = parseMediaRanges('*/*;q=0.1,application/*,text/plain;q=0.9,application/json,application/yaml').map((r) => r.type);
    assert.deepEqual(types, ['application/json', 'application/yaml', 'application/*', 'text/plain', '*/*']);
  });
});

describe('a header that refuses everything is not the same as no header', () => {
  it('object: 406', () => assert.equal(negotiateObject('application/json;q=0,*/*;q=0', false), undefined));
  it('discovery: 406', () => assert.equal(negotiateDiscovery('application/json;q=0'), undefined));
  it('whitespace only counts as no header', () => assert.deepEqual(negotiateObject('  ', false), JSON_OUT));
});
