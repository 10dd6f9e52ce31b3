// Sampling as a chain of one-file stages (src/sampling/chain/, listed in src/sampling/stages.ts): a
// stage defined here, in the test, runs through both samplers just by being put in the chain. Two toys:
//   bias         a logits stage: adds its value to token 0's logit                      (0 = off)
//   topFraction  a truncation stage: of the n tokens still in, keep the ⌈f·n⌉ most probable (1 = off)
// Their effect is checked by hand on a six-token example, the fast sampler is checked bit for bit
// against the sorting one with them in the chain, and a misordered chain is refused. Also: each
// built-in stage's file carries its limit, label and flags, and the app's tables are built from them.
import { describe, expect, it } from 'vitest';
import { minP } from '../src/sampling/chain/minP.ts';
import { repetitionPenalty } from '../src/sampling/chain/repetitionPenalty.ts';
import type { LogitsStage, Stage, TruncateStage } from '../src/sampling/chain/stage.ts';
import { temperature } from '../src/sampling/chain/temperature.ts';
import { topK } from '../src/sampling/chain/topK.ts';
import { topP } from '../src/sampling/chain/topP.ts';
import { LIMITS } from '../src/sampling/limits.ts';
import { createRng } from '../src/sampling/prng.ts';
import { distributions, sortedIds } from '../src/sampling/sampler.ts';
import { NEUTRAL_SAMPLING, STAGES, samplingSettings, type StageName } from '../src/sampling/stages.ts';
import { describeChoice, sampleNext, sampleNextBySort } from '../src/sampling/step.ts';
import { en } from '../src/ui/i18n/en.ts';
import { zh } from '../src/ui/i18n/zh.ts';

const bias: LogitsStage<'bias'> = {
  name: 'bias',
  kind: 'logits',
  off: 0,
  cliFlag: 'bias',
  urlKey: 'b',
  symbol: 'bias',
  limit: { min: -10, minIncluded: true, max: 10, integer: false, rule: '-10 to 10 (0 = off)' },
  label: { en: 'bias on token 0', zh: '词元 0 的偏置' },
  input: { kind: 'range', step: 0.5, place: 'more' },
  check(v) {
    if (!Number.isFinite(v)) throw new RangeError(`bias must be a finite number, got ${v}`);
  },
  applyLogits(logits, v) {
    const out = logits.slice();
    out[0] += v;
    return out;
  },
};

function positives(probs: Float32Array): number {
  let n = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0) n++;
  return n;
}

const topFraction: TruncateStage<'topFraction'> = {
  name: 'topFraction',
  kind: 'truncate',
  off: 1,
  cliFlag: 'top-fraction',
  urlKey: 'f',
  symbol: 'top-f',
  limit: { min: 0, minIncluded: false, max: 1, integer: false, rule: 'above 0, up to 1 (1 = off)' },
  label: { en: 'top fraction', zh: '前一部分' },
  input: { kind: 'range', step: 0.01, place: 'more' },
  check(f) {
    if (!(f > 0 && f <= 1)) throw new RangeError(`top fraction must be in (0, 1], got ${f}`);
  },
  apply(probs, f, order = sortedIds(probs)) {
    const keep = Math.ceil(f * positives(probs));
    const out = new Float32Array(probs.length);
    for (let r = 0; r < keep; r++) out[order[r]] = probs[order[r]];
    return out;
  },
  keepFast({ order, tempered, V }, kept, f) {
    let n = 0;
    if (kept.ids) for (const id of kept.ids) n += tempered[id] > 0 ? 1 : 0;
    else n = positives(tempered);
    const keep = Math.ceil(f * n);
    if (keep >= (kept.ids ? kept.ids.length : V)) return kept;
    return { ids: Int32Array.from({ length: keep }, (_, r) => order.at(r)!), inIdOrder: false };
  },
};

type Name = StageName | 'bias' | 'topFraction';
const [rep, temp, ...truncations] = STAGES;
/** The built-in chain with both toys: the logits toy before temperature, the truncation toy last. */
const CHAIN: readonly Stage<Name>[] = [rep, bias, temp, ...truncations, topFraction];
const settings = (s: Partial<Record<Name, number>>): Record<Name, number> => ({ ...NEUTRAL_SAMPLING, bias: 0, topFraction: 1, ...s });

describe('the sampling chain: a stage added in one place', () => {
  // Six tokens; the bias lifts token 0 from 2 to 3.5, above token 4 (3).
  const logits = Float32Array.from([2, 1, 0, -1, 3, 0.5]);
  const biased = [3.5, 1, 0, -1, 3, 0.5];
  const byHand = (xs: number[]) => {
    const e = xs.map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / sum);
  };

  it('the toy stages do what they define, checked by hand on six tokens, and both samplers record them', () => {
    const s = settings({ bias: 1.5, topFraction: 0.3 }); // ⌈0.3 · 6⌉ = 2 tokens: ids 0 and 4
    const d = distributions(logits, s, [], CHAIN);
    expect(d.stages.map((x) => x.name)).toEqual(['bias', 'temperature', 'topFraction']);
    const tempered = byHand(biased);
    Array.from(d.tempered).forEach((p, i) => expect(p).toBeCloseTo(tempered[i], 6));
    expect(d.stages[0].kept).toBe(6);
    const [f0, f4] = byHand([3.5, 3]);
    const expected = [f0, 0, 0, 0, f4, 0];
    Array.from(d.final).forEach((p, i) => expect(p).toBeCloseTo(expected[i], 6));
    expect(d.stages[2]).toMatchObject({ name: 'topFraction', value: 0.3, kept: 2 });
    expect(d.kept).toBe(2);

    for (let seed = 1; seed <= 20; seed++) {
      for (const sample of [sampleNext, sampleNextBySort]) {
        const r = sample(logits, s, createRng(seed), 6, [], CHAIN);
        expect([0, 4]).toContain(r.id);
        const rec = r.stages.find((x) => x.name === 'topFraction')!;
        expect(rec.kept).toBe(2);
        expect(rec.chosen).toBeCloseTo(expected[r.id], 6); // the chosen token's probability after the stage
        expect(r.stages.find((x) => x.name === 'bias')!.chosen).toBeCloseTo(tempered[r.id], 6);
        expect(r.kept).toBe(2);
      }
    }
    // After top-k: of the 4 tokens top-k leaves, ⌈0.5 · 4⌉ = 2.
    const afterK = sampleNext(logits, settings({ topK: 4, topFraction: 0.5 }), createRng(3), 6, [], CHAIN);
    expect(afterK.stages.map((x) => [x.name, x.kept])).toEqual([['temperature', 6], ['topK', 4], ['topFraction', 2]]);
    // A hand-chosen token gets the same record.
    expect(describeChoice(logits, s, 4, 6, [], CHAIN).stages.map((x) => [x.name, x.kept])).toEqual([['bias', 6], ['temperature', 6], ['topFraction', 2]]);
  });

  it('at their off values the toys change nothing: the same result as the built-in chain', () => {
    const rngA = createRng(5);
    const rngB = createRng(5);
    const s = samplingSettings({ temperature: 0.8, topK: 3, repetitionPenalty: 1.2 });
    expect(sampleNext(logits, settings(s), rngA, 6, [1], CHAIN)).toEqual(sampleNext(logits, s, rngB, 6, [1]));
  });

  it('the fast sampler and the sorting one give bit-identical results with the toys in the chain (400 steps, 5,000 tokens)', () => {
    const V = 5000;
    const variants = [
      settings({ temperature: 1 }),
      settings({ temperature: 0.8, topFraction: 0.5 }),
      settings({ temperature: 0.7, topK: 40, topFraction: 0.3 }),
      settings({ temperature: 1.2, topP: 0.9, topFraction: 0.25, bias: 2 }),
      settings({ temperature: 0, topFraction: 0.5, bias: -1 }),
      settings({ temperature: 1, minP: 0.05, topFraction: 0.5, repetitionPenalty: 1.3, bias: 1 }),
      settings({ temperature: 1.5, topK: 100, topP: 0.95, minP: 0.02, topFraction: 0.9, repetitionPenalty: 1.2, bias: 3 }),
      settings({ temperature: 0.5, topFraction: 0.001 }),
      settings({ temperature: 2, topP: 0.5, topFraction: 0.6, bias: 8 }),
    ];
    const fast = createRng(42);
    const slow = createRng(42);
    for (let step = 0; step < 400; step++) {
      const g = createRng(500 + step);
      const x = Float32Array.from({ length: V }, () => Math.sqrt(-2 * Math.log(1 - g())) * Math.cos(2 * Math.PI * g()) * 2);
      for (let j = 0; j < 4; j++) x[Math.floor(g() * V)] = 6 + g() * 4;
      if (step % 7 === 0) for (let i = 0; i < V; i++) x[i] = Math.round(x[i]); // exact ties: ordered by id
      const seen = Array.from({ length: 8 }, () => Math.floor(g() * V));
      const s = variants[step % variants.length];
      const a = sampleNext(logits5k(x), s, fast, 20, seen, CHAIN);
      const b = sampleNextBySort(logits5k(x), s, slow, 20, seen, CHAIN);
      expect({ ...a, entropy: 0 }, `step ${step} with ${JSON.stringify(s)}`).toEqual({ ...b, entropy: 0 });
      expect(Math.abs(a.entropy - b.entropy)).toBeLessThan(1e-6 * Math.max(1, b.entropy));
      expect(a.stages.map((r) => r.name)).toEqual(CHAIN.filter((st) => st.kind === 'temperature' || s[st.name] !== st.off).map((st) => st.name));
    }
    expect(fast()).toBe(slow());
  });

  it('refuses a chain that is not logits stages, then one temperature, then truncation stages', () => {
    const s = settings({});
    const x = Float32Array.from([1, 2, 3]);
    const temperature2: Stage = { ...temperature, name: 'temperature2' };
    const cases: [readonly Stage[], RegExp][] = [
      [[rep, topK, temp], /truncation stage "topK" comes before temperature/],
      [[rep, topK], /truncation stage "topK" comes before temperature/],
      [[rep, bias], /no temperature stage/],
      [[temp, temperature2], /two temperature stages \("temperature" and "temperature2"\)/],
      [[temp, bias], /logits stage "bias" comes after temperature/],
      [[temp, topK, topK], /"topK" appears twice/],
    ];
    for (const [chain, message] of cases) {
      expect(() => distributions(x, s, [], chain)).toThrow(message);
      expect(() => sampleNext(x, s, createRng(1), 3, [], chain)).toThrow(message);
      expect(() => sampleNextBySort(x, s, createRng(1), 3, [], chain)).toThrow(message);
    }
    // A toy's own check runs like a built-in one's.
    expect(() => sampleNext(x, settings({ topFraction: 0 }), createRng(1), 3, [], CHAIN)).toThrow(/top fraction must be in \(0, 1\]/);
  });
});

/** A fresh copy per call: neither sampler may depend on the other having left the array alone. */
function logits5k(x: Float32Array): Float32Array {
  return x.slice();
}

describe('each built-in stage is one file that carries its whole unit', () => {
  const files = [repetitionPenalty, temperature, topK, topP, minP];

  it('STAGES is those files’ stage objects, in order', () => {
    expect(STAGES).toHaveLength(files.length);
    files.forEach((f, i) => expect(STAGES[i]).toBe(f));
  });

  it('LIMITS, the CLI flags, the URL keys, the en/zh labels and the app’s controls come from the stage files', () => {
    for (const s of files) {
      expect(LIMITS[s.name]).toBe(s.limit);
      expect(en.stageNames[s.name]).toBe(s.label.en);
      expect(zh.stageNames[s.name]).toBe(s.label.zh);
      expect(typeof s.check).toBe('function');
    }
    // The values as they were before the stages moved into their files.
    expect(files.map((s) => [s.cliFlag, s.urlKey, s.symbol, s.off])).toEqual([
      ['repetition-penalty', 'rep', 'rep', 1],
      ['temperature', 't', 'T', 1],
      ['top-k', 'k', 'top-k', 0],
      ['top-p', 'p', 'top-p', 1],
      ['min-p', 'minp', 'min-p', 0],
    ]);
    expect(en.stageNames).toEqual({ repetitionPenalty: 'repetition penalty', temperature: 'temperature', topK: 'top-k', topP: 'top-p', minP: 'min-p' });
    expect(zh.stageNames).toEqual({ repetitionPenalty: '重复惩罚', temperature: '温度', topK: '前 k 个', topP: '累积概率 p', minP: '最小概率比 min-p' });
    // The app's controls (ui/layout.ts builds one per stage from these): the labels and widgets they had when written by hand.
    expect(files.map((s) => [en.stageField(s.name), zh.stageField(s.name), s.input.kind, s.input.step, s.input.place])).toEqual([
      ['Repetition penalty (1 = off)', '重复惩罚（1 = 关闭）', 'range', 0.05, 'more'],
      ['Temperature', '温度', 'range', 0.05, 'first'],
      ['Top-k (0 = off)', '前 k 个（0 = 关闭）', 'number', 1, 'first'],
      ['Top-p (1 = off)', '累积概率 p（1 = 关闭）', 'range', 0.01, 'more'],
      ['Min-p (0 = off)', '最小概率比 min-p（0 = 关闭）', 'range', 0.01, 'more'],
    ]);
    expect(LIMITS).toEqual({
      temperature: { min: 0, minIncluded: true, max: 2, integer: false, rule: '0 to 2 (0 = always the most probable token)' },
      topK: { min: 0, minIncluded: true, max: 1_000_000, integer: true, rule: 'a whole number from 0 to 1000000 (0 = off)' },
      topP: { min: 0, minIncluded: false, max: 1, integer: false, rule: 'above 0, up to 1 (1 = off)' },
      minP: { min: 0, minIncluded: true, max: 1, integer: false, rule: '0 to 1 (0 = off)' },
      repetitionPenalty: { min: 0.5, minIncluded: true, max: 2, integer: false, rule: '0.5 to 2 (1 = off; above 1 makes tokens already in the text less likely)' },
      seed: { min: 0, minIncluded: true, max: 2 ** 32 - 1, integer: true, rule: 'a whole number from 0 to 4294967295' },
      maxTokens: { min: 1, minIncluded: true, max: 1000, integer: true, rule: 'a whole number from 1 to 1000' },
    });
  });
});
