import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PrinterColumn, ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject } from '../apis/meta/types.js';
import { resources } from '../apis/v1/index.js';
import { columnDefinitions, evaluateJSONPath, humanDuration, toTable } from './tables.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

describe('humanDuration matches kube duration.HumanDuration', () => {
  // The cases of apimachinery's TestHumanDuration and TestHumanDurationBoundaries, in milliseconds.
  const cases: [number, string][] = [
    [S, '1s'],
    [70 * S, '70s'],
    [190 * S, '3m10s'],
    [70 * M, '70m'],
    [47 * H, '47h'],
    [49 * H, '2d1h'],
    [(8 * 24 + 2) * H, '8d'],
    [367 * D, '367d'],
    [2 * Y + 25 * H, '2y1d'],
    [8 * Y + 2 * H, '8y'],
    [-2 * S, '<invalid>'],
    [-2 * S + 1, '0s'],
    [-1, '0s'],
    [0, '0s'],
    [S - 1, '0s'],
    [2 * M - 1, '119s'],
    [2 * M, '2m'],
    [2 * M + S, '2m1s'],
    [10 * M - 1, '9m59s'],
    [10 * M, '10m'],
    [10 * M + S, '10m'],
    [3 * H - 1, '179m'],
    [3 * H, '3h'],
    [3 * H + M, '3h1m'],
    [8 * H - 1, '7h59m'],
    [8 * H, '8h'],
    [8 * H + 59 * M, '8h'],
    [2 * D - 1, '47h'],
    [2 * D, '2d'],
    [2 * D + H, '2d1h'],
    [8 * D - 1, '7d23h'],
    [8 * D, '8d'],
    [8 * D + 23 * H, '8d'],
    [2 * Y - 1, '729d'],
    [2 * Y, '2y'],
    [2 * Y + 23 * H, '2y'],
    [2 * Y + 23 * H + 59 * M, '2y'],
    [2 * Y + D - 1, '2y'],
    [2 * Y + D, '2y1d'],
    [3 * Y, '3y'],
    [4 * Y, '4y'],
    [5 * Y, '5y'],
    [6 * Y, '6y'],
    [7 * Y, '7y'],
    [8 * Y - 1, '7y364d'],
    [8 * Y, '8y'],
    [8 * Y + 364 * D, '8y'],
    [9 * Y, '9y'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(humanDuration(ms), want));
});

const obj: KubeObject = {
  apiVersion: 'gitops.toolkit/v1',
  kind: 'Thing',
  metadata: { name: 'one', namespace: 'ns', creationTimestamp: '2024-01-01T00:00:00Z', resourceVersion: '7' },
  spec: {
    url: 'https://example.com/repo',
    suspend: false,
    replicas: 3,
    ratio: 1.5,
    servers: [{ hosts: ['foo'] }, { hosts: ['bar', 'baz'] }],
    ref: { branch: 'main', tag: 'v1' },
    empty: null,
  },
  status: {
    conditions: [
      { type: 'Reconciling', status: 'False', message: 'done' },
      { type: 'Ready', status: 'True', message: 'stored artifact', lastTransitionTime: '2024-01-01T10:00:00Z' },
    ],
    history: [{ chartVersion: '1.2.3' }, { chartVersion: '1.2.2' }],
  },
};

describe('evaluateJSONPath', () => {
  const cases: [string, unknown[]][] = [
    ['.spec.url', ['https://example.com/repo']],
    ['{.spec.url}', ['https://example.com/repo']],
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    [".status.conditions[?(@.type=='Ready')].message", ['stored artifact']],
    ['.status.conditions[?(@.type == "Reconciling")].status', ['False']],
    ['.status.history[0].chartVersion', ['1.2.3']],
    ['.status.history[1].chartVersion', ['1.2.2']],
    ['.status.conditions[*].type', ['Reconciling', 'Ready']],
    ['.spec.servers[*].hosts', [['foo'], ['bar', 'baz']]],
    ['.spec.servers[*].hosts[*]', ['foo', 'bar', 'baz']],
    ['.spec.servers[1].hosts[0]', ['bar']],
    ['.spec.ref', [{ branch: 'main', tag: 'v1' }]],
    ['.spec.suspend', [false]],
    ['.metadata.name', ['one']],
    // missing paths give no values, never an error
    ['.spec.missing', []],
    ['.spec.missing.deeper', []],
    ['.spec.empty', []],
    ['.status.history[2].chartVersion', []],
    ['.status.conditions[?(@.type=="Stalled")].status', []],
    ['.spec.url[0]', []],
    ['.spec.url[*]', []],
    ['.spec.servers.hosts', []],
    ['.spec.constructor', []],
    ['.spec.url.length', []],
  ];
  for (const [path, want] of cases) it(path, () => assert.deepEqual(evaluateJSONPath(obj, path), want));

  it('an unsupported expression is an error, not a silent empty column', () => {
    assert.throws(() => evaluateJSONPath(obj, '.spec.servers[0:1]'), /unsupported JSONPath/);
  });

  it('every printer column of every kind is in the supported subset', () => {
    for (const def of resources) for (const c of def.printerColumns) assert.doesNotThrow(() => evaluateJSONPath(obj, c.jsonPath), `${def.kind} ${c.name}`);
  });
});

const col = (name: string, type: PrinterColumn['type'], jsonPath: string, extra: Partial<PrinterColumn> = {}): PrinterColumn => ({ name, type, jsonPath, description: `${name} column`, ...extra });

const def = (printerColumns: PrinterColumn[]): ResourceDefinition => ({
  group: 'example.com',
  version: 'v1',
  namespaced: true,
  kind: 'Thing',
  listKind: 'ThingList',
  plural: 'things',
  singular: 'thing',
  shortNames: [],
  categories: [],
  hasArtifact: false,
  schema: { type: 'object' },
  printerColumns,
  validate: () => [],
  warnings: () => [],
});

const now = new Date('2024-01-01T12:00:00Z');
const oneCell = (c: PrinterColumn, o: KubeObject = obj) => toTable(def([c]), [o], {}, { now }).rows[0].cells[1];

describe('toTable', () => {
  it('column definitions start with Name, then the kind columns in order', () => {
    const cols = columnDefinitions(def([col('URL', 'string', '.spec.url'), col('Replicas', 'integer', '.spec.replicas', { priority: 1, format: 'int32' })]));
    assert.deepEqual(
      cols.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['URL', 'string', '', 0],
        ['Replicas', 'integer', 'int32', 1],
      ],
    );
    assert.equal(cols[1].description, 'URL column');
  });

  it('the first cell of every row is the name', () => {
    const t = toTable(def([]), [obj, { ...obj, metadata: { name: 'two' } }], { resourceVersion: '9' }, { now });
    assert.deepEqual(
      t.rows.map((r) => r.cells),
      [['one'], ['two']],
    );
    assert.deepEqual(t.metadata, { resourceVersion: '9' });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  });

  it('an empty list has no rows but still has columns', () => {
    const t = toTable(def([col('URL', 'string', '.spec.url')]), [], {}, { now });
    assert.deepEqual(t.rows, []);
    assert.equal(t.columnDefinitions?.length, 2);
  });

  // Expected values follow kube's tableconvertor (cellForJSONValue and its string-column printing).
  const cells: [string, PrinterColumn, unknown][] = [
    ['missing value → null', col('X', 'string', '.spec.missing'), null],
    ['null value → null', col('X', 'string', '.spec.empty'), null],
    ['string', col('X', 'string', '.spec.url'), 'https://example.com/repo'],
    ['number in a string column prints', col('X', 'string', '.spec.replicas'), '3'],
    ['boolean in a string column prints', col('X', 'string', '.spec.suspend'), 'false'],
    ['object in a string column is JSON', col('X', 'string', '.spec.ref'), '{"branch":"main","tag":"v1"}'],
    ['array in a string column is JSON', col('X', 'string', '.spec.servers[1].hosts'), '["bar","baz"]'],
    ['several matches in a string column are one JSON array', col('X', 'string', '.status.conditions[*].type'), '["Reconciling","Ready"]'],
    ['several array matches nest', col('X', 'string', '.spec.servers[*].hosts'), '[["foo"],["bar","baz"]]'],
    ['Ready condition status', col('Ready', 'string', '.status.conditions[?(@.type=="Ready")].status'), 'True'],
    ['boolean false', col('X', 'boolean', '.spec.suspend'), false],
    ['boolean column with a string → null', col('X', 'boolean', '.spec.url'), null],
    ['integer', col('X', 'integer', '.spec.replicas'), 3],
    ['integer column truncates a float', col('X', 'integer', '.spec.ratio'), 1],
    ['integer column with a string → null', col('X', 'integer', '.spec.url'), null],
    ['number', col('X', 'number', '.spec.ratio'), 1.5],
    ['number column with a boolean → null', col('X', 'number', '.spec.suspend'), null],
    ['date → age', col('Age', 'date', '.metadata.creationTimestamp'), '12h'],
    ['date of the first match', col('X', 'date', '.status.conditions[*].lastTransitionTime'), '120m'],
    ['date column with a number → null', col('X', 'date', '.spec.replicas'), null],
  ];
  for (const [name, c, want] of cells) it(`cell: ${name}`, () => assert.deepEqual(oneCell(c), want));

  const dates: [string, unknown, string | null][] = [
    ['fractional seconds', '2024-01-01T11:59:30.5Z', '29s'],
    ['a zone offset', '2024-01-01T13:00:00+02:00', '60m'],
    ['in the future', '2024-01-01T12:00:05Z', '<invalid>'],
    ['empty', '', '<unknown>'],
    ['not a timestamp', 'yesterday', '<invalid>'],
    ['a date without a time', '2024-01-01', '<invalid>'],
  ];
  for (const [name, value, want] of dates) {
    it(`date cell: ${name}`, () => assert.equal(oneCell(col('X', 'date', '.spec.when'), { ...obj, spec: { when: value } }), want));
  }

  it('integer column with several numeric matches uses the first', () => {
    assert.equal(oneCell(col('X', 'integer', '.spec.n[*]'), { ...obj, spec: { n: [4, 5] } }), 4);
  });

  it('includeObject: Metadata (default) gives PartialObjectMetadata rows', () => {
    const t = toTable(def([]), [obj], {}, { now });
    assert.deepEqual(t.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata });
  });

  it('includeObject: Metadata in a v1beta1 Table labels the row v1beta1, as kube does', () => {
    const t = toTable(def([]), [obj], {}, { now, includeObject: 'Metadata', apiVersion: 'meta.k8s.io/v1beta1' });
    assert.equal(t.apiVersion, 'meta.k8s.io/v1beta1');
    assert.equal((t.rows[0].object as KubeObject).apiVersion, 'meta.k8s.io/v1beta1');
  });

  it('includeObject: Object gives the whole object', () => {
    assert.deepEqual(toTable(def([]), [obj], {}, { now, includeObject: 'Object' }).rows[0].object, obj);
  });

  it('includeObject: None gives no object at all', () => {
    const row = toTable(def([]), [obj], {}, { now, includeObject: 'None' }).rows[0];
    assert.equal('object' in row, false);
  });

  it('noHeaders drops the column definitions (null, as kube serialises them)', () => {
    const t = toTable(def([col('URL', 'string', '.spec.url')]), [obj], {}, { now, noHeaders: true });
    assert.equal(t.columnDefinitions, null);
    assert.deepEqual(t.rows[0].cells, ['one', 'https://example.com/repo']);
  });

  it('every real kind renders a row without throwing, one cell per column', () => {
    for (const d of resources) {
      const t = toTable(d, [obj], {}, { now });
      assert.equal(t.rows[0].cells.length, d.printerColumns.length + 1, d.kind);
      assert.equal(t.columnDefinitions?.[0].name, 'Name');
    }
  });
});
