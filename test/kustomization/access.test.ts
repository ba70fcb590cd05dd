// Kustomization access, end to end, asserted with kubectl: which cluster a Kustomization applies to and
// as whom. On the embedded local cluster of `npm start`: impersonation of spec.serviceAccountName
// (allowed, denied then granted); a second local cluster (TestCluster) as the target of
// spec.kubeConfig.secretRef (applied there, not here), taken down and brought back on the same port
// (retried, never stalled), a kubeconfig Secret that does not exist yet, kubeconfigs with file paths,
// exec or broken YAML refused without their content in status or events, and configMapRef unsupported.
// A second server with the lockdown flags: --default-service-account and --no-cross-namespace-refs.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { KustomizationBed } from '../helpers/kustomization.js';
import { TestCluster } from '../helpers/local-cluster.js';
import { freePort } from '../helpers/server.js';
import { eventually } from '../helpers/eventually.js';

const configMap = (name: string, namespace: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${namespace}}
data: {greeting: hello}
`;
const serviceAccount = (name: string, namespace: string) => `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${name}, namespace: ${namespace}}
`;

/** A namespace, a ServiceAccount in it, and (when `resources` is given) a Role on them bound to it. */
function tenancy(namespace: string, sa: string, resources?: string[]): object[] {
  const docs: object[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace } },
  ];
  if (resources) docs.push(...grant(namespace, sa, resources));
  return docs;
}

function grant(namespace: string, sa: string, resources: string[]): object[] {
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `${sa}-apply`, namespace }, rules: [{ apiGroups: [''], resources, verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${sa}-apply`, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${sa}-apply` },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    },
  ];
}

type Condition = { type: string; status: string; reason: string; message: string };
const cond = (obj: { status?: { conditions?: Condition[] } }, type: string) => obj.status?.conditions?.find((c) => c.type === type);
const inventoryIds = (obj: { status?: { inventory?: { entries?: { id: string }[] } } }) => (obj.status?.inventory?.entries ?? []).map((e) => e.id).sort();

/** Starts the remote cluster on a fixed port and fixed directories, so it can be closed and brought back as the same cluster. */
class Remote {
  cluster!: TestCluster;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}
  static async start(): Promise<Remote> {
    const r = new Remote(await mkdtemp(join(tmpdir(), 'access-remote-')), await freePort());
    await r.up();
    return r;
  }
  async up(): Promise<void> {
    this.cluster = await TestCluster.start({ securePort: this.port, dataDir: join(this.dir, 'data'), certDir: join(this.dir, 'certs') });
  }
  /** Closes the cluster, keeping its data and certificates. */
  async down(): Promise<void> {
    await this.cluster.cluster.close();
    await rm(this.cluster.dir, { recursive: true, force: true });
  }
  async stop(): Promise<void> {
    await this.cluster?.stop().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
  /** Whether `kind/name` exists in the remote cluster (asserting kubectl itself succeeded). */
  async exists(kind: string, name: string, namespace = 'default'): Promise<boolean> {
    const r = await this.cluster.kubectl(['get', '-n', namespace, `${kind}/${name}`, '--ignore-not-found', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim() !== '';
  }
}

describe('Kustomization access: impersonation, remote clusters, lockdown flags', () => {
  let bed: KustomizationBed;
  let locked: KustomizationBed;
  let remote: Remote;

  before(async () => {
    // Independent, so started together: the run time is the slowest of them, not their sum.
    [bed, locked, remote] = await Promise.all([
      KustomizationBed.start({ serverArgs: ['--requeue-dependency=1s'] }),
      KustomizationBed.start({ serverArgs: ['--requeue-dependency=1s', '--default-service-account=deployer', '--no-cross-namespace-refs'] }),
      Remote.start(),
    ]);
  });
  after(async () => {
    await Promise.all([bed?.stop(), locked?.stop(), remote?.stop()]);
  });

  /** A Secret `name` in `namespace` of `b`'s cluster holding `text` as its key `value`. */
  async function kubeconfigSecret(b: KustomizationBed, name: string, text: string, namespace = 'default'): Promise<void> {
    await b.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data: { value: Buffer.from(text).toString('base64') } });
  }

  describe('spec.serviceAccountName: impersonation on the embedded cluster', () => {
    it('applies as a ServiceAccount whose Role allows it', async () => {
      await bed.apply(tenancy('team-a', 'deployer', ['configmaps']));
      await bed.source('team-a-app', { 'cm.yaml': configMap('team-a-cm', 'team-a') }, 'team-a');
      await bed.kustomization('team-a-app', { serviceAccountName: 'deployer' }, 'team-a');
      await bed.ready('team-a-app', { namespace: 'team-a' });
      // kubectl leaves managedFields out unless asked.
      const cm = JSON.parse(await bed.k(['get', '-n', 'team-a', 'configmap/team-a-cm', '-o', 'json', '--show-managed-fields']));
      assert.equal(cm.data.greeting, 'hello');
      const managers = (cm.metadata.managedFields as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
      assert.ok(managers.includes('gitops-toolkit/Apply'), JSON.stringify(cm.metadata.managedFields));
      assert.deepEqual(inventoryIds(await bed.get('kustomization', 'team-a-app', 'team-a')), ['team-a_team-a-cm__ConfigMap']);
    });

    it('fails, naming the object, the verb and the ServiceAccount, when its Role does not allow it; granting the rights repairs it', async () => {
      // configmaps allowed, serviceaccounts not: the Kustomization holds both.
      await bed.apply(tenancy('team-b', 'limited', ['configmaps']));
      await bed.source('team-b-app', { 'cm.yaml': configMap('team-b-cm', 'team-b'), 'sa.yaml': serviceAccount('team-b-robot', 'team-b') }, 'team-b');
      await bed.kustomization('team-b-app', { serviceAccountName: 'limited', retryInterval: '1s' }, 'team-b');
      const c = await bed.condition('team-b-app', 'Ready', (c) => c.status === 'False' && /forbidden/.test(c.message), { namespace: 'team-b' });
      assert.match(c.message, /system:serviceaccount:team-b:limited/);
      assert.match(c.message, /serviceaccounts/);
      assert.match(c.message, /team-b-robot/);
      assert.match(c.message, /cannot (get|patch|create)/);
      const ks = await bed.get('kustomization', 'team-b-app', 'team-b');
      assert.notEqual(cond(ks, 'Stalled')?.status, 'True', 'a denial is retried: RBAC can change');
      assert.equal(await bed.exists('serviceaccount', 'team-b-robot', 'team-b'), false);
      // Whatever was applied before the denial is in the inventory (so it can be pruned later).
      const partial = inventoryIds(ks);
      if (await bed.exists('configmap', 'team-b-cm', 'team-b')) assert.ok(partial.includes('team-b_team-b-cm__ConfigMap'), JSON.stringify(ks.status));

      await bed.apply(grant('team-b', 'limited', ['configmaps', 'serviceaccounts']));
      await bed.ready('team-b-app', { namespace: 'team-b' }); // by the retry alone: nothing was asked of it
      assert.equal(await bed.exists('serviceaccount', 'team-b-robot', 'team-b'), true);
      assert.equal(await bed.exists('configmap', 'team-b-cm', 'team-b'), true);
      assert.deepEqual(inventoryIds(await bed.get('kustomization', 'team-b-app', 'team-b')), ['team-b_team-b-cm__ConfigMap', 'team-b_team-b-robot__ServiceAccount']);
    });
  });

  describe('spec.kubeConfig: a remote cluster', () => {
    it('applies into the cluster of the kubeconfig Secret, not the embedded one', async () => {
      await kubeconfigSecret(bed, 'remote-admin', await readFile(remote.cluster.kubeconfig, 'utf8'));
      await bed.source('remote-app', { 'cm.yaml': configMap('remote-cm', 'default') });
      await bed.kustomization('remote-app', { kubeConfig: { secretRef: { name: 'remote-admin' } }, retryInterval: '1s' });
      await bed.ready('remote-app');
      assert.equal(await remote.exists('configmap', 'remote-cm'), true);
      const r = await remote.cluster.kubectl(['get', 'cm', 'remote-cm', '-o', 'jsonpath={.data.greeting}']);
      assert.equal(r.stdout, 'hello', r.stderr);
      assert.equal(await bed.exists('configmap', 'remote-cm'), false);
    });

    it('applies with a ServiceAccount token of the remote cluster', async () => {
      const token = await remote.cluster.serviceAccountToken('default', 'gitops');
      const rb = await remote.cluster.kubectl(['create', 'clusterrolebinding', 'gitops-admin', '--clusterrole=cluster-admin', '--serviceaccount=default:gitops']);
      assert.equal(rb.code, 0, rb.stderr);
      await kubeconfigSecret(bed, 'remote-token', await readFile(await remote.cluster.kubeconfigForToken('gitops', token), 'utf8'));
      await bed.source('remote-token-app', { 'cm.yaml': configMap('remote-token-cm', 'default') });
      await bed.kustomization('remote-token-app', { kubeConfig: { secretRef: { name: 'remote-token' } }, retryInterval: '1s' });
      await bed.ready('remote-token-app');
      assert.equal(await remote.exists('configmap', 'remote-token-cm'), true);
      assert.equal(await bed.exists('configmap', 'remote-token-cm'), false);
    });

    it('impersonates spec.serviceAccountName on the remote cluster, with the remote cluster\'s RBAC', async () => {
      await bed.source('remote-as', { 'cm.yaml': configMap('remote-as-cm', 'default') });
      await bed.kustomization('remote-as', { kubeConfig: { secretRef: { name: 'remote-admin' } }, serviceAccountName: 'remote-deployer', retryInterval: '1s' });
      const c = await bed.condition('remote-as', 'Ready', (c) => c.status === 'False' && /forbidden/.test(c.message));
      assert.match(c.message, /system:serviceaccount:default:remote-deployer/);
      assert.equal(await remote.exists('configmap', 'remote-as-cm'), false);
      // Granted in the remote cluster, where the ServiceAccount acts; the embedded cluster has no say.
      const rb = await remote.cluster.kubectl(['create', 'rolebinding', 'remote-deployer', '--clusterrole=edit', '--serviceaccount=default:remote-deployer', '-n', 'default']);
      assert.equal(rb.code, 0, rb.stderr);
      await bed.ready('remote-as');
      assert.equal(await remote.exists('configmap', 'remote-as-cm'), true);
      assert.equal(await bed.exists('configmap', 'remote-as-cm'), false);
    });

    it('waits for a kubeconfig Secret that does not exist, naming it, and applies once it is created', async () => {
      await bed.source('remote-late', { 'cm.yaml': configMap('remote-late-cm', 'default') });
      await bed.kustomization('remote-late', { kubeConfig: { secretRef: { name: 'not-yet' } } });
      const c = await bed.condition('remote-late', 'Ready', (c) => c.status === 'False' && /not found/.test(c.message));
      assert.match(c.message, /Secret 'default\/not-yet'/);
      assert.notEqual(cond(await bed.get('kustomization', 'remote-late'), 'Stalled')?.status, 'True');
      await kubeconfigSecret(bed, 'not-yet', await readFile(remote.cluster.kubeconfig, 'utf8'));
      await bed.ready('remote-late');
      assert.equal(await remote.exists('configmap', 'remote-late-cm'), true);
    });

    it('reports an unreachable cluster as a retried failure (not Stalled), naming it, and recovers when it is back', async () => {
      const admin = await readFile(remote.cluster.kubeconfig, 'utf8');
      await remote.down();
      // A Kustomization whose client reached the cluster before, and one with a new client (its Secret is new).
      await bed.requestReconcile('kustomization', 'remote-app');
      await kubeconfigSecret(bed, 'remote-down', admin);
      await bed.source('remote-down', { 'cm.yaml': configMap('remote-down-cm', 'default') });
      await bed.kustomization('remote-down', { kubeConfig: { secretRef: { name: 'remote-down' } }, retryInterval: '1s' });
      for (const [name, secret] of [['remote-app', 'remote-admin'], ['remote-down', 'remote-down']]) {
        const c = await bed.condition(name, 'Ready', (c) => c.status === 'False' && /cannot be reached/.test(c.message));
        assert.ok(c.message.startsWith(`the cluster of the kubeconfig in Secret 'default/${secret}' (https://127.0.0.1:${remote.port}) cannot be reached`), c.message);
        assert.match(c.message, /ECONNREFUSED/);
        const ks = await bed.get('kustomization', name);
        assert.notEqual(cond(ks, 'Stalled')?.status, 'True', JSON.stringify(ks.status));
        assert.equal(cond(ks, 'Reconciling')?.reason, 'ProgressingWithRetry', JSON.stringify(ks.status));
      }
      await remote.up();
      // By the retries alone: nothing asks for a reconcile.
      for (const name of ['remote-app', 'remote-down']) await bed.ready(name);
      assert.equal(await remote.exists('configmap', 'remote-down-cm'), true);
      assert.equal(await bed.exists('configmap', 'remote-down-cm'), false);
    });

    it('reports credentials the remote cluster refuses (retried, not Stalled); fixing the Secret repairs it', async () => {
      const bad = await readFile(await remote.cluster.kubeconfigForToken('bad', 'not-a-token'), 'utf8');
      await kubeconfigSecret(bed, 'remote-bad-token', bad);
      await bed.source('remote-bad-token', { 'cm.yaml': configMap('remote-bad-token-cm', 'default') });
      await bed.kustomization('remote-bad-token', { kubeConfig: { secretRef: { name: 'remote-bad-token' } }, retryInterval: '1s' });
      const c = await bed.condition('remote-bad-token', 'Ready', (c) => c.status === 'False' && /credentials/.test(c.message));
      assert.match(c.message, /Secret 'default\/remote-bad-token'.*does not accept the kubeconfig's credentials \(401 Unauthorized\)/);
      assert.ok(!c.message.includes('not-a-token'), c.message);
      assert.notEqual(cond(await bed.get('kustomization', 'remote-bad-token'), 'Stalled')?.status, 'True');
      const token = await remote.cluster.serviceAccountToken('default', 'gitops');
      await kubeconfigSecret(bed, 'remote-bad-token', await readFile(await remote.cluster.kubeconfigForToken('gitops', token), 'utf8'));
      await bed.ready('remote-bad-token');
      assert.equal(await remote.exists('configmap', 'remote-bad-token-cm'), true);
    });

    it('deleting a Kustomization prunes its objects in the remote cluster', async () => {
      assert.equal(await remote.exists('configmap', 'remote-token-cm'), true);
      await bed.k(['delete', 'kustomization/remote-token-app', '--timeout=30s']); // waits for the finalizer
      await eventually(async () => !(await remote.exists('configmap', 'remote-token-cm')), 10_000, () => 'remote-token-cm is still in the remote cluster');
      assert.equal(await remote.exists('configmap', 'remote-cm'), true, 'only the deleted Kustomization\'s objects go');
    });

    it('refuses kubeconfigs with local file paths, exec credentials or broken YAML, Stalled, without their content in status or events', async () => {
      const canary = `canary-${randomBytes(8).toString('hex')}`;
      const base = (user: Record<string, unknown>, cluster: Record<string, unknown> = { server: remote.cluster.url, 'certificate-authority-data': Buffer.from(remote.cluster.caCert).toString('base64') }) =>
        yaml.dump({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster }],
          users: [{ name: 'u', user }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        });
      const cases: { name: string; text: string; message: RegExp }[] = [
        { name: 'kc-ca-file', text: base({ token: canary }, { server: remote.cluster.url, 'certificate-authority': '/etc/ssl/certs/ca-certificates.crt' }), message: /certificate-authority \(a local file path\) is not allowed/ },
        { name: 'kc-cert-file', text: base({ 'client-certificate': `/tmp/${canary}.crt`, 'client-key': `/tmp/${canary}.key` }), message: /client-certificate \(a local file path\) is not allowed/ },
        { name: 'kc-token-file', text: base({ tokenFile: `/var/run/${canary}` }), message: /tokenFile \(a local file path\) is not allowed/ },
        { name: 'kc-exec', text: base({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh', args: ['-c', `echo ${canary}`] } }), message: /exec and auth-provider credentials are not allowed/ },
        { name: 'kc-broken', text: `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ${canary}\n   bad: [indent\n`, message: /not YAML/ },
      ];
      await bed.source('kc-refused', { 'cm.yaml': configMap('kc-refused-cm', 'default') });
      for (const c of cases) {
        await kubeconfigSecret(bed, c.name, c.text);
        await bed.kustomization(c.name, { sourceRef: { kind: 'GitRepository', name: 'kc-refused' }, kubeConfig: { secretRef: { name: c.name } } });
      }
      for (const c of cases) {
        const stalled = await bed.condition(c.name, 'Stalled', (x) => x.status === 'True');
        assert.equal(stalled.reason, 'InvalidKubeConfig', c.name);
        assert.match(stalled.message, c.message, c.name);
        assert.match(stalled.message, new RegExp(`Secret 'default/${c.name}'`), c.name);
        const ks = await bed.get('kustomization', c.name);
        assert.equal(cond(ks, 'Ready')?.status, 'False', c.name);
        assert.ok(!JSON.stringify(ks.status).includes(canary), `${c.name}: the kubeconfig's content is in the status: ${JSON.stringify(ks.status)}`);
      }
      assert.equal(await remote.exists('configmap', 'kc-refused-cm'), false);
      assert.equal(await bed.exists('configmap', 'kc-refused-cm'), false);
      const events = await bed.k(['get', 'events', '-n', 'default', '-o', 'json']);
      for (const c of cases) assert.ok(events.includes(`${c.name}`), `no event of ${c.name}`);
      assert.ok(!events.includes(canary), `the kubeconfig's content is in an event`);
      assert.ok(!bed.server.logs.includes(canary), `the kubeconfig's content is in the server's log`);
    });

    it('stalls on spec.kubeConfig.configMapRef: not supported', async () => {
      await bed.source('ks-workload-identity', { 'cm.yaml': configMap('wi-cm', 'default') });
      await bed.kustomization('ks-workload-identity', { kubeConfig: { configMapRef: { name: 'aks' } } });
      const c = await bed.condition('ks-workload-identity', 'Stalled', (x) => x.status === 'True');
      assert.match(c.message, /configMapRef.*not supported/);
      assert.equal(c.reason, 'UnsupportedKubeConfig');
      assert.equal(cond(await bed.get('kustomization', 'ks-workload-identity'), 'Ready')?.status, 'False');
      assert.equal(await bed.exists('configmap', 'wi-cm'), false);
    });
  });

  describe('lockdown flags: --default-service-account=deployer, --no-cross-namespace-refs', () => {
    it('impersonates the default ServiceAccount of the namespace when spec.serviceAccountName is unset', async () => {
      await locked.apply(tenancy('tenant', 'deployer'));
      await locked.source('tenant-app', { 'cm.yaml': configMap('tenant-cm', 'tenant') }, 'tenant');
      await locked.kustomization('tenant-app', { retryInterval: '1s' }, 'tenant');
      const c = await locked.condition('tenant-app', 'Ready', (c) => c.status === 'False' && /forbidden/.test(c.message), { namespace: 'tenant' });
      assert.match(c.message, /system:serviceaccount:tenant:deployer/);
      assert.match(c.message, /configmaps/);
      assert.equal(await locked.exists('configmap', 'tenant-cm', 'tenant'), false);
      await locked.apply(grant('tenant', 'deployer', ['configmaps']));
      await locked.ready('tenant-app', { namespace: 'tenant' });
      assert.equal(await locked.exists('configmap', 'tenant-cm', 'tenant'), true);
    });

    it('spec.serviceAccountName wins over the default', async () => {
      await locked.source('tenant-other', { 'cm.yaml': configMap('tenant-other-cm', 'tenant') }, 'tenant');
      await locked.kustomization('tenant-other', { serviceAccountName: 'nobody' }, 'tenant');
      const c = await locked.condition('tenant-other', 'Ready', (c) => c.status === 'False' && /forbidden/.test(c.message), { namespace: 'tenant' });
      assert.match(c.message, /system:serviceaccount:tenant:nobody/);
    });

    it('stalls a Kustomization whose source is in another namespace (AccessDenied)', async () => {
      await locked.source('shared', { 'cm.yaml': configMap('shared-cm', 'tenant') }, 'default');
      await locked.ready('shared', { kind: 'gitrepository' });
      await locked.kustomization('tenant-shared', { sourceRef: { kind: 'GitRepository', name: 'shared', namespace: 'default' } }, 'tenant');
      const c = await locked.condition('tenant-shared', 'Stalled', (x) => x.status === 'True', { namespace: 'tenant' });
      assert.equal(c.reason, 'AccessDenied');
      assert.match(c.message, /--no-cross-namespace-refs/);
      assert.match(c.message, /GitRepository\/default\/shared/);
      assert.equal(await locked.exists('configmap', 'shared-cm', 'tenant'), false);
    });

    it('stalls a Kustomization whose targetNamespace is another namespace (AccessDenied)', async () => {
      await locked.kustomization('tenant-escape', { sourceRef: { kind: 'GitRepository', name: 'tenant-app' }, targetNamespace: 'default' }, 'tenant');
      const c = await locked.condition('tenant-escape', 'Stalled', (x) => x.status === 'True', { namespace: 'tenant' });
      assert.equal(c.reason, 'AccessDenied');
      assert.match(c.message, /spec.targetNamespace 'default'/);
      assert.equal(await locked.exists('configmap', 'tenant-cm', 'default'), false);
      // The same source in its own namespace is what the first test applied.
      assert.equal(cond(await locked.get('kustomization', 'tenant-app', 'tenant'), 'Ready')?.status, 'True');
    });

    it('stalls a Kustomization with a dependsOn entry in another namespace (AccessDenied); one in its own namespace is fine', async () => {
      await locked.kustomization('tenant-dep-out', { sourceRef: { kind: 'GitRepository', name: 'tenant-app' }, dependsOn: [{ name: 'shared', namespace: 'default', kind: 'GitRepository' }] }, 'tenant');
      const c = await locked.condition('tenant-dep-out', 'Stalled', (x) => x.status === 'True', { namespace: 'tenant' });
      assert.equal(c.reason, 'AccessDenied');
      assert.match(c.message, /the dependency 'GitRepository\/default\/shared' is not in namespace 'tenant'/);
      await locked.source('tenant-dep-in', { 'cm.yaml': configMap('tenant-dep-cm', 'tenant') }, 'tenant');
      await locked.kustomization('tenant-dep-in', { dependsOn: [{ name: 'tenant-app' }] }, 'tenant');
      await locked.ready('tenant-dep-in', { namespace: 'tenant' });
      assert.equal(await locked.exists('configmap', 'tenant-dep-cm', 'tenant'), true);
    });
  });
});
