// One GGUF file of a Hub repository ("owner/name/file.gguf"): the Hub's GGUF repos hold one file per
// precision, and the file carries the config and the tokenizer itself. Downloaded with progress into the same
// cache as safetensors models, keyed by commit too (a file enters it only once it has fully arrived, so its presence means complete),
// refused up front when the server's length says it cannot fit, and read again from the network once if the
// cached copy no longer parses. Where the store streams (the browser's Cache Storage, the CLI's disk cache), the
// file is read as it arrives — one download, two readers: the cache writes one branch, ggufStream.ts the other —
// and never held whole; a store without streams has it read into memory.
import { damagedInCache, HubError, hubRequester, interrupted, mb, notCached, readBody } from './download.ts';
import { GgufError } from './gguf.ts';
import { ggufModelFiles, ggufModelFilesOf } from './ggufModel.ts';
import { GgufTruncated, readGgufStream } from './ggufStream.ts';
import type { HubLoadOptions } from './hub.ts';
import { cacheKey, DEFAULT_ENDPOINT, hubLabel, type HubRef } from './hubRef.ts';
import type { ModelFiles } from './load.ts';

/** `at`: the commit the file is cached and fetched at (hubRevision.ts); messages name `ref` as the user wrote it. */
export async function loadHubGguf(ref: HubRef & { file: string }, at: string, opts: HubLoadOptions): Promise<ModelFiles> {
  const endpoint = opts.endpoint || DEFAULT_ENDPOINT;
  const label = hubLabel(ref);
  const key = cacheKey(endpoint, { ...ref, revision: at }, ref.file);
  const name = ref.file.split('/').pop()!;
  const progress = (loaded: number, total: number | null, fromCache: boolean) =>
    opts.onProgress?.({ file: name, loaded, total, overallLoaded: loaded, overallTotal: total, fromCache });

  const streaming = Boolean(opts.store.stream && opts.store.putStream);
  if (streaming) {
    const cached = await opts.store.stream!(key);
    if (cached) {
      try {
        const { gguf, store } = await readGgufStream(cached.body, cached.size, label, (n) => progress(n, cached.size, true), opts.signal);
        return ggufModelFilesOf(label, gguf, store);
      } catch (e) {
        if (opts.signal?.aborted) throw new HubError('interrupted', `Loading ${label} was cancelled.`);
        if (!(e instanceof GgufError)) throw e;
        await opts.store.delete(key);
        opts.onWarning?.(damagedInCache(label, 'file', e.message));
      }
    }
  }
  const cached = streaming ? null : await opts.store.get(key);
  if (cached) {
    progress(cached.length, cached.length, true);
    try {
      return ggufModelFiles(label, cached);
    } catch (e) {
      if (!(e instanceof GgufError)) throw e;
      await opts.store.delete(key);
      opts.onWarning?.(damagedInCache(label, 'file', e.message));
    }
  }
  const abort = new AbortController(); // a streamed download the parser rejects is cut off, cache branch included
  if (opts.signal?.aborted) abort.abort();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const request = hubRequester(endpoint, ref, { fetch: opts.fetch, stallMs: opts.stallMs ?? 60_000, signal: abort.signal, at });
  const res = (await request(ref.file, false))!;
  const streamed = async (body: ReadableStream<Uint8Array>, size: number): Promise<ModelFiles> => {
    const [toCache, toParse] = body.tee();
    let cacheFailed = false;
    const caching = opts.store.putStream!(key, toCache, size).catch((e: Error) => {
      cacheFailed = true;
      if (!abort.signal.aborted) opts.onWarning?.(notCached(label, e));
    });
    let loaded = 0;
    let read: Awaited<ReturnType<typeof readGgufStream>>;
    try {
      read = await readGgufStream(toParse, size, label, (n) => progress((loaded = n), size, false), abort.signal);
      await caching;
    } catch (e) {
      abort.abort(); // the cache must not keep a file the parser rejected
      await caching;
      if (!cacheFailed) await opts.store.delete(key).catch(() => {}); // a store that wrote before the error keeps nothing either
      if (opts.signal?.aborted) throw new HubError('interrupted', `Loading ${label} was cancelled; nothing partial was kept.`);
      if (e instanceof GgufTruncated) throw interrupted(`${label}/${ref.file}`, `ended after ${mb(loaded)} of ${mb(size)}`);
      if (e instanceof GgufError) throw new HubError('invalid', e.message);
      if (e instanceof HubError) throw e;
      throw interrupted(`${label}/${ref.file}`, `broke off after ${mb(loaded)} (${(e as Error).message})`);
    }
    // Outside the download's error handling: a file that arrived whole but describes a model NextToken cannot build
    // (a tokenizer kind, an architecture) is said as what it is.
    try {
      return ggufModelFilesOf(label, read.gguf, read.store);
    } catch (e) {
      await opts.store.delete(key).catch(() => {}); // not kept: it would fail the same way from the cache
      if (e instanceof GgufError) throw new HubError('invalid', e.message);
      throw e;
    }
  };
  const size = Number(res.headers.get('content-length')) || null;
  // Kept as the file holds it, a GGUF's weights take about the file's bytes in the engine (the KV cache comes on top).
  if (size && opts.maxWeightBytes && size > opts.maxWeightBytes) {
    await res.body?.cancel().catch(() => {}); // the guard aborts the fetch; that is the point
    throw new HubError('too-large', `${label} is ${mb(size)}, more than this device allows for a model (${mb(opts.maxWeightBytes)}). Pick a smaller model, or a lower-precision file of this one if the repository has one.`);
  }
  if (streaming && res.body && size) return streamed(res.body, size);
  const bytes = await readBody(res, name, label, (loaded, total) => progress(loaded, total, false), opts.signal);
  let files: ModelFiles;
  try {
    files = ggufModelFiles(label, bytes);
  } catch (e) {
    if (e instanceof GgufError) throw new HubError('invalid', e.message);
    throw e;
  }
  await opts.store.put(key, bytes).catch((e: Error) => opts.onWarning?.(notCached(label, e)));
  return files;
}
