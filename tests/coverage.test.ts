// Whether the model knows the script of a text (src/ui/coverage.ts), on the embedded model's real tokenizer:
// its training text is English and Chinese, so Korean falls apart into byte tokens and those two do not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/engine/load/tokenizer.ts';
import { modelLacksScript, promptCoverage } from '../src/ui/coverage.ts';

const dir = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
const j = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const tok = Tokenizer.fromJSON(j('tokenizer.json'), j('tokenizer_config.json'));
const views = (text: string) => tok.encode(text).map((id) => ({ id, label: tok.tokenLabel(id), special: false }));
/** Independent of coverage.ts: a byte token is one whose text is not valid UTF-8 on its own. */
const bytesByDecoding = (text: string) => tok.encode(text).filter((id) => tok.decode([id]).includes('\uFFFD')).length;

describe('prompt coverage', () => {
  it('"옛날 옛적에" (Korean) on the embedded model: every token is a byte, the script is Hangul, and the page should say so', () => {
    const text = '옛날 옛적에';
    const c = promptCoverage(views(text), text);
    expect(c.tokens).toBe(tok.encode(text).length);
    expect(c.byteTokens).toBe(bytesByDecoding(text));
    expect(c.byteTokens).toBeGreaterThanOrEqual(c.tokens - 1); // the space may be a token of its own
    expect(c.script).toBe('hangul');
    expect(modelLacksScript(c)).toBe(true);
  });

  it('"从前有一个" is Chinese the model trained on: one token per character, no bytes, nothing to say', () => {
    const c = promptCoverage(views('从前有一个'), '从前有一个');
    expect(c.tokens).toBe(5);
    expect(c.byteTokens).toBe(0);
    expect(bytesByDecoding('从前有一个')).toBe(0);
    expect(c.script).toBe('han');
    expect(modelLacksScript(c)).toBe(false);
  });

  it('English text is words, not bytes: nothing to say', () => {
    const c = promptCoverage(views('The capital of France is'), 'The capital of France is');
    expect(c.byteTokens).toBe(0);
    expect(c.script).toBeNull();
    expect(modelLacksScript(c)).toBe(false);
  });

  it('a mostly English text with one Korean word stays under the rule (under half the tokens are bytes)', () => {
    const text = 'The capital of South Korea is Seoul, which is 서울 in Korean and a large city';
    const c = promptCoverage(views(text), text);
    expect(c.byteTokens).toBe(bytesByDecoding(text));
    expect(c.byteTokens).toBeGreaterThan(0);
    expect(modelLacksScript(c)).toBe(false);
  });
});
