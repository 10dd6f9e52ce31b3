// Evaluation with the TypeScript engine: validation loss (bits per byte) and fact recall.
// The same numbers the trainer reports, computed independently of it.
import { generate, type StepRecord } from '../generate/generate.ts';
import type { LoadedModel } from '../load/load.ts';
import { logSoftmaxAt } from '../../sampling/step.ts';

export interface Fact {
  id: string;
  entity: string;
  relation: string;
  answer: string;
  seen: boolean;
  prompts: { chat: string; completion: string; question: string };
}

/** Encodes documents the way training did: <|endoftext|> before each document. */
export function encodeDocuments(lm: LoadedModel, docs: string[]): number[] {
  const eos = lm.tokenizer.eosId;
  if (eos === null) throw new Error('the tokenizer has no end-of-text token');
  const ids: number[] = [];
  for (const d of docs) ids.push(eos, ...lm.tokenizer.encode(d));
  return ids;
}

/**
 * Mean negative log-likelihood (nats/token) over non-overlapping windows of the context length,
 * each token after the first predicted once; and bits per byte of the documents' UTF-8 text.
 */
export async function validationLoss(lm: LoadedModel, docs: string[], onProgress?: (done: number, total: number) => void) {
  const ids = encodeDocuments(lm, docs);
  const n = lm.model.contextLength;
  const V = lm.config.vocabSize;
  let nats = 0;
  let count = 0;
  for (let i = 0; i < ids.length - 1; i += n) {
    const x = ids.slice(i, i + n);
    const y = ids.slice(i + 1, i + n + 1);
    lm.model.truncate(0);
    const out = lm.model.forward(x.slice(0, y.length), false);
    const logits = (await out.data()) as Float32Array;
    out.dispose();
    for (let t = 0; t < y.length; t++) nats -= logSoftmaxAt(logits.subarray(t * V, (t + 1) * V), y[t]);
    count += y.length;
    onProgress?.(Math.min(i + n, ids.length), ids.length);
  }
  lm.model.truncate(0);
  const bytes = docs.reduce((s, d) => s + new TextEncoder().encode(d).length, 0);
  return { valLoss: nats / count, valBitsPerByte: nats / Math.LN2 / bytes, valTokens: count, valBytes: bytes };
}

/** What a greedy answer is: the right answer, another answer of the same kind, or neither. */
export function judgeAnswer(generated: string, answer: string, allAnswers: string[]): { correct: boolean; plausible: boolean; said: string | null } {
  const text = generated.replace(/^\s+/, '');
  const matches = (a: string) => text.startsWith(a) && !/^[\p{L}\p{N}]/u.test(text.slice(a.length));
  // Longest first, so "Washington D.C." is not read as a shorter capital that prefixes it.
  const said = [...allAnswers].sort((a, b) => b.length - a.length).find(matches) ?? null;
  return { correct: matches(answer), plausible: said !== null, said };
}

export interface FactResult {
  fact: Fact;
  generated: string;
  correct: boolean;
  plausible: boolean;
  said: string | null;
}

/**
 * The model's reply to a prompt, step by step, up to (not including) its end-of-text token: greedy by
 * default, or sampled at `temperature` with `seed`. Top-k and top-p are off. The eval, the lens and its
 * repeated asking all read answers through this one loop, so their numbers agree by construction.
 */
export async function replyTo(lm: LoadedModel, promptIds: number[], maxTokens: number, temperature = 0, seed = 0): Promise<StepRecord[]> {
  const steps: StepRecord[] = [];
  for await (const s of generate(lm, promptIds, { temperature, topK: 0, topP: 1, seed, maxTokens, topN: 1 })) {
    if (lm.eosIds.includes(s.id)) break;
    steps.push(s);
  }
  return steps;
}

/** Greedy answers to every fact question (the chat form). */
export async function evaluateFacts(lm: LoadedModel, facts: Fact[], maxTokens = 12): Promise<FactResult[]> {
  const answers = [...new Set(facts.map((f) => f.answer))];
  const results: FactResult[] = [];
  for (const fact of facts) {
    const steps = await replyTo(lm, lm.tokenizer.encode(fact.prompts.chat), maxTokens);
    const generated = lm.tokenizer.decode(steps.map((s) => s.id), true);
    results.push({ fact, generated, ...judgeAnswer(generated, fact.answer, answers) });
  }
  return results;
}

export function factSummary(results: FactResult[]) {
  const share = (rs: FactResult[], f: (r: FactResult) => boolean) => (rs.length ? rs.filter(f).length / rs.length : 0);
  const seen = results.filter((r) => r.fact.seen);
  const unseen = results.filter((r) => !r.fact.seen);
  return {
    factsSeen: seen.length,
    factsUnseen: unseen.length,
    factsSeenTop1: share(seen, (r) => r.correct),
    factsUnseenTop1: share(unseen, (r) => r.correct),
    // Hallucination: a fluent answer of the right kind (some capital), for a fact it never saw.
    factsUnseenPlausible: share(unseen, (r) => r.plausible),
  };
}
