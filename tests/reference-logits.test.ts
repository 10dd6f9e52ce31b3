// The TF.js engine against logits computed by an independent PyTorch implementation of the Hugging
// Face semantics (tools/reference/hf_reference.py; its outputs are committed beside each fixture).
// Covers GPT-2, Llama with grouped-query attention and an untied head, and Llama with a tied head,
// an explicit head_dim and attention biases, Qwen2 (q/k/v biases only) and Qwen3 (per-head q/k RMSNorm,
// head_dim ≠ hidden/heads): prefill, then 8 decode steps through the KV cache.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { loadModelDir } from '../src/node/loadDir.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`engine vs PyTorch reference on ${backend}`, () => {
    beforeAll(async () => {
      expect((await selectBackend({ order: [backend] })).backend).toBe(backend);
    });

    for (const name of ['tiny-gpt2', 'tiny-llama', 'tiny-llama-tied', 'tiny-qwen2', 'tiny-qwen3']) {
      it(`${name}: prefill and 8 cached decode steps within 1e-3 of the reference logits`, async () => {
        const dir = join(FIXTURES, name);
        const { prompt, decode } = JSON.parse(readFileSync(join(dir, 'reference_ids.json'), 'utf8')) as { prompt: number[]; decode: number[] };
        const ref = new Float32Array(new Uint8Array(readFileSync(join(dir, 'reference_logits.f32'))).buffer);
        const lm = loadModelDir(dir);
        const V = lm.config.vocabSize;
        expect(ref.length).toBe((prompt.length + decode.length) * V);
        expect(decode.length).toBe(8);
        const diffs: number[] = [];
        const prefill = lm.model.forward(prompt);
        const rows = (await prefill.data()) as Float32Array;
        prefill.dispose();
        diffs.push(maxAbsDiff(rows, ref.subarray(0, prompt.length * V)));
        for (let i = 0; i < decode.length; i++) {
          const out = lm.model.forward([decode[i]]);
          const row = (await out.data()) as Float32Array;
          out.dispose();
          const at = (prompt.length + i) * V;
          diffs.push(maxAbsDiff(row, ref.subarray(at, at + V)));
        }
        lm.model.dispose();
        // Logits of random fixtures span several units, so 1e-3 is a real float32-level check.
        expect(Math.max(...Array.from(ref.subarray(0, V), Math.abs))).toBeGreaterThan(1);
        for (const d of diffs) expect(d).toBeLessThanOrEqual(1e-3);
      });
    }
  });
}
