// The shipped storyteller (models/stories15m: Karpathy's stories15M, converted by tools/tinystories.ts to a Q4_0
// GGUF). Witnesses that are not the engine: a float64 NumPy forward pass over the same file with its own GGUF
// reader, Q4_0 dequantizer and llama2.c's adjacent-pair RoPE (tools/reference/gguf_llama_reference.py, output
// committed), and SentencePiece's merge rule written out here (the best-scoring adjacent pair first, leftmost on a
// tie, as llama2.c's run.c encodes) against the tokenizer.json NextToken derives from the scores.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGguf } from '../src/engine/load/gguf.ts';
import { Tokenizer } from '../src/engine/load/tokenizer.ts';
import { readGgufFile } from '../src/node/loadDir.ts';
import { cli } from './shared/cli.ts';

const ROOT = join(import.meta.dirname, '..');
const GGUF = join(ROOT, 'models/stories15m/stories15m-q4_0.gguf');
const REFERENCE = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/stories15m/reference.json'), 'utf8')) as {
  prompt: number[];
  steps: { id: number; top: [number, number][] }[];
};

describe('the shipped file', () => {
  it('is the bytes the conversion recorded (SOURCE.json), and models/ stays within its 42 MB budget', () => {
    const source = JSON.parse(readFileSync(join(ROOT, 'models/stories15m/SOURCE.json'), 'utf8'));
    const recorded = source.outputs['models/stories15m/stories15m-q4_0.gguf'];
    const bytes = readFileSync(GGUF);
    expect(bytes.length).toBe(recorded.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(recorded.sha256);
    const shipped = execFileSync('git', ['ls-files', 'models'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n');
    const total = shipped.reduce((s, f) => s + statSync(join(ROOT, f)).size, 0);
    expect(total).toBeLessThanOrEqual(42e6);
  });
});

/** SentencePiece BPE by its own rule: characters (bytes where a character is not a piece), then merge the pair whose joined piece scores best. */
function sentencePieceEncode(text: string, pieces: string[], scores: number[]): number[] {
  const id = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (i >= 3 && !id.has(p)) id.set(p, i); // not <unk>, <s>, </s>
  });
  const symbols: number[] = [];
  for (const ch of ('\u2581' + text.replace(/ /g, '\u2581')).match(/[\s\S]/gu) ?? []) {
    const known = id.get(ch);
    if (known !== undefined && !/^<0x[0-9A-F]{2}>$/.test(ch)) symbols.push(known);
    else for (const b of new TextEncoder().encode(ch)) symbols.push(id.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!);
  }
  for (;;) {
    let best = -Infinity;
    let at = -1;
    let joined = -1;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const j = id.get(pieces[symbols[i]] + pieces[symbols[i + 1]]);
      if (j !== undefined && scores[j] > best) [best, at, joined] = [scores[j], i, j];
    }
    if (at < 0) return symbols;
    symbols.splice(at, 2, joined);
  }
}

describe('its tokenizer (SentencePiece with byte fallback, rebuilt from the GGUF metadata)', () => {
  const files = readGgufFile(GGUF);
  const tokenizer = Tokenizer.fromJSON(files.tokenizer, files.tokenizerConfig);
  const meta = parseGguf(new Uint8Array(readFileSync(GGUF)), GGUF).metadata;
  const pieces = (meta.get('tokenizer.ggml.tokens') as string[]).map(String);
  const scores = (meta.get('tokenizer.ggml.scores') as number[]).map(Number);

  it.each([
    'Once upon a time',
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.',
    'Tom said, "I don\'t want to go!" and ran away...  Then   he   stopped.',
    'Line one\nLine two\n\n  indented, tabs\tand 1234567890 numbers; a-b_c (d) [e] {f}',
    'unbelievably antidisestablishmentarianism supercalifragilistic',
    '法国的首都是巴黎。', // no Chinese pieces to speak of: bytes
    'café naïve — “quotes” 🙂',
  ])('gives SentencePiece\'s ids for %j, after BOS', (text) => {
    const ids = tokenizer.encode(text);
    expect(ids[0]).toBe(1);
    expect(ids.slice(1)).toEqual(sentencePieceEncode(text, pieces, scores));
    expect(tokenizer.decode(ids, true)).toBe(' ' + text); // the dummy prefix's space, then the text exactly
  });
});

describe('text that continues other text (a guess, a forced token)', () => {
  const files = readGgufFile(GGUF);
  const tokenizer = Tokenizer.fromJSON(files.tokenizer, files.tokenizerConfig);
  it.each([
    [' Lily', '▁L|ily'],
    ['ily', 'ily'],
    [' park with', '▁park|▁with'],
  ])('%j is its own tokens, no BOS and no second space before it (%s)', (text, pieces) => {
    const ids = tokenizer.encodeContinuation(text);
    expect(ids.map((id) => tokenizer.tokenLabel(id).replace(/ /g, '▁')).join('|')).toBe(pieces);
    // the same tokens as in a whole story, where the text follows other text
    const whole = tokenizer.encode('Once upon a time there was a girl named' + text);
    expect(whole.slice(-ids.length)).toEqual(ids);
  });
});

describe('the model (CLI, WASM) against the float64 reference on the same file', () => {
  it('continues "Once upon a time" greedily with the reference ids for 24 steps, probabilities within 1e-3', async () => {
    const r = await cli('generate', ['--model', GGUF, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '24', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1).summary.promptIds).toEqual(REFERENCE.prompt);
    const steps = lines.filter((l) => l.step !== undefined);
    expect(steps.map((s) => s.id)).toEqual(REFERENCE.steps.map((s) => s.id));
    let worst = 0;
    for (const [i, ref] of REFERENCE.steps.entries()) {
      for (const [id, p] of ref.top) {
        const got = steps[i].top.find((c: { id: number }) => c.id === id);
        // the CLI lists the top 10 after sampling limits: with temperature 0 every candidate keeps its raw probability
        if (got) worst = Math.max(worst, Math.abs(got.rawProb - p));
        else expect(p).toBeLessThan(steps[i].top.at(-1).rawProb + 1e-3);
      }
    }
    expect(worst).toBeLessThan(1e-3);
  });

  it('ends a story where it writes BOS (its training text separated stories by BOS alone), as run.c stops', async () => {
    const r = await cli('generate', ['--model', GGUF, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '250', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1).summary.stopReason).toBe('eos');
    expect(lines.at(-2).id).toBe(1);
    expect(lines.at(-1).summary.generatedTokens).toBeLessThan(250);
  });

  it('writes the story llama2.c made famous', async () => {
    const r = await cli('generate', ['--model', GGUF, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '20']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^, there was a little girl named Lily/);
  });
});
