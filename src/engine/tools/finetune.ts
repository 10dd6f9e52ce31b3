// What fine-tuning changed: a base model and its chat-tuned sibling compared on the same text, and
// whether the tuned model ends its turns. The tuned vocabulary extends the base one (new turn tokens at
// new ids), so ids below the base's vocabulary size mean the same token in both.
import { generate, type StopReason } from '../generate/generate.ts';
import type { SamplingSettings } from '../../sampling/sampler.ts';
import type { LoadedModel } from '../load/load.ts';
import type { ChatMessage } from '../load/tokenizer.ts';
import { softmaxWithSum } from '../../sampling/sampler.ts';
import { encodeDocuments } from './evaluate.ts';
import { readData } from '../runtime/backend.ts';

/** softmax(logits) at T = 1 as float64 sums (the sampler's own softmax). */
export function probsOf(logits: Float32Array): Float32Array {
  return softmaxWithSum(logits).probs;
}

/**
 * KL(tuned ‖ base) in nats over the tokens both models have: the tuned distribution renormalised over
 * the base's vocabulary (the turn tokens only the tuned model has are left out; the base gives them no
 * probability, so the full KL would be infinite).
 */
export function klOverShared(tuned: Float32Array, base: Float32Array): number {
  const n = base.length;
  let mass = 0;
  for (let i = 0; i < n; i++) mass += tuned[i];
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const p = tuned[i] / mass;
    if (p > 0) kl += p * Math.log(p / Math.max(base[i], 1e-45));
  }
  return kl;
}

export interface TokenShift {
  id: number;
  token: string;
  base: number; // probability under the base model
  tuned: number; // under the tuned model
}

export interface SideDistribution {
  model: string;
  top: { id: number; token: string; prob: number }[];
  /** The token the run chose at this step: its probability and rank (1 = most probable) in this model. */
  chosen: { id: number; prob: number; rank: number } | null;
  entropy: number; // bits
}

export interface BeforeAfter {
  base: SideDistribution;
  tuned: SideDistribution;
  klNats: number; // KL(tuned ‖ base), see klOverShared
  raised: TokenShift[]; // tokens fine-tuning made most more probable, by probability points
  lowered: TokenShift[];
}

function side(lm: LoadedModel, probs: Float32Array, chosenId: number | null, topN: number): SideDistribution {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  let entropy = 0;
  for (const p of probs) if (p > 0) entropy -= p * Math.log2(p);
  const rank = chosenId === null ? -1 : order.indexOf(chosenId);
  return {
    model: lm.name,
    top: order.slice(0, topN).map((id) => ({ id, token: lm.tokenizer.tokenLabel(id), prob: probs[id] })),
    chosen: chosenId === null || chosenId >= probs.length ? null : { id: chosenId, prob: probs[chosenId], rank: rank + 1 },
    entropy,
  };
}

/** The next-token distribution of `lm` after `ids` (raw, T = 1), computed from scratch. */
export async function nextTokenProbs(lm: LoadedModel, ids: number[]): Promise<Float32Array> {
  const vocab = lm.config.vocabSize;
  const bad = ids.find((id) => id >= vocab);
  if (bad !== undefined) throw new Error(`${lm.name} has no token ${bad} (its vocabulary has ${vocab}); compare on text both models can read.`);
  lm.model.truncate(0);
  try {
    const out = lm.model.forward(ids, false);
    const all = await readData(out);
    out.dispose();
    return probsOf(all.slice(all.length - vocab));
  } finally {
    lm.model.truncate(0);
  }
}

/**
 * Both models' next-token distributions, each after its own rendering of the same context (a chat is
 * rendered by each model's own template; the reply so far is the same tokens), side by side.
 */
export async function compareBeforeAfter(base: LoadedModel, tuned: LoadedModel, baseIds: number[], tunedIds: number[], chosenId: number | null, topN = 10): Promise<BeforeAfter> {
  const pb = await nextTokenProbs(base, baseIds);
  const pt = await nextTokenProbs(tuned, tunedIds);
  const shifts: TokenShift[] = [];
  for (let id = 0; id < pt.length; id++) {
    const b = id < pb.length ? pb[id] : 0;
    if (Math.abs(pt[id] - b) > 1e-4) shifts.push({ id, token: tuned.tokenizer.tokenLabel(id), base: b, tuned: pt[id] });
  }
  shifts.sort((x, y) => y.tuned - y.base - (x.tuned - x.base));
  return {
    base: side(base, pb, chosenId, topN),
    tuned: side(tuned, pt, chosenId, topN),
    klNats: klOverShared(pt, pb),
    raised: shifts.filter((s) => s.tuned > s.base).slice(0, 5),
    lowered: shifts.filter((s) => s.tuned < s.base).reverse().slice(0, 5),
  };
}

/** The ids of `messages` as `lm` reads a chat: its own template, its assistant turn opened. */
export function chatIds(lm: LoadedModel, messages: ChatMessage[]): number[] {
  return lm.tokenizer.encode(lm.tokenizer.applyChatTemplate(messages));
}

/**
 * Mean KL(tuned ‖ base) per token over documents (windows of the context length, as the validation
 * loss reads them): how far fine-tuning moved the model on plain text.
 */
export async function klOnText(base: LoadedModel, tuned: LoadedModel, docs: string[]): Promise<{ klNats: number; tokens: number }> {
  const ids = encodeDocuments(base, docs);
  const n = Math.min(base.model.contextLength, tuned.model.contextLength);
  const vb = base.config.vocabSize;
  const vt = tuned.config.vocabSize;
  let kl = 0;
  let count = 0;
  for (let i = 0; i < ids.length - 1; i += n) {
    const x = ids.slice(i, Math.min(i + n, ids.length - 1));
    const logits = async (lm: LoadedModel) => {
      lm.model.truncate(0);
      const out = lm.model.forward(x, false);
      const data = await readData(out);
      out.dispose();
      lm.model.truncate(0);
      return data;
    };
    const lb = await logits(base);
    const lt = await logits(tuned);
    for (let t = 0; t < x.length; t++) {
      kl += klOverShared(probsOf(lt.subarray(t * vt, (t + 1) * vt)), probsOf(lb.subarray(t * vb, (t + 1) * vb)));
      count++;
    }
  }
  return { klNats: kl / count, tokens: count };
}

export interface TurnEndResult {
  message: string;
  lang?: string;
  kind?: string;
  reply: string;
  tokens: number;
  stopReason: string;
  ended: boolean; // by the end-of-turn token, within maxTokens, with no transcript cut
}

/**
 * Each message as a one-turn chat, answered at `temperature` (seed = its index + 1): whether the reply
 * ends with the model's end-of-turn token. A model without one (a base model) ends no turn this way.
 */
export async function turnEnds(lm: LoadedModel, messages: { content: string; lang?: string; kind?: string }[], temperature = 0.8, maxTokens = 128): Promise<{ turnEndRate: number; results: TurnEndResult[] }> {
  const turnEnd = lm.tokenizer.turnEnd();
  const results: TurnEndResult[] = [];
  for (const [i, m] of messages.entries()) {
    const prompt = chatIds(lm, [{ role: 'user', content: m.content }]);
    const it = generate(lm, prompt, { temperature, topK: 0, topP: 1, seed: i + 1, maxTokens, topN: 1, turnEnd });
    const ids: number[] = [];
    let r = await it.next();
    while (!r.done) {
      ids.push(r.value.id);
      r = await it.next();
    }
    const summary = r.value;
    const ended = summary.stopReason === 'endOfTurn' && summary.cutText === undefined && turnEnd.ids.includes(ids.at(-1) ?? -1);
    results.push({ message: m.content, lang: m.lang, kind: m.kind, reply: lm.tokenizer.decode(summary.generatedIds, true), tokens: summary.generatedTokens, stopReason: summary.stopReason, ended });
  }
  lm.model.truncate(0);
  return { turnEndRate: results.filter((r) => r.ended).length / Math.max(1, results.length), results };
}

export interface ChatReply {
  model: string;
  text: string;
  stopReason: StopReason;
  tokens: number;
  /** Earlier exchanges (a user message and its reply) left out so that the reply had room in the context. */
  droppedTurns: number;
}

/**
 * One model's reply to a conversation: its own template, its own turn-end rule, the given settings and seed.
 * As the app's Chat does, the oldest exchanges are left out while the conversation leaves the reply less than
 * min(maxTokens, a quarter of the context): a reply is not cut short by a full context.
 */
export async function chatReply(lm: LoadedModel, messages: ChatMessage[], settings: Partial<SamplingSettings>, seed: number, maxTokens: number): Promise<ChatReply> {
  const ctx = lm.model.contextLength;
  const room = Math.min(maxTokens, Math.floor(ctx / 4));
  let kept = messages;
  let ids = chatIds(lm, kept);
  while (ids.length + room > ctx && kept.length > 2) {
    kept = kept.slice(2);
    ids = chatIds(lm, kept);
  }
  lm.model.truncate(0);
  try {
    const it = generate(lm, ids, { ...settings, seed, maxTokens, topN: 1, turnEnd: lm.tokenizer.turnEnd() });
    let r = await it.next();
    while (!r.done) r = await it.next();
    return { model: lm.name, text: lm.tokenizer.decode(r.value.generatedIds, true).trim(), stopReason: r.value.stopReason, tokens: r.value.generatedTokens, droppedTurns: (messages.length - kept.length) / 2 };
  } finally {
    lm.model.truncate(0);
  }
}
