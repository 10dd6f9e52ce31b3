// Q8_0 / Q4_0 blocks and the SIMD kernel that multiplies them: the rounding is llama.cpp's reference,
// the kernel equals its scalar twin bit for bit and a float64 product of the dequantized weights to float32 rounding.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dequantize, f16BitsToF32, f32ToF16Bits, matmulScalar, QuantArena, quantize, quantSimd, type QuantType } from '../src/engine/runtime/quant.ts';
import { QUANT_WASM_BASE64 } from '../src/engine/runtime/quantWasm.ts';
import { assembleQuantWasm } from '../tools/wasmAssemble.ts';

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gaussian = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

describe('fp16 scales', () => {
  it('every finite fp16 value survives float32 and back; ties round to even; overflow is infinity', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN
      expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
    }
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next fp16: to even (1)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd below: up
    expect(f32ToF16Bits(70000)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: to even (zero)
    expect(f32ToF16Bits(3 * 2 ** -26)).toBe(1);
  });
});

describe('quantizing blocks', () => {
  it('Q8_0: a block worked by hand — scale max|x|/127 in fp16, quants rounded half away from zero', () => {
    const x = new Float32Array(32);
    x[0] = 1.27;
    x[1] = -0.005; // −0.5 of a step: rounds away from zero to −1
    x[2] = 0.635; // 63.5 steps → 64
    x[3] = -1.27;
    const q = quantize('q8_0', x, 1, 32);
    expect(q.scales[0]).toBe(f16BitsToF32(f32ToF16Bits(Math.fround(Math.fround(1.27) / 127))));
    expect(Array.from(q.quants.slice(0, 5))).toEqual([127, -1, 64, -127, 0]);
  });

  it('Q4_0: a block worked by hand — the signed extreme maps to −8, nibbles low = first 16, high = last 16', () => {
    const x = new Float32Array(32);
    x[0] = -0.8; // the largest magnitude: d = −0.8 / −8 = 0.1, q = −8 + 8 = 0
    x[16] = 0.7; // 7 + 8.5 → 15
    x[1] = 0.04; // 0.4 + 8.5 → 8
    x[17] = -0.26; // −2.6 + 8.5 → 5
    const q = quantize('q4_0', x, 1, 32);
    expect(q.scales[0]).toBeCloseTo(0.1, 4);
    expect(q.quants[0]).toBe(0 | (15 << 4));
    expect(q.quants[1]).toBe(8 | (5 << 4));
    expect(q.quants[2]).toBe(8 | (8 << 4)); // zeros are q = 8
  });

  it.each<[QuantType, number]>([
    // half a step, plus the fp16 rounding of the scale (2⁻¹¹ relative) over the largest quant; Q4_0's top can clip one more step
    ['q8_0', 0.5 / 127 + 2 ** -11],
    ['q4_0', 0.5 / 8 + 1 / 8 + 2 ** -11],
  ])('%s: every dequantized weight is within half a step of the original, plus the scale’s fp16 rounding (and Q4_0’s clipped top step)', (type, bound) => {
    const rand = mulberry32(7);
    const rows = 16;
    const cols = 256;
    const x = Float32Array.from({ length: rows * cols }, () => gaussian(rand));
    const deq = dequantize(quantize(type, x, rows, cols));
    for (let blk = 0; blk < (rows * cols) / 32; blk++) {
      const amax = Math.max(...x.subarray(blk * 32, blk * 32 + 32).map(Math.abs));
      for (let j = blk * 32; j < blk * 32 + 32; j++) expect(Math.abs(deq[j] - x[j])).toBeLessThanOrEqual(amax * bound);
    }
  });

  it('refuses rows that are not whole blocks', () => {
    expect(() => quantize('q8_0', new Float32Array(40), 1, 40)).toThrow(/multiple of 32/);
  });
});

describe('the quantized matrix product (quant.wat)', () => {
  it('the committed module is what wabt assembles from quant.wat today', async () => {
    const wat = readFileSync(join(import.meta.dirname, '../src/engine/runtime/quant.wat'), 'utf8');
    const bytes = await assembleQuantWasm(wat);
    expect(Buffer.from(bytes).toString('base64')).toBe(QUANT_WASM_BASE64);
  });

  it.each<QuantType>(['q8_0', 'q4_0'])('%s: the SIMD kernel equals its scalar twin bit for bit, and the float64 product of the dequantized weights to 1e-5', (type) => {
    expect(quantSimd()).toBe(true); // Node has WebAssembly SIMD: the kernel under test really runs
    const rand = mulberry32(11);
    const [N, K, T] = [24, 160, 3];
    const w = Float32Array.from({ length: N * K }, () => gaussian(rand));
    const x = Float32Array.from({ length: T * K }, () => gaussian(rand));
    const blocks = quantize(type, w, N, K);
    const arena = new QuantArena();
    const m = arena.add(blocks);
    arena.add(quantize(type, w.slice(0, K * 2), 2, K)); // another matrix after it: addresses are the matrix's own
    const y = Float32Array.from(m.matmul(x, T));
    expect(Array.from(y)).toEqual(Array.from(matmulScalar(blocks, x, T)));
    const deq = dequantize(blocks);
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        let ref = 0;
        let mag = 0;
        for (let k = 0; k < K; k++) {
          ref += deq[n * K + k] * x[t * K + k];
          mag += Math.abs(deq[n * K + k] * x[t * K + k]);
        }
        expect(Math.abs(y[t * N + n] - ref)).toBeLessThanOrEqual(1e-5 * mag);
      }
    }
    expect(Array.from(m.row(5))).toEqual(Array.from(deq.subarray(5 * K, 6 * K)));
  });

  it.each<QuantType>(['q8_0', 'q4_0'])('%s: the one-row kernel (every decode step) equals the scalar twin; 70 rows (two chunks of the prompt kernel) equal 70 one-row products, bit for bit', (type) => {
    const rand = mulberry32(12);
    const [N, K, T] = [40, 32, 70];
    const blocks = quantize(type, Float32Array.from({ length: N * K }, () => gaussian(rand)), N, K);
    const x = Float32Array.from({ length: T * K }, () => gaussian(rand));
    const m = new QuantArena().add(blocks);
    const one = (t: number) => Array.from(m.matmul(x.subarray(t * K, (t + 1) * K), 1));
    expect(one(0)).toEqual(Array.from(matmulScalar(blocks, x.subarray(0, K), 1)));
    const all = Array.from(m.matmul(x, T));
    for (let t = 0; t < T; t++) expect(all.slice(t * N, (t + 1) * N), `row ${t}`).toEqual(one(t));
  });
});
