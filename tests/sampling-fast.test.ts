// The linear-time sampler against the sorting one it replaced (kept as sampleNextBySort, the readable
// reference): for 1,000 steps at GPT-2's vocabulary size, under every kind of setting, the same id,
// the same draw, the same probabilities, top list, kept count and log-probability, bit for bit. The
// entropy is computed another way (from the softmax pass, without a log per token) and is checked
// against −Σ p·log₂ p over the reference's float32 probabilities, to float32 precision.
import { describe, expect, it } from 'vitest';
import { createRng } from '../src/sampling/prng.ts';
import { RankedIds } from '../src/sampling/ranked.ts';
import { softmax, sortedIds } from '../src/sampling/sampler.ts';
import { sampleNext, sampleNextBySort } from '../src/sampling/step.ts';
import { samplingSettings } from '../src/sampling/stages.ts';

const V = 50257;

/** Logits shaped like a language model's: a long Gaussian tail (one table, permuted per step), a few strong candidates, some exact ties. */
const TAIL = (() => {
  const rng = createRng(7);
  return Float32Array.from({ length: V }, () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()) * 2);
})();
function logitsFor(step: number): Float32Array {
  const rng = createRng(1000 + step);
  const out = new Float32Array(V);
  const shift = (step * 104729) % V;
  for (let i = 0; i < V; i++) out[i] = TAIL[(i * 7919 + shift) % V]; // 7919 and 50,257 are coprime: a permutation
  for (let j = 0; j < 5; j++) out[Math.floor(rng() * V)] = 8 + rng() * 4;
  if (step % 7 === 0) for (let i = 0; i < V; i++) out[i] = Math.round(out[i]); // many exact ties: order by id
  if (step % 11 === 0) out.fill(0.5); // a flat distribution: the draw walks deep into the order
  return out;
}

const SETTINGS = [
  samplingSettings({ temperature: 1, topK: 0, topP: 1 }),
  samplingSettings({ temperature: 0, topK: 0, topP: 1 }),
  samplingSettings({ temperature: 0.7, topK: 40, topP: 1 }),
  samplingSettings({ temperature: 0.8, topK: 0, topP: 0.95 }),
  samplingSettings({ temperature: 1.5, topK: 50, topP: 0.9 }),
  samplingSettings({ temperature: 2, topK: 0, topP: 1 }),
  samplingSettings({ temperature: 0.3, topK: 1, topP: 0.5 }),
  samplingSettings({ temperature: 1, topK: 60000, topP: 0.999 }),
  samplingSettings({ temperature: 0, topK: 5, topP: 0.9 }),
];

describe('linear-time sampling', () => {
  it('1,000 steps at a 50,257-token vocabulary: identical to the sorting sampler in every field, the random stream in step', () => {
    const fast = createRng(42);
    const slow = createRng(42);
    for (let step = 0; step < 1000; step++) {
      const logits = logitsFor(step);
      const s = SETTINGS[step % SETTINGS.length];
      const a = sampleNext(logits, s, fast);
      const b = sampleNextBySort(logits, s, slow);
      expect({ ...a, entropy: 0 }, `step ${step} with ${JSON.stringify(s)}`).toEqual({ ...b, entropy: 0 });
      expect(Math.abs(a.entropy - b.entropy), `entropy at step ${step}`).toBeLessThan(1e-6 * Math.max(1, b.entropy)); // float32 probabilities: ~1e-7 relative
    }
    expect(fast()).toBe(slow());
  });

  it('RankedIds gives the full sort’s order, however far it is asked', () => {
    for (const step of [0, 7, 11]) {
      const probs = softmax(logitsFor(step));
      const full = sortedIds(probs);
      const ranked = new RankedIds(probs);
      for (const r of [0, 1, 31, 32, 33, 100, 5000, V - 1]) expect(ranked.at(r)).toBe(full[r]);
      expect(ranked.at(V)).toBeUndefined();
    }
  });
});
