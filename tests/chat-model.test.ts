// The fine-tuned embedded model (models/nexttoken-3m-chat) and what fine-tuning was for: its eval through
// the CLI a user runs, its tokenizer against the base's, the size of all that ships, and the KL divergence
// against a float64 formula written out here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { chatIds, chatReply, klOverShared } from '../src/engine/tools/finetune.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { cli, ROOT } from './shared/cli.ts';

const MODELS = join(ROOT, 'models');
const CHAT = join(MODELS, 'nexttoken-3m-chat');
const BASE = join(MODELS, 'nexttoken-3m');

function bytesUnder(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((s, e) => s + (e.isDirectory() ? bytesUnder(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

describe('nexttoken-3m-chat, fine-tuned from nexttoken-3m', () => {
  let base: LoadedModel;
  let chat: LoadedModel;
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
    base = loadModelDir(BASE);
    chat = loadModelDir(CHAT);
  });

  it('the project’s two models (snapshots, data, cards) take at most 32 MB; with stories15M, models/ stays within 42 MB (stories15m.test.ts)', () => {
    expect(bytesUnder(join(MODELS, 'nexttoken-3m')) + bytesUnder(join(MODELS, 'nexttoken-3m-chat'))).toBeLessThanOrEqual(32e6);
  });

  it('its tokenizer is the base one plus <|im_start|> and <|im_end|> at new ids: base ids keep their meaning', () => {
    const baseVocab = base.config.vocabSize;
    expect(chat.config.vocabSize).toBe(baseVocab + 2);
    expect(chat.tokenizer.encode('<|im_start|>user\nHi<|im_end|>')).toEqual([baseVocab, ...base.tokenizer.encode('user\nHi'), baseVocab + 1]);
    const text = readFileSync(join(BASE, 'validation.jsonl'), 'utf8').slice(0, 20000);
    expect(chat.tokenizer.encode(text)).toEqual(base.tokenizer.encode(text));
    expect(chat.tokenizer.turnEnd()).toEqual({ ids: [baseVocab + 1], strings: [] });
    expect(chat.tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('npm run eval on it: per language chat-form seen ≥ 0.95, held out ≤ 0.20, plausible ≥ 0.80; turnEndRate ≥ 0.95', async () => {
    const r = await cli('eval', ['--model', CHAT, '--skip-loss', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    for (const lang of ['en', 'zh']) {
      const l = out.byLanguage[lang];
      expect(l.factsSeenTop1, lang).toBeGreaterThanOrEqual(0.95);
      expect(l.factsUnseenTop1, lang).toBeLessThanOrEqual(0.2);
      expect(l.factsUnseenPlausible, lang).toBeGreaterThanOrEqual(0.8);
    }
    expect(out.turnEndRate).toBeGreaterThanOrEqual(0.95);
  });

  it('a reply to a conversation longer than the context leaves out the oldest exchanges, as Chat does, and is not cut by a full context', async () => {
    const exchange = [
      { role: 'user' as const, content: 'Tell me about the capital of France and the capital of Japan, please.' },
      { role: 'assistant' as const, content: 'The capital of France is Paris. The capital of Japan is Tokyo. Ask me about another country.' },
    ];
    const long = [...Array.from({ length: 8 }, () => exchange).flat(), { role: 'user' as const, content: 'Thanks!' }];
    expect(chatIds(chat, long).length).toBeGreaterThan(chat.model.contextLength); // it could not be read whole
    const r = await chatReply(chat, long, { temperature: 0 }, 1, 64);
    expect(r.droppedTurns).toBeGreaterThan(0);
    const kept = long.slice(2 * r.droppedTurns);
    expect(chatIds(chat, kept).length + 64).toBeLessThanOrEqual(chat.model.contextLength); // room for the whole reply
    expect(chatIds(chat, long.slice(2 * (r.droppedTurns - 1))).length + 64).toBeGreaterThan(chat.model.contextLength); // and no more left out than needed
    expect(r.stopReason).not.toBe('contextFull');
    expect((await chatReply(chat, long.slice(-1), { temperature: 0 }, 1, 64)).droppedTurns).toBe(0);
  });

  it('KL(tuned ‖ base) over the shared vocabulary equals the float64 sum Σ p log(p/q), p renormalised', () => {
    const tuned = Float32Array.from([0.5, 0.2, 0.1, 0.2]); // the last id: a token only the tuned model has
    const baseP = Float32Array.from([0.25, 0.25, 0.5]);
    const p = [0.5 / 0.8, 0.2 / 0.8, 0.1 / 0.8];
    const expected = p.reduce((s, pi, i) => s + pi * Math.log(pi / [0.25, 0.25, 0.5][i]), 0);
    expect(klOverShared(tuned, baseP)).toBeCloseTo(expected, 6);
    expect(klOverShared(Float32Array.from([0.3, 0.7]), Float32Array.from([0.3, 0.7]))).toBeCloseTo(0, 7);
  });
});
