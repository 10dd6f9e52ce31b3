// "Inside the model": the engine's recorded attention weights and logit lens, against the independent
// float64 reference, on the tiny GPT-2 fixture and on the embedded model.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { inspect } from '../src/engine/tools/inspect.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { readF32Safetensors, referenceLogits } from './reference/naive-gpt2.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'tiny-gpt2');

describe('inspect', () => {
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
  });

  it('attention weights equal the float64 reference for every layer and head; rows sum to 1; nothing attends to the future', async () => {
    const lm = loadModelDir(FIXTURE);
    const cfg = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
    const w = readF32Safetensors(new Uint8Array(readFileSync(join(FIXTURE, 'model.safetensors'))));
    const ids = lm.tokenizer.encode('The cat sat on the mat.');
    const ref = new Map<string, number[]>();
    referenceLogits(cfg, w, ids, (l, h, t, weights) => ref.set(`${l}/${h}/${t}`, weights));
    for (let layer = 0; layer < cfg.n_layer; layer++) {
      const got = await inspect(lm, ids, layer);
      expect(got.attention).toHaveLength(cfg.n_head);
      for (let h = 0; h < cfg.n_head; h++) {
        for (let t = 0; t < ids.length; t++) {
          const row = got.attention[h][t];
          const want = ref.get(`${layer}/${h}/${t}`)!;
          for (let s = 0; s <= t; s++) expect(Math.abs(row[s] - want[s])).toBeLessThan(1e-5);
          for (let s = t + 1; s < ids.length; s++) expect(row[s]).toBe(0);
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        }
      }
    }
  });

  it('the logit lens after the last layer is the final distribution; embeddings are the table rows', async () => {
    const lm = loadModelDir(join(import.meta.dirname, '..', 'models', 'nexttoken-3m'));
    const ids = lm.tokenizer.encode('The capital of France is');
    const got = await inspect(lm, ids, 0);
    expect(got.logitLens).toHaveLength(lm.config.nLayer);
    const last = got.logitLens[got.logitLens.length - 1].top;
    expect(last.map((t) => t.id)).toEqual(got.final.map((t) => t.id));
    last.forEach((t, i) => expect(t.prob).toBeCloseTo(got.final[i].prob, 5));
    // An earlier layer predicts something different: the lens shows the prediction forming.
    expect(got.logitLens[0].top[0].prob).not.toBeCloseTo(last[0].prob, 3);
    expect(got.tokenEmbedding).toHaveLength(ids.length);
    expect(got.positionEmbedding).toHaveLength(ids.length);
    // The same token id has the same embedding wherever it appears.
    const twice = lm.tokenizer.encode(' the the');
    const g2 = await inspect(lm, twice, 0);
    expect(Array.from(g2.tokenEmbedding[0])).toEqual(Array.from(g2.tokenEmbedding[1]));
    expect(Array.from(g2.positionEmbedding![0])).not.toEqual(Array.from(g2.positionEmbedding![1]));
  });
});
