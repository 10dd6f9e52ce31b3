// Fused kernels: one kernel where TF.js's own ops need many.
//
// On WASM every TF.js op costs a dispatch (JavaScript, a call into WebAssembly, a fresh tensor) whatever
// its size; a decode step of GPT-2 ran ~60 of them per layer, most of them on vectors of a few hundred
// floats, where the dispatch costs more than the arithmetic. These kernels are registered with TF.js
// (`tf.registerKernel`, the backend's own extension point) and compute in JavaScript directly on the
// WASM heap, in float64, storing float32: a layer norm is one kernel instead of nine, GELU one instead
// of six, attention (write the new positions' keys and values into the cache, attend over the filled
// positions only, every head) one instead of about fifteen, the embedding one instead of six, and each
// matrix product one instead of four.
//
// Other backends (WebGPU, WebGL, CPU) and anything that needs gradients get the composite TF.js ops,
// the readable definition of the same functions (and what the tests compare the fused kernels with).
import * as tf from '@tensorflow/tfjs';
import { cacheRow } from './attention.ts';
import { HeadAttention } from './headAttention.ts';

const LAYER_NORM = 'NextTokenLayerNorm';
const GELU = 'NextTokenGelu';
const CACHED_ATTENTION = 'NextTokenCachedAttention';
const EMBED = 'NextTokenEmbedTokens';
const DENSE = 'NextTokenDense';
const ADD_LAYER_NORM = 'NextTokenAddLayerNorm';

/** Set false to run the composite ops everywhere (tests compare the two; gradients need the composite ones). */
export const fusedKernels = { enabled: true };

/** Runs `fn` on the composite ops (the fused kernels have no gradients): for what autodiff differentiates. */
export function withCompositeKernels<T>(fn: () => T): T {
  const was = fusedKernels.enabled;
  fusedKernels.enabled = false;
  try {
    return fn();
  } finally {
    fusedKernels.enabled = was;
  }
}

export interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * A WASM kernel whose outputs are freed if it throws after making them: the engine registers a kernel's outputs
 * only once it returns, so nothing else would ever free them (a bad position, a heap that cannot grow). The
 * kernel is handed a view of the backend that notes each output it makes.
 */
export function freeOutputsOnThrow(kernelFunc: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const b = args.backend as unknown as NotedBackend;
    const n = notingViewOf(b);
    n.made.length = 0; // kernels do not nest: one list per backend, emptied at each call
    try {
      return kernelFunc({ ...args, backend: n.view });
    } catch (e) {
      for (const t of n.made.splice(0)) b.disposeData(t.dataId, true); // what the kernel freed itself is already gone: a no-op
      throw e;
    }
  };
}

type NotedBackend = WasmBackend & { disposeData(dataId: object, force?: boolean): boolean };
const notingViews = new WeakMap<object, { view: tf.KernelBackend; made: tf.TensorInfo[] }>();

/**
 * The backend as a kernel sees it, noting each output it makes; made once per backend (not per call: ~250
 * kernels a token). Read-only use only: a backend method that writes to `this` through the view would write to
 * the view. The kernels wrapped call makeOutput, typedArrayFromHeap and disposeData, which only read `this`.
 */
function notingViewOf(b: NotedBackend): { view: tf.KernelBackend; made: tf.TensorInfo[] } {
  let n = notingViews.get(b);
  if (!n) {
    const made: tf.TensorInfo[] = [];
    const view = Object.create(b, {
      makeOutput: {
        value: (...a: Parameters<WasmBackend['makeOutput']>) => {
          const t = b.makeOutput(...a);
          made.push(t);
          return t;
        },
      },
    }) as tf.KernelBackend;
    n = { view, made };
    notingViews.set(b, n);
  }
  return n;
}

export function onWasm(): boolean {
  if (!fusedKernels.enabled || tf.getBackend() !== 'wasm') return false;
  registerWasmKernels();
  return true;
}

/** LayerNorm over the last axis: (x − mean) / √(var + eps) · g + b. */
export function layerNorm(x: tf.Tensor2D, p: { g: tf.Tensor1D; b: tf.Tensor1D }, eps: number): tf.Tensor2D {
  if (onWasm()) return tf.engine().runKernel(LAYER_NORM, { x, g: p.g, b: p.b }, { eps }) as tf.Tensor2D;
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), p.g), p.b);
  });
}

/** The residual sum x + y and its layer norm, as one kernel on WASM (two outputs): a block's add and the next norm. */
export function addLayerNorm(x: tf.Tensor2D, y: tf.Tensor2D, p: { g: tf.Tensor1D; b: tf.Tensor1D }, eps: number): [tf.Tensor2D, tf.Tensor2D] {
  if (onWasm()) return tf.engine().runKernel(ADD_LAYER_NORM, { x, y, g: p.g, b: p.b }, { eps }) as unknown as [tf.Tensor2D, tf.Tensor2D];
  const sum = tf.add(x, y) as tf.Tensor2D;
  return [sum, layerNorm(sum, p, eps)];
}

/** (x − mean) / √(var + eps) · g + b for each row of length D, float64 inside. */
function normRows(xs: Float32Array, gs: Float32Array, bs: Float32Array, os: Float32Array, D: number, eps: number): void {
  for (let row = 0; row < xs.length; row += D) {
    let mean = 0;
    for (let i = 0; i < D; i++) mean += xs[row + i];
    mean /= D;
    let variance = 0;
    for (let i = 0; i < D; i++) {
      const d = xs[row + i] - mean;
      variance += d * d;
    }
    const scale = 1 / Math.sqrt(variance / D + eps);
    for (let i = 0; i < D; i++) os[row + i] = (xs[row + i] - mean) * scale * gs[i] + bs[i];
  }
}

const GELU_K = 2 * Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation ("gelu_new"), as x·sigmoid(2·√(2/π)·(x + 0.044715x³)): the same function. */
export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  // One exp per element in JavaScript beats six dispatches for a decode step's few thousand floats; for a
  // prompt's rows, TF.js's SIMD kernels are faster (measured: 59 ms vs ~8 ms for 47 rows of GPT-2).
  if (x.size <= 16384 && onWasm()) return tf.engine().runKernel(GELU, { x }, {}) as tf.Tensor2D;
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), GELU_K);
    return tf.mul(x, tf.sigmoid(inner));
  });
}

/**
 * Causal attention for T new positions on WASM, or null where the fused kernel does not apply (use the
 * composite path).
 *
 * `qkv` is the projected rows [T, 3·H·hd] (queries, keys, values side by side, heads in order, as
 * GPT-2's c_attn lays them out) for positions pos..pos+T−1. Their keys and values are written into the
 * caches [H, capacity, hd], then row t of each head attends over positions 0..pos+t: softmax(q·kᵀ/√hd)·v.
 * Nothing past the filled positions is read, so no mask is needed. Returns [T, H·hd].
 */
export function cachedAttention(qkv: tf.Tensor2D, k: tf.Tensor3D, v: tf.Tensor3D, pos: number): tf.Tensor2D | null {
  if (!onWasm() || k.shape[0] * k.shape[2] * 3 !== qkv.shape[1]) return null;
  return tf.engine().runKernel(CACHED_ATTENTION, { qkv, k, v }, { pos }) as tf.Tensor2D;
}

/** x = wte[ids] + wpe[pos..] as [T, D] on WASM, from the token table stored transposed (wteT [D, V]); null elsewhere. */
export function embedTokens(wteT: tf.Tensor2D, wpe: tf.Tensor2D, ids: number[], pos: number): tf.Tensor2D | null {
  if (!onWasm()) return null;
  return tf.engine().runKernel(EMBED, { wteT, wpe }, { ids, pos }) as tf.Tensor2D;
}

/**
 * x·W (+ bias) on WASM as one kernel: TF.js's own fused matMul (XNNPACK) called with the 3-D views it
 * wants, instead of the op that reshapes to 3-D and back around it (three more kernels per product); null elsewhere.
 */
export function denseWasm(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D | null {
  if (!onWasm()) return null;
  return tf.engine().runKernel(DENSE, bias ? { x, w, bias } : { x, w }, {}) as tf.Tensor2D;
}

const view = (t: tf.TensorInfo): tf.TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });

let registered = false;
function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const heapOf = (backend: unknown) => backend as WasmBackend;

  tf.registerKernel({
    kernelName: LAYER_NORM,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = heapOf(backend);
      const { x, g, b: beta } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo; b: tf.TensorInfo };
      const eps = (attrs as { eps: number }).eps;
      const out = b.makeOutput(x.shape, 'float32'); // first: allocating may grow the heap and detach older views
      const [xs, gs, bs, os] = [x, g, beta, out].map((t) => b.typedArrayFromHeap(t));
      normRows(xs, gs, bs, os, x.shape[x.shape.length - 1], eps);
      return out;
    }),
  });

  tf.registerKernel({
    kernelName: ADD_LAYER_NORM,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = heapOf(backend);
      const { x, y, g, b: beta } = inputs as { x: tf.TensorInfo; y: tf.TensorInfo; g: tf.TensorInfo; b: tf.TensorInfo };
      const sum = b.makeOutput(x.shape, 'float32');
      const normed = b.makeOutput(x.shape, 'float32');
      const [xs, ys, gs, bs, ss, ns] = [x, y, g, beta, sum, normed].map((t) => b.typedArrayFromHeap(t));
      for (let i = 0; i < xs.length; i++) ss[i] = xs[i] + ys[i]; // float32, as tf.add
      normRows(ss, gs, bs, ns, x.shape[x.shape.length - 1], (attrs as { eps: number }).eps);
      return [sum, normed];
    }),
  });

  tf.registerKernel({
    kernelName: GELU,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend }) => {
      const b = heapOf(backend);
      const { x } = inputs as { x: tf.TensorInfo };
      const out = b.makeOutput(x.shape, 'float32');
      const xs = b.typedArrayFromHeap(x);
      const os = b.typedArrayFromHeap(out);
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i];
        os[i] = v / (1 + Math.exp(-GELU_K * (v + 0.044715 * v * v * v)));
      }
      return out;
    }),
  });

  tf.registerKernel({
    kernelName: CACHED_ATTENTION,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = heapOf(backend);
      const { qkv, k, v } = inputs as { qkv: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
      const pos = (attrs as { pos: number }).pos;
      const [H, cap, hd] = k.shape;
      const D = H * hd;
      const T = qkv.shape[0];
      const out = b.makeOutput([T, D], 'float32');
      const heads = HeadAttention.make(backend, hd, pos + T);
      try {
        const [rows, ks, vs, os] = [qkv, k, v, out].map((t) => b.typedArrayFromHeap(t));
        // The new keys and values, written in place (the cache tensors are kept, never shared).
        for (let t = 0; t < T; t++) {
          for (let h = 0; h < H; h++) {
            const at = cacheRow(h, pos + t, cap, hd);
            ks.set(rows.subarray(t * 3 * D + D + h * hd, t * 3 * D + D + (h + 1) * hd), at);
            vs.set(rows.subarray(t * 3 * D + 2 * D + h * hd, t * 3 * D + 2 * D + (h + 1) * hd), at);
          }
        }
        heads.bind(ks, vs, os);
        for (let t = 0; t < T; t++) {
          for (let h = 0; h < H; h++) heads.attend(rows.subarray(t * 3 * D + h * hd, t * 3 * D + (h + 1) * hd), cacheRow(h, 0, cap, hd), pos + t + 1, t * D + h * hd);
        }
      } finally {
        heads.dispose();
      }
      return out;
    }),
  });

  tf.registerKernel({
    kernelName: DENSE,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const { x, w, bias } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
      const matMul = tf.getKernel('_FusedMatMul', 'wasm')!.kernelFunc;
      // A reshape on WASM is this: the same data, another shape (nothing is copied).
      const out = matMul({
        inputs: { a: { ...view(x), shape: [1, ...x.shape] }, b: { ...view(w), shape: [1, ...w.shape] }, ...(bias ? { bias } : {}) },
        backend,
        attrs: { transposeA: false, transposeB: false, activation: 'linear', leakyreluAlpha: 0 },
      }) as tf.TensorInfo;
      return { ...out, shape: [x.shape[0], w.shape[1]] };
    },
  });

  tf.registerKernel({
    kernelName: EMBED,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = heapOf(backend);
      const { wteT, wpe } = inputs as { wteT: tf.TensorInfo; wpe: tf.TensorInfo };
      const { ids, pos } = attrs as { ids: number[]; pos: number };
      const [D, V] = wteT.shape;
      const out = b.makeOutput([ids.length, D], 'float32');
      const [tok, position, os] = [wteT, wpe, out].map((t) => b.typedArrayFromHeap(t));
      for (let t = 0; t < ids.length; t++) {
        const p = (pos + t) * D;
        for (let i = 0; i < D; i++) os[t * D + i] = tok[i * V + ids[t]] + position[p + i];
      }
      return out;
    }),
  });
}
