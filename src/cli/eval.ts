// npm run -s eval -- [--model <dir or Hub id>] [--json] [--skip-loss] [--details] [--lens]
// Validation loss and bits per byte on the model's validation split, and fact recall (seen vs held out).
// --lens adds the hallucination lens's table: accuracy and mean confidence when right and when wrong.
// A Hub model has no validation split or facts of its own: --lens then asks the bundled general facts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateFacts, factSummary, validationLoss, type Fact } from '../engine/tools/evaluate.ts';
import { GENERAL_FACTS } from '../engine/tools/generalFacts.ts';
import { askAll, questionsFromFacts, summarize } from '../engine/tools/lens.ts';
import { parseArgs, runMain } from './args.ts';
import { DEFAULT_MODEL, MODEL_FLAGS, startEngine } from './common.ts';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { ...MODEL_FLAGS, json: 'boolean', 'skip-loss': 'boolean', details: 'boolean', lens: 'boolean' });
  const dir = (a.model as string | undefined) ?? DEFAULT_MODEL;
  const { lm } = await startEngine({ model: dir, cacheDir: a['cache-dir'] as string | undefined, backend: a.backend as string | undefined, onProgress: (l) => process.stderr.write(l + '\n') });
  const out: Record<string, unknown> = { params: lm.model.params, bytes: lm.weightBytes };
  const valPath = join(dir, 'validation.jsonl');
  const local = existsSync(join(dir, 'config.json'));
  if (!a['skip-loss'] && local) {
    if (!existsSync(valPath)) throw new Error(`${valPath} is missing: eval needs the model's validation split (one {"text"} per line)`);
    const docs = readFileSync(valPath, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
    Object.assign(out, await validationLoss(lm, docs));
  }
  const factsPath = join(dir, 'facts.json');
  const facts = local && existsSync(factsPath) ? (JSON.parse(readFileSync(factsPath, 'utf8')) as { facts: Fact[] }).facts : null;
  if (facts) {
    const results = await evaluateFacts(lm, facts);
    Object.assign(out, factSummary(results));
    if (a.details) out.details = results.map((r) => ({ id: r.fact.id, entity: r.fact.entity, seen: r.fact.seen, answer: r.fact.answer, generated: r.generated, correct: r.correct, plausible: r.plausible }));
  }
  if (a.lens) {
    const asked = await askAll(lm, facts ? questionsFromFacts(facts) : GENERAL_FACTS);
    out.lens = summarize(asked);
    if (a.details) out.lensDetails = asked.map((r) => ({ question: r.question, truth: r.truth, said: r.said, correct: r.correct, saidProb: r.saidProb, truthProb: r.truthProb, truthRank: r.truthRank }));
  }
  console.log(a.json ? JSON.stringify(out) : JSON.stringify(out, null, 2));
});
