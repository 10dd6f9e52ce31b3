// One query head attending over a head's cached keys and values — the inner part both fused attention kernels
// share (GPT-2's in fused.ts, the Llama family's in fusedLlama.ts): out = softmax(q·kᵀ·scale)·v over the
// first n positions. With attention.wat's SIMD loops (attentionSimd.ts) the scores and the value sums run in
// WebAssembly on the cache where it lies; elsewhere in JavaScript, float64. The softmax is JavaScript either way.
import type * as tf from '@tensorflow/tfjs';
import { attentionLoops, type AttentionLoops } from './attentionSimd.ts';
import type { WasmBackend } from './fused.ts';

export class HeadAttention {
  private kc: Float32Array = new Float32Array(0);
  private vc: Float32Array = new Float32Array(0);
  private os: Float32Array = new Float32Array(0);
  private sv: Float32Array | null = null; // SIMD: [the query row (hd) | the scores (up to `positions`)]
  private readonly scale: number;
  // JavaScript path
  private readonly q64: Float64Array;
  private readonly scores: Float64Array;
  private readonly acc: Float64Array;

  private constructor(
    private readonly backend: WasmBackend & { disposeData(id: object): void },
    private readonly hd: number,
    private readonly loops: AttentionLoops | null,
    private readonly scratch: tf.TensorInfo | null,
    positions: number,
  ) {
    this.scale = 1 / Math.sqrt(hd);
    const js = loops ? 0 : 1;
    this.q64 = new Float64Array(hd * js);
    this.scores = new Float64Array(positions * js);
    this.acc = new Float64Array(hd * js);
  }

  /**
   * Made before the kernel takes its views of the heap (the scratch row is allocated here, and allocating may
   * grow the heap and detach older views). `positions`: the most any query will attend over.
   */
  static make(backend: unknown, hd: number, positions: number): HeadAttention {
    const b = backend as WasmBackend & { disposeData(id: object): void };
    const loops = hd % 4 === 0 ? attentionLoops(backend) : null;
    const scratch = loops ? b.makeOutput([hd + positions], 'float32') : null;
    return new HeadAttention(b, hd, loops, scratch, positions);
  }

  /** The cache [heads, capacity, hd] and the output, as the kernel's views (taken after its last allocation). */
  bind(kc: Float32Array, vc: Float32Array, os: Float32Array): void {
    [this.kc, this.vc, this.os] = [kc, vc, os];
    if (this.scratch) this.sv = this.backend.typedArrayFromHeap(this.scratch);
  }

  /**
   * os[outAt .. outAt + hd) = softmax(q·k_jᵀ/√hd)·v_j over positions j < n of the head whose position 0 is at
   * float offset `base` of the cache. q is used as float32 (the composite path's query tensor is).
   */
  attend(q: ArrayLike<number>, base: number, n: number, outAt: number): void {
    const { hd, sv, loops } = this;
    if (loops && sv) {
      for (let i = 0; i < hd; i++) sv[i] = q[i];
      const sAt = sv.byteOffset + 4 * hd;
      loops.scores(sv.byteOffset, this.kc.byteOffset + 4 * base, sAt, n, hd, Math.fround(this.scale));
      let max = -Infinity;
      for (let j = hd; j < hd + n; j++) if (sv[j] > max) max = sv[j];
      let sum = 0;
      for (let j = hd; j < hd + n; j++) {
        const e = Math.exp(sv[j] - max);
        sv[j] = e;
        sum += e;
      }
      for (let j = hd; j < hd + n; j++) sv[j] /= sum;
      loops.weighted(sAt, this.vc.byteOffset + 4 * base, this.os.byteOffset + 4 * outAt, n, hd);
      return;
    }
    const { q64, scores, acc, kc, vc, os } = this;
    for (let i = 0; i < hd; i++) q64[i] = Math.fround(q[i]);
    const hd4 = hd - (hd % 4);
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      // Four partial sums: independent additions the CPU can overlap (the loop is most of the kernel).
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      const kj = base + j * hd;
      let i = 0;
      for (; i < hd4; i += 4) {
        s0 += q64[i] * kc[kj + i];
        s1 += q64[i + 1] * kc[kj + i + 1];
        s2 += q64[i + 2] * kc[kj + i + 2];
        s3 += q64[i + 3] * kc[kj + i + 3];
      }
      for (; i < hd; i++) s0 += q64[i] * kc[kj + i];
      const s = (s0 + s1 + s2 + s3) * this.scale;
      scores[j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(scores[j] - max);
      scores[j] = e;
      sum += e;
    }
    acc.fill(0);
    for (let j = 0; j < n; j++) {
      const w = scores[j];
      const vj = base + j * hd;
      for (let i = 0; i < hd; i++) acc[i] += w * vc[vj + i];
    }
    for (let i = 0; i < hd; i++) os[outAt + i] = acc[i] / sum;
  }

  /** Frees the scratch row. */
  dispose(): void {
    if (this.scratch) this.backend.disposeData(this.scratch.dataId);
  }
}
