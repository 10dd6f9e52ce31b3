// Causal self-attention over a KV cache that grows in buckets (64, 128, 256, … positions, up to the
// context length). Shared by every architecture: keys and values are written at their positions and
// never concatenated, so decode steps within a bucket have the same tensor shapes, and attention reads
// at most twice the filled positions instead of the whole context (a 20-token chat on GPT-2 reads 64
// positions per head, not 1,024).
import * as tf from '@tensorflow/tfjs';

export class KVCache {
  readonly k: tf.Tensor3D[] = []; // per layer: [nKvHead, capacity, headDim]
  readonly v: tf.Tensor3D[] = [];
  /** Positions the tensors hold now; grows (doubling) as positions are written, never shrinks. */
  capacity: number;
  /** The ids at positions [0, ids.length): those hold valid keys and values; anything after is masked out. */
  readonly ids: number[] = [];
  /** Writes in place on WASM and WebGPU (a copy of T·headDim floats per head); set false to force the portable path. */
  inPlace = true;

  constructor(
    readonly nLayer: number,
    readonly nKvHead: number,
    readonly contextLength: number,
    readonly headDim: number,
  ) {
    this.capacity = Math.min(contextLength, FIRST_BUCKET);
    for (let l = 0; l < nLayer; l++) {
      this.k.push(tf.keep(tf.zeros([nKvHead, this.capacity, headDim])));
      this.v.push(tf.keep(tf.zeros([nKvHead, this.capacity, headDim])));
    }
  }

  /** Makes room for positions [0, n): the next bucket that fits, the filled positions copied over. */
  /** The capacity the cache will have once room for n positions is reserved (the next doubling that holds n). */
  capacityFor(n: number): number {
    let cap = this.capacity;
    while (cap < n) cap *= 2;
    return Math.min(cap, this.contextLength);
  }

  reserve(n: number): void {
    if (n <= this.capacity) return;
    const cap = this.capacityFor(n);
    const filled = this.ids.length;
    for (let l = 0; l < this.nLayer; l++) {
      for (const side of [this.k, this.v]) {
        const old = side[l];
        const grown = tf.keep(tf.zeros([this.nKvHead, cap, this.headDim])) as tf.Tensor3D;
        if (filled) {
          const rows = tf.slice(old, [0, 0, 0], [this.nKvHead, filled, this.headDim]);
          side[l] = grown;
          this.writeRows(side, l, rows, 0, cap);
          rows.dispose();
        } else side[l] = grown;
        old.dispose();
      }
    }
    this.capacity = cap;
  }

  /** Forgets positions from n on: the next write goes to position n (what is left stays valid). */
  truncate(n: number): void {
    this.ids.length = Math.max(0, Math.min(n, this.ids.length));
  }

  /** Stores keys and values `[nKvHead, T, headDim]` for positions pos..pos+T-1 of `layer` (room reserved first). */
  write(layer: number, kNew: tf.Tensor3D, vNew: tf.Tensor3D, pos: number): void {
    if (pos + kNew.shape[1] > this.capacity) throw new Error(`KV cache: positions up to ${pos + kNew.shape[1]} written, but room is reserved for ${this.capacity}`);
    this.writeRows(this.k, layer, kNew, pos, this.capacity);
    this.writeRows(this.v, layer, vNew, pos, this.capacity);
  }

  private writeRows(side: tf.Tensor3D[], layer: number, rows: tf.Tensor3D, pos: number, n: number): void {
    const backend = tf.getBackend();
    if (this.inPlace && backend === 'wasm') copyWasm(rows, side[layer], pos, n);
    else if (this.inPlace && backend === 'webgpu') copyWebGPU(rows, side[layer], pos);
    else side[layer] = replaceRows(side[layer], rows, pos);
  }

  /**
   * A copy of the filled positions, so a tool (the inside view, the lens, perplexity) can use the
   * cache and hand it back exactly as it was: restoring writes the same floats back, bit for bit.
   */
  snapshot(): CacheSnapshot {
    const n = this.ids.length;
    const rows = (t: tf.Tensor3D) => tf.keep(tf.slice(t, [0, 0, 0], [this.nKvHead, n, this.headDim]));
    return { ids: this.ids.slice(), k: n ? this.k.map(rows) : [], v: n ? this.v.map(rows) : [] };
  }

  /** Puts a snapshot back (and frees it). */
  restore(s: CacheSnapshot): void {
    this.reserve(s.ids.length);
    for (let l = 0; l < s.k.length; l++) this.write(l, s.k[l], s.v[l], 0);
    for (const t of [...s.k, ...s.v]) t.dispose();
    this.ids.length = 0;
    this.ids.push(...s.ids);
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
    this.k.length = 0;
    this.v.length = 0;
  }
}

/** The first bucket: small enough that a short prompt reads little, large enough that few prompts regrow it. */
const FIRST_BUCKET = 64;

export interface CacheSnapshot {
  ids: number[];
  k: tf.Tensor3D[];
  v: tf.Tensor3D[];
}

// Portable path: a new tensor of the same fixed shape, with rows pos..pos+T-1 replaced.
function replaceRows(cache: tf.Tensor3D, rows: tf.Tensor3D, pos: number): tf.Tensor3D {
  const [h, n, d] = cache.shape;
  const t = rows.shape[1];
  const parts: tf.Tensor3D[] = [];
  if (pos > 0) parts.push(tf.slice(cache, [0, 0, 0], [h, pos, d]));
  parts.push(rows);
  if (pos + t < n) parts.push(tf.slice(cache, [0, pos + t, 0], [h, n - pos - t, d]));
  const next = tf.keep(tf.concat(parts, 1));
  cache.dispose();
  return next;
}

/**
 * The cache's layout, [head, position, dim]: the float offset of head h's row at position pos, in a cache
 * with room for `capacity` positions of `d` floats. Every writer (the portable path, the WASM copy and
 * attention kernel, the WebGPU buffer copies) addresses the cache through this.
 */
export function cacheRow(h: number, pos: number, capacity: number, d: number): number {
  return (h * capacity + pos) * d;
}

// Each head's new rows are one contiguous run.
interface WasmBackend {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } };
}
function copyWasm(src: tf.Tensor3D, dst: tf.Tensor3D, pos: number, n: number): void {
  const b = tf.backend() as unknown as WasmBackend;
  const heap = b.wasm.HEAPF32; // read each time: the heap view changes when wasm memory grows
  const [h, t, d] = src.shape;
  const s = b.dataIdMap.get(src.dataId).memoryOffset / 4;
  const o = b.dataIdMap.get(dst.dataId).memoryOffset / 4;
  for (let i = 0; i < h; i++) heap.copyWithin(o + cacheRow(i, pos, n, d), s + i * t * d, s + (i + 1) * t * d);
}

interface WebGPUBackend {
  tensorMap: { get(id: object): { resource?: GPUBuffer } };
  uploadToGPU(id: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: GPUCommandEncoder;
}
function copyWebGPU(src: tf.Tensor3D, dst: tf.Tensor3D, pos: number): void {
  const [, t, d] = src.shape;
  copyIntoCacheWebGPU(src, (h) => h * t * d, t * d, dst, pos);
}

/**
 * GPU buffer copies into a cache [H, capacity, d]: for each head h, `floats` floats of `src` from float offset
 * srcOffset(h) to the cache row of h at `pos` (and the rows after it). Encoded in TF.js's own command encoder,
 * so they run in order with the kernels around them.
 */
export function copyIntoCacheWebGPU(src: tf.Tensor, srcOffset: (h: number) => number, floats: number, cache: tf.Tensor3D, pos: number): void {
  const b = tf.backend() as unknown as WebGPUBackend;
  b.uploadToGPU(src.dataId);
  b.uploadToGPU(cache.dataId);
  const from = b.tensorMap.get(src.dataId).resource;
  const to = b.tensorMap.get(cache.dataId).resource;
  if (!from || !to) throw new Error('KV cache: tensor has no GPU buffer');
  const [H, capacity, d] = cache.shape;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  for (let h = 0; h < H; h++) b.commandEncoder.copyBufferToBuffer(from, srcOffset(h) * 4, to, cacheRow(h, pos, capacity, d) * 4, floats * 4);
}

/** Additive causal mask [T, capacity] for T queries at positions pos..pos+T-1. */
export function causalMask(pos: number, t: number, contextLength: number): tf.Tensor2D {
  const m = new Float32Array(t * contextLength);
  for (let i = 0; i < t; i++) for (let j = pos + i + 1; j < contextLength; j++) m[i * contextLength + j] = -1e9;
  return tf.tensor2d(m, [t, contextLength]);
}

/**
 * softmax(q·kᵀ/√d + mask)·v for q [H, T, d] against the whole cache [KV, capacity, d].
 * With grouped-query attention (KV < H), query head h reads kv head floor(h / (H/KV)).
 * Returns [T, H·d] and, when asked, the attention weights [H, T, capacity].
 */
export function causalAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor2D,
  wantWeights = false,
): { out: tf.Tensor2D; weights?: tf.Tensor3D } {
  const [h, t, d] = q.shape;
  const kvHeads = k.shape[0];
  const n = k.shape[1];
  // Grouped-query attention without copying the cache: the query heads that share a kv head are stacked as rows
  // ([H, T, d] → [KV, group·T, d], head h = kv·group + g), so one batched product per kv head reads its keys once.
  // (Repeating each kv head over the whole cache instead cost most of a decode step: 433 of 560 ms on a
  // Qwen2.5-0.5B shape with a 2,048-position cache.)
  const group = h / kvHeads;
  const qs = group === 1 ? q : (tf.reshape(q, [kvHeads, group * t, d]) as tf.Tensor3D);
  const raw = tf.reshape(tf.matMul(qs, k, false, true), [h, t, n]);
  const scores = tf.add(tf.mul(raw, 1 / Math.sqrt(d)), mask) as tf.Tensor3D;
  const weights = tf.softmax(scores) as tf.Tensor3D;
  const y = tf.reshape(tf.matMul(group === 1 ? weights : tf.reshape(weights, [kvHeads, group * t, n]), v), [h, t, d]); // [H, T, d]
  const out = tf.reshape(tf.transpose(y, [1, 0, 2]), [t, h * d]) as tf.Tensor2D;
  return wantWeights ? { out, weights } : { out };
}
