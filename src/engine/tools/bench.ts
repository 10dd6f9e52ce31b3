// The engine benchmark, shared by `npm run bench` (Node) and `npm run bench:browser` (Chromium).
// It measures; nothing asserts on its numbers.
import * as tf from '@tensorflow/tfjs';
import type { LoadedModel } from '../load/load.ts';
import { lastLogits } from '../model/model.ts';
import { argmax } from '../../sampling/sampler.ts';

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
}

export async function runBenchmark(lm: LoadedModel, promptTokens = 32, tokens = 64): Promise<BenchResult> {
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
  lm.model.truncate(0);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    model: lm.name,
    params: lm.model.params,
    backend: tf.getBackend(),
    promptTokens,
    decodedTokens: tokens,
    prefillMs: round(r.prefillMs),
    decodeTokensPerSec: round((tokens / r.decodeMs) * 1000),
    msPerToken: round(r.decodeMs / tokens),
    tensorsBefore,
    tensorsAfter,
  };
}
