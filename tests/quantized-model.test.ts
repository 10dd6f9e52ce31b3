// Models quantized on load (--dtype q8_0 / q4_0) against independent witnesses:
// - the embedded GPT-2: greedy ids and probabilities of the float64 reference forward pass (tests/reference),
//   run on the dequantized weights;
// - the Llama-family fixtures: the float32 engine (itself checked against PyTorch in reference-logits.test.ts)
//   on a copy of the weights with every quantizable matrix replaced by its dequantized values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/engine/load/load.ts';
import type { WeightSource } from '../src/engine/model/weights.ts';
import { selectBackend, readData } from '../src/engine/runtime/backend.ts';
import { dequantize, quantize, type QuantType } from '../src/engine/runtime/quant.ts';
import { loadModelDir, readModelDir } from '../src/node/loadDir.ts';
import { readF32Safetensors, referenceLogits } from './reference/naive-gpt2.ts';

const EMBEDDED = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
const FIXTURES = join(import.meta.dirname, 'fixtures');

/** A matrix [rows, cols] (row-major) through quantize → dequantize along its rows. */
function roundTrip(type: QuantType, data: Float64Array | Float32Array, rows: number, cols: number): Float32Array {
  return dequantize(quantize(type, Float32Array.from(data), rows, cols));
}

function transpose<T extends Float64Array | Float32Array>(data: T, rows: number, cols: number): T {
  const out = new (data.constructor as { new (n: number): T })(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const p = Float64Array.from(logits, (l) => Math.exp(l - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / sum);
}
const argmax = (a: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
};

beforeAll(async () => {
  expect((await selectBackend({ order: ['wasm'] })).backend).toBe('wasm');
});

describe('the embedded model quantized on load', () => {
  it.each<QuantType>(['q8_0', 'q4_0'])('%s: 24 greedy ids equal the float64 reference on the dequantized weights, probabilities within 1e-3', async (type) => {
    const lm = loadModelDir(EMBEDDED, { dtype: type });
    expect(lm.model.dtype).toBe(type);
    const prompt = lm.tokenizer.encode('The capital of France is');
    const ids: number[] = [];
    const engineProbs: Float64Array[] = [];
    let logits = lm.model.forward(prompt, true);
    for (let i = 0; i < 24; i++) {
      const row = await readData(logits);
      logits.dispose();
      engineProbs.push(softmax(row));
      ids.push(argmax(row));
      logits = lm.model.forward([ids[i]], true);
    }
    logits.dispose();
    lm.model.dispose();

    // The reference's weights: GPT-2's Conv1D matrices are [in, out]; each output's weights (a column) is quantized.
    const cfg = JSON.parse(readFileSync(join(EMBEDDED, 'config.json'), 'utf8'));
    const w = readF32Safetensors(new Uint8Array(readFileSync(join(EMBEDDED, 'model.safetensors'))));
    let replaced = 0;
    for (const [name, t] of w) {
      if (t.shape.length !== 2 || name === 'wpe.weight') continue; // the position table is not a product's weight: kept float32
      const [a, b] = t.shape;
      t.data = Float64Array.from(name === 'wte.weight' ? roundTrip(type, t.data, a, b) : transpose(roundTrip(type, transpose(t.data, a, b), b, a), b, a));
      replaced++;
    }
    expect(replaced).toBe(1 + 4 * cfg.n_layer);
    const ref = referenceLogits(cfg, w, [...prompt, ...ids.slice(0, -1)]);
    let maxDiff = 0;
    for (let i = 0; i < 24; i++) {
      const p = softmax(ref[prompt.length - 1 + i]);
      expect(ids[i], `step ${i}`).toBe(argmax(p));
      for (let v = 0; v < p.length; v++) maxDiff = Math.max(maxDiff, Math.abs(p[v] - engineProbs[i][v]));
    }
    expect(maxDiff).toBeLessThanOrEqual(1e-3);
    expect(lm.tokenizer.decode(ids)).toMatch(/Paris/); // and it still knows its facts
  });

  it('engine memory: the quantized matrices are counted, and at Q4_0 the weights take under a fifth of their float32 bytes', () => {
    const bytes = (dtype: 'f32' | QuantType) => {
      const before = tf.memory().numBytes;
      const lm = loadModelDir(EMBEDDED, { dtype });
      const kvCache = [...lm.model.cache.k, ...lm.model.cache.v].reduce((n, t) => n + t.size * 4, 0); // float32 at every dtype
      const held = tf.memory().numBytes - before - kvCache + lm.model.quantizedBytes;
      lm.model.dispose();
      return held;
    };
    const f32 = bytes('f32');
    const q8 = bytes('q8_0');
    const q4 = bytes('q4_0');
    expect(f32).toBeGreaterThan(lm3mParams() * 4 * 0.99);
    expect(q8 / f32).toBeLessThan(0.35);
    expect(q4 / f32).toBeLessThan(0.2);
  });
});

function lm3mParams(): number {
  const lm = loadModelDir(EMBEDDED);
  const p = lm.model.params;
  lm.model.dispose();
  return p;
}

/** The fixture's weights with every matrix the engine quantizes (2-D, [out, in], in a multiple of 32) dequantized. */
function dequantizedSource(src: WeightSource, type: QuantType): WeightSource & { replaced: number } {
  let replaced = 0;
  const names = new Set<string>();
  return {
    describe: (n) => src.describe(n),
    shape: (n) => src.shape(n),
    read: (n) => {
      const shape = src.shape(n)!;
      const data = src.read(n);
      if (shape.length !== 2 || shape[1] % 32 !== 0) return data;
      if (!names.has(n)) replaced++;
      names.add(n);
      return roundTrip(type, data, shape[0], shape[1]);
    },
    get replaced() {
      return replaced;
    },
  };
}

describe('Llama-family fixtures quantized on load', () => {
  for (const name of ['tiny-llama', 'tiny-llama-tied', 'tiny-qwen2', 'tiny-qwen3']) {
    it.each<QuantType>(['q8_0', 'q4_0'])(`${name} %s: prefill and 8 cached decode steps within 1e-4 of the float32 engine on the dequantized weights`, async (type) => {
      const dir = join(FIXTURES, name);
      const { prompt, decode } = JSON.parse(readFileSync(join(dir, 'reference_ids.json'), 'utf8')) as { prompt: number[]; decode: number[] };
      const run = async (lm: ReturnType<typeof loadModelDir>) => {
        const rows: Float32Array[] = [];
        for (const step of [prompt, ...decode.map((id) => [id])]) {
          const out = lm.model.forward(step);
          rows.push(Float32Array.from(await readData(out)));
          out.dispose();
        }
        lm.model.dispose();
        return rows;
      };
      const quantized = await run(loadModelDir(dir, { dtype: type }));
      const files = readModelDir(dir);
      const source = dequantizedSource(files.weights, type);
      const witness = await run(buildModel({ ...files, weights: source }));
      const float = await run(loadModelDir(dir));
      expect(source.replaced).toBeGreaterThanOrEqual(4); // q, k, v, o at least: the quantized path really ran
      let diff = 0;
      let fromFloat = 0;
      quantized.forEach((row, i) => {
        for (let j = 0; j < row.length; j++) {
          diff = Math.max(diff, Math.abs(row[j] - witness[i][j]));
          fromFloat = Math.max(fromFloat, Math.abs(row[j] - float[i][j]));
        }
      });
      expect(diff).toBeLessThanOrEqual(1e-4);
      expect(fromFloat).toBeGreaterThan(1e-3); // quantization really changed the logits: the comparison can tell
    });
  }
});
