// Temperature side by side and perplexity on the embedded model, checked against the generation loop
// and the validation-loss code they must agree with.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { compareTemperatures, perplexity } from '../src/engine/tools/compare.ts';
import { validationLoss } from '../src/engine/tools/evaluate.ts';
import { generate } from '../src/engine/generate/generate.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { loadModelDir } from '../src/node/loadDir.ts';

describe('compare and perplexity', () => {
  let lm: LoadedModel;
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
    lm = loadModelDir(join(import.meta.dirname, '..', 'models', 'nexttoken-3m'));
  });

  it('each temperature column is exactly what generate gives at that temperature and seed', async () => {
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

  it('perplexity is 2 to the mean surprise, and agrees with the validation-loss code on the same text', async () => {
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
