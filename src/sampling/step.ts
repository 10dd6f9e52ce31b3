// One generation step's sampling, and the record a learner is shown for it.
//
// Two paths over the same chain of stages (stages.ts; each stage one file in chain/):
//   sampleNextBySort  distributions() + drawFrom() (sampler.ts): full arrays and a full sort, the readable reference;
//   sampleNext        the same numbers in linear time: each truncation stage's keepFast narrows the kept
//                     set (a prefix of the rank order), and the draw partitions instead of sorting.
// Both walk the chain by kind and name no stage; a longer chain (the `chain` parameter) runs on both.
import { crossing, scratch, sumAll, sumInIdOrder } from './chain/fastPath.ts';
import { softmax, softmaxWithSum } from './chain/probs.ts';
import { checkChain, isActive, KEEP_ALL, type FastContext, type Kept, type Stage } from './chain/stage.ts';
import type { Rng } from './prng.ts';
import { RankedIds } from './ranked.ts';
import { distributions, drawFrom, entropyBits, type Distributions } from './sampler.ts';
import { STAGES, type StageName, type StageRecord } from './stages.ts';

export interface Candidate {
  id: number;
  rawProb: number; // softmax(logits), whole vocabulary
  temperedProb: number; // after the logits stages and temperature
  prob: number; // final: after every truncation stage and renormalisation
  stageProbs: number[]; // after each stage of `SampleResult.stages`, renormalised
}

export interface SampleResult<N extends string = StageName> {
  id: number;
  prob: number; // of the chosen token under the final distribution
  rawProb: number; // of the chosen token under the raw T = 1 distribution
  logprob: number; // natural log of rawProb, from the logits (exact even when rawProb underflows)
  entropy: number; // of the raw distribution, bits
  draw: number | null; // the uniform number drawn; null when greedy (temperature 0)
  kept: number; // tokens left after every truncation stage
  stages: StageRecord<N>[]; // the active stages in chain order, and what each kept
  top: Candidate[]; // the topN most probable tokens by tempered probability
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
function countNonFinite(logits: Float32Array): number {
  let n = 0;
  for (let i = 0; i < logits.length; i++) if (!Number.isFinite(logits[i])) n++;
  return n;
}

function checkFinite(logits: Float32Array): void {
  const bad = countNonFinite(logits);
  if (bad) throw new NonFiniteLogitsError(bad, logits.length);
}

/** The built-in chain, typed for any chain's names (a default parameter cannot be generic). */
const builtIn = <N extends string>() => STAGES as unknown as readonly Stage<N>[];

/** One active stage's output on the fast path: a logits/temperature stage's distribution, or a truncation stage's kept set. */
interface FastStep<N extends string> {
  stage: Stage<N>;
  value: number;
  probs: Float32Array | null;
  kept: Kept | null;
}

/**
 * Chooses the next token from full-vocabulary logits. Pure apart from advancing `rng`. `seen` is the
 * context so far (prompt and output), for the repetition penalty. `chain`: the stages to run (default
 * STAGES), with one value each in `settings`.
 *
 * The same stages as `distributions` + `drawFrom` (sampler.ts), in linear time: a few passes over the
 * vocabulary (softmax at T = 1 and at T, entropy, the kept set) and the rank order only as far as it
 * is needed (RankedIds) instead of a full sort. Every number and every id is the sorting version's,
 * bit for bit (tests/sampling-fast.test.ts checks 1,000 steps at GPT-2's vocabulary size).
 *
 * What each truncation stage keeps is a prefix of the rank order (the m most probable tokens), so
 * "is it kept" is "is its rank < m", and the kept ids need no marking array.
 */
export function sampleNext<N extends string = StageName>(
  logits: Float32Array,
  settings: Readonly<Record<N, number>>,
  rng: Rng,
  topN = 20,
  seen: ArrayLike<number> = [],
  chain: readonly Stage<N>[] = builtIn<N>(),
): SampleResult<N> {
  checkFinite(logits);
  const temperature = checkChain(chain);
  for (const stage of chain) stage.check(settings[stage.name]); // every value, before any work
  const V = logits.length;
  const { probs: raw, max, sum: rawSum, entropy } = softmaxWithSum(logits, 1, scratch.f32(0, V));

  // Run the chain. The logits stages change `scores`; the rank order (and everything after) comes from
  // softmax(scores), the last logits stage's output. Each truncation stage narrows `kept`.
  const steps: FastStep<N>[] = [];
  let scores = logits;
  let lastLogits: FastStep<N> | null = null;
  let rankBy = raw;
  let tempered = raw;
  let ctx: FastContext | null = null;
  let kept: Kept = KEEP_ALL;
  for (const stage of chain) {
    if (!isActive(stage, settings)) continue;
    const value = settings[stage.name];
    const step: FastStep<N> = { stage, value, probs: null, kept: null };
    if (stage.kind === 'logits') {
      if (lastLogits) lastLogits.probs = softmax(scores); // only when two logits stages are on: not the built-in chain
      scores = stage.applyLogits(scores, value, seen);
      lastLogits = step;
    } else if (stage.kind === 'temperature') {
      if (lastLogits) rankBy = lastLogits.probs = softmaxWithSum(scores, 1, scratch.f32(2, V)).probs;
      tempered = step.probs = stage.applyFast(scores, value, rankBy, scratch.f32(1, V));
      ctx = { order: new RankedIds(rankBy), rankBy, tempered, V };
    } else {
      kept = step.kept = stage.keepFast(ctx!, kept, value); // checkChain: temperature came first
    }
    steps.push(step);
  }
  const order = ctx!.order;

  // The kept tokens: the first `m` in rank order; `keptIds` lists them (in id order when `inIdOrder`),
  // or is null when every token is kept.
  const { ids: keptIds, inIdOrder } = kept;
  const m = keptIds ? keptIds.length : V;
  // Renormalise what is kept (summed in id order, as normalize() does over the whole array).
  const keptSum = keptIds ? sumInIdOrder(keptIds, tempered, inIdOrder) : sumAll(tempered);
  const final = (id: number) => Math.fround(tempered[id] / keptSum); // the final probability of a kept token
  // Nothing truncated: the final count and the temperature stage's are over the same array, in one pass.
  const wholeCounts = keptIds ? null : countPositiveBoth(tempered, keptSum);
  const keptCount = wholeCounts ? wholeCounts.final : countPositive(keptIds, tempered, keptSum);

  // Each active stage's output, renormalised: its kept count here, each candidate's probability below.
  const stages: StageRecord<N>[] = [];
  const probOf: ((id: number, isKept: boolean) => number)[] = [];
  const keptRanks: number[] = []; // per stage: how many ranks it keeps (a prefix of the rank order)
  for (const { stage, value, probs, kept: after } of steps) {
    if (stage.kind === 'logits') {
      const p = probs!;
      stages.push({ name: stage.name, value, kept: countPositive(null, p, 1), chosen: 0 });
      probOf.push((c) => p[c]);
      keptRanks.push(V);
    } else if (stage.kind === 'temperature') {
      stages.push({ name: stage.name, value, kept: wholeCounts ? wholeCounts.tempered : countPositive(null, tempered, 1), chosen: 0 });
      probOf.push((c) => tempered[c]);
      keptRanks.push(V);
    } else {
      const ids = after!.ids;
      // The last stage that cut anything kept exactly the final set: its sum and count are known.
      const isFinal = ids === keptIds;
      const sum = isFinal ? keptSum : ids ? sumInIdOrder(ids, tempered, after!.inIdOrder) : sumAll(tempered);
      keptRanks.push(ids ? ids.length : V);
      stages.push({ name: stage.name, value, kept: isFinal ? keptCount : countPositive(ids, tempered, sum), chosen: 0 });
      probOf.push((c, isKept) => (isKept ? Math.fround(tempered[c] / sum) : 0));
    }
  }
  const draw = temperature.greedy(settings[temperature.name]) ? null : rng();
  let id = order.at(0)!;
  // The token whose cumulative probability (most probable first) passes the draw: by partitioning
  // when that is unambiguous, else by walking the kept tokens in rank order, as drawFrom does.
  const found = draw === null ? null : (drawAmongRanked(order, m, final, draw) ?? crossing(keptIds, rankBy, tempered, keptSum, true, draw, true));
  if (found !== null) id = found;
  else if (draw !== null) {
    order.at(m - 1); // rank every kept token, then walk them all
    id = drawAmongRanked(order, m, final, draw) ?? id;
  }

  // The drawn token is kept by every stage (each keeps a subset of the one before's).
  stages.forEach((st, j) => (st.chosen = probOf[j](id, true)));
  const top: Candidate[] = [];
  for (let r = 0; r < Math.min(topN, V); r++) {
    const c = order.at(r)!;
    top.push({ id: c, rawProb: raw[c], temperedProb: tempered[c], prob: r < m ? final(c) : 0, stageProbs: probOf.map((f, j) => f(c, r < keptRanks[j])) });
  }
  return { id, prob: final(id), rawProb: raw[id], logprob: logits[id] - max - Math.log(rawSum), entropy, draw, kept: keptCount, stages, top };
}

/** How many of `ids` (null: every id) have a non-zero probability x[id] / div in float32. */
function countPositive(ids: Int32Array | null, x: Float32Array, div: number): number {
  let n = 0;
  if (ids) for (let j = 0; j < ids.length; j++) n += Math.fround(x[ids[j]] / div) > 0 ? 1 : 0;
  else for (let i = 0; i < x.length; i++) n += Math.fround(x[i] / div) > 0 ? 1 : 0;
  return n;
}

/** countPositive over every id at div 1 (`tempered`) and at `div` (`final`), in one pass. */
function countPositiveBoth(x: Float32Array, div: number): { tempered: number; final: number } {
  let tempered = 0;
  let final = 0;
  for (let i = 0; i < x.length; i++) {
    tempered += x[i] > 0 ? 1 : 0; // Math.fround(x / 1) is x
    final += Math.fround(x[i] / div) > 0 ? 1 : 0;
  }
  return { tempered, final };
}

/**
 * drawFrom's walk over the kept tokens (the first m ranks) as far as they are already ranked: the drawn
 * id when the cumulative probability passes u there (or when every kept token is ranked), else null.
 * For a peaked distribution the draw almost always lands in the first few tokens.
 */
function drawAmongRanked(order: RankedIds, m: number, final: (id: number) => number, u: number): number | null {
  const n = Math.min(m, order.known);
  let cum = 0;
  let last: number | null = null;
  for (let r = 0; r < n; r++) {
    const id = order.at(r)!;
    const f = final(id);
    if (f === 0) continue;
    cum += f;
    last = id;
    if (u < cum) return id;
  }
  return n === m ? last : null;
}

/** The sorting version of sampleNext: distributions() then drawFrom(). Kept as the readable reference. */
export function sampleNextBySort<N extends string = StageName>(
  logits: Float32Array,
  settings: Readonly<Record<N, number>>,
  rng: Rng,
  topN = 20,
  seen: ArrayLike<number> = [],
  chain: readonly Stage<N>[] = builtIn<N>(),
): SampleResult<N> {
  checkFinite(logits);
  const temperature = checkChain(chain);
  const d = distributions(logits, settings, seen, chain);
  const draw = temperature.greedy(settings[temperature.name]) ? null : rng();
  const id = draw === null ? d.order[0] : drawFrom(d.final, d.order, draw);
  return describe(logits, d, id, draw, topN);
}

/** The same record for a token the learner chose by hand (a branch): no draw was made. */
export function describeChoice<N extends string = StageName>(
  logits: Float32Array,
  settings: Readonly<Record<N, number>>,
  id: number,
  topN = 20,
  seen: ArrayLike<number> = [],
  chain: readonly Stage<N>[] = builtIn<N>(),
): SampleResult<N> {
  checkFinite(logits);
  return describe(logits, distributions(logits, settings, seen, chain), id, null, topN);
}

function describe<N extends string>(logits: Float32Array, d: Distributions<N>, id: number, draw: number | null, topN: number): SampleResult<N> {
  const top: Candidate[] = [];
  for (let r = 0; r < Math.min(topN, d.order.length); r++) {
    const c = d.order[r];
    top.push({ id: c, rawProb: d.raw[c], temperedProb: d.tempered[c], prob: d.final[c], stageProbs: d.stages.map((st) => st.probs[c]) });
  }
  const stages = d.stages.map(({ name, value, kept, probs }) => ({ name, value, kept, chosen: probs[id] }));
  return { id, prob: d.final[id], rawProb: d.raw[id], logprob: logSoftmaxAt(logits, id), entropy: entropyBits(d.raw), draw, kept: d.kept, stages, top };
}

/** log softmax(logits)[id], computed with log-sum-exp. */
export function logSoftmaxAt(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[id] - max - Math.log(sum);
}
