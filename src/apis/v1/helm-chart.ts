// HelmChart: a Helm chart taken from a HelmRepository (by name and version range) or from the Artifact
// of a GitRepository or Bucket (by path), packaged into an Artifact. Same spec and status as Flux's
// source.toolkit.fluxcd.io/v1 HelmChart.

import type { FieldError, ResourceDefinition } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { API_VERSION, arr, bool, duration, invalid, obj, objectSchema, str, resourceNames } from './common.js';
import {
  type OCIRepositoryVerification,
  type SourceObject,
  type SourceStatus,
  checkOCIVerification,
  checkPositiveDuration,
  checkRefName,
  checkSemverRange,
  checkSpec,
  ociVerificationSchema,
  ociVerificationWarnings,
  sourceColumns,
  sourceStatusSchema,
  sourceWarnings,
} from './source.js';

export type HelmChartSourceKind = 'HelmRepository' | 'GitRepository' | 'Bucket';

export interface HelmChartSpec {
  chart: string;
  version?: string;
  sourceRef: { apiVersion?: string; kind: HelmChartSourceKind; name: string };
  interval: string;
  reconcileStrategy?: 'ChartVersion' | 'Revision';
  valuesFiles?: string[];
  ignoreMissingValuesFiles?: boolean;
  suspend?: boolean;
  verify?: OCIRepositoryVerification;
}

export interface HelmChartStatus extends SourceStatus {
  observedSourceArtifactRevision?: string;
  observedChartName?: string;
  observedValuesFiles?: string[];
  url?: string;
}

export type HelmChart = SourceObject<HelmChartSpec, HelmChartStatus>;

const spec = obj(
  'The chart to fetch, where it comes from, and how to package it.',
  {
    chart: str('Chart name in a HelmRepository, or path to the chart directory or packaged chart inside a GitRepository or Bucket Artifact.'),
    version: str('Semver range of chart versions; the highest match is used. Only for HelmRepository sources; * (the latest) when empty.', { default: '*' }),
    sourceRef: obj(
      'The source, in the same namespace, that holds the chart.',
      {
        apiVersion: str('API version of the source.'),
        kind: str('Kind of the source.', { enum: ['HelmRepository', 'GitRepository', 'Bucket'] }),
        name: str('Name of the source.'),
      },
      ['kind', 'name'],
    ),
    interval: duration('How often the source is checked for a new chart (approximate, with jitter).'),
    reconcileStrategy: str(
      "What makes a new Artifact: 'ChartVersion' a change of the chart's version, 'Revision' any new revision of a GitRepository or Bucket source.",
      { enum: ['ChartVersion', 'Revision'], default: 'ChartVersion' },
    ),
    valuesFiles: arr(
      "Values files, relative to the source root (or chart, for HelmRepository sources), merged in order (later wins) into the packaged chart's values.yaml; values.yaml itself only when listed.",
      str('Path of a values file.'),
    ),
    ignoreMissingValuesFiles: bool('Skip spec.valuesFiles entries that do not exist instead of failing.'),
    suspend: bool('Stops reconciliation of this HelmChart while true; the last Artifact stays available.'),
    verify: ociVerificationSchema(
      "Verification of the chart's OCI signature with cosign or notation; only for HelmRepository sources of type 'oci'. Dependencies not bundled in the chart are not verified.",
    ),
  },
  ['chart', 'sourceRef', 'interval'],
);

const status = sourceStatusSchema('HelmChart', {
  observedSourceArtifactRevision: str('Revision of the source Artifact the current Artifact was built from.'),
  observedChartName: str('Chart name resolved from spec.chart for the current Artifact.'),
  observedValuesFiles: arr('Values files merged into the current Artifact.', str('Path of a values file.')),
  url: str('Download address of the latest Artifact; prefer status.artifact for exact data.'),
});

function validate(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!checkSpec(errors, o)) return errors;
  const s = o.spec as Partial<HelmChartSpec>;

  const fromRepository = s.sourceRef?.kind === 'HelmRepository';
  // Repository charts are looked up by name: a path means the source kind is wrong.
  if (fromRepository && typeof s.chart === 'string' && (/^\.{0,2}\//.test(s.chart) || /\s/.test(s.chart) || s.chart.split('/').includes('..'))) {
    errors.push(invalid('spec.chart', s.chart, 'must be a chart name for a HelmRepository source; chart paths are for GitRepository and Bucket sources'));
  }
  checkSemverRange(errors, 'spec.version', s.version);
  checkRefName(errors, 'spec.sourceRef.name', s.sourceRef?.name);
  checkPositiveDuration(errors, 'spec.interval', s.interval);

  const seen = new Set<string>();
  s.valuesFiles?.forEach((f, i) => {
    const field = `spec.valuesFiles[${i}]`;
    if (!f.trim()) errors.push(invalid(field, f, 'must be a file path'));
    else if (seen.has(f)) errors.push({ type: 'FieldValueDuplicate', field, value: f, message: 'values file is listed more than once' });
    seen.add(f);
  });
  checkOCIVerification(errors, 'spec.verify', s.verify);
  return errors;
}

function warnings(o: KubeObject): string[] {
  const s = o.spec as Partial<HelmChartSpec> | undefined;
  if (!s) return [];
  const out = sourceWarnings(s);
  const kind = s.sourceRef?.kind;
  if (kind && kind !== 'HelmRepository') {
    if (s.version && s.version !== '*') out.push(`spec.version is ignored for a ${kind} source: the chart's own version is used`);
    if (s.verify) out.push(`spec.verify is ignored for a ${kind} source: only charts from HelmRepositories of type 'oci' are verified`);
  }
  if (kind === 'HelmRepository' && s.reconcileStrategy === 'Revision') out.push("spec.reconcileStrategy 'Revision' only applies to GitRepository and Bucket sources");
  const apiVersion = s.sourceRef?.apiVersion;
  if (apiVersion && apiVersion !== API_VERSION) out.push(`spec.sourceRef.apiVersion '${apiVersion}' is not served here: the source is looked up as ${API_VERSION} ${kind}`);
  out.push(...ociVerificationWarnings('spec.verify', s.verify));
  return out;
}

export const helmChart: ResourceDefinition = {
  ...resourceNames('HelmChart', 'helmcharts', ['hc']),
  hasArtifact: true,
  schema: objectSchema('HelmChart fetches a Helm chart from a HelmRepository, GitRepository or Bucket and produces a packaged chart Artifact.', spec, status),
  printerColumns: sourceColumns(
    { name: 'Chart', type: 'string', jsonPath: '.spec.chart', description: 'Chart name or path.' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'Chart version range.' },
    { name: 'Source Kind', type: 'string', jsonPath: '.spec.sourceRef.kind', description: 'Kind of the source holding the chart.' },
    { name: 'Source Name', type: 'string', jsonPath: '.spec.sourceRef.name', description: 'Name of the source holding the chart.' },
  ),
  validate,
  warnings,
};
