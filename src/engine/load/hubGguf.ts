// One GGUF file of a Hub repository ("owner/name/file.gguf"): the Hub's GGUF repos hold one file per
// precision, and the file carries the config and the tokenizer itself. Downloaded with progress into the same
// cache as safetensors models, keyed by commit too (a file enters it only once it has fully arrived, so its presence means complete),
// refused up front when the server's length says it cannot fit, and read again from the network once if the
// cached copy no longer parses.
import { damagedInCache, HubError, hubRequester, mb, notCached, readBody } from './download.ts';
import { GgufError } from './gguf.ts';
import { ggufModelFiles } from './ggufModel.ts';
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

  const cached = await opts.store.get(key);
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
  const request = hubRequester(endpoint, ref, { fetch: opts.fetch, stallMs: opts.stallMs ?? 60_000, signal: opts.signal, at });
  const res = (await request(ref.file, false))!;
  const size = Number(res.headers.get('content-length')) || null;
  // Kept as the file holds it, a GGUF's weights take about the file's bytes in the engine (the KV cache comes on top).
  if (size && opts.maxWeightBytes && size > opts.maxWeightBytes) {
    await res.body?.cancel().catch(() => {}); // the guard aborts the fetch; that is the point
    throw new HubError('too-large', `${label} is ${mb(size)}, more than this device allows for a model (${mb(opts.maxWeightBytes)}). Pick a smaller model, or a lower-precision file of this one if the repository has one.`);
  }
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
