// Evaluation with the TypeScript engine: validation loss (bits per byte) and fact recall.
// The same numbers the trainer reports, computed independently of it.
import { generate, type StepRecord } from '../generate/generate.ts';
import type { LoadedModel } from '../load/load.ts';
import { logSoftmaxAt } from '../../sampling/step.ts';
import { readData } from '../runtime/backend.ts';

export interface Fact {
  id: string;
  /** The language the fact is asked and answered in (absent in older fact files: English). */
  lang?: 'en' | 'zh';
  entity: string;
  relation: string; // 'capital', or 'continent' where CLDR names no capital in Chinese
  answer: string;
  seen: boolean;
  /** Whether the same country has a fact the model saw in the other language (transfer is then possible). */
  seenInOtherLanguage?: boolean;
  prompts: { chat: string; completion: string; question: string };
}

/** The language of a fact or a validation document (absent in older files: English). */
export const factLang = <L extends string>(d: { lang?: L }): L | 'en' => d.lang ?? 'en';

/** The texts of the documents in `lang`. */
export function textsIn(docs: { text: string; lang?: string }[], lang: string): string[] {
  return docs.filter((d) => factLang(d) === lang).map((d) => d.text);
}

/**
 * Each item's plausible answers: every answer of its kind (`kind`: language and relation), grouped once.
 * The eval (facts) and the lens (questions) judge replies against these pools.
 */
export function answerPools<T extends { answer: string }>(items: T[], kind: (x: T) => string): (x: T) => string[] {
  const pools = new Map<string, Set<string>>();
  for (const x of items) {
    const k = kind(x);
    if (!pools.has(k)) pools.set(k, new Set());
    pools.get(k)!.add(x.answer);
  }
  return (x) => [...(pools.get(kind(x)) ?? [])];
}

/** The text an answer follows its prompt with: " Paris" after "…is", but "巴黎" right after "…是". */
export function answerContinuation(answer: string, lang: 'en' | 'zh' = 'en'): string {
  return lang === 'zh' ? answer : ' ' + answer;
}

/** Encodes documents the way training did: BOS before each where the model expects it, else <|endoftext|>. */
export function encodeDocuments(lm: LoadedModel, docs: string[]): number[] {
  const start = lm.tokenizer.documentStartId;
  if (start === null) throw new Error('the tokenizer has no end-of-text token');
  const ids: number[] = [];
  for (const d of docs) ids.push(start, ...lm.tokenizer.encodeText(d));
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
    const logits = await readData(out);
    out.dispose();
    for (let t = 0; t < y.length; t++) nats -= logSoftmaxAt(logits.subarray(t * V, (t + 1) * V), y[t]);
    count += y.length;
    onProgress?.(Math.min(i + n, ids.length), ids.length);
  }
  lm.model.truncate(0);
  const bytes = docs.reduce((s, d) => s + new TextEncoder().encode(d).length, 0);
  return { valLoss: nats / count, valBitsPerByte: nats / Math.LN2 / bytes, valTokens: count, valBytes: bytes };
}

const HAN_END = /\p{Script=Han}$/u;

/**
 * Validation loss per language (each language's documents as one stream, as the trainer evaluates them),
 * and both together: the token-weighted mean loss, bits per byte over all the bytes.
 */
export async function validationByLanguage(lm: LoadedModel, docs: { text: string; lang?: string }[]) {
  const langs = [...new Set(docs.map(factLang))];
  const byLanguage: Record<string, Awaited<ReturnType<typeof validationLoss>>> = {};
  let nats = 0;
  let tokens = 0;
  let bytes = 0;
  for (const lang of langs) {
    const v = (byLanguage[lang] = await validationLoss(lm, textsIn(docs, lang)));
    nats += v.valLoss * v.valTokens;
    tokens += v.valTokens;
    bytes += v.valBytes;
  }
  return { valLoss: nats / tokens, valBitsPerByte: nats / Math.LN2 / bytes, valTokens: tokens, valBytes: bytes, byLanguage };
}

/** What a greedy answer is: the right answer, another answer of the same kind, or neither. */
export function judgeAnswer(generated: string, answer: string, allAnswers: string[]): { correct: boolean; plausible: boolean; said: string | null } {
  const text = generated.replace(/^\s+/, '');
  // "Paris" must end a word ("Parisian" is not Paris); Chinese has no word breaks, so "巴黎是…" says 巴黎.
  const matches = (a: string) => text.startsWith(a) && (HAN_END.test(a) || !/^[\p{L}\p{N}]/u.test(text.slice(a.length)));
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

/**
 * Greedy answers to every fact question: the chat form ("User: …\nAssistant: The capital of France is") by
 * default, or the bare completion form ("法国的首都是", a learner's prompt with nothing before it).
 */
export async function evaluateFacts(lm: LoadedModel, facts: Fact[], maxTokens = 12, form: 'chat' | 'completion' = 'chat'): Promise<FactResult[]> {
  const results: FactResult[] = [];
  const answersOfKind = answerPools(facts, (f) => `${factLang(f)} ${f.relation}`);
  for (const fact of facts) {
    const steps = await replyTo(lm, lm.tokenizer.encode(fact.prompts[form]), maxTokens);
    const generated = lm.tokenizer.decode(steps.map((s) => s.id), true);
    results.push({ fact, generated, ...judgeAnswer(generated, fact.answer, answersOfKind(fact)) });
  }
  return results;
}

const share = (rs: FactResult[], f: (r: FactResult) => boolean) => (rs.length ? rs.filter(f).length / rs.length : 0);

function recall(results: FactResult[]) {
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

/**
 * Fact recall overall and per language; per relation within a language (a held-out continent can be
 * guessed: `chance` is what always naming the commonest continent would score on the held-out ones);
 * and transfer: held-out capitals whose country the model saw in the other language, against the rest.
 */
export function factSummary(results: FactResult[]) {
  const langs = [...new Set(results.map((r) => factLang(r.fact)))];
  const byLanguage = Object.fromEntries(
    langs.map((lang) => {
      const rs = results.filter((r) => factLang(r.fact) === lang);
      const relations = [...new Set(rs.map((r) => r.fact.relation))];
      const byRelation = Object.fromEntries(
        relations.map((rel) => {
          const rr = rs.filter((r) => r.fact.relation === rel);
          const unseen = rr.filter((r) => !r.fact.seen);
          const counts = new Map<string, number>();
          for (const r of unseen) counts.set(r.fact.answer, (counts.get(r.fact.answer) ?? 0) + 1);
          return [rel, { ...recall(rr), chance: unseen.length ? Math.max(...counts.values()) / unseen.length : 0 }];
        }),
      );
      // Only a capital can transfer: the other language's fact about the country is its capital too.
      const unseen = rs.filter((r) => !r.fact.seen && r.fact.relation === 'capital');
      const there = unseen.filter((r) => r.fact.seenInOtherLanguage === true);
      const nowhere = unseen.filter((r) => r.fact.seenInOtherLanguage === false);
      const transfer = {
        seenInOtherLanguage: { facts: there.length, top1: share(there, (r) => r.correct) },
        seenInNeither: { facts: nowhere.length, top1: share(nowhere, (r) => r.correct) },
      };
      return [lang, { ...recall(rs), byRelation, transfer }];
    }),
  );
  return { ...recall(results), byLanguage };
}
