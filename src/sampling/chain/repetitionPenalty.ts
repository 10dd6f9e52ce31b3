// Repetition penalty (logits → logits; 1 = off). The CTRL paper's rule, as Hugging Face applies it:
// every token already in the context has a positive logit divided by θ and a negative one multiplied
// by θ, so θ > 1 always makes it less likely (and θ < 1 more likely).
import type { LogitsStage } from './stage.ts';

export function checkRepetitionPenalty(penalty: number): void {
  if (!(penalty > 0) || !Number.isFinite(penalty)) throw new RangeError(`repetition penalty must be a number above 0, got ${penalty}`);
}

/**
 * Every token id in `seen` (the context so far, repeats counted once) has a positive logit divided by
 * `penalty` and a negative one multiplied by it. A new array.
 */
export function applyRepetitionPenalty(logits: Float32Array, seen: ArrayLike<number>, penalty: number): Float32Array {
  checkRepetitionPenalty(penalty);
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

export const repetitionPenalty: LogitsStage<'repetitionPenalty'> = {
  name: 'repetitionPenalty',
  kind: 'logits',
  off: 1,
  cliFlag: 'repetition-penalty',
  urlKey: 'rep',
  symbol: 'rep',
  limit: { min: 0.5, minIncluded: true, max: 2, integer: false, rule: '0.5 to 2 (1 = off; above 1 makes tokens already in the text less likely)' },
  label: { en: 'repetition penalty', zh: '重复惩罚' },
  input: { kind: 'range', step: 0.05, place: 'more' },
  check: checkRepetitionPenalty,
  // The same rule on both paths: one pass over the seen ids, cheap beside a softmax.
  applyLogits: (logits, value, seen) => applyRepetitionPenalty(logits, seen, value),
};
