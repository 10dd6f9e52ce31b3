// The sampler: small pure functions over full-vocabulary Float32Arrays. No TF.js here.
//
// The rules run as the stages listed in stages.ts, in that order:
//   1. repetition penalty  seen tokens' logits: positive ÷ θ, negative × θ      (1 = off)
//   2. temperature         tempered = softmax(logits / T); T = 0 is greedy: all mass on the argmax
//   3. top-k               keep the k most probable tokens of `tempered`         (0 = off)
//   4. top-p               of what is left, renormalised, keep the smallest most-probable prefix whose mass reaches p (1 = off)
//   5. min-p               keep the tokens with p ≥ min_p · p_max                (0 = off)
//   6. final               renormalise what is kept
//   7. draw                u ~ U[0,1) from the seeded PRNG; walk the kept tokens from most to least probable
//                          (ties: lower id first) and pick the first whose cumulative probability exceeds u.
// `raw` = softmax(logits) is always the model's own distribution, before any rule.
// Every probability is over the whole vocabulary; nothing is renormalised over a display slice.

import { byRank, rankOf } from './ranked.ts';
import { STAGES, isActive, type SamplingSettings, type StageName } from './stages.ts';

export type { SamplingSettings } from './stages.ts';

/** Softmax with the max subtracted first (stable); sums in float64. */
export function softmax(logits: Float32Array, temperature = 1): Float32Array {
  return softmaxWithSum(logits, temperature).probs;
}

/**
 * softmax, and the max and the float64 sum of exp((x − max)/T) it divided by (log-sum-exp = max + log(sum)
 * at T = 1), and the distribution's entropy in bits. The entropy comes from the same pass, without a log
 * per token: with z = (x − max)/T and e = exp(z), −Σ p·ln p = ln(sum) − Σ e·z / sum.
 */
export function softmaxWithSum(logits: Float32Array, temperature = 1, out = new Float32Array(logits.length)): { probs: Float32Array; max: number; sum: number; entropy: number } {
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

/** Where a token stands in the model's own distribution (T = 1): its probability and its rank (1 = most probable, ties by lower id). */
export function rawStanding(logits: Float32Array, id: number): { rawProb: number; rank: number } {
  const raw = softmax(logits);
  return { rawProb: raw[id], rank: rankOf(raw, id) };
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

/** Temperature: a one-hot on the argmax when temperature is 0, else softmax(logits / T). `out` may be a reused array. */
export function applyTemperature(logits: Float32Array, temperature: number, out = new Float32Array(logits.length)): Float32Array {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be a number ≥ 0, got ${temperature}`);
  if (temperature === 0) {
    out.fill(0);
    out[argmax(logits)] = 1;
    return out;
  }
  return softmaxWithSum(logits, temperature, out).probs;
}

export function checkTopK(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`top-k must be a whole number ≥ 0, got ${k}`);
}

export function checkTopP(p: number): void {
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${p}`);
}

/** Top-k: zero all but the k most probable tokens (k = 0 or k ≥ vocab keeps everything). Not renormalised. */
export function applyTopK(probs: Float32Array, k: number, order = sortedIds(probs)): Float32Array {
  checkTopK(k);
  if (k === 0 || k >= probs.length) return probs.slice();
  const out = new Float32Array(probs.length);
  for (let r = 0; r < k; r++) out[order[r]] = probs[order[r]];
  return out;
}

/**
 * Top-p (nucleus): renormalise what is kept so far, then keep the smallest prefix of the most
 * probable tokens whose mass reaches p. The token that crosses p is kept. Not renormalised.
 */
export function applyTopP(probs: Float32Array, p: number, order = sortedIds(probs)): Float32Array {
  checkTopP(p);
  if (p === 1) return probs.slice();
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  const out = new Float32Array(probs.length);
  let cum = 0;
  for (let r = 0; r < order.length; r++) {
    const id = order[r];
    if (probs[id] === 0) break;
    out[id] = probs[id];
    cum += probs[id] / total;
    // A small tolerance so that float rounding never drops the token that reaches p exactly.
    if (cum >= p - 1e-7) break;
  }
  return out;
}

export function normalize(probs: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < probs.length; i++) sum += probs[i];
  const out = new Float32Array(probs.length);
  for (let i = 0; i < probs.length; i++) out[i] = probs[i] / sum;
  return out;
}

/** Shannon entropy in bits. */
export function entropyBits(probs: Float32Array): number {
  let h = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) h -= probs[i] * Math.log2(probs[i]);
  return h;
}

/**
 * Repetition penalty (the CTRL paper's rule, as Hugging Face applies it): every token id in `seen`
 * (the context so far, repeats counted once) has a positive logit divided by `penalty` and a negative
 * one multiplied by it. `penalty` > 1 makes repeating less likely, < 1 more likely.
 */
export function applyRepetitionPenalty(logits: Float32Array, seen: ArrayLike<number>, penalty: number): Float32Array {
  if (!(penalty > 0) || !Number.isFinite(penalty)) throw new RangeError(`repetition penalty must be a number above 0, got ${penalty}`);
  const out = logits.slice();
  if (penalty === 1) return out;
  const done = new Set<number>();
  for (let i = 0; i < seen.length; i++) {
    const id = seen[i];
    if (done.has(id) || id < 0 || id >= out.length) continue;
    done.add(id);
    out[id] = out[id] > 0 ? out[id] / penalty : out[id] * penalty;
  }
  return out;
}

export function checkMinP(minP: number): void {
  if (!(minP >= 0 && minP <= 1)) throw new RangeError(`min-p must be in [0, 1], got ${minP}`);
}

/**
 * Min-p: zero every token whose probability is below `minP` times the most probable one's. The most
 * probable token always stays, so p_max is the same before and after renormalising. Not renormalised.
 */
export function applyMinP(probs: Float32Array, minP: number, order = sortedIds(probs)): Float32Array {
  checkMinP(minP);
  if (minP === 0) return probs.slice();
  const threshold = minP * probs[order[0]];
  // Walked in rank order, like the other truncation stages, so what is kept is a prefix of that order.
  const out = new Float32Array(probs.length);
  for (let r = 0; r < order.length; r++) {
    const id = order[r];
    if (!(probs[id] >= threshold) || probs[id] === 0) break;
    out[id] = probs[id];
  }
  return out;
}

/** One stage's output at one step: its distribution (renormalised) and how many tokens it leaves. */
export interface StageOutput {
  name: StageName;
  value: number;
  probs: Float32Array;
  kept: number;
}

export interface Distributions {
  raw: Float32Array; // softmax(logits), T = 1: the model's own
  tempered: Float32Array; // after the logits stages and temperature
  final: Float32Array; // after every truncation stage, renormalised
  order: Uint32Array; // ids by descending tempered probability (ties: lower id): the draw's order
  kept: number; // how many tokens have non-zero final probability
  stages: StageOutput[]; // every active stage's output, in pipeline order
}

function countKept(probs: Float32Array): number {
  let kept = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) kept++;
  return kept;
}

type TruncationStage = 'topK' | 'topP' | 'minP';

/** The truncation stages' functions: each keeps a prefix of `order` of what it is given (not renormalised). */
const TRUNCATE: Record<TruncationStage, (probs: Float32Array, value: number, order: Uint32Array) => Float32Array> = { topK: applyTopK, topP: applyTopP, minP: applyMinP };

/**
 * Every view a learner is shown of one step, from its logits, the settings and the context so far
 * (`seen`, for the repetition penalty): the stages of stages.ts, one after the other.
 */
export function distributions(logits: Float32Array, s: SamplingSettings, seen: ArrayLike<number> = []): Distributions {
  const raw = softmax(logits);
  const stages: StageOutput[] = [];
  let scores = logits;
  let atT1 = raw; // softmax(scores): what the rank order is taken from
  let order: Uint32Array | null = null;
  let tempered: Float32Array | null = null;
  let probs: Float32Array | null = null;
  for (const stage of STAGES) {
    const value = s[stage.name];
    if (stage.kind === 'logits') {
      if (!isActive(stage, s)) continue;
      scores = applyRepetitionPenalty(scores, seen, value);
      atT1 = softmax(scores);
      stages.push({ name: stage.name, value, probs: atT1, kept: countKept(atT1) });
    } else if (stage.kind === 'temperature') {
      // Dividing by T > 0 is monotonic and T = 0 puts all mass on the argmax (the first id here), so one
      // sort of the T = 1 distribution orders every later view.
      order = sortedIds(atT1);
      tempered = probs = applyTemperature(scores, value);
      stages.push({ name: stage.name, value, probs: tempered, kept: countKept(tempered) });
    } else {
      if (!probs || !order) throw new Error(`stage ${stage.name} comes before temperature in STAGES`);
      probs = TRUNCATE[stage.name as TruncationStage](probs, value, order);
      if (isActive(stage, s)) {
        const shown = normalize(probs);
        stages.push({ name: stage.name, value, probs: shown, kept: countKept(shown) });
      }
    }
  }
  const final = normalize(probs!);
  return { raw, tempered: tempered!, final, order: order!, kept: countKept(final), stages };
}

/** Step 7: walks the kept tokens in `order` and returns the first whose cumulative probability exceeds u. */
export function drawFrom(final: Float32Array, order: Uint32Array, u: number): number {
  let cum = 0;
  let last = order[0];
  for (let r = 0; r < order.length; r++) {
    const id = order[r];
    if (final[id] === 0) continue;
    cum += final[id];
    last = id;
    if (u < cum) return id;
  }
  return last; // u within float rounding of 1
}
