// Messages between the page and the inference worker. The page never imports TF.js; the worker owns
// the engine, the tokenizer and the KV cache.
import type { StepRecord, GenerationSummary } from '../engine/generate/generate.ts';
import type { HubProgress } from '../engine/load/hub.ts';
import type { ChatMessage } from '../engine/load/tokenizer.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';

export interface ModelInfo {
  name: string;
  params: number;
  weightBytes: number;
  contextLength: number;
  vocabSize: number;
  nLayer: number;
  nHead: number;
  hasChatTemplate: boolean;
  eosIds: number[];
}

export interface BackendInfo {
  backend: string;
  description: string; // "wasm (SIMD, threads) — not used: webgpu: no adapter …"
  softwareAdapter: boolean;
}

/** Where a model comes from: a folder served over HTTP (the embedded model), or a Hub repository. */
export type ModelSource = { kind: 'url'; url: string } | { kind: 'hub'; id: string; revision: string; endpoint: string };

export interface CachedModel {
  id: string;
  revision: string;
  bytes: number;
  complete: boolean;
}

export interface LoadProgressMsg extends HubProgress {
  type: 'progress';
}

export type Request =
  | { type: 'load'; source: ModelSource; backends?: string[] }
  | { type: 'cacheList'; reqId: number }
  | { type: 'lensQuestions'; reqId: number }
  | { type: 'lensAsk'; reqId: number; index: number }
  | { type: 'lensRepeat'; reqId: number; index: number; n: number; temperature: number }
  | { type: 'lensAll'; reqId: number }
  | { type: 'inspect'; reqId: number; ids: number[]; layer: number }
  | { type: 'compareTemperatures'; reqId: number; promptIds: number[]; temperatures: number[]; seed: number; maxTokens: number }
  | { type: 'perplexity'; reqId: number; text: string }
  | { type: 'cacheRemove'; reqId: number }
  | { type: 'generate'; genId: number; promptIds: number[]; settings: SamplingSettings; seed: number; rngSkip: number; maxTokens: number; delayMs: number; chat: boolean }
  | { type: 'cancel'; reqId: number }
  | { type: 'settings'; settings: SamplingSettings; delayMs: number }
  | { type: 'stop' }
  | { type: 'tokenize'; reqId: number; text: string }
  | { type: 'chatPrompt'; reqId: number; messages: ChatMessage[] }
  | { type: 'labels'; reqId: number; ids: number[] }
  | { type: 'decode'; reqId: number; ids: number[] };

export interface TokenView {
  id: number;
  label: string;
  special: boolean;
}

export type Response =
  | LoadProgressMsg
  | { type: 'warning'; message: string }
  | { type: 'lensProgress'; reqId: number; done: number; total: number }
  | { type: 'ready'; model: ModelInfo; backend: BackendInfo; loadMs: number }
  | { type: 'step'; genId: number; record: StepRecord }
  | { type: 'done'; genId: number; summary: GenerationSummary }
  | { type: 'error'; genId?: number; reqId?: number; message: string; cancelled?: { done: number; total: number } }
  | { type: 'result'; reqId: number; value: unknown };
