// The Llama family's fused WASM kernels (src/engine/runtime/fusedLlama.ts) against float64 computations
// written out here (rotary positions as rotations of (j, j + hd/2) pairs by p·θ^(−2j/hd), grouped-query
// attention head by head) and against the composite TF.js ops they replace. The whole model with them is
// checked against the float64 and PyTorch references in reference-logits.test.ts.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { addRmsNorm, fusedRopeAttention, rmsNorm, ropeAttention, swiglu } from '../src/engine/runtime/fusedLlama.ts';
import { maxAbsDiff, randomFloats } from './shared/numeric.ts';
import { composite } from './shared/composite.ts';
import { readFileSync } from 'node:fs';
import { attentionLoops, attentionSimd } from '../src/engine/runtime/attentionSimd.ts';
import { ATTENTION_WASM_BASE64 } from '../src/engine/runtime/attentionWasm.ts';
import { assembleAttentionWasm } from '../tools/wasmAssemble.ts';
import { join } from 'node:path';
import { loadModelDir } from '../src/node/loadDir.ts';

const randn = randomFloats(11);


function rmsF64(x: ArrayLike<number>, w: ArrayLike<number>, D: number, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += D) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r + i] ** 2;
    for (let i = 0; i < D; i++) out[r + i] = (x[r + i] / Math.sqrt(ss / D + eps)) * w[i];
  }
  return out;
}

/** Rotates the pairs (j, j + hd/2) of one head's vector by p·θ^(−2j/hd). */
function ropeF64(x: ArrayLike<number>, p: number, theta: number): number[] {
  const hd = x.length;
  const half = hd / 2;
  const out = new Array<number>(hd);
  for (let j = 0; j < half; j++) {
    const a = p * theta ** ((-2 * j) / hd);
    out[j] = x[j] * Math.cos(a) - x[j + half] * Math.sin(a);
    out[j + half] = x[j] * Math.sin(a) + x[j + half] * Math.cos(a);
  }
  return out;
}

describe('Llama kernels on WASM', () => {
  // A test that turns the SIMD loops off must not leave them off for the next, even when it fails.
  afterEach(() => {
    attentionSimd.enabled = true;
  });
  beforeAll(async () => {
    expect((await selectBackend({ order: ['wasm'] })).backend).toBe('wasm');
  });

  it('RMS norm: float64 by hand and the composite ops agree with the kernel on 3 rows of 576', () => {
    const [T, D] = [3, 576];
    const x = randn(T * D, 3);
    const w = randn(D);
    const xt = tf.tensor2d(x, [T, D]);
    const fused = rmsNorm(xt, tf.tensor1d(w), 1e-5).dataSync();
    const viaOps = composite(() => rmsNorm(xt, tf.tensor1d(w), 1e-5).dataSync());
    const expected = rmsF64(x, w, D, 1e-5);
    expect(maxAbsDiff(fused, expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(viaOps, expected)).toBeLessThan(1e-4);
  });

  it('add + RMS norm: the residual sum exactly as tf.add, and its norm as float64 by hand', () => {
    const [T, D] = [2, 64];
    const x = randn(T * D, 3);
    const y = randn(T * D, 3);
    const w = randn(D);
    const [sum, normed] = addRmsNorm(tf.tensor2d(x, [T, D]), tf.tensor2d(y, [T, D]), tf.tensor1d(w), 1e-6);
    expect(Array.from(sum.dataSync())).toEqual(Array.from(x, (v, i) => Math.fround(v + y[i])));
    expect(maxAbsDiff(normed.dataSync(), rmsF64(sum.dataSync(), w, D, 1e-6))).toBeLessThan(1e-5);
  });

  it('SwiGLU: silu(gate)·up as float64 by hand and the composite ops, from two tensors or from one with both side by side', () => {
    const [T, I] = [2, 768];
    const gate = randn(T * I, 6);
    const up = randn(T * I, 2);
    const [g, u] = [tf.tensor2d(gate, [T, I]), tf.tensor2d(up, [T, I])];
    const both = tf.concat([g, u], 1) as tf.Tensor2D; // row t: gate_t then up_t
    const expected = Array.from(gate, (v, i) => (v / (1 + Math.exp(-v))) * up[i]);
    for (const [name, out] of [
      ['kernel, apart', swiglu(g, u)],
      ['kernel, side by side', swiglu(both)],
      ['composite, apart', composite(() => swiglu(g, u))],
      ['composite, side by side', composite(() => swiglu(both))],
    ] as const) {
      expect(out.shape, name).toEqual([T, I]);
      expect(maxAbsDiff(out.dataSync(), expected), name).toBeLessThan(1e-5);
    }
  });

  for (const [qkNorm, joined, simd] of [[false, false, true], [true, false, true], [false, true, true], [true, true, true], [true, true, false], [false, false, false]]) {
    it(`attention${qkNorm ? ' with Qwen3 q/k norms' : ''}, ${joined ? 'q, k and v side by side in one tensor' : 'q, k and v apart'}, ${simd ? 'the SIMD loops (attention.wat)' : 'the JavaScript loops'}: rotates and writes the new keys, then each query head attends over its kv head's filled positions, as float64 by hand`, () => {
      expect(fusedRopeAttention()).toBe(true);
      attentionSimd.enabled = simd;
      expect(attentionLoops(tf.backend()) !== null).toBe(simd); // the path named is the path taken
      const [H, KV, hd, cap, N, theta, eps] = [4, 2, 8, 16, 32, 10000, 1e-6];
      const [pos, T] = [3, 2];
      const cos = new Float32Array(N * hd);
      const sin = new Float32Array(N * hd);
      for (let p = 0; p < N; p++) {
        for (let j = 0; j < hd / 2; j++) {
          const a = p * theta ** ((-2 * j) / hd);
          cos[p * hd + j] = cos[p * hd + j + hd / 2] = Math.cos(a);
          sin[p * hd + j] = sin[p * hd + j + hd / 2] = Math.sin(a);
        }
      }
      const cacheK0 = new Float32Array(KV * cap * hd);
      const cacheV0 = new Float32Array(KV * cap * hd);
      for (let g = 0; g < KV; g++) {
        cacheK0.set(randn(pos * hd), g * cap * hd); // positions already filled (anything: they are read as they are)
        cacheV0.set(randn(pos * hd), g * cap * hd);
      }
      const q = randn(T * H * hd, 2);
      const k = randn(T * KV * hd, 2);
      const v = randn(T * KV * hd);
      const qNorm = randn(hd);
      const kNorm = randn(hd);
      const cacheK = tf.keep(tf.tensor3d(cacheK0, [KV, cap, hd]));
      const cacheV = tf.keep(tf.tensor3d(cacheV0, [KV, cap, hd]));
      const out = ropeAttention(
        {
          qkv: joined
            ? tf.concat([tf.tensor2d(q, [T, H * hd]), tf.tensor2d(k, [T, KV * hd]), tf.tensor2d(v, [T, KV * hd])], 1)
            : [tf.tensor2d(q, [T, H * hd]), tf.tensor2d(k, [T, KV * hd]), tf.tensor2d(v, [T, KV * hd])],
          cacheK,
          cacheV,
          cos: tf.tensor2d(cos, [N, hd]),
          sin: tf.tensor2d(sin, [N, hd]),
          ...(qkNorm ? { qNorm: tf.tensor1d(qNorm), kNorm: tf.tensor1d(kNorm) } : {}),
        },
        H,
        pos,
        eps,
      ).dataSync();

      // By hand: keys and values per kv head and position, then every query head.
      const norm = (x: Float32Array, w: Float32Array) => (qkNorm ? Array.from(rmsF64(x, w, hd, eps)) : Array.from(x));
      const keys = Array.from({ length: KV }, (_, g) => Array.from({ length: pos + T }, (_, p) => (p < pos ? Array.from(cacheK0.subarray((g * cap + p) * hd, (g * cap + p + 1) * hd)) : ropeF64(norm(k.subarray(((p - pos) * KV + g) * hd, ((p - pos) * KV + g + 1) * hd), kNorm), p, theta))));
      const values = Array.from({ length: KV }, (_, g) => Array.from({ length: pos + T }, (_, p) => (p < pos ? cacheV0.subarray((g * cap + p) * hd, (g * cap + p + 1) * hd) : v.subarray(((p - pos) * KV + g) * hd, ((p - pos) * KV + g + 1) * hd))));
      const expected: number[] = [];
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / KV)); // query heads 0,1 read kv head 0; 2,3 read kv head 1
          const qr = ropeF64(norm(q.subarray((t * H + h) * hd, (t * H + h + 1) * hd), qNorm), pos + t, theta);
          const s = keys[g].slice(0, pos + t + 1).map((kr) => kr.reduce((a, kv, i) => a + kv * qr[i], 0) / Math.sqrt(hd));
          const m = Math.max(...s);
          const e = s.map((x) => Math.exp(x - m));
          const z = e.reduce((a, b) => a + b, 0);
          for (let i = 0; i < hd; i++) expected.push(e.reduce((a, w, j) => a + w * values[g][j][i], 0) / z);
        }
      }
      expect(maxAbsDiff(out, expected)).toBeLessThan(1e-5);

      // The cache: earlier positions untouched, the new ones rotated keys and the values as given, the rest still 0.
      const ck = cacheK.dataSync();
      const cv = cacheV.dataSync();
      for (let g = 0; g < KV; g++) {
        for (let p = 0; p < cap; p++) {
          const at = (g * cap + p) * hd;
          const gotK = ck.subarray(at, at + hd);
          const gotV = cv.subarray(at, at + hd);
          if (p < pos + T) {
            expect(maxAbsDiff(gotK, keys[g][p])).toBeLessThan(1e-6);
            expect(Array.from(gotV)).toEqual(Array.from(values[g][p]));
          } else {
            expect(Array.from(gotK).every((x) => x === 0) && Array.from(gotV).every((x) => x === 0)).toBe(true);
          }
        }
      }
      tf.dispose([cacheK, cacheV]);
      attentionSimd.enabled = true;
    });
  }

  // What the runtime issue asks of a Llama layer on WASM: at most 10 kernels, and 10 a token besides.
  // (Before these kernels a decode step of the 6-layer stories15M ran 317 kernels.)
  for (const name of ['tiny-llama', 'tiny-llama-tied', 'tiny-qwen2', 'tiny-qwen3']) {
    it(`a decode step of the ${name} fixture runs at most 10 kernels per layer and 10 more`, async () => {
      const lm = loadModelDir(join(import.meta.dirname, 'fixtures', name));
      lm.model.truncate(0);
      lm.model.forward(lm.tokenizer.encode('Hello world. The cat'), true).dispose();
      const step = await tf.profile(() => lm.model.forward([lm.tokenizer.encode(' sat')[0]], true));
      tf.dispose(step.result as tf.Tensor);
      const { nLayer } = lm.config;
      expect(step.kernels.length, step.kernels.map((k) => k.name).join(' ')).toBeLessThanOrEqual(10 * nLayer + 10);
      lm.model.dispose();
    });
  }

  it('the attention module is what npm run build:wasm makes of attention.wat today', async () => {
    const bytes = await assembleAttentionWasm(readFileSync(join(import.meta.dirname, '..', 'src', 'engine', 'runtime', 'attention.wat'), 'utf8'));
    expect(Buffer.from(bytes).toString('base64')).toBe(ATTENTION_WASM_BASE64);
  });

  it('is not used where it does not apply (fused kernels off: the composite ops)', async () => {
    expect(composite(() => fusedRopeAttention())).toBe(false);
    const [x, w] = [tf.tensor2d(randn(16), [2, 8]), tf.tensor1d(randn(8))];
    const off = await tf.profile(() => composite(() => [rmsNorm(x, w, 1e-5), swiglu(x, x), ...addRmsNorm(x, x, w, 1e-5)]));
    expect(off.kernelNames.filter((n) => n.startsWith('NextToken'))).toEqual([]);
    const on = await tf.profile(() => [rmsNorm(x, w, 1e-5), swiglu(x, x), ...addRmsNorm(x, x, w, 1e-5)]);
    expect(on.kernelNames).toEqual(['NextTokenRmsNorm', 'NextTokenSwiGLU', 'NextTokenAddRmsNorm']);
    tf.dispose([x, w, off.result as tf.Tensor[], on.result as tf.Tensor[]]);
  });
});
