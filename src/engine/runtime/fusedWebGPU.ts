// A GPT-2 decode step on WebGPU in 4 compute dispatches per block (plus one for the embedding and one
// for the final norm and LM head), instead of ~45 with TF.js's own kernels.
//
// Each dispatch has a fixed cost (a bind group, a uniform buffer, a pass on the queue) however small its
// work, and one token's step is mostly small work. So each kernel does what would otherwise need a
// round trip through memory and a dispatch of its own:
//
//   embed        x = wte[id] + wpe[pos]
//   per block    qkv = ln_1(x)·W_attn + b                         (lnMatVec: the norm computed by every workgroup)
//                (keys and values copied into the cache: buffer copies, not dispatches)
//                x = x + attention(q, cache)·W_proj + b            (attnProj: every workgroup attends, then projects)
//                m = gelu(ln_2(x)·W_fc + b)                       (lnMatVec)
//                x = x + m·W_proj + b                              (lnMatVec)
//   head         logits = ln_f(x)·wteᵀ                             (lnMatVec)
//
// The Llama family's step (fusedWebGPULlama.ts) shares attnProj, writeCacheRow and lnMatVec with it.
//
// The kernels are TF.js programs run through the backend's own runWebGPUProgram (its pipeline cache, its
// command encoder, its buffers), registered as kernels with tf.registerKernel, so tensors, tidy and
// dispose work as for any op. Arithmetic is float32 in another order than TF.js's: the float64 reference
// tests hold it to the same 1e-4 as before.
import * as tf from '@tensorflow/tfjs';
import { fusedKernels } from './fused.ts';
import { copyIntoCacheWebGPU } from './attention.ts';
import { webgpuDevice } from './tfjsInternals.ts';

const LN_MATVEC = 'NextTokenLnMatVec';
const ATTN_PROJ = 'NextTokenAttnProj';
const EMBED = 'NextTokenEmbed';
export const WG = 64; // threads per workgroup: one output column each

export interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  getUserCode(): string;
}
export type Uniform = { type: 'int32' | 'float32'; data: number[] };
export interface WebGPUBackend {
  runWebGPUProgram(p: Program, inputs: tf.TensorInfo[], dtype: 'float32', uniforms: Uniform[]): tf.TensorInfo;
}

/**
 * Whether the fused decode step runs now (WebGPU, fused kernels on) for a cache of `capacity` positions and an
 * attention output `D` wide (heads × head size). Its attention keeps every position's score in workgroup memory (attnProjProgram): where that would pass the
 * device's limit (16 KB by default: about 3,000 positions at GPT-2's width) the step takes the composite path,
 * never an unchecked overflow.
 */
export function webgpuDecodeStep(capacity: number, D: number): boolean {
  if (!fusedKernels.enabled || tf.getBackend() !== 'webgpu') return false;
  if (attnProjWorkgroupBytes(capacity, D) > (webgpuDevice()?.limits.maxComputeWorkgroupStorageSize ?? 16384)) return false;
  register();
  return true;
}

/** Workgroup memory of the fused attention for a cache of `capacity` positions: the reduction row, the scores and the head outputs. */
export function attnProjWorkgroupBytes(capacity: number, D: number): number {
  return 4 * (WG + capacity + D);
}

export interface Norm {
  g: tf.Tensor1D;
  b: tf.Tensor1D;
}

/** act(norm(x)·W + bias) + residual for one row x [1, K], W [K, N]: one dispatch. */
export function lnMatVec(x: tf.Tensor2D, w: tf.Tensor2D, o: { bias?: tf.Tensor1D; norm?: Norm; eps?: number; gelu?: boolean; residual?: tf.Tensor2D }): tf.Tensor2D {
  const inputs: Record<string, tf.Tensor> = { x, w };
  if (o.bias) inputs.bias = o.bias;
  if (o.norm) Object.assign(inputs, { g: o.norm.g, b: o.norm.b });
  if (o.residual) inputs.res = o.residual;
  return tf.engine().runKernel(LN_MATVEC, inputs, { eps: o.eps ?? 1e-5, gelu: !!o.gelu }) as tf.Tensor2D;
}

/**
 * x + (softmax(q·kᵀ/√hd)·v over positions 0..pos, every head)·W (+ bias), for q the first `heads`·hd values of
 * qkv [1, …] and caches [KV, capacity, hd]. With grouped-query attention (KV < heads) query head h reads kv
 * head floor(h / (heads / KV)); W is [heads·hd, N] (N need not be heads·hd: Llama's head_dim is free).
 */
export function attnProj(qkv: tf.Tensor2D, k: tf.Tensor3D, v: tf.Tensor3D, w: tf.Tensor2D, bias: tf.Tensor1D | undefined, residual: tf.Tensor2D, pos: number, heads = k.shape[0]): tf.Tensor2D {
  return tf.engine().runKernel(ATTN_PROJ, { qkv, k, v, w, ...(bias ? { bias } : {}), res: residual }, { pos, heads }) as tf.Tensor2D;
}

/** wteT[:, id] + wpe[pos] as [1, D], for the LM head stored transposed, wteT [D, V]. */
export function embed(wteT: tf.Tensor2D, wpe: tf.Tensor2D, id: number, pos: number): tf.Tensor2D {
  return tf.engine().runKernel(EMBED, { wteT, wpe }, { id, pos }) as tf.Tensor2D;
}

/**
 * Copies this step's keys and values into the caches [KV, capacity, hd] at `pos`: from qkv [1, qWidth + 2·KV·hd]
 * (queries first, then keys, then values), 2·KV buffer copies, in order with the kernels.
 */
export function writeCacheRow(qkv: tf.Tensor2D, k: tf.Tensor3D, v: tf.Tensor3D, pos: number, qWidth = k.shape[0] * k.shape[2]): void {
  const [KV, , hd] = k.shape;
  copyIntoCacheWebGPU(qkv, (h) => qWidth + h * hd, hd, k, pos);
  copyIntoCacheWebGPU(qkv, (h) => qWidth + KV * hd + h * hd, hd, v, pos);
}

const GELU_K = 2 * Math.sqrt(2 / Math.PI);

/** WGSL: sum (or max) of `red` across the workgroup into red[0]; every thread calls it (barriers in uniform control flow). */
const reduceSnippet = (op: 'sum' | 'max') => `
  workgroupBarrier();
  for (var s = ${WG / 2}; s > 0; s = s >> 1) {
    if (tid < s) { red[tid] = ${op === 'sum' ? 'red[tid] + red[tid + s]' : 'max(red[tid], red[tid + s])'}; }
    workgroupBarrier();
  }`;

function lnMatVecProgram(K: number, N: number, has: { bias: boolean; norm: boolean; gelu: boolean; res: boolean }): Program {
  const variableNames = ['x', 'w', ...(has.bias ? ['bias'] : []), ...(has.norm ? ['g', 'b'] : []), ...(has.res ? ['res'] : [])];
  return {
    variableNames,
    outputShape: [1, N],
    shaderKey: `nt_lnmatvec_${K}_${N}_${has.bias}_${has.norm}_${has.gelu}_${has.res}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(N / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'eps : f32,',
    getUserCode: () => `
      var<workgroup> red: array<f32, ${WG}>;
      fn main(index : i32) {
        let tid = i32(localId.x);
        var mean = 0.0;
        var rstd = 1.0;
        ${has.norm ? `
        var part = 0.0;
        for (var i = tid; i < ${K}; i += ${WG}) { part += x[i]; }
        red[tid] = part;
        ${reduceSnippet('sum')}
        mean = red[0] / ${K}.0;
        workgroupBarrier();
        part = 0.0;
        for (var i = tid; i < ${K}; i += ${WG}) { let d = x[i] - mean; part += d * d; }
        red[tid] = part;
        ${reduceSnippet('sum')}
        rstd = inverseSqrt(red[0] / ${K}.0 + uniforms.eps);` : ''}
        let c = index;
        // Read from the uniforms in every variant: a binding the shader never uses is left out of its
        // layout, and TF.js binds all of them (the dispatch would fail validation and write nothing).
        if (c < uniforms.outShape[1] && uniforms.eps >= 0.0) {
          var acc = 0.0;
          for (var i = 0; i < ${K}; i++) {
            ${has.norm ? 'let xi = (x[i] - mean) * rstd * g[i] + b[i];' : 'let xi = x[i];'}
            acc += xi * w[i * ${N} + c];
          }
          ${has.bias ? 'acc += bias[c];' : ''}
          ${has.gelu ? `acc = acc / (1.0 + exp(-${GELU_K} * (acc + 0.044715 * acc * acc * acc)));` : ''}
          ${has.res ? 'acc += res[c];' : ''}
          result[c] = acc;
        }
      }`,
  };
}

function attnProjProgram(H: number, KV: number, hd: number, cap: number, N: number, hasBias: boolean): Program {
  const A = H * hd; // the attention output's width: o_proj's input
  const group = H / KV;
  return {
    variableNames: ['qkv', 'kc', 'vc', 'w', ...(hasBias ? ['bias'] : []), 'res'],
    outputShape: [1, N],
    shaderKey: `nt_attnproj_${H}_${KV}_${hd}_${cap}_${N}_${hasBias}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(N / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'pos : i32,',
    getUserCode: () => `
      var<workgroup> red: array<f32, ${WG}>;
      var<workgroup> scores: array<f32, ${cap}>;
      var<workgroup> att: array<f32, ${A}>;
      fn main(index : i32) {
        let tid = i32(localId.x);
        let n = uniforms.pos + 1;
        let scale = inverseSqrt(${hd}.0);
        for (var h = 0; h < ${H}; h++) {
          let q = h * ${hd};
          let base = (h / ${group}) * ${cap * hd};
          var m = -3.402823e+38;
          for (var j = tid; j < n; j += ${WG}) {
            var s = 0.0;
            for (var i = 0; i < ${hd}; i++) { s += qkv[q + i] * kc[base + j * ${hd} + i]; }
            s = s * scale;
            scores[j] = s;
            m = max(m, s);
          }
          red[tid] = m;
          ${reduceSnippet('max')}
          m = red[0];
          workgroupBarrier();
          var part = 0.0;
          for (var j = tid; j < n; j += ${WG}) { let e = exp(scores[j] - m); scores[j] = e; part += e; }
          red[tid] = part;
          ${reduceSnippet('sum')}
          let z = red[0];
          for (var i = tid; i < ${hd}; i += ${WG}) {
            var acc = 0.0;
            for (var j = 0; j < n; j++) { acc += scores[j] * vc[base + j * ${hd} + i]; }
            att[q + i] = acc / z;
          }
          workgroupBarrier();
        }
        let c = index;
        if (c < ${N}) {
          var acc = 0.0;
          for (var i = 0; i < ${A}; i++) { acc += att[i] * w[i * ${N} + c]; }
          result[c] = acc${hasBias ? ' + bias[c]' : ''} + res[c];
        }
      }`,
  };
}

function embedProgram(D: number, V: number): Program {
  return {
    variableNames: ['wteT', 'wpe'],
    outputShape: [1, D],
    shaderKey: `nt_embed_${D}_${V}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(D / WG), 1, 1],
    workgroupSize: [WG, 1, 1],
    uniforms: 'id : i32, pos : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index < ${D}) { result[index] = wteT[index * ${V} + uniforms.id] + wpe[uniforms.pos * ${D} + index]; }
      }`,
  };
}

/** A program's kernel input, as TF.js hands it over (an optional input is undefined). */
export type KernelInputs = Record<string, tf.TensorInfo | undefined>;

/**
 * Registers a WebGPU kernel that runs one program: `build` makes it from the kernel's inputs and attributes and
 * says which inputs it reads, in its variableNames' order (undefined ones, an optional input not given, left out),
 * and its uniforms. Every fused WebGPU kernel of the engine is one of these.
 */
export function programKernel(kernelName: string, build: (inputs: KernelInputs, attrs: Record<string, unknown>) => { program: Program; inputs: (tf.TensorInfo | undefined)[]; uniforms: Uniform[] }): void {
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const run = build(inputs as KernelInputs, attrs as Record<string, unknown>);
      const given = run.inputs.filter((t): t is tf.TensorInfo => !!t);
      return (backend as unknown as WebGPUBackend).runWebGPUProgram(run.program, given, 'float32', run.uniforms);
    },
  });
}

let registered = false;
function register(): void {
  if (registered) return;
  registered = true;
  programKernel(LN_MATVEC, ({ x, w, bias, g, b, res }, attrs) => {
    const { eps, gelu } = attrs as { eps: number; gelu: boolean };
    const [K, N] = w!.shape;
    return { program: lnMatVecProgram(K, N, { bias: !!bias, norm: !!g, gelu, res: !!res }), inputs: [x, w, bias, g, b, res], uniforms: [{ type: 'float32', data: [eps] }] };
  });
  programKernel(ATTN_PROJ, ({ qkv, k, v, w, bias, res }, attrs) => {
    const [KV, cap, hd] = k!.shape;
    const { pos, heads } = attrs as { pos: number; heads: number };
    return { program: attnProjProgram(heads, KV, hd, cap, w!.shape[1], !!bias), inputs: [qkv, k, v, w, bias, res], uniforms: [{ type: 'int32', data: [pos] }] };
  });
  programKernel(EMBED, ({ wteT, wpe }, attrs) => {
    const { id, pos } = attrs as { id: number; pos: number };
    return { program: embedProgram(wteT!.shape[0], wteT!.shape[1]), inputs: [wteT, wpe], uniforms: [{ type: 'int32', data: [id] }, { type: 'int32', data: [pos] }] };
  });
}
