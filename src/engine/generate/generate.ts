// The autoregressive loop: logits → sampler → token → append → repeat, one StepRecord per token.
import { lastLogits } from '../model/model.ts';
import { ContextFullError } from '../model/model.ts';
import type { LoadedModel } from '../load/load.ts';
import { createRng } from '../../sampling/prng.ts';
import { checkSamplingSettings } from '../../sampling/limits.ts';
import { pickSampling, samplingSettings, type SamplingSettings } from '../../sampling/stages.ts';
import { NonFiniteLogitsError, sampleNext, type SampleResult } from '../../sampling/step.ts';
import { packTop, type TopColumns } from '../../sampling/topColumns.ts';
import * as tf from '@tensorflow/tfjs';
import type { TurnEnd } from '../load/tokenizer.ts';

/** Sampling settings not given are off (stages.ts: NEUTRAL_SAMPLING). */
export interface GenerateOptions extends Partial<SamplingSettings> {
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
  /** A chat reply: stop where the assistant's turn ends (see Tokenizer.turnEnd). Text from an end
   *  string on is never yielded: tokens that might begin one are held back until they cannot. */
  turnEnd?: TurnEnd;
  /** Tests only: replaces step n's logits with NaN, as a damaged weight or a faulty backend would. */
  corrupt?: (step: number) => boolean;
}

export interface StepRecord extends Omit<SampleResult, 'top'> {
  step: number; // 0-based index of the generated token
  position: number; // its position in the context
  token: string; // how the token is shown (partial UTF-8 as <0xE4>)
  /** The topN most probable tokens, compact (topColumns.ts); their labels come from the tokenizer when shown. */
  top: TopColumns;
  settings: SamplingSettings;
  logits?: Float32Array;
}

export type StopReason = 'eos' | 'endOfTurn' | 'maxTokens' | 'aborted' | 'contextFull';

export interface GenerationSummary {
  promptIds: number[];
  generatedIds: number[];
  generatedTokens: number;
  stopReason: StopReason;
  prefillMs: number;
  msPerToken: number; // mean decode time per token after the first
  /** With stopReason 'endOfTurn' from an end string: the text from it on, computed but not part of the reply. */
  cutText?: string;
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
  const given = samplingSettings(opts);
  checkSamplingSettings(given);
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0) throw new RangeError(`maxTokens must be a whole number ≥ 0, got ${opts.maxTokens}`);
  checkPromptFits(lm, promptIds);
  const rng = createRng(opts.seed);
  for (let i = 0; i < (opts.rngSkip ?? 0); i++) rng();
  const ids = promptIds.slice();
  const t0 = now();
  let logits = await lastLogits(lm.model.forward(feedFrom(lm, ids), true));
  const prefillMs = now() - t0;
  const generated: number[] = [];
  const held = new HeldBack(lm, opts.turnEnd?.strings ?? []);
  let stopReason: StopReason = 'maxTokens';
  let cutText: string | undefined;
  let tDecode = now();
  for (let step = 0; step < opts.maxTokens; step++) {
    if (opts.signal?.aborted) {
      stopReason = 'aborted';
      break;
    }
    const settings = opts.settingsForStep?.(step) ?? given;
    if (opts.corrupt?.(step)) logits = logits.map(() => NaN); // a test hook: what damaged weights produce
    let s: SampleResult;
    try {
      s = sampleNext(logits, settings, rng, opts.topN ?? 20, ids); // refuses non-finite logits itself; `ids` is the context so far, for the repetition penalty
    } catch (e) {
      // The sampler does not know which step this is, or on what backend: say both.
      if (e instanceof NonFiniteLogitsError) throw new NonFiniteLogitsError(e.bad, e.total, step, tf.getBackend());
      throw e;
    }
    const record: StepRecord = {
      ...s,
      step,
      position: ids.length,
      token: lm.tokenizer.tokenLabel(s.id),
      top: packTop(s.top, s.stages.length),
      settings: pickSampling(settings),
    };
    if (opts.keepLogits) record.logits = logits;
    ids.push(s.id);
    generated.push(s.id);
    if (step === 0) tDecode = now();
    const released = held.add(record, generated);
    yield* released.ready;
    if (released.cut !== null) {
      stopReason = 'endOfTurn';
      cutText = released.cut;
      generated.length = released.kept;
      break;
    }
    if (lm.eosIds.includes(s.id)) {
      stopReason = 'eos';
      break;
    }
    if (opts.turnEnd?.ids.includes(s.id)) {
      stopReason = 'endOfTurn';
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
  if (cutText === undefined) yield* held.flush(); // tokens held back that turned out not to end the turn
  const decoded = Math.max(0, generated.length - 1);
  return {
    promptIds,
    generatedIds: generated,
    generatedTokens: generated.length,
    stopReason,
    prefillMs,
    msPerToken: decoded > 0 ? (now() - tDecode) / decoded : 0,
    ...(cutText !== undefined ? { cutText } : {}),
  };
}

/**
 * Holds back the records whose text might be the start of a turn-ending string, and finds the
 * string when it is complete. The reply's text is decoded whole each time (a byte token can change
 * how the text before it decodes), and each record's end offset in it is remembered.
 */
class HeldBack {
  private readonly ends: number[] = [];
  private readonly pending: StepRecord[] = [];
  private released = 0;

  constructor(
    private readonly lm: LoadedModel,
    private readonly strings: string[],
  ) {}

  /** `generated`: every id generated so far, `record`'s last. */
  add(record: StepRecord, generated: number[]): { ready: StepRecord[]; cut: string | null; kept: number } {
    if (!this.strings.length) return { ready: [record], cut: null, kept: generated.length };
    const text = this.lm.tokenizer.decode(generated, true);
    this.ends.push(text.length);
    this.pending.push(record);
    let cutAt = -1;
    for (const s of this.strings) {
      const i = text.indexOf(s);
      if (i >= 0 && (cutAt < 0 || i < cutAt)) cutAt = i;
    }
    if (cutAt >= 0) {
      const ready = this.releaseUpTo(cutAt);
      this.pending.length = 0;
      return { ready, cut: text.slice(cutAt), kept: this.released };
    }
    // The earliest offset from which the text could still grow into an end string.
    let safe = text.length;
    for (const s of this.strings) {
      for (let n = Math.min(s.length - 1, text.length); n > 0; n--) {
        if (text.endsWith(s.slice(0, n))) {
          safe = Math.min(safe, text.length - n);
          break;
        }
      }
    }
    return { ready: this.releaseUpTo(safe), cut: null, kept: this.released };
  }

  /** Releases pending records whose text ends at or before `offset`. */
  private releaseUpTo(offset: number): StepRecord[] {
    const out: StepRecord[] = [];
    while (this.pending.length && this.ends[this.released] <= offset) {
      out.push(this.pending.shift()!);
      this.released++;
    }
    return out;
  }

  flush(): StepRecord[] {
    this.released += this.pending.length;
    return this.pending.splice(0);
  }
}

/** The logits after `ids` (what the step at position ids.length sampled from), reusing the cached prefix. */
export async function logitsAfter(lm: LoadedModel, ids: number[]): Promise<Float32Array> {
  checkPromptFits(lm, ids);
  return lastLogits(lm.model.forward(feedFrom(lm, ids), true));
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
