// Top-p, the nucleus (probabilities → probabilities; 1 = off): of what is left, renormalised, keep the
// smallest most-probable prefix whose mass reaches p. The token that crosses p is kept.
import { rankedBefore, type RankedIds } from '../ranked.ts';
import { crossing, hasZero, scratch, sumAll, sumInIdOrder } from './fastPath.ts';
import { sortedIds } from './probs.ts';
import type { TruncateStage } from './stage.ts';

export function checkTopP(p: number): void {
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${p}`);
}

/** Renormalise what is kept so far, then keep the smallest prefix of the most probable tokens whose mass reaches p. Not renormalised. */
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

export const topP: TruncateStage<'topP'> = {
  name: 'topP',
  kind: 'truncate',
  off: 1,
  cliFlag: 'top-p',
  urlKey: 'p',
  symbol: 'top-p',
  limit: { min: 0, minIncluded: false, max: 1, integer: false, rule: 'above 0, up to 1 (1 = off)' },
  label: { en: 'top-p', zh: '累积概率 p' },
  input: { kind: 'range', step: 0.01, place: 'more' },
  check: checkTopP,
  apply: applyTopP,
  // Three ways to the same nucleus, cheapest first: among the tokens already ranked; by partitioning
  // (crossing) when nothing was cut before and no probability is 0; else applyTopP's walk in rank order.
  keepFast({ order, rankBy, tempered, V }, kept, p) {
    if (p === 1) return kept;
    const base = kept.ids;
    const nucleus = base ? null : nucleusAmongRanked(order, tempered, p);
    if (nucleus) return { ids: nucleus, inIdOrder: false }; // summed in rank order exactly as the walk sums it
    const edge = !base && !hasZero(tempered) ? crossing(null, rankBy, tempered, sumAll(tempered), false, p - 1e-7, false) : null;
    if (edge !== null) {
      const ids = scratch.i32(1, V);
      return { ids: ids.subarray(0, listUpTo(rankBy, edge, ids)), inIdOrder: true };
    }
    // The walk of applyTopP (an earlier cut, a tie within rounding, or zeros): the kept set is the
    // first `limit` ranks, its total summed in id order as applyTopP's full pass sums it.
    const limit = base ? base.length : V;
    const total = base ? sumInIdOrder(base, tempered, kept.inIdOrder) : sumAll(tempered);
    const walked: number[] = [];
    let cum = 0;
    for (let r = 0; r < limit; r++) {
      const id = order.at(r)!;
      if (tempered[id] === 0) break;
      walked.push(id);
      cum += tempered[id] / total;
      if (cum >= p - 1e-7) break; // the same tolerance as applyTopP
    }
    return { ids: Int32Array.from(walked), inIdOrder: false };
  },
};

/**
 * Every id ranked up to `edge` (inclusive), in one pass, so in id order, into `out`; returns how many.
 * A function of its own: the pass is the hot loop, and V8 optimises a small function whole.
 */
function listUpTo(rankBy: Float32Array, edge: number, out: Int32Array): number {
  let n = 0;
  for (let i = 0; i < rankBy.length; i++) if (i === edge || rankedBefore(rankBy, i, edge)) out[n++] = i;
  return n;
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
