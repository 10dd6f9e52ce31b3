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
    }

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
