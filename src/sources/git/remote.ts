// Ask the remote what its refs and capabilities are (one GET of info/refs, protocol v1, no pack, read
// through isomorphic-git with its size bounded) and resolve a GitRef against them with Flux's
// precedence and revision strings.

import git from 'isomorphic-git';
import semver from 'semver';
import { createHttpClient } from './http.js';
import { isSshUrl, sshUnsupported, toRemoteError } from './errors.js';
import { GitRemoteError, type GitAuth, type GitRef, type GitRequestOptions, type RemoteRefs, type ResolvedRef } from './types.js';

const SHA1 = /^[0-9a-f]{40}$/;

/** Moves user:password@ from the URL into auth (the secret's values win, as in Flux). */
export function splitUrlCredentials(url: string, auth: GitAuth): { url: string; auth: GitAuth } {
  if (isSshUrl(url)) throw sshUnsupported(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new GitRemoteError(`not a valid Git URL: ${url.replace(/\/\/[^/@]*@/, '//')}`, 'Invalid');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GitRemoteError(`unsupported URL scheme ${u.protocol} (only http and https)`, 'Unsupported');
  if (!u.username && !u.password) return { url, auth };
  const merged: GitAuth = { ...auth };
  if (!merged.bearerToken) {
    merged.username ||= decodeURIComponent(u.username);
    merged.password ||= decodeURIComponent(u.password);
  }
  u.username = '';
  u.password = '';
  return { url: u.toString(), auth: merged };
}

/** `o.maxAdvertisementBytes` bounds the info/refs response (default MAX_ADVERTISEMENT_BYTES). */
export async function lsRemote(url: string, auth: GitAuth = {}, o: GitRequestOptions & { maxAdvertisementBytes?: number } = {}): Promise<RemoteRefs> {
  const target = splitUrlCredentials(url, auth);
  let info: Awaited<ReturnType<typeof git.getRemoteInfo2>>;
  const http = createHttpClient(target.auth, o, o.maxAdvertisementBytes);
  try {
    info = await git.getRemoteInfo2({ http, url: target.url, protocolVersion: 1 });
  } catch (err) {
    // A body cut at its first chunk reads to isomorphic-git as an empty answer: the cut is the cause.
    http.assertComplete();
    throw toRemoteError(err, url, 'list refs of');
  }
  http.assertComplete();
  const refs: RemoteRefs['refs'] = new Map();
  let head: string | undefined;
  for (const r of info.refs ?? []) {
    if (r.ref === 'HEAD') head = r.target;
    refs.set(r.ref, r.peeled ? { oid: r.oid, peeled: r.peeled } : { oid: r.oid });
  }
  // Servers that do not advertise the symref: the first branch at HEAD's commit, like git does.
  if (!head && refs.has('HEAD')) {
    const oid = refs.get('HEAD')!.oid;
    head = [...refs].find(([name, v]) => name.startsWith('refs/heads/') && v.oid === oid)?.[0];
  }
  const capabilities = Object.entries(info.capabilities ?? {}).map(([k, v]) => (v === true ? k : `${k}=${v}`));
  return { head, refs, capabilities };
}

/** `refs/heads/main@sha1:…` → `main@sha1:…`: what Flux shows for branch, tag and semver refs. */
const shortName = (ref: string) => ref.replace(/^refs\/(heads|tags)\//, '');

function lookup(remote: RemoteRefs, name: string, what: string): { commit: string; tagObject?: string } {
  const peel = name.endsWith('^{}');
  const base = peel ? name.slice(0, -3) : name;
  const r = remote.refs.get(base);
  if (!r) throw new GitRemoteError(`${what} not found on the remote`, 'RefNotFound');
  if (r.peeled) return peel ? { commit: r.peeled } : { commit: r.peeled, tagObject: r.oid };
  return { commit: r.oid };
}

/** Flux's version parsing: strict SemVer 2, optionally with one leading `v`. */
export function parseTagVersion(tag: string): semver.SemVer | null {
  const bare = tag.startsWith('v') ? tag.slice(1) : tag;
  if (bare.startsWith('v') || bare.startsWith('=')) return null;
  return semver.parse(bare);
}

/**
 * The highest tag satisfying `range` (Masterminds syntax: `,` joins like a space). As in Masterminds,
 * pre-releases only match a range that itself names a pre-release version.
 */
export function pickSemverTag(tags: Iterable<string>, range: string): string | undefined {
  let r: semver.Range;
  try {
    r = new semver.Range(range.replace(/,/g, ' '));
  } catch {
    throw new GitRemoteError(`invalid semver range ${JSON.stringify(range)}`, 'Invalid');
  }
  const includePrerelease = /\d+\.\d+\.\d+-[0-9A-Za-z]/.test(range);
  let best: { tag: string; v: semver.SemVer } | undefined;
  for (const tag of tags) {
    const v = parseTagVersion(tag);
    if (!v) continue;
    const ok = v.prerelease.length ? includePrerelease && semver.satisfies(v, r, { includePrerelease: true }) : r.test(v);
    if (!ok) continue;
    // Equal versions differ only in build metadata: the larger metadata wins, so the pick is stable.
    if (!best || semver.compareBuild(v, best.v) > 0) best = { tag, v };
  }
  return best?.tag;
}

/** Resolves `ref` against the remote's refs: commit > name > semver > tag > branch > the remote's HEAD. */
export function resolveRef(remote: RemoteRefs, ref: GitRef = {}): ResolvedRef {
  if (ref.commit) {
    const commit = ref.commit.toLowerCase();
    if (!SHA1.test(commit)) throw new GitRemoteError(`commit ${JSON.stringify(ref.commit)} is not a full 40-character SHA-1`, 'Invalid');
    if (ref.name) return { commit, revision: `${ref.name}@sha1:${commit}`, refName: ref.name };
    if (ref.branch) {
      if (!remote.refs.has(`refs/heads/${ref.branch}`)) throw new GitRemoteError(`branch '${ref.branch}' not found on the remote`, 'RefNotFound');
      return { commit, revision: `${ref.branch}@sha1:${commit}`, refName: `refs/heads/${ref.branch}` };
    }
    return { commit, revision: `sha1:${commit}` };
  }
  if (ref.name) {
    if (!ref.name.startsWith('refs/') && ref.name !== 'HEAD') throw new GitRemoteError(`ref name ${JSON.stringify(ref.name)} must be a full reference such as refs/heads/main or refs/pull/1/head`, 'Invalid');
    const { commit, tagObject } = lookup(remote, ref.name, `ref '${ref.name}'`);
    return { commit, revision: `${ref.name}@sha1:${commit}`, refName: ref.name.replace(/\^\{\}$/, ''), ...(tagObject ? { tagObject } : {}) };
  }
  if (ref.semver) {
    const tags = [...remote.refs.keys()].filter((k) => k.startsWith('refs/tags/')).map(shortName);
    const tag = pickSemverTag(tags, ref.semver);
    if (!tag) throw new GitRemoteError(`no tag matches semver range '${ref.semver}'`, 'RefNotFound');
    return tagRef(remote, tag);
  }
  if (ref.tag) return tagRef(remote, ref.tag);
  let branch = ref.branch;
  if (!branch) {
    if (!remote.head?.startsWith('refs/heads/')) {
      throw new GitRemoteError(remote.refs.size ? "the remote does not say which branch HEAD points at; set spec.ref.branch" : 'the remote repository is empty', 'RefNotFound');
    }
    branch = shortName(remote.head);
  }
  const { commit } = lookup(remote, `refs/heads/${branch}`, `branch '${branch}'`);
  return { commit, revision: `${branch}@sha1:${commit}`, refName: `refs/heads/${branch}` };
}

function tagRef(remote: RemoteRefs, tag: string): ResolvedRef {
  const { commit, tagObject } = lookup(remote, `refs/tags/${tag}`, `tag '${tag}'`);
  return { commit, revision: `${tag}@sha1:${commit}`, refName: `refs/tags/${tag}`, ...(tagObject ? { tagObject } : {}) };
}
