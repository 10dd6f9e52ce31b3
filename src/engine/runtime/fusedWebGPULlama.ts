// A Llama-family decode step on WebGPU in 4 compute dispatches per block (plus one for the embedding and one
// for the final norm and LM head), as GPT-2's (fusedWebGPU.ts), whose attention and plain product it shares:
//
//   embed        x = embed_tokens[id]                                   (embedColumn)
//   per block    qkv = rope(rms(x)·W_qkv + b)                           (rmsMatVec with rope: each thread computes
//                                                                        its column and its rotation partner's)
//                (keys and values copied into the cache: buffer copies, not dispatches)
//                x = x + attention(q, cache)·W_o (+ b)                  (attnProj: grouped-query heads)
//                m = silu(g)·u for [g | u] = rms(x)·W_gate_up (+ b)     (rmsMatVec with swiglu: gate and up columns)
//                x = x + m·W_down (+ b)                                 (lnMatVec)
//   head         logits = rms(x)·lm_headᵀ                               (rmsMatVec)
//
// Only at float32 with q/k/v and gate/up held side by side (weights.ts joins them) and without Qwen3's
// per-head q/k norms (those need the whole head before the rotation); otherwise the composite ops run.
import * as tf from '@tensorflow/tfjs';
import { reduceSnippet, WG, type Program, type WebGPUBackend } from './fusedWebGPU.ts';

const RMS_MATVEC = 'NextTokenRmsMatVec';
const EMBED_COLUMN = 'NextTokenEmbedColumn';

/** Rotary embedding of the first `width` columns (q's heads then k's), in heads of `hd`, at position `pos`. */
export interface RopeAt {
  cos: tf.Tensor2D; // [positions, hd], the Hugging Face "rotate half" layout (llama.ts ropeTables)
  sin: tf.Tensor2D;
  pos: number;
  width: number;
  hd: number;
}

/**
 * For one row x [1, K] and W [K, N]: rms(x)·W (+ bias), then either the rotary embedding of the first
 * `rope.width` columns, or SwiGLU — silu(first half)·(second half), [1, N/2]. One dispatch.
 */
export function rmsMatVec(x: tf.Tensor2D, w: tf.Tensor2D, o: { norm?: tf.Tensor1D; eps: number; bias?: tf.Tensor1D; rope?: RopeAt; swiglu?: boolean }): tf.Tensor2D {
  const inputs: Record<string, tf.Tensor> = { x, w };
  if (o.norm) inputs.g = o.norm;
  if (o.bias) inputs.bias = o.bias;
  if (o.rope) Object.assign(inputs, { cos: o.rope.cos, sin: o.rope.sin });
  const rope = o.rope ? { pos: o.rope.pos, width: o.rope.width, hd: o.rope.hd } : null;
  return tf.engine().runKernel(RMS_MATVEC, inputs, { eps: o.eps, swiglu: !!o.swiglu, rope } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** Column `id` of the token table stored transposed, table [D, V], as a row [1, D]. */
export function embedColumn(table: tf.Tensor2D, id: number): tf.Tensor2D {
  return tf.engine().runKernel(EMBED_COLUMN, { table }, { id }) as tf.Tensor2D;
}

/** Registers the kernels (once); false off WebGPU. */
export function registerLlamaDecodeKernels(): boolean {
  if (tf.getBackend() !== 'webgpu') return false;
  register();
  return true;
}

interface Has {
  norm: boolean;
  bias: boolean;
  rope: { width: number; hd: number } | null;
  swiglu: boolean;
}

function rmsMatVecProgram(K: number, Nw: number, has: Has): Program {
  const N = has.swiglu ? Nw / 2 : Nw; // output columns
  const variableNames = ['x', 'w', ...(has.norm ? ['g'] : []), ...(has.bias ? ['bias'] : []), ...(has.rope ? ['cosT', 'sinT'] : [])];
  const col = (c: string) => `colDot(${c})${has.bias ? ` + bias[${c}]` : ''}`;
  let finish = `result[c] = ${col('c')};`;
  if (has.swiglu) finish = `let gate = ${col('c')}; result[c] = gate / (1.0 + exp(-gate)) * (${col(`c + ${N}`)});`;
  if (has.rope) {
    const { width, hd } = has.rope;
    const half = hd / 2;
    // rotate_half pairs dimension i of a head with i ± hd/2: out_i = a_i·cos_i ∓ a_partner·sin_i.
    finish = `
          let a = ${col('c')};
          if (c < ${width}) {
            let i = c % ${hd};
            let first = i < ${half};
            let partner = select(c - ${half}, c + ${half}, first);
            let b = ${col('partner')};
            let at = uniforms.pos * ${hd} + i;
            result[c] = a * cosT[at] + select(b, -b, first) * sinT[at];
          } else {
            result[c] = a;
          }`;
  }
  return {
    variableNames,
    outputShape: [1, N],
    shaderKey: `nt_rmsmatvec_${K}_${Nw}_${has.norm}_${has.bias}_${has.rope ? `${has.rope.width}_${has.rope.hd}` : 'none'}_${has.swiglu}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(N / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'eps : f32, pos : i32,',
    getUserCode: () => `
      var<workgroup> red: array<f32, ${WG}>;
      var<workgroup> rstd: f32;
      fn colDot(c : i32) -> f32 {
        var acc = 0.0;
        for (var i = 0; i < ${K}; i++) { acc += ${has.norm ? 'x[i] * rstd * g[i]' : 'x[i]'} * w[i * ${Nw} + c]; }
        return acc;
      }
      fn main(index : i32) {
        let tid = i32(localId.x);
        ${has.norm ? `
        var part = 0.0;
        for (var i = tid; i < ${K}; i += ${WG}) { part += x[i] * x[i]; }
        red[tid] = part;
        ${reduceSnippet('sum')}
        if (tid == 0) { rstd = inverseSqrt(red[0] / ${K}.0 + uniforms.eps); }
        workgroupBarrier();` : ''}
        let c = index;
        // Both uniforms read in every variant: a binding the shader never uses is left out of its layout.
        if (c < ${N} && uniforms.eps >= 0.0 && uniforms.pos >= 0) {${finish}
        }
      }`,
  };
}

function embedColumnProgram(D: number, V: number): Program {
  return {
    variableNames: ['table'],
    outputShape: [1, D],
    shaderKey: `nt_embedcol_${D}_${V}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(D / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'id : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index < ${D}) { result[index] = table[index * ${V} + uniforms.id]; }
      }`,
  };
}

let registered = false;
function register(): void {
  if (registered) return;
  registered = true;
  const gpu = (backend: unknown) => backend as WebGPUBackend;
  tf.registerKernel({
    kernelName: RMS_MATVEC,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, g, bias, cos, sin } = inputs as Record<string, tf.TensorInfo | undefined>;
      const { eps, swiglu, rope } = attrs as unknown as { eps: number; swiglu: boolean; rope: { pos: number; width: number; hd: number } | null };
      const [K, Nw] = w!.shape;
      const program = rmsMatVecProgram(K, Nw, { norm: !!g, bias: !!bias, rope: rope && { width: rope.width, hd: rope.hd }, swiglu });
      const list = [x, w, g, bias, cos, sin].filter((t): t is tf.TensorInfo => !!t);
      return gpu(backend).runWebGPUProgram(program, list, 'float32', [
        { type: 'float32', data: [eps] },
        { type: 'int32', data: [rope?.pos ?? 0] },
      ]);
    },
  });
  tf.registerKernel({
    kernelName: EMBED_COLUMN,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { table } = inputs as Record<string, tf.TensorInfo>;
      const program = embedColumnProgram(table.shape[0], table.shape[1]);
      return gpu(backend).runWebGPUProgram(program, [table], 'float32', [{ type: 'int32', data: [(attrs as { id: number }).id] }]);
    },
  });
}
