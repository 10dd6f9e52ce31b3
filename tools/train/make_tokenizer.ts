// Step 2 of `npm run train`: learns the byte-level BPE on the training split, writes the Hugging Face
// tokenizer files, and encodes both splits with the very tokenizer the app will use (transformers.js),
// so the trainer and the engine can never disagree about token ids.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpe, tokenizerJson } from '../bpe.ts';
import { Tokenizer } from '../../src/engine/load/tokenizer.ts';

const work = process.argv[2] ?? '.cache/train-work';
// 6,144: the English merges of the first model (4,096) plus room for the ~2,000 Chinese characters that
// make up 99% of the Chinese text, each one token.
const VOCAB_SIZE = 6144;
const EOS = '<|endoftext|>';
const CONTEXT = 256;

// `User:`/`Assistant:` turns; the assistant's turn ends with the end-of-text token, as in training.
export const CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\\n' }}" +
  "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token + '\\n' }}" +
  "{% else %}{{ message['content'] + '\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

interface Doc {
  source: string;
  lang: 'en' | 'zh';
  text: string;
}
function readDocs(file: string): Doc[] {
  return readFileSync(join(work, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Doc);
}

const trainDocs = readDocs('docs_train.jsonl');
const train = trainDocs.map((d) => d.text);
// The seen-fact documents on their own, for the fact-tuning phase of training.
const factDocs = trainDocs.filter((d) => d.source.startsWith('facts')).map((d) => d.text);
const valDocs = readDocs('docs_val.jsonl');
const val = valDocs.map((d) => d.text);
const t0 = Date.now();
const bpe = trainBpe(train, VOCAB_SIZE - 256 - 1, true);
const tokJson = tokenizerJson(bpe, [EOS], true);
const tokConfig = {
  tokenizer_class: 'GPT2Tokenizer',
  bos_token: EOS,
  eos_token: EOS,
  unk_token: EOS,
  add_prefix_space: false,
  clean_up_tokenization_spaces: false,
  model_max_length: CONTEXT,
  chat_template: CHAT_TEMPLATE,
};
writeFileSync(join(work, 'tokenizer.json'), JSON.stringify(tokJson));
writeFileSync(join(work, 'tokenizer_config.json'), JSON.stringify(tokConfig, null, 2));
const trainMs = Date.now() - t0;

const tok = Tokenizer.fromJSON(tokJson, tokConfig);
if (tok.eosId === null) throw new Error('end-of-text token missing from the vocabulary');
const eosId = tok.eosId;
// Documents are joined as <|endoftext|> doc <|endoftext|> doc ...; EOS marks a boundary, as in GPT-2.
function encodeDocs(docs: string[]): Uint16Array {
  const ids: number[] = [];
  for (const d of docs) {
    ids.push(eosId);
    for (const id of tok.encode(d)) ids.push(id);
  }
  return Uint16Array.from(ids);
}
const t1 = Date.now();
const trainIds = encodeDocs(train);
const valIds = encodeDocs(val);
writeFileSync(join(work, 'train.bin'), trainIds);
writeFileSync(join(work, 'val.bin'), valIds);
writeFileSync(join(work, 'facts.bin'), encodeDocs(factDocs));
// The polish phase's own material (capitals on their own), apart from the pretraining corpus.
writeFileSync(join(work, 'polish.bin'), encodeDocs(readDocs('docs_polish.jsonl').map((d) => d.text)));
// Its bare facts, one per line: phase 3 starts rows at them (a fact at position 0, as a learner's bare prompt is).
writeFileSync(join(work, 'bare.bin'), encodeDocs(readDocs('docs_bare.jsonl').map((d) => d.text)));
// Each language's validation text on its own too, for the trainer's per-language curve.
const perLanguage: Record<string, object> = {};
for (const lang of ['en', 'zh'] as const) {
  const docs = valDocs.filter((d) => d.lang === lang).map((d) => d.text);
  const ids = encodeDocs(docs);
  writeFileSync(join(work, `val_${lang}.bin`), ids);
  perLanguage[lang] = { valTokens: ids.length, valBytes: docs.reduce((s, d) => s + Buffer.byteLength(d, 'utf8'), 0) };
}
const valBytes = val.reduce((s, d) => s + Buffer.byteLength(d, 'utf8'), 0);
console.log(JSON.stringify({ vocab: tok.vocabSize, merges: bpe.merges.length, trainTokens: trainIds.length, valTokens: valIds.length, valBytes, perLanguage, bpeMs: trainMs, encodeMs: Date.now() - t1 }));
