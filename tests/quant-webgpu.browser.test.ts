// The quantized product on WebGPU (src/engine/runtime/quantWebGPU.ts) in real Chromium (software adapter):
// Q8_0 and Q4_0 blocks kept on the GPU, against the float64 product of the dequantized weights written out here;
// and the shipped stories15M (a Q4_0 GGUF, Llama) on WebGPU against the float64 NumPy reference on the same file.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { dequantize, QuantArena, quantize, type QuantType } from '../src/engine/runtime/quant.ts';
import { quantDense } from '../src/engine/runtime/quantDense.ts';
import { dequantizedTransposedWebGPU, placeOnGpu, rowsWebGPU } from '../src/engine/runtime/quantWebGPU.ts';
import { fetchModelFiles } from '../src/engine/load/fetchModel.ts';
import { buildModel } from '../src/engine/load/load.ts';
import { generate, type StepRecord } from '../src/engine/generate/generate.ts';
import type { KVModel } from '../src/engine/model/kvModel.ts';
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

  for (const type of ['q8_0', 'q4_0'] as QuantType[]) {
    it(`${type}: rows read back from the GPU's blocks (an embedding lookup, and Wᵀ for the composite ops) are the dequantized rows`, async () => {
      const [N, K] = [40, 96];
      const blocks = quantize(type, randn(N * K, 0.5), N, K);
      const deq = dequantize(blocks);
      const arena = new QuantArena();
      const m = arena.add(blocks);
      placeOnGpu(arena);
      expect(arena.heldBytes).toBe(0);
      expect(() => m.row(0)).toThrow(/live on the GPU only/);
      const ids = [3, 0, 39, 3];
      const rows = await rowsWebGPU(m, ids).data();
      ids.forEach((id, t) => {
        for (let k = 0; k < K; k++) expect(rows[t * K + k]).toBe(deq[id * K + k]);
      });
      const wT = await dequantizedTransposedWebGPU(m).data();
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) expect(wT[k * N + n]).toBe(deq[n * K + k]);
      arena.dispose();
    });
  }

  it('the shipped stories15M (Q4_0 GGUF): 24 greedy ids from "Once upon a time" equal the float64 reference on the file', async () => {
    const files = await fetchModelFiles('/models/stories15m/stories15m-q4_0.gguf');
    const gpuBytes = () => (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU ?? 0;
    const before = gpuBytes();
    const lm = buildModel(files);
    try {
      // Built on WebGPU, its blocks are held once, on the GPU: nothing is left in the arena's memory, and they are
      // on the GPU already, before any step (9.5 MB of Q4_0 blocks; its float tensors are a fraction of one).
      expect(lm.model.quantizedBytes).toBe(0);
      expect(gpuBytes() - before).toBeGreaterThan(9_000_000);
      const promptIds = lm.tokenizer.encode('Once upon a time');
      expect(promptIds).toEqual(reference.prompt);
      const steps: StepRecord[] = [];
      for await (const s of generate(lm, promptIds, { temperature: 0, topK: 0, topP: 1, seed: 0, maxTokens: 24 })) steps.push(s);
      expect(steps.map((s) => s.id)).toEqual(reference.steps.map((s) => s.id));
      // The first choice's probability too (the software adapter computes in float32, like the CPU paths).
      for (const [i, ref] of reference.steps.entries()) expect(Math.abs(steps[i].rawProb - ref.top[0][1])).toBeLessThan(1e-3);
      // The composite path (what attribution differentiates) reads the embeddings and the matrices from the GPU too:
      // log p(first greedy token | prompt) as the cached forward pass gives it.
      lm.model.truncate(0);
      const logits = lm.model.forward(promptIds, true);
      const viaForward = (await tf.tidy(() => tf.logSoftmax(logits).reshape([-1]).slice(steps[0].id, 1)).data())[0];
      const model = lm.model as KVModel;
      const viaComposite = (await tf.tidy(() => model.logProbOfEmbeddings(model.tokenEmbeddings(promptIds), steps[0].id)).data())[0];
      logits.dispose();
      expect(Math.abs(viaComposite - viaForward)).toBeLessThan(1e-3);
    } finally {
      lm.model.dispose();
    }
  });
});
