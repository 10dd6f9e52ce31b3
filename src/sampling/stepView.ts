// What a learner is shown of one step: the most probable tokens, the chosen token wherever it ranks,
// one entry for all the other tokens, and the draw against the cumulative distribution, where every
// segment is labelled. Pure functions over Float32Arrays, recomputed from the step's logits.
import { distributions, drawFrom, type Distributions, type SamplingSettings } from './sampler.ts';
import type { StageName } from './stages.ts';

export interface StepRow {
  id: number;
  rank: number; // 1 = most probable (raw order, which temperature keeps)
  raw: number;
  tempered: number;
  final: number;
  /** In the context and changed by the repetition penalty. */
  penalised: boolean;
}

/** The mass of every token not listed as a row, under each view. */
export interface OtherMass {
  count: number;
  raw: number;
  tempered: number;
  final: number;
}

/** A piece of [0, 1) in draw order: one token, or a run of unlisted tokens between ranks. */
export interface CdfSegment {
  start: number;
  width: number;
  id: number | null; // null: several unlisted tokens
  fromRank: number;
  toRank: number;
  count: number;
}

export interface StepView {
  rows: StepRow[]; // the topN by rank, then the chosen (and the would-be pick) if they rank lower
  other: OtherMass;
  chosen: StepRow;
  wouldPick: number; // what the current settings would pick with the step's draw (argmax when greedy)
  segments: CdfSegment[];
  kept: number;
  vocab: number;
  /** Each active stage in pipeline order: its value, what it leaves, and the chosen token's probability after it. */
  stages: { name: StageName; value: number; kept: number; chosen: number }[];
}

/**
 * One step seen under `settings`: `chosenId` is the token the run took, `draw` its uniform number
 * (null when greedy or picked by hand); `context` the ids before this step (for the repetition penalty).
 * Probabilities are over the whole vocabulary.
 */
export function stepView(logits: Float32Array, settings: SamplingSettings, chosenId: number, draw: number | null, topN: number, context: ArrayLike<number> = []): StepView {
  const d = distributions(logits, settings, context);
  const penalisedIds = settings.repetitionPenalty === 1 ? new Set<number>() : new Set(Array.from(context));
  const wouldPick = draw === null ? d.order[0] : drawFrom(d.final, d.order, draw);
  const rankOf = new Map<number, number>();
  const wanted = new Set([chosenId, wouldPick]);
  let found = 0;
  for (let r = 0; r < d.order.length && (found < wanted.size || r < topN); r++) {
    const id = d.order[r];
    if (wanted.has(id)) found++;
    if (r < topN || wanted.has(id)) rankOf.set(id, r + 1);
  }
  const row = (id: number): StepRow => ({ id, rank: rankOf.get(id)!, raw: d.raw[id], tempered: d.tempered[id], final: d.final[id], penalised: penalisedIds.has(id) });
  const rows = [...rankOf.keys()].sort((a, b) => rankOf.get(a)! - rankOf.get(b)!).map(row);
  return { rows, other: otherMass(d, rows), chosen: row(chosenId), wouldPick, segments: segments(d, new Set(rankOf.keys())), kept: d.kept, vocab: logits.length, stages: d.stages.map((st) => ({ name: st.name, value: st.value, kept: st.kept, chosen: st.probs[chosenId] })) };
}

function otherMass(d: Distributions, rows: StepRow[]): OtherMass {
  // Summed in float64 from the listed rows' complement, so the entries add up to the whole.
  let raw = 1;
  let tempered = 1;
  let final = 1;
  for (const r of rows) {
    raw -= r.raw;
    tempered -= r.tempered;
    final -= r.final;
  }
  const clamp = (x: number) => Math.max(0, x);
  return { count: d.raw.length - rows.length, raw: clamp(raw), tempered: clamp(tempered), final: clamp(final) };
}

/** The kept tokens in draw order; listed tokens get a segment each, the ones between them are grouped. */
function segments(d: Distributions, listed: Set<number>): CdfSegment[] {
  const out: CdfSegment[] = [];
  let cum = 0;
  let group: CdfSegment | null = null;
  for (let r = 0; r < d.order.length; r++) {
    const id = d.order[r];
    const p = d.final[id];
    if (p === 0) continue;
    if (listed.has(id)) {
      group = null;
      out.push({ start: cum, width: p, id, fromRank: r + 1, toRank: r + 1, count: 1 });
    } else {
      if (!group) out.push((group = { start: cum, width: 0, id: null, fromRank: r + 1, toRank: r + 1, count: 0 }));
      group.width += p;
      group.toRank = r + 1;
      group.count++;
    }
    cum += p;
  }
  return out;
}

/** The segment the draw u falls in (the last one when u is within rounding of 1). */
export function segmentAt(segs: CdfSegment[], u: number): CdfSegment {
  return segs.find((s) => u < s.start + s.width) ?? segs[segs.length - 1];
}
