// npm run -s eval -- [--model <dir or Hub id>] [--checkpoint <step>] [--json] [--skip-loss] [--details] [--lens] [--form chat|completion]
// Validation loss and bits per byte on the model's validation split, and fact recall (seen vs held out),
// each per language when the model has more than one; beside the loss, what xz -9 makes of the same text,
// and the trainer's own figure. --lens adds the hallucination lens's table: accuracy and mean confidence
// when right and when wrong. A Hub model has no validation split or facts: --lens asks the general facts.
// --form completion asks the facts in the bare form a learner types ("法国的首都是") instead of the chat form.
// A fine-tuned model (one with an end-of-turn token and chat_eval.json) adds turnEndRate: the share of replies
// to its eval messages that end with that token, at T = 0.8; and its KL from the base model it was tuned
// from (training_log.json's baseModel, a sibling folder, or --base <dir>) on the validation text.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateFacts, factLang, factSummary, textsIn, validationByLanguage, type Fact } from '../engine/tools/evaluate.ts';
import { GENERAL_FACTS } from '../engine/tools/generalFacts.ts';
import { askAll, questionsFromFacts, summarize } from '../engine/tools/lens.ts';
import { klOnText, turnEnds } from '../engine/tools/finetune.ts';
import { loadModelDir } from '../node/loadDir.ts';
import { xzBitsPerByte } from '../node/compress.ts';
import { readCheckpointIndex } from '../node/loadDir.ts';
import { parseArgs, runMain, UsageError } from './args.ts';
import { DEFAULT_MODEL, engineOptions, MODEL_FLAGS, startEngine } from './common.ts';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { ...MODEL_FLAGS, json: 'boolean', 'skip-loss': 'boolean', details: 'boolean', lens: 'boolean', form: 'string', base: 'string' });
  const form = (a.form as string | undefined) ?? 'chat';
  if (form !== 'chat' && form !== 'completion') throw new UsageError(`--form must be chat (the default: the question as a User turn, the answer begun as the Assistant's) or completion (the bare prompt a learner types, e.g. "法国的首都是"), got "${form}".`);
  const dir = (a.model as string | undefined) ?? DEFAULT_MODEL;
  const checkpoint = a.checkpoint as number | undefined;
  const { lm } = await startEngine({ ...engineOptions(a), model: dir });
  const out: Record<string, unknown> = { params: lm.model.params, bytes: lm.weightBytes };
  const local = existsSync(join(dir, 'config.json'));
  const index = local ? readCheckpointIndex(dir) : null;
  if (index) {
    // What ships: the model and its training snapshots.
    const files = index.checkpoints.map((p) => ({ step: p.step, file: p.file, dtype: p.dtype, bytes: statSync(join(dir, p.file)).size }));
    out.bytesWithCheckpoints = files.reduce((s, f) => s + f.bytes, 0);
    out.checkpoints = files;
  }
  const valPath = join(dir, 'validation.jsonl');
  if (!a['skip-loss'] && local) {
    if (!existsSync(valPath)) throw new Error(`${valPath} is missing: eval needs the model's validation split (one {"text"} per line)`);
    const docs = readFileSync(valPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; lang?: string });
    const v = await validationByLanguage(lm, docs);
    for (const [lang, l] of Object.entries(v.byLanguage)) {
      Object.assign(l, { xzBitsPerByte: xzBitsPerByte(textsIn(docs, lang).join('\n')) });
    }
    Object.assign(out, v);
    const logPath = join(dir, 'training_log.json');
    const log = existsSync(logPath) ? (JSON.parse(readFileSync(logPath, 'utf8')) as { curve: { step: number; valLoss: number; byLanguage?: Record<string, { valLoss: number }> }[] }) : null;
    // The trainer's own figure at the same point (float32 weights; a snapshot here is int8).
    const trainer = log && (checkpoint === undefined ? log.curve.at(-1) : log.curve.find((c) => c.step === checkpoint));
    if (trainer) {
      Object.assign(out, { trainerValLoss: trainer.valLoss, valLossRelativeDifference: Math.abs(v.valLoss - trainer.valLoss) / trainer.valLoss });
      for (const [lang, l] of Object.entries(v.byLanguage)) {
        const t = trainer.byLanguage?.[lang]?.valLoss;
        if (t !== undefined) Object.assign(l, { trainerValLoss: t, valLossRelativeDifference: Math.abs(l.valLoss - t) / t });
      }
    }
  }
  const factsPath = join(dir, 'facts.json');
  const facts = local && existsSync(factsPath) ? (JSON.parse(readFileSync(factsPath, 'utf8')) as { facts: Fact[] }).facts : null;
  if (facts) {
    const results = await evaluateFacts(lm, facts, 12, form);
    const summary = factSummary(results);
    // Per language, the facts join the loss figures already there (a plain assign would drop those).
    const byLanguage = (out.byLanguage ?? {}) as Record<string, object>;
    for (const [lang, l] of Object.entries(summary.byLanguage)) byLanguage[lang] = { ...byLanguage[lang], ...l };
    Object.assign(out, { form }, summary, { byLanguage });
    if (a.details) out.details = results.map((r) => ({ id: r.fact.id, lang: factLang(r.fact), entity: r.fact.entity, relation: r.fact.relation, seen: r.fact.seen, answer: r.fact.answer, generated: r.generated, correct: r.correct, plausible: r.plausible }));
  }
  const chatEvalPath = join(dir, 'chat_eval.json');
  if (local && existsSync(chatEvalPath) && lm.tokenizer.turnEnd().ids.length) {
    const { messages } = JSON.parse(readFileSync(chatEvalPath, 'utf8')) as { messages: { content: string; lang?: string; kind?: string }[] };
    const ends = await turnEnds(lm, messages);
    out.turnEndRate = ends.turnEndRate;
    out.turnEndByLanguage = Object.fromEntries(['en', 'zh'].map((lang) => {
      const rs = ends.results.filter((r) => r.lang === lang);
      return [lang, rs.length ? rs.filter((r) => r.ended).length / rs.length : null];
    }));
    if (a.details) out.turnEndDetails = ends.results;
  }
  const baseDir = (a.base as string | undefined) ?? baseModelOf(dir);
  if (baseDir && !a['skip-loss'] && existsSync(valPath)) {
    const base = loadModelDir(baseDir);
    const docs = readFileSync(valPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; lang?: string });
    const byLanguage: Record<string, number> = {};
    for (const lang of [...new Set(docs.map((d) => d.lang ?? 'en'))]) byLanguage[lang] = (await klOnText(base, lm, textsIn(docs, lang))).klNats;
    out.klFromBase = { base: baseDir, nats: byLanguage };
  }
  if (a.lens) {
    const asked = await askAll(lm, facts ? questionsFromFacts(facts) : GENERAL_FACTS);
    out.lens = summarize(asked);
    if (a.details) out.lensDetails = asked.map((r) => ({ question: r.question, truth: r.truth, said: r.said, correct: r.correct, saidProb: r.saidProb, truthProb: r.truthProb, truthRank: r.truthRank }));
  }
  console.log(a.json ? JSON.stringify(out) : JSON.stringify(out, null, 2));
});

/** The folder of the model `dir` was fine-tuned from: training_log.json's baseModel, beside `dir`. */
function baseModelOf(dir: string): string | null {
  const logPath = join(dir, 'training_log.json');
  if (!existsSync(logPath)) return null;
  const name = (JSON.parse(readFileSync(logPath, 'utf8')) as { baseModel?: string }).baseModel;
  return name ? join(dir, '..', name) : null;
}
