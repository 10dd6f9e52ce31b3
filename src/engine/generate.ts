// The autoregressive loop: logits → sampler → token → append → repeat, one StepRecord per token.
import { lastLogits } from './model.ts';
import { ContextFullError } from './model.ts';
import type { LoadedModel } from './load.ts';
import { createRng } from '../sampling/prng.ts';
import type { SamplingSettings } from '../sampling/sampler.ts';
import { sampleNext, type Candidate, type SampleResult } from '../sampling/step.ts';

export interface GenerateOptions extends SamplingSettings {
  maxTokens: number;
  seed: number;
  topN?: number; // candidates recorded per step (default 20)
  signal?: AbortSignal;
  /** Keep each step's full logits on its record (the UI re-draws charts from them). */
  keepLogits?: boolean;
  /** Random draws already used by earlier steps of this run: skipped, so "Next token" and branches
   *  continue the very stream one uninterrupted Generate would have used. */
  rngSkip?: number;
  /** Called before each step; lets the UI change settings mid-generation ("from the next token"). */
  settingsForStep?: (step: number) => SamplingSettings;
}

export interface StepRecord extends SampleResult {
  step: number; // 0-based index of the generated token
  position: number; // its position in the context
  token: string; // how the token is shown (partial UTF-8 as <0xE4>)
  top: (Candidate & { token: string })[];
  settings: SamplingSettings;
  logits?: Float32Array;
}

export type StopReason = 'eos' | 'maxTokens' | 'aborted' | 'contextFull';

export interface GenerationSummary {
  promptIds: number[];
  generatedIds: number[];
  generatedTokens: number;
  stopReason: StopReason;
  prefillMs: number;
  msPerToken: number; // mean decode time per token after the first
}

/** Tokens a model can still take after `ids`; a prompt that does not fit is refused, never cut. */
export function checkPromptFits(lm: LoadedModel, promptIds: number[]): void {
  if (promptIds.length === 0) throw new Error('The prompt is empty: type some text for the model to continue.');
  if (promptIds.length >= lm.model.contextLength) throw new ContextFullError(promptIds.length + 1, lm.model.contextLength);
}

/**
 * Generates from `promptIds`. Positions already in the KV cache that match the prompt are reused
 * (a chat's earlier turns, or a branch from a past step), so only new tokens are computed.
 */
export async function* generate(lm: LoadedModel, promptIds: number[], opts: GenerateOptions): AsyncGenerator<StepRecord, GenerationSummary> {
  checkPromptFits(lm, promptIds);
  const rng = createRng(opts.seed);
  for (let i = 0; i < (opts.rngSkip ?? 0); i++) rng();
  const ids = promptIds.slice();
  const t0 = now();
  let logits = await lastLogits(lm.model.forward(feedFrom(lm, ids), true));
  const prefillMs = now() - t0;
  const generated: number[] = [];
  let stopReason: StopReason = 'maxTokens';
  let tDecode = now();
  for (let step = 0; step < opts.maxTokens; step++) {
    if (opts.signal?.aborted) {
      stopReason = 'aborted';
      break;
    }
    const settings = opts.settingsForStep?.(step) ?? opts;
    const s = sampleNext(logits, settings, rng, opts.topN ?? 20);
    const record: StepRecord = {
      ...s,
      step,
      position: ids.length,
      token: lm.tokenizer.tokenLabel(s.id),
      top: s.top.map((c) => ({ ...c, token: lm.tokenizer.tokenLabel(c.id) })),
      settings: { temperature: settings.temperature, topK: settings.topK, topP: settings.topP },
    };
    if (opts.keepLogits) record.logits = logits;
    ids.push(s.id);
    generated.push(s.id);
    if (step === 0) tDecode = now();
    yield record;
    if (lm.eosIds.includes(s.id)) {
      stopReason = 'eos';
      break;
    }
    if (step + 1 >= opts.maxTokens) break;
    if (ids.length >= lm.model.contextLength) {
      stopReason = 'contextFull';
      break;
    }
    if (opts.signal?.aborted) {
      stopReason = 'aborted';
      break;
    }
    logits = await lastLogits(lm.model.forward([s.id], true));
  }
  const decoded = Math.max(0, generated.length - 1);
  return {
    promptIds,
    generatedIds: generated,
    generatedTokens: generated.length,
    stopReason,
    prefillMs,
    msPerToken: decoded > 0 ? (now() - tDecode) / decoded : 0,
  };
}

/** Truncates the cache to the longest cached prefix of `ids` and returns the tokens still to run. */
function feedFrom(lm: LoadedModel, ids: number[]): number[] {
  const cached = lm.model.cachedIds;
  let same = 0;
  // At least one token is always run: its logits are what the first step samples from.
  while (same < cached.length && same < ids.length - 1 && cached[same] === ids[same]) same++;
  lm.model.truncate(same);
  return ids.slice(same);
}

function now(): number {
  return performance.now();
}
