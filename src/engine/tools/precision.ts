// What quantization does to the next-token distribution: the same model at float32, Q8_0 and Q4_0 (its
// weight matrices rounded to 8 or 4 bits a weight, in blocks of 32 sharing a scale), at the same step.
// Each precision's distribution, whether its most likely token is float32's, how far it moved (KL from
// float32), the chosen token's probability in each; and over a greedy run, how long each stays on float32's path.
import type { LoadedModel } from '../load/load.ts';
import { withCacheKept } from '../model/model.ts';
import { readData } from '../runtime/backend.ts';
import type { WeightDType } from '../runtime/quant.ts';
import { probsOf } from './finetune.ts';

export interface PrecisionSide {
  dtype: WeightDType;
  /** Bytes the model's weights take at this precision (tensors and quantized blocks; no KV cache). */
  weightBytes: number;
  top: { id: number; token: string; prob: number }[];
  /** The token the run chose at this step: its probability and rank (1 = most probable) here. */
  chosen: { id: number; prob: number; rank: number } | null;
  /** Whether this precision's most likely token is float32's. */
  sameTop1: boolean;
  /** KL(float32 ‖ this) in nats: 0 for float32 itself. */
  klNats: number;
  /** Largest difference of any token's probability from float32's, in probability (0..1). */
  maxProbDiff: number;
}

export interface GreedyPath {
  dtype: WeightDType;
  ids: number[];
  /** Each token's label, and the whole continuation as text. */
  tokens: string[];
  text: string;
  /** Tokens equal to float32's greedy tokens before the first that differs (= ids.length when none does). */
  agree: number;
}

export interface PrecisionComparison {
  sides: PrecisionSide[];
  /** Greedy continuations of the run's prompt at each precision, as long as the run (at most maxTokens). */
  greedy: GreedyPath[];
  greedyFrom: number; // prompt tokens the greedy runs start after
  /** The precision of the weights in the model's file: when it is quantized, "float32" is those weights as floats, not the weights as trained. */
  source: WeightDType;
}

/** The model at one precision. */
export interface PrecisionModel {
  dtype: WeightDType;
  lm: LoadedModel;
}

async function lastProbs(lm: LoadedModel, ids: number[]): Promise<Float32Array> {
  lm.model.truncate(0);
  const out = lm.model.forward(ids, true);
  const logits = await readData(out);
  out.dispose();
  return probsOf(logits);
}

/**
 * KL(p ‖ q) in nats. Never below 0: two float32 distributions that are equal but for rounding (a Q4_0 file against
 * its own weights widened to float32) can sum to a hair under it, and a learner would read "−5.6e-9" as a result.
 */
export function klNats(p: Float32Array, q: Float32Array): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) kl += p[i] * Math.log(p[i] / Math.max(q[i], 1e-45));
  return Math.max(0, kl);
}

function argmax(p: Float32Array): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}

async function greedyIds(lm: LoadedModel, promptIds: number[], n: number): Promise<number[]> {
  const ids: number[] = [];
  lm.model.truncate(0);
  let next = promptIds;
  for (let i = 0; i < Math.min(n, lm.model.contextLength - promptIds.length); i++) {
    const out = lm.model.forward(next, true);
    const logits = await readData(out);
    out.dispose();
    ids.push(argmax(logits));
    if (lm.eosIds.includes(ids[i])) break; // the model ended its text (the end token is shown), as a run stops there
    next = [ids[i]];
  }
  return ids;
}

/**
 * The comparison at the step whose context is `contextIds` (chosen: the token the run drew there), and greedy
 * runs of `greedyTokens` from `promptIds`. `models[0]` is float32. Every model's KV cache is left as it was.
 */
export async function comparePrecisions(models: PrecisionModel[], contextIds: number[], chosenId: number | null, promptIds: number[], greedyTokens: number, topN = 10): Promise<PrecisionComparison> {
  if (models[0]?.dtype !== 'f32') throw new Error('comparePrecisions: the first model must be the float32 one');
  const dists: Float32Array[] = [];
  const greedy: GreedyPath[] = [];
  for (const m of models) {
    await withCacheKept(m.lm.model, async () => {
      dists.push(await lastProbs(m.lm, contextIds));
      const ids = await greedyIds(m.lm, promptIds, greedyTokens);
      const ref = greedy[0]?.ids ?? ids;
      let agree = 0;
      while (agree < ids.length && ids[agree] === ref[agree]) agree++;
      greedy.push({ dtype: m.dtype, ids, agree, tokens: ids.map((id) => m.lm.tokenizer.tokenLabel(id)), text: m.lm.tokenizer.decode(ids) });
    });
  }
  const f32 = dists[0];
  const top1 = argmax(f32);
  const sides = models.map((m, i): PrecisionSide => {
    const p = dists[i];
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
    let maxProbDiff = 0;
    for (let v = 0; v < p.length; v++) maxProbDiff = Math.max(maxProbDiff, Math.abs(p[v] - f32[v]));
    return {
      dtype: m.dtype,
      weightBytes: m.lm.model.engineWeightBytes,
      top: order.slice(0, topN).map((id) => ({ id, token: m.lm.tokenizer.tokenLabel(id), prob: p[id] })),
      chosen: chosenId === null || chosenId >= p.length ? null : { id: chosenId, prob: p[chosenId], rank: order.indexOf(chosenId) + 1 },
      sameTop1: order[0] === top1,
      klNats: i === 0 ? 0 : klNats(f32, p),
      maxProbDiff,
    };
  });
  return { sides, greedy, greedyFrom: promptIds.length, source: models[0].lm.sourceDType };
}
