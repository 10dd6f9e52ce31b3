// GPT-2 in TensorFlow.js, reading the Hugging Face layout unchanged.
//
//   x = wte[ids] + wpe[positions]
//   for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
//   logits = ln_f(x) · wteᵀ          (the LM head is tied to the token embedding)
//
// Conv1D weights are stored [in, out], so every projection is a plain x·W + b.
import * as tf from '@tensorflow/tfjs';
import { KVCache, causalAttention, causalMask } from '../runtime/attention.ts';
import type { GPT2Config } from './config.ts';
import { addLayerNorm, cachedAttention, embedTokens, gelu, layerNorm } from '../runtime/fused.ts';
import { attnProj, embed, lnMatVec, webgpuDecodeStep, writeCacheRow } from '../runtime/fusedWebGPU.ts';
import { dense, KVModel, type Linear as BaseLinear } from './kvModel.ts';
import type { Trace } from './model.ts';
import { QuantMatrix, type QuantArena, type WeightDType } from '../runtime/quant.ts';
import { quantRows } from '../runtime/quantDense.ts';
import { loadWeights, type Matrix } from './weights.ts';
import type { WeightSource } from './weights.ts';

interface Block {
  ln_1: { g: tf.Tensor1D; b: tf.Tensor1D };
  attn: { c_attn: Linear; c_proj: Linear }; // c_attn: q, k and v side by side, one matMul for all three
  ln_2: { g: tf.Tensor1D; b: tf.Tensor1D };
  mlp: { c_fc: Linear; c_proj: Linear };
}
type Linear = Required<BaseLinear>; // GPT-2 has a bias on every projection

export class GPT2 extends KVModel {
  private constructor(
    readonly config: GPT2Config,
    private readonly wteT: Matrix, // [D, V]: the LM head as a plain matMul, and the embedding by column (quantized: [V, D], rows)
    private readonly wpe: tf.Tensor2D,
    private readonly blocks: Block[],
    private readonly ln_f: { g: tf.Tensor1D; b: tf.Tensor1D },
    readonly params: number,
    weights: tf.Tensor[],
    dtype: WeightDType,
    arena: QuantArena | null,
  ) {
    super(new KVCache(config.nLayer, config.nHead, config.contextLength, config.nEmbd / config.nHead), weights, wteT, (x) => layerNorm(x, ln_f, config.layerNormEpsilon), dtype, arena);
  }

  /** Reads and checks every tensor, uploading one at a time so only one float32 copy is held in JS. */
  static load(config: GPT2Config, src: WeightSource, dtype: WeightDType = 'f32'): GPT2 {
    const { nEmbd: D, nLayer, vocabSize: V, contextLength: N } = config;
    const prefix = src.shape('transformer.wte.weight') ? 'transformer.' : '';
    return loadWeights(src, prefix, (r) => {
      const vec = (name: string, n: number) => r.read(name, [n]) as tf.Tensor1D;
      const mat = (name: string, rows: number, cols: number) => r.read(name, [rows, cols]) as tf.Tensor2D;
      const norm = (p: string) => ({ g: vec(`${p}.weight`, D), b: vec(`${p}.bias`, D) });
      const linear = (p: string, i: number, o: number): Linear => ({ w: r.matrix(`${p}.weight`, o, i, 'inOut'), b: vec(`${p}.bias`, o) });

      // The token table is the LM head's [V, D] as nn.Linear stores it: at f32 transposed to [D, V].
      const wteT = r.matrix('wte.weight', V, D, 'outIn');
      const wpe = mat('wpe.weight', N, D);
      const blocks: Block[] = [];
      for (let i = 0; i < nLayer; i++) {
        const p = `h.${i}`;
        blocks.push({
          ln_1: norm(`${p}.ln_1`),
          attn: { c_attn: linear(`${p}.attn.c_attn`, D, 3 * D), c_proj: linear(`${p}.attn.c_proj`, D, D) },
          ln_2: norm(`${p}.ln_2`),
          mlp: { c_fc: linear(`${p}.mlp.c_fc`, D, 4 * D), c_proj: linear(`${p}.mlp.c_proj`, 4 * D, D) },
        });
      }
      const ln_f = norm('ln_f');
      return new GPT2(config, wteT, wpe, blocks, ln_f, r.params, r.tensors(), r.dtype, r.arena);
    }, dtype);
  }

  forward(ids: number[], lastOnly = false, trace?: Trace): tf.Tensor2D {
    const { nEmbd: D, nHead: H, layerNormEpsilon: eps } = this.config;
    const hd = D / H;
    if (ids.length === 1 && !trace && this.dtype === 'f32' && webgpuDecodeStep(this.cache.capacityFor(this.cache.ids.length + 1), D)) return this.run(ids, lastOnly, (pos) => this.decodeStepWebGPU(ids[0], pos), true);
    return this.run(ids, lastOnly, (pos, T) => {
      const embedded = trace?.wantEmbeddings || this.wteT instanceof QuantMatrix ? null : embedTokens(this.wteT, this.wpe, ids, pos);
      let x: tf.Tensor2D;
      if (embedded) x = embedded;
      else {
        const tokEmb = this.tokenEmbeddings(ids); // [T, D]
        // The rows of these positions, gathered (a slice would copy the whole table on WASM).
        const posEmb = tf.gather(this.wpe, tf.tensor1d(Array.from({ length: T }, (_, i) => pos + i), 'int32')) as tf.Tensor2D;
        if (trace?.wantEmbeddings) trace.embeddings = { token: tf.keep(tokEmb), position: tf.keep(posEmb) };
        x = tf.add(tokEmb, posEmb);
      }
      // Made once, outside the blocks' own tidies (below), and freed with the rest of the pass.
      let causal: tf.Tensor2D | undefined;
      const mask = () => (causal ??= tf.keep(causalMask(pos, T, this.cache.capacity)));
      // [T, 3D] → q, k, v as [H, T, hd] each. One token's row is already in that order: no transpose.
      const splitHeads = (qkv: tf.Tensor2D) => {
        const parts = T === 1 ? tf.reshape(qkv, [3, H, 1, hd]) : tf.transpose(tf.reshape(qkv, [T, 3, H, hd]), [1, 2, 0, 3]);
        const [q, k, v] = tf.split(parts, 3, 0).map((t) => tf.reshape(t, [H, T, hd]) as tf.Tensor3D);
        return [q, k, v] as const;
      };
      // Each residual add is done together with the norm that reads its sum (one kernel on WASM).
      let h = layerNorm(x, this.blocks[0].ln_1, eps);
      try {
        this.blocks.forEach((blk, l) => {
          // Each block in its own tidy: a block's intermediates (a prompt's attention scores, [H, T, positions]
          // per layer) are freed before the next block runs, not all held to the end of the pass.
          const [out, nextH] = tf.tidy((): [tf.Tensor2D, tf.Tensor2D] => {
            const qkv = dense(h, blk.attn.c_attn);
            // On WASM one fused kernel writes the cache and attends (the portable path records the weights).
            const fused = this.cache.inPlace && !trace?.attention ? cachedAttention(qkv, this.cache.k[l], this.cache.v[l], pos) : null;
            const att = fused ?? this.attend(l, ...splitHeads(qkv), pos, mask(), trace);
            const [afterAttn, h2] = addLayerNorm(x, dense(att, blk.attn.c_proj), blk.ln_2, eps);
            const mlp = dense(gelu(dense(h2, blk.mlp.c_fc)), blk.mlp.c_proj);
            const next = this.blocks[l + 1];
            const [out, nextH] = next ? addLayerNorm(afterAttn, mlp, next.ln_1, eps) : [tf.add(afterAttn, mlp) as tf.Tensor2D, h];
            return [this.traced(out, trace), nextH];
          });
          if (!trace?.residual) x.dispose(); // a traced stream is the trace's to free
          if (nextH !== h) h.dispose();
          [x, h] = [out, nextH];
        });
      } finally {
        causal?.dispose();
      }
      return x;
    });
  }

  /** The token embeddings of `ids`, [T, D] (rows of the token table, stored transposed). */
  tokenEmbeddings(ids: number[]): tf.Tensor2D {
    const table = this.wteT;
    if (table instanceof QuantMatrix) return quantRows(table, ids);
    return tf.tidy(() => tf.transpose(tf.gather(table, tf.tensor1d(ids, 'int32'), 1)) as tf.Tensor2D);
  }

  /** The blocks without the KV cache, on whatever ops are registered (logProbOfEmbeddings runs it on the composite ones). */
  protected residualOfEmbeddings(tokEmb: tf.Tensor2D): tf.Tensor2D {
    const { nEmbd: D, nHead: H, layerNormEpsilon: eps } = this.config;
    const T = tokEmb.shape[0];
    const hd = D / H;
    let x = tf.add(tokEmb, tf.slice(this.wpe, [0, 0], [T, D])) as tf.Tensor2D;
    const mask = causalMask(0, T, T);
    for (const blk of this.blocks) {
      const qkv = dense(layerNorm(x, blk.ln_1, eps), blk.attn.c_attn);
      const [q, k, v] = tf.split(tf.transpose(tf.reshape(qkv, [T, 3, H, hd]), [1, 2, 0, 3]), 3, 0).map((t) => tf.reshape(t, [H, T, hd]) as tf.Tensor3D);
      x = tf.add(x, dense(causalAttention(q, k, v, mask).out, blk.attn.c_proj));
      x = tf.add(x, dense(gelu(dense(layerNorm(x, blk.ln_2, eps), blk.mlp.c_fc)), blk.mlp.c_proj));
    }
    return x;
  }

  /** One token's step on WebGPU in 4 dispatches per block (fusedWebGPU.ts): the same function as above. */
  private decodeStepWebGPU(id: number, pos: number): tf.Tensor2D {
    const eps = this.config.layerNormEpsilon;
    // only at float32 (forward checks): every matrix is a tensor here
    const f32 = (m: Matrix) => m as tf.Tensor2D;
    let x = embed(f32(this.wteT), this.wpe, id, pos);
    this.blocks.forEach((blk, l) => {
      const qkv = lnMatVec(x, f32(blk.attn.c_attn.w), { bias: blk.attn.c_attn.b, norm: blk.ln_1, eps });
      writeCacheRow(qkv, this.cache.k[l], this.cache.v[l], pos);
      x = attnProj(qkv, this.cache.k[l], this.cache.v[l], f32(blk.attn.c_proj.w), blk.attn.c_proj.b, x, pos);
      const m = lnMatVec(x, f32(blk.mlp.c_fc.w), { bias: blk.mlp.c_fc.b, norm: blk.ln_2, eps, gelu: true });
      x = lnMatVec(m, f32(blk.mlp.c_proj.w), { bias: blk.mlp.c_proj.b, residual: x });
    });
    return lnMatVec(x, f32(this.wteT), { norm: this.ln_f, eps });
  }
}
