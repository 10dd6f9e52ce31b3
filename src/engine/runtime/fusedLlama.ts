// The Llama family's fused kernels on WASM, as fused.ts has GPT-2's: RMS norm (alone, and with the residual
// add before it), SwiGLU, and attention that normalises (Qwen3) and rotates the new queries and keys, writes
// the keys and values into the cache and attends over the filled positions of each query head's kv head,
// all in one kernel. A decode step of a Llama layer ran about fifty TF.js ops; with these it runs eight at
// float32 (q/k/v and gate/up joined: four products, attention, SwiGLU, two norms), eleven quantized (seven products).
//
// Elsewhere (WebGPU, WebGL, CPU, and under a gradient tape) the composite TF.js ops below each kernel are
// the definition; tests/fused-kernels.test.ts compares the two.
import * as tf from '@tensorflow/tfjs';
import { cacheRow } from './attention.ts';
import { freeOutputsOnThrow, onWasm, type WasmBackend } from './fused.ts';
import { HeadAttention } from './headAttention.ts';

const RMS_NORM = 'NextTokenRmsNorm';
const ADD_RMS_NORM = 'NextTokenAddRmsNorm';
const SWIGLU = 'NextTokenSwiGLU';
const ROPE_ATTENTION = 'NextTokenRopeAttention';

function onWasmLlama(): boolean {
  if (!onWasm()) return false;
  registerLlamaKernels();
  return true;
}

/** x · rsqrt(mean(x²) + eps) · weight over the last axis: no mean subtraction and no bias, unlike LayerNorm. */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  if (onWasmLlama()) return tf.engine().runKernel(RMS_NORM, { x, w: weight }, { eps }) as T;
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight) as T;
  });
}

/** The residual sum x + y and its RMS norm (one kernel on WASM, two outputs): a block's add and the next norm. */
export function addRmsNorm(x: tf.Tensor2D, y: tf.Tensor2D, weight: tf.Tensor1D, eps: number): [tf.Tensor2D, tf.Tensor2D] {
  if (onWasmLlama()) return tf.engine().runKernel(ADD_RMS_NORM, { x, y, w: weight }, { eps }) as unknown as [tf.Tensor2D, tf.Tensor2D];
  const sum = tf.add(x, y) as tf.Tensor2D;
  return [sum, rmsNorm(sum, weight, eps)];
}

/**
 * silu(gate) ⊙ up, with silu(x) = x·sigmoid(x): the gated MLP's middle. Without `up`, `gate` holds both side
 * by side ([T, 2·I]: gate_proj's outputs, then up_proj's, from one product).
 */
export function swiglu(gate: tf.Tensor2D, up?: tf.Tensor2D): tf.Tensor2D {
  // As GELU (fused.ts): one exp per element in JavaScript beats three dispatches for a decode step; a
  // prompt's rows go to TF.js's SIMD kernels.
  if ((up ? gate.size : gate.size / 2) <= 16384 && onWasmLlama()) return tf.engine().runKernel(SWIGLU, up ? { gate, up } : { gate }, {}) as tf.Tensor2D;
  return tf.tidy(() => {
    const [g, u] = up ? [gate, up] : tf.split(gate, 2, 1);
    return tf.mul(tf.mul(g, tf.sigmoid(g)), u) as tf.Tensor2D;
  });
}

/** Whether ropeAttention runs here (WASM with the fused kernels on); elsewhere the composite path attends. */
export function fusedRopeAttention(): boolean {
  return onWasmLlama();
}

export interface RopeAttentionInputs {
  /**
   * The layer's projections as q_proj, k_proj and v_proj give them (not yet normalised or rotated):
   * q [T, H·hd], k and v [T, KV·hd], or one tensor [T, (H + 2·KV)·hd] with the three side by side.
   */
  qkv: tf.Tensor2D | [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  cacheK: tf.Tensor3D; // [KV, capacity, hd], written in place
  cacheV: tf.Tensor3D;
  cos: tf.Tensor2D; // [contextLength, hd], rows by position ("rotate half" layout: dimension j pairs with j + hd/2)
  sin: tf.Tensor2D;
  qNorm?: tf.Tensor1D; // Qwen3: each head's q and k RMS-normalised (weights [hd]) before the rotation
  kNorm?: tf.Tensor1D;
}

/**
 * Grouped-query causal attention for T new positions pos..pos+T−1, on WASM (call only where
 * fusedRopeAttention()). Each new key is normalised (Qwen3) and rotated, then written with its value at its
 * position in the cache; each query, normalised and rotated, attends over positions 0..pos+t of kv head
 * ⌊h / (H/KV)⌋: softmax(q·kᵀ/√hd)·v. Nothing past the filled positions is read, so no mask. Returns [T, H·hd].
 */
export function ropeAttention(inp: RopeAttentionInputs, nHead: number, pos: number, eps: number): tf.Tensor2D {
  const { qkv, qNorm, kNorm, ...rest } = inp;
  const hd = inp.cacheK.shape[2];
  const [H, KV] = [nHead, inp.cacheK.shape[0]];
  // Where each row's q, k and v start, and a row's length, in the tensors given.
  const [q, k, v] = Array.isArray(qkv) ? qkv : [qkv, qkv, qkv];
  const at = Array.isArray(qkv) ? [0, 0, 0] : [0, H * hd, (H + KV) * hd];
  const inputs = { q, k, v, ...rest, ...(qNorm ? { qNorm } : {}), ...(kNorm ? { kNorm } : {}) };
  return tf.engine().runKernel(ROPE_ATTENTION, inputs as unknown as tf.NamedTensorMap, { nHead, pos, eps, at }) as tf.Tensor2D;
}

/** Row i of `src` (length hd, at `at`) normalised by `norm` (if any) and rotated for position p, into `out` (float64). */
function rotateRow(src: Float32Array, at: number, hd: number, norm: Float32Array | null, eps: number, cos: Float32Array, sin: Float32Array, p: number, x: Float64Array, out: Float64Array): void {
  for (let i = 0; i < hd; i++) x[i] = src[at + i];
  if (norm) {
    let ss = 0;
    for (let i = 0; i < hd; i++) ss += x[i] * x[i];
    const scale = 1 / Math.sqrt(ss / hd + eps);
    // float32 after the norm, as the composite ops hand the rotation a float32 tensor
    for (let i = 0; i < hd; i++) x[i] = Math.fround(x[i] * scale * norm[i]);
  }
  const half = hd / 2;
  const c = p * hd;
  for (let j = 0; j < half; j++) {
    out[j] = x[j] * cos[c + j] - x[j + half] * sin[c + j];
    out[j + half] = x[j + half] * cos[c + j + half] + x[j] * sin[c + j + half];
  }
}

/** Each row of length D: x · rsqrt(mean(x²) + eps) · w, float64 inside. */
function rmsRows(xs: Float32Array, ws: Float32Array, os: Float32Array, D: number, eps: number): void {
  for (let row = 0; row < xs.length; row += D) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += xs[row + i] * xs[row + i];
    const scale = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) os[row + i] = xs[row + i] * scale * ws[i];
  }
}

let registered = false;
function registerLlamaKernels(): void {
  if (registered) return;
  registered = true;
  const heapOf = (backend: unknown) => backend as WasmBackend;

  tf.registerKernel({
    kernelName: RMS_NORM,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = heapOf(backend);
      const { x, w } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
      const out = b.makeOutput(x.shape, 'float32'); // first: allocating may grow the heap and detach older views
      const [xs, ws, os] = [x, w, out].map((t) => b.typedArrayFromHeap(t));
      rmsRows(xs, ws, os, x.shape[x.shape.length - 1], (attrs as { eps: number }).eps);
      return out;
    }),
  });

  tf.registerKernel({
    kernelName: ADD_RMS_NORM,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = heapOf(backend);
      const { x, y, w } = inputs as { x: tf.TensorInfo; y: tf.TensorInfo; w: tf.TensorInfo };
      const sum = b.makeOutput(x.shape, 'float32');
      const normed = b.makeOutput(x.shape, 'float32');
      const [xs, ys, ws, ss, ns] = [x, y, w, sum, normed].map((t) => b.typedArrayFromHeap(t));
      for (let i = 0; i < xs.length; i++) ss[i] = xs[i] + ys[i]; // float32, as tf.add
      rmsRows(ss, ws, ns, x.shape[x.shape.length - 1], (attrs as { eps: number }).eps);
      return [sum, normed];
    }),
  });

  tf.registerKernel({
    kernelName: SWIGLU,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend }) => {
      const b = heapOf(backend);
      const { gate, up } = inputs as { gate: tf.TensorInfo; up?: tf.TensorInfo };
      const [T, cols] = gate.shape;
      const I = up ? cols : cols / 2; // one input: each row is [gate | up]
      const out = b.makeOutput([T, I], 'float32');
      const gs = b.typedArrayFromHeap(gate);
      const us = up ? b.typedArrayFromHeap(up) : gs;
      const os = b.typedArrayFromHeap(out);
      const [gRow, uAt] = up ? [I, 0] : [2 * I, I];
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < I; i++) {
          const g = gs[t * gRow + i];
          os[t * I + i] = (g / (1 + Math.exp(-g))) * us[t * gRow + uAt + i];
        }
      }
      return out;
    }),
  });

  tf.registerKernel({
    kernelName: ROPE_ATTENTION,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = heapOf(backend);
      const { q, k, v, cacheK, cacheV, cos, sin, qNorm, kNorm } = inputs as Record<string, tf.TensorInfo>;
      const { nHead: H, pos, eps, at } = attrs as { nHead: number; pos: number; eps: number; at: [number, number, number] };
      const [KV, cap, hd] = cacheK.shape;
      const T = q.shape[0];
      const [qRow, kRow, vRow] = [q.shape[1], k.shape[1], v.shape[1]];
      const [qAt, kAt, vAt] = at;
      const group = H / KV;
      const out = b.makeOutput([T, H * hd], 'float32');
      const heads = HeadAttention.make(backend, hd, pos + T);
      try {
        const [qs, ks, vs, kc, vc, cs, ss, os] = [q, k, v, cacheK, cacheV, cos, sin, out].map((t) => b.typedArrayFromHeap(t));
        const qn = qNorm ? b.typedArrayFromHeap(qNorm) : null;
        const kn = kNorm ? b.typedArrayFromHeap(kNorm) : null;
        const x = new Float64Array(hd);
        const row = new Float64Array(hd);
        // The new keys (normalised, rotated) and values, written in place (the cache tensors are kept, never shared).
        for (let t = 0; t < T; t++) {
          for (let g = 0; g < KV; g++) {
            const to = cacheRow(g, pos + t, cap, hd);
            rotateRow(ks, t * kRow + kAt + g * hd, hd, kn, eps, cs, ss, pos + t, x, row);
            for (let i = 0; i < hd; i++) kc[to + i] = row[i];
            vc.set(vs.subarray(t * vRow + vAt + g * hd, t * vRow + vAt + (g + 1) * hd), to);
          }
        }
        heads.bind(kc, vc, os);
        for (let t = 0; t < T; t++) {
          for (let h = 0; h < H; h++) {
            rotateRow(qs, t * qRow + qAt + h * hd, hd, qn, eps, cs, ss, pos + t, x, row);
            heads.attend(row, cacheRow(Math.floor(h / group), 0, cap, hd), pos + t + 1, (t * H + h) * hd);
          }
        }
      } finally {
        heads.dispose();
      }
      return out;
    }),
  });
}
