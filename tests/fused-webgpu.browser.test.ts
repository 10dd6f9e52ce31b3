// The fused WebGPU decode kernels (src/engine/runtime/fusedWebGPU.ts) in real Chromium (software adapter),
// each against float64 arithmetic written out here. The whole decode step with them is checked
// against the float64 GPT-2 reference in engine.browser.test.ts.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { attnProj, embed, lnMatVec, webgpuDecodeStep, writeCacheRow } from '../src/engine/runtime/fusedWebGPU.ts';
import { layerNormF64, maxAbsDiff, randomFloats } from './shared/numeric.ts';

const randn = randomFloats(5);

describe('fused WebGPU decode kernels', () => {
  beforeAll(async () => {
    await selectBackend({ order: ['webgpu'], timeoutMs: 60_000 });
    expect(tf.getBackend()).toBe('webgpu');
    expect(webgpuDecodeStep(64, 32)).toBe(true);
  });

  it('lnMatVec: layer norm, matrix-vector product, bias, GELU and residual in one kernel, as float64 by hand', async () => {
    const [K, N] = [96, 200];
    const x = randn(K, 3);
    const w = randn(K * N, 0.2);
    const bias = randn(N);
    const g = randn(K);
    const b = randn(K);
    const res = randn(N);
    const out = await lnMatVec(tf.tensor2d(x, [1, K]), tf.tensor2d(w, [K, N]), {
      bias: tf.tensor1d(bias),
      norm: { g: tf.tensor1d(g), b: tf.tensor1d(b) },
      eps: 1e-5,
      gelu: true,
      residual: tf.tensor2d(res, [1, N]),
    }).data();
    const h = layerNormF64(x, g, b, K);
    const expected = Array.from({ length: N }, (_, c) => {
      let a = bias[c];
      for (let i = 0; i < K; i++) a += h[i] * w[i * N + c];
      return 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a ** 3))) + res[c];
    });
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-4);
    // Without the optional parts: a plain product.
    const plain = await lnMatVec(tf.tensor2d(x, [1, K]), tf.tensor2d(w, [K, N]), {}).data();
    const expectedPlain = Array.from({ length: N }, (_, c) => x.reduce((a, v, i) => a + v * w[i * N + c], 0));
    expect(maxAbsDiff(plain, expectedPlain)).toBeLessThan(1e-4);
  });

  it('writeCacheRow + attnProj: the position is written into the cache, attention reads positions 0..pos only, then the projection and residual', async () => {
    const [H, hd, cap, pos] = [3, 8, 16, 9];
    const D = H * hd;
    const k = tf.tensor3d(randn(H * cap * hd), [H, cap, hd]);
    const v = tf.tensor3d(randn(H * cap * hd), [H, cap, hd]);
    const row = randn(3 * D, 2);
    const qkv = tf.tensor2d(row, [1, 3 * D]);
    const w = randn(D * D, 0.3);
    const bias = randn(D);
    const res = randn(D);
    writeCacheRow(qkv, k, v, pos);
    const out = await attnProj(qkv, k, v, tf.tensor2d(w, [D, D]), tf.tensor1d(bias), tf.tensor2d(res, [1, D]), pos).data();
    const ks = (await k.array()) as number[][][];
    const vs = (await v.array()) as number[][][];
    const att = new Float64Array(D);
    for (let h = 0; h < H; h++) {
      expect(ks[h][pos]).toEqual(Array.from(row.subarray(D + h * hd, D + (h + 1) * hd)));
      expect(vs[h][pos]).toEqual(Array.from(row.subarray(2 * D + h * hd, 2 * D + (h + 1) * hd)));
      const q = row.subarray(h * hd, (h + 1) * hd);
      const s = ks[h].slice(0, pos + 1).map((kj) => kj.reduce((a, x, i) => a + x * q[i], 0) / Math.sqrt(hd));
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < hd; i++) att[h * hd + i] = e.reduce((a, wj, j) => a + (wj / z) * vs[h][j][i], 0);
    }
    const expected = Array.from({ length: D }, (_, c) => res[c] + bias[c] + att.reduce((a, x, i) => a + x * w[i * D + c], 0));
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-4);
  });

  it('embed: a column of the transposed token table plus a row of the position table', async () => {
    const [D, V, N] = [70, 33, 12];
    const wteT = randn(D * V);
    const wpe = randn(N * D);
    const out = await embed(tf.tensor2d(wteT, [D, V]), tf.tensor2d(wpe, [N, D]), 17, 5).data();
    const expected = Array.from({ length: D }, (_, i) => wteT[i * V + 17] + wpe[5 * D + i]);
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6);
  });
});
