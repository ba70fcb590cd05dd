// Reads a request body with a hard size limit (413 past it, before buffering more) and decodes
// JSON or YAML into a plain value, with errors that say what was wrong and where.

import type { IncomingMessage } from 'node:http';
import yaml from 'js-yaml';
import { duplicateFields } from './duplicate-fields.js';
import { MANAGED_FIELDS_EXTRA_DEPTH, MAX_NESTING_DEPTH, nestingProblem } from '../registry/limits.js';
import { badRequest, StatusError, tooLarge, unsupportedMediaType } from '../apis/meta/errors.js';
import { decodeBuiltinProtobuf, hasProtobufMessage } from './protobuf-objects.js';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain, so the connection can answer
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';')[0].trim().toLowerCase();

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/**
 * Decodes a create/update body: JSON, or YAML (kube accepts both), or Kubernetes protobuf for a built-in
 * kind (`definition`, its kube definition name, has a generated protobuf message: protobuf-objects.ts).
 * Protobuf of any other kind (custom resources, gitops.toolkit kinds) is a 415, as kube answers for CRs.
 */
export function decodeObjectBody(buf: Buffer, contentType: string | undefined, definition?: string): unknown {
  const type = mediaType(contentType);
  if (type === 'application/json' || type === '') return parseJSON(buf);
  if (type === 'application/yaml') return parseYAML(buf);
  const protobuf = hasProtobufMessage(definition);
  if (type === PROTOBUF && protobuf) return checkNesting(decodeBuiltinProtobuf(buf, definition));
  throw unsupportedMediaType(type, ['application/json', 'application/yaml', ...(protobuf ? [PROTOBUF] : [])]);
}

export function parseJSON(buf: Buffer): unknown {
  const text = buf.toString('utf8');
  if (!text.trim()) throw badRequest('the request body is empty');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
  return checkNesting(v);
}

/** Everything after decoding walks values recursively somewhere: refuse what could overflow the stack. */
function checkNesting(v: unknown): unknown {
  const problem = nestingProblem(v);
  if (problem) throw badRequest(`the request body ${problem}`);
  return v;
}

const tooDeep = () => badRequest(`the request body nests objects and arrays deeper than the limit of ${MAX_NESTING_DEPTH} levels`);

/**
 * A server-side apply body: YAML, which kubectl sends as JSON. JSON without repeated keys is read as
 * JSON (about twice as fast); anything else, duplicates included, goes through the YAML reader, so the
 * answer is the same either way.
 */
export function parseApplyBody(buf: Buffer): unknown {
  const text = buf.toString('utf8');
  if (/^\s*\{/.test(text)) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return parseYAML(buf);
    }
    if (duplicateFields(text).length === 0) return checkNesting(v);
  }
  return parseYAML(buf);
}

export function parseYAML(buf: Buffer): unknown {
  const text = buf.toString('utf8');
  if (!text.trim()) throw badRequest('the request body is empty');
  try {
    // YAML 1.2 core schema: no 1.1 surprises (yes/no booleans, timestamps turned into dates).
    // maxDepth: js-yaml's own bound (its parser recurses; not in @types/js-yaml yet). It counts a
    // level or two more than checkNesting does, which then decides exactly.
    const docs = yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA, maxDepth: MAX_NESTING_DEPTH + MANAGED_FIELDS_EXTRA_DEPTH + 2 } as yaml.LoadOptions);
    if (docs.length !== 1) throw new Error(`expected one YAML document, found ${docs.length}`);
    // Without aliases a document has fewer nodes than bytes; a few KiB of nested aliases can
    // expand to billions of nodes and stall the server in whatever walks the value next.
    // Room for aliases used as they are meant (a few repeats), none for expansion bombs.
    if (!withinNodes(docs[0], 4 * text.length + 10_000)) throw new Error('the document expands to too many nodes through aliases');
    return checkNesting(docs[0]);
  } catch (e) {
    if (e instanceof StatusError) throw e;
    if (e instanceof RangeError || /exceeded maxDepth/.test((e as Error).message)) throw tooDeep();
    throw badRequest(`the request body is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * Whether walking `v` (a shared value counted each time it is reached) costs at most `max`: a node
 * counts 1 and a string (value or key) its length too, so an alias repeating a long string counts
 * what it expands to, as the nodes it repeats do.
 */
function withinNodes(v: unknown, max: number): boolean {
  const stack = [v];
  let n = 0;
  while (stack.length) {
    const x = stack.pop();
    n += 1 + (typeof x === 'string' ? x.length : 0);
    if (n > max) return false;
    if (Array.isArray(x)) for (const c of x) stack.push(c);
    else if (x !== null && typeof x === 'object') {
      for (const [k, c] of Object.entries(x)) {
        n += k.length;
        stack.push(c);
      }
    }
  }
  return true;
}
