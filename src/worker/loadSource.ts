// Turns a model source (the embedded folder over HTTP, or a Hub repository through Cache Storage) into
// a runnable model on the current backend. A load that fails frees every tensor it uploaded.
import * as tf from '@tensorflow/tfjs';
import { uploadNow } from '../engine/runtime/backend.ts';
import type { WeightDType } from '../engine/runtime/quant.ts';
import { webgpuDevice } from '../engine/runtime/tfjsInternals.ts';
import { fetchModelFiles } from '../engine/load/fetchModel.ts';
import { isGgufUrl, modelFolder } from '../engine/load/modelUrl.ts';
import { loadHubFiles, type HubProgress } from '../engine/load/hub.ts';
import { buildModel, type LoadedModel, type ModelFiles } from '../engine/load/load.ts';
import type { Fact } from '../engine/tools/evaluate.ts';
import { GENERAL_FACTS } from '../engine/tools/generalFacts.ts';
import { questionsFromFacts, type LensQuestion } from '../engine/tools/lens.ts';
import { parseCheckpointIndex, type CheckpointIndex } from '../engine/tools/checkpoints.ts';
import { cacheStorageStore } from './cacheStore.ts';
import type { ModelSource } from './protocol.ts';

export interface LoadCallbacks {
  signal?: AbortSignal;
  /** The weight matrices' precision (float32 unless quantized on load). */
  dtype?: WeightDType;
  onProgress?: (p: HubProgress) => void;
  onWarning?: (message: string) => void;
  /** A cached Hub model whose revision now names a new commit was downloaded again (a sentence to show). */
  onUpdated?: (message: string) => void;
}

export interface LoadedSource {
  lm: LoadedModel;
  questions: LensQuestion[];
  /** Openings to continue in the guessing game, where the model's folder gives some (a story model: no facts). */
  openings: string[];
  /** The embedded model's training snapshots: where they are and what they are. */
  snapshots: { baseUrl: string; index: CheckpointIndex } | null;
}

export async function loadSource(source: ModelSource, backend: string, cb: LoadCallbacks): Promise<LoadedSource> {
  const uploaded: tf.Tensor[] = [];
  let lm: LoadedModel;
  try {
    const files = await fetchFiles(source, backend, uploaded, cb);
    lm = buildModel(files, { dtype: cb.dtype });
    for (const t of files.weights.leftovers?.() ?? []) (t as tf.Tensor).dispose(); // e.g. GPT-2's attn.bias masks
  } catch (e) {
    for (const t of uploaded) if (!t.isDisposed) t.dispose();
    throw e;
  }
  // The shipped models bring their own facts (seen and held out; none for the story model, which has openings
  // instead); other models get general facts. A GGUF file's facts.json sits beside it.
  const folder = source.kind === 'url' ? modelFolder(source.url) : null;
  const base = source.kind === 'url' && !isGgufUrl(source.url) ? folder : null;
  // Both small files at once: they sit on the load's critical path.
  const [facts, index] = folder ? await Promise.all([fetchJsonOptional(folder + 'facts.json'), base ? fetchJsonOptional(base + 'checkpoints.json') : null]) : [null, null];
  // Only a facts.json of NextToken's own shape counts (a server may answer anything for it beside a GGUF file).
  const given = facts && Array.isArray((facts as { facts?: unknown }).facts) ? (facts as { facts: Fact[]; openings?: string[] }) : null;
  return {
    lm,
    questions: given ? questionsFromFacts(given.facts) : GENERAL_FACTS,
    openings: given?.openings ?? [],
    snapshots: base && index ? { baseUrl: base, index: parseCheckpointIndex(index, base + 'checkpoints.json') } : null,
  };
}

async function fetchJsonOptional(url: string): Promise<unknown> {
  try {
    const res = await fetch(url);
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

function fetchFiles(source: ModelSource, backend: string, uploaded: tf.Tensor[], cb: LoadCallbacks): Promise<ModelFiles> {
  if (source.kind === 'url') {
    return fetchModelFiles(source.url, (p) => cb.onProgress?.({ ...p, overallLoaded: p.loaded, overallTotal: p.total, fromCache: false }), cb.signal);
  }
  // What this device can hold: WASM memory ends at 4 GiB; a WebGPU tensor must fit one buffer.
  const gib = 2 ** 30;
  const deviceMemory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  const maxWeightBytes = Math.min(backend === 'wasm' ? 3.5 * gib : Infinity, deviceMemory ? (deviceMemory * gib) / 2 : Infinity);
  const limits = backend === 'webgpu' ? webgpuDevice()?.limits : undefined;
  return loadHubFiles(
    { id: source.id, revision: source.revision, ...(source.file ? { file: source.file } : {}) },
    {
      endpoint: source.endpoint,
      store: cacheStorageStore(),
      signal: cb.signal,
      maxWeightBytes: Number.isFinite(maxWeightBytes) ? maxWeightBytes : undefined,
      maxTensorBytes: limits ? Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) : undefined,
      dtype: cb.dtype,
      onProgress: cb.onProgress,
      onWarning: cb.onWarning,
      onUpdated: cb.onUpdated,
      // At float32 each tensor goes to the backend the moment it has arrived; the file is never held whole.
      // Quantized on load, the file is kept as downloaded (BF16 or F16: half of float32) and each matrix quantized
      // from it: uploading float32 first would grow the WASM heap to the float32 size, and it never shrinks.
      ...(cb.dtype === undefined || cb.dtype === 'f32'
        ? {
            onTensor: (_name: string, shape: number[], data: Float32Array) => {
              const t = uploadNow(tf.tensor(data, shape));
              uploaded.push(t);
              return t;
            },
          }
        : {}),
      discard: (handle) => (handle as tf.Tensor).dispose(),
    },
  );
}
