// "Why this token?" by occlusion: how much each context token supported the chosen token. Each token is
// left out in turn, the rest run again, and the drop in the chosen token's log-probability is that
// token's share: positive, it made the choice likelier; negative, it held it back. One forward pass per
// context token (the KV cache reuses the prefix before the dropped position).
import { logitsAfter } from '../generate/generate.ts';
import type { LoadedModel } from '../load/load.ts';
import { logSoftmaxAt } from '../../sampling/step.ts';

export interface Occlusion {
  /** log p(target | every context token), natural log. */
  base: number;
  /** deltas[i] = base − log p(target | the context without token i). */
  deltas: number[];
}

export async function occlusion(lm: LoadedModel, ids: number[], target: number, yieldEvery?: () => Promise<void>): Promise<Occlusion> {
  if (ids.length < 2) throw new Error('Why this token needs at least two context tokens: one to leave out and one to keep.');
  if (!Number.isInteger(target) || target < 0 || target >= lm.config.vocabSize) throw new Error(`Token id ${target} is not in this model's vocabulary (0 to ${lm.config.vocabSize - 1}).`);
  const base = logSoftmaxAt(await logitsAfter(lm, ids), target);
  const deltas: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const without = [...ids.slice(0, i), ...ids.slice(i + 1)];
    deltas.push(base - logSoftmaxAt(await logitsAfter(lm, without), target));
    await yieldEvery?.();
  }
  return { base, deltas };
}
