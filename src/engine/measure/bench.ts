// The engine benchmark, shared by `npm run bench` (Node) and `npm run bench:browser` (Chromium).
// It measures; nothing asserts on its numbers.
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../load/load.ts';
import { lastLogits } from '../model/model.ts';
import { argmax } from '../../sampling/sampler.ts';
import { createRng } from '../../sampling/prng.ts';
import { sampleNext, sampleNextBySort } from '../../sampling/step.ts';
import { samplingSettings } from '../../sampling/stages.ts';
import { readFloor } from './readFloor.ts';
import { countDispatches } from '../runtime/dispatchCounter.ts';
import { generate } from '../generate/generate.ts';

export interface BenchResult {
  model: string;
  params: number;
  backend: string;
  promptTokens: number;
  decodedTokens: number;
  prefillMs: number;
  decodeTokensPerSec: number;
  msPerToken: number;
  tensorsBefore: number;
  tensorsAfter: number;
  /** The weight matrices' precision (--dtype). */
  dtype: string;
  /** Bytes the engine holds after the timed run (tf.memory() plus quantized matrices): the weights as computed on and the KV cache. */
  engineBytes: number;
  /** Of those, the KV cache's (its keys and values for every layer, at the capacity the run grew it to). */
  kvCacheBytes: number;
  /** Sampling one token from this model's logits (full distribution, entropy, top 20, draw), mean ms. */
  sampleMs: { greedy: number; t1: number; t08p095: number; t1minP005: number; t1rep13: number; bySortT1: number };
  /** Reading the float32 weights once on one thread (readFloor.ts): the floor under msPerToken at batch 1. */
  weightReadFloorMs: number;
  weightReadGBps: number;
  /** generate()'s time per token beyond the forward pass (sampling, records, the loop), ms. */
  generateOverheadMs: number;
  /** TF.js kernels run by one decode step (tf.profile), on any backend. */
  kernelsPerToken: number;
  /**
   * With --profile: one decode step's kernels by type (count, ms), their total, and the rest of the step
   * (JavaScript between kernels: the engine's bookkeeping, the model code). On WebGPU kernel times are
   * those of recording, not of the GPU.
   */
  profile?: { msByKernel: Record<string, { count: number; ms: number }>; kernelMs: number; betweenKernelsMs: number };
  /** WebGPU only: compute passes dispatched per decoded token (null on other backends). */
  dispatchesPerToken: number | null;
}

export async function runBenchmark(lm: LoadedModel, promptTokens = 32, tokens = 64, withProfile = false): Promise<BenchResult> {
  const n = lm.model.contextLength;
  if (promptTokens < 1 || tokens < 1) throw new Error('prompt tokens and decode tokens must be at least 1');
  if (promptTokens + tokens > n) throw new Error(`prompt tokens + decoded tokens (${promptTokens + tokens}) exceed the context (${n})`);
  const seed = lm.tokenizer.encode('The quick brown fox jumps over the lazy dog. ');
  const prompt = Array.from({ length: promptTokens }, (_, i) => seed[i % seed.length]);
  const run = async (decode: number) => {
    lm.model.truncate(0);
    const t0 = performance.now();
    let logits = await lastLogits(lm.model.forward(prompt, true));
    const prefillMs = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < decode; i++) logits = await lastLogits(lm.model.forward([argmax(logits)], true));
    return { prefillMs, decodeMs: performance.now() - t1 };
  };
  await run(Math.min(8, tokens)); // warm-up: compiles shaders, grows the WASM heap
  const tensorsBefore = tf.memory().numTensors;
  const r = await run(tokens);
  const tensorsAfter = tf.memory().numTensors;
  const engineBytes = tf.memory().numBytes + lm.model.quantizedBytes; // tensors, plus quantized matrices held beside them
  const kvCacheBytes = [...lm.model.cache.k, ...lm.model.cache.v].reduce((n, t) => n + t.size * 4, 0);
  // What one decode step runs: kernels (any backend) and GPU dispatches (WebGPU).
  lm.model.truncate(0);
  await lastLogits(lm.model.forward(prompt, true));
  const profile = await tf.profile(async () => {
    await lastLogits(lm.model.forward([prompt[0]], true));
  });
  const msByKernel: Record<string, { count: number; ms: number }> = {};
  for (const k of profile.kernels) {
    if (k.name.endsWith('__op')) continue; // an op's scope around its kernel, not a kernel
    const e = (msByKernel[k.name] ??= { count: 0, ms: 0 });
    e.count++;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  }
  const kernelMs = Object.values(msByKernel).reduce((a, e) => a + e.ms, 0);
  const dispatches = countDispatches();
  const before = dispatches?.read() ?? 0;
  for (let i = 0; i < 8; i++) await lastLogits(lm.model.forward([prompt[i % prompt.length]], true));
  const dispatchesPerToken = dispatches ? (dispatches.read() - before) / 8 : null;
  dispatches?.stop();
  // Sampling alone, on real logits of this model.
  lm.model.truncate(0);
  const logits = await lastLogits(lm.model.forward(prompt, true));
  // Warmed up (the JIT), then the best of 5 batches: the cost of the code, not of a collection that landed in it.
  const time = (f: () => unknown, reps = 20) => {
    for (let i = 0; i < 5; i++) f();
    let best = Infinity;
    for (let b = 0; b < 5; b++) {
      const t = performance.now();
      for (let i = 0; i < reps; i++) f();
      best = Math.min(best, (performance.now() - t) / reps);
    }
    return best;
  };
  const rng = createRng(1);
  const sampleMs = {
    greedy: time(() => sampleNext(logits, samplingSettings({ temperature: 0 }), rng)),
    t1: time(() => sampleNext(logits, samplingSettings({ temperature: 1 }), rng)),
    t08p095: time(() => sampleNext(logits, samplingSettings({ temperature: 0.8, topP: 0.95 }), rng)),
    t1minP005: time(() => sampleNext(logits, samplingSettings({ temperature: 1, minP: 0.05 }), rng)),
    t1rep13: time(() => sampleNext(logits, samplingSettings({ temperature: 1, repetitionPenalty: 1.3 }), rng, 20, prompt)),
    bySortT1: time(() => sampleNextBySort(logits, samplingSettings({ temperature: 1 }), rng), 4),
  };
  // The whole loop as the app and the CLI run it, against the bare forward passes above.
  lm.model.truncate(0);
  const t2 = performance.now();
  let decoded = -1;
  let tFirst = t2;
  for await (const s of generate(lm, prompt, { temperature: 1, topK: 0, topP: 1, seed: 1, maxTokens: tokens + 1 })) {
    if (s.step === 0) tFirst = performance.now();
    decoded++;
  }
  const generateMsPerToken = decoded > 0 ? (performance.now() - tFirst) / decoded : 0;
  lm.model.truncate(0);
  const floor = await readFloor(lm.model.params * 4);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    model: lm.name,
    params: lm.model.params,
    backend: tf.getBackend(),
    dtype: lm.model.dtype,
    promptTokens,
    decodedTokens: tokens,
    prefillMs: round(r.prefillMs),
    decodeTokensPerSec: round((tokens / r.decodeMs) * 1000),
    msPerToken: round(r.decodeMs / tokens),
    tensorsBefore,
    tensorsAfter,
    engineBytes,
    kvCacheBytes,
    sampleMs: Object.fromEntries(Object.entries(sampleMs).map(([k, v]) => [k, round(v)])) as BenchResult['sampleMs'],
    weightReadFloorMs: round(floor.ms),
    weightReadGBps: round(floor.gbPerSec),
    generateOverheadMs: round(generateMsPerToken - r.decodeMs / tokens),
    kernelsPerToken: Object.values(msByKernel).reduce((a, e) => a + e.count, 0),
    ...(withProfile
      ? {
          profile: {
            msByKernel: Object.fromEntries(Object.entries(msByKernel).map(([k, e]) => [k, { count: e.count, ms: round(e.ms) }])),
            kernelMs: round(kernelMs),
            betweenKernelsMs: round(Math.max(0, r.decodeMs / tokens - kernelMs)),
          },
        }
      : {}),
    dispatchesPerToken,
  };
}
