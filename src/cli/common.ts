// What the CLIs share: the default model, loading a local folder or a Hub id, and backend start-up.
import { existsSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { selectBackend, type BackendName, type BackendStatus } from '../engine/runtime/backend.ts';
import { DEFAULT_ENDPOINT, loadHubFiles, parseHubRef, type HubProgress } from '../engine/load/hub.ts';
import { buildModel, type LoadedModel } from '../engine/load/load.ts';
import { WEIGHT_DTYPES, type WeightDType } from '../engine/runtime/quant.ts';
import { defaultCacheDir, diskStore } from '../node/diskStore.ts';
import { loadModelDir, loadSnapshot, readGgufFile } from '../node/loadDir.ts';
import { UsageError } from './args.ts';

export const DEFAULT_MODEL = join(import.meta.dirname, '..', '..', 'models', 'nexttoken-3m');

/** Flags every CLI that loads a model accepts. */
export const MODEL_FLAGS = { model: 'string', 'cache-dir': 'string', backend: 'string', checkpoint: 'int', dtype: 'string' } as const;

/** The engine options of MODEL_FLAGS as parsed (progress lines to stderr). */
export function engineOptions(a: Record<string, unknown>): EngineOptions {
  const dtype = a.dtype as string | undefined;
  if (dtype !== undefined && !WEIGHT_DTYPES.includes(dtype as WeightDType)) {
    throw new UsageError(`--dtype must be ${WEIGHT_DTYPES.join(', ')} (float32 weights, or quantized on load to llama.cpp's 8-bit or 4-bit blocks), got "${dtype}".`);
  }
  return {
    model: a.model as string | undefined,
    cacheDir: a['cache-dir'] as string | undefined,
    backend: a.backend as string | undefined,
    checkpoint: a.checkpoint as number | undefined,
    dtype: dtype as WeightDType | undefined,
    onProgress: (line) => process.stderr.write(line + '\n'),
  };
}

export interface EngineOptions {
  model?: string; // a folder, or a Hub id "owner/name[@revision]"
  cacheDir?: string;
  backend?: string;
  /** A training snapshot of a local model (its step in checkpoints.json) instead of the final weights. */
  checkpoint?: number;
  /** The weight matrices' precision: float32 (default) or quantized on load (q8_0, q4_0). */
  dtype?: WeightDType;
  /** Download progress, one line at a time (the CLIs print it to stderr). */
  onProgress?: (line: string) => void;
}

export async function startEngine(opts: EngineOptions): Promise<{ lm: LoadedModel; status: BackendStatus }> {
  const { backend } = opts;
  if (backend && !['wasm', 'cpu'].includes(backend)) throw new UsageError(`--backend must be wasm or cpu in Node, got "${backend}"`);
  const status = await selectBackend({ order: backend ? [backend as BackendName] : undefined });
  return { lm: await loadModel(opts), status };
}

export async function loadModel(opts: EngineOptions): Promise<LoadedModel> {
  const model = opts.model;
  const local = (dir: string) => {
    const lm = loadModelDir(dir, { dtype: opts.dtype });
    return opts.checkpoint === undefined ? lm : loadSnapshot(lm, dir, opts.checkpoint);
  };
  if (!model) {
    if (!existsSync(DEFAULT_MODEL)) throw new Error(`The embedded model is missing at ${DEFAULT_MODEL}; pass --model <dir or Hub id> or run "npm run train".`);
    return local(DEFAULT_MODEL);
  }
  if (existsSync(model) && statSync(model).isDirectory()) return local(model);
  const hubGguf = parseHubRef(model)?.file && !existsSync(model) && !/^[.~/\\]/.test(model);
  if (/\.gguf$/i.test(model) && !hubGguf) {
    if (!existsSync(model)) throw new UsageError(`GGUF file "${model}" does not exist.`);
    if (opts.checkpoint !== undefined) throw new UsageError('--checkpoint needs a model folder with training snapshots; a GGUF file has none.');
    return buildModel(readGgufFile(model), { dtype: opts.dtype });
  }
  if (opts.checkpoint !== undefined) throw new UsageError(`--checkpoint needs a model folder with training snapshots (checkpoints.json), such as the embedded model; "${model}" is not one.`);
  if (!hubGguf && (/^[.~/\\]/.test(model) || model.split('/').length > 2)) {
    throw new UsageError(`Model folder "${model}" does not exist. Pass a folder in Hugging Face layout, or a Hub id (owner/name).`);
  }
  const ref = parseHubRef(model);
  if (!ref) {
    throw new UsageError(`--model "${model}" is neither a model folder nor a Hugging Face Hub id (owner/name, e.g. openai-community/gpt2).`);
  }
  const endpoint = process.env.HF_ENDPOINT || DEFAULT_ENDPOINT;
  const store = diskStore(opts.cacheDir ?? defaultCacheDir());
  let lastLine = 0;
  const files = await loadHubFiles(ref, {
    endpoint,
    store,
    // WASM memory ends at 4 GiB; keep room for activations and the JS side.
    maxWeightBytes: Math.min(totalmem() / 2, 3.5 * 2 ** 30),
    dtype: opts.dtype,
    // Not a progress line: said even when progress is not shown, as the page shows it as a notice.
    onUpdated: (message) => process.stderr.write(message + '\n'),
    onProgress: (p: HubProgress) => {
      const now = Date.now();
      const done = p.total !== null && p.loaded === p.total;
      if (!opts.onProgress || (!done && now - lastLine < 500)) return;
      lastLine = now;
      const of = p.overallTotal ? ` of ${(p.overallTotal / 1e6).toFixed(1)} MB` : '';
      opts.onProgress(`${p.fromCache ? 'cached' : 'downloading'} ${p.file}: ${(p.overallLoaded / 1e6).toFixed(1)} MB${of}`);
    },
  });
  return buildModel(files, { dtype: opts.dtype });
}
