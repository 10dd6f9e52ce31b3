// The fused WebGPU decode kernels (src/engine/runtime/fusedWebGPU.ts) in real Chromium (software adapter),
// each against float64 arithmetic written out here. The whole decode step with them is checked
// against the float64 GPT-2 reference in engine.browser.test.ts.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { attnProj, embed, lnMatVec, webgpuDecodeStep, writeCacheRow } from '../src/engine/runtime/fusedWebGPU.ts';
import { embedColumn, registerLlamaDecodeKernels, rmsMatVec, rmsQkvRope } from '../src/engine/runtime/fusedWebGPULlama.ts';
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

  describe('the Llama family (fusedWebGPULlama.ts)', () => {
    beforeAll(() => expect(registerLlamaDecodeKernels()).toBe(true));
    const rmsF64 = (x: Float32Array, g: Float32Array, eps: number) => {
      const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
      return Array.from(x, (v, i) => (v / Math.sqrt(ms + eps)) * g[i]);
    };
    const product = (h: number[], w: Float32Array, N: number, c: number, bias?: Float32Array) => h.reduce((a, v, i) => a + v * w[i * N + c], bias ? bias[c] : 0);

    // q and k heads rotated ("rotate half") at the position, each first RMS-normalised when norms are given (Qwen3); v as it is.
    for (const qkNorm of [false, true]) {
      it(`rmsQkvRope${qkNorm ? ' with per-head q/k norms' : ''}: RMS norm, product, bias, then q and k rotated at the position, v as it is`, async () => {
        const [K, H, KV, hd, P, pos, eps] = [40, 2, 1, 8, 12, 5, 1e-5];
        const N = (H + 2 * KV) * hd;
        const width = (H + KV) * hd;
        const [x, w, bias, g, qn, kn] = [randn(K, 2), randn(K * N, 0.3), randn(N), randn(K), randn(hd), randn(hd)];
        const angles = Array.from({ length: P * hd }, (_, j) => Math.floor(j / hd) * 10000 ** (-(2 * (j % (hd / 2))) / hd));
        const cos = Float32Array.from(angles, Math.cos);
        const sin = Float32Array.from(angles, Math.sin);
        const rope = { cos: tf.tensor2d(cos, [P, hd]), sin: tf.tensor2d(sin, [P, hd]), pos, heads: H, kvHeads: KV, hd };
        const norms = qkNorm ? { qkNorm: tf.tensor1d([...qn, ...kn]) } : {};
        const out = await rmsQkvRope(tf.tensor2d(x, [1, K]), tf.tensor2d(w, [K, N]), { norm: tf.tensor1d(g), eps, bias: tf.tensor1d(bias), ...norms, rope }).data();
        const h = rmsF64(x, g, eps);
        const a = Array.from({ length: N }, (_, c) => product(h, w, N, c, bias));
        if (qkNorm) {
          for (let head = 0; head < H + KV; head++) {
            const normed = rmsF64(Float32Array.from(a.slice(head * hd, (head + 1) * hd)), head < H ? qn : kn, eps);
            a.splice(head * hd, hd, ...normed);
          }
        }
        const expected = a.map((v, c) => {
          if (c >= width) return v;
          const i = c % hd;
          const rotated = i < hd / 2 ? -a[c + hd / 2] : a[c - hd / 2];
          return v * cos[pos * hd + i] + rotated * sin[pos * hd + i];
        });
        expect(out.length).toBe(N);
        expect(maxAbsDiff(out, expected)).toBeLessThan(1e-4);
        // The rotation moved q and k (a kernel that left them would fail above): not the unrotated values.
        expect(maxAbsDiff(out.slice(0, width), a.slice(0, width))).toBeGreaterThan(1e-2);
      });
    }

    it('rmsMatVec with swiglu: silu(gate)·up from [gate | up] side by side; and the plain normed product (the LM head)', async () => {
      const [K, F, eps] = [24, 70, 1e-6];
      const [x, w, bias, g] = [randn(K, 2), randn(K * 2 * F, 0.3), randn(2 * F), randn(K)];
      const out = await rmsMatVec(tf.tensor2d(x, [1, K]), tf.tensor2d(w, [K, 2 * F]), { norm: tf.tensor1d(g), eps, bias: tf.tensor1d(bias), swiglu: true }).data();
      const h = rmsF64(x, g, eps);
      const expected = Array.from({ length: F }, (_, c) => {
        const gate = product(h, w, 2 * F, c, bias);
        return (gate / (1 + Math.exp(-gate))) * product(h, w, 2 * F, c + F, bias);
      });
      expect(out.length).toBe(F);
      expect(maxAbsDiff(out, expected)).toBeLessThan(1e-4);
      const head = await rmsMatVec(tf.tensor2d(x, [1, K]), tf.tensor2d(w, [K, 2 * F]), { norm: tf.tensor1d(g), eps }).data();
      expect(maxAbsDiff(head, Array.from({ length: 2 * F }, (_, c) => product(h, w, 2 * F, c)))).toBeLessThan(1e-4);
    });

    it('attnProj with grouped-query heads (4 query heads on 2 kv heads), no bias and an output narrower than the heads', async () => {
      const [H, KV, hd, cap, pos, N] = [4, 2, 8, 16, 9, 20];
      const A = H * hd;
      const k = tf.tensor3d(randn(KV * cap * hd), [KV, cap, hd]);
      const v = tf.tensor3d(randn(KV * cap * hd), [KV, cap, hd]);
      const row = randn(A + 2 * KV * hd, 2);
      const qkv = tf.tensor2d(row, [1, row.length]);
      const w = randn(A * N, 0.3);
      const res = randn(N);
      writeCacheRow(qkv, k, v, pos, A);
      const out = await attnProj(qkv, k, v, tf.tensor2d(w, [A, N]), undefined, tf.tensor2d(res, [1, N]), pos, H).data();
      const ks = (await k.array()) as number[][][];
      const vs = (await v.array()) as number[][][];
      const att = new Float64Array(A);
      for (let kv = 0; kv < KV; kv++) {
        expect(ks[kv][pos]).toEqual(Array.from(row.subarray(A + kv * hd, A + (kv + 1) * hd)));
        expect(vs[kv][pos]).toEqual(Array.from(row.subarray(A + KV * hd + kv * hd, A + KV * hd + (kv + 1) * hd)));
      }
      for (let h = 0; h < H; h++) {
        const kv = Math.floor(h / (H / KV));
        const q = row.subarray(h * hd, (h + 1) * hd);
        const s = ks[kv].slice(0, pos + 1).map((kj) => kj.reduce((a, x, i) => a + x * q[i], 0) / Math.sqrt(hd));
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < hd; i++) att[h * hd + i] = e.reduce((a, wj, j) => a + (wj / z) * vs[kv][j][i], 0);
      }
      const expected = Array.from({ length: N }, (_, c) => res[c] + att.reduce((a, x, i) => a + x * w[i * N + c], 0));
      expect(out.length).toBe(N);
      expect(maxAbsDiff(out, expected)).toBeLessThan(1e-4);
    });

    it('embedColumn: a column of the transposed token table', async () => {
      const [D, V] = [70, 33];
      const table = randn(D * V);
      const out = await embedColumn(tf.tensor2d(table, [D, V]), 17).data();
      expect(Array.from(out)).toEqual(Array.from({ length: D }, (_, i) => table[i * V + 17]));
    });
  });
});
