// The sampling rules as stages (src/sampling/stages.ts): their order, min-p and the repetition penalty
// by their definitions, and every stage's output against an independent float64 version.
import { describe, expect, it } from 'vitest';
import { createRng } from '../src/sampling/prng.ts';
import { applyMinP, applyRepetitionPenalty, distributions, softmax, sortedIds } from '../src/sampling/sampler.ts';
import { excludedBy, STAGES, samplingSettings } from '../src/sampling/stages.ts';
import { describeChoice, sampleNext, sampleNextBySort } from '../src/sampling/step.ts';
import { samplingF64 } from './shared/samplingF64.ts';

function randomLogits(seed: number, V: number, scale = 3): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: V }, () => (rng() - 0.5) * 2 * scale);
}

describe('sampling stages', () => {
  it('run in the documented order: repetition penalty, temperature, top-k, top-p, min-p (logits stages first, truncation last)', () => {
    expect(STAGES.map((s) => s.name)).toEqual(['repetitionPenalty', 'temperature', 'topK', 'topP', 'minP']);
    const rank = { logits: 0, temperature: 1, truncate: 2 };
    const kinds = STAGES.map((s) => rank[s.kind]);
    expect(kinds).toEqual([...kinds].sort());
    // The record lists the stages that were on, in that order.
    const s = sampleNext(randomLogits(1, 100), samplingSettings({ temperature: 0.7, topK: 50, topP: 0.9, minP: 0.05, repetitionPenalty: 1.3 }), createRng(1), 5, [3, 4]);
    expect(s.stages.map((x) => x.name)).toEqual(['repetitionPenalty', 'temperature', 'topK', 'topP', 'minP']);
    expect(sampleNext(randomLogits(1, 100), samplingSettings({ temperature: 1 }), createRng(1)).stages.map((x) => x.name)).toEqual(['temperature']);
  });

  it('repetition penalty (Hugging Face convention): a seen token’s positive logit is divided by θ, a negative one multiplied; others untouched; repeats count once', () => {
    const logits = Float32Array.from([2, -1, 0.5, -3, 4, 0]);
    const seen = [0, 1, 1, 5, 1];
    const out = applyRepetitionPenalty(logits, seen, 2);
    expect(Array.from(out)).toEqual([1, -2, 0.5, -3, 4, 0]);
    // θ < 1 does the opposite: seen tokens become more likely.
    expect(Array.from(applyRepetitionPenalty(logits, [0, 1], 0.5))).toEqual([4, -0.5, 0.5, -3, 4, 0]);
    expect(Array.from(applyRepetitionPenalty(logits, seen, 1))).toEqual(Array.from(logits));
  });

  it('the penalty comes before temperature: at T = 0 the pick is the argmax of the penalised logits', () => {
    const logits = Float32Array.from([3, 2.5, 1, 0]);
    const greedy = samplingSettings({ temperature: 0 });
    expect(sampleNext(logits, greedy, createRng(1), 4, [0]).id).toBe(0);
    // 3 / 1.5 = 2 < 2.5: the repeated token loses first place.
    const s = sampleNext(logits, { ...greedy, repetitionPenalty: 1.5 }, createRng(1), 4, [0]);
    expect(s.id).toBe(1);
    expect(s.rawProb).toBeCloseTo(softmax(logits)[1], 7); // raw stays the model's own distribution
  });

  it('min-p keeps exactly the tokens with p ≥ min_p · p_max of the distribution it is given', () => {
    for (const [seed, T, minP] of [[1, 1, 0.05], [2, 0.6, 0.2], [3, 1.5, 0.01], [4, 1, 0.9], [5, 2, 0.3]] as const) {
      const logits = randomLogits(seed, 2000, 4);
      const tempered = softmax(logits, T);
      const kept = applyMinP(tempered, minP);
      const pMax = Math.max(...tempered);
      for (let i = 0; i < tempered.length; i++) expect(kept[i] > 0, `id ${i}`).toBe(tempered[i] >= minP * pMax);
      const d = distributions(logits, samplingSettings({ temperature: T, minP }));
      expect(d.kept).toBe(tempered.filter((p) => p >= minP * pMax).length);
    }
  });

  it('min-p comes after top-p: top-p is not applied to what min-p left (the other order keeps fewer here)', () => {
    const logits = Float32Array.from([0.4, 0.3, 0.2, 0.1].map(Math.log));
    // min-p 0.3: threshold 0.12 keeps 3. top-p 0.75 on the whole: 0.4, 0.7, 0.9 ≥ 0.75 keeps 3.
    // The other order (top-p over min-p's 3, renormalised: 0.44, 0.78) would keep 2.
    const d = distributions(logits, samplingSettings({ temperature: 1, topP: 0.75, minP: 0.3 }));
    expect(d.stages.map((s) => [s.name, s.kept])).toEqual([['temperature', 4], ['topP', 3], ['minP', 3]]);
    expect(d.kept).toBe(3);
  });

  it('every stage’s output (renormalised) and kept count agree with an independent float64 version', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 40; trial++) {
      const V = 500 + Math.floor(rng() * 3000);
      const logits = randomLogits(100 + trial, V, 2 + 4 * rng());
      const seen = Array.from({ length: 20 }, () => Math.floor(rng() * V));
      const s = samplingSettings({
        repetitionPenalty: trial % 3 === 0 ? 1 : 0.7 + rng(),
        temperature: trial % 7 === 0 ? 0 : 0.3 + 1.5 * rng(),
        topK: trial % 2 ? Math.floor(rng() * 200) : 0,
        topP: trial % 4 < 2 ? 0.5 + 0.5 * rng() : 1,
        minP: trial % 5 < 3 ? rng() * 0.3 : 0,
      });
      const d = distributions(logits, s, seen);
      const ref = samplingF64(logits, s, seen);
      expect(d.stages.map((x) => x.name), JSON.stringify(s)).toEqual(ref.stages.map((x) => x.name));
      d.stages.forEach((st, j) => {
        expect(st.kept, `${st.name} with ${JSON.stringify(s)}`).toBe(ref.stages[j].kept);
        let worst = 0;
        for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(st.probs[i] - ref.stages[j].probs[i]));
        expect(worst, st.name).toBeLessThan(1e-6);
      });
      for (let i = 0; i < V; i++) expect(Math.abs(d.final[i] - ref.final[i])).toBeLessThan(1e-6);
    }
  });

  it('the linear-time sampler records the same stages, kept counts and per-stage probabilities as the sorting one, with the penalty and min-p on', () => {
    const [fast, slow] = [createRng(5), createRng(5)];
    for (let step = 0; step < 60; step++) {
      const V = 50257;
      const logits = randomLogits(step, V, 3 + (step % 4));
      const ranked = sortedIds(softmax(logits));
      const seen = Array.from({ length: 30 }, (_, i) => ranked[i * 3]); // some of the most probable tokens
      const s = samplingSettings({ repetitionPenalty: 1 + (step % 3) * 0.3, temperature: step % 5 === 0 ? 0 : 0.5 + (step % 4) * 0.4, topK: step % 6 === 1 ? 40 : 0, topP: step % 4 === 2 ? 0.9 : 1, minP: step % 3 === 0 ? 0.1 : step % 3 === 1 ? 0.01 : 0 });
      const a = sampleNext(logits, s, fast, 20, seen);
      const b = sampleNextBySort(logits, s, slow, 20, seen);
      expect({ ...a, entropy: 0 }, `step ${step} ${JSON.stringify(s)}`).toEqual({ ...b, entropy: 0 });
    }
  });
});

describe('which stage left a token out (the panel says it when a learner types a token the settings exclude)', () => {
  const logits = Float32Array.from([3, 2, 1, 0, -1]);
  const leftOut = (settings: Parameters<typeof samplingSettings>[0], id: number) => excludedBy(describeChoice(logits, samplingSettings(settings), id).stages);
  it('temperature 0 for anything but the most probable token, not top-k or top-p', () => {
    expect(leftOut({ temperature: 0, topK: 40, topP: 0.9 }, 1)).toMatchObject({ name: 'temperature', value: 0 });
    expect(leftOut({ temperature: 0, topK: 40, topP: 0.9 }, 0)).toBeNull();
  });
  it('the first cutting stage in pipeline order, with its value', () => {
    expect(leftOut({ temperature: 1, topK: 2, topP: 1 }, 2)).toMatchObject({ name: 'topK', value: 2 });
    // softmax([3,2,1,0,-1]) ≈ 0.64, 0.23, 0.09, …: top-p 0.8 keeps two, so token 2 is cut by top-p (top-k 4 kept it).
    expect(leftOut({ temperature: 1, topK: 4, topP: 0.8 }, 2)).toMatchObject({ name: 'topP', value: 0.8 });
    expect(leftOut({ temperature: 1, topK: 0, topP: 1, minP: 0.2 }, 3)).toMatchObject({ name: 'minP', value: 0.2 });
    expect(leftOut({ temperature: 1, topK: 2, topP: 0.5 }, 1)).toMatchObject({ name: 'topP' });
    expect(leftOut({ temperature: 1.5, topK: 0, topP: 1 }, 4)).toBeNull();
  });
});
