// One generation step's sampling, and the record a learner is shown for it.
import { distributions, drawFrom, entropyBits, type Distributions, type SamplingSettings } from './sampler.ts';
import type { Rng } from './prng.ts';

export interface Candidate {
  id: number;
  rawProb: number; // softmax(logits), whole vocabulary
  temperedProb: number; // after temperature
  prob: number; // final: after top-k/top-p and renormalisation
}

export interface SampleResult {
  id: number;
  prob: number; // of the chosen token under the final distribution
  rawProb: number; // of the chosen token under the raw T = 1 distribution
  logprob: number; // natural log of rawProb, from the logits (exact even when rawProb underflows)
  entropy: number; // of the raw distribution, bits
  draw: number | null; // the uniform number drawn; null when greedy (temperature 0)
  kept: number; // tokens left after top-k/top-p
  top: Candidate[]; // the topN most probable tokens by raw probability
}

/**
 * Logits that are NaN or infinite: softmax of them is NaN, and a draw over NaN would return an
 * arbitrary token dressed up as a normal step. Nothing is ever sampled from them.
 */
export class NonFiniteLogitsError extends Error {
  constructor(
    readonly bad: number,
    readonly total: number,
    readonly step?: number,
    readonly backend?: string,
  ) {
    super(
      `${step === undefined ? 'This step' : `Step ${step + 1}`} was not sampled: ${bad} of ${total} logits are NaN or infinite, so there is no probability distribution to draw from. ` +
        `Likely causes: damaged weights (load the model again, or re-download it) or a backend that miscomputed${backend === 'webgpu' || backend === 'webgl' ? ` (${backend}: try ?backend=wasm)` : backend ? ` (${backend})` : ''}. Nothing was drawn; the text so far is kept.`,
    );
    this.name = 'NonFiniteLogitsError';
  }
}

/** How many logits are NaN or ±Infinity. */
export function countNonFinite(logits: Float32Array): number {
  let n = 0;
  for (let i = 0; i < logits.length; i++) if (!Number.isFinite(logits[i])) n++;
  return n;
}

function checkFinite(logits: Float32Array): void {
  const bad = countNonFinite(logits);
  if (bad) throw new NonFiniteLogitsError(bad, logits.length);
}

/** Chooses the next token from full-vocabulary logits. Pure apart from advancing `rng`. */
export function sampleNext(logits: Float32Array, settings: SamplingSettings, rng: Rng, topN = 20): SampleResult {
  checkFinite(logits);
  const d = distributions(logits, settings);
  const draw = settings.temperature === 0 ? null : rng();
  const id = draw === null ? d.order[0] : drawFrom(d.final, d.order, draw);
  return describe(logits, d, id, draw, topN);
}

/** The same record for a token the learner chose by hand (a branch): no draw was made. */
export function describeChoice(logits: Float32Array, settings: SamplingSettings, id: number, topN = 20): SampleResult {
  checkFinite(logits);
  return describe(logits, distributions(logits, settings), id, null, topN);
}

function describe(logits: Float32Array, d: Distributions, id: number, draw: number | null, topN: number): SampleResult {
  const top: Candidate[] = [];
  for (let r = 0; r < Math.min(topN, d.order.length); r++) {
    const c = d.order[r];
    top.push({ id: c, rawProb: d.raw[c], temperedProb: d.tempered[c], prob: d.final[c] });
  }
  return { id, prob: d.final[id], rawProb: d.raw[id], logprob: logSoftmaxAt(logits, id), entropy: entropyBits(d.raw), draw, kept: d.kept, top };
}

/** log softmax(logits)[id], computed with log-sum-exp. */
export function logSoftmaxAt(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[id] - max - Math.log(sum);
}
