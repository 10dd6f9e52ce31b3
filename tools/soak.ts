// npm run -s bench:soak -- [--tokens N] [--tokens-124m M] [--skip-124m] [--json]
//
// A developer's measurement, so it lives with the tools, not in the product: it drives the page's own
// reducer (src/ui/state.ts) beside the engine, in one Node process; no CLI or engine file imports ui/.
//
// A long session, as the app lives it, with the engine and the app state in one process: many runs
// and branches (each branch reuses its parent's cached prefix), tools between runs (Look inside and
// perplexity, through withCacheKept), every step's record kept in the app state by the same reducer
// the page uses (full logits for the newest steps only: LOGITS_BUDGET_BYTES). It measures, and says
// whether each model stays within the memory growth the engine service promises (`withinBounds`).
// Defaults: 5,000 tokens on the embedded model, 2,000 on a GPT-2-124M-shaped model (random weights,
// GPT-2's real tokenizer; written to .cache/gpt2-124m-random on first use).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { generate } from '../src/engine/generate/generate.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { withCacheKept } from '../src/engine/model/model.ts';
import { scoreContinuation } from '../src/engine/tools/lens.ts';
import { inspect } from '../src/engine/tools/inspect.ts';
import { loadModelDir } from '../src/node/loadDir.ts';
import { initialState, reduce, type AppState } from '../src/ui/state.ts';
import { DEFAULT_SETUP } from '../src/ui/urlState.ts';
import { writeGpt2Random } from './gpt2-124m.ts';
import { parseArgs, runMain } from '../src/cli/args.ts';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { wasmHeapBytes } from '../src/engine/runtime/tfjsInternals.ts';
import { samplingSettings } from '../src/sampling/stages.ts';
import { topIds } from '../src/sampling/topColumns.ts';

const ROOT = join(import.meta.dirname, '..');
const PROMPTS = ['Once upon a time', 'The capital of France is', 'In the beginning', 'The cat sat on the', 'She opened the door and'];
const MB = 2 ** 20;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Sample {
  tokens: number;
  tensors: number;
  engineMB: number; // tf.memory().numBytes: weights, KV cache and anything leaked
  wasmMB: number; // the WASM backend's linear memory (it grows, never shrinks: a leak or fragmentation shows here)
  heapMB: number; // JS heap in use (records, state)
  heapCommittedMB: number; // JS heap the process holds for it (V8 grows its young generation in steps of several MB)
  arrayBuffersMB: number; // typed arrays outside the heap (logits)
  rssMB: number;
  logitsHeldMB: number; // full logits the app state still holds
}

async function sample(tokens: number, s: AppState): Promise<Sample> {
  // Live memory, not garbage (run with --expose-gc; npm run bench:soak does). V8 frees the memory of dead
  // ArrayBuffers (the logits the page let go) on a background sweeper after a collection: a second
  // collection after a turn of the event loop counts them gone instead of 0–32 MB at random.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setTimeout(r, 10));
  gc?.();
  const m = process.memoryUsage();
  return {
    tokens,
    tensors: tf.memory().numTensors,
    engineMB: round(tf.memory().numBytes / MB),
    wasmMB: round(wasmHeapBytes() / MB),
    heapMB: round(m.heapUsed / MB),
    heapCommittedMB: round(m.heapTotal / MB),
    arrayBuffersMB: round(m.arrayBuffers / MB),
    rssMB: round(m.rss / MB),
    logitsHeldMB: round(s.logitsHeld.reduce((n, h) => n + h.bytes, 0) / MB),
  };
}

/**
 * Growth per 1,000 tokens once the session is under way: from the first sample taken after the logits
 * budget is full (until then the page fills its allowance by design) and after each kind of job has run
 * once (the first use of a tool raises the process's high-water mark: about 40 MB on the 124M shape, seen
 * in `samples`), to the last. The least-squares slope through those samples, not the
 * difference of two: a process's memory moves by tens of MB as allocators come and go.
 */
function growth(samples: Sample[], key: keyof Sample, fromTokens: number): number {
  const from = samples.findIndex((s) => s.tokens >= fromTokens);
  if (from < 0) return NaN;
  const xs = samples.slice(from).map((s) => s.tokens);
  const ys = samples.slice(from).map((s) => s[key]);
  if (xs.length < 3) return NaN; // too short a session to say
  const mx = xs.reduce((a, x) => a + x, 0) / xs.length;
  const my = ys.reduce((a, y) => a + y, 0) / ys.length;
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return round((sxy / sxx) * 1000, 3);
}

// Ids only, through a function: a run object held in the loop's own variables (an async function keeps
// them while it waits) would keep the logits the state has since let go (32 MB on the 124M shape).
function firstIds(run: AppState['runs'][number], n: number): number[] {
  return [...run.promptIds, ...run.steps.map((s) => s.id)].slice(0, n);
}

function branchIds(parent: AppState['runs'][number]): number[] {
  return [...parent.promptIds, ...parent.steps.slice(0, 10).map((s) => s.id)];
}

/** What the engine service promises (issue 29): per 1,000 tokens once a session is under way. */
export interface Bounds {
  jsHeapMBPer1000Tokens: number;
  rssMBPer1000Tokens?: number;
}

async function session(lm: LoadedModel, total: number, runLength: number, bounds: Bounds): Promise<Record<string, unknown>> {
  let state = initialState({ ...DEFAULT_SETUP });
  const dispatch = (a: Parameters<typeof reduce>[1]) => (state = reduce(state, a));
  const settings = samplingSettings({ temperature: 1 });
  const tensorsBefore = tf.memory().numTensors;
  const samples: Sample[] = [await sample(0, state)];
  let tokens = 0;
  const every = Math.max(100, Math.round(total / 25));
  let nextSample = every;
  let runs = 0;
  let branches = 0;
  let warmAtTokens = Infinity; // every kind of job (a run, a branch, the tools) has run once
  const t0 = performance.now();
  while (tokens < total) {
    // Every third run branches from the run before at step 10 (a picked token, then on from there).
    const branch = runs % 3 === 2;
    const promptIds = branch ? branchIds(state.runs[state.runs.length - 1]) : lm.tokenizer.encode(PROMPTS[runs % PROMPTS.length]);
    if (branch) branches++;
    dispatch({ type: 'jobStarted', job: { kind: 'generate', runId: null, phase: 'preparing', stopping: false } });
    dispatch({ type: 'runCreated', run: { mode: 'complete', prompt: '', history: [], dropped: [], promptIds, seed: runs, settings, parent: null } });
    const runId = state.runs.length;
    const n = Math.min(runLength, total - tokens, lm.model.contextLength - promptIds.length - 1);
    for await (const record of generate(lm, promptIds, { ...settings, seed: runs, maxTokens: n, keepLogits: true })) {
      // With its candidates' labels, as the worker sends them (the page learns each once).
      dispatch({ type: 'stepAdded', runId, record, labels: Object.fromEntries(topIds(record.top).map((id) => [id, lm.tokenizer.tokenLabel(id)])) });
      tokens++;
      if (tokens >= nextSample) {
        samples.push(await sample(tokens, state));
        nextSample += every;
      }
    }
    dispatch({ type: 'jobEnded', kind: 'generate' });
    runs++;
    if (branches === 1 && warmAtTokens === Infinity) warmAtTokens = tokens;
    // Tools between runs, as a learner uses them; each hands the cache back.
    // After the first run (so every kind of job has run early in the session) and every fifth after it.
    // Each time on the first 64 tokens of the run (its prompt and what it generated): jobs of one shape, so
    // a pass that raises memory again would be growth, not a larger job touching more of the WASM heap.
    if (runs % 5 === 1) {
      const ids = firstIds(state.runs[runId - 1], 64);
      await withCacheKept(lm.model, () => inspect(lm, ids, 0));
      await withCacheKept(lm.model, () => scoreContinuation(lm, [lm.tokenizer.documentStartId ?? lm.eosIds[0]], ids)); // what perplexity computes, on these very ids
    }
  }
  if (samples[samples.length - 1].tokens !== tokens) samples.push(await sample(tokens, state));
  const budgetFullAtTokens = samples.find((s) => s.logitsHeldMB >= (state.logitsBudget / MB) * 0.99)?.tokens ?? null;
  const fromTokens = Math.max(budgetFullAtTokens ?? 0, warmAtTokens) + 1;
  const per1000 = Object.fromEntries((['tensors', 'engineMB', 'wasmMB', 'heapMB', 'heapCommittedMB', 'arrayBuffersMB', 'rssMB', 'logitsHeldMB'] as const).map((k) => [k, growth(samples, k, fromTokens)]));
  const jsHeapMBPer1000Tokens = per1000.heapMB;
  const rssMBPer1000Tokens = per1000.rssMB;
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
    jsHeapMBPer1000Tokens,
    rssMBPer1000Tokens,
    bounds,
    withinBounds: jsHeapMBPer1000Tokens <= bounds.jsHeapMBPer1000Tokens && (bounds.rssMBPer1000Tokens === undefined || rssMBPer1000Tokens <= bounds.rssMBPer1000Tokens) && per1000.tensors === 0,
    /** Slopes from `growthFromTokens` on (see growth()). */
    growthPer1000Tokens: per1000,
    growthFromTokens: fromTokens,
    budgetFullAtTokens,
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
  // glibc raises its mmap threshold after the first large block is freed (a tool's 13 MB of logits on the 124M
  // shape), then keeps freed large blocks in its heap: process memory creeps by a few MB per tool use although
  // every heap is flat. npm run bench:soak fixes the threshold at glibc's default (128 KB), as browsers'
  // allocators return large blocks; run the file with plain node to see the other figure.
  const out: Record<string, unknown> = { backend: status.backend, mallocMmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? 'glibc default (dynamic)' };
  const embedded = loadModelDir(join(ROOT, 'models', 'nexttoken-3m'));
  out.embedded = await session(embedded, (a.tokens as number | undefined) ?? 5000, 100, { jsHeapMBPer1000Tokens: 1.5 });
  out.embeddedCacheKeep = await cacheKeepCost(embedded, 200);
  embedded.model.dispose();
  if (!a['skip-124m']) {
    const dir = join(ROOT, '.cache', 'gpt2-124m-random');
    if (!existsSync(join(dir, 'model.safetensors'))) {
      process.stderr.write(`writing the 124M-shaped model to ${dir} (once)…\n`);
      writeGpt2Random(dir);
    }
    const big = loadModelDir(dir);
    out.gpt2_124m = await session(big, (a['tokens-124m'] as number | undefined) ?? 2000, 200, { jsHeapMBPer1000Tokens: 2, rssMBPer1000Tokens: 5 });
    out.gpt2_124mCacheKeep = await cacheKeepCost(big, 500);
    big.model.dispose();
  }
  console.log(a.json ? JSON.stringify(out) : JSON.stringify(out, null, 2));
});
