// npm run -s generate -- [--model <dir or Hub id>] [--cache-dir <dir>] --prompt "<text>" | --prompt-ids 1,2,3 [--max-tokens N]
//                        [--repetition-penalty R] [--temperature T] [--top-k K] [--top-p P] [--min-p M] [--seed S] [--chat] [--json]
import { generate, type StepRecord } from '../engine/generate/generate.ts';
import { checkSetting, LIMITS, type SettingKey } from '../sampling/limits.ts';
import { STAGES, type SamplingSettings } from '../sampling/stages.ts';
import { unpackTop } from '../sampling/topColumns.ts';
import { parseArgs, runMain, UsageError, type FlagSpec } from './args.ts';
import { engineOptions, MODEL_FLAGS, startEngine } from './common.ts';

/** One flag per sampling stage (stages.ts), a whole number where its limit says so. */
const STAGE_FLAGS: FlagSpec = Object.fromEntries(STAGES.map((s) => [s.cliFlag, LIMITS[s.name].integer ? 'int' : 'number']));

const USAGE = 'usage: npm run -s generate -- [--model <dir or Hub id>] [--cache-dir <dir>] --prompt "<text>" | --prompt-ids 1,2,3 [--max-tokens N] [--repetition-penalty R] [--temperature T] [--top-k K] [--top-p P] [--min-p M] [--seed S] [--chat] [--json]\n' +
  'sampling stages, in this order: repetition penalty (1 = off), temperature (default 1), top-k (0 = off), top-p (1 = off), min-p (0 = off)';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), {
    ...MODEL_FLAGS, prompt: 'string', 'prompt-ids': 'string', 'max-tokens': 'int', ...STAGE_FLAGS, seed: 'int',
    json: 'boolean', chat: 'boolean', help: 'boolean',
  });
  if (a.help) return void console.log(USAGE);
  const givenIds = typeof a['prompt-ids'] === 'string' ? parseIds(a['prompt-ids']) : null;
  if (typeof a.prompt !== 'string' && !givenIds) throw new UsageError(`--prompt is required (or --prompt-ids with token ids).\n${USAGE}`);
  if (givenIds && (typeof a.prompt === 'string' || a.chat)) throw new UsageError('--prompt-ids replaces --prompt and cannot be used with --chat.');
  // The same ranges as the app's controls and links (sampling/limits.ts).
  const setting = (key: SettingKey, flag: string, fallback: number): number => {
    try {
      return checkSetting(key, (a[flag] as number | undefined) ?? fallback, `--${flag}`);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
  const sampling = Object.fromEntries(STAGES.map((s) => [s.name, setting(s.name, s.cliFlag, s.off)])) as SamplingSettings;
  const maxTokens = setting('maxTokens', 'max-tokens', 50);
  const seed = setting('seed', 'seed', 0);

  const { lm, status } = await startEngine(engineOptions(a));
  const prompt = String(a.prompt ?? '');
  const text = a.chat ? lm.tokenizer.applyChatTemplate([{ role: 'user', content: prompt }]) : prompt;
  const promptIds = givenIds ?? lm.tokenizer.encode(text);
  const bad = promptIds.find((id) => id >= lm.config.vocabSize);
  if (bad !== undefined) throw new UsageError(`--prompt-ids: ${bad} is not a token id of this model (0 to ${lm.config.vocabSize - 1}).`);
  // In chat the reply ends with the assistant's turn, as in the app.
  const gen = generate(lm, promptIds, { ...sampling, maxTokens, seed, turnEnd: a.chat ? lm.tokenizer.turnEnd() : undefined });
  const ids: number[] = [];
  let printed = '';
  for (;;) {
    const r = await gen.next();
    if (r.done) {
      if (a.json) {
        const s = r.value;
        console.log(JSON.stringify({ summary: { promptIds, generatedTokens: s.generatedTokens, stopReason: s.stopReason, ...(s.cutText !== undefined ? { cutText: s.cutText } : {}), backend: status.backend, prefillMs: round(s.prefillMs), msPerToken: round(s.msPerToken) } }));
      } else process.stdout.write('\n');
      break;
    }
    const step: StepRecord = r.value;
    if (a.json) {
      console.log(JSON.stringify({
        step: step.step, id: step.id, token: step.token, prob: step.prob, rawProb: step.rawProb, logprob: step.logprob, entropy: step.entropy,
        draw: step.draw, kept: step.kept, stages: step.stages,
        top: unpackTop(step.top).map((c) => ({ id: c.id, token: lm.tokenizer.tokenLabel(c.id), rawProb: c.rawProb, temperedProb: c.temperedProb, prob: c.prob, stageProbs: c.stageProbs })),
      }));
    } else if (!lm.eosIds.includes(step.id)) {
      // Stream text as it becomes valid UTF-8: decode everything so far and print what is new.
      ids.push(step.id);
      const text = lm.tokenizer.decode(ids, true);
      if (!text.endsWith('\uFFFD')) {
        process.stdout.write(text.slice(printed.length));
        printed = text;
      }
    }
  }
});

function parseIds(list: string): number[] {
  const ids = list.split(',').map((x) => x.trim());
  if (!ids.length || ids.some((x) => !/^\d+$/.test(x))) throw new UsageError(`--prompt-ids takes token ids separated by commas, e.g. 464,3139; got "${list}".`);
  return ids.map(Number);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
