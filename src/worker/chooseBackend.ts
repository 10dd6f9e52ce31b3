// Which backend the engine runs on: a given order, or the faster of WebGPU and WASM measured at load
// (the default), remembered per model and device. Used by the worker's load job.
import * as tf from '@tensorflow/tfjs';
import { describeBackend, selectBackend, type BackendName, type BackendStatus } from '../engine/runtime/backend.ts';
import { WASM_PATHS } from '../engine/runtime/wasmPaths.ts';
import { loadSource, type LoadCallbacks } from './loadSource.ts';
import type { BackendInfo, ModelSource } from './protocol.ts';
import type { LoadedModel } from '../engine/load/load.ts';
import { lastLogits } from '../engine/model/model.ts';
import { argmax } from '../sampling/sampler.ts';

type Loaded = Awaited<ReturnType<typeof loadSource>>;

export async function loadOn(order: BackendName[] | undefined, source: ModelSource, cb: LoadCallbacks): Promise<{ next: Loaded; info: BackendInfo }> {
  const status = await selectBackend({ order, wasmPaths: WASM_PATHS });
  return { next: await loadSource(source, status.backend, cb), info: backendInfo(status, 'asked') };
}

/**
 * The default (and ?backend=auto): the model is loaded on WebGPU and on WASM, a few decode steps are
 * timed on each, and the faster is kept (a 3M model can be faster on WASM than on a GPU); the status line
 * shows both figures. One candidate is held at a time beside the current model (each is freed before the next
 * loads; the likely winner is measured last, and loaded again only if it was not the winner after all). The result is remembered per model and device, so a later load
 * loads once; `measureAgain` (?backend=auto) ignores what was remembered. Where neither can start, the
 * usual order goes on (WebGL, then CPU) with the reasons.
 */
export async function loadFastest(source: ModelSource, cb: LoadCallbacks, measureAgain: boolean): Promise<{ next: Loaded; info: BackendInfo }> {
  const candidates: { status: BackendStatus }[] = [];
  const skipped: string[] = [];
  for (const name of ['webgpu', 'wasm'] as BackendName[]) {
    try {
      candidates.push({ status: await selectBackend({ order: [name], wasmPaths: WASM_PATHS }) });
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message}`);
    }
  }
  const unavailable = skipped.map((s) => s.split(':')[0]);
  const notAvailable = skipped.length ? `; not available: ${skipped.join('; ')}` : '';
  if (!candidates.length) {
    const fallback = await loadOn(['webgl', 'cpu'], source, cb);
    return { next: fallback.next, info: { ...fallback.info, how: 'fallback', unavailable: [...unavailable, ...fallback.info.unavailable], description: `${fallback.info.description} (${skipped.join('; ')})` } };
  }
  const key = autoKey(source, candidates.map((c) => c.status), cb.dtype ?? 'file');
  const remembered = candidates.length > 1 && !measureAgain ? await recallChoice(key) : null;
  const known = remembered && candidates.find((c) => c.status.backend === remembered.backend);
  if (known) {
    const next = await loadOn([known.status.backend], source, cb);
    return { next: next.next, info: { ...next.info, how: 'remembered', unavailable, description: `auto → ${next.info.description} (measured on this device before: ${remembered.figures}; ?backend=auto measures again)` } };
  }
  const tried: { status: BackendStatus; msPerToken: number }[] = [];
  let last: Loaded | null = null;
  try {
    for (const c of measuringOrder(candidates)) {
      last?.lm.model.dispose(); // one candidate at a time (each tensor is freed by its own backend)
      last = null;
      if (tf.getBackend() !== c.status.backend) await tf.setBackend(c.status.backend);
      last = await loadSource(source, c.status.backend, cb);
      tried.push({ status: c.status, msPerToken: await decodeMsPerToken(last.lm) });
    }
  } catch (e) {
    last?.lm.model.dispose(); // a failed load holds nothing new
    throw e;
  }
  const winner = tried.reduce((a, b) => (b.msPerToken < a.msPerToken ? b : a));
  let next = last!;
  if (winner !== tried.at(-1)) {
    next.lm.model.dispose();
    await tf.setBackend(winner.status.backend);
    next = await loadSource(source, winner.status.backend, cb);
  }
  const figures = tried.map((t) => `${t.status.backend} ${t.msPerToken.toFixed(1)} ms/token`).join(', ');
  if (tried.length > 1) await rememberChoice(key, { backend: winner.status.backend, figures });
  const info = backendInfo(winner.status, 'measured');
  return { next, info: { ...info, unavailable, description: `auto → ${info.description} (measured at load: ${figures}${notAvailable})` } };
}

/**
 * The likely winner is measured last, so that it is the one still loaded and a third load is rare: a GPU
 * (WebGPU on a hardware adapter) is usually faster, so WASM goes first; on a software adapter WASM usually
 * wins, so WebGPU goes first. A wrong guess costs what it cost before: the winner loaded again.
 */
export function measuringOrder<T extends { status: BackendStatus }>(candidates: T[]): T[] {
  const realGpu = (c: T) => c.status.backend === 'webgpu' && c.status.adapter !== undefined && !c.status.adapter.isFallbackAdapter;
  return [...candidates.filter((c) => !realGpu(c)), ...candidates.filter(realGpu)];
}

// The auto choice, per model and device, in Cache Storage (which a worker can use; localStorage it cannot).
const AUTO_CACHE = 'nexttoken-auto-v1';
type AutoChoice = { backend: BackendName; figures: string };

function autoKey(source: ModelSource, statuses: BackendStatus[], dtype: string): string {
  const device = statuses.map((s) => (s.adapter ? `${s.backend}:${s.adapter.vendor}/${s.adapter.architecture}` : s.backend)).join(',');
  // Per precision too: the fastest backend for float32 weights need not be the fastest for quantized ones.
  return `https://nexttoken.invalid/auto?${new URLSearchParams({ source: JSON.stringify(source), dtype, device, agent: navigator.userAgent })}`;
}

async function recallChoice(key: string): Promise<AutoChoice | null> {
  try {
    const hit = await (await caches.open(AUTO_CACHE)).match(key);
    return hit ? ((await hit.json()) as AutoChoice) : null;
  } catch {
    return null; // no Cache Storage here (an insecure origin): measure each time
  }
}

async function rememberChoice(key: string, choice: AutoChoice): Promise<void> {
  try {
    await (await caches.open(AUTO_CACHE)).put(key, new Response(JSON.stringify(choice), { headers: { 'Content-Type': 'application/json' } }));
  } catch {
    // Not remembered: the next load measures again.
  }
}

export function backendInfo(status: BackendStatus, how: BackendInfo['how']): BackendInfo {
  return {
    backend: status.backend,
    description: describeBackend(status),
    softwareAdapter: Boolean(status.adapter?.isFallbackAdapter),
    how,
    threads: status.wasm?.threadCount ?? 0,
    unavailable: status.attempts.filter((a) => !a.ok).map((a) => a.name),
  };
}

/** Mean ms per greedy decode step after an 8-token prefill (`steps` steps, one warm-up step first): for choosing a backend at load. */
export async function decodeMsPerToken(lm: LoadedModel, steps = 8): Promise<number> {
  const prompt = lm.tokenizer.encode('The quick brown fox jumps over the lazy dog.').slice(0, 8);
  lm.model.truncate(0);
  let logits = await lastLogits(lm.model.forward(prompt.length ? prompt : [0], true));
  logits = await lastLogits(lm.model.forward([argmax(logits)], true)); // warm-up: shaders, kernels
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) logits = await lastLogits(lm.model.forward([argmax(logits)], true));
  const ms = (performance.now() - t0) / steps;
  lm.model.truncate(0);
  return ms;
}
