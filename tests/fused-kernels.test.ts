// The fused WASM kernels (src/engine/runtime/fused.ts) against float64 computations written out here, and
// against the composite TF.js ops they replace. The whole model with them is checked against the
// float64 GPT-2 reference in engine.test.ts.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { causalAttention, causalMask, KVCache } from '../src/engine/runtime/attention.ts';
import { addLayerNorm, cachedAttention, denseWasm, embedTokens, gelu, layerNorm } from '../src/engine/runtime/fused.ts';
import { layerNormF64, maxAbsDiff, randomFloats } from './shared/numeric.ts';
import { composite } from './shared/composite.ts';
import { attentionLoops, attentionSimd } from '../src/engine/runtime/attentionSimd.ts';
import { fusedRopeAttention, ropeAttention } from '../src/engine/runtime/fusedLlama.ts';

const randn = randomFloats(3);

describe('fused kernels on WASM', () => {
  // A test that turns the SIMD loops off must not leave them off for the next, even when it fails.
  afterEach(() => {
    attentionSimd.enabled = true;
  });
  beforeAll(async () => {
    expect((await selectBackend({ order: ['wasm'] })).backend).toBe('wasm');
  });

  it('layer norm: float64 by hand, and the composite ops, agree with the kernel on 3 rows of 768', () => {
    const [T, D] = [3, 768];
    const x = randn(T * D, 4);
    const g = randn(D);
    const b = randn(D);
    const p = { g: tf.tensor1d(g), b: tf.tensor1d(b) };
    const xt = tf.tensor2d(x, [T, D]);
    const fused = layerNorm(xt, p, 1e-5).dataSync();
    const viaOps = composite(() => layerNorm(xt, p, 1e-5).dataSync());
    const expected = layerNormF64(x, g, b, D);
    expect(maxAbsDiff(fused, expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(viaOps, expected)).toBeLessThan(1e-4);
  });

  it('add + layer norm: the residual sum exactly as tf.add, and its norm as float64 by hand', () => {
    const [T, D] = [2, 64];
    const x = randn(T * D, 3);
    const y = randn(T * D, 3);
    const g = randn(D);
    const b = randn(D);
    const [sum, normed] = addLayerNorm(tf.tensor2d(x, [T, D]), tf.tensor2d(y, [T, D]), { g: tf.tensor1d(g), b: tf.tensor1d(b) }, 1e-5);
    expect(Array.from(sum.dataSync())).toEqual(Array.from(x, (v, i) => Math.fround(v + y[i])));
    const expected = layerNormF64(sum.dataSync(), g, b, D);
    expect(maxAbsDiff(normed.dataSync(), expected)).toBeLessThan(1e-5);
  });

  it('GELU (tanh form, as Hugging Face gelu_new): float64 by hand and the composite ops agree with the kernel', () => {
    const x = randn(3072, 6);
    const xt = tf.tensor2d(x, [1, 3072]);
    const fused = gelu(xt).dataSync();
    const viaOps = composite(() => gelu(xt).dataSync());
    const expected = Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    expect(maxAbsDiff(fused, expected)).toBeLessThan(1e-6);
    expect(maxAbsDiff(viaOps, expected)).toBeLessThan(1e-5);
  });

  for (const simd of [true, false]) {
    it(`decode attention (${simd ? 'the SIMD loops, attention.wat' : 'the JavaScript loops'}) writes this position into the cache and attends over the filled positions only, as the masked composite path does`, () => {
      attentionSimd.enabled = simd;
      expect(attentionLoops(tf.backend()) !== null).toBe(simd);
      const [H, hd, pos] = [4, 16, 37];
      const D = H * hd;
      const cache = new KVCache(1, H, 128, hd);
      cache.reserve(pos + 1);
      // Earlier positions, written the portable way; garbage beyond them must not be read.
      const past = (seed: number) => tf.tensor3d(randn(H * pos * hd, seed), [H, pos, hd]);
      cache.write(0, past(1), past(1), 0);
      const after = tf.fill([H, cache.capacity - pos - 1, hd], 1e3) as tf.Tensor3D;
      cache.write(0, after, after, pos + 1);
      const row = randn(3 * D, 2);
      const qkv = tf.tensor2d(row, [1, 3 * D]);
      const out = cachedAttention(qkv, cache.k[0], cache.v[0], pos)!.dataSync();

      const k = cache.k[0].arraySync();
      const v = cache.v[0].arraySync();
      for (let h = 0; h < H; h++) {
        expect(Array.from(k[h][pos])).toEqual(Array.from(row.subarray(D + h * hd, D + (h + 1) * hd)));
        expect(Array.from(v[h][pos])).toEqual(Array.from(row.subarray(2 * D + h * hd, 2 * D + (h + 1) * hd)));
      }
      // float64 by hand, over positions 0..pos.
      const expected = new Float64Array(D);
      for (let h = 0; h < H; h++) {
        const q = row.subarray(h * hd, (h + 1) * hd);
        const s = k[h].slice(0, pos + 1).map((kj) => kj.reduce((acc, x, i) => acc + x * q[i], 0) / Math.sqrt(hd));
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < hd; i++) expected[h * hd + i] = e.reduce((acc, w, j) => acc + (w / z) * v[h][j][i], 0);
      }
      expect(maxAbsDiff(out, expected)).toBeLessThan(1e-5);
      // The composite path: the same query against the whole (written) cache with the causal mask.
      const q3 = tf.reshape(tf.slice(qkv, [0, 0], [1, D]), [H, 1, hd]) as tf.Tensor3D;
      const viaOps = causalAttention(q3, cache.k[0], cache.v[0], causalMask(pos, 1, cache.capacity)).out.dataSync();
      expect(maxAbsDiff(out, viaOps)).toBeLessThan(1e-5);
      cache.dispose();
      attentionSimd.enabled = true;
    });

    it(`attention for several new rows (a prompt; ${simd ? 'SIMD' : 'JavaScript'} loops) is causal: row t reads positions 0..pos+t, as the masked composite path`, () => {
      attentionSimd.enabled = simd;
      const [H, hd, pos, T] = [3, 8, 5, 4];
      const D = H * hd;
      const fused = new KVCache(1, H, 64, hd);
      const portable = new KVCache(1, H, 64, hd);
      portable.inPlace = false;
      const past = tf.tensor3d(randn(H * pos * hd, 1), [H, pos, hd]);
      for (const c of [fused, portable]) c.write(0, past, past, 0);
      const qkv = tf.tensor2d(randn(T * 3 * D, 2), [T, 3 * D]);
      const out = cachedAttention(qkv, fused.k[0], fused.v[0], pos)!.dataSync();
      const heads = tf.transpose(tf.reshape(qkv, [T, 3, H, hd]), [1, 2, 0, 3]);
      const [q, k, v] = tf.split(heads, 3, 0).map((t) => tf.reshape(t, [H, T, hd]) as tf.Tensor3D);
      portable.write(0, k, v, pos);
      const viaOps = causalAttention(q, portable.k[0], portable.v[0], causalMask(pos, T, portable.capacity)).out.dataSync();
      expect(maxAbsDiff(out, viaOps)).toBeLessThan(1e-5);
      expect(maxAbsDiff(fused.k[0].dataSync(), portable.k[0].dataSync())).toBe(0);
      expect(maxAbsDiff(fused.v[0].dataSync(), portable.v[0].dataSync())).toBe(0);
      attentionSimd.enabled = true;
    });
  }

  it('embedding: a column of the transposed token table plus the position rows, for several tokens', () => {
    const [D, V, N] = [10, 7, 9];
    const wteT = randn(D * V);
    const wpe = randn(N * D);
    const out = embedTokens(tf.tensor2d(wteT, [D, V]), tf.tensor2d(wpe, [N, D]), [3, 0, 6], 4)!.dataSync();
    const expected = [3, 0, 6].flatMap((id, t) => Array.from({ length: D }, (_, i) => wteT[i * V + id] + wpe[(4 + t) * D + i]));
    expect(Array.from(out)).toEqual(expected.map(Math.fround));
  });

  it('dense: x·W + b through XNNPACK as one kernel, as float64 by hand, with and without a bias', () => {
    const [T, K, N] = [3, 50, 70];
    const x = randn(T * K);
    const w = randn(K * N);
    const bias = randn(N);
    const withBias = denseWasm(tf.tensor2d(x, [T, K]), tf.tensor2d(w, [K, N]), tf.tensor1d(bias))!;
    const without = denseWasm(tf.tensor2d(x, [T, K]), tf.tensor2d(w, [K, N]))!;
    expect(withBias.shape).toEqual([T, N]);
    const expected = (b: boolean) =>
      Array.from({ length: T * N }, (_, o) => {
        const [t, c] = [Math.floor(o / N), o % N];
        let a = b ? bias[c] : 0;
        for (let i = 0; i < K; i++) a += x[t * K + i] * w[i * N + c];
        return a;
      });
    expect(maxAbsDiff(withBias.dataSync(), expected(true))).toBeLessThan(1e-5);
    expect(maxAbsDiff(without.dataSync(), expected(false))).toBeLessThan(1e-5);
    // The output is an ordinary 2-D tensor for the ops after it.
    expect(tf.add(withBias, 1).shape).toEqual([T, N]);
  });

  it('is not used where it does not apply (fused kernels off: the composite ops)', () => {
    const kv = tf.zeros([2, 8, 4]) as tf.Tensor3D;
    expect(composite(() => cachedAttention(tf.zeros([1, 24]) as tf.Tensor2D, kv, kv, 0))).toBeNull();
    expect(composite(() => embedTokens(tf.zeros([4, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D, [0], 0))).toBeNull();
    expect(composite(() => denseWasm(tf.zeros([1, 3]) as tf.Tensor2D, tf.zeros([3, 2]) as tf.Tensor2D))).toBeNull();
  });

  // The engine registers a kernel's outputs only when it returns: one that throws after making them must free them
  // itself. A position past the cache's end makes the attention kernels throw while writing the cache.
  it('a kernel that throws frees the outputs it made (GPT-2 and Llama attention past the cache end)', () => {
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const [H, cap, hd] = [2, 4, 8];
    const k = tf.zeros([H, cap, hd]) as tf.Tensor3D;
    const v = tf.zeros([H, cap, hd]) as tf.Tensor3D;
    const qkv = tf.ones([1, 3 * H * hd]) as tf.Tensor2D;
    const cos = tf.ones([16, hd]) as tf.Tensor2D;
    const sin = tf.zeros([16, hd]) as tf.Tensor2D;
    const before = backend.numDataIds();
    expect(() => cachedAttention(qkv, k, v, cap + 5)).toThrow(RangeError);
    expect(backend.numDataIds()).toBe(before);
    expect(fusedRopeAttention()).toBe(true); // registers the Llama kernels
    expect(() => ropeAttention({ qkv, cacheK: k, cacheV: v, cos, sin }, H, cap + 5, 1e-5)).toThrow(RangeError);
    expect(backend.numDataIds()).toBe(before);
    // And the same kernels at a position inside the cache still work.
    const ok = cachedAttention(qkv, k, v, 1)!;
    expect(ok.shape).toEqual([1, H * hd]);
    tf.dispose([ok, k, v, qkv, cos, sin]);
  });
});
