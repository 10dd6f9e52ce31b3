// npm run -s eval -- [--model <dir>] [--json] [--skip-loss]
// Validation loss and bits per byte on the model's validation split, and fact recall (seen vs held out).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateFacts, factSummary, validationLoss, type Fact } from '../engine/evaluate.ts';
import { parseArgs, runMain } from './args.ts';
import { DEFAULT_MODEL, MODEL_FLAGS, startEngine } from './common.ts';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { ...MODEL_FLAGS, json: 'boolean', 'skip-loss': 'boolean', details: 'boolean' });
  const dir = (a.model as string | undefined) ?? DEFAULT_MODEL;
  const { lm } = await startEngine({ model: dir, cacheDir: a['cache-dir'] as string | undefined, backend: a.backend as string | undefined, onProgress: (l) => process.stderr.write(l + '\n') });
  const out: Record<string, unknown> = { params: lm.model.params, bytes: lm.weightBytes };
  const valPath = join(dir, 'validation.jsonl');
  if (!a['skip-loss']) {
    if (!existsSync(valPath)) throw new Error(`${valPath} is missing: eval needs the model's validation split (one {"text"} per line)`);
    const docs = readFileSync(valPath, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
    Object.assign(out, await validationLoss(lm, docs));
  }
  const factsPath = join(dir, 'facts.json');
  if (existsSync(factsPath)) {
    const facts = (JSON.parse(readFileSync(factsPath, 'utf8')) as { facts: Fact[] }).facts;
    const results = await evaluateFacts(lm, facts);
    Object.assign(out, factSummary(results));
    if (a.details) out.details = results.map((r) => ({ id: r.fact.id, entity: r.fact.entity, seen: r.fact.seen, answer: r.fact.answer, generated: r.generated, correct: r.correct, plausible: r.plausible }));
  }
  console.log(a.json ? JSON.stringify(out) : JSON.stringify(out, null, 2));
});
