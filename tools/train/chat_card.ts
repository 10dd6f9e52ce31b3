// Fine-tuning stage, step 4: evaluates the chat model with the TypeScript engine, beside its base, and
// writes its eval.json and MODEL_CARD.md. Every figure is measured here or read from the trainer's log.
//   npx tsx tools/train/chat_card.ts CHAT_DIR BASE_DIR
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../src/engine/runtime/backend.ts';
import { generate } from '../../src/engine/generate/generate.ts';
import type { LoadedModel } from '../../src/engine/load/load.ts';
import { evaluateFacts, factSummary, textsIn, validationByLanguage, type Fact } from '../../src/engine/tools/evaluate.ts';
import { chatIds, klOnText, turnEnds } from '../../src/engine/tools/finetune.ts';
import { loadModelDir } from '../../src/node/loadDir.ts';

const dir = process.argv[2] ?? 'models/nexttoken-3m-chat';
const baseDir = process.argv[3] ?? 'models/nexttoken-3m';
await selectBackend({ order: ['wasm'] });
const lm = loadModelDir(dir);
const base = loadModelDir(baseDir);
const log = JSON.parse(readFileSync(join(dir, 'training_log.json'), 'utf8'));
const baseEval = JSON.parse(readFileSync(join(baseDir, 'eval.json'), 'utf8'));
const chatEval = JSON.parse(readFileSync(join(dir, 'chat_eval.json'), 'utf8')) as { selfDescription: Record<string, string>; messages: { lang: string; kind: string; content: string }[] };
const docs = readFileSync(join(dir, 'validation.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { lang?: 'en' | 'zh'; text: string });
const facts = (JSON.parse(readFileSync(join(dir, 'facts.json'), 'utf8')) as { facts: Fact[] }).facts;
const LANGS = ['en', 'zh'] as const;

const v = await validationByLanguage(lm, docs);
const chat = factSummary(await evaluateFacts(lm, facts));
const bare = factSummary(await evaluateFacts(lm, facts, 12, 'completion'));
const ends = await turnEnds(lm, chatEval.messages);
const kl = Object.fromEntries(await Promise.all(LANGS.map(async (l) => [l, (await klOnText(base, lm, textsIn(docs, l))).klNats] as const)));

/** One reply to a one-turn chat at T = 0.8, at most 128 tokens as in the turn-end eval: the model's own template, its own turn-end rule. */
async function reply(m: LoadedModel, message: string, seed: number): Promise<{ text: string; stop: string }> {
  const it = generate(m, chatIds(m, [{ role: 'user', content: message }]), { temperature: 0.8, topK: 0, topP: 1, seed, maxTokens: 128, topN: 1, turnEnd: m.tokenizer.turnEnd() });
  let r = await it.next();
  while (!r.done) r = await it.next();
  m.model.truncate(0);
  return { text: m.tokenizer.decode(r.value.generatedIds, true).trim(), stop: r.value.stopReason };
}
// Ten transcripts, base beside tuned, on eval messages (none of them in the fine-tuning set).
const TRANSCRIPT_KINDS = ['greeting', 'self', 'fact', 'story', 'thanks', 'unknown'];
const picked = [...chatEval.messages.filter((m) => m.lang === 'en' && TRANSCRIPT_KINDS.includes(m.kind)).slice(0, 5), ...chatEval.messages.filter((m) => m.lang === 'zh').slice(0, 5)];
const transcripts = [];
for (const [i, m] of picked.entries()) transcripts.push({ message: m.content, lang: m.lang, base: await reply(base, m.content, 200 + i), tuned: await reply(lm, m.content, 200 + i) });

const byLanguage = Object.fromEntries(
  LANGS.map((l) => {
    const c = chat.byLanguage[l];
    return [l, { valLoss: v.byLanguage[l].valLoss, valBitsPerByte: v.byLanguage[l].valBitsPerByte, factsSeenTop1: c.factsSeenTop1, factsUnseenTop1: c.factsUnseenTop1, factsUnseenPlausible: c.factsUnseenPlausible, turnEndRate: ends.results.filter((r) => r.lang === l && r.ended).length / ends.results.filter((r) => r.lang === l).length, klFromBaseNats: kl[l] }];
  }),
);
const evaluation = {
  params: lm.model.params,
  bytes: statSync(join(dir, 'model.safetensors')).size,
  baseModel: log.baseModel,
  turnEndRate: ends.turnEndRate,
  byLanguage,
  completionForm: Object.fromEntries(LANGS.map((l) => [l, { factsSeenTop1: bare.byLanguage[l].factsSeenTop1, factsUnseenTop1: bare.byLanguage[l].factsUnseenTop1, factsUnseenPlausible: bare.byLanguage[l].factsUnseenPlausible }])),
  turnEnds: ends.results,
  transcripts,
};
writeFileSync(join(dir, 'eval.json'), JSON.stringify(evaluation, null, 1) + '\n');

const f = (x: number, d = 3) => x.toFixed(d);
const pctf = (x: number) => `${(x * 100).toFixed(1)}%`;
const b = baseEval.byLanguage;
const rows = [
  ['validation bits per byte (plain text)', (l: string) => f(b[l].valBitsPerByte), (l: string) => f(byLanguage[l].valBitsPerByte)],
  ['facts seen, correct (chat form, greedy)', (l: string) => pctf(b[l].factsSeenTop1), (l: string) => pctf(byLanguage[l].factsSeenTop1)],
  ['facts held out, correct', (l: string) => pctf(b[l].factsUnseenTop1), (l: string) => pctf(byLanguage[l].factsUnseenTop1)],
  ['facts held out, some answer of the right kind', (l: string) => pctf(b[l].factsUnseenPlausible), (l: string) => pctf(byLanguage[l].factsUnseenPlausible)],
  ['facts seen, correct (bare form: "法国的首都是")', (l: string) => pctf(baseEval.completionForm[l].factsSeenTop1), (l: string) => pctf(evaluation.completionForm[l].factsSeenTop1)],
  ['replies that end with the end-of-turn token (T = 0.8)', () => '– (no such token)', (l: string) => pctf(byLanguage[l].turnEndRate)],
] as const;
const table = rows.map(([name, bf, tf]) => `| ${name} | ${bf('en')} | ${tf('en')} | ${bf('zh')} | ${tf('zh')} |`).join('\n');
const curve = (log.curve as { step: number; trainLoss: number | null; sftValLoss: number; elapsedS: number }[])
  .map((c) => `| ${c.step} | ${c.trainLoss === null ? '–' : f(c.trainLoss)} | ${f(c.sftValLoss)} | ${(c.elapsedS / 60).toFixed(1)} |`)
  .join('\n');
const quote = (s: string) => s.replace(/\n+/g, ' ⏎ ');
const card = `# nexttoken-3m-chat — model card

[nexttoken-3m](../nexttoken-3m/MODEL_CARD.md) after supervised fine-tuning (SFT) for chat by this project
(\`npm run train\`, or its fine-tuning stage alone: \`FINETUNE_ONLY=1 npm run train\`). Same architecture and
${(lm.model.params / 1e6).toFixed(2)}M parameters; two tokens added for ChatML turns (\`<|im_start|>\` ${lm.config.vocabSize - 2}, \`<|im_end|>\` ${lm.config.vocabSize - 1};
every base id keeps its meaning). Stored int8 (one F16 scale per matrix row, as the base's training snapshots):
${(evaluation.bytes / 1e6).toFixed(2)} MB, so both models and the snapshots fit the app's 32 MB budget; every figure below is measured
on the int8 file that ships.

## What it says it is
English: “${chatEval.selfDescription.en}”

中文：“${chatEval.selfDescription.zh}”

## Fine-tuning
From the base's exported F16 weights, new token rows at the mean of the base embeddings, a fresh AdamW
(β = 0.9, 0.95; no weight decay), learning rate ${log.optimizer.lrMax} → ${log.optimizer.lrMin} (warm-up ${log.optimizer.warmupSteps}, cosine),
${log.steps} steps of ${log.batchConversations} conversations, seed ${log.seed}; loss on the assistant's replies and the \`<|im_end|>\` that ends
each, never on the user's words. ${log.conversations.train} training conversations (${log.trainedTokens.toLocaleString('en')} trained tokens), ${log.conversations.val} held out for the
curve below. PyTorch ${log.hardware.torch}, ${log.hardware.threads} threads: ${(log.wallTimeS / 60).toFixed(1)} minutes.

The chat set is built by \`tools/train/chat_data.py\` from the project's own sources (\`data/chat.jsonl.gz\`): questions
about the **seen** facts in several phrasings (English and Chinese; held-out facts appear in no conversation), the
self-description above, greetings, thanks and goodbyes, requests for a story (short passages of the English
corpus) or a poem (Tang poems from the Chinese corpus), and questions outside what it learned (arithmetic, the time,
the weather), which it declines. **What it cannot know:** declining is taught for those kinds of question only. Asked
about a country it never saw, it answers as fluently as about one it saw — the app's hallucination lens shows the
difference in its probabilities.

| step | train loss (EMA) | held-out conversations loss | minutes |
|---|---|---|---|
${curve}

## Evaluation beside the base (TypeScript engine; \`npm run -s eval -- --model ${dir} --json\`)
| | base, English | tuned, English | base, Chinese | tuned, Chinese |
|---|---|---|---|---|
${table}

The chat form is each model's own template: the base's \`User: …\\nAssistant:\` transcript, the tuned model's ChatML.
KL divergence from the base on the validation text (tuned ‖ base, over the shared vocabulary): English
${f(kl.en, 4)} nats/token, Chinese ${f(kl.zh, 4)}. Turn ends: ${ends.results.filter((r) => r.ended).length} of ${ends.results.length} replies to messages phrased unlike any
training conversation ended with \`<|im_end|>\` within 128 tokens (T = 0.8, seeds 1–${ends.results.length}).

## Ten conversations, base beside tuned (T = 0.8, one turn, at most 128 tokens, the same seed for both; messages not in the fine-tuning set)
${transcripts.map((t, i) => `${i + 1}. **${t.message}**\n   - base (${t.base.stop}): “${quote(t.base.text)}”\n   - tuned (${t.tuned.stop}): “${quote(t.tuned.text)}”`).join('\n')}

## Limits
Everything the base model cannot do, it still cannot: fine-tuning taught the shape of a reply (answer, then end
the turn), not new knowledge. It has had no preference tuning (RLHF/DPO) and no safety tuning.
`;
writeFileSync(join(dir, 'MODEL_CARD.md'), card);
console.log(JSON.stringify({ ...evaluation, turnEnds: undefined, transcripts: undefined }));
