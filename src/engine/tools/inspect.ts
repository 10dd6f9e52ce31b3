// "Inside the model" for one step: the numbers the forward pass computes on the way from token ids to
// the next-token distribution, taken from the running engine on request (nothing canned).
//   token embedding + position embedding → blocks (self-attention, feed-forward) → final norm → logits
import * as tf from '@tensorflow/tfjs';
import type { Trace } from '../model/model.ts';
import type { LoadedModel } from '../load/load.ts';
import { softmax, sortedIds } from '../../sampling/sampler.ts';
import { readData, readRows } from '../runtime/backend.ts';

/** Longest context shown: the attention maps grow with its square. */
export const MAX_INSPECT_TOKENS = 256;

export interface TopToken {
  id: number;
  token: string;
  prob: number;
}

export interface Inspection {
  ids: number[];
  tokens: string[];
  nLayer: number;
  nHead: number;
  layer: number; // which layer's attention is included
  /** Per token, the embedding vector looked up from the token table, and the position table's row (null: rotary positions). */
  tokenEmbedding: Float32Array[];
  positionEmbedding: Float32Array[] | null;
  /** attention[head][query] = weights over keys 0..T-1 for `layer`. */
  attention: Float32Array[][];
  /** What the model would predict for the next token if it stopped after each layer (last position). */
  logitLens: { layer: number; top: TopToken[] }[];
  /** The model's actual next-token distribution (top tokens), for comparison with the last lens row. */
  final: TopToken[];
  /** The length (L2 norm) of the last position's residual stream after each block. */
  residualNorms: number[];
}

function topOf(lm: LoadedModel, logits: Float32Array, n: number): TopToken[] {
  const probs = softmax(logits);
  return Array.from(sortedIds(probs).subarray(0, n), (id) => ({ id, token: lm.tokenizer.tokenLabel(id), prob: probs[id] }));
}

/** Runs `ids` through the model once, recording embeddings, one layer's attention and the residual stream. */
export async function inspect(lm: LoadedModel, ids: number[], layer: number, topN = 5): Promise<Inspection> {
  const { nLayer } = lm.config;
  const nHead = lm.config.nHead;
  if (!ids.length) throw new Error('Nothing to look inside: there are no tokens yet.');
  if (ids.length > MAX_INSPECT_TOKENS) throw new Error(`Inside the model shows contexts of up to ${MAX_INSPECT_TOKENS} tokens; this one has ${ids.length}.`);
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayer) throw new Error(`Layer must be 1 to ${nLayer}.`);
  const T = ids.length;
  const V = lm.config.vocabSize;
  const trace: Trace = { attention: [], residual: [], wantEmbeddings: true };
  lm.model.truncate(0);
  const logits = lm.model.forward(ids, true, trace);
  lm.model.truncate(0);
  try {
    const final = topOf(lm, await readData(logits), topN);
    const tokenEmb = await readRows(trace.embeddings!.token);
    const posEmb = trace.embeddings!.position ? await readRows(trace.embeddings!.position) : null;
    // [H, T, capacity] → keep keys 0..T-1 (the rest are masked positions with zero weight).
    const att = tf.tidy(() => tf.slice(trace.attention![layer], [0, 0, 0], [nHead, T, T]));
    const attData = await readData(att);
    att.dispose();
    const attention = Array.from({ length: nHead }, (_, hh) => Array.from({ length: T }, (_, q) => attData.slice((hh * T + q) * T, (hh * T + q + 1) * T)));
    const lastRows = tf.tidy(() => tf.concat(trace.residual!.map((r) => tf.slice(r, [T - 1, 0], [1, r.shape[1]])), 0) as tf.Tensor2D);
    const lensLogits = lm.model.unembed(lastRows);
    const norms = tf.tidy(() => tf.norm(lastRows, 'euclidean', 1));
    const residualNorms = Array.from(await readData(norms));
    norms.dispose();
    lastRows.dispose();
    const lensData = await readData(lensLogits);
    lensLogits.dispose();
    const logitLens = trace.residual!.map((_, l) => ({ layer: l + 1, top: topOf(lm, lensData.subarray(l * V, (l + 1) * V), topN) }));
    return {
      ids,
      tokens: ids.map((id) => lm.tokenizer.tokenLabel(id)),
      nLayer,
      nHead,
      layer,
      tokenEmbedding: tokenEmb.map((r) => Float32Array.from(r)),
      positionEmbedding: posEmb ? posEmb.map((r) => Float32Array.from(r)) : null,
      attention,
      logitLens,
      final,
      residualNorms,
    };
  } finally {
    logits.dispose();
    for (const t of [...trace.attention!, ...trace.residual!, trace.embeddings?.token, trace.embeddings?.position]) t?.dispose();
  }
}
