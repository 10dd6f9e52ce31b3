// Messages between the page and the inference worker. The page never imports TF.js; the worker owns
// the engine, the tokenizer and the KV cache.
//
// One table, `Jobs`, says what every request carries and what it answers. Engine jobs (anything that
// runs the model) wait in one queue and run one at a time; tokenizer look-ups and the cache listing
// are answered at once, between engine steps. Control messages (stop, cancel, live settings) act on
// the job that is running.
import type { StepRecord, GenerationSummary } from '../engine/generate/generate.ts';
import type { HubProgress } from '../engine/load/hub.ts';
import type { ChatMessage } from '../engine/load/tokenizer.ts';
import type { Inspection } from '../engine/tools/inspect.ts';
import type { GradientAttribution, Occlusion } from '../engine/tools/attribution.ts';
import type { LensAnswer, LensSummaryRow } from '../engine/tools/lens.ts';
import type { Surprise, TemperatureColumn } from '../engine/tools/compare.ts';
import type { BeforeAfter, ChatReply } from '../engine/tools/finetune.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import type { CheckpointPrediction } from '../engine/tools/checkpoints.ts';
import type { CharacterReading } from '../engine/tools/characters.ts';
import type { PrecisionComparison } from '../engine/tools/precision.ts';
import type { WeightDType } from '../engine/runtime/quant.ts';

export type { WeightDType };
/** The precisions a model can be loaded at (the weight matrices quantized on load), in the picker's order. */
export const PRECISIONS: readonly WeightDType[] = ['f32', 'q8_0', 'q4_0'];

export interface ModelInfo {
  name: string;
  params: number;
  weightBytes: number;
  /** Bytes the engine holds once the model is in (tf.memory(): the weights as computed on, and the KV cache's first bucket). */
  engineBytes: number;
  contextLength: number;
  vocabSize: number;
  nLayer: number;
  nHead: number;
  hasChatTemplate: boolean;
  eosIds: number[];
  /** How many training snapshots the model has (0: trained elsewhere, none shipped). */
  checkpoints: number;
  /** The weight matrices' precision (float32, or quantized on load). */
  dtype: WeightDType;
  /** Whether positions enter by rotary embedding inside attention (Llama family) rather than an added vector. */
  rotary: boolean;
  /** Openings the guessing game offers for a model with no facts to ask (the story model); empty otherwise. */
  openings: string[];
}

export interface BackendInfo {
  backend: string;
  description: string; // "wasm (SIMD, multithreaded build, 4 threads) — not used: webgpu: no adapter …"
  softwareAdapter: boolean;
  /** For the status line's one plain sentence (the description holds the detail). */
  how: 'measured' | 'remembered' | 'asked' | 'fallback' | 'deviceLost';
  /** How many threads WASM runs on (0: another backend). */
  threads: number;
  /** Backends that could not start here (the reasons are in the description). */
  unavailable: string[];
}

/** Where a model comes from: a folder served over HTTP (the embedded model), or a Hub repository. */
/** A Hub source with `file` is one GGUF file of the repository ("owner/name/file.gguf"). */
export type ModelSource = { kind: 'url'; url: string } | { kind: 'hub'; id: string; revision: string; endpoint: string; file?: string };

export interface CachedModel {
  id: string;
  revision: string;
  endpoint: string;
  bytes: number;
  complete: boolean;
}

export interface TokenView {
  id: number;
  label: string;
  special: boolean;
}

export interface LensQuestionView {
  question: string;
  answer: string;
  seen: boolean | null;
  lang: 'en' | 'zh';
  /** The fact as a sentence to continue ("The capital of France is"): the guessing game offers these. */
  completion: string;
}

export interface RepeatResult {
  answers: { said: string; count: number }[];
  agreement: number;
}

export interface Ready {
  model: ModelInfo;
  backend: BackendInfo;
  loadMs: number;
  /** The jobs the load stopped to make room (with how far each got), if any. */
  cancelled: JobProgress[];
  /** The jobs the load waited for instead (short ones that cannot stop half-way, e.g. Look inside). */
  waited: JobProgress[];
}

export interface JobProgress {
  job: JobName;
  done: number | null; // questions asked, tokens generated
  total: number | null;
}

export interface GenerateArgs {
  promptIds: number[];
  settings: SamplingSettings;
  seed: number;
  rngSkip: number;
  maxTokens: number;
  delayMs: number;
  chat: boolean;
  /**
   * In slow motion (a pause of at least SLOW_MOTION_MS between tokens), inspect each step at this layer during the
   * pause, so the model's picture fills in with the step's own numbers as it is shown (null: never).
   */
  inspectLayer: number | null;
}

/** A pause between tokens from which on the run is in slow motion: animated, and each step inspected in its pause. */
export const SLOW_MOTION_MS = 250;

export interface BeforeAfterArgs {
  other: ModelSource;
  otherIs: 'base' | 'tuned';
  contextIds: number[];
  chat: { messages: ChatMessage[]; replyIds: number[] } | null;
  chosenId: number | null;
}

export interface PrecisionArgs {
  /** The step's context (the model reads it at each precision) and the token the run drew there. */
  contextIds: number[];
  chosenId: number | null;
  /** The run's prompt, continued greedily at each precision for `greedyTokens`. */
  promptIds: number[];
  greedyTokens: number;
}

/** Every request the page can make: its arguments and its answer. */
export interface Jobs {
  load: { args: { source: ModelSource; backends?: string[]; dtype?: WeightDType }; result: Ready };
  generate: { args: GenerateArgs; result: GenerationSummary };
  lensAsk: { args: { index: number }; result: LensAnswer };
  lensRepeat: { args: { index: number; n: number; temperature: number }; result: RepeatResult };
  lensAll: { args: Record<string, never>; result: { answers: LensAnswer[]; summary: LensSummaryRow[] } };
  inspect: { args: { ids: number[]; layer: number }; result: Inspection };
  occlusion: { args: { ids: number[]; target: number }; result: Occlusion };
  gradientTimesInput: { args: { ids: number[]; target: number }; result: GradientAttribution };
  compareTemperatures: { args: { promptIds: number[]; temperatures: number[]; seed: number; maxTokens: number }; result: TemperatureColumn[] };
  perplexity: { args: { text: string }; result: { tokens: Surprise[]; perplexity: number; bitsPerToken: number } };
  /** The logits after `ids` (a past step's, recomputed when the page no longer holds them). */
  stepLogits: { args: { ids: number[] }; result: Float32Array };
  cacheRemove: { args: Record<string, never>; result: null };
  /**
   * The loaded model's next-token distribution beside its fine-tuning sibling's (`other`, loaded on first
   * use and kept): `contextIds` as the loaded model reads the step; in a chat, the sibling reads the same
   * conversation (`messages`) in its own template, followed by the same `replyIds`.
   */
  beforeAfter: { args: BeforeAfterArgs; result: BeforeAfter };
  /** The loaded model at float32, Q8_0 and Q4_0 (quantized on the fly) at one step, and greedy runs from its prompt. */
  precision: { args: PrecisionArgs; result: PrecisionComparison };
  /** The same conversation answered by the base and by the tuned model (each in its own template). */
  askBoth: { args: { other: ModelSource; otherIs: 'base' | 'tuned'; messages: ChatMessage[]; settings: SamplingSettings; seed: number; maxTokens: number }; result: { base: ChatReply; tuned: ChatReply } };
  /** The prompt through every training snapshot of the model (the embedded model ships them). */
  /** Candidates at one position that are part of a character, each read on (the model's top choices) to that character. */
  characters: { args: { contextIds: number[]; candidateIds: number[] }; result: Record<number, CharacterReading> };
  checkpoints: { args: { promptIds: number[]; settings: SamplingSettings; seed: number; maxTokens: number }; result: { totalSteps: number; predictions: CheckpointPrediction[] } };
  // Answered at once (no model run):
  lensQuestions: { args: Record<string, never>; result: LensQuestionView[] };
  cacheList: { args: Record<string, never>; result: CachedModel[] };
  /** continuation: text that follows other text (a guess, a forced token): no BOS, no SentencePiece "▁" before it. */
  tokenize: { args: { text: string; continuation?: boolean }; result: TokenView[] };
  chatPrompt: { args: { messages: ChatMessage[] }; result: string };
  labels: { args: { ids: number[] }; result: TokenView[] };
  decode: { args: { ids: number[] }; result: string };
}
export type JobName = keyof Jobs;

/** Jobs that never run the model: answered between engine steps instead of waiting in the queue. */
export const IMMEDIATE_JOBS: ReadonlySet<JobName> = new Set<JobName>(['lensQuestions', 'cacheList', 'tokenize', 'chatPrompt', 'labels', 'decode']);

/** Faults a test can cause on purpose (only when the page was opened with ?testHooks). */
export type FaultHook =
  | { kind: 'loseDevice'; atStep: number }
  | { kind: 'throw' }
  | { kind: 'exit' }
  | { kind: 'nanLogits'; atStep: number }
  /** The next move to WASM after a lost device fails (as a page out of memory would). */
  | { kind: 'failRecovery' }
  /** The next recomputation of a step's logits is refused (as an engine that cannot compute it would). */
  | { kind: 'failStepLogits' };

/**
 * What the engine is doing and what it holds, posted whenever it changes: `backend` is TF.js's active backend,
 * the one the held model computes on. `failed`: the model was lost and could not be loaded again (`detail` says why).
 */
export interface EngineState {
  phase: 'empty' | 'loading' | 'ready' | 'busy' | 'recovering' | 'failed';
  model: string | null;
  backend: string | null;
  detail?: string;
}

export type JobRequest = { [K in JobName]: { type: 'job'; reqId: number; job: K; args: Jobs[K]['args'] } }[JobName];

export type Request =
  | JobRequest
  | { type: 'cancel'; reqId: number } // a queued or running job; it answers with an error
  | { type: 'stop' } // the running generation ends after its current token, as a normal 'aborted' end
  | { type: 'settings'; settings: SamplingSettings; delayMs: number } // the running generation, from its next token
  | { type: 'ping'; reqId: number }
  | { type: 'fault'; hook: FaultHook };

export type JobResult = { [K in JobName]: { type: 'result'; reqId: number; job: K; value: Jobs[K]['result'] } }[JobName];

export type Response =
  | JobResult
  | { type: 'error'; reqId: number; message: string; cancelled?: { done: number; total: number } }
  | { type: 'started'; reqId: number } // a queued job began
  | { type: 'queued'; reqId: number; ahead: number } // a job waits: how many jobs run or wait before it
  | ({ type: 'progress'; reqId: number } & HubProgress)
  | { type: 'lensProgress'; reqId: number; done: number; total: number }
  /** `labels`: the label of each of the step's candidates (the record holds their ids only). */
  | { type: 'step'; reqId: number; record: StepRecord; labels: Record<number, string> }
  /** A slow-motion step, inspected in its pause (GenerateArgs.inspectLayer). */
  | { type: 'stepInspected'; reqId: number; step: number; inspection: Inspection }
  | { type: 'warning'; message: string }
  /** The engine changed backend by itself (a lost GPU device); `why` says what happened. */
  | { type: 'backendChanged'; backend: BackendInfo; why: string }
  | { type: 'pong'; reqId: number }
  | { type: 'engineState'; state: EngineState };
