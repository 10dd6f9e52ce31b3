// Whether the model knows the script of a text (src/ui/coverage.ts), on the embedded model's real tokenizer:
// its training text is English, so Chinese falls apart into byte tokens and English does not.
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
  it('"从前有一个" on the embedded model: every token is a byte, the script is Han, and the page should say so', () => {
    const c = promptCoverage(views('从前有一个'), '从前有一个');
    expect(c.tokens).toBe(tok.encode('从前有一个').length);
    expect(c.byteTokens).toBe(bytesByDecoding('从前有一个'));
    expect(c.byteTokens).toBe(c.tokens);
    expect(c.script).toBe('han');
    expect(modelLacksScript(c)).toBe(true);
  });

  it('English text is words, not bytes: nothing to say', () => {
    const c = promptCoverage(views('The capital of France is'), 'The capital of France is');
    expect(c.byteTokens).toBe(0);
    expect(c.script).toBeNull();
    expect(modelLacksScript(c)).toBe(false);
  });

  it('a mostly English text with one Chinese word stays under the rule (under half the tokens are bytes)', () => {
    const text = 'The capital of France is Paris, which is 巴黎 in Chinese and a large city';
    const c = promptCoverage(views(text), text);
    expect(c.byteTokens).toBe(bytesByDecoding(text));
    expect(c.byteTokens).toBeGreaterThan(0);
    expect(modelLacksScript(c)).toBe(false);
  });
});
