// The Node CLI, run as a user runs it (a child process through tsx).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '../src/engine/load/tokenizer.ts';
import { GENERAL_FACTS } from '../src/engine/tools/generalFacts.ts';
import { cli } from './shared/cli.ts';
import { readF32Safetensors, referenceLogits } from './reference/naive-gpt2.ts';
import { drawF64, samplingF64 } from './shared/samplingF64.ts';
import { samplingSettings } from '../src/sampling/stages.ts';

const FIXTURE = 'tests/fixtures/tiny-gpt2';

const tokenizer = () => {
  const j = (f: string) => JSON.parse(readFileSync(join(FIXTURE, f), 'utf8'));
  return Tokenizer.fromJSON(j('tokenizer.json'), j('tokenizer_config.json'));
};
const lines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l));

describe('generate CLI', () => {
  it('--json at temperature 0 is identical run to run, one object per token and a summary', async () => {
    const args = ['--model', FIXTURE, '--prompt', 'Hello', '--max-tokens', '8', '--temperature', '0', '--json'];
    const [a, b] = await Promise.all([cli('generate', args), cli('generate', args)]);
    expect(a.code).toBe(0);
    // Identical apart from the measured timings in the summary.
    const untimed = (s: string) => s.replace(/"(prefillMs|msPerToken)":[0-9.e-]+/g, '"$1":0');
    expect(untimed(a.stdout)).toBe(untimed(b.stdout));
    expect(a.stdout.split('\n').length).toBeGreaterThan(2);
    const out = lines(a.stdout);
    const summary = out.pop().summary;
    expect(out.length).toBeGreaterThan(0);
    for (const [i, s] of out.entries()) {
      expect(s.step).toBe(i);
      for (const k of ['id', 'token', 'prob', 'rawProb', 'logprob', 'entropy', 'top']) expect(s).toHaveProperty(k);
      expect(s.top[0]).toEqual(expect.objectContaining({ id: s.id, rawProb: s.rawProb }));
      expect(Math.exp(s.logprob)).toBeCloseTo(s.rawProb, 5);
    }
    expect(summary.promptIds.length).toBeGreaterThan(0);
    expect(summary.generatedTokens).toBe(out.length);
    expect(summary.backend).toBe('wasm');
    expect(typeof summary.msPerToken).toBe('number');
  });

  it('different seeds at temperature 1 give different tokens; the same seed the same', async () => {
    const base = ['--model', FIXTURE, '--prompt', 'Hello', '--max-tokens', '16', '--temperature', '1', '--json'];
    const ids = (s: string) => lines(s).filter((o) => !o.summary).map((o) => o.id);
    const [s1, s2, s1again] = await Promise.all([cli('generate', [...base, '--seed', '1']), cli('generate', [...base, '--seed', '2']), cli('generate', [...base, '--seed', '1'])]);
    expect(ids(s1.stdout)).not.toEqual(ids(s2.stdout));
    expect(ids(s1.stdout)).toEqual(ids(s1again.stdout));
  });

  it('plain mode prints the decoded text of the very tokens --json reports', async () => {
    const args = ['--model', FIXTURE, '--prompt', 'The cat', '--max-tokens', '5', '--temperature', '0'];
    const [plain, json] = await Promise.all([cli('generate', args), cli('generate', [...args, '--json'])]);
    expect(plain.code).toBe(0);
    const ids = lines(json.stdout).filter((o) => !o.summary).map((o) => o.id as number);
    expect(ids).toHaveLength(5);
    expect(plain.stdout).toBe(tokenizer().decode(ids) + '\n');
  });

  it('--repetition-penalty and --min-p: every step’s stages match an independent float64 sampler over the float64 reference model’s logits', async () => {
    const settings = samplingSettings({ repetitionPenalty: 1.8, temperature: 0.9, minP: 0.3 });
    const args = ['--model', FIXTURE, '--prompt', 'Hello Hello the cat', '--max-tokens', '8', '--temperature', '0.9', '--repetition-penalty', '1.8', '--min-p', '0.3', '--seed', '4', '--json'];
    const r = await cli('generate', args);
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    const summary = out.pop().summary;
    const cfg = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
    const weights = readF32Safetensors(new Uint8Array(readFileSync(join(FIXTURE, 'model.safetensors'))));
    let ids: number[] = summary.promptIds;
    let cut = 0;
    for (const step of out) {
      const ref = samplingF64(referenceLogits(cfg, weights, ids).at(-1)!, settings, ids);
      expect(step.stages.map((st: { name: string }) => st.name)).toEqual(['repetitionPenalty', 'temperature', 'minP']);
      step.stages.forEach((st: { kept: number; chosen: number; value: number }, j: number) => {
        expect(st.kept, `step ${step.step} ${ref.stages[j].name}`).toBe(ref.stages[j].kept);
        expect(Math.abs(st.chosen - ref.stages[j].probs[step.id])).toBeLessThan(1e-4);
      });
      expect(step.stages.map((st: { value: number }) => st.value)).toEqual([1.8, 0.9, 0.3]);
      expect(drawF64(ref.final, ref.order, step.draw)).toBe(step.id);
      if (ref.stages[2].kept < ref.stages[1].kept) cut++;
      ids = [...ids, step.id];
    }
    expect(out.length).toBe(8);
    expect(cut).toBeGreaterThan(0); // min-p did cut the distribution at some step
  });

  const bad: [string[], RegExp][] = [
    [['--model', FIXTURE], /--prompt is required/],
    [['--model', FIXTURE, '--prompt', 'x', '--temperature', 'hot'], /--temperature must be a number, got "hot"/],
    [['--model', FIXTURE, '--prompt', 'x', '--top-p', '1.5'], /--top-p must be above 0, up to 1 \(1 = off\); got "1.5"/],
    [['--model', FIXTURE, '--prompt', 'x', '--max-tokens', '2.5'], /--max-tokens must be a whole number/],
    [['--model', FIXTURE, '--prompt', 'x', '--colour', 'red'], /Unknown flag --colour/],
    [['--model', 'no/such/dir', '--prompt', 'x'], /Model folder "no\/such\/dir" does not exist/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.slice(2).join(' ') || 'a missing prompt'} with a message and a non-zero exit`, async () => {
      const r = await cli('generate', args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
    });
  }
});

describe('eval CLI', () => {
  it('--lens on a model without facts of its own asks the bundled general facts and reports the lens table', async () => {
    const r = await cli('eval', ['--model', FIXTURE, '--json', '--skip-loss', '--lens']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    // One row per language of the general facts (English, and Chinese from CLDR).
    expect(out.lens).toHaveLength(2);
    for (const [i, lang] of (['en', 'zh'] as const).entries()) {
      expect(out.lens[i]).toEqual(expect.objectContaining({ lang, group: 'all', questions: GENERAL_FACTS.filter((q) => q.lang === lang).length }));
    }
    // The summary agrees with the per-question answers it was made from.
    const details = JSON.parse((await cli('eval', ['--model', FIXTURE, '--json', '--skip-loss', '--lens', '--details'])).stdout).lensDetails as { correct: boolean }[];
    expect(details).toHaveLength(GENERAL_FACTS.length);
    const en = details.slice(0, GENERAL_FACTS.filter((q) => q.lang === 'en').length);
    expect(out.lens[0].accuracy).toBe(en.filter((d) => d.correct).length / en.length);
    expect(out).not.toHaveProperty('factsSeenTop1'); // a fixture has no facts of its own
  });

  it('--form completion asks each fact bare ("法国的首都是", nothing before it): France is 巴黎, and the summary is the share of its answers', async () => {
    const r = await cli('eval', ['--json', '--skip-loss', '--details', '--form', 'completion']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.form).toBe('completion');
    const details = out.details as { id: string; lang: string; seen: boolean; generated: string; correct: boolean }[];
    const france = details.find((d) => d.id === 'FR-zh')!;
    expect(france.generated.startsWith('巴黎')).toBe(true);
    expect(france.correct).toBe(true);
    const seenZh = details.filter((d) => d.lang === 'zh' && d.seen);
    expect(out.byLanguage.zh.factsSeenTop1).toBe(seenZh.filter((d) => d.correct).length / seenZh.length);
  }, 120_000);
});

describe('bench CLI', () => {
  it('prints one JSON object with the documented fields and a steady tensor count', async () => {
    const r = await cli('bench', ['--model', FIXTURE, '--json']);
    expect(r.code).toBe(0);
    const b = JSON.parse(r.stdout);
    for (const k of ['model', 'params', 'backend', 'promptTokens', 'prefillMs', 'decodeTokensPerSec', 'msPerToken', 'tensorsBefore', 'tensorsAfter']) expect(b).toHaveProperty(k);
    // Parameters: every tensor in the file except GPT-2's attn.bias mask buffers, counted from the header.
    const bytes = readFileSync(join(FIXTURE, 'model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>;
    const params = Object.entries(header).filter(([k, t]) => t.shape && !/\.attn\.bias$/.test(k)).reduce((n, [, t]) => n + t.shape!.reduce((a, d) => a * d, 1), 0);
    expect(b.params).toBe(params);
    expect(b.decodedTokens).toBeGreaterThanOrEqual(64);
    expect(b.tensorsAfter).toBe(b.tensorsBefore);
    // Memory: the float32 weights plus a KV cache of 2 · layers · (a power-of-two bucket covering prompt + decoded) · width floats.
    const cfg = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')) as { n_layer: number; n_embd: number; n_positions: number };
    const positions = b.promptTokens + b.decodedTokens;
    const bucket = Math.min(cfg.n_positions, 2 ** Math.ceil(Math.log2(positions)));
    expect(b.kvCacheBytes).toBe(2 * cfg.n_layer * bucket * cfg.n_embd * 4);
    expect(b.engineBytes).toBeGreaterThanOrEqual(params * 4 + b.kvCacheBytes);
    expect(b.engineBytes).toBeLessThanOrEqual(params * 4 + b.kvCacheBytes + 64 * 1024); // little besides (GPT-2's mask buffers are not loaded)
  });
});
