// Runs a function on the composite TF.js ops instead of the fused WASM kernels (what the kernel tests compare with).
import { fusedKernels } from '../../src/engine/runtime/fused.ts';

export function composite<T>(f: () => T): T {
  fusedKernels.enabled = false;
  try {
    return f();
  } finally {
    fusedKernels.enabled = true;
  }
}
