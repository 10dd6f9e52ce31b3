// Loading weights into a model, shared by every architecture: each tensor is checked against the
// shape the config implies, uploaded one at a time, and remembered, so that the model can free all
// of them at once and a load that fails part-way frees what it had already uploaded.
import * as tf from '@tensorflow/tfjs';
import { readUploadedWeight, uploadNow } from '../runtime/backend.ts';
import { dequantize, QK, QuantArena, QuantMatrix, quantize, type QuantBlocks, type WeightDType } from '../runtime/quant.ts';
import { expectShape } from './model.ts';

/** A weight matrix: float32 [in, out] as a tensor (x·W), or quantized [out, in] (a row per output, as on disk). */
export type Matrix = tf.Tensor2D | QuantMatrix;

/** Where a model's weights come from: one file in memory, shards, or a stream (see the Hub loader). */
export interface WeightSource {
  describe(name: string): string; // "model.safetensors" — for error messages
  shape(name: string): number[] | undefined;
  read(name: string): Float32Array;
  /** A streaming loader's already-uploaded tensor for `name` (the model then owns it), if there is one. */
  take?(name: string): unknown;
  /** Handles nobody took (tensors the model does not use), for the loader to release. */
  leftovers?(): unknown[];
  /**
   * A matrix the file holds already quantized (a GGUF's Q8_0/Q4_0 tensor): its blocks, [out, in], as they are —
   * or, from a streamed file, the matrix already in `arena`.
   */
  quantized?(name: string): QuantBlocks | QuantMatrix | undefined;
  /** Where a streamed file's quantized matrices already are: the model keeps this arena when it runs at the file's precision. */
  arena?: QuantArena;
  /** The model is built from it: anything held for the build and not taken is let go. */
  release?(): void;
  /** The precision the file's matrices are in, when it holds quantized ones (a GGUF): the model keeps it unless asked otherwise. */
  nativeDType?: WeightDType;
}

export class WeightReader {
  params = 0;
  private readonly held = new Set<tf.Tensor>();
  /** Where quantized matrices live (null at f32): the model keeps it. */
  readonly arena: QuantArena | null;

  constructor(
    private readonly src: WeightSource,
    private readonly prefix = '',
    readonly dtype: WeightDType = 'f32',
  ) {
    // At the file's own precision a streamed GGUF's arena is the model's: its blocks are not copied again.
    this.arena = dtype === 'f32' ? null : src.arena && dtype === src.nativeDType ? src.arena : new QuantArena();
  }

  /**
   * A projection's weight matrix stored `layout` on disk ([out, in] for nn.Linear, [in, out] for GPT-2's
   * Conv1D): at f32 a tensor [in, out]; quantized, the blocks of [out, in] (each output's weights in a row,
   * the kernel's layout). Rows that are not whole blocks of 32 stay float32, as llama.cpp keeps them.
   */
  matrix(name: string, out: number, inp: number, layout: 'outIn' | 'inOut'): Matrix {
    const full = this.prefix + name;
    const shape = layout === 'outIn' ? [out, inp] : [inp, out];
    let held = this.src.quantized?.(full);
    if (held instanceof QuantMatrix) {
      if (held.arena === this.arena && inp % QK === 0) {
        expectShape(full, this.src.shape(full), shape, this.src.describe(full));
        this.params += out * inp;
        return held; // already where this model keeps its blocks
      }
      held = held.arena.blocks(held); // another precision asked for: read from the blocks where they are
    }
    // At the file's own precision (a GGUF loaded as it is) every matrix stays as the file has it, whatever its
    // type: Q8_0 blocks in a mostly-Q4_0 file stay Q8_0, float matrices stay float.
    const asFile = this.src.nativeDType !== undefined && this.dtype === this.src.nativeDType;
    if (held && this.arena && inp % QK === 0) {
      expectShape(full, this.src.shape(full), shape, this.src.describe(full));
      this.params += out * inp;
      // Blocks of the precision asked for are kept; another precision is re-quantized from their values.
      return this.arena.add(held.type === this.dtype || asFile ? held : quantize(this.dtype as Exclude<WeightDType, 'f32'>, dequantize(held), out, inp));
    }
    if (!this.arena || inp % QK !== 0 || (asFile && !held)) {
      if (held) {
        // A quantized tensor wanted as floats: from the blocks already in hand (a streamed GGUF hands each tensor
        // over once). Blocks are [out, in]; the float matrix is [in, out] whatever the layout on disk.
        expectShape(full, this.src.shape(full), shape, this.src.describe(full));
        this.params += out * inp;
        return this.own(uploadNow(tf.tensor2d(transpose(dequantize(held), out, inp), [inp, out])));
      }
      const w = this.read(name, shape) as tf.Tensor2D;
      if (layout === 'inOut') return w;
      const t = this.own(tf.transpose(w) as tf.Tensor2D);
      this.release(w);
      return t;
    }
    expectShape(full, this.src.shape(full), shape, this.src.describe(full));
    this.params += out * inp;
    const data = this.floats(full);
    const rows = layout === 'outIn' ? data : transpose(data, inp, out);
    return this.arena.add(quantize(this.dtype as Exclude<WeightDType, 'f32'>, rows, out, inp));
  }

  /** A tensor's floats, from the file or read back from a tensor a streaming loader already uploaded. */
  private floats(full: string): Float32Array {
    const streamed = this.src.take?.(full) as tf.Tensor | undefined;
    if (!streamed) return this.src.read(full);
    const data = readUploadedWeight(streamed);
    streamed.dispose();
    return data;
  }

  /** One tensor from the file, checked and uploaded (or the one already streamed to the backend). */
  read(name: string, shape: number[]): tf.Tensor {
    const full = this.prefix + name;
    expectShape(full, this.src.shape(full), shape, this.src.describe(full));
    this.params += shape.reduce((a, b) => a * b, 1);
    return this.own((this.src.take?.(full) as tf.Tensor | undefined) ?? uploadNow(tf.tensor(this.src.read(full), shape)));
  }

  /**
   * Float32 projections that read the same input, side by side as one [in, Σ out] (one product instead of
   * several: a Llama layer's q, k and v, or gate and up); null when any is quantized (kept apart then).
   */
  besideEachOther(parts: { w: Matrix; b?: tf.Tensor1D }[]): { w: tf.Tensor2D; b?: tf.Tensor1D } | null {
    const ws = parts.map((p) => p.w);
    if (!ws.every((w): w is tf.Tensor2D => w instanceof tf.Tensor)) return null;
    const biases = parts.map((p) => p.b).filter((b): b is tf.Tensor1D => b !== undefined);
    if (biases.length && biases.length !== parts.length) return null; // Qwen2's q/k/v all have biases or none do
    const w = this.own(tf.concat(ws, 1) as tf.Tensor2D);
    const b = biases.length ? this.own(tf.concat(biases) as tf.Tensor1D) : undefined;
    for (const t of [...ws, ...biases]) this.release(t);
    return b ? { w, b } : { w };
  }

  /** Whether the file has this tensor (for weights an architecture may or may not carry, such as Qwen2's q/k/v biases). */
  has(name: string): boolean {
    return this.src.shape(this.prefix + name) !== undefined;
  }

  /** A tensor computed at load time (a transpose, a split, a table): kept with the weights. */
  own<T extends tf.Tensor>(t: T): T {
    this.held.add(tf.keep(t));
    return t;
  }

  /** Frees a tensor that served only to compute others (the untransposed original). */
  release(t: tf.Tensor): void {
    this.held.delete(t);
    t.dispose();
  }

  /** Every tensor the model holds. */
  tensors(): tf.Tensor[] {
    return [...this.held];
  }

  /** Frees everything read so far. */
  abandon(): void {
    for (const t of this.held) if (!t.isDisposed) t.dispose();
    this.held.clear();
  }
}

/** Runs `build` with a reader; if it throws, every tensor it uploaded is freed before the error goes on. */
export function loadWeights<T>(src: WeightSource, prefix: string, build: (r: WeightReader) => T, dtype: WeightDType = 'f32'): T {
  const reader = new WeightReader(src, prefix, dtype);
  try {
    return build(reader);
  } catch (e) {
    reader.abandon();
    throw e;
  }
}

/** [rows, cols] → [cols, rows], row-major. */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}
