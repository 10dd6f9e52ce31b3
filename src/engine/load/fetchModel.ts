// Reads a Hugging Face model folder over HTTP (the app's bundled models; the Hub loader builds on it).
import type { ModelFiles } from './load.ts';
import { memoryWeights } from './safetensors.ts';

export interface LoadProgress {
  file: string;
  loaded: number;
  total: number | null;
}

async function fetchOk(url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`Could not fetch ${url}: ${(e as Error).message}. Check the connection or the model address.`);
  }
  if (!res.ok) throw new Error(`Could not fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  return res;
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetchOk(url);
  try {
    return await res.json();
  } catch (e) {
    throw new Error(`${url} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Downloads a file, reporting bytes as they arrive. */
export async function fetchBytes(url: string, onProgress?: (p: LoadProgress) => void): Promise<Uint8Array> {
  const res = await fetchOk(url);
  const total = Number(res.headers.get('content-length')) || null;
  const file = url.split('/').pop() ?? url;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.({ file, loaded, total });
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export async function fetchModelFiles(baseUrl: string, onProgress?: (p: LoadProgress) => void): Promise<ModelFiles> {
  const base = baseUrl.replace(/\/?$/, '/');
  const [config, tokenizer, tokenizerConfig, generationConfig] = await Promise.all([
    fetchJson(base + 'config.json'),
    fetchJson(base + 'tokenizer.json'),
    fetchJson(base + 'tokenizer_config.json'),
    fetchJson(base + 'generation_config.json').catch(() => undefined),
  ]);
  const bytes = await fetchBytes(base + 'model.safetensors', onProgress);
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
