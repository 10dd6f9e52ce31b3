// Quantized weights: llama.cpp's Q8_0 and Q4_0 (blocks of 32 weights sharing one fp16 scale), kept
// quantized in memory and multiplied by float32 activations inside the kernel (quant.wat).
//
//   Q8_0: d = max|x| / 127,  q = round(x / d) ∈ [−127, 127],      weight = d · q
//   Q4_0: d = (the x of largest |x|) / −8,  q = min(15, ⌊x / d + 8.5⌋),  weight = d · (q − 8)
//
// d is stored as fp16 (as in a GGUF file) and kept here as the float32 of that fp16 value, so a
// dequantized weight is exactly d · q. The arithmetic is llama.cpp's reference (quantize_row_q8_0_ref,
// quantize_row_q4_0_ref) in float32, so quantizing the same floats gives the same bytes.
import { QUANT_WASM_BASE64 } from './quantWasm.ts';

export type QuantType = 'q8_0' | 'q4_0';
/** The weight precisions the engine runs: float32, or one of the quantized block formats. */
export type WeightDType = 'f32' | QuantType;
export const WEIGHT_DTYPES: readonly WeightDType[] = ['f32', 'q8_0', 'q4_0'];
export const QK = 32; // weights per block

/** Bytes a block of 32 takes here: the quants plus a float32 scale (a GGUF file stores the scale in 2). */
export const BLOCK_BYTES: Record<QuantType, number> = { q8_0: 32 + 4, q4_0: 16 + 4 };

export function isQuantType(s: string): s is QuantType {
  return s === 'q8_0' || s === 'q4_0';
}

// ── fp16 ────────────────────────────────────────────────────────────────────────────────────────────

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The fp16 bits of a float32, rounded to nearest even (as the F16C instruction and ggml do). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    // subnormal fp16 (or zero): shift the mantissa with its implicit 1, round to nearest even
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const fp16 = (x: number) => f16BitsToF32(f32ToF16Bits(x));
const roundAway = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x)); // C's roundf: halves away from zero

// ── quantizing and dequantizing rows ────────────────────────────────────────────────────────────────

/** A matrix of N rows of K weights (K a multiple of 32) in one quantized format, as plain arrays. */
export interface QuantBlocks {
  type: QuantType;
  rows: number;
  cols: number;
  scales: Float32Array; // rows·cols/32: the fp16 scale of each block, as float32
  quants: Int8Array | Uint8Array; // Q8_0: rows·cols int8; Q4_0: rows·cols/2 bytes of nibbles (+8)
}

/** Quantizes `data` (row-major, N×K) with llama.cpp's reference rounding. */
export function quantize(type: QuantType, data: Float32Array, rows: number, cols: number): QuantBlocks {
  if (cols % QK !== 0) throw new Error(`${type} needs rows of a multiple of ${QK} weights; this matrix has rows of ${cols}`);
  if (data.length !== rows * cols) throw new Error(`quantize: ${data.length} weights for a ${rows}×${cols} matrix`);
  const blocks = (rows * cols) / QK;
  const scales = new Float32Array(blocks);
  const quants = type === 'q8_0' ? new Int8Array(rows * cols) : new Uint8Array((rows * cols) / 2);
  const R = Math.fround;
  for (let blk = 0; blk < blocks; blk++) {
    const at = blk * QK;
    if (type === 'q8_0') {
      let amax = 0;
      for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(data[at + j]));
      const d = R(amax / 127);
      const id = d ? R(1 / d) : 0;
      scales[blk] = fp16(d);
      for (let j = 0; j < QK; j++) quants[at + j] = roundAway(R(data[at + j] * id));
    } else {
      let amax = 0;
      let max = 0;
      for (let j = 0; j < QK; j++) {
        const v = data[at + j];
        if (amax < Math.abs(v)) {
          amax = Math.abs(v);
          max = v;
        }
      }
      const d = R(max / -8);
      const id = d ? R(1 / d) : 0;
      scales[blk] = fp16(d);
      const nib = (v: number) => Math.min(15, Math.trunc(R(R(v * id) + 8.5)));
      for (let j = 0; j < QK / 2; j++) quants[blk * 16 + j] = nib(data[at + j]) | (nib(data[at + j + 16]) << 4);
    }
  }
  return { type, rows, cols, scales, quants };
}

/** Row `n` of the dequantized matrix (d · q for each weight) into `out` at `offset`. */
export function dequantizeRow(m: QuantBlocks, n: number, out: Float32Array, offset = 0): void {
  const B = m.cols / QK;
  for (let b = 0; b < B; b++) {
    const d = m.scales[n * B + b];
    const o = offset + b * QK;
    if (m.type === 'q8_0') {
      const q = n * m.cols + b * QK;
      for (let j = 0; j < QK; j++) out[o + j] = d * m.quants[q + j];
    } else {
      const q = (n * B + b) * 16;
      for (let j = 0; j < 16; j++) {
        out[o + j] = d * ((m.quants[q + j] & 15) - 8);
        out[o + j + 16] = d * ((m.quants[q + j] >> 4) - 8);
      }
    }
  }
}

/** The whole dequantized matrix, N×K row-major. */
export function dequantize(m: QuantBlocks): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let n = 0; n < m.rows; n++) dequantizeRow(m, n, out, n * m.cols);
  return out;
}

/**
 * y = x · Wᵀ for x [T, K] and the quantized W [N, K], in quant.wat's float32 summation order exactly:
 * the scalar twin of the SIMD kernel (where WebAssembly SIMD is missing, and the kernel's bit-for-bit witness).
 */
export function matmulScalar(m: QuantBlocks, x: Float32Array, T: number): Float32Array {
  const { rows: N, cols: K } = m;
  const B = K / QK;
  const R = Math.fround;
  const y = new Float32Array(T * N);
  const w = new Float32Array(QK);
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < T; t++) {
      const acc = [0, 0, 0, 0];
      for (let b = 0; b < B; b++) {
        // the integer weights of this block (q, or q − 8), the scale applied after the block's sum
        for (let j = 0; j < QK; j++) {
          if (m.type === 'q8_0') w[j] = m.quants[n * K + b * QK + j];
          else {
            const byte = m.quants[(n * B + b) * 16 + (j % 16)];
            w[j] = (j < 16 ? byte & 15 : byte >> 4) - 8;
          }
        }
        const xb = t * K + b * QK;
        for (let l = 0; l < 4; l++) {
          const half = (h: number) => {
            let s = R(w[h + l] * x[xb + h + l]);
            for (let c = 1; c < 4; c++) s = R(s + R(w[h + 4 * c + l] * x[xb + h + 4 * c + l]));
            return s;
          };
          const blk = R(half(0) + half(16));
          acc[l] = R(acc[l] + R(blk * m.scales[n * B + b]));
        }
      }
      y[t * N + n] = R(R(acc[0] + acc[1]) + R(acc[2] + acc[3]));
    }
  }
  return y;
}

// ── the kernel's memory ─────────────────────────────────────────────────────────────────────────────

interface QuantExports {
  matmul_q8_0(q: number, d: number, x: number, y: number, N: number, K: number, T: number): void;
  matmul_q4_0(q: number, d: number, x: number, y: number, N: number, K: number, T: number): void;
  matmul_rows_q8_0(q: number, d: number, x: number, y: number, N: number, K: number, T: number, accs: number): void;
  matmul_rows_q4_0(q: number, d: number, x: number, y: number, N: number, K: number, T: number, accs: number): void;
}

let compiled: WebAssembly.Module | null | undefined;
/** The SIMD module, or null where this WebAssembly has no SIMD (then the scalar twin runs). */
function quantModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = Uint8Array.from(atob(QUANT_WASM_BASE64), (c) => c.charCodeAt(0));
    compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/** Whether the quantized products run as SIMD WebAssembly here (else in JavaScript, the same sums). */
export function quantSimd(): boolean {
  return quantModule() !== null;
}

const PAGE = 65536;
/** The most activation rows one product takes at once (larger products run in chunks of this many). */
const CHUNK_ROWS = 64;

/**
 * One model's quantized matrices in a WebAssembly memory of their own, beside a scratch area for a
 * product's activations: the weights are written once at load and read by the kernel in place. The
 * memory goes with the arena when the model is freed.
 */
export class QuantArena {
  private memory: WebAssembly.Memory | null; // null once the blocks live on the GPU only (releaseToGpu)
  private kernels: QuantExports | null;
  private top = 0; // bytes allocated to weights
  private scratch = 0; // bytes reserved past `top` for x and y
  private readonly disposers: (() => void)[] = []; // copies of the blocks elsewhere (the GPU), freed with the arena
  private readonly added: QuantMatrix[] = [];

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: 1 });
    const mod = quantModule();
    this.kernels = mod ? (new WebAssembly.Instance(mod, { env: { memory: this.memory } }).exports as unknown as QuantExports) : null;
  }

  /** Runs `fn` when the arena is freed (a copy of its blocks held elsewhere goes with it). */
  onDispose(fn: () => void): void {
    this.disposers.push(fn);
  }

  /** Frees what was made from the arena's blocks; the memory itself goes with the last reference to the arena. */
  dispose(): void {
    for (const fn of this.disposers.splice(0)) fn();
  }

  /** Every matrix added, in order. */
  get matrices(): readonly QuantMatrix[] {
    return this.added;
  }

  /**
   * Lets the memory go once every matrix has a copy on the GPU (quantWebGPU.ts: the blocks held once, there):
   * from then on reading the blocks here throws; products, rows and dequantization run from the GPU's copy.
   */
  releaseToGpu(): void {
    this.memory = null;
    this.kernels = null;
  }

  private mem(): WebAssembly.Memory {
    if (!this.memory) throw new Error('These quantized weights live on the GPU only (their memory here was let go after the upload); read them there (quantWebGPU.ts).');
    return this.memory;
  }

  /** Bytes the weights take in this arena. */
  get weightBytes(): number {
    return this.top;
  }
  /** Bytes of memory held (weights, scratch, page rounding); 0 once released to the GPU. */
  get heldBytes(): number {
    return this.memory?.buffer.byteLength ?? 0;
  }

  /** Copies a quantized matrix into the arena. */
  add(blocks: QuantBlocks): QuantMatrix {
    const dAt = this.alloc(blocks.scales.byteLength);
    new Float32Array(this.mem().buffer, dAt, blocks.scales.length).set(blocks.scales);
    const qAt = this.alloc(blocks.quants.byteLength);
    new Uint8Array(this.mem().buffer, qAt, blocks.quants.byteLength).set(new Uint8Array(blocks.quants.buffer, blocks.quants.byteOffset, blocks.quants.byteLength));
    const m = new QuantMatrix(this, blocks.type, blocks.rows, blocks.cols, qAt, dAt);
    this.added.push(m);
    return m;
  }

  /** The matrix's blocks as views into the arena (valid until the next allocation). */
  blocks(m: QuantMatrix): QuantBlocks {
    const nBlocks = (m.rows * m.cols) / QK;
    const buf = this.mem().buffer;
    const quants = m.type === 'q8_0' ? new Int8Array(buf, m.qAt, m.rows * m.cols) : new Uint8Array(buf, m.qAt, (m.rows * m.cols) / 2);
    return { type: m.type, rows: m.rows, cols: m.cols, scales: new Float32Array(buf, m.dAt, nBlocks), quants };
  }

  /** y [T, N] = x [T, K] · Wᵀ. */
  matmul(m: QuantMatrix, x: Float32Array, T: number): Float32Array {
    if (x.length !== T * m.cols) throw new Error(`quantized product: ${x.length} activations for ${T} rows of ${m.cols}`);
    if (!this.kernels) return matmulScalar(this.blocks(m), x, T); // (blocks() says so if they are on the GPU only)
    if (T <= CHUNK_ROWS) return this.matmulRows(m, x, T);
    // Many rows (a long text's logits over a large vocabulary) in chunks: the scratch area, which a WebAssembly
    // memory never gives back, stays the size of CHUNK_ROWS rows.
    const y = new Float32Array(T * m.rows);
    for (let t = 0; t < T; t += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, T - t);
      y.set(this.matmulRows(m, x.subarray(t * m.cols, (t + n) * m.cols), n), t * m.rows);
    }
    return y;
  }

  private matmulRows(m: QuantMatrix, x: Float32Array, T: number): Float32Array {
    if (!this.kernels) throw new Error('unreachable: no kernels');
    const xBytes = x.byteLength;
    const yBytes = T * m.rows * 4;
    this.reserveScratch(xBytes + yBytes + T * 16);
    const xAt = this.top;
    const yAt = this.top + xBytes;
    new Float32Array(this.mem().buffer, xAt, x.length).set(x);
    if (T === 1) this.kernels[m.type === 'q8_0' ? 'matmul_q8_0' : 'matmul_q4_0'](m.qAt, m.dAt, xAt, yAt, m.rows, m.cols, T);
    else this.kernels[m.type === 'q8_0' ? 'matmul_rows_q8_0' : 'matmul_rows_q4_0'](m.qAt, m.dAt, xAt, yAt, m.rows, m.cols, T, yAt + yBytes);
    return new Float32Array(this.mem().buffer, yAt, T * m.rows);
  }

  private alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((this.top + bytes) / 16) * 16; // 16-byte aligned (not `& ~15`: 32-bit, wrong past 2 GiB)
    this.ensure(this.top + this.scratch);
    return at;
  }

  private reserveScratch(bytes: number): void {
    if (bytes > this.scratch) {
      this.scratch = bytes;
      this.ensure(this.top + bytes);
    }
  }

  private ensure(bytes: number): void {
    const memory = this.mem();
    const have = memory.buffer.byteLength;
    if (bytes <= have) return;
    const limit = 65536 * PAGE; // a WebAssembly memory's 4 GiB
    try {
      if (bytes > limit) throw new Error('past 4 GiB');
      memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch (e) {
      throw new Error(`The quantized weights need ${(bytes / 2 ** 20).toFixed(0)} MiB in one WebAssembly memory, which could not grow to that (${(e as Error).message}; the limit is 4 GiB, less if the browser is short of memory). Pick a smaller model or Q4_0.`);
    }
  }
}

/** A quantized weight matrix W [N out, K in] (a row per output, as nn.Linear and GGUF store it) in an arena. */
export class QuantMatrix {
  constructor(
    readonly arena: QuantArena,
    readonly type: QuantType,
    readonly rows: number,
    readonly cols: number,
    readonly qAt: number,
    readonly dAt: number,
  ) {}

  /** y [T, N] = x [T, K] · Wᵀ (a view into the arena's scratch: copy it before the next product). */
  matmul(x: Float32Array, T: number): Float32Array {
    return this.arena.matmul(this, x, T);
  }

  /** Row n, dequantized (an embedding lookup). */
  row(n: number, out = new Float32Array(this.cols), offset = 0): Float32Array {
    dequantizeRow(this.arena.blocks(this), n, out, offset);
    return out;
  }

  /** Wᵀ dequantized, [K, N] row-major: for the composite ops (gradients, backends without a quantized kernel). */
  dequantizedTransposed(): Float32Array {
    const { rows: N, cols: K } = this;
    const blocks = this.arena.blocks(this);
    const row = new Float32Array(K);
    const out = new Float32Array(K * N);
    for (let n = 0; n < N; n++) {
      dequantizeRow(blocks, n, row);
      for (let k = 0; k < K; k++) out[k * N + n] = row[k];
    }
    return out;
  }

  /** Bytes its blocks take in the arena. */
  get bytes(): number {
    return ((this.rows * this.cols) / QK) * BLOCK_BYTES[this.type];
  }
}
