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
// The KV cache and the composite attention are shared with GPT-2 (attention.ts); on WASM a layer runs as
// eight kernels at float32, eleven quantized (runtime/fusedLlama.ts: norms with their residual add, SwiGLU,
// and one attention kernel that rotates, writes the cache and attends); a decode step on WebGPU as four
// dispatches a layer (runtime/fusedWebGPULlama.ts).
import * as tf from '@tensorflow/tfjs';
import { KVCache, causalAttention, causalMask } from '../runtime/attention.ts';
import type { LlamaConfig } from './config.ts';
import { dense, KVModel, type Linear } from './kvModel.ts';
import { addRmsNorm, fusedRopeAttention, rmsNorm, ropeAttention, swiglu, type RopeAttentionInputs } from '../runtime/fusedLlama.ts';
import type { Trace } from './model.ts';
import { QuantMatrix, type QuantArena, type WeightDType } from '../runtime/quant.ts';
import { quantRows } from '../runtime/quantDense.ts';
import { loadWeights, type Matrix } from './weights.ts';
import { attnProj, lnMatVec, webgpuDecodeStep, writeCacheRow } from '../runtime/fusedWebGPU.ts';
import { embedColumn, MAX_FUSED_HEAD, registerLlamaDecodeKernels, rmsMatVec, rmsQkvRope } from '../runtime/fusedWebGPULlama.ts';
import type { WeightSource } from './weights.ts';

// At float32, projections that read the same input are held side by side and run as one product: q, k and v
// as qkv [D, (H + 2·KV)·hd], gate and up as gate_up [D, 2·I]. Quantized, they stay apart.
interface Layer {
  input_layernorm: tf.Tensor1D;
  // Qwen3's q_norm and k_norm, and both side by side for the WebGPU decode kernel (fusedWebGPULlama.ts).
  self_attn: ({ qkv: Linear } | { q_proj: Linear; k_proj: Linear; v_proj: Linear }) & { o_proj: Linear; q_norm?: tf.Tensor1D; k_norm?: tf.Tensor1D; qk_norm?: tf.Tensor1D };
  post_attention_layernorm: tf.Tensor1D;
  mlp: ({ gate_up: Linear } | { gate_proj: Linear; up_proj: Linear }) & { down_proj: Linear };
}

export class Llama extends KVModel {
  private constructor(
    readonly config: LlamaConfig,
    private readonly embedT: Matrix, // [D, V]: embed_tokens, looked up by column (quantized: [V, D], by row)
    private readonly headT: Matrix, // [D, V]: the LM head (the same tensor as embedT when tied; quantized: [V, D])
    private readonly layers: Layer[],
    private readonly norm: tf.Tensor1D,
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
      const qkNorms = (q_norm: tf.Tensor1D, k_norm: tf.Tensor1D) => ({ q_norm, k_norm, qk_norm: r.own(tf.concat([q_norm, k_norm])) });
      const layers: Layer[] = [];
      for (let i = 0; i < nLayer; i++) {
        const p = `model.layers.${i}`;
        const ab = config.attentionBias;
        const mb = config.mlpBias;
        const [q, k, v] = [
          linear(`${p}.self_attn.q_proj`, D, H * hd, qkvBias(`${p}.self_attn.q_proj`)),
          linear(`${p}.self_attn.k_proj`, D, KV * hd, qkvBias(`${p}.self_attn.k_proj`)),
          linear(`${p}.self_attn.v_proj`, D, KV * hd, qkvBias(`${p}.self_attn.v_proj`)),
        ];
        const qkv = r.besideEachOther([q, k, v]);
        const [gate, up] = [linear(`${p}.mlp.gate_proj`, D, I, mb), linear(`${p}.mlp.up_proj`, D, I, mb)];
        const gate_up = r.besideEachOther([gate, up]);
        layers.push({
          input_layernorm: r.read(`${p}.input_layernorm.weight`, [D]) as tf.Tensor1D,
          self_attn: {
            ...(qkv ? { qkv } : { q_proj: q, k_proj: k, v_proj: v }),
            o_proj: linear(`${p}.self_attn.o_proj`, H * hd, D, ab),
            ...(config.qkNorm ? qkNorms(r.read(`${p}.self_attn.q_norm.weight`, [hd]) as tf.Tensor1D, r.read(`${p}.self_attn.k_norm.weight`, [hd]) as tf.Tensor1D) : {}),
          },
          post_attention_layernorm: r.read(`${p}.post_attention_layernorm.weight`, [D]) as tf.Tensor1D,
          mlp: { ...(gate_up ? { gate_up } : { gate_proj: gate, up_proj: up }), down_proj: linear(`${p}.mlp.down_proj`, I, D, mb) },
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
    if (ids.length === 1 && !trace && this.webgpuDecodes()) return this.run(ids, lastOnly, (pos) => this.decodeStepWebGPU(ids[0], pos), true);
    return this.run(ids, lastOnly, (pos, T) => {
      const x = this.tokenEmbeddings(ids); // [T, D]
      if (trace?.wantEmbeddings) trace.embeddings = { token: tf.keep(x), position: null }; // positions enter through rotary embeddings, not a table
      // On WASM one kernel normalises and rotates q and k, writes the cache and attends (the composite path records the weights).
      if (this.cache.inPlace && !trace?.attention && fusedRopeAttention()) {
        const { nHead: H, rmsNormEps: eps } = this.config;
        const { cos, sin } = this.rope;
        return this.blocks(x, (l, qkv, a) => ropeAttention({ qkv, cacheK: this.cache.k[l], cacheV: this.cache.v[l], cos, sin, qNorm: a.q_norm, kNorm: a.k_norm }, H, pos, eps), trace);
      }
      const mask = causalMask(pos, T, this.cache.capacity);
      return this.blocks(x, this.rotated(pos, T, (l, q, k, v) => this.attend(l, q, k, v, pos, mask, trace)), trace);
    });
  }

  /** Whether the next token's step runs as fusedWebGPULlama.ts's kernels (WebGPU, float32, attention's memory fits). */
  private webgpuDecodes(): boolean {
    const { nHead: H, headDim: hd } = this.config;
    if (this.dtype !== 'f32' || hd > MAX_FUSED_HEAD || hd % 2 !== 0 || !this.layers.every((l) => 'qkv' in l.self_attn && 'gate_up' in l.mlp)) return false;
    return webgpuDecodeStep(this.cache.capacityFor(this.cache.ids.length + 1), H * hd) && registerLlamaDecodeKernels();
  }

  /** One token's step on WebGPU in 4 dispatches per block: the same function as blocks() + unembed(). */
  private decodeStepWebGPU(id: number, pos: number): tf.Tensor2D {
    const { nHead: H, nKvHead: KV, headDim: hd, rmsNormEps: eps } = this.config;
    const f32 = (m: Matrix) => m as tf.Tensor2D; // float32 only (webgpuDecodes checks): every matrix is a tensor
    const rope = { ...this.rope, pos, heads: H, kvHeads: KV, hd };
    let x = embedColumn(f32(this.embedT), id);
    this.layers.forEach((layer, l) => {
      const a = layer.self_attn as { qkv: Linear; o_proj: Linear; qk_norm?: tf.Tensor1D };
      const f = layer.mlp as { gate_up: Linear; down_proj: Linear };
      const qkv = rmsQkvRope(x, f32(a.qkv.w), { norm: layer.input_layernorm, eps, bias: a.qkv.b, qkNorm: a.qk_norm, rope });
      writeCacheRow(qkv, this.cache.k[l], this.cache.v[l], pos, H * hd);
      x = attnProj(qkv, this.cache.k[l], this.cache.v[l], f32(a.o_proj.w), a.o_proj.b, x, pos, H);
      const m = rmsMatVec(x, f32(f.gate_up.w), { norm: layer.post_attention_layernorm, eps, bias: f.gate_up.b, swiglu: true });
      x = lnMatVec(m, f32(f.down_proj.w), { bias: f.down_proj.b, residual: x });
    });
    return rmsMatVec(x, f32(this.headT), { norm: this.norm, eps });
  }

  tokenEmbeddings(ids: number[]): tf.Tensor2D {
    const table = this.embedT;
    if (table instanceof QuantMatrix) return quantRows(table, ids);
    return tf.tidy(() => tf.transpose(tf.gather(table, tf.tensor1d(ids, 'int32'), 1)) as tf.Tensor2D);
  }

  /** The blocks from position 0 without the KV cache: attention over these tokens only. */
  protected residualOfEmbeddings(tokEmb: tf.Tensor2D): tf.Tensor2D {
    const T = tokEmb.shape[0];
    const mask = causalMask(0, T, T);
    return this.blocks(tokEmb, this.rotated(0, T, (_l, q, k, v) => causalAttention(q, k, v, mask).out));
  }

  /**
   * Attention on the composite ops: each projection split into heads [n, T, hd], q and k RMS-normalised
   * (Qwen3) and rotated for positions pos..pos+T−1, then `attendHeads` (through the cache or without it).
   */
  private rotated(pos: number, T: number, attendHeads: (layer: number, q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor2D): Attend {
    const { nHead: H, nKvHead: KV, headDim: hd, rmsNormEps: eps } = this.config;
    const positions = tf.tensor1d(Array.from({ length: T }, (_, i) => pos + i), 'int32'); // gathered: a slice copies the table on WASM
    const cos = tf.gather(this.rope.cos, positions) as tf.Tensor2D;
    const sin = tf.gather(this.rope.sin, positions) as tf.Tensor2D;
    const heads = (t: tf.Tensor2D, n: number) => tf.transpose(tf.reshape(t, [T, n, hd]), [1, 0, 2]) as tf.Tensor3D; // [n, T, hd]
    const normed = (t: tf.Tensor3D, w?: tf.Tensor1D) => (w ? rmsNorm(t, w, eps) : t);
    return (l, qkv, a) => {
      const [q, k, v] = Array.isArray(qkv) ? qkv : tf.split(qkv, [H * hd, KV * hd, KV * hd], 1);
      return attendHeads(l, applyRope(normed(heads(q as tf.Tensor2D, H), a.q_norm), cos, sin), applyRope(normed(heads(k as tf.Tensor2D, KV), a.k_norm), cos, sin), heads(v as tf.Tensor2D, KV));
    };
  }

  /**
   * Every layer on x [T, D]. Each residual add is done together with the norm that reads its sum (one kernel
   * on WASM), so a layer is its products (four at float32, q/k/v and gate/up joined; seven quantized), attention,
   * SwiGLU and two norms.
   */
  private blocks(x: tf.Tensor2D, attend: Attend, trace?: Trace): tf.Tensor2D {
    const eps = this.config.rmsNormEps;
    let h = rmsNorm(x, this.layers[0].input_layernorm, eps);
    this.layers.forEach((layer, l) => {
      // Each layer in its own tidy: its intermediates (a prompt's attention scores, [H, T, positions]) are
      // freed before the next layer runs, not all held to the end of the pass. Under a gradient tape the tape
      // keeps what the backward pass needs.
      const [out, nextH] = tf.tidy((): [tf.Tensor2D, tf.Tensor2D] => {
        const a = layer.self_attn;
        const attn = attend(l, 'qkv' in a ? dense(h, a.qkv) : [dense(h, a.q_proj), dense(h, a.k_proj), dense(h, a.v_proj)], a);
        const [afterAttn, m] = addRmsNorm(x, dense(attn, a.o_proj), layer.post_attention_layernorm, eps);
        const f = layer.mlp;
        const mlp = dense('gate_up' in f ? swiglu(dense(m, f.gate_up)) : swiglu(dense(m, f.gate_proj), dense(m, f.up_proj)), f.down_proj);
        const next = this.layers[l + 1];
        const [sum, nh] = next ? addRmsNorm(afterAttn, mlp, next.input_layernorm, eps) : [tf.add(afterAttn, mlp) as tf.Tensor2D, h];
        return [this.traced(sum, trace), nh];
      });
      if (l > 0 && !trace?.residual) x.dispose(); // the input (layer 0's) is the caller's; a traced stream is the trace's to free
      if (nextH !== h) h.dispose();
      [x, h] = [out, nextH];
    });
    return x;
  }
}

/** Attention for one layer from its projections (q [T, H·hd], k and v [T, KV·hd], or the three side by side): [T, H·hd]. */
type Attend = (layer: number, qkv: RopeAttentionInputs['qkv'], attn: Layer['self_attn']) => tf.Tensor2D;

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
