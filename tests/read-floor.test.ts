// The weight-read floor's probe (src/engine/measure/readFloor.ts) reads every byte it is given: over a buffer of
// ones, lane 0 of its four SIMD accumulators sums to bytes / 16. (Its timing is reported by the benchmarks, never
// asserted.)
import { expect, it } from 'vitest';
import { readFloor } from '../src/engine/measure/readFloor.ts';

it('streams the whole buffer: the checksum counts every float', async () => {
  for (const bytes of [64, 6400, 64 * 100_003]) {
    const r = await readFloor(bytes);
    expect(r.bytes).toBe(bytes);
    expect(r.lane0Sum).toBe(bytes / 16);
  }
  expect((await readFloor(100)).bytes).toBe(64); // whole 64-byte blocks only
});
