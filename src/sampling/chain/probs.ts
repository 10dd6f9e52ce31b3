// The distribution primitives every stage and both samplers share. Here (not in sampler.ts, which
// re-exports them) so that the stage files can use them without an import cycle through the chain.
import { byRank } from '../ranked.ts';

/** Softmax with the max subtracted first (stable); sums in float64. */
export function softmax(logits: Float32Array, temperature = 1): Float32Array {
  return softmaxWithSum(logits, temperature).probs;
}

/**
 * softmax, and the max and the float64 sum of exp((x − max)/T) it divided by (log-sum-exp = max + log(sum)
 * at T = 1), and the distribution's entropy in bits. The entropy comes from the same pass, without a log
 * per token: with z = (x − max)/T and e = exp(z), −Σ p·ln p = ln(sum) − Σ e·z / sum.
 */
export function softmaxWithSum(logits: Float32Array, temperature = 1, out: Float32Array = new Float32Array(logits.length)): { probs: Float32Array; max: number; sum: number; entropy: number } {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  let ez = 0;
  for (let i = 0; i < n; i++) {
    const z = (logits[i] - max) / temperature;
    const e = Math.exp(z);
    out[i] = e;
    sum += e;
    if (e > 0) ez += e * z;
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return { probs: out, max, sum, entropy: Math.max(0, Math.log(sum) - ez / sum) / Math.LN2 };
}

/** Index of the largest value; the lowest index wins a tie. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Ids sorted by descending probability, ties broken by lower id (a stable, reproducible order). */
export function sortedIds(probs: Float32Array): Uint32Array {
  const ids = new Uint32Array(probs.length);
  for (let i = 0; i < ids.length; i++) ids[i] = i;
  return ids.sort(byRank(probs));
}

export function normalize(probs: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < probs.length; i++) sum += probs[i];
  const out = new Float32Array(probs.length);
  for (let i = 0; i < probs.length; i++) out[i] = probs[i] / sum;
  return out;
}
