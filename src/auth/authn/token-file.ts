// kube-apiserver's --token-auth-file: CSV rows `token,user,uid[,"group1,group2"]`, read with the
// rules of Go's encoding/csv (quoted fields with "" escapes, no comments, any number of columns).
// Tokens are kept only as sha256 digests.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../observability/logger.js';
import type { UserInfo } from '../types.js';
import type { TokenAuthenticator } from './types.js';

export class TokenFileError extends Error {
  override name = 'TokenFileError';
}

/** Records of a CSV text; empty lines are skipped, a field may span lines inside quotes. */
export function parseCSV(text: string): { line: number; fields: string[] }[] {
  const s = text.replace(/\r\n/g, '\n');
  const records: { line: number; fields: string[] }[] = [];
  let i = 0;
  let line = 1;
  while (i < s.length) {
    if (s[i] === '\n') {
      i++;
      line++;
      continue;
    }
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (s[i] === '"') {
        const open = line;
        i++;
        for (;;) {
          if (i >= s.length) throw new TokenFileError(`line ${open}: extraneous or missing " in quoted-field`);
          const ch = s[i++];
          if (ch === '"') {
            if (s[i] !== '"') break;
            i++;
          } else if (ch === '\n') line++;
          field += ch;
        }
        if (i < s.length && s[i] !== ',' && s[i] !== '\n') throw new TokenFileError(`line ${line}: extraneous or missing " in quoted-field`);
      } else {
        while (i < s.length && s[i] !== ',' && s[i] !== '\n') {
          if (s[i] === '"') throw new TokenFileError(`line ${line}: bare " in non-quoted-field`);
          field += s[i++];
        }
      }
      fields.push(field);
      if (s[i] !== ',') break;
      i++;
    }
    records.push({ line: start, fields });
  }
  return records;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** The users of a token file's text, by token digest; throws TokenFileError on a malformed file. */
export function parseTokenFile(text: string, warn: (msg: string) => void = () => {}): Map<string, UserInfo> {
  const users = new Map<string, UserInfo>();
  for (const { line, fields } of parseCSV(text)) {
    if (fields.length < 3) throw new TokenFileError(`line ${line}: at least 3 columns are needed (token, user name, user uid), found ${fields.length}`);
    const [token, name, uid, groups] = fields;
    if (token === '') {
      warn(`line ${line}: empty token, row ignored`);
      continue;
    }
    const key = digest(token);
    if (users.has(key)) warn(`line ${line}: duplicate token, this row replaces the earlier one`);
    users.set(key, { name, ...(uid ? { uid } : {}), groups: (groups ?? '').split(',').filter((g) => g !== '') });
  }
  return users;
}

export class TokenFileAuthenticator implements TokenAuthenticator {
  constructor(private readonly users: Map<string, UserInfo>) {}

  static async load(path: string, log?: Logger): Promise<TokenFileAuthenticator> {
    const text = await readFile(path, 'utf8');
    try {
      return new TokenFileAuthenticator(parseTokenFile(text, (msg) => log?.warn(`token file ${path}: ${msg}`)));
    } catch (e) {
      if (e instanceof TokenFileError) e.message = `token file ${path}: ${e.message}`;
      throw e;
    }
  }

  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    return this.users.get(digest(token));
  }
}
