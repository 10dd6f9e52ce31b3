// The Llama family (SmolLM2, TinyLlama, …) and its relatives Qwen2 and Qwen3, in TensorFlow.js, reading the
// Hugging Face layout unchanged.
//
//   x = embed_tokens[ids]
//   for each layer:  x = x + o_proj(attn(rope(q), rope(k), v))   on input_layernorm(x)
//                    x = x + down_proj(silu(gate_proj(h)) ⊙ up_proj(h))   on h = post_attention_layernorm(x)
//   logits = norm(x) · lm_headᵀ      (lm_head is embed_tokens when tie_word_embeddings)
//
// Qwen2 adds biases to q/k/v (not o); Qwen3 RMS-normalises each head's q and k before the rotation and
// states head_dim (which need not be hidden / heads).
// Differences from GPT-2: RMSNorm instead of LayerNorm, rotary position embeddings instead of a
// learned position table, grouped-query attention, a gated (SwiGLU) MLP, and nn.Linear weights
// stored [out, in] (transposed once here so that every projection is x·W).
// The KV cache and the attention itself are shared with GPT-2 (attention.ts).
import * as tf from '@tensorflow/tfjs';
import { KVCache, causalAttention, causalMask } from '../runtime/attention.ts';
import type { LlamaConfig } from './config.ts';
import { dense, KVModel, type Linear } from './kvModel.ts';
import type { Trace } from './model.ts';
import { QuantMatrix, type QuantArena, type WeightDType } from '../runtime/quant.ts';
import { quantRows } from '../runtime/quantDense.ts';
import { loadWeights, type Matrix } from './weights.ts';
import type { WeightSource } from './weights.ts';

interface Layer {
  input_layernorm: tf.Tensor1D;
  self_attn: { q_proj: Linear; k_proj: Linear; v_proj: Linear; o_proj: Linear; q_norm?: tf.Tensor1D; k_norm?: tf.Tensor1D };
  post_attention_layernorm: tf.Tensor1D;
  mlp: { gate_proj: Linear; up_proj: Linear; down_proj: Linear };
}

export class Llama extends KVModel {
  private constructor(
    readonly config: LlamaConfig,
    private readonly embedT: Matrix, // [D, V]: embed_tokens, looked up by column (quantized: [V, D], by row)
    headT: Matrix, // [D, V]: the LM head (the same tensor as embedT when tied; quantized: [V, D])
    private readonly layers: Layer[],
    norm: tf.Tensor1D,
    private readonly rope: { cos: tf.Tensor2D; sin: tf.Tensor2D }, // [contextLength, headDim]
    readonly params: number,
    weights: tf.Tensor[],
    dtype: WeightDType,
    arena: QuantArena | null,
  ) {
    super(new KVCache(config.nLayer, config.nKvHead, config.contextLength, config.headDim), weights, headT, (x) => rmsNorm(x, norm, config.rmsNormEps), dtype, arena);
  }

  static load(config: LlamaConfig, src: WeightSource, dtype: WeightDType = 'f32'): Llama {
    const { nEmbd: D, nLayer, vocabSize: V, nHead: H, nKvHead: KV, headDim: hd, intermediateSize: I } = config;
    return loadWeights(src, '', (r) => {
      // [out, in] on disk; at f32 transposed to [in, out] once (quantized, kept [out, in]: the kernel's rows).
      const transposed = (name: string, out: number, inp: number): Matrix => r.matrix(name, out, inp, 'outIn');
      const linear = (p: string, inp: number, out: number, bias: boolean): Linear => ({
        w: transposed(`${p}.weight`, out, inp),
        ...(bias ? { b: r.read(`${p}.bias`, [out]) as tf.Tensor1D } : {}),
      });
      // Qwen2's q/k/v biases: no config flag says so, so by the tensors the file has.
      const qkvBias = (p: string) => config.attentionBias || (config.qkvBias && r.has(`${p}.bias`));

      const embedT = transposed('model.embed_tokens.weight', V, D);
      const headT = config.tieWordEmbeddings ? embedT : transposed('lm_head.weight', V, D);
      const layers: Layer[] = [];
      for (let i = 0; i < nLayer; i++) {
        const p = `model.layers.${i}`;
        const ab = config.attentionBias;
        const mb = config.mlpBias;
        layers.push({
          input_layernorm: r.read(`${p}.input_layernorm.weight`, [D]) as tf.Tensor1D,
          self_attn: {
            q_proj: linear(`${p}.self_attn.q_proj`, D, H * hd, qkvBias(`${p}.self_attn.q_proj`)),
            k_proj: linear(`${p}.self_attn.k_proj`, D, KV * hd, qkvBias(`${p}.self_attn.k_proj`)),
            v_proj: linear(`${p}.self_attn.v_proj`, D, KV * hd, qkvBias(`${p}.self_attn.v_proj`)),
            o_proj: linear(`${p}.self_attn.o_proj`, H * hd, D, ab),
            ...(config.qkNorm ? { q_norm: r.read(`${p}.self_attn.q_norm.weight`, [hd]) as tf.Tensor1D, k_norm: r.read(`${p}.self_attn.k_norm.weight`, [hd]) as tf.Tensor1D } : {}),
          },
          post_attention_layernorm: r.read(`${p}.post_attention_layernorm.weight`, [D]) as tf.Tensor1D,
          mlp: {
            gate_proj: linear(`${p}.mlp.gate_proj`, D, I, mb),
            up_proj: linear(`${p}.mlp.up_proj`, D, I, mb),
            down_proj: linear(`${p}.mlp.down_proj`, I, D, mb),
          },
        });
      }
      const norm = r.read('model.norm.weight', [D]) as tf.Tensor1D;
      const rope = ropeTables(config);
      r.own(rope.cos);
      r.own(rope.sin);
      return new Llama(config, embedT, headT, layers, norm, rope, r.params, r.tensors(), r.dtype, r.arena);
    }, dtype);
  }

  forward(ids: number[], lastOnly = false, trace?: Trace): tf.Tensor2D {
    return this.run(ids, lastOnly, (pos, T) => {
      const x = this.tokenEmbeddings(ids); // [T, D]
      if (trace?.wantEmbeddings) trace.embeddings = { token: tf.keep(x), position: null }; // positions enter through rotary embeddings, not a table
      const mask = causalMask(pos, T, this.cache.capacity);
      return this.blocks(x, pos, (l, q, k, v) => this.attend(l, q, k, v, pos, mask, trace), trace);
    });
  }

  tokenEmbeddings(ids: number[]): tf.Tensor2D {
    const table = this.embedT;
    if (table instanceof QuantMatrix) return quantRows(table, ids);
    return tf.tidy(() => tf.transpose(tf.gather(table, tf.tensor1d(ids, 'int32'), 1)) as tf.Tensor2D);
  }

  /** The blocks from position 0 without the KV cache: attention over these tokens only. */
  protected residualOfEmbeddings(tokEmb: tf.Tensor2D): tf.Tensor2D {
    const mask = causalMask(0, tokEmb.shape[0], tokEmb.shape[0]);
    return this.blocks(tokEmb, 0, (_l, q, k, v) => causalAttention(q, k, v, mask).out);
  }

  /** Every layer on x [T, D] at positions pos..; `attend` is attention through the cache or without it. */
  private blocks(x: tf.Tensor2D, pos: number, attend: (layer: number, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor2D, trace?: Trace): tf.Tensor2D {
    const { nHead: H, nKvHead: KV, headDim: hd, rmsNormEps: eps } = this.config;
    const T = x.shape[0];
    const positions = tf.tensor1d(Array.from({ length: T }, (_, i) => pos + i), 'int32'); // gathered: a slice copies the table on WASM
    const cos = tf.gather(this.rope.cos, positions) as tf.Tensor2D;
    const sin = tf.gather(this.rope.sin, positions) as tf.Tensor2D;
    const heads = (t: tf.Tensor2D, n: number) => tf.transpose(tf.reshape(t, [T, n, hd]), [1, 0, 2]) as tf.Tensor3D; // [n, T, hd]
    const normed = (t: tf.Tensor3D, w?: tf.Tensor1D) => (w ? (rmsNorm(t, w, eps) as tf.Tensor3D) : t); // Qwen3: each head's query and key RMS-normalised before the rotation
    this.layers.forEach((layer, l) => {
      // Each layer in its own tidy: its intermediates (a prompt's attention scores, [H, T, positions]) are
      // freed before the next layer runs, not all held to the end of the pass. Under a gradient tape the tape
      // keeps what the backward pass needs.
      const out = tf.tidy(() => {
        const a = layer.self_attn;
        const h = rmsNorm(x, layer.input_layernorm, eps);
        const q = applyRope(normed(heads(dense(h, a.q_proj), H), a.q_norm), cos, sin);
        const k = applyRope(normed(heads(dense(h, a.k_proj), KV), a.k_norm), cos, sin);
        const v = heads(dense(h, a.v_proj), KV);
        const afterAttn = tf.add(x, dense(attend(l, q, k, v), a.o_proj)) as tf.Tensor2D;
        const m = rmsNorm(afterAttn, layer.post_attention_layernorm, eps);
        const gated = tf.mul(silu(dense(m, layer.mlp.gate_proj)), dense(m, layer.mlp.up_proj)) as tf.Tensor2D;
        return this.traced(tf.add(afterAttn, dense(gated, layer.mlp.down_proj)) as tf.Tensor2D, trace);
      });
      if (l > 0 && !trace?.residual) x.dispose(); // the input (layer 0's) is the caller's; a traced stream is the trace's to free
      x = out;
    });
    return x;
  }
}

/** x · rsqrt(mean(x²) + eps) · weight: no mean subtraction and no bias, unlike LayerNorm. */
function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight) as T;
}

function silu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(x)) as tf.Tensor2D;
}

/**
 * cos and sin of pos·inv_freq for every position, in the Hugging Face "rotate half" layout:
 * inv_freq[j] = rope_theta^(−2j/hd) for j < hd/2, and the angle vector is [θ, θ] (length hd),
 * so dimension j is paired with j + hd/2 (not with j + 1 as in Meta's original checkpoints).
 * Computed in float64, stored as float32.
 */
function ropeTables(config: LlamaConfig): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const { contextLength: N, headDim: hd, ropeTheta } = config;
  const half = hd / 2;
  const cos = new Float32Array(N * hd);
  const sin = new Float32Array(N * hd);
  for (let p = 0; p < N; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p * Math.pow(ropeTheta, (-2 * j) / hd);
      cos[p * hd + j] = cos[p * hd + j + half] = Math.cos(angle);
      sin[p * hd + j] = sin[p * hd + j + half] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [N, hd]), sin: tf.tensor2d(sin, [N, hd]) };
}

/** x·cos + rotate_half(x)·sin for x [heads, T, hd], with rotate_half(x) = [−x₂, x₁]. */
function applyRope(x: tf.Tensor3D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor3D {
  const half = x.shape[2] / 2;
  const [x1, x2] = tf.split(x, [half, half], 2);
  const rotated = tf.concat([tf.neg(x2), x1], 2);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor3D;
}
