// Does the model know the script of this text? A tokenizer falls back to single bytes for text its training
// data lacked (GPT-2-style byte-level BPE shows them as <0xE4> …): when most of a prompt is byte tokens, the
// model has hardly seen that kind of text, and its continuation will be noise. Pure functions, no DOM.
import type { TokenView } from '../worker/protocol.ts';

export type Script = 'han' | 'kana' | 'hangul' | 'cyrillic' | 'greek' | 'arabic' | 'hebrew' | 'devanagari' | 'thai' | 'other';

export interface PromptCoverage {
  /** Tokens that are bytes, not text (a partial UTF-8 character). */
  byteTokens: number;
  /** Every token of the text (special tokens of a chat template left out). */
  tokens: number;
  /** The most common non-Latin script of the text's letters, if any. */
  script: Script | null;
}

const SCRIPTS: [Script, RegExp][] = [
  ['han', /\p{Script=Han}/u],
  ['kana', /[\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ['hangul', /\p{Script=Hangul}/u],
  ['cyrillic', /\p{Script=Cyrillic}/u],
  ['greek', /\p{Script=Greek}/u],
  ['arabic', /\p{Script=Arabic}/u],
  ['hebrew', /\p{Script=Hebrew}/u],
  ['devanagari', /\p{Script=Devanagari}/u],
  ['thai', /\p{Script=Thai}/u],
];

/** A token shown as bytes only: "<0xE4>", "<0xE4><0xBD>". */
export function isByteToken(label: string): boolean {
  return /^(<0x[0-9A-F]{2}>)+$/.test(label);
}

export function promptCoverage(views: TokenView[], text: string): PromptCoverage {
  const own = views.filter((v) => !v.special);
  const counts = new Map<Script, number>();
  for (const ch of text) {
    const hit = SCRIPTS.find(([, re]) => re.test(ch));
    if (hit) counts.set(hit[0], (counts.get(hit[0]) ?? 0) + 1);
    else if (/\p{L}/u.test(ch) && !/\p{Script=Latin}/u.test(ch)) counts.set('other', (counts.get('other') ?? 0) + 1);
  }
  const script = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  return { byteTokens: own.filter((v) => isByteToken(v.label)).length, tokens: own.length, script };
}

/** The rule for saying so: at least 3 tokens, and at least half of them bytes. */
export function modelLacksScript(c: PromptCoverage | null): boolean {
  return !!c && c.tokens >= 3 && c.byteTokens * 2 >= c.tokens;
}
