// The install manifests as `kubectl apply -k manifests/` would send them: built by the real kubectl
// (kustomize) from a copy of manifests/ and apiservice/ that `npm run certs` has filled in, every
// object checked against the Kubernetes schema of its kind, plus the security settings, the RBAC and
// the certificates the install depends on.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { APIService } from 'kubernetes-models/apiregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseOptions } from '../../src/config/options.js';
import { resources as gitopsKinds } from '../../src/apis/v1/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

// The kubernetes-models class (schema validation) and the client-node class (field names) per kind.
const KINDS: Record<string, { model: new (data: any) => { validate(): void }; fields: string }> = {
  'v1/Namespace': { model: Namespace, fields: 'V1Namespace' },
  'v1/ServiceAccount': { model: ServiceAccount, fields: 'V1ServiceAccount' },
  'v1/Secret': { model: Secret, fields: 'V1Secret' },
  'v1/Service': { model: Service, fields: 'V1Service' },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim, fields: 'V1PersistentVolumeClaim' },
  'apps/v1/Deployment': { model: Deployment, fields: 'V1Deployment' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole, fields: 'V1ClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: ClusterRoleBinding, fields: 'V1ClusterRoleBinding' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding, fields: 'V1RoleBinding' },
  'apiregistration.k8s.io/v1/APIService': { model: APIService, fields: 'V1APIService' },
};

/**
 * Fields the Kubernetes API does not define, found by walking the object along client-node's type
 * maps: the JSON Schemas allow unknown fields, which kube-apiserver's strict field validation refuses
 * and which would otherwise pass silently (a misspelt readOnlyRootFilesystem is no protection).
 */
function unknownFields(value: unknown, type: string, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  const list = /^Array<(.+)>$/.exec(type);
  if (list) return (value as unknown[]).flatMap((v, i) => unknownFields(v, list[1], `${path}[${i}]`));
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1], `${path}.${k}`));
  const attrs = (k8s as any)[type]?.getAttributeTypeMap?.() as { baseName: string; type: string }[] | undefined;
  if (!attrs) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const a = attrs.find((x) => x.baseName === k);
    return a ? unknownFields(v, a.type, `${path}.${k}`) : [`${path}.${k}`];
  });
}

function schemaErrors(o: Obj): string[] {
  const kind = KINDS[`${o.apiVersion}/${o.kind}`];
  if (!kind) return [`no schema for ${o.apiVersion} ${o.kind}`];
  const errors = unknownFields(o, kind.fields, o.kind).map((p) => `unknown field ${p}`);
  try {
    new kind.model(o).validate();
  } catch (e) {
    errors.push((e as Error).message);
  }
  return errors;
}

/** Whether RBAC rules grant `verb` on `resource` (with its subresource, as "gitrepositories/artifact"). */
const allows = (rules: Rule[], group: string, resource: string, verb: string) =>
  rules.some((r) => (r.apiGroups ?? []).some((g) => g === group || g === '*') && (r.resources ?? []).some((x) => x === resource || x === '*') && r.verbs.some((v) => v === verb || v === '*'));

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

async function generateCerts(outDir: string, ...args: string[]) {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'certs', 'generate.ts'), '--out-dir', outDir, ...args], { cwd: ROOT });
  const secret = yaml.load(await readFile(join(outDir, 'manifests', 'serving-cert-secret.yaml'), 'utf8')) as Obj;
  const apiServiceText = await readFile(join(outDir, 'apiservice', 'apiservice.yaml'), 'utf8');
  return { stdout, secret, apiServiceText, caBundle: b64((yaml.load(apiServiceText) as Obj).spec.caBundle) };
}

/** A copy of manifests/ and apiservice/ as in a fresh checkout (without a locally generated Secret). */
async function checkoutCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gitops-manifests-'));
  for (const d of ['manifests', 'apiservice']) await cp(join(ROOT, d), join(dir, d), { recursive: true, filter: (src) => basename(src) !== 'serving-cert-secret.yaml' });
  return dir;
}

const SERVICE_NAMES = ['gitops-toolkit', 'gitops-toolkit.gitops-system', 'gitops-toolkit.gitops-system.svc', 'gitops-toolkit.gitops-system.svc.cluster.local'];
const KINDS_PLURAL = ['gitrepositories', 'ocirepositories', 'helmrepositories', 'helmcharts', 'buckets', 'kustomizations', 'helmreleases'];
const SOURCES = ['gitrepositories', 'ocirepositories', 'helmrepositories', 'helmcharts', 'buckets'];
const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
/** Every read-only view a kind declares (kustomizations/build, kustomizations/diff…): whatever is added later is checked too. */
const VIEWS = gitopsKinds.flatMap((d) => (d.views ?? []).map((v) => `${d.plural}/${v.name}`));
const SA = { kind: 'ServiceAccount', name: 'gitops-toolkit', namespace: 'gitops-system' };

describe('install manifests', () => {
  let dir: string;
  let objects: Obj[];
  let certs: Awaited<ReturnType<typeof generateCerts>>;
  const find = (kind: string, name: string, namespace?: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name && x.metadata.namespace === namespace);
    assert.ok(o, `${kind} ${namespace ? `${namespace}/` : ''}${name} is in the build`);
    return o;
  };

  before(async () => {
    dir = await checkoutCopy();
    certs = await generateCerts(dir);
    const { stdout } = await run('kubectl', ['kustomize', join(dir, 'manifests')], { maxBuffer: 16 << 20 });
    objects = yaml.loadAll(stdout) as Obj[];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('kubectl kustomize builds everything, the APIService included', () => {
    assert.deepEqual(objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(), [
      'APIService /v1.gitops.toolkit',
      'ClusterRole /gitops-toolkit-admin',
      'ClusterRole /gitops-toolkit-edit',
      'ClusterRole /gitops-toolkit-server',
      'ClusterRole /gitops-toolkit-view',
      'ClusterRoleBinding /gitops-toolkit-server',
      'ClusterRoleBinding /gitops-toolkit:cluster-reconciler',
      'ClusterRoleBinding /gitops-toolkit:system:auth-delegator',
      'Deployment gitops-system/gitops-toolkit',
      'Namespace /gitops-system',
      'PersistentVolumeClaim gitops-system/gitops-toolkit-data',
      'RoleBinding kube-system/gitops-toolkit:extension-apiserver-authentication-reader',
      'Secret gitops-system/gitops-toolkit-serving-cert',
      'Service gitops-system/gitops-toolkit',
      'ServiceAccount gitops-system/gitops-toolkit',
    ]);
  });

  test('without the generated Secret the build fails and names the missing file', async () => {
    const fresh = await checkoutCopy();
    try {
      await assert.rejects(run('kubectl', ['kustomize', join(fresh, 'manifests')]), (e: { stderr: string }) => e.stderr.includes('serving-cert-secret.yaml'));
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  test('every object validates against the Kubernetes schema of its kind, with no unknown fields', () => {
    for (const o of objects) assert.deepEqual(schemaErrors(o), [], `${o.kind} ${o.metadata.name}`);
  });

  test('the schema check catches a wrong type, an unknown field and an unknown kind', () => {
    const deployment = structuredClone(find('Deployment', 'gitops-toolkit', 'gitops-system'));
    deployment.spec.replicas = 'one';
    deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    const errors = schemaErrors(deployment);
    assert.ok(errors.some((e) => /replicas/.test(e) && /integer/.test(e)), errors.join('\n'));
    assert.ok(errors.includes('unknown field Deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem'), errors.join('\n'));
    assert.deepEqual(schemaErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), ['no schema for example.com/v1 Widget']);
  });

  test('the Deployment runs one non-root replica with a read-only root filesystem and no privileges', () => {
    const d = find('Deployment', 'gitops-toolkit', 'gitops-system');
    assert.equal(d.spec.replicas, 1);
    assert.equal(d.spec.strategy.type, 'Recreate');
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'gitops-toolkit');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0];
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.securityContext.capabilities.add, undefined);
    assert.equal(c.securityContext.privileged, undefined);
    for (const r of ['requests', 'limits']) for (const res of ['cpu', 'memory']) assert.ok(c.resources[r]?.[res], `resources.${r}.${res}`);
    assert.equal(find('Namespace', 'gitops-system').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  test('probes ask /livez and /readyz over HTTPS on the serving port', () => {
    const c = find('Deployment', 'gitops-toolkit', 'gitops-system').spec.template.spec.containers[0];
    const port = c.ports.find((p: any) => p.name === 'https');
    assert.equal(port.containerPort, 8443);
    const probes: [string, string][] = [
      ['startupProbe', '/livez'],
      ['livenessProbe', '/livez'],
      ['readinessProbe', '/readyz'],
    ];
    for (const [probe, path] of probes) {
      assert.equal(c[probe].httpGet.path, path, probe);
      assert.equal(c[probe].httpGet.scheme, 'HTTPS', probe);
      assert.ok(c[probe].httpGet.port === 'https' || c[probe].httpGet.port === 8443, probe);
    }
  });

  test('the server flags are ones the server accepts, for in-cluster mode', () => {
    const c = find('Deployment', 'gitops-toolkit', 'gitops-system').spec.template.spec.containers[0];
    const o = parseOptions(c.args, {}) as unknown as Record<string, unknown>;
    assert.equal(o.bindAddress, '0.0.0.0');
    assert.equal(o.securePort, 8443);
    assert.equal(o.dataDir, '/data');
    for (const flag of ['--bind-address=0.0.0.0', '--secure-port=8443', '--data-dir=/data', '--authorization-mode=Webhook']) assert.ok(c.args.includes(flag), flag);
    // The serving certificate comes from the mounted Secret, not from a generated --cert-dir.
    const arg = (name: string) => c.args.find((a: string) => a.startsWith(`--${name}=`))?.split('=')[1];
    const mount = c.volumeMounts.find((m: any) => m.name === 'serving-cert');
    assert.equal(mount.readOnly, true);
    assert.equal(mount.subPath, undefined, 'a subPath mount would never see a rotated certificate');
    assert.equal(arg('tls-cert-file'), `${mount.mountPath}/tls.crt`);
    assert.equal(arg('tls-private-key-file'), `${mount.mountPath}/tls.key`);
  });

  test('/data is on a PersistentVolumeClaim, /tmp on an emptyDir, the certificate from the Secret', () => {
    const pod = find('Deployment', 'gitops-toolkit', 'gitops-system').spec.template.spec;
    const volumeAt = (path: string) => pod.volumes.find((v: any) => v.name === pod.containers[0].volumeMounts.find((m: any) => m.mountPath === path)?.name);
    const claim = volumeAt('/data')?.persistentVolumeClaim?.claimName;
    assert.equal(claim, 'gitops-toolkit-data');
    assert.deepEqual(find('PersistentVolumeClaim', claim, 'gitops-system').spec.accessModes, ['ReadWriteOnce']);
    assert.ok(volumeAt('/tmp')?.emptyDir, '/tmp is an emptyDir');
    assert.equal(pod.volumes.find((v: any) => v.name === 'serving-cert').secret.secretName, 'gitops-toolkit-serving-cert');
  });

  test('the APIService points at the Service, verifies it with caBundle and sorts after built-in groups', () => {
    const a = find('APIService', 'v1.gitops.toolkit');
    assert.equal(a.spec.group, 'gitops.toolkit');
    assert.equal(a.spec.version, 'v1');
    assert.equal(a.spec.insecureSkipTLSVerify, undefined);
    assert.equal(a.spec.groupPriorityMinimum, 1000);
    assert.equal(a.spec.versionPriority, 15);
    assert.ok(a.spec.caBundle, 'caBundle is filled');
    const svc = find('Service', a.spec.service.name, a.spec.service.namespace);
    const port = svc.spec.ports.find((p: any) => p.port === a.spec.service.port);
    assert.equal(port.targetPort, 'https');
    const pod = find('Deployment', 'gitops-toolkit', 'gitops-system').spec.template;
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(pod.metadata.labels[k], v, `selector ${k}`);
  });

  test('the server may delegate authentication and authorization, read what admission needs and write events', () => {
    const bound = (kind: string, name: string, namespace?: string) =>
      objects.filter((o) => o.kind === kind && o.metadata.namespace === namespace && o.roleRef.name === name && o.subjects.some((s: any) => s.kind === SA.kind && s.name === SA.name && s.namespace === SA.namespace));
    assert.equal(bound('ClusterRoleBinding', 'system:auth-delegator').length, 1);
    const reader = bound('RoleBinding', 'extension-apiserver-authentication-reader', 'kube-system');
    assert.equal(reader.length, 1);
    assert.equal(reader[0].roleRef.kind, 'Role');
    assert.equal(bound('ClusterRoleBinding', 'gitops-toolkit-server').length, 1);

    const rules: Rule[] = find('ClusterRole', 'gitops-toolkit-server').rules;
    for (const verb of ['get', 'list', 'watch']) {
      assert.ok(allows(rules, '', 'namespaces', verb), `${verb} namespaces`);
      assert.ok(allows(rules, '', 'secrets', verb), `${verb} secrets`);
      assert.ok(allows(rules, 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', verb), `${verb} validatingwebhookconfigurations`);
      assert.ok(allows(rules, 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', verb), `${verb} mutatingwebhookconfigurations`);
    }
    for (const group of ['', 'events.k8s.io']) for (const verb of ['create', 'patch']) assert.ok(allows(rules, group, 'events', verb), `${verb} ${group || 'core'} events`);
    // Nothing beyond that: no wildcards, no writes but events.
    assert.ok(!rules.some((r) => [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs].includes('*')), 'no wildcard');
    assert.ok(!allows(rules, '', 'secrets', 'create') && !allows(rules, '', 'namespaces', 'delete'));
  });

  test('view reads, edit and admin also write, download artifacts and get views, each aggregated to its built-in role', () => {
    const role = (level: string) => {
      const r = find('ClusterRole', `gitops-toolkit-${level}`);
      assert.equal(r.metadata.labels?.[`rbac.authorization.k8s.io/aggregate-to-${level}`], 'true', `${level} aggregates`);
      assert.ok((r.rules as Rule[]).every((x) => x.apiGroups?.length === 1 && x.apiGroups[0] === 'gitops.toolkit'), `${level} stays in gitops.toolkit`);
      return r.rules as Rule[];
    };
    const view = role('view');
    for (const res of KINDS_PLURAL) {
      for (const verb of ['get', 'list', 'watch']) {
        assert.ok(allows(view, 'gitops.toolkit', res, verb), `view ${verb} ${res}`);
        assert.ok(allows(view, 'gitops.toolkit', `${res}/status`, verb), `view ${verb} ${res}/status`);
      }
      for (const verb of WRITE_VERBS) assert.ok(!allows(view, 'gitops.toolkit', res, verb), `view must not ${verb} ${res}`);
    }
    for (const res of SOURCES) assert.ok(!allows(view, 'gitops.toolkit', `${res}/artifact`, 'get'), `view must not download ${res} artifacts`);
    assert.ok(VIEWS.includes('kustomizations/build') && VIEWS.includes('kustomizations/diff'), VIEWS.join());
    // rendered output carries values substituted from Secrets, as artifacts may carry credentials
    for (const sub of VIEWS) assert.ok(!allows(view, 'gitops.toolkit', sub, 'get'), `view must not get ${sub}`);

    for (const level of ['edit', 'admin']) {
      const rules = role(level);
      for (const res of KINDS_PLURAL) {
        for (const verb of ['get', 'list', 'watch', ...WRITE_VERBS]) assert.ok(allows(rules, 'gitops.toolkit', res, verb), `${level} ${verb} ${res}`);
        assert.ok(allows(rules, 'gitops.toolkit', `${res}/status`, 'get'), `${level} get ${res}/status`);
        assert.ok(!allows(rules, 'gitops.toolkit', `${res}/status`, 'update'), `status is the reconcilers' to write (${level})`);
      }
      for (const res of SOURCES) assert.ok(allows(rules, 'gitops.toolkit', `${res}/artifact`, 'get'), `${level} downloads ${res} artifacts`);
      for (const sub of VIEWS) {
        assert.ok(allows(rules, 'gitops.toolkit', sub, 'get'), `${level} gets ${sub}`);
        for (const verb of WRITE_VERBS) assert.ok(!allows(rules, 'gitops.toolkit', sub, verb), `${sub} is read-only (${level})`);
      }
    }
  });

  test('the Secret holds a serving certificate for the Service names, chained to the caBundle CA', async () => {
    const { secret, caBundle } = certs;
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.equal(secret.metadata.name, 'gitops-toolkit-serving-cert');
    assert.equal(secret.metadata.namespace, 'gitops-system');
    const ca = new X509Certificate(caBundle);
    assert.ok(ca.ca);
    assert.equal(b64(secret.data['ca.crt']), caBundle);
    const cert = new X509Certificate(b64(secret.data['tls.crt']));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the caBundle CA');
    assert.ok(cert.checkPrivateKey(createPrivateKey(b64(secret.data['tls.key']))), 'tls.key is the certificate key');
    for (const name of SERVICE_NAMES) assert.equal(cert.checkHost(name, { subject: 'never' }), name);
    assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 364 && days < 366, `valid one year, not ${days} days`);

    // What kube-apiserver does: dial the Service name, trust only caBundle.
    const server = tls.createServer({ cert: b64(secret.data['tls.crt']), key: b64(secret.data['tls.key']) }, (s) => s.end());
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const { port } = server.address() as { port: number };
    const dial = (servername: string) =>
      new Promise<void>((res, rej) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername, ca: caBundle }, () => (s.end(), res()));
        s.on('error', rej);
      });
    try {
      await dial('gitops-toolkit.gitops-system.svc');
      await assert.rejects(dial('other.gitops-system.svc'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      server.close();
    }
  });

  test('the cert script changes only the caBundle line of apiservice.yaml', async () => {
    const original = await readFile(join(ROOT, 'apiservice', 'apiservice.yaml'), 'utf8');
    const strip = (s: string) => s.replace(/^(\s*caBundle:).*$/m, '$1');
    assert.equal(strip(certs.apiServiceText), strip(original));
    assert.equal(certs.apiServiceText.split('\n').length, original.split('\n').length);
  });

  test('a second run reuses the CA: only the serving certificate changes', async () => {
    const again = await generateCerts(dir);
    assert.match(again.stdout, /reused the CA/);
    assert.equal(again.apiServiceText, certs.apiServiceText, 'apiservice.yaml untouched');
    assert.equal(b64(again.secret.data['ca.crt']), certs.caBundle);
    const first = new X509Certificate(b64(certs.secret.data['tls.crt']));
    const second = new X509Certificate(b64(again.secret.data['tls.crt']));
    assert.notEqual(second.serialNumber, first.serialNumber);
    assert.ok(second.verify(new X509Certificate(certs.caBundle).publicKey));
  });

  test('--namespace and --service name the Secret and the certificate', async () => {
    const other = await checkoutCopy();
    try {
      const { secret } = await generateCerts(other, '--namespace', 'infra', '--service', 'gitops');
      assert.equal(secret.metadata.namespace, 'infra');
      const cert = new X509Certificate(b64(secret.data['tls.crt']));
      for (const name of ['gitops', 'gitops.infra', 'gitops.infra.svc', 'gitops.infra.svc.cluster.local']) assert.equal(cert.checkHost(name, { subject: 'never' }), name);
      assert.equal(cert.checkHost('gitops-toolkit.gitops-system.svc', { subject: 'never' }), undefined);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test('generated keys are ignored by Git', async () => {
    for (const path of ['manifests/serving-cert-secret.yaml', 'certs/cluster/ca.key']) {
      await assert.doesNotReject(run('git', ['check-ignore', '--quiet', '--no-index', path], { cwd: ROOT }), path);
    }
  });
});
