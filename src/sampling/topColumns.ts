// A step's most probable tokens as the page keeps them: columns of one Float32Array, not an array of
// objects. Twenty Candidate objects with their stage arrays and token strings took about 8 KB a token,
// kept for every token of every run; these take 4·n·(4 + stages) bytes (480 at 20 candidates and two
// stages) and hold no strings (a token's label is looked up when it is shown).
//
// Lossless: every probability the sampler reports is a float32 value (softmax over a Float32Array, or
// Math.fround of a quotient), and token ids are exact in float32 below 2^24 (vocabularies are far smaller).
import type { Candidate } from './step.ts';

export interface TopColumns {
  n: number; // candidates, most probable first
  stages: number; // active sampling stages (SampleResult.stages), one column each
  /** [id × n] [rawProb × n] [temperedProb × n] [prob × n] [stage 0 × n] … [stage S−1 × n] */
  data: Float32Array;
}

const ID = 0;
const RAW = 1;
const TEMPERED = 2;
const PROB = 3;
const FIRST_STAGE = 4;
const MAX_EXACT_ID = 2 ** 24;

export function packTop(top: readonly Candidate[], stages: number): TopColumns {
  const n = top.length;
  const data = new Float32Array(n * (FIRST_STAGE + stages));
  top.forEach((c, i) => {
    if (!(c.id >= 0 && c.id < MAX_EXACT_ID)) throw new RangeError(`token id ${c.id} cannot be stored exactly (ids must be below 2^24)`);
    data[ID * n + i] = c.id;
    data[RAW * n + i] = c.rawProb;
    data[TEMPERED * n + i] = c.temperedProb;
    data[PROB * n + i] = c.prob;
    for (let s = 0; s < stages; s++) data[(FIRST_STAGE + s) * n + i] = c.stageProbs[s];
  });
  return { n, stages, data };
}

/** The i-th candidate, as the sampler reported it. */
export function candidateAt(t: TopColumns, i: number): Candidate {
  const { n, data } = t;
  const stageProbs: number[] = [];
  for (let s = 0; s < t.stages; s++) stageProbs.push(data[(FIRST_STAGE + s) * n + i]);
  return { id: data[ID * n + i], rawProb: data[RAW * n + i], temperedProb: data[TEMPERED * n + i], prob: data[PROB * n + i], stageProbs };
}

/** The first `k` candidates only (a step whose full list the page let go keeps what its fork mark reads). */
export function firstOf(t: TopColumns, k: number): TopColumns {
  if (k >= t.n) return t;
  const data = new Float32Array(k * (FIRST_STAGE + t.stages));
  for (let col = 0; col < FIRST_STAGE + t.stages; col++) data.set(t.data.subarray(col * t.n, col * t.n + k), col * k);
  return { n: k, stages: t.stages, data };
}

/** Every candidate as an object (for the one step on screen, or an export). */
export function unpackTop(t: TopColumns): Candidate[] {
  return Array.from({ length: t.n }, (_, i) => candidateAt(t, i));
}

export function topId(t: TopColumns, i: number): number {
  return t.data[ID * t.n + i];
}

export function topRawProb(t: TopColumns, i: number): number {
  return t.data[RAW * t.n + i];
}

export function topIds(t: TopColumns): number[] {
  return Array.from(t.data.subarray(0, t.n));
}

/** Where `id` stands among the candidates, or -1. */
export function topIndexOf(t: TopColumns, id: number): number {
  for (let i = 0; i < t.n; i++) if (t.data[ID * t.n + i] === id) return i;
  return -1;
}
