// The Precision view's engine side (src/engine/tools/precision.ts) in Node on the embedded model: the greedy runs stop
// where the model ends its text, and KL divergence is never shown below zero (a file against itself widened).
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { comparePrecisions, klNats } from '../src/engine/tools/precision.ts';
import { loadModelDir } from '../src/node/loadDir.ts';

beforeAll(async () => {
  await selectBackend({ order: ['wasm'] });
});

describe('comparePrecisions', () => {
  it('a greedy run stops at an end-of-text token, which it shows; without one it runs the whole length', async () => {
    const lm = loadModelDir('models/nexttoken-3m');
    const prompt = lm.tokenizer.encode('The capital of France is');
    const free = await comparePrecisions([{ dtype: 'f32', lm }], prompt, null, prompt, 12);
    expect(free.greedy[0].ids).toHaveLength(12);
    // The same model told that its third greedy token ends the text: the run stops there, that token included.
    const ended = { ...lm, eosIds: [free.greedy[0].ids[2]] };
    const stopped = await comparePrecisions([{ dtype: 'f32', lm: ended }], prompt, null, prompt, 12);
    expect(stopped.greedy[0].ids).toEqual(free.greedy[0].ids.slice(0, 3));
    lm.model.dispose();
  });

  it('KL divergence is 0 for equal distributions, even where rounding makes the sum a hair negative', () => {
    const p = Float32Array.from([0.5, 0.25, 0.25]);
    // Every probability a hair larger (rounding left the sum just over 1): the plain sum is about −1e-7.
    const q = Float32Array.from([0.5000001, 0.2500001, 0.2500001]);
    expect(klNats(p, p)).toBe(0);
    expect(klNats(p, q)).toBe(0);
    expect(klNats(p, Float32Array.from([0.25, 0.5, 0.25]))).toBeCloseTo(0.5 * Math.log(2) - 0.25 * Math.log(2), 6);
  });
});
