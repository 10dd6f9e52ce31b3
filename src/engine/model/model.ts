// What every architecture offers the generation loop, the CLI and the UI.
import type * as tf from '@tensorflow/tfjs';
import { readData } from '../runtime/backend.ts';
import type { KVCache } from '../runtime/attention.ts';
import type { ModelConfig } from './config.ts';
import type { WeightDType } from '../runtime/quant.ts';

/** What the forward pass can hand back besides logits, for the "inside the model" views. */
export interface Trace {
  attention?: tf.Tensor3D[]; // per layer [H, T, cache capacity] (positions past T are masked: weight 0)
  residual?: tf.Tensor2D[]; // per layer, the residual stream after the block [T, D]
  wantEmbeddings?: boolean;
  embeddings?: { token: tf.Tensor2D; position: tf.Tensor2D | null };
}

export interface LanguageModel {
  readonly config: ModelConfig;
  readonly contextLength: number;
  readonly params: number;
  /** The precision of the weight matrices (float32, or quantized on load). */
  readonly dtype: WeightDType;
  /** Bytes of weights held outside TF.js's tensors (quantized matrices): engine memory is tf.memory() plus these. */
  readonly quantizedBytes: number;
  /** Bytes the weights take in the engine (float32 tensors and quantized blocks; not the KV cache). */
  readonly engineWeightBytes: number;
  /** The token ids whose keys and values are in the KV cache, in order. */
  readonly cachedIds: readonly number[];
  /**
   * Runs `ids` at positions cacheLength.. and appends them to the KV cache.
   * Returns logits [T, vocab] (or [1, vocab] for the last position only). The caller disposes it.
   */
  forward(ids: number[], lastOnly?: boolean, trace?: Trace): tf.Tensor2D;
  /** Final norm and LM head on residual-stream rows [T, D] → logits [T, vocab] (the logit lens). */
  unembed(x: tf.Tensor2D): tf.Tensor2D;
  /** The KV cache itself: tools snapshot and restore it so a paused generation finds it unchanged. */
  readonly cache: KVCache;
  /** Forgets positions >= n (they are masked and overwritten later): branching from step n is free. */
  truncate(n: number): void;
  dispose(): void;
}

export class ContextFullError extends Error {
  constructor(
    readonly needed: number,
    readonly contextLength: number,
  ) {
    super(
      `The text needs ${needed} tokens but this model reads at most ${contextLength}. Shorten the prompt or conversation (or lower Max tokens); nothing was cut silently.`,
    );
    this.name = 'ContextFullError';
  }
}

export class WeightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightError';
  }
}

/** Checks that a tensor exists with the expected shape, naming the tensor and the file if not. */
export function expectShape(name: string, actual: number[] | undefined, expected: number[], file: string): void {
  if (!actual) throw new WeightError(`${file}: tensor "${name}" is missing (expected shape [${expected}])`);
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new WeightError(`${file}: tensor "${name}" has shape [${actual}], expected [${expected}] from config.json`);
  }
}

/** Reads logits back: the last row as a Float32Array, disposing the tensor. */
export async function lastLogits(logits: tf.Tensor2D): Promise<Float32Array> {
  const [t, v] = logits.shape;
  let data: Float32Array;
  try {
    data = await readData(logits);
  } finally {
    logits.dispose();
  }
  return t === 1 ? data : data.slice((t - 1) * v);
}

/**
 * Runs a tool (the inside view, the lens, perplexity) on the model and hands the KV cache back exactly
 * as it was, so a paused or step-by-step generation continues at the right position. A snapshot copies
 * only the filled positions and writes them back bit for bit (cheaper than running them again: see
 * docs/speed.md).
 */
export async function withCacheKept<T>(model: LanguageModel, fn: () => Promise<T>): Promise<T> {
  const saved = model.cache.snapshot();
  let ok = false;
  try {
    const out = await fn();
    ok = true;
    return out;
  } finally {
    try {
      model.cache.restore(saved);
    } catch (e) {
      if (ok) throw e; // a lost device fails the restore too; the tool's own error says more
    }
  }
}
