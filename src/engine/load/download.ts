// Downloading one file over HTTP for the Hub loader: a body that fails when it stalls, read with
// progress into one buffer, and the errors a user can act on. Platform-neutral (fetch streams).

import { hubFileUrl, hubLabel, type HubRef } from './hubRef.ts';

export type HubErrorKind = 'not-found' | 'gated' | 'network' | 'http' | 'interrupted' | 'too-large' | 'unsupported' | 'invalid';

export class HubError extends Error {
  constructor(
    readonly kind: HubErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export const mb = (n: number) => (n < 1e5 ? `${Math.max(1, Math.round(n / 1e3))} KB` : `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`);
/** The warnings of a load that goes on: a cached file that failed its checks, and a cache that refused a file. */
export const damagedInCache = (label: string, file: string, why: string) => `${label}: the cached ${file} was damaged (${why}); it was removed from the cache and downloaded again.`;
export const notCached = (label: string, e: Error) =>
  `${label} is loaded but could not be cached (${e.message}); it will be downloaded again next time. Free some storage to keep models offline.`;

export const interrupted = (file: string, what: string) =>
  new HubError('interrupted', `The download of ${file} ${what}. Nothing partial was kept; load the model again to retry.`);

/**
 * Passes a body through, failing it when no chunk arrives for `ms` (a stalled connection) or when it
 * is cancelled. `abort` cancels the underlying fetch; `done` runs once the body has ended either way.
 */
export function stallGuard(body: ReadableStream<Uint8Array>, ms: number, abort: () => void, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no data for ${ms / 1000} s`)), ms);
      });
      try {
        const { done: ended, value } = await Promise.race([reader.read(), stalled]);
        if (ended) {
          done();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        abort();
        done();
        void reader.cancel().catch(() => {});
        controller.error(e);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      abort();
      done();
      return reader.cancel(reason);
    },
  });
}

/** Reads a response body with progress; a connection that ends early is an error, never a short file. */
export async function readBody(res: Response, file: string, label: string, onProgress?: (loaded: number, total: number | null) => void, signal?: AbortSignal): Promise<Uint8Array> {
  const total = Number(res.headers.get('content-length')) || null;
  // With a known length, bytes go straight into one buffer: no list of chunks and second copy at the end.
  let out = new Uint8Array(total ?? 0);
  let loaded = 0;
  const add = (chunk: Uint8Array) => {
    if (loaded + chunk.length > out.length) {
      if (total !== null) throw new HubError('invalid', `${label}/${file} is longer than the ${total} bytes the server announced`);
      const grown = new Uint8Array(Math.max(out.length * 2, loaded + chunk.length));
      grown.set(out.subarray(0, loaded));
      out = grown;
    }
    out.set(chunk, loaded);
    loaded += chunk.length;
  };
  try {
    if (!res.body) add(new Uint8Array(await res.arrayBuffer()));
    else {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        add(value);
        onProgress?.(loaded, total);
      }
    }
  } catch (e) {
    if (e instanceof HubError) throw e;
    if (signal?.aborted) throw new HubError('interrupted', `Loading ${label} was cancelled; nothing partial was kept.`);
    throw interrupted(`${label}/${file}`, `broke off after ${mb(loaded)} (${(e as Error).message})`);
  }
  if (total !== null && loaded !== total) {
    throw interrupted(`${label}/${file}`, `ended after ${loaded} of ${total} bytes`);
  }
  return loaded === out.length ? out : out.slice(0, loaded);
}

/** GET one file of a Hub repository; null for 404 when `optional`. */
export type HubRequest = (file: string, optional: boolean, headers?: Record<string, string>, signal?: AbortSignal) => Promise<Response | null>;

/**
 * Requests files of `ref` on `endpoint` (at commit `at`: the messages name the ref, as the user wrote it), mapping HTTP failures to messages a user can act on. A response's body is
 * guarded: no bytes for `stallMs` (or a cancel) ends the download with an error.
 */
export function hubRequester(endpoint: string, ref: HubRef, opts: { fetch?: typeof fetch; stallMs: number; signal?: AbortSignal; /** The commit the files are fetched at (default: the ref's revision). */ at?: string }): HubRequest {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const { stallMs } = opts;
  const label = hubLabel({ id: ref.id, revision: ref.revision });
  return async (file, optional, headers, signal = opts.signal) => {
    const url = hubFileUrl(endpoint, { ...ref, revision: opts.at ?? ref.revision }, file);
    let res: Response;
    const stall = new AbortController();
    const onAbort = () => stall.abort();
    signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => stall.abort(), stallMs);
    try {
      res = await doFetch(url, { headers, signal: stall.signal, redirect: 'follow' });
    } catch (e) {
      if (opts.signal?.aborted) throw new HubError('interrupted', `Loading ${label} was cancelled.`);
      if (signal?.aborted) throw e;
      const why = stall.signal.aborted ? `no answer within ${stallMs / 1000} s` : (e as Error).message;
      throw new HubError('network', `Could not reach ${endpoint} for ${label} (${why}). Check the network connection, or pick the embedded model, which works offline.`);
    } finally {
      clearTimeout(timer);
    }
    if (res.ok) {
      if (!res.body) return res;
      const body = stallGuard(res.body, stallMs, () => stall.abort(), () => signal?.removeEventListener('abort', onAbort));
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    signal?.removeEventListener('abort', onAbort);
    if (res.status === 404 && optional) return null;
    if (res.status === 401 || res.status === 403) {
      throw new HubError('gated', `${label} is gated or private (HTTP ${res.status}): NextToken only loads public models. Pick another model.`);
    }
    if (res.status === 404) {
      throw new HubError('not-found', `${label} has no ${file} on ${endpoint} (HTTP 404). Check the model id (owner/name) and revision.`);
    }
    throw new HubError('http', `${endpoint} answered HTTP ${res.status} for ${label}/${file}. Try again later.`);
  };
}
