// The TF.js engine against the independent float64 reference, in Node on WASM (and the CPU backend).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { generate, logitsAfter } from '../src/engine/generate/generate.ts';
import type { GPT2 } from '../src/engine/model/gpt2.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { ContextFullError, type Trace } from '../src/engine/model/model.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { compareWithReference } from './shared/checks.ts';
import { readF32Safetensors, referenceLogits } from './reference/naive-gpt2.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'tiny-gpt2');
const configJson = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
const weights = new Uint8Array(readFileSync(join(FIXTURE, 'model.safetensors')));

async function drain(it: AsyncGenerator<unknown, unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of it) out.push(r);
  return out;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`engine on ${backend} (Node)`, () => {
    let lm: LoadedModel;
    beforeAll(async () => {
      const s = await selectBackend({ order: [backend] });
      expect(s.backend).toBe(backend);
      expect(tf.getBackend()).toBe(backend);
      lm = loadModelDir(FIXTURE);
    });

    for (const inPlace of [true, false]) {
      it(`matches the float64 reference for prefill and 16 cached decode steps (${inPlace ? 'in-place' : 'portable'} KV cache writes)`, async () => {
        (lm.model as GPT2).cache.inPlace = inPlace;
        const prompt = lm.tokenizer.encode('Hello world. The cat sat');
        expect(prompt.length).toBeGreaterThan(3);
        const r = await compareWithReference(lm, configJson, weights, prompt, 16);
        expect(r.decodeMaxAbs).toHaveLength(16);
        expect(r.prefillMaxAbs).toBeLessThan(1e-4);
        for (const d of r.decodeMaxAbs) expect(d).toBeLessThan(1e-4);
        (lm.model as GPT2).cache.inPlace = true;
      });
    }

    it('a branch reuses the cached prefix (feedFrom) and gives the logits of a fresh run and of the float64 reference', async () => {
      const V = configJson.vocab_size;
      const prompt = lm.tokenizer.encode('The dog ran to the park');
      const fresh = await compareWithReference(lm, configJson, weights, prompt, 4); // cache now holds prompt + 3 decoded ids
      const reference = referenceLogits(configJson, readF32Safetensors(weights), fresh.ids);
      // A branch from position 3: the engine's own prefix reuse, as generate() does it.
      const branch = fresh.ids.slice();
      expect(lm.model.cachedIds.slice(0, 3)).toEqual(branch.slice(0, 3));
      const reused = await logitsAfter(lm, branch.slice(0, 5)); // keeps positions 0..3 cached, runs position 4
      expect(lm.model.cachedIds).toEqual(branch.slice(0, 5));
      lm.model.truncate(0);
      const cold = await logitsAfter(lm, branch.slice(0, 5)); // nothing cached: all five run
      const maxAbs = (a: Float32Array, b: ArrayLike<number>) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      expect(maxAbs(reused, cold)).toBeLessThan(1e-5);
      expect(maxAbs(reused, reference[4])).toBeLessThan(1e-4);
      expect(reused.length).toBe(V);
    });
  });
}

describe('generation loop (WASM)', () => {
  let lm: LoadedModel;
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
    lm = loadModelDir(FIXTURE);
  });

  it('holds the same number of tensors after decode step 10 and step 200', async () => {
    const counts: Record<number, number> = {};
    const g = generate(lm, lm.tokenizer.encode('Hello'), { temperature: 1, topK: 0, topP: 1, seed: 7, maxTokens: 200 });
    let n = 0;
    for await (const r of g) {
      n++;
      if (r.step === 10 || r.step === 199) counts[r.step] = tf.memory().numTensors;
    }
    expect(n).toBeGreaterThanOrEqual(200 - 1); // may stop at the end-of-text token; the fixture's seed 7 runs the whole way
    expect(counts[10]).toBeGreaterThan(0);
    expect(counts[199]).toBe(counts[10]);
  });

  it('refuses a prompt longer than the context, with a message, instead of truncating', async () => {
    const long = new Array(configJson.n_positions + 5).fill(lm.tokenizer.encode('cat')[0]);
    await expect(drain(generate(lm, long, { temperature: 0, topK: 0, topP: 1, seed: 1, maxTokens: 4 }))).rejects.toThrow(ContextFullError);
    await expect(drain(generate(lm, long, { temperature: 0, topK: 0, topP: 1, seed: 1, maxTokens: 4 }))).rejects.toThrow(/at most 256/);
  });

  it('stops when the context is full, and on an AbortSignal', async () => {
    const prompt = new Array(250).fill(lm.tokenizer.encode(' the')[0]);
    const g = generate(lm, prompt, { temperature: 1, topK: 0, topP: 1, seed: 3, maxTokens: 50 });
    let last: IteratorResult<unknown, { stopReason: string; generatedTokens: number }>;
    let count = 0;
    while (!(last = await g.next()).done) count++;
    expect(count).toBeLessThanOrEqual(6);
    expect(['contextFull', 'eos']).toContain(last.value.stopReason);

    const ctrl = new AbortController();
    const g2 = generate(lm, lm.tokenizer.encode('Hello'), { temperature: 1, topK: 0, topP: 1, seed: 3, maxTokens: 100, signal: ctrl.signal });
    let steps = 0;
    let res: IteratorResult<unknown, { stopReason: string }>;
    while (!(res = await g2.next()).done) {
      steps++;
      if (steps === 3) ctrl.abort();
    }
    expect(steps).toBe(3);
    expect(res.value.stopReason).toBe('aborted');
  });

  it('greedy generation picks the largest logit at every step (found here by a plain scan, not the sampler)', async () => {
    const steps = (await drain(generate(lm, lm.tokenizer.encode('Once upon'), { temperature: 0, topK: 0, topP: 1, seed: 1, maxTokens: 12, keepLogits: true }))) as {
      id: number; prob: number; draw: number | null; logits: Float32Array;
    }[];
    expect(steps).toHaveLength(12);
    for (const s of steps) {
      let best = 0;
      for (let i = 1; i < s.logits.length; i++) if (s.logits[i] > s.logits[best]) best = i;
      expect(s.id).toBe(best);
      expect(s.prob).toBe(1);
      expect(s.draw).toBeNull();
    }
  });
});

// A prompt's pass (and Look inside's traced pass) frees each block's intermediates before the next block
// runs. Held to the end of the pass, a 64-token Look inside on the 124M shape peaked at 98 MB for 17 MB of
// results, and the WASM heap, which never shrinks, kept that high-water mark for the rest of the session.
describe('memory of one forward pass (WASM)', () => {
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
  });
  const text = 'Once upon a time there was a little girl who lived in a village near the forest. She liked to walk among the tall trees. '.repeat(3);
  for (const [name, dir] of [
    ['the embedded model', join(import.meta.dirname, '..', 'models', 'nexttoken-3m')],
    ['the tiny GPT-2 fixture', FIXTURE],
    ['the tiny Llama fixture', join(import.meta.dirname, 'fixtures', 'tiny-llama')],
  ] as const) {
    it(`holds about one block's intermediates at a time on ${name}, traced or not`, async () => {
      const lm = loadModelDir(dir);
      const ids = lm.tokenizer.encode(text).slice(0, 64);
      for (const traced of [false, true]) {
        lm.model.truncate(0);
        const trace: Trace | undefined = traced ? { attention: [], residual: [], wantEmbeddings: true } : undefined;
        const before = tf.memory().numBytes;
        const info = await tf.profile(() => lm.model.forward(ids, !traced, trace));
        const kept = tf.memory().numBytes - before; // the logits, and with a trace its weights and residuals
        // Everything the pass allocates, spread over its blocks (embedding and head included): one block's share.
        const perBlock = info.kernels.reduce((n, k) => n + Math.max(0, k.bytesAdded), 0) / lm.config.nLayer;
        const transient = info.peakBytes - before - kept;
        expect(transient, `${traced ? 'traced' : 'plain'} pass: ${transient} B beyond its results, one block's share ${Math.round(perBlock)} B`).toBeLessThan(1.5 * perBlock);
        tf.dispose(info.result as tf.Tensor);
        if (trace) tf.dispose([...(trace.attention ?? []), ...(trace.residual ?? []), trace.embeddings?.token, trace.embeddings?.position].filter((t) => t !== undefined && t !== null));
        expect(tf.memory().numBytes).toBe(before);
      }
      lm.model.dispose();
    });
  }
});
