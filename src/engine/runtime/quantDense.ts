// Products and lookups with quantized weights (quant.ts), as TF.js tensors in and out.
//
// On WASM the product is one registered kernel: the activations are copied from TF.js's heap to the
// matrix's arena, quant.wat multiplies them by the blocks in place, the result is copied back (both copies
// are the size of a few activation rows; the weights, the large part, are read once and never copied).
// On WebGPU the blocks go to the GPU once and a WGSL kernel multiplies them (quantWebGPU.ts). Elsewhere (CPU,
// WebGL, and the composite ops autodiff differentiates) the matrix is dequantized for the call and multiplied by
// TF.js's own matMul: the same function, float32 weights built per call, so slow.
import * as tf from '@tensorflow/tfjs';
import { freeOutputsOnThrow, fusedKernels, onWasm, type WasmBackend } from './fused.ts';
import { dequantizedTransposedWebGPU, isOnGpu, quantDenseWebGPU, rowsWebGPU } from './quantWebGPU.ts';
import type { QuantMatrix } from './quant.ts';

const DENSE_Q = 'NextTokenDenseQuantized';

/** x [T, K] · Wᵀ (+ bias) for a quantized W [N, K] → [T, N]. */
export function quantDense(x: tf.Tensor2D, w: QuantMatrix, bias?: tf.Tensor1D): tf.Tensor2D {
  if (x.shape[1] !== w.cols) throw new Error(`quantized product: rows of ${x.shape[1]} against a matrix of rows ${w.cols}`);
  if (onWasm()) {
    registerQuantKernel();
    return tf.engine().runKernel(DENSE_Q, bias ? { x, bias } : { x }, { matrix: w } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  const gpu = tf.getBackend() === 'webgpu';
  if (fusedKernels.enabled && gpu) return quantDenseWebGPU(x, w, bias);
  // The blocks only on the GPU (a model built there): dequantized there.
  const dequantized = () => (gpu && isOnGpu(w) ? dequantizedTransposedWebGPU(w) : tf.tensor2d(w.dequantizedTransposed(), [w.cols, w.rows]));
  return tf.tidy(() => tf.fused.matMul({ a: x, b: dequantized(), bias }) as tf.Tensor2D);
}

/** Rows `ids` of a quantized table [V, D] (the token embedding), dequantized: [T, D]. */
export function quantRows(table: QuantMatrix, ids: number[]): tf.Tensor2D {
  if (tf.getBackend() === 'webgpu' && isOnGpu(table)) return rowsWebGPU(table, ids);
  const out = new Float32Array(ids.length * table.cols);
  ids.forEach((id, t) => table.row(id, out, t * table.cols));
  return tf.tensor2d(out, [ids.length, table.cols]);
}

let registered = false;
function registerQuantKernel(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: DENSE_Q,
    backendName: 'wasm',
    kernelFunc: freeOutputsOnThrow(({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackend;
      const { x, bias } = inputs as { x: tf.TensorInfo; bias?: tf.TensorInfo };
      const m = (attrs as unknown as { matrix: QuantMatrix }).matrix;
      const T = x.shape[0];
      const out = b.makeOutput([T, m.rows], 'float32'); // first: allocating may grow the heap and detach older views
      const y = m.matmul(b.typedArrayFromHeap(x), T);
      const os = b.typedArrayFromHeap(out);
      if (bias) {
        const bs = b.typedArrayFromHeap(bias);
        for (let i = 0; i < y.length; i++) os[i] = y[i] + bs[i % m.rows];
      } else os.set(y);
      return out;
    }),
  });
}
