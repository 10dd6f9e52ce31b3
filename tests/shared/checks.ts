// Checks shared by the Node tests and the in-browser tests, so both run the very same assertions' inputs.
import type { LoadedModel } from '../../src/engine/load/load.ts';
import { argmax } from '../../src/sampling/sampler.ts';
import { referenceLogits, readF32Safetensors } from '../reference/naive-gpt2.ts';

export interface ReferenceComparison {
  prefillMaxAbs: number; // over every prompt position
  decodeMaxAbs: number[]; // one per cached decode step
  ids: number[]; // prompt + greedy continuation
}

/** Prefill `promptIds`, then `steps` greedy cached decode steps; compare every logit with the float64 reference. */
export async function compareWithReference(
  lm: LoadedModel,
  configJson: Record<string, number>,
  safetensors: Uint8Array,
  promptIds: number[],
  steps: number,
): Promise<ReferenceComparison> {
  lm.model.truncate(0);
  const V = configJson.vocab_size;
  const all = lm.model.forward(promptIds, false);
  const prefill = (await all.data()) as Float32Array;
  all.dispose();
  const engineRows: Float32Array[] = promptIds.map((_, t) => prefill.slice(t * V, (t + 1) * V));
  const ids = promptIds.slice();
  let last = engineRows[engineRows.length - 1];
  for (let s = 0; s < steps; s++) {
    const next = argmax(last);
    ids.push(next);
    const out = lm.model.forward([next], true);
    last = (await out.data()) as Float32Array;
    out.dispose();
    engineRows.push(last);
  }
  const ref = referenceLogits(configJson as never, readF32Safetensors(safetensors), ids);
  const maxAbs = (a: Float32Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  return {
    prefillMaxAbs: Math.max(...promptIds.map((_, t) => maxAbs(engineRows[t], ref[t]))),
    decodeMaxAbs: Array.from({ length: steps }, (_, s) => maxAbs(engineRows[promptIds.length + s], ref[promptIds.length + s])),
    ids,
  };
}
