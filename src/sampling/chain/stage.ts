// What a sampling stage is. Each stage lives in one file of this folder and holds the whole unit: its
// metadata, its allowed range, its label, its check, its effect on the distribution (the readable
// reference path, distributions() in sampler.ts) and, for a truncation stage, its linear-time effect
// (the fast path, sampleNext() in step.ts). ../stages.ts lists them in order: that list is the chain.
//
// Adding a stage: write one file here (copy the nearest kind), add one line to STAGES in ../stages.ts.
// Limits, URL key, CLI flag, labels, the app's control (ui/layout.ts builds one per stage from `input`) and
// both samplers pick it up from there.
//
// Three kinds, and the chain runs them in this order (checkChain refuses any other):
//   logits       logits → logits   before the softmax (repetition penalty)
//   temperature  logits → probs    the softmax itself; exactly one per chain
//   truncate     probs → probs     zero some tokens. Each keeps a prefix of the rank order (the m most
//                                  probable tokens of what is left), so a kept set is just "its first m ranks".
import type { RankedIds } from '../ranked.ts';

/** An allowed range: every surface (URL, CLI, controls, engine) checks through limits.ts with it. */
export interface Limit {
  min: number;
  /** false: the minimum itself is not allowed (top-p must be above 0). */
  minIncluded: boolean;
  max: number;
  integer: boolean;
  /** The allowed values in words (English; the UI's zh strings say the same with these numbers). */
  rule: string;
}

interface StageBase<N extends string> {
  readonly name: N;
  /** The value that turns it off (temperature: 1, the model's own distribution). */
  readonly off: number;
  readonly cliFlag: string;
  readonly urlKey: string;
  /** A short name for the views: "T", "top-k", … */
  readonly symbol: string;
  readonly limit: Limit;
  /** Its name in the UI's languages (i18n/en.ts and zh.ts read it from here). */
  readonly label: { readonly en: string; readonly zh: string };
  /**
   * How a person sets it in the app: a slider (its ends are `limit`'s; an excluded minimum becomes min + step) or
   * a number box, its step, and where it sits — on the first screen or in the "More settings" drawer.
   */
  readonly input: { readonly kind: 'range' | 'number'; readonly step: number; readonly place: 'first' | 'more' };
  /** Throws a RangeError for a value the stage cannot run with (looser than `limit`, which is the UI's range). */
  check(value: number): void;
}

export interface LogitsStage<N extends string = string> extends StageBase<N> {
  readonly kind: 'logits';
  /** New logits (the input is not changed). `seen`: the context so far (prompt and output). */
  applyLogits(logits: Float32Array, value: number, seen: ArrayLike<number>): Float32Array;
}

export interface TemperatureStage<N extends string = string> extends StageBase<N> {
  readonly kind: 'temperature';
  /** logits → probabilities; `out` may be a reused array. */
  apply(logits: Float32Array, value: number, out?: Float32Array): Float32Array;
  /** The fast path's version: may return `atT1` (softmax of the same logits at T = 1) instead of computing it again. */
  applyFast(logits: Float32Array, value: number, atT1: Float32Array, out: Float32Array): Float32Array;
  /** No draw at this value: the most probable token is taken (T = 0). */
  greedy(value: number): boolean;
}

export interface TruncateStage<N extends string = string> extends StageBase<N> {
  readonly kind: 'truncate';
  /**
   * Reference: zero what it cuts from `probs` (what earlier stages left, not renormalised); `order` is
   * every id in rank order. Returns a new array. Must keep a prefix of `order`.
   */
  apply(probs: Float32Array, value: number, order?: Uint32Array): Float32Array;
  /**
   * Fast path: what it keeps of `kept`, exactly as `apply` would (the same ids; sums in the same order
   * where a sum decides). Return `kept` itself when it cuts nothing. No full sort, no per-token arrays
   * beyond the kept ids (fastPath.ts has the reusable scratch and helpers).
   */
  keepFast(ctx: FastContext, kept: Kept, value: number): Kept;
}

export type Stage<N extends string = string> = LogitsStage<N> | TemperatureStage<N> | TruncateStage<N>;
export type StageKind = Stage['kind'];

/** The settings of any chain: one number per stage name (SamplingSettings is this for the built-in chain). */
export type ChainSettings = Readonly<Record<string, number>>;

/** What a truncation stage sees on the fast path, at one step. */
export interface FastContext {
  /** Ids by rank (of `rankBy`), ranked only as far as asked. */
  readonly order: RankedIds;
  /** softmax(logits after the logits stages) at T = 1: the rank order's key. */
  readonly rankBy: Float32Array;
  /** After temperature, not truncated: what every truncation stage's sums and thresholds are over. */
  readonly tempered: Float32Array;
  readonly V: number;
}

/**
 * The kept set so far: the first `ids.length` ranks (null: every token). `inIdOrder` says the ids are
 * listed in ascending id order (sums over them need no sort); otherwise in any order.
 */
export interface Kept {
  readonly ids: Int32Array | null;
  readonly inIdOrder: boolean;
}

export const KEEP_ALL: Kept = { ids: null, inIdOrder: false };

/**
 * The one temperature stage, after checking the chain's shape: logits stages, then exactly one
 * temperature, then truncation stages; no name twice (settings and records are keyed by name).
 */
export function checkChain<N extends string>(chain: readonly Stage<N>[]): TemperatureStage<N> {
  let temperature: TemperatureStage<N> | null = null;
  const names = new Set<string>();
  for (const stage of chain) {
    if (names.has(stage.name)) throw new Error(`Sampling chain: the stage "${stage.name}" appears twice; each stage name may appear once.`);
    names.add(stage.name);
    if (stage.kind === 'temperature') {
      if (temperature) throw new Error(`Sampling chain: two temperature stages ("${temperature.name}" and "${stage.name}"); a chain has exactly one.`);
      temperature = stage;
    } else if (stage.kind === 'truncate' && !temperature) {
      throw new Error(`Sampling chain: the truncation stage "${stage.name}" comes before temperature; truncation acts on probabilities, so it must come after the temperature stage.`);
    } else if (stage.kind === 'logits' && temperature) {
      throw new Error(`Sampling chain: the logits stage "${stage.name}" comes after temperature; it must come before it, while there are still logits.`);
    }
  }
  if (!temperature) throw new Error('Sampling chain: no temperature stage; a chain needs exactly one (it makes the probabilities).');
  return temperature;
}

/** Is this stage doing anything under these settings? Temperature always is (T = 1 included: it makes the softmax). */
export function isActive(stage: Stage, s: ChainSettings): boolean {
  return stage.kind === 'temperature' || s[stage.name] !== stage.off;
}
