// Quantized products on WebGPU: the Q8_0 / Q4_0 blocks kept on the GPU (uploaded once, as two tensors: the
// scales as float32, the quants packed four bytes to an int32 word) and multiplied by float32 activations in
// one WGSL dispatch. A model built on WebGPU uploads all its blocks at once and lets the arena's memory go
// (placeOnGpu), so the blocks are held once, on the GPU; rows (an embedding lookup) and the dequantized matrix
// (the composite ops autodiff differentiates) are then read from there too, by a second small program. One thread per output (row t, column n): per block, the 32 products
// summed in order, times the block's scale, added up block by block. Another summation order than the WASM
// kernel's (both float32): the tests hold the two to 1e-4 of the float64 product of the dequantized weights.
import * as tf from '@tensorflow/tfjs';
import { uploadNow } from './backend.ts';
import { programKernel, type Program } from './fusedWebGPU.ts';
import { QK, type QuantArena, type QuantMatrix } from './quant.ts';

const DENSE_Q_GPU = 'NextTokenDenseQuantizedWebGPU';
const ROWS_Q_GPU = 'NextTokenQuantizedRowsWebGPU';
const WG = 64;

interface GpuBlocks {
  scales: tf.Tensor1D;
  quants: tf.Tensor1D; // int32 words: the quants' bytes in order
}
const onGpu = new WeakMap<QuantMatrix, GpuBlocks>();

/** The matrix's blocks as GPU tensors (made on first use, uploaded at once, freed with the model's arena). */
function gpuBlocks(m: QuantMatrix): GpuBlocks {
  let g = onGpu.get(m);
  if (!g) {
    const b = m.arena.blocks(m);
    const bytes = new Uint8Array(b.quants.buffer, b.quants.byteOffset, b.quants.byteLength);
    const words = new Int32Array(bytes.byteLength / 4);
    new Uint8Array(words.buffer).set(bytes);
    // Uploaded now: TF.js would otherwise keep these arrays in the page until a kernel first reads them.
    g = { scales: tf.keep(uploadNow(tf.tensor1d(Float32Array.from(b.scales)))), quants: tf.keep(uploadNow(tf.tensor1d(words, 'int32'))) };
    onGpu.set(m, g);
    const held = g;
    m.arena.onDispose(() => {
      held.scales.dispose();
      held.quants.dispose();
    });
  }
  return g;
}

/**
 * Uploads every matrix of `arena` to the GPU and lets the arena's own memory go: the blocks are then held once.
 * For a model built on WebGPU (its tensors live there already; a lost device reloads the model from its files).
 */
export function placeOnGpu(arena: QuantArena): void {
  for (const m of arena.matrices) gpuBlocks(m);
  arena.releaseToGpu();
}

/** Whether the matrix's blocks are on the GPU (then rowsWebGPU and dequantizedTransposedWebGPU can read them). */
export function isOnGpu(m: QuantMatrix): boolean {
  return onGpu.has(m);
}

/** Rows `ids` of W [N, K], dequantized from the GPU's blocks: [T, K] (an embedding lookup). */
export function rowsWebGPU(m: QuantMatrix, ids: number[]): tf.Tensor2D {
  register();
  const { scales, quants } = gpuBlocks(m);
  return tf.tidy(() => tf.engine().runKernel(ROWS_Q_GPU, { ids: tf.tensor1d(ids, 'int32'), scales, quants }, { type: m.type, K: m.cols } as unknown as tf.NamedAttrMap) as tf.Tensor2D);
}

/** Wᵀ [K, N], dequantized from the GPU's blocks: for the composite ops (gradients). */
export function dequantizedTransposedWebGPU(m: QuantMatrix): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(rowsWebGPU(m, Array.from({ length: m.rows }, (_, n) => n))) as tf.Tensor2D);
}

/** x [T, K] · Wᵀ (+ bias) on WebGPU with W's blocks on the GPU → [T, N]. */
export function quantDenseWebGPU(x: tf.Tensor2D, w: QuantMatrix, bias?: tf.Tensor1D): tf.Tensor2D {
  register();
  const { scales, quants } = gpuBlocks(w);
  return tf.engine().runKernel(DENSE_Q_GPU, bias ? { x, scales, quants, bias } : { x, scales, quants }, { type: w.type, N: w.rows, K: w.cols } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

function program(type: 'q8_0' | 'q4_0', T: number, N: number, K: number, bias: boolean): Program {
  const B = K / QK;
  const block =
    type === 'q8_0'
      ? `
            for (var wi = 0; wi < 8; wi++) {
              let word = quants[blk * 8 + wi];
              let xi = xb + wi * 4;
              s += f32(extractBits(word, 0u, 8u)) * x[xi] + f32(extractBits(word, 8u, 8u)) * x[xi + 1]
                 + f32(extractBits(word, 16u, 8u)) * x[xi + 2] + f32(extractBits(word, 24u, 8u)) * x[xi + 3];
            }`
      : `
            for (var wi = 0; wi < 4; wi++) {
              let word = u32(quants[blk * 4 + wi]);
              for (var k = 0u; k < 4u; k++) {
                let byte = extractBits(word, 8u * k, 8u);
                let j = wi * 4 + i32(k); // low nibble: element j; high nibble: element j + 16
                s += (f32(byte & 15u) - 8.0) * x[xb + j] + (f32(byte >> 4u) - 8.0) * x[xb + j + 16];
              }
            }`;
  return {
    variableNames: ['x', 'scales', 'quants', ...(bias ? ['bias'] : [])],
    outputShape: [T, N],
    shaderKey: `nt_denseq_${type}_${T}_${N}_${K}_${bias}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil((T * N) / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'n : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        // Read from the uniforms: a binding the shader never uses is left out of its layout (see fusedWebGPU.ts).
        if (index < ${T * N} && uniforms.n == ${N}) {
          let t = index / ${N};
          let n = index % ${N};
          var acc = 0.0;
          for (var b = 0; b < ${B}; b++) {
            let blk = n * ${B} + b;
            let xb = t * ${K} + b * ${QK};
            var s = 0.0;${block}
            acc += s * scales[blk];
          }
          ${bias ? 'acc += bias[n];' : ''}
          result[index] = acc;
        }
      }`,
  };
}

/** Rows of a quantized matrix as floats: one thread per (row, element), d · q, as dequantizeRow in quant.ts. */
function rowsProgram(type: 'q8_0' | 'q4_0', T: number, K: number): Program {
  const B = K / QK;
  const q =
    type === 'q8_0'
      ? `let word = quants[blk * 8 + j / 4];
          let q = f32(extractBits(word, u32(j % 4) * 8u, 8u));` // sign-extended: the words are int32
      : `let byte = extractBits(u32(quants[blk * 4 + (j % 16) / 4]), u32(j % 4) * 8u, 8u);
          let q = select(f32(byte & 15u), f32(byte >> 4u), j >= 16) - 8.0;`;
  return {
    variableNames: ['ids', 'scales', 'quants'],
    outputShape: [T, K],
    shaderKey: `nt_rowsq_${type}_${T}_${K}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil((T * K) / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'k : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index < ${T * K} && uniforms.k == ${K}) {
          let row = ids[index / ${K}];
          let col = index % ${K};
          let blk = row * ${B} + col / ${QK};
          let j = col % ${QK};
          ${q}
          result[index] = scales[blk] * q;
        }
      }`,
  };
}

let registered = false;
function register(): void {
  if (registered) return;
  registered = true;
  programKernel(ROWS_Q_GPU, ({ ids, scales, quants }, attrs) => {
    const { type, K } = attrs as { type: 'q8_0' | 'q4_0'; K: number };
    return { program: rowsProgram(type, ids!.shape[0], K), inputs: [ids, scales, quants], uniforms: [{ type: 'int32', data: [K] }] };
  });
  programKernel(DENSE_Q_GPU, ({ x, scales, quants, bias }, attrs) => {
    const { type, N, K } = attrs as { type: 'q8_0' | 'q4_0'; N: number; K: number };
    return { program: program(type, x!.shape[0], N, K, !!bias), inputs: [x, scales, quants, bias], uniforms: [{ type: 'int32', data: [N] }] };
  });
}
