// Min-p (probabilities → probabilities; 0 = off): keep the tokens with p ≥ min_p · p_max. The most
// probable token always stays, so p_max is the same before and after renormalising.
import { rankedBefore, type RankedIds } from '../ranked.ts';
import { scratch } from './fastPath.ts';
import { sortedIds } from './probs.ts';
import type { Kept, TruncateStage } from './stage.ts';

export function checkMinP(minP: number): void {
  if (!(minP >= 0 && minP <= 1)) throw new RangeError(`min-p must be in [0, 1], got ${minP}`);
}

/** Zero every token whose probability is below `minP` times the most probable one's. Not renormalised. */
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

export const minP: TruncateStage<'minP'> = {
  name: 'minP',
  kind: 'truncate',
  off: 0,
  cliFlag: 'min-p',
  urlKey: 'minp',
  symbol: 'min-p',
  limit: { min: 0, minIncluded: true, max: 1, integer: false, rule: '0 to 1 (0 = off)' },
  label: { en: 'min-p', zh: '最小概率比 min-p' },
  input: { kind: 'range', step: 0.01, place: 'more' },
  check: checkMinP,
  apply: applyMinP,
  keepFast: (ctx, kept, value) => (value === 0 ? kept : (minPCut(ctx.order, ctx.rankBy, ctx.tempered, value, kept.ids) ?? kept)),
};

/**
 * Min-p over what earlier stages kept (`keptIds`, null: everything): the ranks from the top while
 * tempered ≥ min_p · p_max, as applyMinP walks them. Without ranking the vocabulary: the tokens at or
 * above the threshold, found in one pass, are that prefix whenever the least of them ranks before the
 * best of the rest (always, unless rounding made the T = 1 order and the tempered one disagree); else
 * the walk itself. Null when nothing more is cut.
 */
function minPCut(order: RankedIds, rankBy: Float32Array, tempered: Float32Array, minP: number, keptIds: Int32Array | null): Kept | null {
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
