// The page's handle on the inference worker: every request is a promise with a timeout, streamed
// steps and progress are callbacks, and a worker that crashes or stops answering is replaced (the app
// then reloads the model; its runs live in the page and are kept).
import type { GenerationSummary, StepRecord } from '../engine/generate/generate.ts';
import { CancelledError } from '../engine/generate/cancelled.ts';
import type { ChatMessage } from '../engine/load/tokenizer.ts';
import type { HubProgress } from '../engine/load/hub.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import type { Inspection } from '../engine/tools/inspect.ts';
import { IMMEDIATE_JOBS, type BackendInfo, type BeforeAfterArgs, type EngineState, type FaultHook, type GenerateArgs, type PrecisionArgs, type WeightDType, type JobName, type JobRequest, type Jobs, type ModelSource, type Request, type Response } from '../worker/protocol.ts';

export type { LensQuestionView, RepeatResult } from '../worker/protocol.ts';

export interface GenerateCallbacks {
  /** `labels`: how the step's candidates are shown (the record holds only their ids). */
  onStep(record: StepRecord, labels: Record<number, string>): void;
  /** A slow-motion step looked inside during its pause (GenerateArgs.inspectLayer). */
  onInspected?(step: number, inspection: Inspection): void;
  onDone(summary: GenerationSummary): void;
  onError(message: string): void;
}

interface CallOptions {
  onStep?: (record: StepRecord, labels: Record<number, string>) => void;
  onInspected?: (step: number, inspection: Inspection) => void;
  onProgress?: (p: HubProgress) => void;
  onLensProgress?: (done: number, total: number) => void;
  /** While the job waits in the worker's queue: how many jobs are ahead of it. */
  onQueued?: (ahead: number) => void;
}

interface Pending {
  job: JobName;
  resolve: (v: never) => void;
  reject: (e: Error) => void;
  opts: CallOptions;
  timer: ReturnType<typeof setTimeout> | null;
  started: boolean; // the worker began it (until then it waits in the worker's queue, behind another job)
}

/**
 * How long a request may stay silent (no answer, step or progress) before it is given up, in seconds.
 * Silence, not total time: a long generation or download that keeps reporting never times out.
 */
export const SILENCE_TIMEOUT_S: Record<JobName, number> = {
  load: 120,
  generate: 120,
  lensAsk: 120,
  lensRepeat: 300,
  lensAll: 120,
  inspect: 120,
  occlusion: 120,
  gradientTimesInput: 120,
  compareTemperatures: 300,
  perplexity: 120,
  stepLogits: 120,
  characters: 120,
  checkpoints: 120,
  beforeAfter: 120,
  precision: 300,
  askBoth: 300,
  cacheRemove: 30,
  lensQuestions: 20,
  cacheList: 30,
  tokenize: 20,
  chatPrompt: 20,
  labels: 20,
  decode: 20,
};

/** A request that ended because the worker was replaced: whoever restarts the engine (onRestarted) reloads it. */
export class EngineRestartedError extends Error {}

export class EngineClient {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private generationId: number | null = null;
  private lensAllId: number | null = null;
  onWarning: (message: string) => void = () => {};
  /** The engine moved to another backend by itself (a lost GPU device), and why. */
  onBackendChanged: (backend: BackendInfo, why: string) => void = () => {};
  /** The worker was replaced after a crash or silence; the model must be loaded again. */
  onRestarted: (why: string) => void = () => {};
  /** What the engine does and holds, each time that changes. */
  onEngineState: (state: EngineState) => void = () => {};

  constructor(
    private readonly timeoutScale = 1,
    /** ?testHooks: the worker then accepts test faults; it is told by its name, the one thing set at its start. */
    private readonly testHooks = false,
  ) {
    this.worker = this.start();
  }

  private start(): Worker {
    const w = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: this.testHooks ? 'nexttoken-engine testHooks' : 'nexttoken-engine' });
    w.onmessage = (e: MessageEvent<Response>) => {
      if (w === this.worker) this.receive(e.data); // a replaced worker's last messages are not news
    };
    w.onerror = (e) => {
      e.preventDefault();
      this.restart(`the inference worker crashed: ${e.message || 'an uncaught error'}`);
    };
    return w;
  }

  /** Replaces the worker; every pending request fails with a message that says so. */
  private restart(why: string): void {
    this.worker.terminate();
    this.worker = this.start();
    const message = `The engine stopped (${why}). It was restarted and the model is loading again; your runs are kept. Try again in a moment.`;
    for (const [reqId, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(reqId);
      p.reject(new EngineRestartedError(message));
    }
    this.generationId = null;
    this.onEngineState({ phase: 'empty', model: null, backend: null });
    this.onRestarted(why);
  }

  private send(req: Request): void {
    this.worker.postMessage(req);
  }

  private receive(msg: Response): void {
    switch (msg.type) {
      case 'warning':
        this.onWarning(msg.message);
        return;
      case 'backendChanged':
        this.onBackendChanged(msg.backend, msg.why);
        return;
      case 'pong':
        this.pongs.get(msg.reqId)?.();
        return;
      case 'engineState':
        this.onEngineState(msg.state);
        return;
    }
    const p = this.pending.get(msg.reqId);
    if (!p) return;
    if (msg.type === 'started') p.started = true;
    this.arm(msg.reqId, p); // any word from the job resets its silence timer
    switch (msg.type) {
      case 'started':
        return;
      case 'queued':
        p.opts.onQueued?.(msg.ahead);
        return;
      case 'progress':
        p.opts.onProgress?.(msg);
        return;
      case 'lensProgress':
        p.opts.onLensProgress?.(msg.done, msg.total);
        return;
      case 'step':
        p.opts.onStep?.(msg.record, msg.labels);
        return;
      case 'stepInspected':
        p.opts.onInspected?.(msg.step, msg.inspection);
        return;
      case 'result':
        this.settle(msg.reqId);
        p.resolve(msg.value as never);
        return;
      case 'error':
        this.settle(msg.reqId);
        p.reject(msg.cancelled ? new CancelledError(msg.cancelled.done, msg.cancelled.total) : new Error(msg.message));
        return;
    }
  }

  private settle(reqId: number): void {
    const p = this.pending.get(reqId);
    if (p?.timer) clearTimeout(p.timer);
    this.pending.delete(reqId);
    if (this.generationId === reqId) this.generationId = null;
  }

  /**
   * The silence timer counts from the moment the job starts. Until then it waits behind another job (a
   * slow-motion generation may take minutes): it is not given up, but the worker is checked to be alive
   * as often as the job's own timeout, and replaced if it is not.
   */
  private arm(reqId: number, p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    const s = SILENCE_TIMEOUT_S[p.job] * this.timeoutScale;
    p.timer = setTimeout(() => void (p.started ? this.timedOut(reqId, p, s) : this.whileQueued(reqId, p, s)), s * 1000);
  }

  private async whileQueued(reqId: number, p: Pending, seconds: number): Promise<void> {
    if (!this.pending.has(reqId) || p.started) return;
    if (await this.alive(5000)) {
      if (this.pending.has(reqId) && !p.started) this.arm(reqId, p);
      return;
    }
    if (this.pending.has(reqId)) this.restart(`it stopped answering while ${p.job} waited ${Math.round(seconds)} s to start`);
  }

  /** A request went silent: it fails with a message; if the worker no longer answers at all, it is replaced. */
  private async timedOut(reqId: number, p: Pending, seconds: number): Promise<void> {
    if (!this.pending.has(reqId)) return;
    this.settle(reqId);
    p.reject(new Error(`${p.job} got no answer from the engine within ${Math.round(seconds)} s, so it was given up. Your text and settings are kept; try again.`));
    this.send({ type: 'cancel', reqId });
    if (!(await this.alive(5000))) this.restart(`it stopped answering (${p.job} waited ${Math.round(seconds)} s)`);
  }

  private readonly pongs = new Map<number, () => void>();
  /** Does the worker answer a ping within `ms`? (A worker busy in one long kernel answers late, not never.) */
  alive(ms: number): Promise<boolean> {
    const reqId = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pongs.delete(reqId);
        resolve(false);
      }, ms);
      this.pongs.set(reqId, () => {
        clearTimeout(t);
        this.pongs.delete(reqId);
        resolve(true);
      });
      this.send({ type: 'ping', reqId });
    });
  }

  /** One request of the table in protocol.ts. */
  call<K extends JobName>(job: K, args: Jobs[K]['args'], opts: CallOptions = {}): { reqId: number; result: Promise<Jobs[K]['result']> } {
    const reqId = this.nextId++;
    const result = new Promise<Jobs[K]['result']>((resolve, reject) => {
      // An immediate job (tokenize, decode, …) is answered beside the queue: its timer runs from the start.
      const p: Pending = { job, resolve: resolve as (v: never) => void, reject, opts, timer: null, started: IMMEDIATE_JOBS.has(job) };
      this.pending.set(reqId, p);
      this.arm(reqId, p);
      this.send({ type: 'job', reqId, job, args } as JobRequest);
    });
    return { reqId, result };
  }

  private ask<K extends JobName>(job: K, args: Jobs[K]['args'], opts: CallOptions = {}): Promise<Jobs[K]['result']> {
    return this.call(job, args, opts).result;
  }

  // ---------- the app's vocabulary ----------

  load(source: ModelSource, backends: string[] | undefined, onProgress: (p: HubProgress) => void, dtype?: WeightDType): Promise<Jobs['load']['result']> {
    // A URL relative to the page (?modelUrl=models/x/) would resolve against the worker's script in assets/.
    if (source.kind === 'url') source = { ...source, url: new URL(source.url, document.baseURI).href };
    return this.ask('load', { source, backends, dtype }, { onProgress });
  }

  lensQuestions() {
    return this.ask('lensQuestions', {});
  }
  lensAsk(index: number) {
    return this.ask('lensAsk', { index });
  }
  lensRepeat(index: number, n: number, temperature: number) {
    return this.ask('lensRepeat', { index, n, temperature });
  }
  async lensAll(onLensProgress: (done: number, total: number) => void): Promise<Jobs['lensAll']['result']> {
    const { reqId, result } = this.call('lensAll', {}, { onLensProgress });
    this.lensAllId = reqId;
    try {
      return await result;
    } finally {
      this.lensAllId = null;
    }
  }
  /** Cancels a running "Check all questions"; its promise rejects with a CancelledError. */
  cancelLensAll(): void {
    if (this.lensAllId !== null) this.send({ type: 'cancel', reqId: this.lensAllId });
  }
  inspect(ids: number[], layer: number) {
    return this.ask('inspect', { ids, layer });
  }
  occlusion(ids: number[], target: number) {
    return this.ask('occlusion', { ids, target });
  }
  gradientTimesInput(ids: number[], target: number) {
    return this.ask('gradientTimesInput', { ids, target });
  }
  compareTemperatures(promptIds: number[], temperatures: number[], seed: number, maxTokens: number) {
    return this.ask('compareTemperatures', { promptIds, temperatures, seed, maxTokens });
  }
  perplexity(text: string) {
    return this.ask('perplexity', { text });
  }
  stepLogits(ids: number[], onQueued?: (ahead: number) => void) {
    return this.ask('stepLogits', { ids }, { onQueued });
  }
  characters(contextIds: number[], candidateIds: number[]) {
    return this.ask('characters', { contextIds, candidateIds });
  }
  checkpoints(promptIds: number[], settings: SamplingSettings, seed: number, maxTokens: number) {
    return this.ask('checkpoints', { promptIds, settings, seed, maxTokens });
  }
  beforeAfter(args: BeforeAfterArgs) {
    return this.ask('beforeAfter', args);
  }
  precision(args: PrecisionArgs) {
    return this.ask('precision', args);
  }
  askBoth(args: Jobs['askBoth']['args']) {
    return this.ask('askBoth', args);
  }
  cachedModels() {
    return this.ask('cacheList', {});
  }
  removeCachedModels(): Promise<void> {
    return this.ask('cacheRemove', {}).then(() => undefined);
  }
  tokenize(text: string, continuation = false) {
    return this.ask('tokenize', { text, continuation });
  }
  chatPrompt(messages: ChatMessage[]) {
    return this.ask('chatPrompt', { messages });
  }
  labels(ids: number[]) {
    return this.ask('labels', { ids });
  }
  decode(ids: number[]) {
    return this.ask('decode', { ids });
  }

  get busy(): boolean {
    return this.generationId !== null;
  }

  generate(args: GenerateArgs, cb: GenerateCallbacks): void {
    const { reqId, result } = this.call('generate', args, { onStep: (r, labels) => cb.onStep(r, labels), onInspected: (step, d) => cb.onInspected?.(step, d) });
    this.generationId = reqId;
    result.then(
      (summary) => cb.onDone(summary),
      (e: Error) => cb.onError(e.message),
    );
  }

  updateSettings(settings: SamplingSettings, delayMs: number): void {
    this.send({ type: 'settings', settings, delayMs });
  }

  stop(): void {
    this.send({ type: 'stop' });
  }

  /** Tests only (the page opened with ?testHooks): makes the worker fail on purpose. */
  fault(hook: FaultHook): void {
    this.send({ type: 'fault', hook });
  }
}
