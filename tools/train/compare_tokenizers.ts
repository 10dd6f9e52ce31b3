// Tokenizer efficiency on a validation split, for two or more model folders side by side:
// tokens per Chinese character (over the runs of Chinese characters) and tokens per English word.
// npx tsx tools/train/compare_tokenizers.ts VALIDATION.jsonl DIR [DIR ...]
// (e.g. the embedded model's tokenizer before and after it learned Chinese: `git show REV:models/...`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '../../src/engine/load/tokenizer.ts';
import { HAN_CLASS } from '../bpe.ts';

const [valPath, ...dirs] = process.argv.slice(2);
if (!valPath || !dirs.length) throw new Error('usage: compare_tokenizers.ts VALIDATION.jsonl DIR [DIR ...]');
const docs = readFileSync(valPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { lang?: string; text: string });
const zh = docs.filter((d) => d.lang === 'zh').map((d) => d.text).join('\n');
const en = docs.filter((d) => (d.lang ?? 'en') === 'en').map((d) => d.text).join('\n');
const runs = zh.match(new RegExp(`${HAN_CLASS}+`, 'gu')) ?? [];
const han = runs.reduce((s, r) => s + [...r].length, 0);
const words = (en.match(/\S+/g) ?? []).length;
for (const dir of dirs) {
  const tok = Tokenizer.fromJSON(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
  const hanTokens = runs.reduce((s, r) => s + tok.encode(r).length, 0);
  console.log(JSON.stringify({ dir, vocab: tok.vocabSize, hanChars: han, tokensPerHanChar: +(hanTokens / han).toFixed(3), englishWords: words, tokensPerWord: +(tok.encode(en).length / words).toFixed(3) }));
}
