// Read-only subresources served by code: a kind declares them (ResourceDefinition.views: a
// Kustomization's `build` and `diff`, later a HelmRelease's `manifest`, `values`, `diff`), and
// whatever can compute them (a controller: it needs the cluster, the artifacts…) registers a handler
// here. The API server answers GET …/<plural>/<name>/<view> with what the handler returns, in the
// handler's own media type, within a time and a size bound; it is authorized like any subresource,
// as `get` on `<plural>/<view>`.

import type { Request, Response } from 'express';
import type { SubresourceView } from '../../apis/meta/resource.js';
import type { KubeObject } from '../../apis/meta/types.js';
import type { UserInfo } from '../../auth/types.js';
import { internalError, StatusError, timeout } from '../../apis/meta/errors.js';
import type { ResourceStore } from '../../registry/store.js';

/** What a view answers: sent as is, with this Content-Type. */
export interface ViewResult {
  contentType: string;
  body: string | Buffer;
}

export interface ViewContext {
  /** Who asked (authorized already as `get` on `<plural>/<view>`). */
  user?: UserInfo;
  /** Aborted when the time bound passes or the client goes away: stop working then. */
  signal: AbortSignal;
  /** The request's query parameters, for views that take options. */
  query: URLSearchParams;
}

/**
 * Computes one view of `obj` (the stored object, just read). A thrown StatusError is the answer
 * (a 409 "not built yet", a 422 "the build fails: …"); anything else is a logged 500.
 */
export type ViewHandler = (obj: KubeObject, o: ViewContext) => Promise<ViewResult>;

export const DEFAULT_VIEW_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_VIEW_BYTES = 16 << 20;

/** The handlers of every view, by group, kind and view name; one per server. */
export class SubresourceViews {
  private readonly handlers = new Map<string, ViewHandler>();

  private static key = (group: string, kind: string, view: string) => `${group}/${kind}/${view}`;

  /** Serves `view` of `kind` (declared in its definition's `views`) with `handler`; returns the unregister function. A second registration replaces the first. */
  register(group: string, kind: string, view: string, handler: ViewHandler): () => void {
    const key = SubresourceViews.key(group, kind, view);
    this.handlers.set(key, handler);
    return () => {
      if (this.handlers.get(key) === handler) this.handlers.delete(key);
    };
  }

  handler(group: string, kind: string, view: string): ViewHandler | undefined {
    return this.handlers.get(SubresourceViews.key(group, kind, view));
  }
}

export interface ViewServingOptions {
  views: SubresourceViews;
  /** How long a handler may take; past it, a 504 and the handler's signal is aborted. */
  timeoutMs: number;
  /** The largest body sent; a larger one is an error, not a truncated document. */
  maxBytes: number;
}

const qualified = (store: ResourceStore) => (store.def.group ? `${store.def.plural}.${store.def.group}` : store.def.plural);

/** Answers GET of `view` on `obj` (already read from `store`, so a missing object was a 404). */
export async function serveView(req: Request, res: Response, store: ResourceStore, obj: KubeObject, view: SubresourceView, o: ViewServingOptions): Promise<void> {
  const what = `the ${view.name} of ${qualified(store)} "${obj.metadata.name}"`;
  const handler = o.views.handler(store.def.group, store.def.kind, view.name);
  // 503, not 404: the subresource exists (discovery lists it), this server just cannot compute it now.
  if (!handler) throw new StatusError(503, 'ServiceUnavailable', `${what} is not served by this server (is the ${store.def.kind} controller disabled?)`);
  const abort = new AbortController();
  const timedOut = new Error('view timed out');
  const timer = setTimeout(() => abort.abort(timedOut), o.timeoutMs);
  const gone = () => abort.abort();
  res.once('close', gone);
  let result: ViewResult;
  try {
    const work = handler(obj, { user: req.user, signal: abort.signal, query: new URLSearchParams(req.url.split('?')[1] ?? '') });
    work.catch(() => {}); // a handler that ignores its signal may still fail after the answer is sent
    const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }));
    result = await Promise.race([work, aborted]);
  } catch (e) {
    if (e === timedOut) throw timeout(`${what} was not computed within ${o.timeoutMs / 1000}s`);
    if (abort.signal.aborted) return void res.end(); // the client went away: nobody to answer
    throw e;
  } finally {
    clearTimeout(timer);
    res.off('close', gone);
  }
  const size = typeof result.body === 'string' ? Buffer.byteLength(result.body) : result.body.length;
  // 500 InternalError, as kube answers when it cannot produce a response: nothing about the request
  // is wrong (413 RequestEntityTooLarge is about the request's body, and a client would shrink that),
  // and a truncated multi-document YAML or JSON would read as a smaller, valid answer.
  if (size > o.maxBytes) throw internalError(`the ${view.name} output of ${qualified(store)} "${obj.metadata.name}" is larger than ${o.maxBytes} bytes (${size} bytes)`);
  res.status(200).setHeader('Content-Type', result.contentType);
  res.setHeader('Cache-Control', 'no-cache, private');
  // The body is rendered from what users wrote: a browser must not sniff it into HTML.
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(result.body);
}
