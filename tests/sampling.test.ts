// The sampler is pure TypeScript: tested directly on hand-made logits.
import { describe, expect, it } from 'vitest';
import { createRng } from '../src/sampling/prng.ts';
import { applyTopK, applyTopP, argmax, distributions, entropyBits, softmax, sortedIds } from '../src/sampling/sampler.ts';
import { logSoftmaxAt, sampleNext } from '../src/sampling/step.ts';
import { samplingSettings } from '../src/sampling/stages.ts';

const logitsOf = (probs: number[]) => Float32Array.from(probs, Math.log);
const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
const nonZero = (a: Float32Array) => [...a].filter((v) => v > 0).length;

describe('sampler', () => {
  it('softmax is stable and sums to 1, even for huge logits', () => {
    const p = softmax(Float32Array.of(1000, 1001, 1002));
    expect(sum(p)).toBeCloseTo(1, 6);
    expect(p[2] / p[1]).toBeCloseTo(Math.E, 4);
  });

  it('temperature → 0 equals argmax (greedy), at any seed', () => {
    const rng = createRng(1);
    const logits = Float32Array.from({ length: 500 }, (_, i) => Math.sin(i * 12.9898) * 5);
    const best = argmax(logits);
    for (const t of [0, 1e-6]) {
      const s = sampleNext(logits, samplingSettings({ temperature: t, topK: 0, topP: 1 }), rng);
      expect(s.id).toBe(best);
    }
    expect(sampleNext(logits, samplingSettings({ temperature: 0, topK: 0, topP: 1 }), rng).draw).toBeNull();
  });

  it('top-k keeps exactly k tokens, the k most probable', () => {
    const probs = softmax(Float32Array.from({ length: 100 }, (_, i) => Math.cos(i) * 3));
    for (const k of [1, 5, 37, 99]) {
      const kept = applyTopK(probs, k);
      expect(nonZero(kept)).toBe(k);
      const minKept = Math.min(...[...kept].filter((v) => v > 0));
      const maxDropped = Math.max(...[...probs].filter((_, i) => kept[i] === 0));
      expect(minKept).toBeGreaterThanOrEqual(maxDropped);
    }
    expect(nonZero(applyTopK(probs, 0))).toBe(100);
  });

  it('top-p keeps the smallest most-probable prefix whose mass reaches p', () => {
    const probs = Float32Array.of(0.1, 0.4, 0.05, 0.3, 0.15);
    // sorted: 0.4, 0.3, 0.15, 0.1, 0.05 → cumulative 0.4, 0.7, 0.85, 0.95, 1
    expect([...applyTopP(probs, 0.4)].map((v) => v > 0)).toEqual([false, true, false, false, false]);
    expect(nonZero(applyTopP(probs, 0.41))).toBe(2);
    expect(nonZero(applyTopP(probs, 0.7))).toBe(2);
    expect(nonZero(applyTopP(probs, 0.71))).toBe(3);
    expect(nonZero(applyTopP(probs, 1))).toBe(5);
  });

  it('applies temperature, then top-k, then top-p (the documented order)', () => {
    // Temperature before top-p: at T = 1, p = 0.6 keeps 2 of [.5,.3,.2]; at T = 0.5 the top token alone has .66.
    expect(distributions(logitsOf([0.5, 0.3, 0.2]), samplingSettings({ temperature: 1, topK: 0, topP: 0.6 })).kept).toBe(2);
    expect(distributions(logitsOf([0.5, 0.3, 0.2]), samplingSettings({ temperature: 0.5, topK: 0, topP: 0.6 })).kept).toBe(1);
    // Top-k before top-p: after k = 2 the survivors renormalise to [.571,.429], so p = 0.5 keeps 1.
    // (Top-p first would keep 2: 0.4 alone does not reach 0.5.)
    expect(distributions(logitsOf([0.4, 0.3, 0.2, 0.1]), samplingSettings({ temperature: 1, topK: 2, topP: 0.5 })).kept).toBe(1);
  });

  it('final probabilities are over the whole vocabulary and renormalised over what is kept', () => {
    const d = distributions(logitsOf([0.4, 0.3, 0.2, 0.1]), samplingSettings({ temperature: 1, topK: 3, topP: 1 }));
    expect(sum(d.final)).toBeCloseTo(1, 6);
    expect(d.final[0]).toBeCloseTo(0.4 / 0.9, 6);
    expect(d.final[3]).toBe(0);
    expect(d.raw[0]).toBeCloseTo(0.4, 6); // raw stays the model's own distribution
    const s = sampleNext(logitsOf([0.4, 0.3, 0.2, 0.1]), samplingSettings({ temperature: 1, topK: 3, topP: 1 }), createRng(5), 2);
    expect(s.top).toHaveLength(2); // a display slice does not change any probability
    expect(s.top[0].prob).toBeCloseTo(0.4 / 0.9, 6);
  });

  it('the same seed gives the same sequence; another seed differs', () => {
    const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 2);
    const run = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 40 }, () => sampleNext(logits, samplingSettings({ temperature: 1, topK: 0, topP: 1 }), rng).id);
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('sampled frequencies match the final distribution (chi-square, p = 0.001)', () => {
    const logits = Float32Array.from([2.0, 1.5, 1.2, 0.7, 0.3, -0.5, -1, -3]);
    const settings = samplingSettings({ temperature: 0.8, topK: 6, topP: 0.95 });
    const d = distributions(logits, settings);
    const rng = createRng(2024);
    const n = 40_000;
    const counts = new Array(logits.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampleNext(logits, settings, rng, 1).id]++;
    let chi2 = 0;
    let df = -1;
    for (let i = 0; i < logits.length; i++) {
      if (d.final[i] === 0) {
        expect(counts[i]).toBe(0); // truncated tokens are never drawn
        continue;
      }
      const e = n * d.final[i];
      chi2 += (counts[i] - e) ** 2 / e;
      df++;
    }
    const critical: Record<number, number> = { 3: 16.27, 4: 18.47, 5: 20.52 };
    expect(critical[df]).toBeDefined();
    expect(chi2).toBeLessThan(critical[df]);
  });

  it('entropy in bits: uniform over 8 is 3 bits, one-hot is 0', () => {
    expect(entropyBits(new Float32Array(8).fill(1 / 8))).toBeCloseTo(3, 6);
    expect(entropyBits(Float32Array.of(0, 1, 0))).toBe(0);
  });

  it('log-probability comes from the logits, exact even when the probability underflows', () => {
    const logits = Float32Array.of(0, -200);
    expect(softmax(logits)[1]).toBe(0);
    expect(logSoftmaxAt(logits, 1)).toBeCloseTo(-200, 6);
  });

  it('orders ties by lower id, so draws are reproducible', () => {
    expect([...sortedIds(Float32Array.of(0.25, 0.5, 0.25))]).toEqual([1, 0, 2]);
  });

  it('rejects settings outside their ranges with a clear message', () => {
    const l = Float32Array.of(1, 2);
    expect(() => sampleNext(l, samplingSettings({ temperature: -1, topK: 0, topP: 1 }), createRng(1))).toThrow(/temperature/);
    expect(() => sampleNext(l, samplingSettings({ temperature: 1, topK: 1.5, topP: 1 }), createRng(1))).toThrow(/top-k/);
    expect(() => sampleNext(l, samplingSettings({ temperature: 1, topK: 0, topP: 0 }), createRng(1))).toThrow(/top-p/);
  });
});
