// A small seeded PRNG (mulberry32): same seed, same sequence, on every platform.
export type Rng = () => number;

/** Returns uniform numbers in [0, 1) with 32 bits of resolution. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random 32-bit seed, for "random seed" mode; the seed used is always reported so a run can be replayed. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296) >>> 0;
}
