// Top-k (probabilities → probabilities; 0 = off): keep the k most probable tokens.
import { sortedIds } from './probs.ts';
import type { TruncateStage } from './stage.ts';

export function checkTopK(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`top-k must be a whole number ≥ 0, got ${k}`);
}

/** Zero all but the k most probable tokens (k = 0 or k ≥ vocab keeps everything). Not renormalised. */
export function applyTopK(probs: Float32Array, k: number, order = sortedIds(probs)): Float32Array {
  checkTopK(k);
  if (k === 0 || k >= probs.length) return probs.slice();
  const out = new Float32Array(probs.length);
  for (let r = 0; r < k; r++) out[order[r]] = probs[order[r]];
  return out;
}

export const topK: TruncateStage<'topK'> = {
  name: 'topK',
  kind: 'truncate',
  off: 0,
  cliFlag: 'top-k',
  urlKey: 'k',
  symbol: 'top-k',
  limit: { min: 0, minIncluded: true, max: 1_000_000, integer: true, rule: 'a whole number from 0 to 1000000 (0 = off)' },
  label: { en: 'top-k', zh: '前 k 个' },
  input: { kind: 'number', step: 1, place: 'first' },
  check: checkTopK,
  apply: applyTopK,
  // The first k ranks: RankedIds finds them with a heap, no full sort. Kept sets are prefixes of the
  // rank order, so after an earlier cut to m ranks this keeps min(k, m).
  keepFast(ctx, kept, k) {
    const m = kept.ids ? kept.ids.length : ctx.V;
    if (k === 0 || k >= m) return kept;
    const ids = new Int32Array(k);
    for (let r = 0; r < k; r++) ids[r] = ctx.order.at(r)!;
    return { ids, inIdOrder: false };
  },
};
