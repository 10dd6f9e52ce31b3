// The step panel's view of a step: the chosen token always listed with its rank, one entry holding the
// rest of the mass, and cumulative segments every one labelled. Checked against the sampler's own
// functions and a direct float64 computation.
import { describe, expect, it } from 'vitest';
import { createRng } from '../src/sampling/prng.ts';
import { distributions, drawFrom, sortedIds } from '../src/sampling/sampler.ts';
import { segmentAt, stepView } from '../src/sampling/stepView.ts';
import { samplingSettings } from '../src/sampling/stages.ts';

function randomLogits(n: number, seed: number, scale = 4): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng() - 0.5) * 2 * scale);
}

describe('stepView', () => {
  it('lists a chosen token that ranks far below the top N, with its exact rank and probabilities', () => {
    const logits = randomLogits(4096, 1);
    const order = sortedIds(distributions(logits, samplingSettings({ temperature: 1, topK: 0, topP: 1 })).raw);
    const chosen = order[700];
    const v = stepView(logits, samplingSettings({ temperature: 1, topK: 0, topP: 1 }), chosen, 0.5, 15);
    expect(v.rows.slice(0, 15).map((r) => r.id)).toEqual([...order.slice(0, 15)]);
    const row = v.rows.find((r) => r.id === chosen)!;
    expect(row.rank).toBe(701);
    expect(v.chosen.rank).toBe(701);
    // Direct float64 softmax of the chosen logit.
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    expect(row.raw).toBeCloseTo(Math.exp(logits[chosen] - max) / sum, 7);
  });

  it('the rows plus "all other tokens" hold the whole mass under raw, tempered and final', () => {
    for (const settings of [
      samplingSettings({ temperature: 2, topK: 0, topP: 1 }),
      samplingSettings({ temperature: 0.7, topK: 50, topP: 0.9 }),
      samplingSettings({ temperature: 0, topK: 0, topP: 1 }),
    ]) {
      const logits = randomLogits(2000, 7);
      const v = stepView(logits, settings, 3, settings.temperature === 0 ? null : 0.3, 10);
      for (const key of ['raw', 'tempered', 'final'] as const) {
        const total = v.rows.reduce((a, r) => a + r[key], 0) + v.other[key];
        expect(total).toBeCloseTo(1, 5);
      }
      expect(v.other.count).toBe(2000 - v.rows.length);
    }
  });

  it('every draw lands on a labelled segment: the one of the token the sampler draws', () => {
    const rng = createRng(3);
    for (let trial = 0; trial < 200; trial++) {
      const logits = randomLogits(500, 100 + trial, 3);
      const settings = samplingSettings({ temperature: 0.5 + 2 * rng(), topK: trial % 3 === 0 ? 40 : 0, topP: trial % 2 ? 0.95 : 1 });
      const u = rng();
      const d = distributions(logits, settings);
      const drawn = drawFrom(d.final, d.order, u);
      const v = stepView(logits, settings, drawn, u, 15);
      const seg = segmentAt(v.segments, u);
      expect(seg.id).toBe(drawn); // the drawn token always has its own segment
      expect(v.wouldPick).toBe(drawn);
      const end = v.segments[v.segments.length - 1];
      expect(end.start + end.width).toBeCloseTo(1, 5);
      // Segments tile [0, 1) in draw order without gaps.
      v.segments.forEach((s, i) => i && expect(s.start).toBeCloseTo(v.segments[i - 1].start + v.segments[i - 1].width, 9));
    }
  });

  it('what other settings would pick is listed too, so the what-if names a token', () => {
    const logits = randomLogits(3000, 11);
    const generated = samplingSettings({ temperature: 1, topK: 0, topP: 1 });
    const d = distributions(logits, generated);
    const chosen = drawFrom(d.final, d.order, 0.97);
    const v = stepView(logits, samplingSettings({ temperature: 1.8, topK: 0, topP: 1 }), chosen, 0.97, 15);
    expect(v.rows.some((r) => r.id === v.wouldPick)).toBe(true);
  });
});
