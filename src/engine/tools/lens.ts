// The hallucination lens: ask the model a question whose answer we know, and measure what it believes.
//
//   - what it says (greedy), and the probability of what it says (its confidence);
//   - the probability it gives the true answer, all of the answer's tokens chained (teacher forcing),
//     and the rank of the true answer's first token;
//   - the entropy along its answer; and, sampled N times, how often its answers agree.
//
// Everything is computed from the model's own logits, on request; nothing is canned.
import { CancelledError } from '../generate/cancelled.ts';
import type { LoadedModel } from '../load/load.ts';
import { answerContinuation, answerPools, factLang, judgeAnswer, replyTo, type Fact } from './evaluate.ts';
import { entropyBits, softmax } from '../../sampling/sampler.ts';
import { logSoftmaxAt } from '../../sampling/step.ts';
import { readData } from '../runtime/backend.ts';

/** A question with a known answer. `seen`: whether its fact was in the model's training data, if known. */
export interface LensQuestion {
  id: string;
  question: string;
  prompt: string; // the text the model continues
  answer: string;
  seen: boolean | null;
  lang: 'en' | 'zh';
  completion: string; // the fact as a sentence to continue (the guessing game's prompts)
  kind: string; // what the answer is ('capital', 'continent', 'symbol'): any answer of the same kind is plausible
}

/** The embedded model's own facts, asked exactly as `npm run eval` asks them (the chat form). */
export function questionsFromFacts(facts: Fact[]): LensQuestion[] {
  return facts.map((f) => ({ id: f.id, question: f.prompts.question, prompt: f.prompts.chat, answer: f.answer, seen: f.seen, lang: factLang(f), completion: f.prompts.completion, kind: f.relation }));
}

export interface ScoredToken {
  id: number;
  token: string;
  prob: number; // under the raw (T = 1) distribution over the whole vocabulary
  rank: number; // 1 = the model's top choice at that position
  entropy: number; // bits, of that position's raw distribution
}

/** Probability of `continuationIds` after `promptIds`: one forward pass, each token scored in its context. */
export async function scoreContinuation(lm: LoadedModel, promptIds: number[], continuationIds: number[]): Promise<{ tokens: ScoredToken[]; logprob: number; prob: number }> {
  if (!continuationIds.length) throw new Error('Nothing to score: the continuation is empty.');
  const ids = [...promptIds, ...continuationIds];
  if (ids.length > lm.model.contextLength) throw new Error(`The question and answer need ${ids.length} tokens; this model reads ${lm.model.contextLength}.`);
  const V = lm.config.vocabSize;
  lm.model.truncate(0);
  const out = lm.model.forward(ids.slice(0, -1));
  const logits = await readData(out);
  out.dispose();
  lm.model.truncate(0);
  const tokens: ScoredToken[] = [];
  let logprob = 0;
  continuationIds.forEach((id, i) => {
    const row = logits.subarray((promptIds.length - 1 + i) * V, (promptIds.length + i) * V);
    const lp = logSoftmaxAt(row, id);
    let rank = 1;
    for (let j = 0; j < V; j++) if (row[j] > row[id]) rank++;
    tokens.push({ id, token: lm.tokenizer.tokenLabel(id), prob: Math.exp(lp), rank, entropy: entropyBits(softmax(row)) });
    logprob += lp;
  });
  return { tokens, logprob, prob: Math.exp(logprob) };
}

export interface LensAnswer {
  factId: string;
  question: string;
  truth: string;
  seen: boolean | null; // null: not known (a general fact asked of a Hub model)
  lang: 'en' | 'zh';
  said: string; // the answer span of the greedy reply
  reply: string; // the whole greedy reply
  correct: boolean;
  plausible: boolean;
  /** Probability of what it said (the answer span's tokens chained): its confidence. */
  saidProb: number;
  saidTokens: ScoredToken[];
  /** Probability of the true answer, chained, and the rank of its first token. */
  truthProb: number;
  truthRank: number;
  truthTokens: ScoredToken[];
  meanEntropy: number; // bits, along the answer span
}

/** The answer span: how many of the reply's tokens reach the end of its first sentence or line. */
function answerSpan(lm: LoadedModel, ids: number[]): number {
  let n = 0;
  for (const t of ids.map((id) => lm.tokenizer.decode([id], true))) {
    if (/[.\n!?。！？，]/.test(t) && n > 0) break;
    if (/^[.\n。]/.test(t)) break;
    n++;
  }
  return Math.max(1, n);
}

/** Asks one fact question greedily (temperature 0), the way `npm run eval` does, and measures it. */
export async function askFact(lm: LoadedModel, fact: LensQuestion, allAnswers: string[], maxTokens = 12): Promise<LensAnswer> {
  const promptIds = lm.tokenizer.encode(fact.prompt);
  const steps = await replyTo(lm, promptIds, maxTokens);
  const reply = lm.tokenizer.decode(steps.map((s) => s.id), true);
  const judged = judgeAnswer(reply, fact.answer, allAnswers);
  const span = steps.slice(0, answerSpan(lm, steps.map((s) => s.id)));
  const truth = await scoreContinuation(lm, promptIds, lm.tokenizer.encodeContinuation(answerContinuation(fact.answer, fact.lang)));
  return {
    factId: fact.id,
    question: fact.question,
    truth: fact.answer,
    seen: fact.seen,
    lang: fact.lang,
    said: lm.tokenizer.decode(span.map((s) => s.id), true).trim(),
    reply,
    correct: judged.correct,
    plausible: judged.plausible,
    saidProb: span.reduce((p, s) => p * s.rawProb, 1),
    saidTokens: span.map((s) => ({ id: s.id, token: lm.tokenizer.tokenLabel(s.id), prob: s.rawProb, rank: 0, entropy: s.entropy })),
    truthProb: truth.prob,
    truthRank: truth.tokens[0].rank,
    truthTokens: truth.tokens,
    meanEntropy: span.reduce((a, s) => a + s.entropy, 0) / span.length,
  };
}

/** For a question, the answers of its kind and language: naming any of them makes a reply plausible. */
export function knownAnswers(questions: LensQuestion[]): (q: LensQuestion) => string[] {
  return answerPools(questions, (q) => `${q.lang} ${q.kind}`);
}

/** Asks every question (greedy), in order; what the CLI's `eval --lens` and the app's "Check all" both run. */
export async function askAll(lm: LoadedModel, questions: LensQuestion[], onAnswer?: (done: number, total: number) => void, signal?: AbortSignal): Promise<LensAnswer[]> {
  const asked: LensAnswer[] = [];
  const answersFor = knownAnswers(questions);
  for (const q of questions) {
    // A macrotask between questions: on WASM a forward pass resolves in microtasks only, so without
    // this pause a worker would not see a cancel (or a model load) until every question was asked.
    if (signal) await new Promise((r) => setTimeout(r, 0));
    if (signal?.aborted) throw new CancelledError(asked.length, questions.length);
    asked.push(await askFact(lm, q, answersFor(q)));
    onAnswer?.(asked.length, questions.length);
  }
  return asked;
}

/** Asks the same question `n` times at `temperature` (seeds 1..n) and counts the distinct answers. */
export async function repeatAsk(lm: LoadedModel, fact: LensQuestion, n: number, temperature: number, maxTokens = 12): Promise<{ answers: { said: string; count: number }[]; agreement: number }> {
  const promptIds = lm.tokenizer.encode(fact.prompt);
  const counts = new Map<string, number>();
  for (let seed = 1; seed <= n; seed++) {
    const ids = (await replyTo(lm, promptIds, maxTokens, temperature, seed)).map((s) => s.id);
    const said = lm.tokenizer.decode(ids.slice(0, answerSpan(lm, ids)), true).trim();
    counts.set(said, (counts.get(said) ?? 0) + 1);
  }
  const answers = [...counts.entries()].map(([said, count]) => ({ said, count })).sort((a, b) => b.count - a.count);
  return { answers, agreement: answers[0].count / n };
}

export interface LensSummaryRow {
  lang: 'en' | 'zh';
  group: 'seen' | 'unseen' | 'all';
  questions: number;
  accuracy: number;
  meanConfidenceRight: number | null;
  meanConfidenceWrong: number | null;
}

/** Accuracy and mean confidence (probability of what it said) when right and when wrong, per language and group. */
export function summarize(answers: LensAnswer[]): LensSummaryRow[] {
  const langs = [...new Set(answers.map((a) => a.lang))];
  return langs.flatMap((lang) => summarizeGroups(lang, answers.filter((a) => a.lang === lang)));
}

function summarizeGroups(lang: LensSummaryRow['lang'], answers: LensAnswer[]): LensSummaryRow[] {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const row = (group: LensSummaryRow['group'], rs: LensAnswer[]): LensSummaryRow => ({
    lang,
    group,
    questions: rs.length,
    accuracy: rs.length ? rs.filter((r) => r.correct).length / rs.length : 0,
    meanConfidenceRight: mean(rs.filter((r) => r.correct).map((r) => r.saidProb)),
    meanConfidenceWrong: mean(rs.filter((r) => !r.correct).map((r) => r.saidProb)),
  });
  const known = answers.some((a) => a.seen !== null);
  return known
    ? [row('seen', answers.filter((a) => a.seen === true)), row('unseen', answers.filter((a) => a.seen === false))]
    : [row('all', answers)];
}
