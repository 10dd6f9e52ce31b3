// A generation in the worker: the steps streamed to the page as they are drawn (each with its candidates'
// labels), slow motion's look inside each step, and a lost GPU device survived mid-run. The queue, the
// models and the recovery itself stay in engine.worker.ts; what this needs of them is GenerationHost.
import { deviceLostReason, DeviceLostError } from '../engine/runtime/backend.ts';
import { generate, type GenerationSummary, type StepRecord } from '../engine/generate/generate.ts';
import { withCacheKept } from '../engine/model/model.ts';
import type { LoadedModel } from '../engine/load/load.ts';
import { inspect, MAX_INSPECT_TOKENS } from '../engine/tools/inspect.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import { topIds } from '../sampling/topColumns.ts';
import { SLOW_MOTION_MS, type FaultHook, type GenerateArgs, type Response } from './protocol.ts';

/** The running generation's live controls: the page may change them between tokens. */
export interface LiveControls {
  settings: SamplingSettings;
  delayMs: number;
  stop: AbortController;
}

/** What the queue knows of a running generation: its controls, and how far it got (for a load that cancels it). */
export interface GenerationJob {
  ctl: AbortController;
  progress: () => { done: number; total: number } | null;
  live?: LiveControls;
}

export interface GenerationHost {
  /** The loaded model (throws with the reason when there is none). */
  need(): LoadedModel;
  post(msg: Response, transfer?: Transferable[]): void;
  /** An armed test fault of this kind at this step, taken once (?testHooks only). */
  fault(kind: FaultHook['kind'], step?: number): FaultHook | null;
  loseDevice(): void;
  /** Moves the engine to WASM and reloads the model there; rejects, with the reason, if that fails. */
  recoverFromDeviceLoss(reason?: string): Promise<void>;
}

/** How a step's candidates are shown: sent with the step, learned once by the page (AppState.labels). */
function candidateLabels(m: LoadedModel, record: StepRecord): Record<number, string> {
  return Object.fromEntries(topIds(record.top).map((id) => [id, m.tokenizer.tokenLabel(id)]));
}

/**
 * Streams a generation. If the GPU device is lost on the way, the model moves to WASM and the run
 * carries on from its last posted step: the same ids, the same random stream, the same step numbers.
 */
export async function runGeneration(host: GenerationHost, reqId: number, a: GenerateArgs, job: GenerationJob): Promise<GenerationSummary> {
  const { need, post, fault, loseDevice, recoverFromDeviceLoss } = host;
  const live = { settings: a.settings, delayMs: a.delayMs, stop: new AbortController() };
  job.live = live;
  job.ctl.signal.addEventListener('abort', () => live.stop.abort());
  const posted: StepRecord[] = [];
  job.progress = () => ({ done: posted.length, total: a.maxTokens });
  let first: GenerationSummary | null = null;
  for (let attempt = 0; ; attempt++) {
    const from = posted.length;
    const draws = posted.filter((r) => r.draw !== null).length;
    try {
      const m = need();
      const gen = generate(m, [...a.promptIds, ...posted.map((r) => r.id)], {
        ...a.settings,
        seed: a.seed,
        rngSkip: a.rngSkip + draws,
        maxTokens: a.maxTokens - from,
        signal: live.stop.signal,
        keepLogits: true,
        settingsForStep: () => live.settings,
        turnEnd: a.chat ? m.tokenizer.turnEnd() : undefined,
        corrupt: (step) => fault('nanLogits', from + step) !== null,
      });
      for (;;) {
        const r = await gen.next();
        if (r.done) {
          first ??= r.value;
          const generatedIds = [...posted.slice(0, from).map((x) => x.id), ...r.value.generatedIds];
          return { ...r.value, promptIds: a.promptIds, generatedIds, generatedTokens: generatedIds.length, prefillMs: first.prefillMs };
        }
        const record = { ...r.value, step: from + r.value.step };
        post({ type: 'step', reqId, record, labels: candidateLabels(m, record) }, [record.logits!.buffer]);
        posted.push({ ...record, logits: undefined });
        if (fault('loseDevice', record.step)) loseDevice();
        // In slow motion the pause is spent looking inside this step (the picture fills in with it), then what is left of it waited.
        const paused = performance.now();
        if (a.inspectLayer !== null && live.delayMs >= SLOW_MOTION_MS) await inspectInPause(post, reqId, m, [...a.promptIds, ...posted.slice(0, -1).map((x) => x.id)], record.step, a.inspectLayer);
        // Let 'stop' and 'settings' in between tokens (and pause in slow motion).
        await new Promise((res) => setTimeout(res, Math.max(0, live.delayMs - (performance.now() - paused))));
      }
    } catch (e) {
      const lost = e instanceof DeviceLostError || deviceLostReason() !== null;
      if (!lost || attempt > 0) throw e;
      await recoverFromDeviceLoss(e instanceof DeviceLostError ? e.reason : undefined);
    }
  }
}

/**
 * One slow-motion step looked inside, between two tokens: the generation's KV cache is kept as it was. A failure
 * here costs only the picture's numbers (a learner's Look inside can still ask), never the run.
 */
async function inspectInPause(post: GenerationHost['post'], reqId: number, m: LoadedModel, ids: number[], step: number, layer: number): Promise<void> {
  if (ids.length > MAX_INSPECT_TOKENS || layer >= m.config.nLayer) return;
  try {
    const inspection = await withCacheKept(m.model, () => inspect(m, ids, layer));
    post({ type: 'stepInspected', reqId, step, inspection });
  } catch {
    // the next token's forward pass reports a real fault (a lost device) itself
  }
}
