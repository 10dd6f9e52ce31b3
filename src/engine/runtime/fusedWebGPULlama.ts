// A Llama-family decode step on WebGPU in 4 compute dispatches per block (plus one for the embedding and one
// for the final norm and LM head), as GPT-2's (fusedWebGPU.ts), whose attention and plain product it shares:
//
//   embed        x = embed_tokens[id]                                   (embedColumn)
//   per block    qkv = rope(qkNorm(rms(x)·W_qkv + b))                   (rmsQkvRope: a workgroup per head, so the
//                                                                        head's norm (Qwen3) and rotation partner
//                                                                        are in workgroup memory)
//                (keys and values copied into the cache: buffer copies, not dispatches)
//                x = x + attention(q, cache)·W_o (+ b)                  (attnProj: grouped-query heads)
//                m = silu(g)·u for [g | u] = rms(x)·W_gate_up (+ b)     (rmsMatVec with swiglu: gate and up columns)
//                x = x + m·W_down (+ b)                                 (lnMatVec)
//   head         logits = rms(x)·lm_headᵀ                               (rmsMatVec)
//
// Only at float32 with q/k/v and gate/up held side by side (weights.ts joins them) and heads of at most 256
// (a workgroup's threads); otherwise the composite ops run.
import * as tf from '@tensorflow/tfjs';
import { programKernel, WG, type Program } from './fusedWebGPU.ts';

const RMS_MATVEC = 'NextTokenRmsMatVec';
const RMS_QKV_ROPE = 'NextTokenRmsQkvRope';
const EMBED_COLUMN = 'NextTokenEmbedColumn';

/** The rotary tables and where to rotate: q's `heads` and k's `kvHeads` heads of `hd`, at position `pos`. */
export interface RopeAt {
  cos: tf.Tensor2D; // [positions, hd], the Hugging Face "rotate half" layout (llama.ts ropeTables)
  sin: tf.Tensor2D;
  pos: number;
  heads: number;
  kvHeads: number;
  hd: number;
}

/** The largest head this kernel takes: one workgroup thread per dimension of a head. */
export const MAX_FUSED_HEAD = 256;

/**
 * q, k and v for one row x [1, K] and W_qkv [K, (heads + 2·kvHeads)·hd]: rms(x)·W (+ bias), each q and k head
 * RMS-normalised when `qkNorm` (Qwen3's q_norm and k_norm weights side by side, [2·hd]) is given, then rotated at
 * `rope.pos`; v as it is. One dispatch. (The two norms come joined: a shader reads at most 8 storage buffers on
 * WebGPU's default limits, the output included.)
 */
export function rmsQkvRope(x: tf.Tensor2D, w: tf.Tensor2D, o: { norm: tf.Tensor1D; eps: number; bias?: tf.Tensor1D; qkNorm?: tf.Tensor1D; rope: RopeAt }): tf.Tensor2D {
  const inputs: Record<string, tf.Tensor> = { x, w, g: o.norm, cos: o.rope.cos, sin: o.rope.sin };
  if (o.bias) inputs.bias = o.bias;
  if (o.qkNorm) inputs.qkn = o.qkNorm;
  const { pos, heads, kvHeads, hd } = o.rope;
  return tf.engine().runKernel(RMS_QKV_ROPE, inputs, { eps: o.eps, pos, heads, kvHeads, hd }) as tf.Tensor2D;
}

/**
 * For one row x [1, K] and W [K, N]: rms(x)·W (+ bias), or with `swiglu` silu(first half)·(second half),
 * [1, N/2] (gate and up side by side). One dispatch.
 */
export function rmsMatVec(x: tf.Tensor2D, w: tf.Tensor2D, o: { norm: tf.Tensor1D; eps: number; bias?: tf.Tensor1D; swiglu?: boolean }): tf.Tensor2D {
  const inputs: Record<string, tf.Tensor> = { x, w, g: o.norm };
  if (o.bias) inputs.bias = o.bias;
  return tf.engine().runKernel(RMS_MATVEC, inputs, { eps: o.eps, swiglu: !!o.swiglu }) as tf.Tensor2D;
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

/** WGSL: rstd = 1/√(mean(x²) + eps) over x [K], into the workgroup variable `rstd`; every thread calls it. */
const rmsSnippet = (K: number, threads: number) => `
        var part = 0.0;
        for (var i = tid; i < ${K}; i += ${threads}) { part += x[i] * x[i]; }
        red[tid] = part;
        workgroupBarrier();
        if (tid == 0) {
          var sum = 0.0;
          for (var t = 0; t < ${threads}; t++) { sum += red[t]; }
          rstd = inverseSqrt(sum / ${K}.0 + uniforms.eps);
        }
        workgroupBarrier();`;

/** WGSL: the product of rms(x) with column c of w [K, N] (the norm's weight g folded in). */
const colDotSnippet = (K: number, N: number) => `
      fn colDot(c : i32) -> f32 {
        var acc = 0.0;
        for (var i = 0; i < ${K}; i++) { acc += x[i] * rstd * g[i] * w[i * ${N} + c]; }
        return acc;
      }`;

function rmsQkvRopeProgram(K: number, H: number, KV: number, hd: number, has: { bias: boolean; qkNorm: boolean }): Program {
  const N = (H + 2 * KV) * hd;
  const half = hd / 2;
  return {
    variableNames: ['x', 'w', 'g', 'cosT', 'sinT', ...(has.bias ? ['bias'] : []), ...(has.qkNorm ? ['qkn'] : [])],
    outputShape: [1, N],
    shaderKey: `nt_rmsqkvrope_${K}_${H}_${KV}_${hd}_${has.bias}_${has.qkNorm}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [H + 2 * KV, 1, 1], // a workgroup per head, a thread per dimension
    workgroupSize: [hd, 1, 1],
    uniforms: 'eps : f32, pos : i32,',
    getUserCode: () => `
      var<workgroup> red: array<f32, ${hd}>;
      var<workgroup> rstd: f32;
      var<workgroup> head: array<f32, ${hd}>;
      var<workgroup> headRstd: f32;
      ${colDotSnippet(K, N)}
      fn main(index : i32) {
        let tid = i32(localId.x);
        ${rmsSnippet(K, hd)}
        let c = index; // every column exists: N is a whole number of heads
        let h = c / ${hd}; // the head: q's, then k's, then v's
        var a = colDot(c)${has.bias ? ' + bias[c]' : ''};
        ${has.qkNorm ? `
        // Qwen3: each q and k head RMS-normalised over its ${hd} dimensions before the rotation.
        head[tid] = a * a;
        workgroupBarrier();
        if (tid == 0) {
          var ss = 0.0;
          for (var t = 0; t < ${hd}; t++) { ss += head[t]; }
          headRstd = inverseSqrt(ss / ${hd}.0 + uniforms.eps);
        }
        workgroupBarrier();
        if (h < ${H}) { a = a * headRstd * qkn[tid]; } else if (h < ${H + KV}) { a = a * headRstd * qkn[${hd} + tid]; }
        workgroupBarrier();` : ''}
        head[tid] = a;
        workgroupBarrier();
        if (h < ${H + KV} && uniforms.pos >= 0) {
          // rotate_half pairs dimension i with i ± hd/2: out_i = a_i·cos_i ∓ a_partner·sin_i.
          let first = tid < ${half};
          let b = head[select(tid - ${half}, tid + ${half}, first)];
          let at = uniforms.pos * ${hd} + tid;
          result[c] = a * cosT[at] + select(b, -b, first) * sinT[at];
        } else {
          result[c] = a;
        }
      }`,
  };
}

function rmsMatVecProgram(K: number, Nw: number, has: { bias: boolean; swiglu: boolean }): Program {
  const N = has.swiglu ? Nw / 2 : Nw; // output columns
  const col = (c: string) => `colDot(${c})${has.bias ? ` + bias[${c}]` : ''}`;
  const finish = has.swiglu ? `let gate = ${col('c')}; result[c] = gate / (1.0 + exp(-gate)) * (${col(`c + ${N}`)});` : `result[c] = ${col('c')};`;
  return {
    variableNames: ['x', 'w', 'g', ...(has.bias ? ['bias'] : [])],
    outputShape: [1, N],
    shaderKey: `nt_rmsmatvec_${K}_${Nw}_${has.bias}_${has.swiglu}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(N / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'eps : f32,',
    getUserCode: () => `
      var<workgroup> red: array<f32, ${WG}>;
      var<workgroup> rstd: f32;
      ${colDotSnippet(K, Nw)}
      fn main(index : i32) {
        let tid = i32(localId.x);
        ${rmsSnippet(K, WG)}
        let c = index;
        if (c < ${N}) { ${finish} }
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
  programKernel(RMS_QKV_ROPE, ({ x, w, g, cos, sin, bias, qkn }, attrs) => {
    const { eps, pos, heads, kvHeads, hd } = attrs as { eps: number; pos: number; heads: number; kvHeads: number; hd: number };
    return {
      program: rmsQkvRopeProgram(w!.shape[0], heads, kvHeads, hd, { bias: !!bias, qkNorm: !!qkn }),
      inputs: [x, w, g, cos, sin, bias, qkn],
      uniforms: [{ type: 'float32', data: [eps] }, { type: 'int32', data: [pos] }],
    };
  });
  programKernel(RMS_MATVEC, ({ x, w, g, bias }, attrs) => {
    const { eps, swiglu } = attrs as { eps: number; swiglu: boolean };
    const [K, Nw] = w!.shape;
    return { program: rmsMatVecProgram(K, Nw, { bias: !!bias, swiglu }), inputs: [x, w, g, bias], uniforms: [{ type: 'float32', data: [eps] }] };
  });
  programKernel(EMBED_COLUMN, ({ table }, attrs) => ({
    program: embedColumnProgram(table!.shape[0], table!.shape[1]),
    inputs: [table],
    uniforms: [{ type: 'int32', data: [(attrs as { id: number }).id] }],
  }));
}
