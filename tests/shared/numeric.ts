// Small numeric helpers for the kernel tests: seeded random inputs and the largest difference.
import { createRng } from '../../src/sampling/prng.ts';

/** n numbers uniform in (−scale, scale), from a seeded generator. */
export function randomFloats(seed: number): (n: number, scale?: number) => Float32Array {
  const rng = createRng(seed);
  return (n, scale = 1) => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Layer norm of each row of length D in float64: (x − mean) / √(var + eps) · g + b. */
export function layerNormF64(x: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, D: number, eps = 1e-5): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += D) {
    const row = Array.from({ length: D }, (_, i) => x[r + i]);
    const mean = row.reduce((s, v) => s + v, 0) / D;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / D;
    row.forEach((v, i) => (out[r + i] = ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]));
  }
  return out;
}
