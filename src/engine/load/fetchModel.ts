// Reads a Hugging Face model folder over HTTP (the app's bundled models; the Hub loader builds on it).
import type { ModelFiles } from './load.ts';
import { memoryWeights } from './safetensors.ts';
import { ggufModelFiles, ggufModelFilesOf } from './ggufModel.ts';
import { GgufError } from './gguf.ts';
import { GgufTruncated, readGgufStream } from './ggufStream.ts';
import { isGgufUrl } from './modelUrl.ts';

export { isGgufUrl } from './modelUrl.ts';

export interface LoadProgress {
  file: string;
  loaded: number;
  total: number | null;
}

async function fetchOk(url: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    if (signal?.aborted) throw new Error(`The download of ${url} was cancelled.`);
    throw new Error(`Could not fetch ${url}: ${(e as Error).message}. Check the connection or the model address.`);
  }
  if (!res.ok) throw new Error(`Could not fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  return res;
}

async function fetchJson(url: string, signal?: AbortSignal): Promise<unknown> {
  const res = await fetchOk(url, signal);
  try {
    return await res.json();
  } catch (e) {
    throw new Error(`${url} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Downloads a file, reporting bytes as they arrive. */
export async function fetchBytes(url: string, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<Uint8Array> {
  return readResponse(await fetchOk(url, signal), url, onProgress, signal);
}

/** A response's body, reporting bytes as they arrive. */
async function readResponse(res: Response, url: string, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<Uint8Array> {
  const total = Number(res.headers.get('content-length')) || null;
  const file = url.split('/').pop() ?? url;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  // With a known length, bytes go straight into one buffer: a large model is not held twice (a list of chunks and
  // their copy) at the end of its download. Grown by doubling when the length is unknown.
  let out = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      throw new Error(`The download of ${url} broke off after ${loaded} bytes (${signal?.aborted ? 'cancelled' : (e as Error).message}); nothing partial was kept.`);
    }
    const { done, value } = r;
    if (done) break;
    if (loaded + value.length > out.length) {
      const grown = new Uint8Array(Math.max(2 * out.length, loaded + value.length));
      grown.set(out.subarray(0, loaded));
      out = grown;
    }
    out.set(value, loaded);
    loaded += value.length;
    onProgress?.({ file, loaded, total });
  }
  if (total !== null && loaded !== total) throw new Error(`The download of ${url} ended after ${loaded} of ${total} bytes; nothing partial was kept. Load the model again.`);
  return loaded === out.length ? out : out.slice(0, loaded);
}

export async function fetchModelFiles(baseUrl: string, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<ModelFiles> {
  if (isGgufUrl(baseUrl)) {
    const name = new URL(baseUrl, 'file:///').pathname.split('/').pop() ?? baseUrl;
    const res = await fetchOk(baseUrl, signal);
    const total = Number(res.headers.get('content-length')) || null;
    // Read as it arrives, never held whole (ggufStream.ts); without a length, into memory.
    if (!res.body || !total) return ggufModelFiles(name, await readResponse(res, baseUrl, onProgress, signal));
    let read: Awaited<ReturnType<typeof readGgufStream>>;
    try {
      read = await readGgufStream(res.body, total, name, (loaded) => onProgress?.({ file: name, loaded, total }), signal);
    } catch (e) {
      if (e instanceof GgufTruncated) throw new Error(`The download of ${baseUrl} ended before the file did (${e.message}); nothing partial was kept. Load the model again.`);
      if (e instanceof GgufError) throw e;
      throw new Error(`The download of ${baseUrl} broke off (${signal?.aborted ? 'cancelled' : (e as Error).message}); nothing partial was kept.`);
    }
    return ggufModelFilesOf(name, read.gguf, read.store);
  }
  const base = baseUrl.replace(/\/?$/, '/');
  const [config, tokenizer, tokenizerConfig, generationConfig] = await Promise.all([
    fetchJson(base + 'config.json', signal),
    fetchJson(base + 'tokenizer.json', signal),
    fetchJson(base + 'tokenizer_config.json', signal),
    fetchJson(base + 'generation_config.json', signal).catch(() => undefined),
  ]);
  const bytes = await fetchBytes(base + 'model.safetensors', onProgress, signal);
  return {
    name: base.replace(/\/$/, '').split('/').pop() ?? base,
    config,
    tokenizer,
    tokenizerConfig: tokenizerConfig as Record<string, unknown>,
    generationConfig: generationConfig as Record<string, unknown> | undefined,
    weights: memoryWeights([{ name: 'model.safetensors', bytes }]),
    weightBytes: bytes.length,
  };
}
