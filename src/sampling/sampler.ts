// The sampler's reference path: small pure functions over full-vocabulary Float32Arrays. No TF.js here.
//
// `distributions` runs a chain of stages (stages.ts: STAGES, each stage one file in chain/) in order,
// by kind, with no stage named here:
//   logits stages   scores = stage.applyLogits(scores, value, seen)        (the repetition penalty)
//   temperature     tempered = stage.apply(scores, T); T = 0 is greedy: all mass on the argmax
//   truncate        probs = stage.apply(probs, value, order): zero what it cuts (top-k, top-p, min-p)
//   final           renormalise what is kept
//   draw            u ~ U[0,1) from the seeded PRNG; walk the kept tokens from most to least probable
//                   (ties: lower id first) and pick the first whose cumulative probability exceeds u.
// `raw` = softmax(logits) is always the model's own distribution, before any rule.
// Every probability is over the whole vocabulary; nothing is renormalised over a display slice.
// step.ts has the linear-time version (sampleNext), which must agree with this one bit for bit.

import { checkChain, isActive, type Stage } from './chain/stage.ts';
import { normalize, softmax, sortedIds } from './chain/probs.ts';
import { rankOf } from './ranked.ts';
import { STAGES, type StageName } from './stages.ts';

export type { SamplingSettings } from './stages.ts';
// Moved into the stage files and primitives module; re-exported so callers keep one import.
export { argmax, normalize, softmax, softmaxWithSum, sortedIds } from './chain/probs.ts';
export { applyRepetitionPenalty, checkRepetitionPenalty } from './chain/repetitionPenalty.ts';
export { applyTemperature, checkTemperature } from './chain/temperature.ts';
export { applyTopK, checkTopK } from './chain/topK.ts';
export { applyTopP, checkTopP } from './chain/topP.ts';
export { applyMinP, checkMinP } from './chain/minP.ts';

/** Where a token stands in the model's own distribution (T = 1): its probability and its rank (1 = most probable, ties by lower id). */
export function rawStanding(logits: Float32Array, id: number): { rawProb: number; rank: number } {
  const raw = softmax(logits);
  return { rawProb: raw[id], rank: rankOf(raw, id) };
}

/** Shannon entropy in bits. */
export function entropyBits(probs: Float32Array): number {
  let h = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) h -= probs[i] * Math.log2(probs[i]);
  return h;
}

/** One stage's output at one step: its distribution (renormalised) and how many tokens it leaves. */
export interface StageOutput<N extends string = StageName> {
  name: N;
  value: number;
  probs: Float32Array;
  kept: number;
}

export interface Distributions<N extends string = StageName> {
  raw: Float32Array; // softmax(logits), T = 1: the model's own
  tempered: Float32Array; // after the logits stages and temperature
  final: Float32Array; // after every truncation stage, renormalised
  order: Uint32Array; // ids by descending tempered probability (ties: lower id): the draw's order
  kept: number; // how many tokens have non-zero final probability
  stages: StageOutput<N>[]; // every active stage's output, in chain order
}

function countKept(probs: Float32Array): number {
  let kept = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) kept++;
  return kept;
}

/**
 * Every view a learner is shown of one step, from its logits, the settings and the context so far
 * (`seen`, for the repetition penalty): the stages of `chain` (default: stages.ts), one after the other.
 */
export function distributions<N extends string = StageName>(
  logits: Float32Array,
  s: Readonly<Record<N, number>>,
  seen: ArrayLike<number> = [],
  chain: readonly Stage<N>[] = STAGES as unknown as readonly Stage<N>[],
): Distributions<N> {
  checkChain(chain);
  for (const stage of chain) stage.check(s[stage.name]); // every value, before any work
  const raw = softmax(logits);
  const stages: StageOutput<N>[] = [];
  let scores = logits;
  let atT1 = raw; // softmax(scores): what the rank order is taken from
  let order: Uint32Array | null = null;
  let tempered: Float32Array | null = null;
  let probs: Float32Array | null = null;
  for (const stage of chain) {
    const value = s[stage.name];
    if (stage.kind === 'logits') {
      if (!isActive(stage, s)) continue;
      scores = stage.applyLogits(scores, value, seen);
      atT1 = softmax(scores);
      stages.push({ name: stage.name, value, probs: atT1, kept: countKept(atT1) });
    } else if (stage.kind === 'temperature') {
      // Dividing by T > 0 is monotonic and T = 0 puts all mass on the argmax (the first id here), so one
      // sort of the T = 1 distribution orders every later view.
      order = sortedIds(atT1);
      tempered = probs = stage.apply(scores, value);
      stages.push({ name: stage.name, value, probs: tempered, kept: countKept(tempered) });
    } else {
      if (!isActive(stage, s)) continue; // at its off value a stage changes nothing
      probs = stage.apply(probs!, value, order!); // checkChain: temperature came first
      const shown = normalize(probs);
      stages.push({ name: stage.name, value, probs: shown, kept: countKept(shown) });
    }
  }
  const final = normalize(probs!);
  return { raw, tempered: tempered!, final, order: order!, kept: countKept(final), stages };
}

/** The draw: walks the kept tokens in `order` and returns the first whose cumulative probability exceeds u. */
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
