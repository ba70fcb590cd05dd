import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import type { FieldError } from '../meta/resource.js';
import type { KubeObject } from '../meta/types.js';
import { kustomization } from './kustomization.js';
import { assertDescribed, compile } from './schema-test-helpers.js';

const validateSchema = compile(kustomization.schema);

// The podinfo example of Flux's Kustomization docs, with only the apiVersion changed.
const DOCS_EXAMPLE = `
apiVersion: gitops.toolkit/v1
kind: Kustomization
metadata:
  name: podinfo
  namespace: default
spec:
  interval: 10m
  targetNamespace: default
  sourceRef:
    kind: GitRepository
    name: podinfo
  path: "./kustomize"
  prune: true
  timeout: 1m
`;

// Most of the spec at once, as the sections of Flux's docs show them.
const FULL_EXAMPLE = `
apiVersion: gitops.toolkit/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 1h
  retryInterval: 2m
  timeout: 5m
  sourceRef:
    kind: OCIRepository
    name: manifests
    namespace: sources
  path: ./apps/production
  prune: true
  deletionPolicy: WaitForTermination
  wait: true
  dependsOn:
    - name: infra-controllers
    - name: crds
      namespace: infra
      readyExpr: dep.status.observedGeneration == dep.metadata.generation
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  healthCheckExprs:
    - apiVersion: cert-manager.io/v1
      kind: Certificate
      current: status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')
      failed: status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')
  ignore:
    - paths: ["/spec/replicas"]
      target:
        kind: Deployment
  images:
    - name: podinfo
      newName: my-registry/podinfo
      newTag: v1
  patches:
    - patch: |-
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: not-used
        spec:
          template:
            metadata:
              annotations:
                cluster-autoscaler.kubernetes.io/safe-to-evict: "true"
      target:
        kind: Deployment
        labelSelector: "app.kubernetes.io/part-of=my-app"
    - patch: |
        - op: add
          path: /spec/template/spec/securityContext
          value:
            runAsUser: 10000
        - op: move
          from: /metadata/labels/old
          path: /metadata/labels/new
      target:
        kind: Deployment
    - patch: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
        data:
          level: debug
  components:
    - ../ingress
  ignoreMissingComponents: true
  buildMetadata: [originAnnotations]
  postBuild:
    substitute:
      cluster_env: "prod"
      CLUSTER_REGION: "eu-central-1"
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
      - kind: Secret
        name: cluster-secret-vars
        optional: true
  serviceAccountName: apps-deployer
  commonMetadata:
    labels:
      app.kubernetes.io/part-of: apps
    annotations:
      example.com/owner: platform
  namePrefix: prod-
  targetNamespace: apps
`;

const load = (src: string) => yaml.load(src) as KubeObject;
const withSpec = (spec: Record<string, unknown>): KubeObject => {
  const o = load(DOCS_EXAMPLE);
  o.spec = { ...o.spec, ...spec };
  return o;
};
const fields = (errors: FieldError[]) => errors.map((e) => `${e.type} ${e.field}`);

describe('kustomization definition', () => {
  it('names the resource as Flux does, in our category', () => {
    assert.equal(kustomization.kind, 'Kustomization');
    assert.equal(kustomization.listKind, 'KustomizationList');
    assert.equal(kustomization.plural, 'kustomizations');
    assert.equal(kustomization.singular, 'kustomization');
    assert.deepEqual(kustomization.shortNames, ['ks']);
    assert.deepEqual(kustomization.categories, ['gitops']);
    assert.equal(kustomization.hasArtifact, false);
  });

  it("prints Flux's columns, and source, revision and suspend with -o wide", () => {
    const cols = kustomization.printerColumns;
    assert.deepEqual(cols.filter((c) => !c.priority).map((c) => c.name), ['Age', 'Ready', 'Status']);
    assert.deepEqual(
      cols.filter((c) => c.priority === 1).map((c) => c.jsonPath),
      ['.spec.sourceRef.name', '.status.lastAppliedRevision', '.spec.suspend'],
    );
  });

  it('describes every field at every depth', () => {
    assertDescribed(kustomization.schema);
  });
});

describe('kustomization schema', () => {
  it('accepts the docs example and fills in the defaults', () => {
    const o = load(DOCS_EXAMPLE);
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    assert.equal(o.spec?.force, false);
    assert.deepEqual(o.status, { observedGeneration: -1 });
  });

  it('accepts a spec using nearly every field, defaulting substituteFrom.optional', () => {
    const o = load(FULL_EXAMPLE);
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
    const from = (o.spec as { postBuild: { substituteFrom: { optional: boolean }[] } }).postBuild.substituteFrom;
    assert.deepEqual(from.map((f) => f.optional), [false, true]);
  });

  it('accepts a status with inventory and history', () => {
    const o = load(DOCS_EXAMPLE);
    o.status = {
      observedGeneration: 2,
      lastAppliedRevision: 'main@sha1:1234567890abcdef1234567890abcdef12345678',
      lastAttemptedRevision: 'main@sha1:1234567890abcdef1234567890abcdef12345678',
      inventory: { entries: [{ id: 'default_podinfo_apps_Deployment', v: 'v1' }] },
      history: [
        {
          digest: 'sha256:abc',
          firstReconciled: '2025-01-01T00:00:00Z',
          lastReconciled: '2025-01-01T01:00:00Z',
          lastReconciledDuration: '2.5s',
          lastReconciledStatus: 'ReconciliationSucceeded',
          totalReconciliations: 2,
          metadata: { revision: 'main@sha1:1234567890abcdef1234567890abcdef12345678' },
        },
      ],
    };
    assert.equal(validateSchema(o), true, JSON.stringify(validateSchema.errors));
  });

  it('rejects what the CRD rejects', () => {
    const bad: Record<string, unknown>[] = [
      { prune: undefined },
      { sourceRef: { name: 'podinfo' } },
      { interval: '10 minutes' },
      { deletionPolicy: 'Keep' },
      { namePrefix: '' },
      { targetNamespace: 'x'.repeat(64) },
      { patches: [{ target: { kind: 'Deployment' } }] },
      { decryption: { provider: 'vault' } },
      { postBuild: { substituteFrom: [{ kind: 'Pod', name: 'x' }] } },
      { buildMetadata: ['everything'] },
      { kubeConfig: { configMapRef: {} } },
    ];
    for (const spec of bad) {
      const o = withSpec(spec);
      if ('prune' in spec) delete o.spec?.prune;
      assert.equal(validateSchema(o), false, `accepted ${JSON.stringify(spec)}`);
    }
  });
});

describe('kustomization validate', () => {
  it('accepts the examples', () => {
    assert.deepEqual(kustomization.validate(load(DOCS_EXAMPLE)), []);
    assert.deepEqual(kustomization.validate(load(FULL_EXAMPLE)), []);
  });

  it('requires a spec', () => {
    assert.deepEqual(fields(kustomization.validate({ apiVersion: 'gitops.toolkit/v1', kind: 'Kustomization', metadata: { name: 'x' } })), ['FieldValueRequired spec']);
  });

  it('checks durations', () => {
    const errors = kustomization.validate(withSpec({ interval: '0s', retryInterval: '1h30', timeout: '5x' }));
    assert.deepEqual(fields(errors), ['FieldValueInvalid spec.interval', 'FieldValueInvalid spec.retryInterval', 'FieldValueInvalid spec.timeout']);
  });

  it('only reads from sources this server serves', () => {
    const errors = kustomization.validate(withSpec({ sourceRef: { kind: 'ExternalArtifact', name: 'x' } }));
    assert.deepEqual(fields(errors), ['FieldValueNotSupported spec.sourceRef.kind']);
    assert.match(errors[0].message, /"GitRepository", "OCIRepository", "Bucket"/);
  });

  it('checks names and namespaces of references', () => {
    const errors = kustomization.validate(
      withSpec({
        sourceRef: { kind: 'Bucket', name: 'My_Bucket', namespace: 'Team.A' },
        targetNamespace: 'Apps',
        serviceAccountName: 'deployer!',
        healthChecks: [{ kind: 'Deployment', name: 'web', namespace: 'web_ns' }],
        decryption: { provider: 'sops', secretRef: { name: 'SOPS' }, serviceAccountName: 'kms_sa' },
        postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars!' }] },
      }),
    );
    assert.deepEqual(fields(errors), [
      'FieldValueInvalid spec.sourceRef.name',
      'FieldValueInvalid spec.sourceRef.namespace',
      'FieldValueInvalid spec.targetNamespace',
      'FieldValueInvalid spec.serviceAccountName',
      'FieldValueInvalid spec.healthChecks[0].namespace',
      'FieldValueInvalid spec.decryption.secretRef.name',
      'FieldValueInvalid spec.decryption.serviceAccountName',
      'FieldValueInvalid spec.postBuild.substituteFrom[0].name',
    ]);
  });

  it('rejects depending on itself and repeated dependencies', () => {
    const errors = kustomization.validate(
      withSpec({
        dependsOn: [{ name: 'infra' }, { name: 'podinfo', namespace: 'default' }, { name: 'infra', namespace: 'default' }, { name: 'podinfo', namespace: 'other' }],
      }),
    );
    assert.deepEqual(fields(errors), ['FieldValueInvalid spec.dependsOn[1].name', 'FieldValueDuplicate spec.dependsOn[2]']);
  });

  it('a dependency of another kind (dependsOn[].kind) is another object: the same name is neither itself nor a duplicate', () => {
    const errors = kustomization.validate(
      withSpec({
        dependsOn: [{ name: 'podinfo', kind: 'GitRepository' }, { name: 'infra' }, { name: 'infra', kind: 'HelmRelease' }, { name: 'infra', kind: 'Kustomization' }],
      }),
    );
    assert.deepEqual(fields(errors), ['FieldValueDuplicate spec.dependsOn[3]']);
    assert.equal(validateSchema({ ...withSpec({ dependsOn: [{ name: 'x', kind: 'Deployment' }] }) }), false, 'kind is one of this API\'s kinds');
  });

  it('checks that patches are usable kustomize patches', () => {
    const errors = kustomization.validate(
      withSpec({
        patches: [
          { patch: 'kind: [Deployment', target: { kind: 'Deployment' } },
          { patch: '- op: remove\n  path: /spec/replicas\n' },
          { patch: 'spec:\n  replicas: 2\n' },
          { patch: '- op: delete\n  path: /x\n', target: { name: 'web' } },
          { patch: '- op: copy\n  path: /x\n- op: add\n  path: /y\n', target: { name: 'web' } },
          { patch: '"just a string"', target: { name: 'web' } },
          { patch: '# nothing\n', target: { name: 'web' } },
        ],
      }),
    );
    assert.deepEqual(fields(errors), [
      'FieldValueInvalid spec.patches[0].patch',
      'FieldValueRequired spec.patches[1].target',
      'FieldValueRequired spec.patches[2].target',
      'FieldValueNotSupported spec.patches[3].patch[0].op',
      'FieldValueRequired spec.patches[4].patch[0].from',
      'FieldValueRequired spec.patches[4].patch[1].value',
      'FieldValueInvalid spec.patches[5].patch',
      'FieldValueRequired spec.patches[6].patch',
    ]);
    assert.match(errors[0].message, /must be YAML or JSON: .* at line \d+$/);
  });

  it('checks image digests and ignore paths', () => {
    const errors = kustomization.validate(
      withSpec({ images: [{ name: 'podinfo', digest: 'latest' }, { name: 'redis', digest: `sha256:${'a'.repeat(64)}` }], ignore: [{ paths: ['/spec/replicas', 'spec/template'] }] }),
    );
    assert.deepEqual(fields(errors), ['FieldValueInvalid spec.images[0].digest', 'FieldValueInvalid spec.ignore[0].paths[1]']);
  });

  it('needs exactly one of kubeConfig.secretRef and kubeConfig.configMapRef', () => {
    assert.deepEqual(fields(kustomization.validate(withSpec({ kubeConfig: { secretRef: { name: 'kc' }, configMapRef: { name: 'cluster' } } }))), [
      'FieldValueForbidden spec.kubeConfig.secretRef',
    ]);
    assert.deepEqual(fields(kustomization.validate(withSpec({ kubeConfig: {} }))), ['FieldValueRequired spec.kubeConfig.secretRef']);
    assert.deepEqual(kustomization.validate(withSpec({ kubeConfig: { secretRef: { name: 'kc', key: 'value.yaml' } }, serviceAccountName: 'remote' })), []);
  });

  it('checks common labels and annotations', () => {
    const errors = kustomization.validate(
      withSpec({ commonMetadata: { labels: { 'team name': 'a', app: 'not valid!', 'example.com/ok': 'yes' }, annotations: { 'Bad_Prefix/x': 'free text is fine' } } }),
    );
    assert.deepEqual(fields(errors), ['FieldValueInvalid spec.commonMetadata.labels', 'FieldValueInvalid spec.commonMetadata.labels[app]', 'FieldValueInvalid spec.commonMetadata.annotations']);
  });

  it('checks substitution variable names', () => {
    const errors = kustomization.validate(withSpec({ postBuild: { substitute: { cluster_name: 'a', 'cluster-name': 'b', '1st': 'c' } } }));
    assert.deepEqual(fields(errors), ['FieldValueInvalid spec.postBuild.substitute[cluster-name]', 'FieldValueInvalid spec.postBuild.substitute[1st]']);
  });
});

describe('kustomization warnings', () => {
  it('is quiet for the examples', () => {
    assert.deepEqual(kustomization.warnings(load(DOCS_EXAMPLE)), []);
    assert.deepEqual(kustomization.warnings(load(FULL_EXAMPLE)), []);
  });

  it('warns about frequent reconciles, disabled pruning and ignored settings', () => {
    const w = kustomization.warnings(
      withSpec({
        interval: '30s',
        prune: false,
        wait: true,
        healthChecks: [{ kind: 'Deployment', name: 'web' }],
        images: [{ name: 'web', newTag: 'v2', digest: `sha256:${'b'.repeat(64)}` }],
        sourceRef: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', name: 'podinfo' },
      }),
    );
    assert.equal(w.length, 5, w.join('\n'));
    assert.match(w[0], /^spec\.interval 30s .* once a minute/);
    assert.match(w[1], /^spec\.sourceRef\.apiVersion source\.toolkit\.fluxcd\.io\/v1 is ignored/);
    assert.match(w[2], /^spec\.prune is false/);
    assert.match(w[3], /^spec\.healthChecks is ignored because spec\.wait is true/);
    assert.match(w[4], /^spec\.images\[0\]\.newTag is ignored/);
  });

  it('warns when health check expressions can never run', () => {
    const w = kustomization.warnings(withSpec({ healthCheckExprs: [{ apiVersion: 'example.com/v1', kind: 'Thing', current: 'status.ready' }] }));
    assert.deepEqual(w, ['spec.healthCheckExprs is only used when spec.wait is true or spec.healthChecks is set']);
  });

  it('does not warn about prune when a deletion policy says what to do', () => {
    assert.deepEqual(kustomization.warnings(withSpec({ prune: false, deletionPolicy: 'Delete' })), []);
  });
});
