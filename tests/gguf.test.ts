// GGUF files (llama.cpp's format) written by a test-side converter (tools/ggufWrite.ts, llama.cpp's
// conventions, its own quantizer) and read by the engine: the weights a float reader would see run through the
// float32 engine (checked against PyTorch in reference-logits.test.ts) as the witness, the float64 GPT-2
// reference for GPT-2, and the fixture's own tokenizer.json for the tokenizer rebuilt from the metadata.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/engine/load/load.ts';
import { parseGguf, ggufBlocks } from '../src/engine/load/gguf.ts';
import type { WeightSource } from '../src/engine/model/weights.ts';
import { readData, selectBackend } from '../src/engine/runtime/backend.ts';
import { quantize } from '../src/engine/runtime/quant.ts';
import { readGgufFile, readModelDir } from '../src/node/loadDir.ts';
import { Tokenizer } from '../src/engine/load/tokenizer.ts';
import { sentencePieceOf, writeFixtureGguf } from '../tools/ggufWrite.ts';
import { mergesFromScores, sentencePieceTokenizerJson } from '../src/engine/load/sentencePiece.ts';
import { referenceLogits } from './reference/naive-gpt2.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
let tmp: string;
beforeAll(async () => {
  expect((await selectBackend({ order: ['wasm'] })).backend).toBe('wasm');
  tmp = mkdtempSync(join(tmpdir(), 'nexttoken-gguf-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The fixture's weights, with the values the GGUF file holds (what a float reader of it sees). */
function asInFile(src: WeightSource, values: Map<string, { data: Float32Array }>): WeightSource {
  return { describe: (n) => src.describe(n), shape: (n) => src.shape(n), read: (n) => values.get(n.replace(/^transformer\./, ''))?.data ?? src.read(n) };
}

async function logitsOf(lm: ReturnType<typeof buildModel>, steps: number[][]): Promise<Float32Array[]> {
  const rows: Float32Array[] = [];
  for (const s of steps) {
    const out = lm.model.forward(s);
    rows.push(Float32Array.from(await readData(out)));
    out.dispose();
  }
  lm.model.dispose();
  return rows;
}

describe('GGUF models against the float32 engine on the values in the file', () => {
  for (const name of ['tiny-llama', 'tiny-llama-tied', 'tiny-qwen2', 'tiny-qwen3', 'tiny-gpt2']) {
    for (const type of ['Q8_0', 'Q4_0', 'F16'] as const) {
      it(`${name} ${type}: prefill and 8 cached steps within 1e-4 of the witness; the matrices kept as the file's blocks`, async () => {
        const dir = join(FIXTURES, name);
        const path = join(tmp, `${name}-${type}.gguf`);
        const written = writeFixtureGguf(dir, path, type);
        const { prompt, decode } = JSON.parse(readFileSync(join(dir, 'reference_ids.json'), 'utf8')) as { prompt: number[]; decode: number[] };
        const steps = [prompt, ...decode.map((id) => [id])];
        const files = readGgufFile(path);
        expect(files.weights.nativeDType).toBe(type === 'F16' ? 'f32' : type.toLowerCase());
        const lm = buildModel(files);
        expect(lm.model.dtype).toBe(type === 'F16' ? 'f32' : type.toLowerCase());
        if (type !== 'F16') expect(lm.model.quantizedBytes).toBeGreaterThan(0);
        const mine = await logitsOf(lm, steps);
        const hf = readModelDir(dir);
        const witness = await logitsOf(buildModel({ ...hf, weights: asInFile(hf.weights, written.dequantized) }), steps);
        const float = await logitsOf(buildModel(hf), steps);
        let diff = 0;
        let fromFloat = 0;
        mine.forEach((row, i) => row.forEach((v, j) => {
          diff = Math.max(diff, Math.abs(v - witness[i][j]));
          fromFloat = Math.max(fromFloat, Math.abs(v - float[i][j]));
        }));
        expect(diff).toBeLessThanOrEqual(1e-4);
        if (type !== 'F16') expect(fromFloat).toBeGreaterThan(1e-3); // the file's rounding is really in the logits
      });
    }
  }
});

describe('a GGUF file of the embedded model (GPT-2 architecture)', () => {
  it.each(['Q8_0', 'Q4_0'] as const)('%s: 24 greedy ids equal the float64 reference on the file’s values, probabilities within 1e-3', async (type) => {
    const dir = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
    const path = join(tmp, `nexttoken-${type}.gguf`);
    const written = writeFixtureGguf(dir, path, type);
    const lm = buildModel(readGgufFile(path));
    const prompt = lm.tokenizer.encode('The capital of France is');
    const ids: number[] = [];
    const probs: Float64Array[] = [];
    let out = lm.model.forward(prompt, true);
    for (let i = 0; i < 24; i++) {
      const logits = await readData(out);
      out.dispose();
      const max = Math.max(...logits);
      const e = Float64Array.from(logits, (l) => Math.exp(l - max));
      const sum = e.reduce((a, b) => a + b, 0);
      probs.push(e.map((v) => v / sum));
      ids.push(e.indexOf(Math.max(...e)));
      out = lm.model.forward([ids[i]], true);
    }
    out.dispose();
    lm.model.dispose();
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const w = new Map([...written.dequantized].map(([n, t]) => [n, { shape: t.shape, data: Float64Array.from(t.data) }]));
    const ref = referenceLogits(cfg, w, [...prompt, ...ids.slice(0, -1)]);
    let maxDiff = 0;
    for (let i = 0; i < 24; i++) {
      const row = ref[prompt.length - 1 + i];
      const max = Math.max(...row);
      const e = row.map((l) => Math.exp(l - max));
      const sum = e.reduce((a, b) => a + b, 0);
      expect(ids[i], `step ${i}`).toBe(e.indexOf(Math.max(...e)));
      for (let v = 0; v < e.length; v++) maxDiff = Math.max(maxDiff, Math.abs(e[v] / sum - probs[i][v]));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-3);
  });

  it('the engine’s quantizer writes the same blocks as the test-side converter (llama.cpp’s reference rounding, two implementations)', () => {
    const dir = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
    for (const type of ['Q8_0', 'Q4_0'] as const) {
      const path = join(tmp, `nexttoken-${type}.gguf`);
      const bytes = new Uint8Array(readFileSync(path));
      const file = parseGguf(bytes, path);
      const t = file.tensors.get('token_embd.weight')!;
      const fromFile = ggufBlocks(bytes, t);
      const src = readModelDir(dir).weights;
      const hf = src.read(src.shape('transformer.wte.weight') ? 'transformer.wte.weight' : 'wte.weight');
      const mine = quantize(type === 'Q8_0' ? 'q8_0' : 'q4_0', hf, t.ne[1], t.ne[0]);
      expect(Array.from(mine.scales)).toEqual(Array.from(fromFile.scales));
      expect(Array.from(mine.quants)).toEqual(Array.from(fromFile.quants));
    }
  });
});

describe('the tokenizer from GGUF metadata', () => {
  it('encodes and decodes as the fixture’s tokenizer.json, renders its chat template, and names its end tokens', () => {
    for (const name of ['tiny-llama', 'tiny-gpt2']) {
      const dir = join(FIXTURES, name);
      const path = join(tmp, `${name}-tok.gguf`);
      writeFixtureGguf(dir, path, 'Q8_0');
      const files = readGgufFile(path);
      const fromGguf = Tokenizer.fromJSON(files.tokenizer, files.tokenizerConfig);
      const hf = readModelDir(dir);
      const original = Tokenizer.fromJSON(hf.tokenizer, hf.tokenizerConfig);
      for (const text of ['Hello world', 'The capital of France is Paris.', "it's 1234 tokens,  spaced\n\nout", '法国的首都是巴黎', 'naïve café <|im_end|>']) {
        expect(fromGguf.encode(text), `${name}: ${text}`).toEqual(original.encode(text));
        expect(fromGguf.decode(original.encode(text))).toBe(original.decode(original.encode(text)));
      }
      if (original.hasChatTemplate) expect(fromGguf.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe(original.applyChatTemplate([{ role: 'user', content: 'Hi' }]));
      // GGUF keeps one end-of-text id (config.json's); generation_config.json's extra ones have no GGUF key.
      const [a, b] = [buildModel(files), buildModel(hf)];
      expect(a.eosIds).toContain(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).eos_token_id);
      for (const id of a.eosIds) expect(b.eosIds).toContain(id);
      a.model.dispose();
      b.model.dispose();
    }
  });

  it('a SentencePiece tokenizer.json goes back to llama.cpp’s `llama` kind (bench:peer’s folders): the shipped storyteller’s vocabulary round-trips to the same merges and types; a byte-level BPE one is not that kind', () => {
    const meta = parseGguf(new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'models', 'stories15m', 'stories15m-q4_0.gguf'))), 'stories15m').metadata;
    const original = { pieces: meta.get('tokenizer.ggml.tokens') as string[], scores: (meta.get('tokenizer.ggml.scores') as number[]).map(Number), types: (meta.get('tokenizer.ggml.token_type') as number[]).map(Number) };
    const json = sentencePieceTokenizerJson(original) as Parameters<typeof sentencePieceOf>[0];
    const back = sentencePieceOf(json, original.pieces.length)!;
    expect(back.types).toEqual(original.types);
    // Other numbers, the same ranking: the merges SentencePiece's rule makes from them are the file's.
    expect(back.scores).not.toEqual(original.scores);
    expect(mergesFromScores({ pieces: original.pieces, ...back })).toEqual(json.model.merges);
    expect(sentencePieceOf(JSON.parse(readFileSync(join(FIXTURES, 'tiny-gpt2', 'tokenizer.json'), 'utf8')), 329)).toBeNull();
  });
});
