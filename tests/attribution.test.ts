// Gradient × input (src/engine/tools/attribution.ts) against central finite differences of the same
// log-probability, on the GPT-2 and Llama fixtures and the embedded model (WASM); and the cache-free forward it
// differentiates against the engine's cached forward pass.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { logitsAfter } from '../src/engine/generate/generate.ts';
import type { KVModel } from '../src/engine/model/kvModel.ts';
import { gradientTimesInput } from '../src/engine/tools/attribution.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { argmax } from '../src/sampling/sampler.ts';
import { logSoftmaxAt } from '../src/sampling/step.ts';

beforeAll(async () => {
  expect((await selectBackend({ order: ['wasm'] })).backend).toBe('wasm');
});

for (const [name, dir, prompt] of [
  ['the tiny fixture', join(import.meta.dirname, 'fixtures', 'tiny-gpt2'), 'Hello world. The cat sat'],
  ['the tiny Llama fixture (grouped-query attention, rotary positions)', join(import.meta.dirname, 'fixtures', 'tiny-llama'), 'Hello world. The cat sat'],
  ['the tied tiny Llama fixture (biases, head_dim 16)', join(import.meta.dirname, 'fixtures', 'tiny-llama-tied'), 'Hello world. The cat sat'],
  ['the embedded model', join(import.meta.dirname, '..', 'models', 'nexttoken-3m'), 'The capital of France is'],
] as const) {
  describe(`gradient × input on ${name}`, () => {
    it('equals central finite differences of the log-probability (each embedding scaled by 1 ± 1e-2) within 2% relative, and the log-probability is the engine’s', async () => {
      const lm = loadModelDir(dir);
      const ids = lm.tokenizer.encode(prompt);
      const logits = await logitsAfter(lm, ids);
      const target = argmax(logits);
      const g = await gradientTimesInput(lm, ids, target);
      expect(Math.abs(g.logProb - logSoftmaxAt(logits, target))).toBeLessThan(1e-4);
      const model = lm.model as KVModel;
      const emb = model.tokenEmbeddings(ids);
      const eps = 1e-2;
      const f = (i: number, s: number) =>
        tf.tidy(() => {
          const scale = tf.tensor2d(ids.map((_, r) => (r === i ? 1 + s * eps : 1)), [ids.length, 1]);
          return model.logProbOfEmbeddings(tf.mul(emb, scale) as tf.Tensor2D, target).dataSync()[0];
        });
      const floor = 0.02 * Math.max(...g.scores.map(Math.abs)); // below this, float32 noise dominates a 2% test
      ids.forEach((_, i) => {
        const fd = (f(i, 1) - f(i, -1)) / (2 * eps);
        expect(Math.abs(fd - g.scores[i]), `token ${i}: gradient ${g.scores[i]}, finite difference ${fd}`).toBeLessThanOrEqual(0.02 * Math.max(Math.abs(g.scores[i]), floor));
      });
      emb.dispose();
      lm.model.dispose();
    });
  });
}
