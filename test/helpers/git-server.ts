// A Git smart-HTTP server for tests: node:http in front of the real `git http-backend` (run as CGI per
// request), with an open area, a Basic-auth area and a Bearer-token area, optional HTTPS with its own
// CA, and a log of every request. Repositories are bare repos under a temp project root, written with
// git plumbing (no working clone), so commits can hold anything Git can store: executables, symlinks,
// submodule links, names a checkout would refuse, signatures made by gpg.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import * as openpgp from 'openpgp';
import { generateCA, issueCert, type CertKeyPair } from '../../src/pki/certs.js';

export const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';
export type GitArea = 'public' | 'basic' | 'bearer';

export interface GitServerOptions {
  https?: boolean;
  username?: string;
  password?: string;
  bearerToken?: string;
}

/** One HTTP request the server answered. */
export interface GitRequestRecord {
  method: string;
  area: string;
  /** Path below the area, e.g. `/app.git/info/refs`. */
  path: string;
  query: string;
  status: number;
  /** Request body bytes as received (compressed when the client gzipped it). */
  bytesIn: number;
  bytesOut: number;
  contentEncoding?: string;
  gitProtocol?: string;
}

/** A PGP key that gpg (in the server's private GNUPGHOME) signs with. */
export interface SigningKey {
  publicKey: string; // armored
  privateKey: string; // armored, unprotected
  fingerprint: string; // 40 hex, lower case
  keyId: string; // 16 hex, lower case
}

export interface CommitOptions {
  message?: string;
  /** Defaults to the branch HEAD points at; a missing branch is created from HEAD's commit. */
  branch?: string;
  remove?: string[];
  /** Paths among `files` to store as 100755. */
  executable?: string[];
  /** path → link target, stored as symlinks (120000). */
  symlinks?: Record<string, string>;
  /** path → commit SHA, stored as submodule links (160000). */
  submodules?: Record<string, string>;
  /** Sign with gpg: `true` uses the server's default key. */
  sign?: boolean | SigningKey;
}

export interface TagOptions {
  annotated?: boolean;
  message?: string;
  /** Implies annotated. */
  sign?: boolean | SigningKey;
  /** What to tag; HEAD's commit by default. */
  target?: string;
}

interface RunOptions {
  cwd?: string;
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Resolve instead of reject on a non-zero exit. */
  allowFail?: boolean;
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

const ZERO_OID = '0'.repeat(40);
// A fixed, advancing clock: commit SHAs differ between commits yet never depend on the wall clock.
const EPOCH = 1_700_000_000;

export class GitServer {
  readonly requests: GitRequestRecord[] = [];
  username: string;
  password: string;
  bearerToken: string;
  /** The CA that issued the HTTPS serving certificate (https mode only). */
  ca?: CertKeyPair;
  port = 0;
  private server!: http.Server;
  private clock = 0;
  private staged = 0;
  private defaultKey?: Promise<SigningKey>;

  private constructor(
    readonly dir: string,
    readonly secure: boolean,
    o: GitServerOptions,
  ) {
    this.username = o.username ?? 'git-user';
    this.password = o.password ?? randomBytes(9).toString('base64url');
    this.bearerToken = o.bearerToken ?? randomBytes(18).toString('base64url');
  }

  /** Bare repositories live here: `<root>/<name>.git`. */
  get root() {
    return join(this.dir, 'repos');
  }
  get home() {
    return join(this.dir, 'home');
  }
  get gnupgHome() {
    return join(this.dir, 'gnupg');
  }
  get baseUrl() {
    return `${this.secure ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  static async start(o: GitServerOptions = {}): Promise<GitServer> {
    const dir = await mkdtemp(join(tmpdir(), 'git-server-'));
    const s = new GitServer(dir, !!o.https, o);
    await mkdir(s.root);
    await mkdir(s.home);
    await mkdir(s.gnupgHome, { mode: 0o700 });
    await mkdir(join(dir, 'stage'));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => s.handle(req, res);
    if (o.https) {
      s.ca = await generateCA('git-server test CA');
      const serving = await issueCert(s.ca, { cn: '127.0.0.1', ips: ['127.0.0.1'], dnsNames: ['localhost'], server: true, days: 2 });
      s.server = https.createServer({ cert: serving.cert, key: serving.key }, handler);
    } else {
      s.server = http.createServer(handler);
    }
    s.server.listen(0, '127.0.0.1');
    await once(s.server, 'listening');
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    if (this.defaultKey) await this.run('gpgconf', ['--kill', 'gpg-agent'], { allowFail: true });
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The clone URL of `repo` in `area`. */
  url(repo: string, area: GitArea = 'public'): string {
    return `${this.baseUrl}/${area}/${repo}.git`;
  }

  gitDir(repo: string): string {
    return join(this.root, `${repo}.git`);
  }

  resetRequests(): void {
    this.requests.length = 0;
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/([^/]+)(\/.*)$/.exec(u.pathname);
    const record: GitRequestRecord = {
      method: req.method ?? '',
      area: m?.[1] ?? '',
      path: m?.[2] ?? u.pathname,
      query: u.search.slice(1),
      status: 0,
      bytesIn: 0,
      bytesOut: 0,
      ...(req.headers['content-encoding'] ? { contentEncoding: String(req.headers['content-encoding']) } : {}),
      ...(req.headers['git-protocol'] ? { gitProtocol: String(req.headers['git-protocol']) } : {}),
    };
    req.on('data', (c: Buffer) => (record.bytesIn += c.length));
    res.on('close', () => {
      record.status = res.statusCode;
      this.requests.push(record);
    });
    const deny = (status: number, headers: Record<string, string> = {}) => {
      req.resume();
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(`${http.STATUS_CODES[status]}\n`);
    };
    if (!m || !['public', 'basic', 'bearer'].includes(m[1])) return deny(404);
    const authz = req.headers.authorization ?? '';
    let user = '';
    if (m[1] === 'basic') {
      const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
      if (authz !== expected) return deny(401, { 'WWW-Authenticate': 'Basic realm="git"' });
      user = this.username;
    } else if (m[1] === 'bearer') {
      if (authz !== `Bearer ${this.bearerToken}`) return deny(401, { 'WWW-Authenticate': 'Bearer realm="git"' });
      user = 'bearer';
    }
    this.cgi(req, res, m[2], u.search.slice(1), user, (n) => (record.bytesOut += n));
  }

  private cgi(req: http.IncomingMessage, res: http.ServerResponse, pathInfo: string, query: string, user: string, sent: (n: number) => void): void {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROJECT_ROOT: this.root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    };
    if (user) env.REMOTE_USER = user;
    if (req.headers['content-type']) env.CONTENT_TYPE = req.headers['content-type'];
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    // http-backend inflates gzip request bodies itself when told the encoding.
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);

    const child = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // the backend may answer (and exit) before reading the body
    req.pipe(child.stdin);

    let head: Buffer | null = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      if (head === null) {
        sent(chunk.length);
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const sep = headerEnd(head);
      if (!sep) return;
      const headers = head.subarray(0, sep.at).toString('latin1').split(/\r?\n/).filter(Boolean);
      const body = head.subarray(sep.at + sep.len);
      head = null;
      let status = 200;
      for (const line of headers) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = parseInt(value, 10);
        else res.appendHeader(name, value);
      }
      res.statusCode = status;
      sent(body.length);
      res.write(body);
    });
    child.on('close', (code) => {
      if (head !== null) {
        // The backend died before sending headers.
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`git http-backend failed (${code}): ${stderr}`);
        return;
      }
      res.end();
    });
    res.on('close', () => {
      if (child.exitCode === null) child.kill();
    });
  }

  // ---- repositories -----------------------------------------------------------------------------

  /** Runs a command with this server's Git/GnuPG environment. */
  async run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.home,
      GNUPGHOME: this.gnupgHome,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      LANG: 'C',
      ...o.env,
    };
    const p = spawn(cmd, args, { cwd: o.cwd ?? this.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d) => (stderr += d));
    p.stdin.on('error', () => {});
    p.stdin.end(o.input ?? '');
    const [code] = (await once(p, 'close')) as [number | null];
    const r = { code: code ?? -1, stdout: Buffer.concat(out), stderr };
    if (r.code !== 0 && !o.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${stderr}`);
    return r;
  }

  /** `git` with the test identity; returns trimmed stdout. */
  async git(args: string[], o: RunOptions & { repo?: string } = {}): Promise<string> {
    const t = `${EPOCH + ++this.clock} +0000`;
    const pre = ['-c', 'user.name=Test Author', '-c', 'user.email=author@example.com', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'gpg.program=gpg'];
    if (o.repo) pre.push('--git-dir', this.gitDir(o.repo));
    const r = await this.run('git', [...pre, ...args], { ...o, env: { GIT_AUTHOR_DATE: t, GIT_COMMITTER_DATE: t, ...o.env } });
    return r.stdout.toString('utf8').trim();
  }

  /** A bare repository with one commit holding `files` (a README by default) on `defaultBranch`. */
  async createRepo(name: string, o: { defaultBranch?: string; files?: Record<string, string | Buffer> } = {}): Promise<string> {
    const branch = o.defaultBranch ?? 'main';
    await mkdir(dirname(this.gitDir(name)), { recursive: true });
    await this.git(['init', '--quiet', '--bare', '-b', branch, this.gitDir(name)]);
    // Lets authenticated clients push over HTTP too.
    await this.git(['config', 'http.receivepack', 'true'], { repo: name });
    return this.commit(name, o.files ?? { 'README.md': `# ${name}\n` }, { message: 'initial commit', branch });
  }

  /** The commit `ref` resolves to (peeling tags). */
  async rev(repo: string, ref = 'HEAD'): Promise<string> {
    return this.git(['rev-parse', '--verify', `${ref}^{commit}`], { repo });
  }

  /** Adds/replaces `files`, removes `o.remove`, and moves the branch to the new commit; returns its SHA. */
  async commit(repo: string, files: Record<string, string | Buffer>, o: CommitOptions = {}): Promise<string> {
    const dir = join(this.dir, 'stage', String(++this.staged));
    await mkdir(dir);
    const paths = Object.keys(files);
    const links = Object.entries(o.symlinks ?? {});
    const sources = [...paths.map((p) => files[p]), ...links.map(([, target]) => target)];
    await Promise.all(sources.map((c, i) => writeFile(join(dir, String(i)), c)));
    const oids = await this.hashFiles(repo, sources.map((_, i) => join(dir, String(i))));
    await rm(dir, { recursive: true });
    const exec = new Set(o.executable ?? []);
    const lines = [
      ...paths.map((p, i) => `${exec.has(p) ? '100755' : '100644'} ${oids[i]}\t${p}`),
      ...links.map(([p], i) => `120000 ${oids[paths.length + i]}\t${p}`),
      ...Object.entries(o.submodules ?? {}).map(([p, sha]) => `160000 ${sha}\t${p}`),
      ...(o.remove ?? []).map((p) => `0 ${ZERO_OID}\t${p}`),
    ];
    return this.commitIndexLines(repo, lines, o);
  }

  /** Commits a file of `size` random bytes (streamed to disk, never held in memory). */
  async addLargeFile(repo: string, path: string, size: number, o: CommitOptions = {}): Promise<string> {
    const file = join(this.dir, 'stage', `large-${++this.staged}`);
    const out = createWriteStream(file);
    for (let left = size; left > 0; left -= 1 << 20) {
      if (!out.write(randomBytes(Math.min(left, 1 << 20)))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    const [oid] = await this.hashFiles(repo, [file]);
    await rm(file);
    return this.commitIndexLines(repo, [`100644 ${oid}\t${path}`], { message: `add ${path}`, ...o });
  }

  private async hashFiles(repo: string, files: string[]): Promise<string[]> {
    if (files.length === 0) return [];
    const out = await this.git(['hash-object', '-w', '--stdin-paths'], { repo, input: files.join('\n') + '\n' });
    return out.split('\n');
  }

  private async branchOf(repo: string): Promise<string> {
    return (await this.git(['symbolic-ref', 'HEAD'], { repo })).replace(/^refs\/heads\//, '');
  }

  private async tryRev(repo: string, ref: string): Promise<string | undefined> {
    const r = await this.run('git', ['--git-dir', this.gitDir(repo), 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFail: true });
    return r.code === 0 ? r.stdout.toString().trim() : undefined;
  }

  private async signArgs(sign: boolean | SigningKey | undefined, flag: string): Promise<string[]> {
    if (!sign) return [];
    const key = sign === true ? await this.signingKey() : sign;
    return [`${flag}${key.fingerprint}`];
  }

  /** Applies `update-index --index-info` lines on top of the branch's tree and commits the result. */
  private async commitIndexLines(repo: string, lines: string[], o: CommitOptions): Promise<string> {
    const branch = o.branch ?? (await this.branchOf(repo));
    const parent = (await this.tryRev(repo, `refs/heads/${branch}`)) ?? (await this.tryRev(repo, 'HEAD'));
    const index = join(this.dir, 'stage', `index-${++this.staged}`);
    const env = { GIT_INDEX_FILE: index };
    await this.git(parent ? ['read-tree', parent] : ['read-tree', '--empty'], { repo, env });
    if (lines.length) await this.git(['update-index', '--index-info'], { repo, env, input: lines.join('\n') + '\n' });
    const tree = await this.git(['write-tree'], { repo, env });
    await rm(index, { force: true });
    return this.commitTree(repo, tree, branch, parent, o);
  }

  private async commitTree(repo: string, tree: string, branch: string, parent: string | undefined, o: CommitOptions): Promise<string> {
    const args = ['commit-tree', ...(await this.signArgs(o.sign, '-S')), tree, ...(parent ? ['-p', parent] : []), '-m', o.message ?? 'update'];
    const commit = await this.git(args, { repo });
    await this.git(['update-ref', `refs/heads/${branch}`, commit], { repo });
    return commit;
  }

  /** Creates branch `name` at `from` (HEAD's commit by default); returns its commit. */
  async branch(repo: string, name: string, from = 'HEAD'): Promise<string> {
    await this.git(['branch', name, from], { repo });
    return this.rev(repo, `refs/heads/${name}`);
  }

  /** Creates a tag; returns the SHA the tag ref points at (the tag object when annotated). */
  async tag(repo: string, name: string, o: TagOptions = {}): Promise<string> {
    const target = o.target ?? 'HEAD';
    const args = ['tag'];
    if (o.sign) args.push(...(await this.signArgs(o.sign, '--local-user=')));
    else if (o.annotated) args.push('--annotate');
    if (o.sign || o.annotated) args.push('-m', o.message ?? `release ${name}`);
    await this.git([...args, name, target], { repo });
    return this.git(['rev-parse', `refs/tags/${name}`], { repo });
  }

  /** Points the bare repository's HEAD (what clients see as the default branch) at `branch`. */
  async setDefaultBranch(repo: string, branch: string): Promise<void> {
    await this.git(['symbolic-ref', 'HEAD', `refs/heads/${branch}`], { repo });
  }

  /** The server's default signing key, generated on first use. */
  signingKey(): Promise<SigningKey> {
    this.defaultKey ??= this.newSigningKey('Test Signer', 'signer@example.com');
    return this.defaultKey;
  }

  /** A fresh key pair (openpgp, ed25519) imported into the server's GNUPGHOME so git can sign with it. */
  async newSigningKey(name: string, email: string): Promise<SigningKey> {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email }], format: 'armored' });
    const key = await openpgp.readKey({ armoredKey: publicKey });
    await this.run('gpg', ['--batch', '--quiet', '--import'], { input: privateKey });
    return { publicKey, privateKey, fingerprint: key.getFingerprint().toLowerCase(), keyId: key.getKeyID().toHex().toLowerCase() };
  }

  /**
   * A repository a fetcher must not trust, one branch per attack:
   * `symlink` (a link to ../../../etc/passwd next to normal files), `dotdot` (a tree entry named
   * `..`), `dotgit` (a `.git` directory), `slash` (an entry name holding `/`). Git's checks (fsck,
   * checkout) refuse the last three, so their trees are written with `hash-object --literally`.
   */
  async hostileRepo(name: string): Promise<Record<'symlink' | 'dotdot' | 'dotgit' | 'slash', string>> {
    await this.createRepo(name, { files: { 'README.md': 'hostile\n', 'app/config.yaml': 'a: 1\n' } });
    const symlink = await this.commit(name, {}, { branch: 'symlink', symlinks: { link: '../../../etc/passwd', 'app/up': '../..' }, message: 'symlinks out' });
    const blob = await this.git(['hash-object', '-w', '--stdin'], { repo: name, input: 'escaped\n' });
    const readme = await this.git(['rev-parse', 'HEAD:README.md'], { repo: name });
    const inner = await this.writeTree(name, [['100644', 'escaped.txt', blob]]);
    const base = ['100644', 'README.md', readme] as const;
    const trees = {
      dotdot: await this.writeTree(name, [['40000', '..', inner], base]),
      dotgit: await this.writeTree(name, [['40000', '.git', await this.writeTree(name, [['100644', 'config', blob]])], base]),
      slash: await this.writeTree(name, [base, ['100644', 'a/../../b', blob]]),
    };
    const head = await this.rev(name);
    const out = { symlink } as Record<'symlink' | 'dotdot' | 'dotgit' | 'slash', string>;
    for (const [branch, tree] of Object.entries(trees) as [keyof typeof trees, string][]) {
      out[branch] = await this.commitTree(name, tree, branch, head, { message: `hostile ${branch}` });
    }
    return out;
  }

  /** Writes a tree object verbatim (entries in the order given), bypassing Git's name checks. */
  private async writeTree(repo: string, entries: (readonly [string, string, string])[]): Promise<string> {
    const body = Buffer.concat(entries.map(([mode, name, oid]) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')])));
    return this.git(['hash-object', '-t', 'tree', '--literally', '-w', '--stdin'], { repo, input: body });
  }
}

function headerEnd(b: Buffer): { at: number; len: number } | undefined {
  const crlf = b.indexOf('\r\n\r\n');
  const lf = b.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, len: 4 };
  if (lf >= 0) return { at: lf, len: 2 };
  return undefined;
}
