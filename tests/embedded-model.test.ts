// The embedded model that ships in models/: its numbers, computed here by the TS engine.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { evaluateFacts, factSummary, validationLoss, type Fact } from '../src/engine/tools/evaluate.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { generate } from '../src/engine/generate/generate.ts';

const DIR = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
const json = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8'));
const jsonl = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as { source: string; lang: 'en' | 'zh'; text: string });
const validation = jsonl(readFileSync(join(DIR, 'validation.jsonl'), 'utf8'));
const facts = (json('facts.json') as { facts: Fact[] }).facts;

describe('embedded model nexttoken-3m', () => {
  let lm: LoadedModel;
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
    lm = loadModelDir(DIR);
  });

  it('is small enough to ship (the model and its training snapshots ≤ 25 MB) and has the files the app and the CLI need', () => {
    const index = json('checkpoints.json') as { checkpoints: { file: string }[] };
    const total = index.checkpoints.reduce((s, p) => s + statSync(join(DIR, p.file)).size, 0);
    expect(index.checkpoints.map((p) => p.file)).toContain('model.safetensors');
    expect(total).toBeLessThanOrEqual(25e6);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'facts.json', 'training_log.json', 'checkpoints.json', 'MODEL_CARD.md']) {
      expect(() => statSync(join(DIR, f))).not.toThrow();
    }
    expect(json('config.json').model_type).toBe('gpt2');
  });

  it('round-trips the validation text byte-exactly through its tokenizer', () => {
    for (const d of validation) expect(lm.tokenizer.decode(lm.tokenizer.encode(d.text))).toBe(d.text);
  });

  for (const lang of ['en', 'zh'] as const) {
    // Issue 14's bars: English ≤ 1.50 bits per byte; Chinese at least 25% under xz -9 on the same text.
    it(`${lang}: the engine's validation loss equals the trainer's within 1%; English ≤ 1.50 bits per byte, Chinese at least 25% under xz -9`, async () => {
      const texts = validation.filter((d) => d.lang === lang).map((d) => d.text);
      expect(texts.length).toBeGreaterThan(10);
      const r = await validationLoss(lm, texts);
      const trainer = json('training_log.json').final.byLanguage[lang].valLoss as number;
      expect(Math.abs(r.valLoss - trainer) / trainer).toBeLessThan(0.01);
      if (lang === 'en') expect(r.valBitsPerByte).toBeLessThanOrEqual(1.5);
      else {
        // Prediction is compression: xz -9 on the very same text is the baseline.
        const raw = Buffer.from(texts.join('\n'), 'utf8');
        const xzBitsPerByte = (execFileSync('xz', ['-9', '-c'], { input: raw }).length * 8) / raw.length;
        expect(r.valBitsPerByte).toBeLessThanOrEqual(0.75 * xzBitsPerByte);
      }
    }, 600_000); // a whole validation pass: ~100 s alone on 2 cores, past 180 s when the machine is shared
  }

  it('knows the facts it saw, and answers held-out ones fluently but wrongly (greedy), in each language', async () => {
    const s = factSummary(await evaluateFacts(lm, facts));
    for (const lang of ['en', 'zh'] as const) {
      const l = s.byLanguage[lang];
      const all = facts.filter((f) => (f.lang ?? 'en') === lang).length;
      expect(l.factsUnseen).toBeGreaterThanOrEqual(Math.round(0.2 * all) - 1);
      expect(l.factsSeenTop1).toBeGreaterThanOrEqual(0.95);
      expect(l.factsUnseenTop1).toBeLessThanOrEqual(0.2);
      expect(l.factsUnseenPlausible).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('knows its seen facts in the bare form a learner types too ("法国的首都是", nothing before it)', async () => {
    const seen = facts.filter((f) => f.seen);
    const s = factSummary(await evaluateFacts(lm, seen, 12, 'completion'));
    // Phase 3's short rows put bare facts at position 0; the committed model answers 100% of these in each language.
    for (const lang of ['en', 'zh'] as const) expect(s.byLanguage[lang].factsSeenTop1).toBeGreaterThanOrEqual(0.95);
  }, 300_000);

  it('at the settings a learner starts with (T = 0.8, seeds 1–10) the bare prompts begin with the capital: 法国的首都是 → 巴黎 ≥ 8 of 10, "The capital of France is" → " Paris" ≥ 9 of 10', async () => {
    const opening = async (prompt: string, seed: number) => {
      const ids: number[] = [];
      for await (const s of generate(lm, lm.tokenizer.encode(prompt), { temperature: 0.8, topK: 0, topP: 1, seed, maxTokens: 4 })) ids.push(s.id);
      return lm.tokenizer.decode(ids);
    };
    const seeds = Array.from({ length: 10 }, (_, i) => i + 1);
    const zh: string[] = [];
    const en: string[] = [];
    for (const seed of seeds) {
      zh.push(await opening('法国的首都是', seed));
      en.push(await opening('The capital of France is', seed));
    }
    expect(zh.filter((g) => g.startsWith('巴黎')).length, zh.join(' | ')).toBeGreaterThanOrEqual(8);
    expect(en.filter((g) => g.startsWith(' Paris')).length, en.join(' | ')).toBeGreaterThanOrEqual(9);
  });

  it('never saw a held-out fact: no training sentence (pretraining or polish) names a held-out country with its capital', () => {
    const read = (f: string) => jsonl(gunzipSync(readFileSync(join(DIR, 'data', f))).toString('utf8'));
    const polish = read('polish.jsonl.gz');
    expect(polish.length).toBeGreaterThan(10);
    const train = [...read('train.jsonl.gz'), ...polish];
    expect(train.length).toBeGreaterThan(1000);
    const heldOut = facts.filter((f) => !f.seen);
    expect(heldOut.length).toBeGreaterThan(0);
    expect(heldOut.some((f) => f.lang === 'zh')).toBe(true);
    const offending: string[] = [];
    for (const doc of train) {
      for (const sentence of doc.text.split(/(?<=[.!?\n。！？])\s*/)) {
        for (const f of heldOut) if (sentence.includes(f.entity) && sentence.includes(f.answer)) offending.push(`${f.entity}/${f.answer}: ${sentence.slice(0, 120)}`);
      }
    }
    expect(offending).toEqual([]);
    // And the seen facts really are there, so the scan is looking at the right text.
    const seen = facts.find((f) => f.seen)!;
    expect(train.some((d) => d.text.includes(`The capital of ${seen.entity}`) || d.text.includes(seen.answer))).toBe(true);
  });
});
