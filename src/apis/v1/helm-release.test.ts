import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import type { FieldError } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { helmRelease } from './helm-release.js';
import { assertDescribed, compile } from './schema-test-helpers.js';

const validateSchema = compile(helmRelease.schema);

// The podinfo example of Flux's HelmRelease docs, with only the apiVersion changed.
const DOCS_EXAMPLE = `
apiVersion: gitops.toolkit/v1
kind: HelmRelease
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 15m
  timeout: 5m
  chart:
    spec:
      chart: podinfo
      version: '6.5.*'
      sourceRef:
        kind: HelmRepository
        name: podinfo
      interval: 5m
  releaseName: podinfo
  install:
    remediation:
      retries: 3
  upgrade:
    remediation:
      retries: 3
  test:
    enable: true
  driftDetection:
    mode: enabled
    ignore:
    - paths: ["/spec/replicas"]
      target:
        kind: Deployment
  values:
    replicaCount: 2
`;

// The docs' OCIRepository chart reference example.
const CHART_REF_EXAMPLE = `
apiVersion: gitops.toolkit/v1
kind: HelmRelease
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 10m
  chartRef:
    kind: OCIRepository
    name: podinfo
    namespace: default
  values:
    replicaCount: 2
`;

// Most of the remaining spec, as the sections of Flux's docs show it.
const FULL_EXAMPLE = `
apiVersion: gitops.toolkit/v1
kind: HelmRelease
metadata:
  name: backend
  namespace: apps
spec:
  interval: 1h
  chart:
    metadata:
      labels:
        app.kubernetes.io/part-of: backend
    spec:
      chart: ./charts/backend
      sourceRef:
        kind: GitRepository
        name: monorepo
        namespace: flux-system
      reconcileStrategy: Revision
      valuesFiles: [values.yaml, values-prod.yaml]
      ignoreMissingValuesFiles: true
  targetNamespace: backend
  storageNamespace: backend
  serviceAccountName: helm-backend
  maxHistory: 10
  persistentClient: false
  dependsOn:
    - name: database
    - name: cert-manager
      namespace: infra
      readyExpr: dep.status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')
  valuesFrom:
    - kind: ConfigMap
      name: prod-env-values
      valuesKey: values-prod.yaml
    - kind: Secret
      name: prod-tls-values
      valuesKey: crt
      targetPath: tls.crt
      optional: true
  values:
    replicaCount: 3
    ingress:
      enabled: true
      hosts: [{ host: api.example.com, paths: ["/"] }]
  install:
    crds: CreateReplace
    createNamespace: true
    strategy:
      name: RetryOnFailure
      retryInterval: 2m
  upgrade:
    crds: CreateReplace
    cleanupOnFail: true
    serverSideApply: auto
    remediation:
      retries: -1
      strategy: uninstall
      remediateLastFailure: true
  rollback:
    cleanupOnFail: true
    serverSideApply: enabled
  uninstall:
    keepHistory: true
  test:
    enable: true
    ignoreFailures: true
    filters:
      - name: backend-test-migration
        exclude: true
  postRenderers:
    - kustomize:
        patches:
          - target:
              version: v1
              kind: Deployment
              name: backend
            patch: |
              - op: add
                path: /metadata/annotations/example.com~1team
                value: api
        images:
          - name: docker.io/backend
            newName: registry.example.com/backend
            digest: sha256:${'c'.repeat(64)}
  commonMetadata:
    labels:
      team: api
  healthCheckExprs:
    - apiVersion: bitnami.com/v1alpha1
      kind: SealedSecret
      current: status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')
  waitStrategy:
    name: poller
`;

const load = (src: string) => yaml.load(src) as KubeObject;
const withSpec = (spec: Record<string, unknown>, src = DOCS_EXAMPLE): KubeObject => {
  const o = load(src);
  o.spec = { ...o.spec, ...spec };
  return o;
};
const withChartSpec = (chartSpec: Record<string, unknown>): KubeObject => {
  const o = load(DOCS_EXAMPLE);
  const chart = (o.spec as { chart: { spec: Record<string, unknown> } }).chart;
  chart.spec = { ...chart.spec, ...chartSpec };
  return o;
};
const fields = (errors: FieldError[]) => errors.map((e) => `${e.type} ${e.field}`);

describe('helmRelease definition', () => {
  it('names the resource as Flux does, in our category', () => {
    assert.equal(helmRelease.kind, 'HelmRelease');
    assert.equal(helmRelease.listKind, 'HelmReleaseList');
    assert.equal(helmRelease.plural, 'helmreleases');
    assert.equal(helmRelease.singular, 'helmrelease');
    assert.deepEqual(helmRelease.shortNames, ['hr']);
    assert.deepEqual(helmRelease.categories, ['gitops']);
    assert.equal(helmRelease.hasArtifact, false);
  });

  it("prints Flux's columns, and chart, version and suspend with -o wide", () => {
    const cols = helmRelease.printerColumns;
    assert.deepEqual(cols.filter((c) => !c.priority).map((c) => c.name), ['Age', 'Ready', 'Status']);
    assert.deepEqual(
      cols.filter((c) => c.priority === 1).map((c) => c.jsonPath),
      ['.status.history[0].chartName', '.status.history[0].chartVersion', '.spec.suspend'],
    );
  });

  it('describes every field at every depth', () => {
    assertDescribed(helmRelease.schema);
  });

  it('keeps values as free-form JSON', () => {
    const values = (helmRelease.schema.properties?.spec.properties?.values ?? {}) as Record<string, unknown>;
    assert.equal(values['x-kubernetes-preserve-unknown-fields'], true);
    assert.equal(values.type, undefined);
  });
});

describe('helmRelease schema', () => {
  it('accepts the docs example and fills in the defaults', () => {
    const o = load(DOCS_EXAMPLE);
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    const chart = (o.spec as { chart: { spec: Record<string, unknown> } }).chart.spec;
    assert.equal(chart.reconcileStrategy, 'ChartVersion');
    assert.equal(chart.version, '6.5.*');
    assert.deepEqual(o.status, { observedGeneration: -1 });
  });

  it('defaults the chart version to the latest, the verify provider and the uninstall propagation', () => {
    const o = withSpec({ uninstall: { keepHistory: false } });
    const chart = (o.spec as { chart: { spec: Record<string, unknown> } }).chart;
    delete chart.spec.version;
    chart.spec.verify = {};
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.equal(chart.spec.version, '*');
    assert.deepEqual(chart.spec.verify, { provider: 'cosign' });
    assert.equal((o.spec as { uninstall: Record<string, unknown> }).uninstall.deletionPropagation, 'background');
  });

  it('accepts the chartRef example and a spec using nearly every field', () => {
    for (const src of [CHART_REF_EXAMPLE, FULL_EXAMPLE]) {
      const o = load(src);
      assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    }
    const full = load(FULL_EXAMPLE);
    validateSchema(full);
    assert.deepEqual((full.spec as { values: unknown }).values, (load(FULL_EXAMPLE).spec as { values: unknown }).values);
  });

  it('accepts a status with history, inventory and failure counts', () => {
    const o = load(DOCS_EXAMPLE);
    o.status = {
      observedGeneration: 1,
      helmChart: 'default/default-podinfo',
      storageNamespace: 'default',
      lastAttemptedRevision: '6.5.3',
      lastAttemptedConfigDigest: 'sha256:e15c415d62760896bd8bec192a44c5716dc224db9e0fc609b9ac14718f8f9e56',
      lastAttemptedGeneration: 1,
      lastAttemptedReleaseAction: 'install',
      failures: 0,
      installFailures: 1,
      upgradeFailures: 0,
      history: [
        {
          chartName: 'podinfo',
          chartVersion: '6.5.3',
          configDigest: 'sha256:e15c415d62760896bd8bec192a44c5716dc224db9e0fc609b9ac14718f8f9e56',
          digest: 'sha256:e59aeb8b854f42e44756c2ef552a073051f1fc4f90e68aacbae7f824139580bc',
          firstDeployed: '2023-12-04T14:17:35Z',
          lastDeployed: '2023-12-04T14:17:35Z',
          name: 'podinfo',
          namespace: 'default',
          status: 'deployed',
          version: 1,
          testHooks: { 'podinfo-grpc-test-scyhk': { lastStarted: '2023-12-04T14:17:39Z', lastCompleted: '2023-12-04T14:17:42Z', phase: 'Succeeded' } },
        },
      ],
      inventory: { entries: [{ id: 'default_podinfo_apps_Deployment', v: 'v1' }] },
    };
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    (o.status as { lastAttemptedReleaseAction: string }).lastAttemptedReleaseAction = 'rollback';
    assert.equal(validateSchema(o), false);
  });

  it('rejects what the CRD rejects', () => {
    const bad: Record<string, unknown>[] = [
      { interval: '1 hour' },
      { releaseName: 'r'.repeat(54) },
      { storageNamespace: '' },
      { chartRef: { name: 'podinfo' } },
      { install: { crds: 'Replace' } },
      { install: { strategy: { retryInterval: '1m' } } },
      { upgrade: { remediation: { strategy: 'ignore' } } },
      { upgrade: { serverSideApply: true } },
      { uninstall: { deletionPropagation: 'cascade' } },
      { driftDetection: { mode: 'on' } },
      { valuesFrom: [{ kind: 'Secret', name: 'v', targetPath: 'a b' }] },
      { valuesFrom: [{ kind: 'Secret', name: 'v', valuesKey: 'values/prod.yaml' }] },
      { test: { filters: [{ exclude: true }] } },
      { healthCheckExprs: [{ apiVersion: 'example.com/v1', current: 'true' }] },
      { waitStrategy: { name: 'none' } },
    ];
    for (const spec of bad) assert.equal(validateSchema(withSpec(spec)), false, `accepted ${JSON.stringify(spec)}`);
    assert.equal(validateSchema(withChartSpec({ chart: '' })), false);
    assert.equal(validateSchema(withChartSpec({ reconcileStrategy: 'Always' })), false);
  });
});

describe('helmRelease validate', () => {
  it('accepts the examples', () => {
    for (const src of [DOCS_EXAMPLE, CHART_REF_EXAMPLE, FULL_EXAMPLE]) assert.deepEqual(helmRelease.validate(load(src)), [], src);
  });

  it('requires a spec', () => {
    assert.deepEqual(fields(helmRelease.validate({ apiVersion: 'gitops.toolkit/v1', kind: 'HelmRelease', metadata: { name: 'x' } })), ['FieldValueRequired spec']);
  });

  it('needs exactly one of chart and chartRef', () => {
    const both = helmRelease.validate(withSpec({ chartRef: { kind: 'OCIRepository', name: 'podinfo' } }));
    assert.deepEqual(fields(both), ['FieldValueForbidden spec.chartRef']);
    const neither = withSpec({});
    delete neither.spec?.chart;
    assert.deepEqual(fields(helmRelease.validate(neither)), ['FieldValueRequired spec.chart']);
  });

  it('only references sources this server serves', () => {
    assert.deepEqual(fields(helmRelease.validate(withChartSpec({ sourceRef: { kind: 'OCIRepository', name: 'podinfo' } }))), [
      'FieldValueNotSupported spec.chart.spec.sourceRef.kind',
    ]);
    assert.deepEqual(fields(helmRelease.validate(withChartSpec({ sourceRef: { name: 'podinfo' } }))), ['FieldValueRequired spec.chart.spec.sourceRef.kind']);
    const ref = helmRelease.validate(withSpec({ chartRef: { kind: 'ExternalArtifact', name: 'podinfo', namespace: 'Shared' } }, CHART_REF_EXAMPLE));
    assert.deepEqual(fields(ref), ['FieldValueNotSupported spec.chartRef.kind', 'FieldValueInvalid spec.chartRef.namespace']);
  });

  it('checks the chart version range of Helm repository charts', () => {
    assert.deepEqual(fields(helmRelease.validate(withChartSpec({ version: 'latest-please' }))), ['FieldValueInvalid spec.chart.spec.version']);
    for (const version of ['*', '', '6.x', '>=6.0.0, <7.0.0', '~6.5', '^1.2.3 || >=2.1.0 !=2.1.5', '6.5.3']) {
      assert.deepEqual(helmRelease.validate(withChartSpec({ version })), [], version);
    }
    assert.deepEqual(helmRelease.validate(withChartSpec({ version: 'main', sourceRef: { kind: 'GitRepository', name: 'repo' } })), []);
  });

  it('checks durations of the release, the chart and every action', () => {
    const errors = helmRelease.validate(
      withSpec({
        interval: '0m',
        timeout: '5x',
        install: { timeout: '1h60' },
        upgrade: { timeout: '0s' },
        test: { timeout: '0ms' },
        rollback: { timeout: 'm' },
        uninstall: { timeout: '0h' },
      }),
    );
    assert.deepEqual(fields(errors), [
      'FieldValueInvalid spec.interval',
      'FieldValueInvalid spec.timeout',
      'FieldValueInvalid spec.install.timeout',
      'FieldValueInvalid spec.upgrade.timeout',
      'FieldValueInvalid spec.test.timeout',
      'FieldValueInvalid spec.rollback.timeout',
      'FieldValueInvalid spec.uninstall.timeout',
    ]);
    assert.deepEqual(fields(helmRelease.validate(withChartSpec({ interval: '0s' }))), ['FieldValueInvalid spec.chart.spec.interval']);
  });

  it('allows a retry interval only with the RetryOnFailure strategy', () => {
    const errors = helmRelease.validate(
      withSpec({ install: { strategy: { name: 'RemediateOnFailure', retryInterval: '1m' } }, upgrade: { strategy: { name: 'RetryOnFailure', retryInterval: '0s' } } }),
    );
    assert.deepEqual(fields(errors), ['FieldValueForbidden spec.install.strategy.retryInterval', 'FieldValueInvalid spec.upgrade.strategy.retryInterval']);
  });

  it('checks release name, namespaces, service account and history size', () => {
    const errors = helmRelease.validate(
      withSpec({ releaseName: 'Podinfo_1', targetNamespace: 'Apps', storageNamespace: 'helm.storage', serviceAccountName: 'helm deployer', maxHistory: -1 }),
    );
    assert.deepEqual(fields(errors), [
      'FieldValueInvalid spec.releaseName',
      'FieldValueInvalid spec.targetNamespace',
      'FieldValueInvalid spec.storageNamespace',
      'FieldValueInvalid spec.serviceAccountName',
      'FieldValueInvalid spec.maxHistory',
    ]);
  });

  it('rejects depending on itself and repeated dependencies', () => {
    const errors = helmRelease.validate(withSpec({ dependsOn: [{ name: 'backend' }, { name: 'podinfo' }, { name: 'backend', namespace: 'default' }] }));
    assert.deepEqual(fields(errors), ['FieldValueInvalid spec.dependsOn[1].name', 'FieldValueDuplicate spec.dependsOn[2]']);
  });

  it('checks post-renderers, drift ignore rules, values references and metadata', () => {
    const errors = helmRelease.validate(
      withSpec({
        chart: { metadata: { labels: { 'bad key!': 'x' } }, spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } } },
        postRenderers: [{ kustomize: { patches: [{ patch: '- op: remove\n  path: /spec/replicas\n' }], images: [{ name: 'podinfo', digest: 'sha256:short' }] } }],
        driftDetection: { mode: 'warn', ignore: [{ paths: ['spec/replicas'] }] },
        valuesFrom: [{ kind: 'ConfigMap', name: 'Values' }],
        commonMetadata: { labels: { team: 'a team' } },
      }),
    );
    assert.deepEqual(fields(errors), [
      'FieldValueInvalid spec.chart.metadata.labels',
      'FieldValueInvalid spec.commonMetadata.labels[team]',
      'FieldValueInvalid spec.driftDetection.ignore[0].paths[0]',
      'FieldValueInvalid spec.valuesFrom[0].name',
      'FieldValueRequired spec.postRenderers[0].kustomize.patches[0].target',
      'FieldValueInvalid spec.postRenderers[0].kustomize.images[0].digest',
    ]);
  });

  it('checks kubeConfig and chart verification', () => {
    assert.deepEqual(fields(helmRelease.validate(withSpec({ kubeConfig: {} }))), ['FieldValueRequired spec.kubeConfig.secretRef']);
    assert.deepEqual(fields(helmRelease.validate(withChartSpec({ verify: { provider: 'notation' } }))), ['FieldValueRequired spec.chart.spec.verify.secretRef']);
  });

  it('returns every error at once', () => {
    const errors = helmRelease.validate(withSpec({ chartRef: { kind: 'HelmChart', name: 'x' }, releaseName: 'A', maxHistory: -2, interval: '0s' }));
    assert.equal(errors.length, 4, JSON.stringify(errors));
  });
});

describe('helmRelease warnings', () => {
  it('is quiet for the examples', () => {
    for (const src of [DOCS_EXAMPLE, CHART_REF_EXAMPLE]) assert.deepEqual(helmRelease.warnings(load(src)), []);
  });

  it('warns about deprecated fields', () => {
    const o = withSpec({ install: { skipCRDs: true }, rollback: { recreate: true } });
    (o.spec as { chart: { spec: Record<string, unknown> } }).chart.spec.valuesFile = 'values-prod.yaml';
    const w = helmRelease.warnings(o);
    assert.equal(w.length, 3, w.join('\n'));
    assert.match(w[0], /^spec\.chart\.spec\.valuesFile is deprecated/);
    assert.match(w[1], /^spec\.install\.skipCRDs is deprecated/);
    assert.match(w[2], /^spec\.rollback\.recreate is deprecated/);
  });

  it('warns about risky or non-declarative settings', () => {
    const w = helmRelease.warnings(
      withSpec({
        interval: '20s',
        maxHistory: 0,
        install: { disableOpenAPIValidation: true },
        upgrade: { force: true, preserveValues: true, disableOpenAPIValidation: true },
      }),
    );
    assert.equal(w.length, 6, w.join('\n'));
    assert.match(w[0], /^spec\.interval 20s .* once a minute/);
    assert.match(w[1], /^spec\.install\.disableOpenAPIValidation is true/);
    assert.match(w[2], /^spec\.upgrade\.disableOpenAPIValidation is true/);
    assert.match(w[3], /^spec\.upgrade\.force is true/);
    assert.match(w[4], /^spec\.upgrade\.preserveValues is true/);
    assert.match(w[5], /^spec\.maxHistory is 0/);
  });

  it('warns about settings that are ignored', () => {
    const w = helmRelease.warnings(load(FULL_EXAMPLE));
    assert.deepEqual(w, []);
    const o = withSpec({ install: { strategy: { name: 'RetryOnFailure' }, remediation: { retries: 3 } } });
    const chart = (o.spec as { chart: { spec: Record<string, unknown> } }).chart.spec;
    Object.assign(chart, { sourceRef: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'Bucket', name: 'charts' }, verify: { provider: 'cosign' } });
    assert.deepEqual(helmRelease.warnings(o), [
      'spec.chart.spec.sourceRef.apiVersion source.toolkit.fluxcd.io/v1 is ignored: the referenced object is looked up in gitops.toolkit/v1',
      'spec.chart.spec.version is ignored for charts from a Bucket: the chart in the source is used as it is',
      'spec.chart.spec.verify is ignored for charts from a Bucket: only charts from OCI registries are verified',
      'spec.install.remediation is ignored because spec.install.strategy.name is RetryOnFailure',
    ]);
  });
});
