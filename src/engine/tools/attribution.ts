// "Why this token?": how much each context token supported the chosen token, two ways.
// Occlusion: each token is left out in turn, the rest run again, and the drop in the chosen token's
// log-probability is that token's share (positive: it made the choice likelier; negative: it held it back).
// Gradient × input: the gradient of that log-probability with respect to each token's embedding, dotted
// with the embedding (TF.js's autodiff through a cache-free forward pass): a first-order estimate of the
// same thing, from one backward pass.
import * as tf from '@tensorflow/tfjs';
import { logitsAfter } from '../generate/generate.ts';
import { KVModel } from '../model/kvModel.ts';
import type { LoadedModel } from '../load/load.ts';
import { logSoftmaxAt } from '../../sampling/step.ts';
import { readData } from '../runtime/backend.ts';

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

export interface GradientAttribution {
  logProb: number;
  /** scores[i] = Σ_d ∂ log p(target) / ∂ e[i][d] · e[i][d], for the token embedding e[i]. */
  scores: number[];
}

export async function gradientTimesInput(lm: LoadedModel, ids: number[], target: number): Promise<GradientAttribution> {
  const model = lm.model;
  if (!(model instanceof KVModel)) throw new Error(`Gradient × input needs a model TF.js can differentiate; this one is ${lm.config.modelType}. Occlusion works for every model.`);
  if (!ids.length) throw new Error('Gradient × input needs at least one context token.');
  const emb = model.tokenEmbeddings(ids);
  try {
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => model.logProbOfEmbeddings(e as tf.Tensor2D, target))(emb);
    const scores = tf.tidy(() => tf.sum(tf.mul(grad, emb), 1));
    const [logProb, data] = [(await readData(value))[0], Array.from(await readData(scores))];
    for (const t of [value, grad, scores]) t.dispose();
    return { logProb, scores: data };
  } finally {
    emb.dispose();
  }
}
