// One generation step's sampling, and the record a learner is shown for it.
import { applyTemperature, checkTopK, checkTopP, distributions, drawFrom, entropyBits, softmaxWithSum, type Distributions, type SamplingSettings } from './sampler.ts';
import { byRank, RankedIds, rankedBefore } from './ranked.ts';
import type { Rng } from './prng.ts';
import { applyRepetitionPenalty, checkMinP } from './sampler.ts';
import { isActive, STAGES, type StageName, type StageRecord } from './stages.ts';

export interface Candidate {
  id: number;
  rawProb: number; // softmax(logits), whole vocabulary
  temperedProb: number; // after the logits stages and temperature
  prob: number; // final: after every truncation stage and renormalisation
  stageProbs: number[]; // after each stage of `SampleResult.stages`, renormalised
}

export interface SampleResult {
  id: number;
  prob: number; // of the chosen token under the final distribution
  rawProb: number; // of the chosen token under the raw T = 1 distribution
  logprob: number; // natural log of rawProb, from the logits (exact even when rawProb underflows)
  entropy: number; // of the raw distribution, bits
  draw: number | null; // the uniform number drawn; null when greedy (temperature 0)
  kept: number; // tokens left after every truncation stage
  stages: StageRecord[]; // the active stages in pipeline order (stages.ts), and what each kept
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

/**
 * Chooses the next token from full-vocabulary logits. Pure apart from advancing `rng`. `seen` is the
 * context so far (prompt and output), for the repetition penalty.
 *
 * The same stages as `distributions` + `drawFrom` (sampler.ts), in linear time: a few passes over the
 * vocabulary (softmax at T = 1 and at T, entropy, the kept set) and the rank order only as far as it
 * is needed (RankedIds) instead of a full sort. Every number and every id is the sorting version's,
 * bit for bit (tests/sampling-fast.test.ts checks 1,000 steps at GPT-2's vocabulary size).
 *
 * What each truncation stage keeps is a prefix of the rank order (the m most probable tokens), so
 * "is it kept" is "is its rank < m", and the kept ids need no marking array.
 */
export function sampleNext(logits: Float32Array, settings: SamplingSettings, rng: Rng, topN = 20, seen: ArrayLike<number> = []): SampleResult {
  checkFinite(logits);
  const V = logits.length;
  const { probs: raw, max, sum: rawSum, entropy } = softmaxWithSum(logits, 1, scratch.f32(0, V));
  // The logits stage: the rank order (and everything after) comes from the penalised logits.
  const penalised = settings.repetitionPenalty === 1 ? null : applyRepetitionPenalty(logits, seen, settings.repetitionPenalty);
  const scores = penalised ?? logits;
  const rankBy = penalised ? softmaxWithSum(penalised, 1, scratch.f32(2, V)).probs : raw;
  const order = new RankedIds(rankBy);
  // At T = 1 the tempered distribution is the T = 1 softmax, computed the same way: not computed twice.
  const tempered = settings.temperature === 1 ? rankBy : applyTemperature(scores, settings.temperature, scratch.f32(1, V));
  checkTopK(settings.topK);
  checkTopP(settings.topP);
  checkMinP(settings.minP);

  // The kept tokens: the first `m` in rank order; `keptIds` lists them (in id order when `inIdOrder`),
  // or is null when every token is kept. Each active truncation stage's kept set is noted for the record.
  let keptIds: Int32Array | null = null;
  let inIdOrder = false;
  const afterStage = new Map<StageName, { ids: Int32Array | null; inIdOrder: boolean }>();
  if (settings.topK > 0 && settings.topK < V) {
    keptIds = new Int32Array(settings.topK);
    for (let r = 0; r < settings.topK; r++) keptIds[r] = order.at(r)!;
  }
  afterStage.set('topK', { ids: keptIds, inIdOrder });
  if (settings.topP < 1) {
    let edge: number | null = null;
    const nucleus = keptIds ? null : nucleusAmongRanked(order, tempered, settings.topP);
    if (nucleus) keptIds = nucleus;
    else if (!keptIds && !hasZero(tempered)) {
      // The nucleus without ordering the vocabulary: the rank at which the mass reaches p, by partitioning.
      edge = crossing(null, rankBy, tempered, sumAll(tempered), false, settings.topP - 1e-7, false);
    }
    if (nucleus) {
      // Found among the tokens already ranked, summed in rank order exactly as the walk below sums them.
    } else if (edge !== null) {
      const ids = scratch.i32(1, V);
      let n = 0;
      for (let i = 0; i < V; i++) if (i === edge || rankedBefore(rankBy, i, edge)) ids[n++] = i;
      keptIds = ids.subarray(0, n);
      inIdOrder = true;
    } else {
      // Walk in rank order, as applyTopP does (top-k's short list, a tie within rounding, or zeros).
      const base = keptIds;
      const total = base ? sumInIdOrder(base, tempered) : sumAll(tempered);
      const walked: number[] = [];
      let cum = 0;
      for (let r = 0; ; r++) {
        const id = base ? base[r] : order.at(r);
        if (id === undefined || tempered[id] === 0) break;
        walked.push(id);
        cum += tempered[id] / total;
        if (cum >= settings.topP - 1e-7) break; // the same tolerance as applyTopP
      }
      keptIds = Int32Array.from(walked);
      inIdOrder = false;
    }
  }
  afterStage.set('topP', { ids: keptIds, inIdOrder });
  if (settings.minP > 0) {
    const cut = minPCut(order, rankBy, tempered, settings.minP, keptIds);
    if (cut) {
      keptIds = cut.ids;
      inIdOrder = cut.inIdOrder;
    }
  }
  afterStage.set('minP', { ids: keptIds, inIdOrder });
  const m = keptIds ? keptIds.length : V;
  // Renormalise what is kept (summed in id order, as normalize() does over the whole array).
  const keptSum = keptIds ? sumInIdOrder(keptIds, tempered, inIdOrder) : sumAll(tempered);
  const kept = (id: number) => Math.fround(tempered[id] / keptSum); // the final probability of a kept token
  // Nothing truncated: the final count and the temperature stage's are over the same array, in one pass.
  const wholeCounts = keptIds ? null : countPositiveBoth(tempered, keptSum);
  const keptCount = wholeCounts ? wholeCounts.final : countPositive(keptIds, tempered, keptSum);

  // Each active stage's output, renormalised: its kept count here, each candidate's probability below.
  const stages: StageRecord[] = [];
  const probOf: ((id: number, isKept: boolean) => number)[] = [];
  const keptRanks: number[] = []; // per stage: how many ranks it keeps (a prefix of the rank order)
  for (const stage of STAGES) {
    if (!isActive(stage, settings)) continue;
    const value = settings[stage.name];
    if (stage.kind === 'logits') {
      stages.push({ name: stage.name, value, kept: countPositive(null, rankBy, 1), chosen: 0 });
      probOf.push((c) => rankBy[c]);
      keptRanks.push(V);
    } else if (stage.kind === 'temperature') {
      stages.push({ name: stage.name, value, kept: wholeCounts ? wholeCounts.tempered : countPositive(null, tempered, 1), chosen: 0 });
      probOf.push((c) => tempered[c]);
      keptRanks.push(V);
    } else {
      const after = afterStage.get(stage.name)!;
      // The last stage that cut anything kept exactly the final set: its sum and count are known.
      const isFinal = after.ids === keptIds;
      const sum = isFinal ? keptSum : after.ids ? sumInIdOrder(after.ids, tempered, after.inIdOrder) : sumAll(tempered);
      keptRanks.push(after.ids ? after.ids.length : V);
      stages.push({ name: stage.name, value, kept: isFinal ? keptCount : countPositive(after.ids, tempered, sum), chosen: 0 });
      probOf.push((c, isKept) => (isKept ? Math.fround(tempered[c] / sum) : 0));
    }
  }
  const draw = settings.temperature === 0 ? null : rng();
  let id = order.at(0)!;
  // The token whose cumulative probability (most probable first) passes the draw: by partitioning
  // when that is unambiguous, else by walking the kept tokens in rank order, as drawFrom does.
  const found = draw === null ? null : (drawAmongRanked(order, m, kept, draw) ?? crossing(keptIds, rankBy, tempered, keptSum, true, draw, true));
  if (found !== null) id = found;
  else if (draw !== null) {
    order.at(m - 1); // rank every kept token, then walk them all
    id = drawAmongRanked(order, m, kept, draw) ?? id;
  }

  // The drawn token is kept by every stage (each keeps a subset of the one before's).
  stages.forEach((st, j) => (st.chosen = probOf[j](id, true)));
  const top: Candidate[] = [];
  for (let r = 0; r < Math.min(topN, V); r++) {
    const c = order.at(r)!;
    top.push({ id: c, rawProb: raw[c], temperedProb: tempered[c], prob: r < m ? kept(c) : 0, stageProbs: probOf.map((f, j) => f(c, r < keptRanks[j])) });
  }
  return { id, prob: kept(id), rawProb: raw[id], logprob: logits[id] - max - Math.log(rawSum), entropy, draw, kept: keptCount, stages, top };
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
 * Min-p over what earlier stages kept (`keptIds`, null: everything): the ranks from the top while
 * tempered ≥ min_p · p_max, as applyMinP walks them. Without ranking the vocabulary: the tokens at or
 * above the threshold, found in one pass, are that prefix whenever the least of them ranks before the
 * best of the rest (always, unless rounding made the T = 1 order and the tempered one disagree); else
 * the walk itself. Null when nothing more is cut.
 */
function minPCut(order: RankedIds, rankBy: Float32Array, tempered: Float32Array, minP: number, keptIds: Int32Array | null): { ids: Int32Array; inIdOrder: boolean } | null {
  const threshold = minP * tempered[order.at(0)!];
  const V = tempered.length;
  const above = (id: number) => tempered[id] >= threshold && tempered[id] !== 0;
  let leastIn = -1;
  let bestOut = -1;
  let count = 0;
  for (let i = 0; i < V; i++) {
    if (above(i)) {
      count++;
      if (leastIn < 0 || rankedBefore(rankBy, leastIn, i)) leastIn = i;
    } else if (bestOut < 0 || rankedBefore(rankBy, i, bestOut)) bestOut = i;
  }
  const isPrefix = bestOut < 0 || leastIn < 0 || rankedBefore(rankBy, leastIn, bestOut);
  if (isPrefix) {
    if (keptIds) {
      if (count >= keptIds.length) return null; // min-p keeps everything the earlier stages kept
      // Both are prefixes of the rank order: the shorter one, as the ids of the earlier list it keeps.
      return { ids: keptIds.filter(above), inIdOrder: false };
    }
    if (count >= V) return null;
    const ids = scratch.i32(2, V);
    let n = 0;
    for (let i = 0; i < V; i++) if (above(i)) ids[n++] = i;
    return { ids: ids.subarray(0, n), inIdOrder: true };
  }
  const walked: number[] = [];
  const limit = keptIds ? keptIds.length : V;
  for (let r = 0; r < limit; r++) {
    const id = order.at(r)!;
    if (!above(id)) break;
    walked.push(id);
  }
  return walked.length >= limit ? null : { ids: Int32Array.from(walked), inIdOrder: false };
}

/**
 * The walk of applyTopP over the tokens RankedIds has already ranked (the top 32 at least): the nucleus
 * if its mass reaches p among them, else null. The same sums in the same order: the same answer.
 */
function nucleusAmongRanked(order: RankedIds, tempered: Float32Array, p: number): Int32Array | null {
  const total = sumAll(tempered);
  let cum = 0;
  for (let r = 0; r < order.known; r++) {
    const id = order.at(r)!;
    if (tempered[id] === 0) return Int32Array.from({ length: r }, (_, i) => order.at(i)!);
    cum += tempered[id] / total;
    if (cum >= p - 1e-7) return Int32Array.from({ length: r + 1 }, (_, i) => order.at(i)!);
  }
  return null;
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

/**
 * Arrays the size of the vocabulary, reused from call to call: allocating one (zeroed, outside the JS
 * heap) costs about as much as the pass that fills it (~0.4 ms at 50,257 tokens). Nothing a call
 * returns refers to them, and a call never yields, so reuse is invisible to callers.
 */
const scratch = {
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

/** The sorting version of sampleNext: distributions() then drawFrom(). Kept as the readable reference. */
export function sampleNextBySort(logits: Float32Array, settings: SamplingSettings, rng: Rng, topN = 20, seen: ArrayLike<number> = []): SampleResult {
  checkFinite(logits);
  const d = distributions(logits, settings, seen);
  const draw = settings.temperature === 0 ? null : rng();
  const id = draw === null ? d.order[0] : drawFrom(d.final, d.order, draw);
  return describe(logits, d, id, draw, topN);
}

function hasZero(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] === 0) return true;
  return false;
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
function crossing(ids: Int32Array | null, p: Float32Array, x: Float32Array, div: number, round: boolean, target: number, strict: boolean): number | null {
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

function sumAll(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** The float64 sum of x over `ids`, added in id order (the order a full pass would add them in). */
function sumInIdOrder(ids: Int32Array, x: Float32Array, alreadyInIdOrder = false): number {
  const sorted = alreadyInIdOrder ? ids : ids.slice().sort();
  let s = 0;
  for (const id of sorted) s += x[id];
  return s;
}

/** The same record for a token the learner chose by hand (a branch): no draw was made. */
export function describeChoice(logits: Float32Array, settings: SamplingSettings, id: number, topN = 20, seen: ArrayLike<number> = []): SampleResult {
  checkFinite(logits);
  return describe(logits, distributions(logits, settings, seen), id, null, topN);
}

function describe(logits: Float32Array, d: Distributions, id: number, draw: number | null, topN: number): SampleResult {
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
