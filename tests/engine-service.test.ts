// What the worker's job queue relies on, checked on the real engine in Node (WASM): a tool hands the
// KV cache back bit for bit, so a paused generation goes on exactly as if nothing had run in between;
// a past step's logits recomputed from its run's ids are the ones it was sampled from; NaN logits are
// never sampled; the Hub cache keeps one server's files apart from another's.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, logitsAfter, type StepRecord } from '../src/engine/generate/generate.ts';
import { DeviceLostError, raceRead, READ_TIMEOUT_MS, ReadTimeoutError, selectBackend } from '../src/engine/runtime/backend.ts';
import { endpointKey, loadHubFiles, parseHubRef } from '../src/engine/load/hub.ts';
import { buildModel, type LoadedModel } from '../src/engine/load/load.ts';
import { withCacheKept } from '../src/engine/model/model.ts';
import { inspect } from '../src/engine/tools/inspect.ts';
import { perplexity } from '../src/engine/tools/compare.ts';
import { diskStore } from '../src/node/diskStore.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { createRng } from '../src/sampling/prng.ts';
import { describeChoice, NonFiniteLogitsError, sampleNext } from '../src/sampling/step.ts';
import { softmax } from '../src/sampling/sampler.ts';
import { startHubServer, type HubServer } from '../tools/hubServer.ts';
import { samplingSettings } from '../src/sampling/stages.ts';
import { packTop, topIds, unpackTop } from '../src/sampling/topColumns.ts';
import { isFork } from '../src/ui/tokens.ts';
import { serialize } from 'node:v8';
import { initialState, KEPT_CANDIDATES, reduce } from '../src/ui/state.ts';
import { DEFAULT_SETUP } from '../src/ui/urlState.ts';

const ROOT = join(import.meta.dirname, '..');
const EMBEDDED = join(ROOT, 'models', 'nexttoken-3m');
const settings = samplingSettings({ temperature: 1, topK: 0, topP: 1 });
let lm: LoadedModel;

beforeAll(async () => {
  await selectBackend({ order: ['wasm'] });
  lm = loadModelDir(EMBEDDED);
});
afterAll(() => lm?.model.dispose());

/** The filled part of the KV cache, every layer, as plain numbers. */
async function cacheContents(m: LoadedModel): Promise<{ ids: number[]; data: number[][] }> {
  const c = m.model.cache;
  const n = c.ids.length;
  const data: number[][] = [];
  for (const t of [...c.k, ...c.v]) {
    const rows = tf.slice(t, [0, 0, 0], [c.nKvHead, n, c.headDim]);
    data.push(Array.from(await rows.data()));
    rows.dispose();
  }
  return { ids: c.ids.slice(), data };
}

/** Steps of one generation with full logits; `between` runs after step `pauseAt` (a paused run). */
async function steps(prompt: string, n: number, pauseAt: number, between: () => Promise<void>): Promise<StepRecord[]> {
  lm.model.truncate(0);
  const out: StepRecord[] = [];
  for await (const s of generate(lm, lm.tokenizer.encode(prompt), { ...settings, seed: 7, maxTokens: n, keepLogits: true })) {
    out.push(s);
    if (s.step === pauseAt) await between();
  }
  return out;
}

describe('tools between the steps of a paused generation', () => {
  it('withCacheKept: after Look inside and perplexity the KV cache holds the same ids and the same floats, bit for bit', async () => {
    lm.model.truncate(0);
    const ids = lm.tokenizer.encode('The capital of France is');
    (await logitsAfter(lm, ids)).fill(0);
    const before = await cacheContents(lm);
    await withCacheKept(lm.model, () => inspect(lm, lm.tokenizer.encode('Once upon a time there was'), 1));
    await withCacheKept(lm.model, () => perplexity(lm, 'A completely different text about cats.'));
    expect(await cacheContents(lm)).toEqual(before);
  });

  it('a generation paused for tools continues with exactly the logits of one that never paused', async () => {
    const tools = async () => {
      await withCacheKept(lm.model, () => inspect(lm, lm.tokenizer.encode('Something else'), 0));
      await withCacheKept(lm.model, () => perplexity(lm, 'Another text entirely.'));
    };
    const straight = await steps('Once upon a time', 12, -1, async () => {});
    const paused = await steps('Once upon a time', 12, 4, tools);
    expect(paused.map((s) => s.id)).toEqual(straight.map((s) => s.id));
    for (let i = 0; i < straight.length; i++) expect(Array.from(paused[i].logits!)).toEqual(Array.from(straight[i].logits!));
  });

  it('the same tools without withCacheKept would move the generation: the guard is what keeps it right', async () => {
    const straight = await steps('Once upon a time', 8, -1, async () => {});
    const unguarded = await steps('Once upon a time', 8, 3, async () => void (await inspect(lm, lm.tokenizer.encode('Something else'), 0)));
    const maxDiff = Math.max(...unguarded[4].logits!.map((v, i) => Math.abs(v - straight[4].logits![i])));
    expect(maxDiff).toBeGreaterThan(1e-3);
  });
});

describe("a past step's logits, recomputed from its run's ids", () => {
  it('are the logits the step was sampled from: the same top 20 in the same order, probabilities within 1e-6', async () => {
    const live = await steps('The cat sat on the', 30, -1, async () => {});
    const prompt = lm.tokenizer.encode('The cat sat on the');
    let worst = 0;
    for (const s of live) {
      const ids = [...prompt, ...live.slice(0, s.step).map((x) => x.id)];
      const again = await withCacheKept(lm.model, () => logitsAfter(lm, ids));
      const [p, q] = [softmax(s.logits!), softmax(again)];
      for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]));
      const top = (x: Float32Array) => Array.from(x.keys()).sort((a, b) => x[b] - x[a] || a - b).slice(0, 20);
      expect(top(q)).toEqual(top(p));
      expect(sampleNext(again, settings, createRng(1)).top.map((c) => c.id)).toEqual(topIds(s.top));
    }
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('non-finite logits', () => {
  it('are refused by the sampler, whatever the settings; nothing is drawn', () => {
    const rng = createRng(3);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
      logits[17] = bad;
      for (const s of [settings, samplingSettings({ temperature: 0, topK: 0, topP: 1 }), samplingSettings({ temperature: 0.7, topK: 5, topP: 0.9 })]) {
        expect(() => sampleNext(logits, s, rng)).toThrow(NonFiniteLogitsError);
      }
    }
    expect(rng()).toBe(createRng(3)()); // no draw was taken from the stream
  });
});

describe('the Hub cache is keyed by endpoint', () => {
  let a: HubServer;
  let b: HubServer;
  let cache: string;
  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'nexttoken-endpoint-'));
    // Two servers, one id, different models: a mirror must never fill (or be served from) another's entries.
    a = await startHubServer({ 'test/model': join(ROOT, 'tests', 'fixtures', 'tiny-gpt2') });
    b = await startHubServer({ 'test/model': join(ROOT, 'tests', 'fixtures', 'tiny-llama') });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    rmSync(cache, { recursive: true, force: true });
  });

  it('the same id from two servers gives two models, cached apart; a second load of each asks its server nothing', async () => {
    const load = (hub: HubServer) => loadHubFiles(parseHubRef('test/model')!, { endpoint: hub.url, store: diskStore(cache) });
    const types = [];
    for (const hub of [a, b]) {
      const m = buildModel(await load(hub));
      types.push(m.config.modelType);
      m.model.dispose();
    }
    expect(types).toEqual(['gpt2', 'llama']);
    expect(readdirSync(cache).sort()).toEqual([endpointKey(a.url), endpointKey(b.url)].sort());
    const asked = [a.requests.length, b.requests.length];
    for (const hub of [a, b]) buildModel(await load(hub)).model.dispose();
    expect([a.requests.length, b.requests.length]).toEqual(asked);
  });
});

describe('a GPU read that never answers (issue 29, hole 4)', () => {
  const never = <T>() => new Promise<T>(() => {});
  it('ends with ReadTimeoutError, a kind of device loss the worker recovers from, after the read timeout', async () => {
    const t0 = performance.now();
    const err = await raceRead(never<Float32Array>(), never<never>(), 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadTimeoutError);
    expect(err).toBeInstanceOf(DeviceLostError); // so the worker moves to WASM, as for a lost device
    expect((err as Error).message).toBe('The GPU device was lost (a read waited 50 ms for it without an answer, so it is taken for hung).');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(READ_TIMEOUT_MS).toBe(120_000);
  });
  it('a read that answers, or a device lost first, wins the race', async () => {
    const data = Float32Array.from([1, 2]);
    expect(await raceRead(Promise.resolve(data), never<never>(), 50)).toBe(data);
    const lost = Promise.reject(new DeviceLostError('destroyed'));
    await expect(raceRead(never<Float32Array>(), lost, 10_000)).rejects.toThrow('The GPU device was lost (destroyed).');
  });
});

describe('step records the page keeps for every token (issue 29, hole 7)', () => {
  it('hold their candidates as numbers in one typed array, no strings, about 1 KB a token; unpacked they are exactly what the sampler reported', async () => {
    lm.model.truncate(0);
    const prompt = lm.tokenizer.encode('Once upon a time');
    // Room for the full logits of 50 steps: older steps let them go, and keep their first KEPT_CANDIDATES candidates.
    let state = initialState({ ...DEFAULT_SETUP }, 50 * lm.config.vocabSize * 4);
    state = reduce(state, { type: 'jobStarted', job: { kind: 'generate', runId: null, phase: 'preparing', stopping: false } });
    state = reduce(state, { type: 'runCreated', run: { mode: 'complete', prompt: '', history: [], dropped: [], promptIds: prompt, seed: 3, settings, parent: null } });
    const topk = samplingSettings({ temperature: 0.8, topK: 40, topP: 0.95 });
    const ids = [...prompt];
    const generated: StepRecord[] = [];
    for await (const r of generate(lm, prompt, { ...topk, seed: 3, maxTokens: 200, keepLogits: true })) {
      // Independent witness: the sampler run again on the step's logits, with the step's own draw.
      const again = sampleNext(r.logits!, topk, () => r.draw!, 20, ids);
      expect(unpackTop(r.top)).toEqual(again.top);
      ids.push(r.id);
      generated.push(r);
      state = reduce(state, { type: 'stepAdded', runId: 1, record: r, labels: Object.fromEntries(topIds(r.top).map((id) => [id, lm.tokenizer.tokenLabel(id)])) });
    }
    const records = state.runs[0].steps;
    expect(records).toHaveLength(200);
    expect(records.every((s) => s.top.data instanceof Float32Array)).toBe(true);
    expect(records.map((s) => [s.top.n, !!s.logits])).toEqual(records.map((_, i) => (i < 150 ? [KEPT_CANDIDATES, false] : [20, true])));
    expect(records.slice(0, 150).map((s) => unpackTop(s.top))).toEqual(generated.slice(0, 150).map((g) => unpackTop(g.top).slice(0, KEPT_CANDIDATES)));
    expect(records.every((s) => isFork(s.top) === isFork(generated[s.step].top))).toBe(true); // the output's mark is unchanged
    // The only string a record holds is its own token's label (the stages' names are the constants of stages.ts);
    // the candidates' labels are learned once by the page.
    const strings = (x: unknown): number => (typeof x === 'string' ? 1 : x && typeof x === 'object' && !ArrayBuffer.isView(x) ? Object.values(x).reduce((n: number, v) => n + strings(v), 0) : 0);
    expect(records.map(({ stages: _names, ...rest }) => strings(rest))).toEqual(records.map(() => 1));
    expect(Object.keys(state.labels).length).toBeGreaterThan(20);
    // Steps under the same settings share one settings object.
    expect(new Set(records.map((s) => s.settings)).size).toBe(1);
    // Structured-clone size (what IndexedDB and postMessage copy). The memory it stands for is measured by
    // npm run bench:soak (JS heap per 1,000 tokens: 9.8 MB with candidate objects, 0.8 MB now).
    const full = records.slice(150).map(({ logits: _l, ...rest }) => rest);
    const bytes = serialize(full).length / full.length;
    expect(bytes).toBeLessThan(1200); // 944 here; 2,894 with candidate objects (main at c565ab8)
    const kept = serialize(records.slice(0, 150)).length / 150;
    expect(kept).toBeLessThan(bytes / 2);

    // Selected again, a step's logits are recomputed from its run's ids, and its candidates described from them
    // under its own settings (as the page does): the list the sampler gave when the step was drawn.
    const at = 10;
    const logits = await withCacheKept(lm.model, () => logitsAfter(lm, ids.slice(0, prompt.length + at)));
    const again = describeChoice(logits, records[at].settings, records[at].id, undefined, ids.slice(0, prompt.length + at));
    state = reduce(state, { type: 'logitsRecomputed', runId: 1, step: at, logits, top: packTop(again.top, again.stages.length) });
    const back = unpackTop(state.runs[0].steps[at].top);
    const original = unpackTop(generated[at].top);
    expect(back.map((c) => c.id)).toEqual(original.map((c) => c.id));
    back.forEach((c, i) => expect(Math.abs(c.prob - original[i].prob)).toBeLessThan(1e-5));
  });
});
