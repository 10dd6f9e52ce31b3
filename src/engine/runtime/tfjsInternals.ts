// The one door to TF.js's private internals. @tensorflow/tfjs 4.22.0 (2024-10) is its last release, so the
// engine pins it exactly (package.json) and reaches past its public API only inside src/engine/runtime/: the
// fused WASM kernels (fused.ts: makeOutput, typedArrayFromHeap, the heap), the WebGPU programs and cache copies
// (fusedWebGPU.ts, attention.ts: runWebGPUProgram, tensorMap, uploadToGPU, the command encoder), the dispatch
// counter (dispatchCounter.ts) and the small accessors below. A different TF.js build could move any of these,
// so the backends refuse to start on versions other than the pinned ones, with a message naming both.
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';

/** The @tensorflow/* version these internals were written and tested against (package.json pins it exactly). */
export const PINNED_TFJS = '4.22.0';

/** Throws a clear error if the TF.js packages loaded are not the pinned ones (tests check the WebGPU package's file). */
export function checkPinnedTfjs(found: Record<string, string> = { '@tensorflow/tfjs': tf.version.tfjs, '@tensorflow/tfjs-core': tf.version_core, '@tensorflow/tfjs-backend-wasm': version_wasm }): void {
  const wrong = Object.entries(found).filter(([, v]) => v !== PINNED_TFJS);
  if (wrong.length) {
    throw new Error(
      `NextToken's engine uses internals of TensorFlow.js ${PINNED_TFJS} and found ${wrong.map(([name, v]) => `${name} ${v}`).join(', ')}. ` +
        `Install the pinned versions (npm ci), or port src/engine/runtime/ to the new ones and change PINNED_TFJS.`,
    );
  }
}

/** The WebGPU device TF.js runs on (null on other backends). */
export function webgpuDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: GPUDevice }).device ?? null;
}

/** Bytes of the WASM backend's heap (its memory, grown as needed; 0 on other backends). */
export function wasmHeapBytes(): number {
  if (tf.getBackend() !== 'wasm') return 0;
  return (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length ?? 0;
}
