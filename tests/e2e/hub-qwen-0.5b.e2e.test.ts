// The model size learners chat with, at the precision they would run it: a Qwen2.5-0.5B-shaped checkpoint
// (494M parameters, random BF16 weights as the Hub ships them, tools/qwen-0.5b-shape.ts) served by the local
// Hub-layout server, loaded by the app on WASM at Q4_0 (?dtype=q4_0: quantized on load), and run. The engine's
// memory shown to the learner must stay within 600 MB (float32 would take ~2 GB: docs/engine.md), and is
// checked against a witness computed here from the config: llama.cpp's Q4_0 block (18 bytes per 32 weights)
// for every matrix, float32 for norms and biases.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeQwenShape } from '../../tools/qwen-0.5b-shape.ts';
import { startHubServer, type HubServer } from '../../tools/hubServer.ts';
import { ARTEFACTS, outputTokens, runAndWait, useApp } from './harness.ts';

const app = useApp();
let dir = '';
let hub: HubServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nexttoken-qwen05-'));
  writeQwenShape(dir);
  hub = await startHubServer({ 'test/qwen2.5-0.5b-shape': dir });
});
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('loads a Qwen2.5-0.5B-shaped model at Q4_0 through the Hub path on WASM, generates, and holds it in under 600 MB', async () => {
  const t0 = Date.now();
  const o = await app.open(`?backend=wasm&dtype=q4_0&t=0&max=4&prompt=Hello%20world&model=test/qwen2.5-0.5b-shape&hubEndpoint=${encodeURIComponent(hub.url)}`);
  const loadMs = Date.now() - t0;
  const page = o.page;
  const info = (await page.locator('#model-info').textContent()) ?? '';
  expect(info).toMatch(/test\/qwen2\.5-0\.5b-shape · 494\.03M parameters/);
  expect(info).toContain('Q4_0');
  const t1 = Date.now();
  await runAndWait(page, 'Generate');
  const generateMs = Date.now() - t1;
  expect((await outputTokens(page)).length).toBe(4);
  expect(o.consoleErrors).toEqual([]);

  const engineMb = Number(/ · ([\d.]+) MB in the engine/.exec(info)?.[1]);
  // The witness: what the weights take at Q4_0, from the config alone.
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
  const [D, I, L, H, KV, V] = [c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads, c.vocab_size];
  const hd = D / H;
  const matrixWeights = V * D + L * (D * H * hd + 2 * D * KV * hd + H * hd * D + 3 * D * I); // tied: the head is the table
  const vectorFloats = D + L * (2 * D + H * hd + 2 * KV * hd); // norms and q/k/v biases
  const q4Bytes = (matrixWeights / 32) * 18 + vectorFloats * 4;
  const record = { model: 'Qwen2.5-0.5B shape, random BF16 weights, quantized to Q4_0 on load', backend: 'wasm', engineMb, witnessQ4WeightsMb: q4Bytes / 1e6, float32WeightsMb: ((matrixWeights + vectorFloats) * 4) / 1e6, loadMs, generateMsFor4Tokens: generateMs };
  mkdirSync(ARTEFACTS, { recursive: true });
  writeFileSync(join(ARTEFACTS, 'hub-qwen-0.5b.json'), JSON.stringify(record, null, 1));
  console.log(JSON.stringify(record));
  expect(engineMb).toBeLessThanOrEqual(600);
  // Not fewer bytes than the blocks themselves (the figure counts the quantized arena, not only TF.js's tensors).
  expect(engineMb * 1e6).toBeGreaterThanOrEqual(q4Bytes - 0.05e6);
  await page.close();
});
