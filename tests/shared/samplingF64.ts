// An independent float64 version of the sampling stages, for tests: plain arrays, one sort by logit,
// each stage written from its definition (stages.ts's table), not from src/sampling's code.
import type { SamplingSettings, StageName } from '../../src/sampling/stages.ts';

export interface StageF64 {
  name: StageName;
  kept: number;
  probs: Float64Array; // renormalised over what the stage leaves
}

function softmax64(z: number[]): Float64Array {
  const m = Math.max(...z.filter((x) => x > -Infinity));
  const e = z.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
  const s = e.reduce((a, b) => a + b, 0);
  return Float64Array.from(e, (x) => x / s);
}

/** The distribution kept to the first `keep` ids of `order`, renormalised. */
function keepFirst(p: Float64Array, order: number[], keep: number): Float64Array {
  const out = new Float64Array(p.length);
  let s = 0;
  for (let r = 0; r < keep; r++) s += p[order[r]];
  for (let r = 0; r < keep; r++) out[order[r]] = p[order[r]] / s;
  return out;
}

const positive = (p: Float64Array) => p.reduce((n, x) => n + (x > 0 ? 1 : 0), 0);

/** Every active stage's output and the final distribution, in float64. `seen`: the context's ids. */
export function samplingF64(logits: ArrayLike<number>, s: SamplingSettings, seen: number[]): { stages: StageF64[]; final: Float64Array; order: number[] } {
  const z = Array.from(logits);
  const stages: StageF64[] = [];
  if (s.repetitionPenalty !== 1) {
    for (const id of new Set(seen)) z[id] = z[id] > 0 ? z[id] / s.repetitionPenalty : z[id] * s.repetitionPenalty;
    const p = softmax64(z);
    stages.push({ name: 'repetitionPenalty', kept: positive(p), probs: p });
  }
  const order = z.map((_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
  const tempered = s.temperature === 0 ? Float64Array.from(z, (_, i) => (i === order[0] ? 1 : 0)) : softmax64(z.map((x) => x / s.temperature));
  stages.push({ name: 'temperature', kept: positive(tempered), probs: tempered });
  let keep = z.length;
  let p = tempered;
  const truncated = (name: StageName) => {
    p = keepFirst(tempered, order, keep);
    stages.push({ name, kept: positive(p), probs: p });
  };
  if (s.topK > 0) {
    keep = Math.min(keep, s.topK);
    truncated('topK');
  }
  if (s.topP < 1) {
    let cum = 0;
    for (let r = 0; r < keep; r++) {
      cum += p[order[r]];
      if (cum >= s.topP - 1e-7) {
        keep = r + 1;
        break;
      }
    }
    truncated('topP');
  }
  if (s.minP > 0) {
    const threshold = s.minP * tempered[order[0]];
    let r = 0;
    while (r < keep && tempered[order[r]] >= threshold && tempered[order[r]] > 0) r++;
    keep = r;
    truncated('minP');
  }
  return { stages, final: p, order };
}

/** The draw: the first id, most probable first, whose cumulative final probability passes u. */
export function drawF64(final: Float64Array, order: number[], u: number): number {
  let cum = 0;
  let last = order[0];
  for (const id of order) {
    if (final[id] === 0) continue;
    cum += final[id];
    last = id;
    if (u < cum) return id;
  }
  return last;
}
