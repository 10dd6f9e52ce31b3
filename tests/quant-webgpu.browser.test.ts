// The quantized product on WebGPU (src/engine/runtime/quantWebGPU.ts) in real Chromium (software adapter):
// Q8_0 and Q4_0 blocks kept on the GPU, against the float64 product of the dequantized weights written out here;
// and the shipped stories15M (a Q4_0 GGUF, Llama) on WebGPU against the float64 NumPy reference on the same file.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { dequantize, QuantArena, quantize, type QuantType } from '../src/engine/runtime/quant.ts';
import { quantDense } from '../src/engine/runtime/quantDense.ts';
import { fetchModelFiles } from '../src/engine/load/fetchModel.ts';
import { buildModel } from '../src/engine/load/load.ts';
import { generate } from '../src/engine/generate/generate.ts';
import reference from './fixtures/stories15m/reference.json';
import { randomFloats } from './shared/numeric.ts';

const randn = randomFloats(9);

describe('quantized products on WebGPU', () => {
  beforeAll(async () => {
    await selectBackend({ order: ['webgpu'], timeoutMs: 60_000 });
    expect(tf.getBackend()).toBe('webgpu');
  });

  for (const type of ['q8_0', 'q4_0'] as QuantType[]) {
    it(`${type}: 3 rows × a 96×64 matrix plus bias, as float64 on the dequantized weights; the GPU copy freed with the arena`, async () => {
      const [T, K, N] = [3, 96, 64];
      const w = randn(N * K, 0.5);
      const x = randn(T * K, 1);
      const bias = randn(N);
      const blocks = quantize(type, w, N, K);
      const deq = dequantize(blocks);
      const arena = new QuantArena();
      const m = arena.add(blocks);
      const before = tf.memory().numTensors;
      const xt = tf.tensor2d(x, [T, K]);
      const bt = tf.tensor1d(bias);
      const out = quantDense(xt, m, bt);
      const got = await out.data();
      for (let t = 0; t < T; t++) {
        for (let n = 0; n < N; n++) {
          let ref = bias[n];
          let mag = Math.abs(bias[n]);
          for (let k = 0; k < K; k++) {
            ref += deq[n * K + k] * x[t * K + k];
            mag += Math.abs(deq[n * K + k] * x[t * K + k]);
          }
          expect(Math.abs(got[t * N + n] - ref)).toBeLessThanOrEqual(1e-5 * mag + 1e-6);
        }
      }
      tf.dispose([out, xt, bt]);
      expect(tf.memory().numTensors).toBe(before + 2); // the scales and the quants, kept for the next product
      arena.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('the shipped stories15M (Q4_0 GGUF): 24 greedy ids from "Once upon a time" equal the float64 reference on the file', async () => {
    const lm = buildModel(await fetchModelFiles('/models/stories15m/stories15m-q4_0.gguf'));
    try {
      const promptIds = lm.tokenizer.encode('Once upon a time');
      expect(promptIds).toEqual(reference.prompt);
      const steps = [];
      for await (const s of generate(lm, promptIds, { temperature: 0, topK: 0, topP: 1, seed: 0, maxTokens: 24 })) steps.push(s);
      expect(steps.map((s) => s.id)).toEqual(reference.steps.map((s) => s.id));
      // The first choice's probability too (the software adapter computes in float32, like the CPU paths).
      for (const [i, ref] of reference.steps.entries()) expect(Math.abs(steps[i].rawProb - ref.top[0][1])).toBeLessThan(1e-3);
    } finally {
      lm.model.dispose();
    }
  });
});
