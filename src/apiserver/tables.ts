// Table and PartialObjectMetadata output (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), with
// the kind's printer columns evaluated the way kube does for CRD additionalPrinterColumns.

import type { PrinterColumn, ResourceDefinition } from '../apis/meta/resource.js';
import type { KubeObject, ListMeta } from '../apis/meta/types.js';

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: ListMeta;
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

const NAME_COLUMN: TableColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name is unique within a namespace and identifies the object. It cannot be updated.',
  priority: 0,
};

export function columnDefinitions(def: ResourceDefinition): TableColumnDefinition[] {
  return [NAME_COLUMN, ...def.printerColumns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority ?? 0 }))];
}

export function partialObjectMetadata(obj: KubeObject, apiVersion = 'meta.k8s.io/v1'): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata };
}

export function toTable(
  def: ResourceDefinition,
  items: KubeObject[],
  metadata: ListMeta,
  o: { includeObject?: IncludeObject; apiVersion?: string; noHeaders?: boolean; now?: Date } = {},
): Table {
  const now = o.now ?? new Date();
  const include = o.includeObject ?? 'Metadata';
  const apiVersion = o.apiVersion ?? 'meta.k8s.io/v1';
  return {
    kind: 'Table',
    apiVersion,
    metadata,
    columnDefinitions: o.noHeaders ? null : columnDefinitions(def),
    rows: items.map((obj) => ({
      cells: [obj.metadata.name, ...def.printerColumns.map((c) => cell(c, obj, now))],
      // kube labels the row's PartialObjectMetadata with the Table's own version.
      ...(include === 'None' ? {} : { object: include === 'Object' ? obj : partialObjectMetadata(obj, apiVersion) }),
    })),
  };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** One cell as kube's CRD table convertor makes it: string columns print every match, others use the first. */
function cell(c: PrinterColumn, obj: KubeObject, now: Date): unknown {
  if (c.value) return c.value(obj) ?? null;
  const values = evaluateJSONPath(obj, c.jsonPath);
  if (values.length === 0) return null;
  const v = values[0];
  switch (c.type) {
    case 'string':
      // Several matches print as one JSON array, like any matched array or object.
      if (values.length > 1) return JSON.stringify(values);
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'integer':
      return typeof v === 'number' ? Math.trunc(v) : null;
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    case 'date': {
      if (typeof v !== 'string') return null;
      if (v === '' || v === 'null') return '<unknown>';
      const t = RFC3339.test(v) ? Date.parse(v) : NaN;
      return Number.isNaN(t) ? '<invalid>' : humanDuration(now.getTime() - t);
    }
    default:
      return null;
  }
}

/**
 * The JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[*].b`, and
 * `.a[?(@.k=="v")].b` filters.
 */
export function evaluateJSONPath(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)\]/y;
  let pos = 0;
  const src = path.trim().replace(/^\{|\}$/g, '');
  while (pos < src.length) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new Error(`unsupported JSONPath ${path}`);
    pos = re.lastIndex;
    const next: unknown[] = [];
    for (const v of current) {
      if (m[1] !== undefined) {
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, m[1])) next.push((v as Record<string, unknown>)[m[1]]);
      } else if (m[2] !== undefined) {
        if (!Array.isArray(v)) continue;
        if (m[2] === '*') next.push(...v);
        else if (Number(m[2]) < v.length) next.push(v[Number(m[2])]);
      } else if (Array.isArray(v)) {
        const want = m[4] ?? m[5];
        for (const item of v) if (evaluateJSONPath(item, `.${m[3]}`).some((x) => String(x) === want)) next.push(item);
      }
    }
    current = next.filter((x) => x !== undefined && x !== null);
  }
  return current;
}

/** kube's duration.HumanDuration: `45s`, `5m10s`, `3h`, `2d5h`, `3y45d`. */
export function humanDuration(ms: number): string {
  const s = Math.trunc(ms / 1000); // Go's int(d.Seconds()) truncates toward zero
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 60 * 2) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 60 * 3) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) {
    const dy = Math.floor(h / 24) % 365;
    return dy === 0 ? `${Math.floor(h / 24 / 365)}y` : `${Math.floor(h / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(h / 24 / 365)}y`;
}
