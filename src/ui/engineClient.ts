// The page's handle on the inference worker: requests become promises, streamed steps become callbacks.
import type { GenerationSummary, StepRecord } from '../engine/generate/generate.ts';
import type { Surprise, TemperatureColumn } from '../engine/tools/compare.ts';
import type { Inspection } from '../engine/tools/inspect.ts';
import { CancelledError } from '../engine/generate/cancelled.ts';
import type { LensAnswer, LensSummaryRow } from '../engine/tools/lens.ts';
import type { ChatMessage } from '../engine/load/tokenizer.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import type { BackendInfo, CachedModel, LoadProgressMsg, ModelInfo, ModelSource, Request, Response, TokenView } from '../worker/protocol.ts';

export interface LensQuestionView {
  question: string;
  answer: string;
  seen: boolean | null;
}
export interface RepeatResult {
  answers: { said: string; count: number }[];
  agreement: number;
}

export interface GenerateCallbacks {
  onStep(record: StepRecord): void;
  onDone(summary: GenerationSummary): void;
  onError(message: string): void;
}

export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private lensCancel: (() => void) | null = null;
  private generation: { genId: number; cb: GenerateCallbacks } | null = null;
  private loading: { resolve: (v: { model: ModelInfo; backend: BackendInfo; loadMs: number }) => void; reject: (e: Error) => void } | null = null;
  onProgress: (p: LoadProgressMsg) => void = () => {};
  onWarning: (message: string) => void = () => {};
  private lensProgress = new Map<number, (done: number, total: number) => void>();

  constructor() {
    this.worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<Response>) => this.receive(e.data);
    this.worker.onerror = (e) => this.fail(`The inference worker crashed: ${e.message}`);
  }

  private send(req: Request): void {
    this.worker.postMessage(req);
  }

  private fail(message: string): void {
    this.loading?.reject(new Error(message));
    this.loading = null;
    this.generation?.cb.onError(message);
    this.generation = null;
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
  }

  private receive(msg: Response): void {
    switch (msg.type) {
      case 'progress':
        this.onProgress(msg);
        break;
      case 'warning':
        this.onWarning(msg.message);
        break;
      case 'lensProgress':
        this.lensProgress.get(msg.reqId)?.(msg.done, msg.total);
        break;
      case 'ready':
        this.loading?.resolve(msg);
        this.loading = null;
        break;
      case 'step':
        if (this.generation?.genId === msg.genId) this.generation.cb.onStep(msg.record);
        break;
      case 'done':
        if (this.generation?.genId === msg.genId) {
          const cb = this.generation.cb;
          this.generation = null;
          cb.onDone(msg.summary);
        }
        break;
      case 'result':
        this.pending.get(msg.reqId)?.resolve(msg.value);
        this.pending.delete(msg.reqId);
        break;
      case 'error':
        if (msg.reqId !== undefined) {
          this.pending.get(msg.reqId)?.reject(msg.cancelled ? new CancelledError(msg.cancelled.done, msg.cancelled.total) : new Error(msg.message));
          this.pending.delete(msg.reqId);
        } else if (msg.genId !== undefined && this.generation?.genId === msg.genId) {
          const cb = this.generation.cb;
          this.generation = null;
          cb.onError(msg.message);
        } else if (this.loading) {
          this.loading.reject(new Error(msg.message));
          this.loading = null;
        }
        break;
    }
  }

  private request<T>(make: (reqId: number) => Request): Promise<T> {
    const reqId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject });
      this.send(make(reqId));
    });
  }

  load(source: ModelSource, backends?: string[]): Promise<{ model: ModelInfo; backend: BackendInfo; loadMs: number }> {
    return new Promise((resolve, reject) => {
      this.loading = { resolve, reject };
      this.send({ type: 'load', source, backends });
    });
  }

  get loadingModel(): boolean {
    return this.loading !== null;
  }

  lensQuestions(): Promise<LensQuestionView[]> {
    return this.request((reqId) => ({ type: 'lensQuestions', reqId }));
  }

  lensAsk(index: number): Promise<LensAnswer> {
    return this.request((reqId) => ({ type: 'lensAsk', reqId, index }));
  }

  lensRepeat(index: number, n: number, temperature: number): Promise<RepeatResult> {
    return this.request((reqId) => ({ type: 'lensRepeat', reqId, index, n, temperature }));
  }

  async lensAll(onProgress: (done: number, total: number) => void): Promise<{ answers: LensAnswer[]; summary: LensSummaryRow[] }> {
    const reqId = this.nextId++;
    this.lensProgress.set(reqId, onProgress);
    this.lensCancel = () => this.send({ type: 'cancel', reqId });
    try {
      return await new Promise((resolve, reject) => {
        this.pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject });
        this.send({ type: 'lensAll', reqId });
      });
    } finally {
      this.lensProgress.delete(reqId);
      this.lensCancel = null;
    }
  }

  /** Cancels a running "Check all questions"; its promise rejects with a CancelledError. */
  cancelLensAll(): void {
    this.lensCancel?.();
  }

  inspect(ids: number[], layer: number): Promise<Inspection> {
    return this.request((reqId) => ({ type: 'inspect', reqId, ids, layer }));
  }

  compareTemperatures(promptIds: number[], temperatures: number[], seed: number, maxTokens: number): Promise<TemperatureColumn[]> {
    return this.request((reqId) => ({ type: 'compareTemperatures', reqId, promptIds, temperatures, seed, maxTokens }));
  }

  perplexity(text: string): Promise<{ tokens: Surprise[]; perplexity: number; bitsPerToken: number }> {
    return this.request((reqId) => ({ type: 'perplexity', reqId, text }));
  }

  cachedModels(): Promise<CachedModel[]> {
    return this.request((reqId) => ({ type: 'cacheList', reqId }));
  }

  removeCachedModels(): Promise<void> {
    return this.request((reqId) => ({ type: 'cacheRemove', reqId }));
  }

  get busy(): boolean {
    return this.generation !== null;
  }

  generate(promptIds: number[], settings: SamplingSettings, seed: number, rngSkip: number, maxTokens: number, delayMs: number, chat: boolean, cb: GenerateCallbacks): void {
    const genId = this.nextId++;
    this.generation = { genId, cb };
    this.send({ type: 'generate', genId, promptIds, settings, seed, rngSkip, maxTokens, delayMs, chat });
  }

  updateSettings(settings: SamplingSettings, delayMs: number): void {
    this.send({ type: 'settings', settings, delayMs });
  }

  stop(): void {
    this.send({ type: 'stop' });
  }

  tokenize(text: string): Promise<TokenView[]> {
    return this.request((reqId) => ({ type: 'tokenize', reqId, text }));
  }

  chatPrompt(messages: ChatMessage[]): Promise<string> {
    return this.request((reqId) => ({ type: 'chatPrompt', reqId, messages }));
  }

  labels(ids: number[]): Promise<TokenView[]> {
    return this.request((reqId) => ({ type: 'labels', reqId, ids }));
  }

  decode(ids: number[]): Promise<string> {
    return this.request((reqId) => ({ type: 'decode', reqId, ids }));
  }
}
