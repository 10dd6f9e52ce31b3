// Two measurements a learner asks for by name: one prompt continued at several temperatures side by
// side (same seed, so only the temperature differs), and the surprise of each token of a given text.
import { generate } from '../generate/generate.ts';
import type { LoadedModel } from '../load/load.ts';
import { scoreContinuation } from './lens.ts';

export interface ColumnToken {
  id: number;
  token: string;
  rawProb: number; // under T = 1
  prob: number; // under the column's final distribution
  entropy: number; // bits, raw distribution
}

export interface TemperatureColumn {
  temperature: number;
  text: string;
  tokens: ColumnToken[];
  meanEntropy: number;
}

/** The same prompt and seed at each temperature; top-k and top-p are off so temperature alone differs. */
export async function compareTemperatures(lm: LoadedModel, promptIds: number[], temperatures: number[], seed: number, maxTokens: number): Promise<TemperatureColumn[]> {
  const columns: TemperatureColumn[] = [];
  for (const temperature of temperatures) {
    const tokens: ColumnToken[] = [];
    for await (const s of generate(lm, promptIds, { temperature, topK: 0, topP: 1, seed, maxTokens, topN: 1 })) {
      tokens.push({ id: s.id, token: s.token, rawProb: s.rawProb, prob: s.prob, entropy: s.entropy });
      if (lm.eosIds.includes(s.id)) break;
    }
    const ids = tokens.filter((t) => !lm.eosIds.includes(t.id)).map((t) => t.id);
    columns.push({ temperature, text: lm.tokenizer.decode(ids, true), tokens, meanEntropy: tokens.reduce((a, t) => a + t.entropy, 0) / Math.max(1, tokens.length) });
  }
  return columns;
}

export interface Surprise {
  id: number;
  token: string;
  prob: number;
  bits: number; // −log₂ p: how surprised the model was by this token
}

/**
 * Each token's surprise given the text before it, and the text's perplexity, 2^(mean bits).
 * The text is read after the token a document starts after in training — BOS where the model puts one first
 * (Llama 2, stories15M), else end-of-text (GPT-2) — so the first token is scored too.
 */
export async function perplexity(lm: LoadedModel, text: string): Promise<{ tokens: Surprise[]; perplexity: number; bitsPerToken: number }> {
  const ids = lm.tokenizer.encodeText(text);
  if (!ids.length) throw new Error('The text is empty: paste some text to measure.');
  const start = lm.tokenizer.documentStartId ?? lm.eosIds[0];
  if (start === undefined) throw new Error('This model has no end-of-text token to start from.');
  if (ids.length + 1 > lm.model.contextLength) {
    throw new Error(`The text is ${ids.length} tokens; this model reads at most ${lm.model.contextLength - 1} after its start token. Shorten the text.`);
  }
  const scored = await scoreContinuation(lm, [start], ids);
  const tokens = scored.tokens.map((t) => ({ id: t.id, token: t.token, prob: t.prob, bits: -Math.log2(t.prob) }));
  const bitsPerToken = -scored.logprob / Math.LN2 / ids.length;
  return { tokens, perplexity: 2 ** bitsPerToken, bitsPerToken };
}
