// Loads a model from the Hugging Face Hub (or any server with the Hub's URL layout), through a cache.
//
//   {endpoint}/{id}/resolve/{commit}/{file}
//
// The revision ("main") is first resolved to its commit (hubRevision.ts: once per page load; offline, the last
// one), and files are cached and fetched by commit: when main moves, the new commit's files are downloaded.
//
// Files: config.json, tokenizer.json, tokenizer_config.json, generation_config.json (optional), and
// model.safetensors or model.safetensors.index.json + its shards; or one GGUF file ("owner/name/file.gguf", hubGguf.ts). Each file enters the cache only once
// it has fully arrived and checked out, and a manifest is written last: a model with a manifest is
// complete and loads with no network request at all; an interrupted download resumes file by file.
// Platform-neutral: the cache (Cache Storage in the browser, a folder in Node) is passed in.
import { ConfigError, isLlamaLayout, parseConfig, SUPPORTED_MODEL_TYPES, type ModelConfig } from '../model/config.ts';
import type { ModelFiles } from './load.ts';
import { cacheKey, DEFAULT_ENDPOINT, hubLabel, type HubRef } from './hubRef.ts';
import { damagedInCache, HubError, hubRequester, interrupted, mb, notCached, readBody } from './download.ts';
import { DTYPE_BYTES, memoryWeights, parseHeader, SafetensorsError, type SafetensorsHeader, type WeightSource } from './safetensors.ts';
import { BLOCK_BYTES, QK, type WeightDType } from '../runtime/quant.ts';
import { StreamedWeights } from './streamedWeights.ts';
import { loadHubGguf } from './hubGguf.ts';
import { isCommit, resolveRevision, settleRevision } from './hubRevision.ts';

export { HubError, type HubErrorKind } from './download.ts';

export { forgetRevisionChecks } from './hubRevision.ts';
export { cacheKey, DEFAULT_ENDPOINT, endpointKey, hubFileUrl, hubLabel, parseHubRef, type HubRef } from './hubRef.ts';

/** Where downloaded files are kept. Keys look like "huggingface.co/owner/name/<commit>/config.json". */
export interface FileStore {
  /** Removes one file (a damaged one, found when it is read back). */
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
  get(key: string): Promise<Uint8Array | null>;
  /** Stores a complete file atomically: a reader never sees part of it. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Streaming variants (the browser's Cache Storage, the CLI's disk cache): a stream that errors stores nothing. */
  stream?(key: string): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null>;
  putStream?(key: string, body: ReadableStream<Uint8Array>, size: number): Promise<void>;
}

export interface HubProgress {
  file: string;
  loaded: number;
  total: number | null;
  /** All weight files together, when their sizes are known. */
  overallLoaded: number;
  overallTotal: number | null;
  fromCache: boolean;
}

export interface HubLoadOptions {
  endpoint?: string;
  store: FileStore;
  onProgress?: (p: HubProgress) => void;
  /** Refuse (before downloading weights) a model whose float32 weights would need more than this. */
  maxWeightBytes?: number;
  /** The precision the model will be built at: the size check counts each weight's real bytes (float32 unless quantized). */
  dtype?: WeightDType;
  /** Refuse a model with a single tensor larger than this (a WebGPU buffer limit). */
  maxTensorBytes?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** A download that sends nothing for this long is given up (default 60 s): a stalled connection never hangs a load. */
  stallMs?: number;
  /** Something went wrong that does not stop the load (the cache refused a file). */
  onWarning?: (message: string) => void;
  /** The model was cached at another commit and the Hub names a new one: its files were downloaded (a sentence to show). */
  onUpdated?: (message: string) => void;
  /**
   * Streaming load (with a store that streams): each tensor is handed over as float32 the moment its
   * bytes arrive, and the returned handle (e.g. a tensor already uploaded to the backend) is what the
   * model takes. Weight files are then never held whole in memory.
   */
  onTensor?: (name: string, shape: number[], data: Float32Array) => unknown;
  /** Releases a handle onTensor made, when the load that made it fails (e.g. disposes the tensor). */
  discard?: (handle: unknown) => void;
}

/** A file read back from the cache failed its checks: it is evicted and downloaded again. */
class DamagedInCache extends Error {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super(`${file} in the cache is damaged (${why})`);
  }
}

interface Manifest {
  /** The commit the files are of (absent on a server without the revision API, and in older caches). */
  commit?: string;
  files: string[];
  weightFiles: string[];
  sizes: Record<string, number>;
}

/** Written last into a model's cache folder: its presence means the model is complete there. */
export const MANIFEST = '.nexttoken-manifest.json';

/**
 * Reads a Hub model through the store, downloading only what is not cached yet. A cached file that
 * fails its checks is removed (with the manifest, so the model counts as incomplete) and fetched again.
 */
export async function loadHubFiles(ref: HubRef, opts: HubLoadOptions): Promise<ModelFiles> {
  const endpoint = opts.endpoint || DEFAULT_ENDPOINT;
  const resolved = await resolveRevision(endpoint, ref, opts);
  const { at } = resolved;
  if (ref.file) {
    const file = ref.file;
    const files = await loadHubGguf({ ...ref, file }, at, opts);
    await settleRevision(endpoint, ref, resolved, opts, (old) => opts.store.delete(cacheKey(endpoint, { ...ref, revision: old }, file)));
    return files;
  }
  let files: ModelFiles;
  try {
    files = await loadOnce(ref, at, opts);
  } catch (e) {
    if (!(e instanceof DamagedInCache)) throw e;
    await opts.store.delete(cacheKey(endpoint, { ...ref, revision: at }, e.file));
    await opts.store.delete(cacheKey(endpoint, { ...ref, revision: at }, MANIFEST));
    opts.onWarning?.(damagedInCache(hubLabel(ref), e.file, e.why));
    files = await loadOnce(ref, at, opts);
  }
  await settleRevision(endpoint, ref, resolved, opts, (old) => removeModelFiles(opts.store, (f) => cacheKey(endpoint, { ...ref, revision: old }, f)));
  return files;
}

/**
 * Removes a folder model's files at one commit: those its manifest names, or (a download that never completed)
 * every file such a model can have, shards from its cached index included. The manifest goes first, so a
 * removal cut short leaves an incomplete model, never a manifest naming missing files.
 */
async function removeModelFiles(store: FileStore, key: (file: string) => string): Promise<void> {
  let names = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors', 'model.safetensors.index.json'];
  try {
    const manifest = await store.get(key(MANIFEST));
    const index = await store.get(key('model.safetensors.index.json'));
    if (manifest) {
      const m = JSON.parse(new TextDecoder().decode(manifest)) as Manifest;
      names = [...m.files, ...m.weightFiles];
    } else if (index) {
      names.push(...Object.values((JSON.parse(new TextDecoder().decode(index)) as { weight_map?: Record<string, string> }).weight_map ?? {}));
    }
  } catch {
    // a damaged manifest or index: the usual names are removed
  }
  await store.delete(key(MANIFEST));
  for (const f of new Set(names)) await store.delete(key(f));
}

async function loadOnce(ref: HubRef, at: string, opts: HubLoadOptions): Promise<ModelFiles> {
  const endpoint = opts.endpoint || DEFAULT_ENDPOINT;
  const stallMs = opts.stallMs ?? 60_000;
  const key = (file: string) => cacheKey(endpoint, { ...ref, revision: at }, file);
  const label = hubLabel(ref);
  const decodeJson = (file: string, bytes: Uint8Array): unknown => {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new HubError('invalid', `${label}: ${file} is not valid JSON (${(e as Error).message})`);
    }
  };

  const streaming = Boolean(opts.onTensor && opts.store.stream && opts.store.putStream);
  // A manifest marks a model complete in the cache: it says which optional files the model lacks and
  // which files hold the weights, so a complete model loads with no network request at all.
  const decodeCached = (file: string, bytes: Uint8Array): unknown => {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new DamagedInCache(file, (e as Error).message);
    }
  };
  const manifestBytes = await opts.store.get(key(MANIFEST));
  const manifest = manifestBytes ? (decodeCached(MANIFEST, manifestBytes) as Manifest) : null;

  const request = hubRequester(endpoint, ref, { fetch: opts.fetch, stallMs, signal: opts.signal, at });

  const cachedOrFetch = async (file: string, optional: boolean): Promise<Uint8Array | null> => {
    const hit = await opts.store.get(key(file));
    if (hit) {
      if (file.endsWith('.json')) decodeCached(file, hit);
      return hit;
    }
    if (optional && manifest && !manifest.files.includes(file)) return null; // the model has no such file
    const res = await request(file, optional);
    if (!res) return null;
    const bytes = new Uint8Array(await readBody(res, file, label, undefined, opts.signal));
    await save(file, bytes);
    return bytes;
  };

  // A cache that refuses a file (quota, private browsing) costs a re-download next time, not this load.
  let cacheFailed = false;
  const cacheRefused = (e: Error) => {
    cacheFailed = true;
    opts.onWarning?.(notCached(label, e));
  };
  const save = async (file: string, bytes: Uint8Array) => {
    if (cacheFailed) return;
    await opts.store.put(key(file), bytes).catch(cacheRefused);
  };

  const files = new Map<string, Uint8Array>();
  const configBytes = (await cachedOrFetch('config.json', false))!;
  let config: ModelConfig;
  try {
    config = parseConfig(decodeJson('config.json', configBytes), `${label}/config.json`);
  } catch (e) {
    if (e instanceof ConfigError) {
      const type = (decodeJson('config.json', configBytes) as { model_type?: unknown }).model_type;
      if (!SUPPORTED_MODEL_TYPES.includes(type as never)) {
        throw new HubError('unsupported', `${label} is a "${String(type)}" model. NextToken runs decoder-only language models of these types: ${SUPPORTED_MODEL_TYPES.join(', ')}.`);
      }
    }
    throw e;
  }
  files.set('config.json', configBytes);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) files.set(f, (await cachedOrFetch(f, false))!);
  const gen = await cachedOrFetch('generation_config.json', true);
  if (gen) files.set('generation_config.json', gen);

  // Weights: one file, or an index naming shards.
  let weightFiles = manifest?.weightFiles ?? ['model.safetensors'];
  if (!manifest && !(await opts.store.has(key('model.safetensors')))) {
    const index = await cachedOrFetch('model.safetensors.index.json', true);
    if (index) {
      const map = (decodeJson('model.safetensors.index.json', index) as { weight_map?: Record<string, string> }).weight_map;
      if (!map || typeof map !== 'object') throw new HubError('invalid', `${label}: model.safetensors.index.json has no weight_map`);
      weightFiles = [...new Set(Object.values(map))].sort();
      files.set('model.safetensors.index.json', index);
    }
  }

  // Before downloading weights: their sizes from the safetensors headers (two small range requests
  // per file), so a model too large for this device is refused up front.
  const headers = new Map<string, { header: SafetensorsHeader; size: number }>();
  for (const f of weightFiles) {
    if (await opts.store.has(key(f))) continue;
    const h = await peekHeader(f);
    if (h) headers.set(f, h);
  }
  if (headers.size === weightFiles.length) checkSize([...headers.values()].map((h) => h.header), config, label, opts);
  const sizes: Record<string, number> = { ...manifest?.sizes };
  for (const [f, h] of headers) sizes[f] = h.size;
  const overallTotal = weightFiles.every((f) => sizes[f]) ? weightFiles.reduce((a, f) => a + sizes[f], 0) : null;

  let overall = 0;
  const streamed = streaming ? new StreamedWeights() : null;
  for (const f of weightFiles) {
    if (streamed) {
      const cached = await opts.store.stream!(key(f));
      const before = overall;
      const progress = (fromCache: boolean, size: number | null) => (n: number) => {
        overall = before + n;
        opts.onProgress?.({ file: f, loaded: n, total: size, overallLoaded: overall, overallTotal, fromCache });
      };
      if (cached) {
        try {
          if (manifest?.sizes[f] && manifest.sizes[f] !== cached.size) throw new SafetensorsError(f, `${cached.size} bytes, the manifest says ${manifest.sizes[f]}`);
          await streamed.add(`${label}/${f}`, cached.body, cached.size, opts.onTensor!, progress(true, cached.size));
        } catch (e) {
          streamed.discardAll(opts.discard);
          if (e instanceof SafetensorsError) throw new DamagedInCache(f, e.message);
          throw e;
        }
        sizes[f] = cached.size;
        continue;
      }
      // One download, two readers: the cache writes one branch, the parser uploads tensors from the other.
      const abort = new AbortController();
      opts.signal?.addEventListener('abort', () => abort.abort());
      const res = (await request(f, false, undefined, abort.signal))!;
      const size = Number(res.headers.get('content-length'));
      if (!res.body || !Number.isFinite(size) || size <= 0) throw new HubError('invalid', `${label}/${f}: the server sent no length for the file; cannot stream it`);
      const [toCache, toParse] = res.body.tee();
      const caching = cacheFailed
        ? toCache.cancel()
        : opts.store.putStream!(key(f), toCache, size).catch((e: Error) => {
            if (!abort.signal.aborted) cacheRefused(e);
          });
      try {
        await streamed.add(`${label}/${f}`, toParse, size, opts.onTensor!, progress(false, size));
      } catch (e) {
        abort.abort(); // the cache must not keep a file the parser rejected
        await caching;
        await opts.store.delete(key(f)); // a store that wrote before the error surfaced keeps nothing either
        streamed.discardAll(opts.discard);
        if (opts.signal?.aborted) throw new HubError('interrupted', `Loading ${label} was cancelled; nothing partial was kept.`);
        if (e instanceof SafetensorsError && /stream ended/.test(e.message)) {
          throw interrupted(`${label}/${f}`, `ended after ${mb(overall - before)} of ${mb(size)}`);
        }
        if (e instanceof SafetensorsError) throw new HubError('invalid', e.message);
        throw interrupted(`${label}/${f}`, `broke off after ${mb(overall - before)} (${(e as Error).message})`);
      }
      await caching;
      sizes[f] = size;
      continue;
    }
    const hit = await opts.store.get(key(f));
    if (hit) {
      try {
        parseHeader(hit, hit.length, `${label}/${f}`);
        if (manifest?.sizes[f] && manifest.sizes[f] !== hit.length) throw new SafetensorsError(f, `${hit.length} bytes, the manifest says ${manifest.sizes[f]}`);
      } catch (e) {
        throw new DamagedInCache(f, (e as Error).message);
      }
      files.set(f, hit);
      sizes[f] = hit.length;
      overall += hit.length;
      opts.onProgress?.({ file: f, loaded: hit.length, total: hit.length, overallLoaded: overall, overallTotal, fromCache: true });
      continue;
    }
    const res = (await request(f, false))!;
    const before = overall;
    const bytes = await readBody(res, f, label, (loaded, total) => {
      overall = before + loaded;
      opts.onProgress?.({ file: f, loaded, total, overallLoaded: overall, overallTotal, fromCache: false });
    }, opts.signal);
    try {
      parseHeader(bytes, bytes.length, `${label}/${f}`);
    } catch (e) {
      throw new HubError('invalid', (e as Error).message);
    }
    await save(f, bytes);
    files.set(f, bytes);
    sizes[f] = bytes.length;
  }
  // Last, and only if every file made it: the mark of a complete cached model.
  if (!manifest) {
    const written: Manifest = { ...(isCommit(at) ? { commit: at } : {}), files: [...files.keys()].filter((f) => !weightFiles.includes(f)), weightFiles, sizes };
    await save(MANIFEST, new TextEncoder().encode(JSON.stringify(written)));
  }
  const weightBytes = weightFiles.reduce((s, f) => s + sizes[f], 0);
  if (streamed) return assemble(label, files, decodeJson, streamed, weightBytes);
  return assemble(label, files, decodeJson, memoryWeights(weightFiles.map((f) => ({ name: `${label}/${f}`, bytes: files.get(f)! }))), weightBytes);

  async function peekHeader(file: string): Promise<{ header: SafetensorsHeader; size: number } | null> {
    const first = await request(file, false, { Range: 'bytes=0-7' });
    if (!first || first.status !== 206) {
      await first?.body?.cancel();
      return null; // the server ignores ranges: sizes are checked after the download instead
    }
    const eight = new Uint8Array(await first.arrayBuffer());
    const size = Number(/\/(\d+)$/.exec(first.headers.get('content-range') ?? '')?.[1] ?? NaN);
    if (eight.length !== 8 || !Number.isFinite(size)) return null;
    const n = Number(new DataView(eight.buffer).getBigUint64(0, true));
    if (n <= 0 || n > 100_000_000 || 8 + n > size) throw new HubError('invalid', `${label}/${file}: not a safetensors file (header length ${n})`);
    const rest = await request(file, false, { Range: `bytes=8-${8 + n - 1}` });
    if (!rest || rest.status !== 206) return null;
    const head = new Uint8Array(8 + n);
    head.set(eight);
    head.set(new Uint8Array(await rest.arrayBuffer()), 8);
    try {
      return { header: parseHeader(head, size, `${label}/${file}`), size };
    } catch (e) {
      throw new HubError('invalid', (e as Error).message);
    }
  }
}

/** Refuses a model that will not fit, with the numbers. */
function checkSize(headers: SafetensorsHeader[], config: ModelConfig, label: string, opts: HubLoadOptions): void {
  const quant = opts.dtype && opts.dtype !== 'f32' ? opts.dtype : null;
  let weightBytes = 0;
  let fileBytes = 0;
  let largest = 0;
  for (const h of headers) {
    for (const t of h.tensors.values()) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      // Quantized on load, a matrix whose rows are whole blocks takes its blocks' bytes; the rest stays float32.
      const bytes = quant && t.shape.length === 2 && t.shape[1] % QK === 0 ? (n / QK) * BLOCK_BYTES[quant] : n * 4;
      weightBytes += bytes;
      fileBytes += n * DTYPE_BYTES[t.dtype];
      largest = Math.max(largest, bytes);
    }
  }
  const kvHeads = isLlamaLayout(config) ? config.nKvHead : config.nHead;
  const headDim = isLlamaLayout(config) ? config.headDim : config.nEmbd / config.nHead;
  const kvCache = 2 * config.nLayer * kvHeads * config.contextLength * headDim * 4;
  // Quantized on load, the downloaded file is held while its matrices are quantized (see loadSource.ts).
  const need = weightBytes + kvCache + (quant ? fileBytes : 0);
  if (opts.maxWeightBytes && need > opts.maxWeightBytes) {
    const as = quant ? `as ${quant.toUpperCase()} weights, KV cache and the downloaded file while it is quantized` : 'as float32 weights and KV cache';
    throw new HubError('too-large', `${label} needs about ${mb(need)} of memory ${as}, more than this device allows (${mb(opts.maxWeightBytes)}). Pick a smaller model${quant === 'q4_0' ? '' : ' or a lower precision'}.`);
  }
  if (opts.maxTensorBytes && largest > opts.maxTensorBytes) {
    throw new HubError('too-large', `${label} has a ${mb(largest)} tensor, larger than this GPU's largest buffer (${mb(opts.maxTensorBytes)}). Switch the backend to WASM or pick a smaller model.`);
  }
}

function assemble(label: string, files: Map<string, Uint8Array>, decodeJson: (f: string, b: Uint8Array) => unknown, weights: WeightSource, weightBytes: number): ModelFiles {
  const json = (f: string) => decodeJson(f, files.get(f)!);
  return {
    name: label,
    config: json('config.json'),
    tokenizer: json('tokenizer.json'),
    tokenizerConfig: json('tokenizer_config.json') as Record<string, unknown>,
    generationConfig: files.has('generation_config.json') ? (json('generation_config.json') as Record<string, unknown>) : undefined,
    weights,
    weightBytes,
  };
}
