// npm run -s bench:soak -- [--tokens N] [--tokens-124m M] [--skip-124m] [--json]
//
// A long session, as the app lives it, with the engine and the app state in one process: many runs
// and branches (each branch reuses its parent's cached prefix), tools between runs (Look inside and
// perplexity, through withCacheKept), every step's record kept in the app state by the same reducer
// the page uses (full logits for the newest steps only: LOGITS_BUDGET_BYTES). It measures; nothing
// asserts on its numbers. Defaults: 5,000 tokens on the embedded model, 2,000 on a GPT-2-124M-shaped
// model (random weights, GPT-2's real tokenizer; written to .cache/gpt2-124m-random on first use).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generate } from '../engine/generate/generate.ts';
import type { LoadedModel } from '../engine/load/load.ts';
import { withCacheKept } from '../engine/model/model.ts';
import { perplexity } from '../engine/tools/compare.ts';
import { inspect } from '../engine/tools/inspect.ts';
import { loadModelDir } from '../node/loadDir.ts';
import { initialState, reduce, type AppState } from '../ui/state.ts';
import { DEFAULT_SETUP } from '../ui/urlState.ts';
import { writeGpt2Random } from '../../tools/gpt2-124m.ts';
import { parseArgs, runMain } from './args.ts';
import { selectBackend } from '../engine/runtime/backend.ts';
import { wasmHeapBytes } from '../engine/runtime/tfjsInternals.ts';
import { samplingSettings } from '../sampling/stages.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PROMPTS = ['Once upon a time', 'The capital of France is', 'In the beginning', 'The cat sat on the', 'She opened the door and'];
const MB = 2 ** 20;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Sample {
  tokens: number;
  tensors: number;
  engineMB: number; // tf.memory().numBytes: weights, KV cache and anything leaked
  wasmMB: number; // the WASM backend's linear memory (it grows, never shrinks: a leak or fragmentation shows here)
  heapMB: number; // JS heap (records, state)
  arrayBuffersMB: number; // typed arrays outside the heap (logits)
  rssMB: number;
  logitsHeldMB: number; // full logits the app state still holds
}

function sample(tokens: number, s: AppState): Sample {
  (globalThis as { gc?: () => void }).gc?.(); // run with --expose-gc (npm run bench:soak does): live memory, not garbage
  const m = process.memoryUsage();
  return {
    tokens,
    tensors: tf.memory().numTensors,
    engineMB: round(tf.memory().numBytes / MB),
    wasmMB: round(wasmHeapBytes() / MB),
    heapMB: round(m.heapUsed / MB),
    arrayBuffersMB: round(m.arrayBuffers / MB),
    rssMB: round(m.rss / MB),
    logitsHeldMB: round(s.logitsHeld.reduce((n, h) => n + h.bytes, 0) / MB),
  };
}

/**
 * Growth per 1,000 tokens from the first sample at which the logits budget is full (until then the
 * page is filling its allowance by design) to the last.
 */
function growth(samples: Sample[], key: keyof Sample, budgetMB: number): number {
  const a = samples.find((s) => s.logitsHeldMB >= budgetMB * 0.99) ?? samples[1] ?? samples[0];
  const b = samples[samples.length - 1];
  return b.tokens > a.tokens ? round(((b[key] - a[key]) / (b.tokens - a.tokens)) * 1000, 3) : 0;
}

async function session(lm: LoadedModel, total: number, runLength: number): Promise<Record<string, unknown>> {
  let state = initialState({ ...DEFAULT_SETUP });
  const dispatch = (a: Parameters<typeof reduce>[1]) => (state = reduce(state, a));
  const settings = samplingSettings({ temperature: 1 });
  const tensorsBefore = tf.memory().numTensors;
  const samples: Sample[] = [sample(0, state)];
  let tokens = 0;
  const every = Math.max(100, Math.round(total / 25));
  let nextSample = every;
  let runs = 0;
  let branches = 0;
  const t0 = performance.now();
  while (tokens < total) {
    // Every third run branches from the run before at step 10 (a picked token, then on from there).
    const parent = runs % 3 === 2 ? state.runs[state.runs.length - 1] : null;
    const promptIds = parent ? [...parent.promptIds, ...parent.steps.slice(0, 10).map((s) => s.id)] : lm.tokenizer.encode(PROMPTS[runs % PROMPTS.length]);
    if (parent) branches++;
    dispatch({ type: 'jobStarted', job: { kind: 'generate', runId: null, phase: 'preparing', stopping: false } });
    dispatch({ type: 'runCreated', run: { mode: 'complete', prompt: '', history: [], dropped: [], promptIds, seed: runs, settings, parent: null } });
    const runId = state.runs.length;
    const n = Math.min(runLength, total - tokens, lm.model.contextLength - promptIds.length - 1);
    for await (const record of generate(lm, promptIds, { ...settings, seed: runs, maxTokens: n, keepLogits: true })) {
      dispatch({ type: 'stepAdded', runId, record });
      tokens++;
      if (tokens >= nextSample) {
        samples.push(sample(tokens, state));
        nextSample += every;
      }
    }
    dispatch({ type: 'jobEnded', kind: 'generate' });
    runs++;
    // Tools between runs, as a learner uses them; each hands the cache back.
    if (runs % 5 === 0) {
      const ids = promptIds.slice(0, 64);
      await withCacheKept(lm.model, () => inspect(lm, ids, 0));
      await withCacheKept(lm.model, () => perplexity(lm, PROMPTS[runs % PROMPTS.length]));
    }
  }
  if (samples[samples.length - 1].tokens !== tokens) samples.push(sample(tokens, state));
  return {
    model: lm.name,
    vocab: lm.config.vocabSize,
    tokens,
    runs,
    branches,
    seconds: round((performance.now() - t0) / 1000, 1),
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
    logitsBudgetMB: round(state.logitsBudget / MB),
    /** From the sample at which the logits budget was full, to the end. */
    growthPer1000Tokens: Object.fromEntries((['tensors', 'engineMB', 'wasmMB', 'heapMB', 'arrayBuffersMB', 'rssMB', 'logitsHeldMB'] as const).map((k) => [k, growth(samples, k, state.logitsBudget / MB)])),
    budgetFullAtTokens: samples.find((s) => s.logitsHeldMB >= (state.logitsBudget / MB) * 0.99)?.tokens ?? null,
    samples,
  };
}

/** What keeping the generation's cache across a tool costs: snapshot + restore, against running the cached tokens again. */
async function cacheKeepCost(lm: LoadedModel, cached: number): Promise<Record<string, number>> {
  const ids = Array.from({ length: cached }, (_, i) => lm.tokenizer.encodeText(' the cat')[i % 2]);
  lm.model.truncate(0);
  lm.model.forward(ids, true).dispose();
  const reps = 5;
  let t = performance.now();
  for (let i = 0; i < reps; i++) {
    const snap = lm.model.cache.snapshot();
    lm.model.cache.restore(snap);
  }
  await tf.ready();
  (await lm.model.cache.k[0].data()).at(0); // wait for the copies to finish
  const snapshotRestoreMs = (performance.now() - t) / reps;
  t = performance.now();
  for (let i = 0; i < reps; i++) {
    lm.model.truncate(0);
    const out = lm.model.forward(ids, true);
    await out.data();
    out.dispose();
  }
  const rePrefillMs = (performance.now() - t) / reps;
  lm.model.truncate(0);
  return { cachedTokens: cached, snapshotRestoreMs: round(snapshotRestoreMs), rePrefillMs: round(rePrefillMs) };
}

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { tokens: 'int', 'tokens-124m': 'int', 'skip-124m': 'boolean', json: 'boolean' });
  const status = await selectBackend({ order: ['wasm'] });
  const out: Record<string, unknown> = { backend: status.backend };
  const embedded = loadModelDir(join(ROOT, 'models', 'nexttoken-3m'));
  out.embedded = await session(embedded, (a.tokens as number | undefined) ?? 5000, 100);
  out.embeddedCacheKeep = await cacheKeepCost(embedded, 200);
  embedded.model.dispose();
  if (!a['skip-124m']) {
    const dir = join(ROOT, '.cache', 'gpt2-124m-random');
    if (!existsSync(join(dir, 'model.safetensors'))) {
      process.stderr.write(`writing the 124M-shaped model to ${dir} (once)…\n`);
      writeGpt2Random(dir);
    }
    const big = loadModelDir(dir);
    out.gpt2_124m = await session(big, (a['tokens-124m'] as number | undefined) ?? 2000, 200);
    out.gpt2_124mCacheKeep = await cacheKeepCost(big, 500);
    big.model.dispose();
  }
  console.log(a.json ? JSON.stringify(out) : JSON.stringify(out, null, 2));
});
