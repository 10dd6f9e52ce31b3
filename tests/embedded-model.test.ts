// The embedded model that ships in models/: its numbers, computed here by the TS engine.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/load/backend.ts';
import { evaluateFacts, factSummary, validationLoss, type Fact } from '../src/engine/tools/evaluate.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { loadModelDir } from '../src/node/loadDir.ts';

const DIR = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
const json = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8'));
const jsonl = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as { source: string; text: string });
const validation = jsonl(readFileSync(join(DIR, 'validation.jsonl'), 'utf8'));
const facts = (json('facts.json') as { facts: Fact[] }).facts;

describe('embedded model nexttoken-3m', () => {
  let lm: LoadedModel;
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
    lm = loadModelDir(DIR);
  });

  it('is small enough to ship (≤ 25 MB) and has the files the app and the CLI need', () => {
    const total = readdirSync(DIR, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .reduce((s, e) => s + statSync(join(e.parentPath, e.name)).size, 0);
    expect(total).toBeLessThanOrEqual(25 * 1024 * 1024);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'facts.json', 'training_log.json', 'MODEL_CARD.md']) {
      expect(() => statSync(join(DIR, f))).not.toThrow();
    }
    expect(json('config.json').model_type).toBe('gpt2');
  });

  it('round-trips the validation text byte-exactly through its tokenizer', () => {
    for (const d of validation) expect(lm.tokenizer.decode(lm.tokenizer.encode(d.text))).toBe(d.text);
  });

  it("the engine's validation loss equals the trainer's recorded loss within 1%, and meets the 1.8 bits-per-byte bar", async () => {
    const r = await validationLoss(lm, validation.map((d) => d.text));
    const trainer = json('training_log.json').final.valLoss as number;
    expect(Math.abs(r.valLoss - trainer) / trainer).toBeLessThan(0.01);
    expect(r.valBitsPerByte).toBeLessThanOrEqual(1.8);
  });

  it('knows the facts it saw, and answers held-out ones fluently but wrongly (greedy)', async () => {
    const s = factSummary(await evaluateFacts(lm, facts));
    expect(s.factsUnseen).toBeGreaterThanOrEqual(Math.round(0.2 * facts.length) - 1);
    expect(s.factsSeenTop1).toBeGreaterThanOrEqual(0.95);
    expect(s.factsUnseenTop1).toBeLessThanOrEqual(0.2);
    expect(s.factsUnseenPlausible).toBeGreaterThanOrEqual(0.8);
  });

  it('never saw a held-out fact: no training sentence names a held-out country with its capital', () => {
    const train = jsonl(gunzipSync(readFileSync(join(DIR, 'data', 'train.jsonl.gz'))).toString('utf8'));
    expect(train.length).toBeGreaterThan(1000);
    const heldOut = facts.filter((f) => !f.seen);
    expect(heldOut.length).toBeGreaterThan(0);
    const offending: string[] = [];
    for (const doc of train) {
      for (const sentence of doc.text.split(/(?<=[.!?\n])\s+/)) {
        for (const f of heldOut) if (sentence.includes(f.entity) && sentence.includes(f.answer)) offending.push(`${f.entity}/${f.answer}: ${sentence.slice(0, 120)}`);
      }
    }
    expect(offending).toEqual([]);
    // And the seen facts really are there, so the scan is looking at the right text.
    const seen = facts.find((f) => f.seen)!;
    expect(train.some((d) => d.text.includes(`The capital of ${seen.entity}`) || d.text.includes(seen.answer))).toBe(true);
  });
});
