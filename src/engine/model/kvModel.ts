// What GPT-2 and Llama share around their forward passes: the KV cache and its positions, the weights
// they free together, and the last step from the residual stream to logits (final norm, LM head).
import * as tf from '@tensorflow/tfjs';
import type { KVCache } from './attention.ts';
import type { ModelConfig } from './config.ts';
import { ContextFullError, type LanguageModel, type Trace } from './model.ts';

export abstract class KVModel implements LanguageModel {
  abstract readonly config: ModelConfig;
  abstract readonly params: number;

  constructor(
    readonly cache: KVCache,
    private readonly weights: tf.Tensor[],
  ) {}

  get contextLength(): number {
    return this.config.contextLength;
  }
  get cachedIds(): readonly number[] {
    return this.cache.ids;
  }

  abstract forward(ids: number[], lastOnly?: boolean, trace?: Trace): tf.Tensor2D;
  /** The final norm of this architecture (LayerNorm for GPT-2, RMSNorm for Llama). */
  protected abstract finalNorm(x: tf.Tensor2D): tf.Tensor2D;
  /** The LM head, [D, V]. */
  protected abstract get head(): tf.Tensor2D;

  /**
   * Runs `body` for `ids` at positions pos.. (the cache's length) inside one tidy, then records the ids
   * as cached. `body` returns the residual stream [T, D]; the logits of its last row (or every row) come back.
   */
  protected run(ids: number[], lastOnly: boolean, body: (pos: number, T: number) => tf.Tensor2D): tf.Tensor2D {
    const T = ids.length;
    const pos = this.cache.ids.length;
    if (T === 0) throw new Error('forward needs at least one token');
    if (pos + T > this.contextLength) throw new ContextFullError(pos + T, this.contextLength);
    this.cache.reserve(pos + T);
    const logits = tf.tidy(() => {
      const x = body(pos, T);
      const last = lastOnly && T > 1 ? tf.slice(x, [T - 1, 0], [1, x.shape[1]]) : x;
      return this.unembed(last);
    });
    this.cache.ids.push(...ids);
    return logits;
  }

  /** Final norm and LM head on any residual-stream rows [T, D] → logits [T, V] (the logit lens uses it too). */
  unembed(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.matMul(this.finalNorm(x), this.head));
  }

  /** Forgets positions >= n (they are masked and overwritten later): branching from step n is free. */
  truncate(n: number): void {
    this.cache.truncate(n);
  }

  dispose(): void {
    this.cache.dispose();
    for (const t of this.weights) t.dispose();
  }
}
