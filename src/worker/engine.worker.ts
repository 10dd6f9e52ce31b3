// The inference worker: owns the engine and runs its jobs one at a time, off the main thread.
//
// Engine jobs (see protocol.ts) wait in one queue. A tool's forward passes hand the KV cache back as
// they found it (withCacheKept). A model load cancels what is running and queued, and its answer says
// what it cancelled. A lost GPU device moves the engine to WASM: the weights are loaded again from the
// same source and a running generation carries on from its last step.
import { isLlamaLayout } from '../engine/model/config.ts';
import { deviceLostReason, DeviceLostError, forgetLostDevice, selectBackend, watchDevice, type BackendName } from '../engine/runtime/backend.ts';
import { webgpuDevice } from '../engine/runtime/tfjsInternals.ts';
import { CancelledError } from '../engine/generate/cancelled.ts';
import { logitsAfter } from '../engine/generate/generate.ts';
import { WASM_PATHS } from '../engine/runtime/wasmPaths.ts';
import { withCacheKept } from '../engine/model/model.ts';
import type { LoadedModel } from '../engine/load/load.ts';
import { inspect } from '../engine/tools/inspect.ts';
import { gradientTimesInput, occlusion } from '../engine/tools/attribution.ts';
import { compareTemperatures, perplexity } from '../engine/tools/compare.ts';
import { askAll, askFact, knownAnswers, repeatAsk, summarize, type LensQuestion } from '../engine/tools/lens.ts';
import * as tf from '@tensorflow/tfjs';
import { listCachedModels, removeCachedModels } from './cacheStore.ts';
import { backendInfo, loadFastest, loadOn } from './chooseBackend.ts';
import { loadSource, type LoadedSource } from './loadSource.ts';
import { runGeneration, type GenerationHost, type LiveControls } from './generation.ts';
import { Relatives } from './relatives.ts';
import { readCharacters } from '../engine/tools/characters.ts';
import type { WeightDType } from '../engine/runtime/quant.ts';
import { chatReply } from '../engine/tools/finetune.ts';
import type { HubProgress } from '../engine/load/hub.ts';
import { IMMEDIATE_JOBS, type EngineState, type FaultHook, type JobName, type JobProgress, type JobRequest, type Jobs, type ModelSource, type Ready, type Request, type Response, type TokenView } from './protocol.ts';

let lm: LoadedModel | null = null;
let loaded: { source: ModelSource; backends?: string[]; dtype?: WeightDType } | null = null;
let questions: LensQuestion[] = []; // the hallucination lens's questions for the loaded model
let openings: string[] = []; // the guessing game's prompts where the model has no facts (the story model)
let answersFor = knownAnswers(questions); // each question's plausible answers, grouped once per model
let snapshots: LoadedSource['snapshots'] = null; // the loaded model's training snapshots, if it ships them
// Its snapshots, fine-tuning sibling and other precisions, built on first use and freed with it (relatives.ts).
const relatives = new Relatives({ need: () => need(), source: () => loaded?.source ?? null, snapshots: () => snapshots });
const faults: FaultHook[] = []; // armed by tests (?testHooks)
/** Started by a page with ?testHooks (EngineClient names the worker so): only then are faults accepted. */
const TEST_HOOKS = (self as unknown as { name?: string }).name?.split(' ').includes('testHooks') ?? false;

interface Running {
  req: JobRequest;
  ctl: AbortController;
  /** How far the job got, for the message of a load that cancels it. */
  progress: () => { done: number; total: number } | null;
  /** Does the job stop when its signal is aborted (or does a load have to wait for it)? */
  cancellable: boolean;
  /** The running generation's live controls. */
  live?: LiveControls;
}
let running: Running | null = null;
const queue: JobRequest[] = [];

const post = (msg: Response, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(msg, transfer);

function answer<K extends JobName>(reqId: number, job: K, value: Jobs[K]['result'], transfer: Transferable[] = []): void {
  post({ type: 'result', reqId, job, value } as Response, transfer);
}

/** Why the engine holds no model after a failed recovery (every job says so), or null. */
let failure: string | null = null;

function need(): LoadedModel {
  if (!lm) throw new Error(failure ?? 'The model is not loaded yet.');
  return lm;
}

/** Tells the page what the engine does and holds (EngineState); the phase, unless given, from what runs now. */
function report(phase?: EngineState['phase']): void {
  phase ??= failure ? 'failed' : running ? (running.req.job === 'load' ? 'loading' : 'busy') : lm ? 'ready' : 'empty';
  post({ type: 'engineState', state: { phase, model: lm?.name ?? null, backend: lm ? tf.getBackend() : null, detail: failure ?? undefined } });
}

function views(ids: number[]): TokenView[] {
  const m = need();
  return ids.map((id) => ({ id, label: m.tokenizer.tokenLabel(id), special: m.tokenizer.isSpecial(id) }));
}

// ---------- the queue ----------

function enqueue(req: JobRequest): void {
  if (req.job === 'load') {
    // A new model replaces everything: queued jobs are answered now, the running one is cancelled.
    for (const q of queue.splice(0)) post({ type: 'error', reqId: q.reqId, message: 'Cancelled before it started: a new model is loading.' });
    running?.ctl.abort();
    running?.live?.stop.abort();
  }
  queue.push(req);
  postQueue();
  void pump();
}

/** Each waiting job learns how many jobs are ahead of it (the running one included). */
function postQueue(): void {
  for (const [i, q] of queue.entries()) post({ type: 'queued', reqId: q.reqId, ahead: i + (running || pumping ? 1 : 0) });
}

let pumping = false;
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    while (!running && queue.length) {
      const req = queue.shift()!;
      postQueue();
      running = { req, ctl: new AbortController(), progress: () => null, cancellable: req.job === 'generate' || req.job === 'lensAll' || req.job === 'load' };
      post({ type: 'started', reqId: req.reqId });
      report();
      try {
        await runJob(req, running);
      } catch (e) {
        let message = (e as Error).message;
        if ((e instanceof DeviceLostError || deviceLostReason()) && loaded) {
          // A tool's pass died with the device (or hung on it): move to WASM now, so that trying again works — and say if it did not.
          try {
            await recoverFromDeviceLoss(e instanceof DeviceLostError ? e.reason : undefined);
            message += ' The engine moved to WASM and loaded the model again: try again.';
          } catch (err) {
            message += ' ' + (err as Error).message;
          }
        }
        post({ type: 'error', reqId: req.reqId, message, cancelled: e instanceof CancelledError ? { done: e.done, total: e.total } : undefined });
      } finally {
        running = null;
        report();
      }
    }
  } finally {
    pumping = false;
  }
}


async function runJob(req: JobRequest, job: Running): Promise<void> {
  const { signal } = job.ctl;
  // A device lost while nothing ran: move to WASM before the next job uses the model.
  // (A load goes ahead even if that move fails: a new model is what mends it.)
  if (recovering) await (req.job === 'load' ? recovering.catch(() => {}) : recovering);
  else if (req.job !== 'load' && deviceLostReason() && lm) await recoverFromDeviceLoss();
  switch (req.job) {
    case 'load':
      return answer(req.reqId, 'load', await load(req.args.source, req.args.backends, req.args.dtype, req.reqId, signal));
    case 'generate':
      return answer(req.reqId, 'generate', await runGeneration(generationHost, req.reqId, req.args, job));
    case 'lensAsk':
      return answer(req.reqId, 'lensAsk', await tool(() => askFact(need(), lensQuestion(req.args.index), answersFor(lensQuestion(req.args.index)))));
    case 'lensRepeat':
      return answer(req.reqId, 'lensRepeat', await tool(() => repeatAsk(need(), lensQuestion(req.args.index), req.args.n, req.args.temperature)));
    case 'lensAll': {
      let done = 0;
      job.progress = () => ({ done, total: questions.length });
      const answers = await tool(() =>
        askAll(
          need(),
          questions,
          (d, total) => {
            done = d;
            post({ type: 'lensProgress', reqId: req.reqId, done: d, total });
          },
          signal,
        ),
      );
      return answer(req.reqId, 'lensAll', { answers, summary: summarize(answers) });
    }
    case 'inspect':
      return answer(req.reqId, 'inspect', await tool(() => inspect(need(), req.args.ids, req.args.layer)));
    case 'occlusion':
      return answer(req.reqId, 'occlusion', await tool(() => occlusion(need(), req.args.ids, req.args.target)));
    case 'gradientTimesInput':
      return answer(req.reqId, 'gradientTimesInput', await tool(() => gradientTimesInput(need(), req.args.ids, req.args.target)));
    case 'compareTemperatures': {
      const a = req.args;
      return answer(req.reqId, 'compareTemperatures', await tool(() => compareTemperatures(need(), a.promptIds, a.temperatures, a.seed, a.maxTokens)));
    }
    case 'perplexity':
      return answer(req.reqId, 'perplexity', await tool(() => perplexity(need(), req.args.text)));
    case 'stepLogits': {
      if (fault('failStepLogits')) throw new Error('test hook: this step could not be recomputed');
      const logits = await tool(() => logitsAfter(need(), req.args.ids));
      return answer(req.reqId, 'stepLogits', logits, [logits.buffer]);
    }
    case 'characters':
      return answer(req.reqId, 'characters', await tool(() => readCharacters(need(), req.args.contextIds, req.args.candidateIds)));
    case 'checkpoints':
      return answer(req.reqId, 'checkpoints', await tool(() => relatives.checkpoints(req.args, signal)));
    case 'beforeAfter':
      return answer(req.reqId, 'beforeAfter', await tool(() => relatives.beforeAfter(req.args)));
    case 'precision':
      return answer(req.reqId, 'precision', await tool(() => relatives.precision(req.args)));
    case 'askBoth': {
      const a = req.args;
      const other = await relatives.siblingOf(a.other);
      const [base, tuned] = a.otherIs === 'base' ? [other, need()] : [need(), other];
      const reply = (m: LoadedModel) => chatReply(m, a.messages, a.settings, a.seed, a.maxTokens);
      return answer(req.reqId, 'askBoth', await tool(async () => ({ base: await reply(base), tuned: await reply(tuned) })));
    }
    case 'cacheRemove':
      await removeCachedModels();
      return answer(req.reqId, 'cacheRemove', null);
    default:
      return immediate(req);
  }
}

/** Jobs answered at once: no model run, so they need not wait for the queue. */
async function immediate(req: JobRequest): Promise<void> {
  switch (req.job) {
    case 'lensQuestions':
      return answer(req.reqId, 'lensQuestions', questions.map((q) => ({ question: q.question, answer: q.answer, seen: q.seen, lang: q.lang, completion: q.completion })));
    case 'cacheList':
      return answer(req.reqId, 'cacheList', await listCachedModels());
    case 'tokenize':
      return answer(req.reqId, 'tokenize', views(req.args.continuation ? need().tokenizer.encodeContinuation(req.args.text) : need().tokenizer.encode(req.args.text)));
    case 'chatPrompt':
      return answer(req.reqId, 'chatPrompt', need().tokenizer.applyChatTemplate(req.args.messages));
    case 'labels':
      return answer(req.reqId, 'labels', views(req.args.ids));
    case 'decode':
      // No ids yet (Plain text asked for before a run's first token): nothing to decode; the tokenizer refuses [].
      return answer(req.reqId, 'decode', req.args.ids.length ? need().tokenizer.decode(req.args.ids, true) : '');
    default:
      throw new Error(`${req.job} is an engine job, not an immediate one`);
  }
}

/** A tool's forward passes leave the generation's KV cache exactly as they found it. */
function tool<T>(fn: () => Promise<T>): Promise<T> {
  return withCacheKept(need().model, fn);
}

function lensQuestion(index: number): LensQuestion {
  const q = questions[index];
  if (!q) throw new Error(`There is no question ${index + 1}; this model has ${questions.length}.`);
  return q;
}

/** A new model (or a new backend) replaces the old one's snapshots, sibling and other precisions too. */
function useSource(next: LoadedSource): void {
  relatives.forget();
  lm = next.lm;
  questions = next.questions;
  openings = next.openings;
  answersFor = knownAnswers(questions);
  snapshots = next.snapshots;
}

// ---------- loading ----------

async function load(source: ModelSource, backends: string[] | undefined, dtype: WeightDType | undefined, reqId: number, signal: AbortSignal): Promise<Ready> {
  const cancelled = lastCancelled.splice(0);
  const waited = lastWaited.splice(0);
  const t0 = performance.now();
  // The other precisions go first (they are rebuilt on demand): a load then holds at most the old model and the new.
  relatives.forgetPrecisions();
  const callbacks = { signal, dtype, onProgress: (p: HubProgress) => post({ type: 'progress', reqId, ...p }), onWarning: (message: string) => post({ type: 'warning', message }), onUpdated: (message: string) => post({ type: 'warning', message }) };
  // Atomic: the new model is built (choosing a backend switches TF.js's active one) before anything is let go;
  // if it fails, the old model stays, on the backend it computes on.
  const previousBackend = lm ? tf.getBackend() : null;
  let chosen: Awaited<ReturnType<typeof loadOn>>;
  try {
    // No backend asked for: auto, remembered per model and device. `?backend=auto` measures again.
    chosen = !backends?.length || backends[0] === 'auto' ? await loadFastest(source, callbacks, !!backends?.length) : await loadOn(backends as BackendName[], source, callbacks);
  } catch (e) {
    if (previousBackend && tf.getBackend() !== previousBackend) await tf.setBackend(previousBackend);
    throw e;
  }
  // A device lost while the engine is idle: move to WASM at once, so the status line tells the truth.
  watchDevice()?.catch(() => {
    if (!running && lm) void recoverFromDeviceLoss().catch(() => {}); // a failure is said by the recovery itself
  });
  // The new model is built before the old one is let go: if the load fails, the old one still works.
  lm?.model.dispose();
  useSource(chosen.next);
  failure = null;
  loaded = { source, backends, dtype };
  return { model: modelInfo(chosen.next.lm), backend: chosen.info, loadMs: performance.now() - t0, cancelled, waited };
}

// What a load cancelled or waited for, filled in when it is queued (see onmessage), reported in its answer.
const lastCancelled: JobProgress[] = [];
const lastWaited: JobProgress[] = [];

function modelInfo(m: LoadedModel): Ready['model'] {
  return {
    name: m.name,
    params: m.model.params,
    weightBytes: m.weightBytes,
    engineBytes: tf.memory().numBytes + m.model.quantizedBytes,
    contextLength: m.model.contextLength,
    vocabSize: m.config.vocabSize,
    nLayer: m.config.nLayer,
    nHead: m.config.nHead,
    hasChatTemplate: m.tokenizer.hasChatTemplate,
    eosIds: m.eosIds,
    checkpoints: snapshots?.index.checkpoints.length ?? 0,
    dtype: m.model.dtype,
    rotary: isLlamaLayout(m.config),
    openings,
  };
}


let recovering: Promise<void> | null = null;
/** The GPU is gone: WASM (then WebGL, CPU) takes over, and the same model is loaded onto it. */
function recoverFromDeviceLoss(reason?: string): Promise<void> {
  recovering ??= (async () => {
    const why = deviceLostReason() ?? reason ?? 'unknown reason';
    const { source, dtype } = loaded!;
    const name = lm?.name ?? 'the model';
    lm = null; // its tensors lived on the lost device: nothing to free, nothing left to compute with
    relatives.lose(); // so did its snapshots', its sibling's and its other precisions'
    forgetLostDevice();
    report('recovering');
    try {
      if (fault('failRecovery')) throw new Error('test hook: the reload on WASM failed');
      const status = await selectBackend({ order: ['wasm', 'webgl', 'cpu'], wasmPaths: WASM_PATHS });
      const next = await loadSource(source, status.backend, { dtype, onWarning: (message) => post({ type: 'warning', message }) });
      useSource(next);
      failure = null;
      loaded = { source, backends: [status.backend], dtype };
      post({ type: 'backendChanged', backend: backendInfo(status, 'deviceLost'), why: `The GPU device was lost (${why}). The engine moved to ${status.backend} and reloaded ${next.lm.name}; nothing was lost.` });
    } catch (e) {
      // Said as it is: no model is held now, and every job says why until a load (or a page reload) mends it.
      failure = `The GPU device was lost (${why}) and moving the engine to WASM failed (${(e as Error).message}), so ${name} is no longer loaded. Reload the page (or load a model) to start again; your runs, prompt and settings are kept.`;
      post({ type: 'warning', message: failure });
      throw new Error(failure);
    }
  })().finally(() => {
    recovering = null;
    report(); // busy again (a job carries on), ready, or failed
  });
  return recovering;
}

/** What a generation needs of the worker (generation.ts). */
const generationHost: GenerationHost = { need, post, fault, loseDevice, recoverFromDeviceLoss };

// ---------- faults a test can cause ----------

/** An armed fault of this kind (at this step, for the kinds that have one), taken once; null if none is armed. */
function fault(kind: FaultHook['kind'], step?: number): FaultHook | null {
  const i = faults.findIndex((f) => f.kind === kind && (!('atStep' in f) || f.atStep === step));
  return i < 0 ? null : faults.splice(i, 1)[0];
}

/** Destroys the WebGPU device, as a driver reset would: device.lost resolves and pending reads fail. */
function loseDevice(): void {
  webgpuDevice()?.destroy();
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  switch (req.type) {
    case 'job':
      if (req.job === 'load' && running) (running.cancellable ? lastCancelled : lastWaited).push({ job: running.req.job, done: running.progress()?.done ?? null, total: running.progress()?.total ?? null });
      if (IMMEDIATE_JOBS.has(req.job)) {
        immediate(req).catch((err: Error) => post({ type: 'error', reqId: req.reqId, message: err.message }));
      } else enqueue(req);
      return;
    case 'cancel': {
      if (running?.req.reqId === req.reqId) running.ctl.abort();
      const i = queue.findIndex((q) => q.reqId === req.reqId);
      if (i >= 0) {
        queue.splice(i, 1);
        post({ type: 'error', reqId: req.reqId, message: 'Cancelled before it started.', cancelled: { done: 0, total: 0 } });
      }
      return;
    }
    case 'stop':
      running?.live?.stop.abort();
      return;
    case 'settings':
      if (running?.live) {
        running.live.settings = req.settings;
        running.live.delayMs = req.delayMs;
      }
      return;
    case 'ping':
      post({ type: 'pong', reqId: req.reqId });
      return;
    case 'fault':
      if (!TEST_HOOKS) return; // a page without ?testHooks cannot make the engine fail on purpose
      if (req.hook.kind === 'throw') {
        setTimeout(() => {
          throw new Error('test hook: the worker threw');
        });
      } else if (req.hook.kind === 'exit') self.close();
      else faults.push(req.hook);
      return;
  }
};
