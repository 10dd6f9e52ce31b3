// Characters, not bytes, among one step's candidates (the guessing game's picks, the training replay's top
// tokens): a candidate that is only the start of a character is read on with the model's top choices until its
// bytes make one. Checked on the embedded model against an independent path: the same tokens scored in one
// full forward pass without the KV cache (scoreContinuation), and the tokenizer's own decoding.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { isPartialToken, readCharacters } from '../src/engine/tools/characters.ts';
import { scoreContinuation } from '../src/engine/tools/lens.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { softmax } from '../src/sampling/sampler.ts';

let lm: LoadedModel;
beforeAll(async () => {
  await selectBackend({ order: ['wasm'] });
  lm = await loadModelDir(join(import.meta.dirname, '..', 'models', 'nexttoken-3m'));
}, 60_000);

describe('readCharacters', () => {
  it('reads each byte candidate on to the character the model spells, greedily, and leaves whole tokens alone', async () => {
    // After 马绍尔群岛的首都是马 (Majuro, 马朱罗) several of the top candidates are first bytes of a character.
    const context = lm.tokenizer.encode('马绍尔群岛的首都是马');
    lm.model.truncate(0);
    const out = lm.model.forward(context, true);
    const probs = softmax((await out.data()) as Float32Array);
    out.dispose();
    lm.model.truncate(0);
    const top = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, 20);
    const partial = top.filter((id) => isPartialToken(lm, id));
    expect(partial.length).toBeGreaterThanOrEqual(2);
    const readings = await readCharacters(lm, context, top);
    expect(Object.keys(readings).map(Number).sort()).toEqual([...partial].sort()); // only the partial ones
    for (const id of partial) {
      const r = readings[id];
      expect(r.ids[0]).toBe(id);
      expect(r.text).toBe(lm.tokenizer.decode(r.ids));
      expect(r.text).not.toContain('\uFFFD');
      expect([...r.text]).toHaveLength(1); // one character: reading stops as soon as it is whole
      // Independent witness: every token after the candidate is the model's top choice there, and their chained probability matches.
      const scored = await scoreContinuation(lm, [...context, id], r.ids.slice(1));
      expect(scored.tokens.every((x) => x.rank === 1)).toBe(true);
      expect(r.restProb).toBeCloseTo(scored.prob, 4);
    }
    expect(lm.model.cachedIds).toHaveLength(0);
  });

  it('answers nothing for a context the model cannot extend or without byte candidates', async () => {
    expect(await readCharacters(lm, [], [370])).toEqual({});
    const whole = lm.tokenizer.encode(' Paris');
    expect(isPartialToken(lm, whole[0])).toBe(false);
    expect(await readCharacters(lm, lm.tokenizer.encode('The capital of France is'), whole)).toEqual({});
  });
});
