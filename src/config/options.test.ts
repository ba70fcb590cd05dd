import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionsError, parseOptions, usage, type Options } from './options.js';

const DEFAULTS: Options = {
  securePort: 8443,
  bindAddress: '127.0.0.1',
  certDir: './certs',
  dataDir: './data',
  logLevel: 'info',
  maxRequestBodyBytes: 3145728,
  compactionWindow: 10000,
  minRequestTimeoutSeconds: 1800,
  requestTimeoutMs: 60_000,
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  compactionIntervalMs: 300_000,
  watchBookmarkIntervalMs: 5_000,
  kubeconfig: '',
  secretsDir: '',
  concurrent: 4,
  artifactRetentionRecords: 2,
  maxArtifactSize: 104857600,
  maxFileSize: 33554432,
  artifactBaseURL: '',
  controllers: ['*'],
  noCrossNamespaceRefs: false,
  defaultServiceAccount: '',
  requeueDependencyMs: 30_000,
  kustomizeBuildTimeoutMs: 60_000,
  localClusterSimulateWorkloads: false,
  localClusterSimulatedRolloutDelayMs: 2000,
  tlsCertFile: '',
  tlsPrivateKeyFile: '',
  tlsReloadIntervalMs: 10_000,
  authorizationMode: ['AlwaysAllow'],
  authorizationRBACFile: '',
  clientCAFile: '',
  requestHeaderClientCAFile: '',
  requestHeaderAllowedNames: [],
  requestHeaderUsernameHeaders: ['X-Remote-User'],
  requestHeaderUIDHeaders: [],
  requestHeaderGroupHeaders: ['X-Remote-Group'],
  requestHeaderExtraHeadersPrefix: ['X-Remote-Extra-'],
  tokenAuthFile: '',
  anonymousAuth: false,
  authenticationTokenWebhookCacheTTLMs: 10_000,
  authorizationWebhookCacheTTLMs: 10_000,
  enableAdmissionPlugins: [],
  disableAdmissionPlugins: [],
  localCluster: true,
  localClusterPort: 6443,
  help: false,
};

const fails = (argv: string[], env: NodeJS.ProcessEnv, message: string) =>
  assert.throws(() => parseOptions(argv, env), (e: unknown) => e instanceof OptionsError && e.message === message, `${argv.join(' ')} ${JSON.stringify(env)}`);

test('no flags and no environment give the defaults', () => {
  assert.deepEqual(parseOptions([], {}), DEFAULTS);
});

test('every flag in both spellings', () => {
  const argv = [
    '--secure-port=0',
    '--bind-address', '::',
    '--cert-dir=/tmp/c',
    '--data-dir', '/tmp/d',
    '--log-level=debug',
    '--max-request-body-bytes', '1024',
    '--compaction-window=5',
    '--min-request-timeout', '60',
    '--request-timeout=1m30s',
    '--max-requests-inflight=40',
    '--max-mutating-requests-inflight', '0',
    '--compaction-interval', '10s',
    '--watch-bookmark-interval=500ms',
    '--kubeconfig', '/k',
    '--secrets-dir=/s',
    '--concurrent', '8',
    '--artifact-retention-records=3',
    '--max-artifact-size', '1000',
    '--max-file-size=500',
    '--artifact-base-url=https://k8s.example:6443',
    '--controllers=',
    '--tls-cert-file=/c.crt',
    '--tls-private-key-file', '/c.key',
    '--tls-reload-interval=1s',
    '--authorization-mode=RBAC,Webhook',
    '--authorization-rbac-file', '/rbac',
    '--client-ca-file=/ca',
    '--requestheader-client-ca-file', '/fp',
    '--requestheader-allowed-names=front-proxy-client,aggregator',
    '--requestheader-username-headers=X-U',
    '--requestheader-uid-headers=X-Remote-Uid',
    '--requestheader-group-headers=X-G',
    '--requestheader-extra-headers-prefix=X-E-',
    '--token-auth-file=/tokens.csv',
    '--anonymous-auth',
    '--authentication-token-webhook-cache-ttl=1m',
    '--authorization-webhook-cache-ttl=30s',
    '--enable-admission-plugins=NamespaceLifecycle',
    '--disable-admission-plugins=ValidatingAdmissionWebhook',
    '--local-cluster=false',
    '--local-cluster-port', '0',
    '--no-cross-namespace-refs',
    '--default-service-account=flux',
    '--requeue-dependency', '5s',
    '--kustomize-build-timeout=2m',
    '--local-cluster-simulate-workloads=true',
    '--local-cluster-simulated-rollout-delay', '1s',
  ];
  assert.deepEqual(parseOptions(argv, {}), {
    securePort: 0,
    bindAddress: '::',
    certDir: '/tmp/c',
    dataDir: '/tmp/d',
    logLevel: 'debug',
    maxRequestBodyBytes: 1024,
    compactionWindow: 5,
    minRequestTimeoutSeconds: 60,
    requestTimeoutMs: 90_000,
    maxRequestsInflight: 40,
    maxMutatingRequestsInflight: 0,
    compactionIntervalMs: 10_000,
    watchBookmarkIntervalMs: 500,
    kubeconfig: '/k',
    secretsDir: '/s',
    concurrent: 8,
    artifactRetentionRecords: 3,
    maxArtifactSize: 1000,
    maxFileSize: 500,
    artifactBaseURL: 'https://k8s.example:6443',
    controllers: [],
    tlsCertFile: '/c.crt',
    tlsPrivateKeyFile: '/c.key',
    tlsReloadIntervalMs: 1000,
    authorizationMode: ['RBAC', 'Webhook'],
    authorizationRBACFile: '/rbac',
    clientCAFile: '/ca',
    requestHeaderClientCAFile: '/fp',
    requestHeaderAllowedNames: ['front-proxy-client', 'aggregator'],
    requestHeaderUsernameHeaders: ['X-U'],
    requestHeaderUIDHeaders: ['X-Remote-Uid'],
    requestHeaderGroupHeaders: ['X-G'],
    requestHeaderExtraHeadersPrefix: ['X-E-'],
    tokenAuthFile: '/tokens.csv',
    anonymousAuth: true,
    authenticationTokenWebhookCacheTTLMs: 60_000,
    authorizationWebhookCacheTTLMs: 30_000,
    enableAdmissionPlugins: ['NamespaceLifecycle'],
    disableAdmissionPlugins: ['ValidatingAdmissionWebhook'],
    localCluster: false,
    localClusterPort: 0,
    noCrossNamespaceRefs: true,
    defaultServiceAccount: 'flux',
    requeueDependencyMs: 5000,
    kustomizeBuildTimeoutMs: 120_000,
    localClusterSimulateWorkloads: true,
    localClusterSimulatedRolloutDelayMs: 1000,
    help: false,
  });
});

test('environment variables set options; flags win; empty variables count as unset', () => {
  const env = {
    GITOPS_SECURE_PORT: '9443',
    GITOPS_BIND_ADDRESS: '0.0.0.0',
    GITOPS_CERT_DIR: '/etc/gitops/certs',
    GITOPS_DATA_DIR: '',
    GITOPS_LOG_LEVEL: 'warn',
    GITOPS_MAX_REQUEST_BODY_BYTES: '100',
    GITOPS_COMPACTION_WINDOW: '7',
    GITOPS_MIN_REQUEST_TIMEOUT: '5',
    GITOPS_REQUEST_TIMEOUT: '2s',
  };
  assert.deepEqual(parseOptions([], env), {
    ...DEFAULTS,
    securePort: 9443,
    bindAddress: '0.0.0.0',
    certDir: '/etc/gitops/certs',
    logLevel: 'warn',
    maxRequestBodyBytes: 100,
    compactionWindow: 7,
    minRequestTimeoutSeconds: 5,
    requestTimeoutMs: 2000,
  });
  const o = parseOptions(['--secure-port=1', '--log-level', 'error'], env);
  assert.equal(o.securePort, 1);
  assert.equal(o.logLevel, 'error');
  assert.equal(parseOptions([], { GITOPS_DATA_DIR: '/var/lib/gitops' }).dataDir, '/var/lib/gitops');
  // a flag replaces a bad environment value without reading it
  assert.equal(parseOptions(['--secure-port=2'], { GITOPS_SECURE_PORT: 'x' }).securePort, 2);
});

test('the last occurrence of a flag wins; values may contain = and start with a dash', () => {
  assert.equal(parseOptions(['--secure-port=1', '--secure-port', '2'], {}).securePort, 2);
  assert.equal(parseOptions(['--cert-dir=/a=b'], {}).certDir, '/a=b');
  assert.equal(parseOptions(['--cert-dir', '-weird'], {}).certDir, '-weird');
});

test('the bind address is an IP address or a host name', () => {
  for (const a of ['0.0.0.0', '::', '::1', '10.1.2.3', 'fe80::1', 'localhost', 'api.Example.com', 'node-1']) {
    assert.equal(parseOptions(['--bind-address', a], {}).bindAddress, a);
  }
});

test('Go durations', () => {
  const cases: [string, number][] = [
    ['60s', 60_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['500ms', 500],
    ['1m0.5s', 60_500],
    ['2500us', 2.5],
    ['2500µs', 2.5],
    ['1000000ns', 1],
  ];
  for (const [raw, ms] of cases) assert.equal(parseOptions([`--request-timeout=${raw}`], {}).requestTimeoutMs, ms, raw);
});

test('--help and -h', () => {
  assert.equal(parseOptions(['--help'], {}).help, true);
  assert.equal(parseOptions(['-h'], {}).help, true);
  assert.equal(parseOptions(['--help=false'], {}).help, false);
  // --help takes no separate value: what follows is still parsed as a flag
  assert.equal(parseOptions(['--help', '--secure-port=5'], {}).securePort, 5);
  // help is not read from the environment
  assert.equal(parseOptions([], { GITOPS_HELP: 'true' }).help, false);
});

test('bad flags and values fail with one line naming the flag', () => {
  const cases: [string[], NodeJS.ProcessEnv, string][] = [
    [['--nope'], {}, 'unknown flag: --nope'],
    [['--nope=1'], {}, 'unknown flag: --nope'],
    [['-x'], {}, 'unknown flag: -x'],
    [['-secure-port=1'], {}, 'unknown flag: -secure-port=1'],
    [['serve'], {}, 'unexpected argument "serve": this command takes only flags'],
    [['--secure-port'], {}, 'flag needs an argument: --secure-port'],
    [['--secure-port=abc'], {}, 'invalid value "abc" for --secure-port: must be an integer from 0 to 65535'],
    [['--secure-port=65536'], {}, 'invalid value "65536" for --secure-port: must be an integer from 0 to 65535'],
    [['--secure-port=-1'], {}, 'invalid value "-1" for --secure-port: must be an integer from 0 to 65535'],
    [['--secure-port=80.5'], {}, 'invalid value "80.5" for --secure-port: must be an integer from 0 to 65535'],
    [['--secure-port='], {}, 'invalid value "" for --secure-port: must be an integer from 0 to 65535'],
    [[], { GITOPS_SECURE_PORT: '1e3' }, 'invalid value "1e3" for GITOPS_SECURE_PORT (--secure-port): must be an integer from 0 to 65535'],
    [['--bind-address=not an address'], {}, 'invalid value "not an address" for --bind-address: must be an IP address or a host name'],
    [['--bind-address=300.1.1.1'], {}, 'invalid value "300.1.1.1" for --bind-address: must be an IP address or a host name'],
    [['--cert-dir='], {}, 'invalid value "" for --cert-dir: must not be empty'],
    [['--log-level=trace'], {}, 'invalid value "trace" for --log-level: must be one of debug, info, warn, error'],
    [[], { GITOPS_LOG_LEVEL: 'INFO' }, 'invalid value "INFO" for GITOPS_LOG_LEVEL (--log-level): must be one of debug, info, warn, error'],
    [['--max-request-body-bytes=0'], {}, 'invalid value "0" for --max-request-body-bytes: must be an integer >= 1'],
    [['--max-request-body-bytes=3MiB'], {}, 'invalid value "3MiB" for --max-request-body-bytes: must be an integer >= 1'],
    [['--compaction-window=99999999999999999999'], {}, 'invalid value "99999999999999999999" for --compaction-window: must be an integer >= 1'],
    [['--min-request-timeout=0'], {}, 'invalid value "0" for --min-request-timeout: must be an integer >= 1'],
    [['--request-timeout=60'], {}, 'invalid value "60" for --request-timeout: must be a duration such as 30s, 1m30s or 500ms'],
    [['--request-timeout=1d'], {}, 'invalid value "1d" for --request-timeout: must be a duration such as 30s, 1m30s or 500ms'],
    [['--request-timeout=-5s'], {}, 'invalid value "-5s" for --request-timeout: must be a duration such as 30s, 1m30s or 500ms'],
    [['--request-timeout=0s'], {}, 'invalid value "0s" for --request-timeout: must be longer than zero'],
    [['--help=yes'], {}, 'invalid value "yes" for --help: must be true or false'],
    [['--controllers=gitrepositry'], {}, `invalid value "gitrepositry" for --controllers: unknown controller "gitrepositry": known are gitrepository, ocirepository, helmrepository, helmchart, bucket, kustomization, helmrelease (and '*', -name)`],
    [['--controllers=*,-kustomizations'], {}, `invalid value "*,-kustomizations" for --controllers: unknown controller "-kustomizations": known are gitrepository, ocirepository, helmrepository, helmchart, bucket, kustomization, helmrelease (and '*', -name)`],
  ];
  for (const [argv, env, message] of cases) fails(argv, env, message);
});

test('usage lists every flag with its description, default and environment variable', () => {
  const text = usage();
  const expected: [string, string, string | undefined][] = [
    ['--secure-port int', 'default 8443', 'GITOPS_SECURE_PORT'],
    ['--bind-address address', 'default 127.0.0.1', 'GITOPS_BIND_ADDRESS'],
    ['--cert-dir string', 'default ./certs', 'GITOPS_CERT_DIR'],
    ['--data-dir string', 'default ./data', 'GITOPS_DATA_DIR'],
    ['--log-level level', 'default info', 'GITOPS_LOG_LEVEL'],
    ['--max-request-body-bytes int', 'default 3145728', 'GITOPS_MAX_REQUEST_BODY_BYTES'],
    ['--compaction-window int', 'default 10000', 'GITOPS_COMPACTION_WINDOW'],
    ['--min-request-timeout int', 'default 1800', 'GITOPS_MIN_REQUEST_TIMEOUT'],
    ['--request-timeout duration', 'default 60s', 'GITOPS_REQUEST_TIMEOUT'],
    ['--max-requests-inflight int', 'default 400', 'GITOPS_MAX_REQUESTS_INFLIGHT'],
    ['--max-mutating-requests-inflight int', 'default 200', 'GITOPS_MAX_MUTATING_REQUESTS_INFLIGHT'],
    ['--compaction-interval duration', 'default 5m', 'GITOPS_COMPACTION_INTERVAL'],
    ['--watch-bookmark-interval duration', 'default 5s', 'GITOPS_WATCH_BOOKMARK_INTERVAL'],
    ['--concurrent int', 'default 4', 'GITOPS_CONCURRENT'],
    ['--artifact-retention-records int', 'default 2', 'GITOPS_ARTIFACT_RETENTION_RECORDS'],
    ['--max-artifact-size int', 'default 104857600', 'GITOPS_MAX_ARTIFACT_SIZE'],
    ['--max-file-size int', 'default 33554432', 'GITOPS_MAX_FILE_SIZE'],
    ['--secrets-dir string', 'default ', 'GITOPS_SECRETS_DIR'],
    ['--kubeconfig string', 'default ', 'GITOPS_KUBECONFIG'],
    ['--controllers names', 'default *', 'GITOPS_CONTROLLERS'],
    ['--tls-cert-file string', 'default ', 'GITOPS_TLS_CERT_FILE'],
    ['--tls-private-key-file string', 'default ', 'GITOPS_TLS_PRIVATE_KEY_FILE'],
    ['--tls-reload-interval duration', 'default 10s', 'GITOPS_TLS_RELOAD_INTERVAL'],
    ['--authorization-mode modes', 'default AlwaysAllow', 'GITOPS_AUTHORIZATION_MODE'],
    ['--authorization-rbac-file string', 'default ', 'GITOPS_AUTHORIZATION_RBAC_FILE'],
    ['--client-ca-file string', 'default ', 'GITOPS_CLIENT_CA_FILE'],
    ['--requestheader-client-ca-file string', 'default ', 'GITOPS_REQUESTHEADER_CLIENT_CA_FILE'],
    ['--requestheader-allowed-names names', 'default ', 'GITOPS_REQUESTHEADER_ALLOWED_NAMES'],
    ['--requestheader-username-headers names', 'default X-Remote-User', 'GITOPS_REQUESTHEADER_USERNAME_HEADERS'],
    ['--requestheader-uid-headers names', 'default ', 'GITOPS_REQUESTHEADER_UID_HEADERS'],
    ['--requestheader-group-headers names', 'default X-Remote-Group', 'GITOPS_REQUESTHEADER_GROUP_HEADERS'],
    ['--requestheader-extra-headers-prefix names', 'default X-Remote-Extra-', 'GITOPS_REQUESTHEADER_EXTRA_HEADERS_PREFIX'],
    ['--token-auth-file string', 'default ', 'GITOPS_TOKEN_AUTH_FILE'],
    ['--anonymous-auth', '', 'GITOPS_ANONYMOUS_AUTH'],
    ['--authentication-token-webhook-cache-ttl duration', 'default 10s', 'GITOPS_AUTHENTICATION_TOKEN_WEBHOOK_CACHE_TTL'],
    ['--authorization-webhook-cache-ttl duration', 'default 10s', 'GITOPS_AUTHORIZATION_WEBHOOK_CACHE_TTL'],
    ['--enable-admission-plugins names', 'default ', 'GITOPS_ENABLE_ADMISSION_PLUGINS'],
    ['--disable-admission-plugins names', 'default ', 'GITOPS_DISABLE_ADMISSION_PLUGINS'],
    ['--artifact-base-url string', 'default ', 'GITOPS_ARTIFACT_BASE_URL'],
    ['--local-cluster', '', 'GITOPS_LOCAL_CLUSTER'],
    ['--local-cluster-port int', 'default 6443', 'GITOPS_LOCAL_CLUSTER_PORT'],
    ['--no-cross-namespace-refs', '', 'GITOPS_NO_CROSS_NAMESPACE_REFS'],
    ['--default-service-account string', 'default ', 'GITOPS_DEFAULT_SERVICE_ACCOUNT'],
    ['--requeue-dependency duration', 'default 30s', 'GITOPS_REQUEUE_DEPENDENCY'],
    ['--kustomize-build-timeout duration', 'default 60s', 'GITOPS_KUSTOMIZE_BUILD_TIMEOUT'],
    ['--local-cluster-simulate-workloads', '', 'GITOPS_LOCAL_CLUSTER_SIMULATE_WORKLOADS'],
    ['--local-cluster-simulated-rollout-delay duration', 'default 2s', 'GITOPS_LOCAL_CLUSTER_SIMULATED_ROLLOUT_DELAY'],
    ['-h, --help', '', undefined],
  ];
  const lines = text.split('\n');
  for (const [head, dflt, env] of expected) {
    const line = lines.find((l) => l.trimStart().startsWith(`${head} `));
    assert.ok(line, `no line for ${head}`);
    if (dflt) assert.ok(line.includes(dflt), line);
    if (env) assert.ok(line.includes(`env ${env}`), line);
    else assert.ok(!line.includes('env '), line);
    assert.ok(/[A-Z][^()]*\./.test(line), `no description: ${line}`);
  }
  assert.equal(lines.filter((l) => /^\s+(-h, )?--/.test(l)).length, expected.length);
});
