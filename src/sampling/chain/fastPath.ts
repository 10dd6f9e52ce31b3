// Helpers the fast path (sampleNext in step.ts, and the truncation stages' keepFast) shares: reused
// vocabulary-sized arrays, sums in a fixed order, and `crossing` (where a running sum passes a target,
// without sorting). Every sum here is added in the order the reference path adds it, because the two
// paths must agree bit for bit.
import { byRank } from '../ranked.ts';

/**
 * Arrays the size of the vocabulary, reused from call to call: allocating one (zeroed, outside the JS
 * heap) costs about as much as the pass that fills it (~0.4 ms at 50,257 tokens). Nothing a call
 * returns refers to them, and a call never yields, so reuse is invisible to callers.
 * Slots in use: f32 0 raw, 1 tempered, 2 rankBy (step.ts); i32 1 top-p's ids, 2 min-p's ids. A new
 * stage that needs one takes a new slot.
 */
export const scratch = {
  floats: [] as Float32Array<ArrayBuffer>[],
  ints: [] as Int32Array<ArrayBuffer>[],
  f32(slot: number, n: number): Float32Array<ArrayBuffer> {
    if (!(this.floats[slot]?.length >= n)) this.floats[slot] = new Float32Array(n);
    return this.floats[slot].subarray(0, n);
  },
  i32(slot: number, n: number): Int32Array<ArrayBuffer> {
    if (!(this.ints[slot]?.length >= n)) this.ints[slot] = new Int32Array(n);
    return this.ints[slot].subarray(0, n);
  },
};

export function hasZero(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] === 0) return true;
  return false;
}

export function sumAll(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** The float64 sum of x over `ids`, added in id order (the order a full pass would add them in). */
export function sumInIdOrder(ids: Int32Array, x: Float32Array, alreadyInIdOrder = false): number {
  const sorted = alreadyInIdOrder ? ids : ids.slice().sort();
  let s = 0;
  for (const id of sorted) s += x[id];
  return s;
}

/**
 * The first id, in rank order, at which the running sum of w(id) = x[id] / div (rounded to float32
 * when `round`) passes `target` (> when `strict`, else ≥), among `ids` (null: every id), without
 * sorting them: one pass adds each w into a bucket of its rank key p[id] (buckets of its float32 bit
 * pattern, which orders non-negative floats: 512 per octave), the buckets are summed from the most
 * probable down to the one where the sum passes the target, and only that bucket's ids are sorted and
 * walked. Sums added in another order than rank order can differ in the last bits (by under 1e-11 for
 * 50,257 terms), so an answer within 1e-9 of the target is not trusted: null, and the caller walks in
 * rank order instead.
 */
export function crossing(ids: Int32Array | null, p: Float32Array, x: Float32Array, div: number, round: boolean, target: number, strict: boolean): number | null {
  const keyBits = new Uint32Array(p.buffer, p.byteOffset, p.length);
  const n = ids ? ids.length : p.length;
  const sums = (buckets.sums ??= new Float64Array(2 ** (31 - BUCKET_SHIFT)));
  let lo = sums.length;
  let hi = -1;
  for (let j = 0; j < n; j++) {
    const id = ids ? ids[j] : j;
    const b = keyBits[id] >>> BUCKET_SHIFT;
    sums[b] += round ? Math.fround(x[id] / div) : x[id] / div;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  const passes = (s: number) => (strict ? s > target : s >= target);
  let acc = 0;
  let found = -1;
  for (let b = hi; b >= lo; b--) {
    if (passes(acc + sums[b])) {
      found = b;
      break;
    }
    acc += sums[b];
  }
  sums.fill(0, Math.max(lo, 0), hi + 1); // ready for the next call
  if (found < 0) return null; // the target is past the total (u within rounding of 1): walk instead
  const inBucket: number[] = [];
  for (let j = 0; j < n; j++) {
    const id = ids ? ids[j] : j;
    if (keyBits[id] >>> BUCKET_SHIFT === found) inBucket.push(id);
  }
  inBucket.sort(byRank(p));
  for (const id of inBucket) {
    const before = acc;
    acc += round ? Math.fround(x[id] / div) : x[id] / div;
    if (passes(acc)) return target - before > 1e-9 && acc - target > 1e-9 ? id : null;
  }
  return null;
}

/** 2^(32 − 14) = 262,144 bucket sums: sign, exponent and the top 9 mantissa bits of a float32. Only non-negative keys occur. */
const BUCKET_SHIFT = 14;
const buckets: { sums: Float64Array | null } = { sums: null }; // allocated on first use (1 MB), not at import
