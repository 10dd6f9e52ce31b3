// Temperature side by side and perplexity on the embedded model. Independent witnesses: the float64 reference
// forward pass (tests/reference/naive-gpt2.ts) with a reference sampler written here (mulberry32 from its
// published algorithm, softmax at T, the kept tokens walked most probable first), and its negative log-likelihood.
// The checks against the generation loop and the validation-loss code are plumbing: they share the engine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { compareTemperatures, perplexity } from '../src/engine/tools/compare.ts';
import { validationLoss } from '../src/engine/tools/evaluate.ts';
import { generate } from '../src/engine/generate/generate.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { readF32Safetensors, referenceLogits } from './reference/naive-gpt2.ts';

const DIR = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
const cfg = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8'));
const weights = readF32Safetensors(new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))));

/** mulberry32, as published (Tommy Ettinger): uniform numbers in [0, 1) from a 32-bit state. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Float64 softmax of logits / T (T = 0: all on the argmax). */
function softmax64(logits: Float64Array, T: number): Float64Array {
  const out = new Float64Array(logits.length);
  let max = -Infinity;
  let best = 0;
  logits.forEach((l, i) => {
    if (l > max) [max, best] = [l, i];
  });
  if (T === 0) {
    out[best] = 1;
    return out;
  }
  let sum = 0;
  logits.forEach((l, i) => (sum += out[i] = Math.exp((l - max) / T)));
  return out.map((p) => p / sum);
}

describe('compare and perplexity', () => {
  let lm: LoadedModel;
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
    lm = loadModelDir(join(import.meta.dirname, '..', 'models', 'nexttoken-3m'));
  });

  it('each temperature column is what the float64 reference samples at that temperature and seed: same ids, same probabilities', async () => {
    const prompt = lm.tokenizer.encode('Once upon a time');
    const cols = await compareTemperatures(lm, prompt, [0, 0.7, 1.5], 7, 10);
    for (const c of cols) {
      const ids = c.tokens.map((t) => t.id);
      const logits = referenceLogits(cfg, weights, [...prompt, ...ids]);
      const u = mulberry32(7);
      c.tokens.forEach((tok, i) => {
        const raw = softmax64(logits[prompt.length - 1 + i], 1);
        const probs = softmax64(logits[prompt.length - 1 + i], c.temperature);
        let id: number;
        if (c.temperature === 0) id = probs.indexOf(1);
        else {
          // The draw: walk the tokens most probable first until the cumulative probability passes u.
          const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a] || a - b);
          const draw = u();
          let cum = 0;
          id = order.find((j) => (cum += probs[j]) > draw) ?? order[order.length - 1];
        }
        expect(tok.id, `T = ${c.temperature}, step ${i + 1}`).toBe(id);
        expect(Math.abs(tok.prob - probs[id])).toBeLessThan(1e-4);
        expect(Math.abs(tok.rawProb - raw[id])).toBeLessThan(1e-4);
      });
    }
  });

  it('plumbing: each temperature column is exactly what generate gives at that temperature and seed', async () => {
    const prompt = lm.tokenizer.encode('Once upon a time');
    const cols = await compareTemperatures(lm, prompt, [0, 0.7, 1.5], 7, 10);
    expect(cols.map((c) => c.temperature)).toEqual([0, 0.7, 1.5]);
    for (const c of cols) {
      const ids: number[] = [];
      for await (const s of generate(lm, prompt, { temperature: c.temperature, topK: 0, topP: 1, seed: 7, maxTokens: 10 })) {
        ids.push(s.id);
        if (lm.eosIds.includes(s.id)) break;
      }
      expect(c.tokens.map((t) => t.id)).toEqual(ids);
    }
    // Greedy: every final probability is 1; hotter columns spread probability.
    expect(cols[0].tokens.every((t) => t.prob === 1)).toBe(true);
    expect(cols[2].tokens.some((t) => t.prob < t.rawProb)).toBe(true);
  });

  it('perplexity: each token’s surprise is the float64 reference’s negative log-likelihood, read after the end-of-text token', async () => {
    const text = 'In the beginning God created the heavens and the earth.';
    const p = await perplexity(lm, text);
    const ids = lm.tokenizer.encode(text);
    const start = lm.tokenizer.eosId ?? lm.eosIds[0];
    const logits = referenceLogits(cfg, weights, [start, ...ids]);
    const bits = ids.map((id, i) => -Math.log2(softmax64(logits[i], 1)[id]));
    expect(p.tokens.map((t) => t.id)).toEqual(ids);
    p.tokens.forEach((t, i) => expect(Math.abs(t.bits - bits[i])).toBeLessThan(1e-3));
    const mean = bits.reduce((a, b) => a + b, 0) / bits.length;
    expect(Math.abs(p.bitsPerToken - mean)).toBeLessThan(1e-4);
    expect(Math.abs(p.perplexity - 2 ** mean) / 2 ** mean).toBeLessThan(1e-4);
  });

  it('plumbing: perplexity is 2 to the mean surprise, and agrees with the validation-loss code on the same text', async () => {
    const text = 'In the beginning God created the heavens and the earth.';
    const p = await perplexity(lm, text);
    const meanBits = p.tokens.reduce((a, t) => a + t.bits, 0) / p.tokens.length;
    expect(p.bitsPerToken).toBeCloseTo(meanBits, 6);
    expect(p.perplexity).toBeCloseTo(2 ** meanBits, 6);
    const v = await validationLoss(lm, [text]);
    expect(p.bitsPerToken).toBeCloseTo(v.valLoss / Math.LN2, 4);
    // Familiar text is less surprising than shuffled words.
    const shuffled = await perplexity(lm, 'earth the God beginning heavens In created and the the.');
    expect(shuffled.perplexity).toBeGreaterThan(p.perplexity);
  });
});
