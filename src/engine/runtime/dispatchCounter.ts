// Counting WebGPU compute dispatches for the benchmarks. TF.js 4.22 offers no public counter, so its backend's
// private recordAndSubmit is wrapped, here and nowhere else (see tfjsInternals.ts for why such calls live in runtime/).
import * as tf from '@tensorflow/tfjs';

/** Counts WebGPU compute dispatches (TF.js records each one through recordAndSubmit); null off WebGPU. */
export function countDispatches(): { read(): number; stop(): void } | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const b = tf.backend() as unknown as { recordAndSubmit: (...a: unknown[]) => unknown };
  const original = b.recordAndSubmit;
  let n = 0;
  b.recordAndSubmit = function (this: unknown, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  return { read: () => n, stop: () => void (b.recordAndSubmit = original) };
}
