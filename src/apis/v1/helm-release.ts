// HelmRelease: Flux's helm.toolkit.fluxcd.io/v2 kind, served as gitops.toolkit/v1. It installs a Helm
// chart from a source as a release, upgrades it when the chart or values change, tests, rolls back or
// uninstalls it, and corrects drift.

import type { FieldError, PrinterColumn, ResourceDefinition } from '../meta/resource.js';
import type { Condition, KubeObject } from '../meta/types.js';
import {
  anyJSON,
  arr,
  bool,
  checkAtMostOne,
  duration,
  forbidden,
  int,
  invalid,
  isDNS1123Subdomain,
  localObjectReference,
  obj,
  objectSchema,
  readyColumns,
  str,
  resourceNames,
} from './common.js';
import {
  apiVersionWarning,
  applierStatusSchema,
  checkDependsOn,
  checkIgnoreRules,
  checkImages,
  checkKindReference,
  checkKubeConfig,
  checkMetadata,
  checkNamespace,
  checkPatches,
  commonMetadataSchema,
  dependsOnSchema,
  healthCheckExprsSchema,
  ignoreRulesSchema,
  imageWarnings,
  imagesSchema,
  intervalWarning,
  inventorySchema,
  kubeConfigSchema,
  patchesSchema,
  type CommonMetadata,
  type CrossNamespaceSourceReference,
  type CustomHealthCheck,
  type DependencyReference,
  type IgnoreRule,
  type KubeConfigReference,
  type KustomizeImage,
  type KustomizePatch,
  type ResourceInventory,
} from './kustomization.js';
import {
  checkOCIVerification,
  checkPositiveDuration,
  checkRefName,
  checkSemverRange,
  checkSpec,
  type LocalObjectReference,
} from './source.js';

// ---- types ----

export interface HelmChartTemplateSpec {
  chart: string;
  version?: string;
  sourceRef: CrossNamespaceSourceReference;
  interval?: string;
  reconcileStrategy?: 'ChartVersion' | 'Revision';
  valuesFiles?: string[];
  /** Deprecated by Flux in favour of valuesFiles, and dropped from its API; merged before valuesFiles. */
  valuesFile?: string;
  ignoreMissingValuesFiles?: boolean;
  verify?: { provider: 'cosign' | 'notation'; secretRef?: LocalObjectReference };
}

export interface HelmChartTemplate {
  metadata?: CommonMetadata;
  spec: HelmChartTemplateSpec;
}

export type CRDsPolicy = 'Skip' | 'Create' | 'CreateReplace';
export type ServerSideApplyMode = 'enabled' | 'disabled' | 'auto';

export interface ActionStrategy {
  name: 'RemediateOnFailure' | 'RetryOnFailure';
  retryInterval?: string;
}

export interface Remediation {
  retries?: number;
  ignoreTestFailures?: boolean;
  remediateLastFailure?: boolean;
}

interface ActionCommon {
  timeout?: string;
  disableHooks?: boolean;
  disableWait?: boolean;
  disableWaitForJobs?: boolean;
}

export interface Install extends ActionCommon {
  remediation?: Remediation;
  strategy?: ActionStrategy;
  disableOpenAPIValidation?: boolean;
  disableSchemaValidation?: boolean;
  disableTakeOwnership?: boolean;
  replace?: boolean;
  /** Deprecated: use crds: Skip. */
  skipCRDs?: boolean;
  crds?: CRDsPolicy;
  createNamespace?: boolean;
  serverSideApply?: boolean;
}

export interface Upgrade extends ActionCommon {
  remediation?: Remediation & { strategy?: 'rollback' | 'uninstall' };
  strategy?: ActionStrategy;
  disableOpenAPIValidation?: boolean;
  disableSchemaValidation?: boolean;
  disableTakeOwnership?: boolean;
  force?: boolean;
  preserveValues?: boolean;
  cleanupOnFail?: boolean;
  crds?: CRDsPolicy;
  serverSideApply?: ServerSideApplyMode;
}

export interface Test {
  enable?: boolean;
  timeout?: string;
  ignoreFailures?: boolean;
  filters?: { name: string; exclude?: boolean }[];
}

export interface Rollback extends ActionCommon {
  recreate?: boolean;
  force?: boolean;
  cleanupOnFail?: boolean;
  serverSideApply?: ServerSideApplyMode;
}

export interface Uninstall {
  timeout?: string;
  disableHooks?: boolean;
  keepHistory?: boolean;
  disableWait?: boolean;
  deletionPropagation?: 'background' | 'foreground' | 'orphan';
}

export interface ValuesReference {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  valuesKey?: string;
  targetPath?: string;
  optional?: boolean;
}

export interface HelmReleaseSpec {
  chart?: HelmChartTemplate;
  chartRef?: CrossNamespaceSourceReference;
  interval: string;
  kubeConfig?: KubeConfigReference;
  suspend?: boolean;
  releaseName?: string;
  targetNamespace?: string;
  storageNamespace?: string;
  dependsOn?: DependencyReference[];
  timeout?: string;
  maxHistory?: number;
  serviceAccountName?: string;
  persistentClient?: boolean;
  driftDetection?: { mode?: 'enabled' | 'warn' | 'disabled'; ignore?: IgnoreRule[] };
  install?: Install;
  upgrade?: Upgrade;
  test?: Test;
  rollback?: Rollback;
  uninstall?: Uninstall;
  valuesFrom?: ValuesReference[];
  values?: Record<string, unknown>;
  postRenderers?: { kustomize?: { patches?: KustomizePatch[]; images?: KustomizeImage[] } }[];
  commonMetadata?: CommonMetadata;
  healthCheckExprs?: CustomHealthCheck[];
  waitStrategy?: { name: 'poller' | 'legacy' };
}

export interface TestHookStatus {
  lastStarted?: string;
  lastCompleted?: string;
  phase?: string;
}

/** A Helm release revision as the controller recorded it. */
export interface HelmReleaseSnapshot {
  apiVersion?: string;
  action?: string;
  digest: string;
  name: string;
  namespace: string;
  version: number;
  status: string;
  chartName: string;
  chartVersion: string;
  appVersion?: string;
  configDigest: string;
  firstDeployed: string;
  lastDeployed: string;
  deleted?: string;
  testHooks?: Record<string, TestHookStatus>;
  ociDigest?: string;
}

export interface HelmReleaseStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastHandledReconcileAt?: string;
  lastHandledForceAt?: string;
  lastHandledResetAt?: string;
  observedPostRenderersDigest?: string;
  observedCommonMetadataDigest?: string;
  lastAttemptedGeneration?: number;
  helmChart?: string;
  storageNamespace?: string;
  history?: HelmReleaseSnapshot[];
  inventory?: ResourceInventory;
  lastAttemptedReleaseAction?: 'install' | 'upgrade';
  lastAttemptedReleaseActionDuration?: string;
  failures?: number;
  installFailures?: number;
  upgradeFailures?: number;
  lastAttemptedRevision?: string;
  lastAttemptedRevisionDigest?: string;
  lastAttemptedConfigDigest?: string;
  /** Deprecated: use lastAttemptedConfigDigest. */
  lastAttemptedValuesChecksum?: string;
  /** Deprecated: use history. */
  lastReleaseRevision?: number;
}

export type HelmRelease = Omit<KubeObject, 'spec' | 'status'> & { spec: HelmReleaseSpec; status?: HelmReleaseStatus };

// ---- the schema ----

const CHART_SOURCE_KINDS = ['HelmRepository', 'GitRepository', 'Bucket'];
const CHART_REF_KINDS_FLUX = ['OCIRepository', 'HelmChart', 'ExternalArtifact'];
/** The kinds chartRef can point at that this server serves (Flux also has ExternalArtifact). */
const CHART_REF_KINDS = ['OCIRepository', 'HelmChart'];

const nameOf = (what: string) => str(`Name of the ${what}.`, { minLength: 1, maxLength: 253 });
const namespaceOf = (what: string) => str(`Namespace of the ${what}; defaults to the HelmRelease's namespace.`, { minLength: 1, maxLength: 63 });
const actionTimeout = (action: string) =>
  duration(`Time limit for each Kubernetes operation (such as hook Jobs) of the Helm ${action}; defaults to spec.timeout.`);
const crdsPolicy = (description: string) => str(description, { enum: ['Skip', 'Create', 'CreateReplace'] });
const serverSideApplyMode = (action: string) =>
  str(`Server-side apply during the ${action}: enabled, disabled, or auto (the default) to do what the previous release did.`, {
    enum: ['enabled', 'disabled', 'auto'],
  });
const strategySchema = (action: string) =>
  obj(
    `How a failed ${action} is handled; defaults to RemediateOnFailure.`,
    {
      name: str(
        `RemediateOnFailure applies spec.${action}.remediation; RetryOnFailure retries the failed ${action} every retryInterval without remediation.`,
        { enum: ['RemediateOnFailure', 'RetryOnFailure'] },
      ),
      retryInterval: duration(`Time between retries of a failed ${action} (default 5m); only with RetryOnFailure.`),
    },
    ['name'],
  );
const disableHooks = (action: string) => bool(`Do not run chart hooks during the ${action}.`);
const disableWait = (action: string) => bool(`Do not wait for resources to become ready after the ${action}.`);
const disableWaitForJobs = (action: string) => bool(`Do not wait for Jobs to complete after the ${action}.`);
const disableOpenAPIValidation = (action: string) => bool(`Do not validate the rendered manifests against the cluster's OpenAPI schema during the ${action}.`);
const disableSchemaValidation = (action: string) => bool(`Do not validate the values against the chart's JSON Schema during the ${action}.`);
const disableTakeOwnership = (action: string) => bool(`Do not take ownership of existing objects not yet managed by the release during the ${action}.`);
const retries = (how: string) => int(`Retries after a failure before giving up, with ${how} between attempts; 0 (the default) means none, a negative number unlimited.`);
const ignoreTestFailures = (action: string) => bool(`Do not remediate when the Helm tests run after the ${action} fail; defaults to spec.test.ignoreFailures.`);

const chartTemplate = obj(
  'Template of the HelmChart the controller creates, in the namespace of the source, to fetch the chart. Exactly one of chart or chartRef.',
  {
    metadata: commonMetadataSchema('Labels and annotations of the HelmChart.'),
    spec: obj(
      'The spec of the HelmChart.',
      {
        chart: str('Name of the chart in a HelmRepository, or its path in a GitRepository or Bucket.', { minLength: 1, maxLength: 2048 }),
        version: str('Semver range of the chart version to use, for HelmRepository sources; `*` (the default) picks the latest.', { default: '*' }),
        sourceRef: obj(
          'The source the chart is fetched from.',
          {
            apiVersion: str('API version of the source; sources are always looked up in gitops.toolkit/v1.'),
            kind: str('Kind of the source.', { enum: CHART_SOURCE_KINDS }),
            name: nameOf('source'),
            namespace: namespaceOf('source'),
          },
          ['name'],
        ),
        interval: duration('How often to check the source for a new chart; defaults to spec.interval.'),
        reconcileStrategy: str('What produces a new chart Artifact: a new ChartVersion, or any new source Revision.', {
          enum: ['ChartVersion', 'Revision'],
          default: 'ChartVersion',
        }),
        valuesFiles: arr(
          "Values files in the source, merged in order (later wins) to replace the chart's default values.yaml; list values.yaml explicitly to keep it.",
          str('Path of a values file in the source.'),
        ),
        valuesFile: str('Deprecated: use valuesFiles. A values file merged before valuesFiles.'),
        ignoreMissingValuesFiles: bool('Skip values files that do not exist instead of failing.'),
        verify: obj(
          'Verify the signature of a chart pulled from an OCI registry. Dependencies not bundled in the chart are not verified.',
          {
            provider: str('The signing technology to verify with.', { enum: ['cosign', 'notation'], default: 'cosign' }),
            secretRef: localObjectReference(
              'Secret with the trusted material: cosign public keys, or for notation a trustpolicy.json and CA certificates. Without it, cosign verifies keyless signatures.',
            ),
          },
          ['provider'],
        ),
      },
      ['chart', 'sourceRef'],
    ),
  },
  ['spec'],
);

const spec = obj(
  'The desired state: which chart to release, with which values, and how to install, upgrade, test, roll back and uninstall it.',
  {
    chart: chartTemplate,
    chartRef: obj(
      'A source that holds the chart itself (an OCIRepository or a HelmChart). Exactly one of chart or chartRef.',
      {
        apiVersion: str('API version of the source; sources are always looked up in gitops.toolkit/v1.'),
        kind: str('Kind of the source.', { enum: CHART_REF_KINDS_FLUX }),
        name: nameOf('source'),
        namespace: namespaceOf('source'),
      },
      ['kind', 'name'],
    ),
    interval: duration('How often to reconcile the release, correcting drift. Approximate: reconciles are spread with jitter.'),
    timeout: duration('Time limit for each Kubernetes operation (such as hook Jobs) of a Helm action; defaults to 5m.'),
    suspend: bool('Stop reconciling until set back to false; a reconcile already running finishes.'),
    releaseName: str('Name of the Helm release; defaults to `[targetNamespace-]name`, shortened with a hash beyond 53 characters.', {
      minLength: 1,
      maxLength: 53,
    }),
    targetNamespace: str("Namespace the release is installed into; defaults to the HelmRelease's namespace.", { minLength: 1, maxLength: 63 }),
    storageNamespace: str("Namespace Helm stores the release records in; defaults to the HelmRelease's namespace.", { minLength: 1, maxLength: 63 }),
    dependsOn: dependsOnSchema('HelmRelease'),
    maxHistory: int('Release revisions Helm keeps; 0 keeps all. Defaults to 5.'),
    serviceAccountName: str('Service account to impersonate when performing Helm actions, limiting the release to its permissions.', {
      minLength: 1,
      maxLength: 253,
    }),
    persistentClient: bool(
      'Reuse one Kubernetes client for the whole reconciliation (the default) instead of one per Helm action; turn off for charts that create CRDs outside Helm’s CRD handling.',
    ),
    kubeConfig: kubeConfigSchema('HelmRelease'),
    driftDetection: obj('Detection and correction of changes made in the cluster to the objects of the release.', {
      mode: str('enabled corrects drift, warn only reports it, disabled (the default) does neither.', { enum: ['enabled', 'warn', 'disabled'] }),
      ignore: ignoreRulesSchema('Fields that drift detection leaves alone.', 'release'),
    }),
    install: obj('Configuration of Helm install.', {
      timeout: actionTimeout('install'),
      remediation: obj('What to do when the install fails, with the RemediateOnFailure strategy.', {
        retries: retries('an uninstall'),
        ignoreTestFailures: ignoreTestFailures('install'),
        remediateLastFailure: bool('Uninstall also after the last failed retry; defaults to false.'),
      }),
      strategy: strategySchema('install'),
      disableHooks: disableHooks('install'),
      disableWait: disableWait('install'),
      disableWaitForJobs: disableWaitForJobs('install'),
      disableOpenAPIValidation: disableOpenAPIValidation('install'),
      disableSchemaValidation: disableSchemaValidation('install'),
      disableTakeOwnership: disableTakeOwnership('install'),
      replace: bool('Reuse the release name if it belongs to a deleted release still in the history.'),
      skipCRDs: bool('Deprecated: use crds: Skip. Do not install the CRDs of the chart.'),
      crds: crdsPolicy(
        "Handling of the chart's crds/ directory: Skip, Create (the default: create missing CRDs, leave existing ones) or CreateReplace (also replace existing ones).",
      ),
      createNamespace: bool('Create targetNamespace if it does not exist; it is not deleted on uninstall.'),
      serverSideApply: bool('Install with server-side apply; defaults to true.'),
    }),
    upgrade: obj('Configuration of Helm upgrade.', {
      timeout: actionTimeout('upgrade'),
      remediation: obj('What to do when the upgrade fails, with the RemediateOnFailure strategy.', {
        retries: retries('the remediation strategy'),
        ignoreTestFailures: ignoreTestFailures('upgrade'),
        remediateLastFailure: bool('Remediate also after the last failed retry; defaults to true when retries is above 0.'),
        strategy: str('Remediation of a failed upgrade: rollback (the default) or uninstall.', { enum: ['rollback', 'uninstall'] }),
      }),
      strategy: strategySchema('upgrade'),
      disableHooks: disableHooks('upgrade'),
      disableWait: disableWait('upgrade'),
      disableWaitForJobs: disableWaitForJobs('upgrade'),
      disableOpenAPIValidation: disableOpenAPIValidation('upgrade'),
      disableSchemaValidation: disableSchemaValidation('upgrade'),
      disableTakeOwnership: disableTakeOwnership('upgrade'),
      force: bool('Replace (delete and recreate) changed objects instead of patching them.'),
      preserveValues: bool("Reuse the previous release's values and merge the new ones over them; the release is then no longer declarative."),
      cleanupOnFail: bool('Delete objects the upgrade created when it fails.'),
      crds: crdsPolicy(
        "Handling of the chart's crds/ directory: Skip (the default), Create (create missing CRDs) or CreateReplace (also replace existing ones).",
      ),
      serverSideApply: serverSideApplyMode('upgrade'),
    }),
    test: obj('Configuration of Helm test.', {
      enable: bool('Run the chart tests after each install or upgrade.'),
      timeout: actionTimeout('test'),
      ignoreFailures: bool('Do not treat failed tests as a failed release; install and upgrade can override it.'),
      filters: arr(
        'Tests to run or skip.',
        obj(
          'Selects one test by name.',
          {
            name: str('Name of the test.', { minLength: 1, maxLength: 253 }),
            exclude: bool('Skip this test instead of running it.'),
          },
          ['name'],
        ),
      ),
    }),
    rollback: obj('Configuration of Helm rollback, used when a failed upgrade is remediated by rolling back.', {
      timeout: actionTimeout('rollback'),
      disableHooks: disableHooks('rollback'),
      disableWait: disableWait('rollback'),
      disableWaitForJobs: disableWaitForJobs('rollback'),
      recreate: bool('Deprecated and without effect since Helm 4: restarted the pods of the rolled back workloads.'),
      force: bool('Replace (delete and recreate) changed objects instead of patching them.'),
      cleanupOnFail: bool('Delete objects the rollback created when it fails.'),
      serverSideApply: serverSideApplyMode('rollback'),
    }),
    uninstall: obj('Configuration of Helm uninstall.', {
      timeout: actionTimeout('uninstall'),
      disableHooks: disableHooks('uninstall'),
      keepHistory: bool('Keep the release history after removing the objects, marking the release deleted.'),
      disableWait: bool('Do not wait for the objects to be deleted.'),
      deletionPropagation: str('Deletion propagation policy for the objects of the release.', {
        enum: ['background', 'foreground', 'orphan'],
        default: 'background',
      }),
    }),
    valuesFrom: arr(
      'ConfigMaps and Secrets with values, merged in order (later wins), before values.',
      obj(
        'A ConfigMap or Secret holding values.',
        {
          kind: str('Kind of the object.', { enum: ['Secret', 'ConfigMap'] }),
          name: str("Name of the object, in the HelmRelease's namespace.", { minLength: 1, maxLength: 253 }),
          valuesKey: str('Data key holding the values YAML, or the single value when targetPath is set; defaults to values.yaml.', {
            maxLength: 253,
            pattern: '^[\\-._a-zA-Z0-9]+$',
          }),
          targetPath: str('Dotted path (as in `helm --set`) the single value is set at; without it the values merge at the root.', {
            maxLength: 250,
            pattern: '^([a-zA-Z0-9_\\-.\\\\\\/]|\\[[0-9]{1,5}\\])+$',
          }),
          optional: bool('Carry on when the object does not exist; a missing key is still an error.'),
        },
        ['kind', 'name'],
      ),
    ),
    values: anyJSON('Values for the chart, merged over valuesFrom.'),
    postRenderers: arr(
      'Post-renderers applied in order to the rendered manifests.',
      obj('A post-renderer.', {
        kustomize: obj('Kustomize patches and image overrides applied to the rendered manifests.', {
          patches: patchesSchema('Strategic merge and JSON6902 patches, selected by target.'),
          images: imagesSchema('Image name, tag and digest overrides.'),
        }),
      }),
    ),
    commonMetadata: commonMetadataSchema('Labels and annotations set on every object of the release.'),
    healthCheckExprs: healthCheckExprsSchema(
      'Custom health rules for kinds whose readiness kstatus cannot judge; used when the action waits with the poller strategy.',
      true,
    ),
    waitStrategy: obj(
      'How Helm waits for the objects to become ready.',
      {
        name: str('poller (the default) polls object status with kstatus; legacy uses the Helm 3 wait logic.', { enum: ['poller', 'legacy'] }),
      },
      ['name'],
    ),
  },
  ['interval'],
);

const count = (what: string) => int(`${what} failures against the current desired state; reset by a successful reconciliation.`, { format: 'int64' });

const status = applierStatusSchema('HelmRelease', {
  lastHandledForceAt: str('Value of the force-request annotation last acted on.'),
  lastHandledResetAt: str('Value of the reset-request annotation last acted on.'),
  observedPostRenderersDigest: str('Digest of spec.postRenderers at the last successful reconciliation.'),
  observedCommonMetadataDigest: str('Digest of spec.commonMetadata at the last successful reconciliation.'),
  lastAttemptedGeneration: int('Generation of the HelmRelease the last reconciliation attempt was for.', { format: 'int64' }),
  helmChart: str('`<namespace>/<name>` of the HelmChart created from spec.chart.'),
  storageNamespace: str('Namespace holding the Helm records of the current release.', { minLength: 1, maxLength: 63 }),
  history: arr(
    'Releases made by the controller, newest first, back to the last successful one.',
    obj(
      'A Helm release revision.',
      {
        apiVersion: str('Version of the snapshot format, which tells how digest was computed.'),
        action: str('The Helm action that produced this revision.'),
        digest: str('Digest `<algo>:<hex>` of the release record.'),
        name: str('Name of the release.'),
        namespace: str('Namespace the release is installed into.'),
        version: int('Revision number of the release.'),
        status: str('Helm status of the revision, such as deployed or failed.'),
        chartName: str('Name of the chart.'),
        chartVersion: str('Version of the chart.'),
        appVersion: str('App version of the chart.'),
        configDigest: str('Digest `<algo>:<hex>` of the values.'),
        firstDeployed: str('When the release was first deployed.', { format: 'date-time' }),
        lastDeployed: str('When this revision was deployed.', { format: 'date-time' }),
        deleted: str('When the release was uninstalled.', { format: 'date-time' }),
        testHooks: {
          type: 'object',
          description: 'Test hooks run for this revision, by name.',
          additionalProperties: obj('Progress of one test hook.', {
            lastStarted: str('When the test last started.', { format: 'date-time' }),
            lastCompleted: str('When the test last completed.', { format: 'date-time' }),
            phase: str('Phase the test was last seen in.'),
          }),
        },
        ociDigest: str('Digest of the OCI artifact the chart came from.'),
      },
      ['chartName', 'chartVersion', 'configDigest', 'digest', 'firstDeployed', 'lastDeployed', 'name', 'namespace', 'status', 'version'],
    ),
  ),
  inventory: inventorySchema('release'),
  lastAttemptedReleaseAction: str('The last Helm action attempted, which selects the active remediation or retry strategy.', {
    enum: ['install', 'upgrade'],
  }),
  lastAttemptedReleaseActionDuration: str('How long the last Helm action took.'),
  failures: count('Reconciliation'),
  installFailures: count('Install'),
  upgradeFailures: count('Upgrade'),
  lastAttemptedRevision: str('Chart version of the last attempt; for OCIRepository sources followed by `+` and 12 characters of the digest.'),
  lastAttemptedRevisionDigest: str('Digest of the chart Artifact of the last attempt, for OCIRepository sources.'),
  lastAttemptedConfigDigest: str('Digest of the values of the last attempt.'),
  lastAttemptedValuesChecksum: str('Deprecated: use lastAttemptedConfigDigest. SHA-1 of the values of the last attempt.'),
  lastReleaseRevision: int('Deprecated: use history. Revision of the last successful release.'),
});

// ---- validation ----

function checkStrategy(errors: FieldError[], base: string, st: ActionStrategy | undefined): void {
  if (!st) return;
  checkPositiveDuration(errors, `${base}.retryInterval`, st.retryInterval);
  if (st.retryInterval !== undefined && st.name !== 'RetryOnFailure') errors.push(forbidden(`${base}.retryInterval`, `may only be set when ${base}.name is RetryOnFailure`));
}

function checkChart(errors: FieldError[], chart: HelmChartTemplate): void {
  const base = 'spec.chart.spec';
  const c = chart.spec;
  checkMetadata(errors, 'spec.chart.metadata', chart.metadata);
  if (!c) return; // the schema reports it
  checkKindReference(errors, `${base}.sourceRef`, c.sourceRef, CHART_SOURCE_KINDS);
  // Flux ignores the version for charts from Git and Bucket sources; `*` and empty mean latest.
  if (c.sourceRef?.kind === 'HelmRepository' && c.version !== undefined && c.version.trim() !== '') checkSemverRange(errors, `${base}.version`, c.version);
  checkPositiveDuration(errors, `${base}.interval`, c.interval);
  checkOCIVerification(errors, `${base}.verify`, c.verify);
}

function validate(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (!checkSpec(errors, o)) return errors;
  const s = o.spec as unknown as HelmReleaseSpec;
  checkPositiveDuration(errors, 'spec.interval', s.interval);
  checkPositiveDuration(errors, 'spec.timeout', s.timeout);
  // Flux's CEL rule: exactly one of chart and chartRef.
  checkAtMostOne(errors, 'spec', s as unknown as Record<string, unknown>, ['chart', 'chartRef']);
  if (!s.chart && !s.chartRef) errors.push({ type: 'FieldValueRequired', field: 'spec.chart', message: 'either spec.chart or spec.chartRef must be set' });
  if (s.chart) checkChart(errors, s.chart);
  checkKindReference(errors, 'spec.chartRef', s.chartRef, CHART_REF_KINDS);
  if (typeof s.releaseName === 'string' && (s.releaseName.length > 53 || !isDNS1123Subdomain(s.releaseName))) {
    errors.push(invalid('spec.releaseName', s.releaseName, "must be a Helm release name: at most 53 lowercase alphanumerics, '-' or '.', starting and ending with an alphanumeric"));
  }
  checkNamespace(errors, 'spec.targetNamespace', s.targetNamespace);
  checkNamespace(errors, 'spec.storageNamespace', s.storageNamespace);
  checkRefName(errors, 'spec.serviceAccountName', s.serviceAccountName);
  if (typeof s.maxHistory === 'number' && s.maxHistory < 0) errors.push(invalid('spec.maxHistory', s.maxHistory, 'must be 0 (keep all revisions) or more'));
  checkDependsOn(errors, o, s.dependsOn);
  checkKubeConfig(errors, s.kubeConfig);
  checkMetadata(errors, 'spec.commonMetadata', s.commonMetadata);
  checkIgnoreRules(errors, 'spec.driftDetection.ignore', s.driftDetection?.ignore);
  s.valuesFrom?.forEach((v, i) => checkRefName(errors, `spec.valuesFrom[${i}].name`, v.name));
  for (const action of ['install', 'upgrade', 'test', 'rollback', 'uninstall'] as const) checkPositiveDuration(errors, `spec.${action}.timeout`, s[action]?.timeout);
  checkStrategy(errors, 'spec.install.strategy', s.install?.strategy);
  checkStrategy(errors, 'spec.upgrade.strategy', s.upgrade?.strategy);
  s.postRenderers?.forEach((pr, i) => {
    checkPatches(errors, `spec.postRenderers[${i}].kustomize.patches`, pr.kustomize?.patches);
    checkImages(errors, `spec.postRenderers[${i}].kustomize.images`, pr.kustomize?.images);
  });
  return errors;
}

// ---- warnings ----

function chartWarnings(c: HelmChartTemplateSpec | undefined): string[] {
  if (!c) return [];
  const base = 'spec.chart.spec';
  const out = apiVersionWarning(`${base}.sourceRef.apiVersion`, c.sourceRef?.apiVersion);
  if (c.valuesFile !== undefined) out.push(`${base}.valuesFile is deprecated: list the file in ${base}.valuesFiles instead`);
  const kind = c.sourceRef?.kind;
  if (kind === 'GitRepository' || kind === 'Bucket') {
    if (c.version !== undefined && c.version !== '' && c.version !== '*') out.push(`${base}.version is ignored for charts from a ${kind}: the chart in the source is used as it is`);
    if (c.verify) out.push(`${base}.verify is ignored for charts from a ${kind}: only charts from OCI registries are verified`);
  }
  return out;
}

function actionWarnings(s: HelmReleaseSpec): string[] {
  const out: string[] = [];
  const { install, upgrade, rollback } = s;
  if (install?.skipCRDs !== undefined) out.push('spec.install.skipCRDs is deprecated: use spec.install.crds: Skip (crds wins when both are set)');
  for (const [action, a] of [['install', install], ['upgrade', upgrade]] as const) {
    if (a?.disableOpenAPIValidation) out.push(`spec.${action}.disableOpenAPIValidation is true: rendered manifests are not checked against the cluster's schema, so mistakes surface only when applied`);
    if (a?.strategy?.name === 'RetryOnFailure' && a.remediation) out.push(`spec.${action}.remediation is ignored because spec.${action}.strategy.name is RetryOnFailure`);
  }
  for (const [action, a] of [['upgrade', upgrade], ['rollback', rollback]] as const) {
    if (a?.force) out.push(`spec.${action}.force is true: changed objects are deleted and recreated instead of patched, which can cause downtime`);
  }
  if (upgrade?.preserveValues) out.push("spec.upgrade.preserveValues is true: the previous release's values are reused, so the HelmRelease no longer fully describes the release");
  if (rollback?.recreate) out.push('spec.rollback.recreate is deprecated and has no effect with Helm 4');
  return out;
}

function warnings(o: KubeObject): string[] {
  const s = o.spec as unknown as HelmReleaseSpec | undefined;
  if (!s) return [];
  const out = [
    ...intervalWarning(s.interval, 'reconciles the release'),
    ...chartWarnings(s.chart?.spec),
    ...apiVersionWarning('spec.chartRef.apiVersion', s.chartRef?.apiVersion),
    ...actionWarnings(s),
  ];
  if (s.maxHistory === 0) out.push('spec.maxHistory is 0: Helm keeps every release revision, which slows down Helm actions over time');
  s.postRenderers?.forEach((pr, i) => out.push(...imageWarnings(`spec.postRenderers[${i}].kustomize.images`, pr.kustomize?.images)));
  return out;
}

const printerColumns: PrinterColumn[] = [
  ...readyColumns(),
  { name: 'Chart', type: 'string', jsonPath: '.status.history[0].chartName', description: 'Chart of the latest release.', priority: 1 },
  { name: 'Version', type: 'string', jsonPath: '.status.history[0].chartVersion', description: 'Chart version of the latest release.', priority: 1 },
  { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', description: 'Whether reconciliation is suspended.', priority: 1 },
];

export const helmRelease: ResourceDefinition = {
  ...resourceNames('HelmRelease', 'helmreleases', ['hr']),
  hasArtifact: false,
  schema: objectSchema('HelmRelease installs a Helm chart from a source as a release and keeps it upgraded, tested and free of drift.', spec, status),
  printerColumns,
  validate,
  warnings,
};
