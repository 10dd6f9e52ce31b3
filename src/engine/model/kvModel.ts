// What GPT-2 and Llama share around their forward passes: the KV cache and its positions, the weights
// they free together, and the last step from the residual stream to logits (final norm, LM head).
import * as tf from '@tensorflow/tfjs';
import { causalAttention, type KVCache } from '../runtime/attention.ts';
import { denseWasm, withCompositeKernels } from '../runtime/fused.ts';
import { QuantArena, QuantMatrix, type WeightDType } from '../runtime/quant.ts';
import { quantDense } from '../runtime/quantDense.ts';
import { placeOnGpu } from '../runtime/quantWebGPU.ts';
import type { Matrix } from './weights.ts';
import type { ModelConfig } from './config.ts';
import { ContextFullError, type LanguageModel, type Trace } from './model.ts';

export abstract class KVModel implements LanguageModel {
  abstract readonly config: ModelConfig;
  abstract readonly params: number;

  constructor(
    readonly cache: KVCache,
    private readonly weights: tf.Tensor[],
    /** The LM head, [D, V] (or quantized, [V, D]). */
    private readonly head: Matrix,
    /** The final norm of this architecture (LayerNorm for GPT-2, RMSNorm for Llama). */
    private readonly finalNorm: (x: tf.Tensor2D) => tf.Tensor2D,
    /** The precision of the weight matrices. */
    readonly dtype: WeightDType = 'f32',
    /** The quantized matrices' memory (null at float32). */
    private readonly arena: QuantArena | null = null,
  ) {
    // Built on WebGPU: the blocks go to the GPU now and are held there only (not also in the arena's memory).
    if (arena && tf.getBackend() === 'webgpu') placeOnGpu(arena);
  }

  /** Bytes of weights held outside TF.js's tensors (the quantized matrices in the arena's memory; 0 once on the GPU only); engine memory = tensors + these. */
  get quantizedBytes(): number {
    return this.arena?.heldBytes ?? 0;
  }

  get engineWeightBytes(): number {
    return this.weights.reduce((n, t) => n + t.size * 4, 0) + (this.arena?.weightBytes ?? 0);
  }

  get contextLength(): number {
    return this.config.contextLength;
  }
  get cachedIds(): readonly number[] {
    return this.cache.ids;
  }

  abstract forward(ids: number[], lastOnly?: boolean, trace?: Trace): tf.Tensor2D;

  /** The token embeddings of `ids`, [T, D]: what attribution differentiates in. */
  abstract tokenEmbeddings(ids: number[]): tf.Tensor2D;

  /** The residual stream [T, D] after the last block for tokens given as embeddings, without the KV cache. */
  protected abstract residualOfEmbeddings(tokEmb: tf.Tensor2D): tf.Tensor2D;

  /**
   * log p(target | the tokens whose embeddings are tokEmb [T, D]): the same function as forward(), on the
   * composite ops and without the KV cache, so that TF.js's autodiff can differentiate it in tokEmb.
   */
  logProbOfEmbeddings(tokEmb: tf.Tensor2D, target: number): tf.Scalar {
    return withCompositeKernels(() => {
      const x = this.residualOfEmbeddings(tokEmb);
      const T = x.shape[0];
      const logits = this.unembed(tf.slice(x, [T - 1, 0], [1, x.shape[1]]));
      return tf.squeeze(tf.slice(tf.logSoftmax(logits), [0, target], [1, 1])) as tf.Scalar;
    });
  }

  /**
   * Runs `body` for `ids` at positions pos.. (the cache's length) inside one tidy, then records the ids
   * as cached. `body` returns the residual stream [T, D]; the logits of its last row (or every row) come back
   * (or, with `bodyGivesLogits`, `body` has computed them itself).
   */
  protected run(ids: number[], lastOnly: boolean, body: (pos: number, T: number) => tf.Tensor2D, bodyGivesLogits = false): tf.Tensor2D {
    const T = ids.length;
    const pos = this.cache.ids.length;
    if (T === 0) throw new Error('forward needs at least one token');
    if (pos + T > this.contextLength) throw new ContextFullError(pos + T, this.contextLength);
    this.cache.reserve(pos + T);
    const logits = tf.tidy(() => {
      const x = body(pos, T);
      if (bodyGivesLogits) return x;
      const last = lastOnly && T > 1 ? tf.slice(x, [T - 1, 0], [1, x.shape[1]]) : x;
      return this.unembed(last);
    });
    this.cache.ids.push(...ids);
    return logits;
  }

  /** Writes this layer's keys and values at `pos`, then attends over the cache; records the weights if traced. */
  protected attend(layer: number, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, pos: number, mask: tf.Tensor2D, trace?: Trace): tf.Tensor2D {
    this.cache.write(layer, k, v, pos);
    const att = causalAttention(q, this.cache.k[layer], this.cache.v[layer], mask, !!trace?.attention);
    if (trace?.attention && att.weights) trace.attention.push(tf.keep(att.weights));
    return att.out;
  }

  /** The residual stream after a block, kept for the logit lens when traced. */
  protected traced(x: tf.Tensor2D, trace?: Trace): tf.Tensor2D {
    if (trace?.residual) trace.residual.push(tf.keep(x));
    return x;
  }

  /** Final norm and LM head on any residual-stream rows [T, D] → logits [T, V] (the logit lens uses it too). */
  unembed(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => dense(this.finalNorm(x), { w: this.head }));
  }

  /** Forgets positions >= n (they are masked and overwritten later): branching from step n is free. */
  truncate(n: number): void {
    this.cache.truncate(n);
  }

  dispose(): void {
    this.cache.dispose();
    for (const t of this.weights) t.dispose();
    this.arena?.dispose();
  }
}

/** A projection: weight (float32 [in, out], or quantized) and an optional bias. */
export interface Linear {
  w: Matrix;
  b?: tf.Tensor1D;
}

/** x·W (+ b), the bias added inside the matMul kernel (one dispatch, not two). */
export function dense(x: tf.Tensor2D, p: Linear): tf.Tensor2D {
  if (p.w instanceof QuantMatrix) return quantDense(x, p.w, p.b);
  return denseWasm(x, p.w, p.b) ?? (tf.fused.matMul({ a: x, b: p.w, bias: p.b }) as tf.Tensor2D);
}
