// The engine in real headless Chromium, on WebGPU (software adapter) and WASM:
// logits against the float64 reference (GPT-2) and the PyTorch reference (Llama, Qwen2, Qwen3 fixtures), and
// token-for-token parity with the Node CLI.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { selectBackend, type BackendName } from '../src/engine/runtime/backend.ts';
import { fetchModelFiles } from '../src/engine/load/fetchModel.ts';
import { generate } from '../src/engine/generate/generate.ts';
import { buildModel, type LoadedModel } from '../src/engine/load/load.ts';
import { WASM_PATHS } from '../src/engine/runtime/wasmPaths.ts';
import { lastLogits } from '../src/engine/model/model.ts';
import { countDispatches } from '../src/engine/runtime/dispatchCounter.ts';
import { compareWithReference } from './shared/checks.ts';
import { memoryWeights } from '../src/engine/load/safetensors.ts';
import { modelFor } from '../src/engine/load/load.ts';
import { parseConfig } from '../src/engine/model/config.ts';
import type { WeightSource } from '../src/engine/model/weights.ts';
import { attnProjWorkgroupBytes, webgpuDecodeStep } from '../src/engine/runtime/fusedWebGPU.ts';
import { webgpuDevice } from '../src/engine/runtime/tfjsInternals.ts';
import { readF32Safetensors, referenceLogits } from './reference/naive-gpt2.ts';
import { argmax } from '../src/sampling/sampler.ts';
import { withCompositeKernels } from '../src/engine/runtime/fused.ts';
import { maxAbsDiff } from './shared/numeric.ts';

declare module 'vitest/browser' {
  interface BrowserCommands {
    nodeGenerate: (args: string[]) => Promise<string>;
  }
}

const FIXTURE = '/tests/fixtures/tiny-gpt2';

async function nodeIds(prompt: string, temperature: number, seed: number, maxTokens: number): Promise<number[]> {
  const out = await commands.nodeGenerate(['--model', FIXTURE.slice(1), '--prompt', prompt, '--max-tokens', String(maxTokens), '--temperature', String(temperature), '--seed', String(seed), '--json']);
  return out.trim().split('\n').map((l) => JSON.parse(l)).filter((o) => !o.summary).map((o) => o.id);
}

for (const backend of ['webgpu', 'wasm'] as BackendName[]) {
  describe(`engine in Chromium on ${backend}`, () => {
    let lm: LoadedModel;
    let configJson: Record<string, number>;
    let weights: Uint8Array;
    beforeAll(async () => {
      const status = await selectBackend({ order: [backend], wasmPaths: WASM_PATHS, timeoutMs: 60_000 });
      expect(tf.getBackend()).toBe(backend);
      if (backend === 'webgpu') expect(status.adapter).toBeDefined();
      if (backend === 'wasm') expect(self.crossOriginIsolated).toBe(true);
      lm = buildModel(await fetchModelFiles(FIXTURE));
      configJson = await (await fetch(`${FIXTURE}/config.json`)).json();
      weights = new Uint8Array(await (await fetch(`${FIXTURE}/model.safetensors`)).arrayBuffer());
    });

    it('matches the float64 reference for prefill and 16 cached decode steps', async () => {
      const prompt = lm.tokenizer.encode('Hello world. The cat sat');
      const r = await compareWithReference(lm, configJson, weights, prompt, 16);
      expect(r.decodeMaxAbs).toHaveLength(16);
      expect(r.prefillMaxAbs).toBeLessThan(1e-4);
      for (const d of r.decodeMaxAbs) expect(d).toBeLessThan(1e-4);
    });

    // The Llama layout and its Qwen relatives against the independent PyTorch reference (tools/reference/hf_reference.py).
    for (const name of ['tiny-llama', 'tiny-llama-tied', 'tiny-qwen2', 'tiny-qwen3']) {
      it(`${name}: prefill and 8 cached decode steps within 1e-3 of the PyTorch reference`, async () => {
        const dir = `/tests/fixtures/${name}`;
        const { prompt, decode } = (await (await fetch(`${dir}/reference_ids.json`)).json()) as { prompt: number[]; decode: number[] };
        const ref = new Float32Array(await (await fetch(`${dir}/reference_logits.f32`)).arrayBuffer());
        const m = buildModel(await fetchModelFiles(dir));
        const V = m.config.vocabSize;
        expect(ref.length).toBe((prompt.length + decode.length) * V);
        const worst = (a: Float32Array, at: number) => a.reduce((w, x, i) => Math.max(w, Math.abs(x - ref[at + i])), 0);
        const prefill = m.model.forward(prompt);
        const diffs = [worst((await prefill.data()) as Float32Array, 0)];
        prefill.dispose();
        for (let i = 0; i < decode.length; i++) {
          const out = m.model.forward([decode[i]]);
          diffs.push(worst((await out.data()) as Float32Array, (prompt.length + i) * V));
          out.dispose();
        }
        m.model.dispose();
        expect(diffs).toHaveLength(9);
        for (const d of diffs) expect(d).toBeLessThanOrEqual(1e-3);
      });
    }

    for (const [temperature, seed] of [[0, 0], [1, 11], [0.8, 5]]) {
      it(`gives the same token ids as the Node CLI (temperature ${temperature}, seed ${seed})`, async () => {
        const prompt = 'Once upon a time';
        const ids: number[] = [];
        for await (const s of generate(lm, lm.tokenizer.encode(prompt), { temperature, topK: 0, topP: 1, seed, maxTokens: 24 })) ids.push(s.id);
        const expected = await nodeIds(prompt, temperature, seed, 24);
        expect(ids.length).toBeGreaterThan(0);
        expect(ids).toEqual(expected);
      });
    }

    if (backend === 'webgpu') {
      it('runs a decode step in 4 compute dispatches per block + 2 (embedding; final norm and LM head), counted where TF.js submits them', async () => {
        const prompt = lm.tokenizer.encode('Hello world. The cat sat');
        lm.model.truncate(0);
        await lastLogits(lm.model.forward(prompt, true));
        const dispatches = countDispatches()!;
        for (let i = 0; i < 4; i++) await lastLogits(lm.model.forward([prompt[i]], true));
        const perToken = dispatches.read() / 4;
        dispatches.stop();
        lm.model.truncate(0);
        expect(perToken).toBe(4 * configJson.n_layer + 2);
      });

      // The Llama family's step (fusedWebGPULlama.ts); its logits are held to the PyTorch reference above.
      for (const name of ['tiny-llama', 'tiny-llama-tied', 'tiny-qwen2', 'tiny-qwen3']) {
        it(`${name}: a decode step in 4 compute dispatches per block + 2`, async () => {
          const m = buildModel(await fetchModelFiles(`/tests/fixtures/${name}`));
          try {
            const { prompt } = (await (await fetch(`/tests/fixtures/${name}/reference_ids.json`)).json()) as { prompt: number[] };
            await lastLogits(m.model.forward(prompt, true));
            const dispatches = countDispatches()!;
            for (let i = 0; i < 4; i++) await lastLogits(m.model.forward([prompt[i]], true));
            const perToken = dispatches.read() / 4;
            dispatches.stop();
            expect(perToken).toBe(4 * m.config.nLayer + 2);
          } finally {
            m.model.dispose();
          }
        });
      }
    }

    if (backend === 'webgpu') {
      it('tiny-llama at a long context: the fused decode step with a 2,048-position cache equals the composite ops; past the Llama cap (2,048: MAX_CONTEXT) the text is refused with a message', async () => {
        const files = await fetchModelFiles('/tests/fixtures/tiny-llama');
        const m = buildModel({ ...files, config: { ...(files.config as Record<string, unknown>), max_position_embeddings: 4096 } });
        expect(m.model.contextLength).toBe(2048); // a declared 4,096 is capped: the cache is allocated at this length
        const L = m.config.nLayer;
        const capacity = () => (m.model as unknown as { cache: { capacity: number } }).cache.capacity;
        const step = async (id: number, composite = false) => {
          const run = () => m.model.forward([id], true);
          const out = composite ? withCompositeKernels(run) : run();
          const data = Float32Array.from(await out.data());
          out.dispose();
          return data;
        };
        try {
          const ids = Array.from({ length: 2047 }, (_, i) => (i * 7 + (i >> 5)) % 300);
          for (let i = 0; i < 1500; i += 300) m.model.forward(ids.slice(i, i + 300), true).dispose();
          expect(capacity()).toBe(2048);
          // The fused attention's scores for 2,048 positions fit the device's workgroup memory here: the fused step runs.
          expect(attnProjWorkgroupBytes(2048, m.config.nHead * (m.config as { headDim: number }).headDim)).toBeLessThanOrEqual(webgpuDevice()!.limits.maxComputeWorkgroupStorageSize);
          const count = countDispatches()!;
          const fused = await step(5);
          expect(count.read()).toBe(4 * L + 2);
          count.stop();
          m.model.truncate(1500);
          expect(maxAbsDiff(fused, await step(5, true))).toBeLessThan(1e-4);
          for (let i = 1501; i < 2047; i += 300) m.model.forward(ids.slice(i, Math.min(i + 300, 2047)), true).dispose();
          expect((await step(9)).every(Number.isFinite)).toBe(true); // position 2,047: the last one
          expect(() => m.model.forward([9], true)).toThrow(/reads at most 2048/);
        } finally {
          m.model.dispose();
        }
      });
    }

    it('a 4,096-position context: decode steps with the cache at 4,096 positions match the float64 reference (the fused WebGPU attention only where its workgroup memory fits the device)', async () => {
      // The fixture with its position table grown to 4,096 rows (its 256 rows repeated, each copy shifted a little).
      const N = 4096;
      const D = configJson.n_embd;
      const base = memoryWeights([{ name: 'model.safetensors', bytes: weights }]);
      const wpe256 = base.read('wpe.weight');
      const wpe = Float32Array.from({ length: N * D }, (_, i) => wpe256[i % (256 * D)] + 0.01 * Math.floor(i / (256 * D)));
      const source: WeightSource = { describe: (n) => base.describe(n), shape: (n) => (n === 'wpe.weight' ? [N, D] : base.shape(n)), read: (n) => (n === 'wpe.weight' ? wpe : base.read(n)) };
      const cfg = { ...configJson, n_positions: N, n_ctx: N };
      const model = modelFor(parseConfig(cfg), source);
      try {
        // 2,100 tokens fill the cache past 2,048 positions: it grows to 4,096. Prefilled in chunks (attention scores stay small).
        const ids = Array.from({ length: 2100 }, (_, i) => (i * 7 + (i >> 5)) % (configJson.vocab_size - 1));
        for (let i = 0; i < ids.length; i += 300) model.forward(ids.slice(i, i + 300), true).dispose();
        expect(model.cache.capacity).toBe(N);
        if (backend === 'webgpu') {
          // The guard itself: a cache too long for the device's workgroup memory is never given to the fused kernel.
          const limit = webgpuDevice()!.limits.maxComputeWorkgroupStorageSize;
          expect(webgpuDecodeStep(N, D)).toBe(attnProjWorkgroupBytes(N, D) <= limit);
          expect(webgpuDecodeStep(limit, D)).toBe(false);
        }
        const rows: Float32Array[] = [];
        const first = model.forward([ids[ids.length - 1]], true); // position 2,100
        let last = (await first.data()) as Float32Array;
        first.dispose();
        const all = [...ids, ids[ids.length - 1]];
        rows.push(last);
        for (let s = 0; s < 3; s++) {
          all.push(argmax(last));
          const out = model.forward([all[all.length - 1]], true);
          last = (await out.data()) as Float32Array;
          out.dispose();
          rows.push(last);
        }
        const ref = referenceLogits(cfg as never, new Map([...readF32Safetensors(weights)].map(([k, v]) => [k, k === 'wpe.weight' ? { shape: [N, D], data: Float64Array.from(wpe) } : v])), all);
        rows.forEach((row, j) => {
          const r = ref[ids.length + j];
          expect(row.reduce((m, v, i) => Math.max(m, Math.abs(v - r[i])), 0)).toBeLessThan(1e-3);
        });
      } finally {
        model.dispose();
      }
    });

    it('holds the same number of tensors after decode step 10 and step 200', async () => {
      const counts: number[] = [];
      for await (const s of generate(lm, lm.tokenizer.encode('Hello'), { temperature: 1, topK: 0, topP: 1, seed: 7, maxTokens: 200 })) {
        if (s.step === 10 || s.step === 199) counts.push(tf.memory().numTensors);
      }
      expect(counts).toHaveLength(2);
      expect(counts[1]).toBe(counts[0]);
    });
  });
}
