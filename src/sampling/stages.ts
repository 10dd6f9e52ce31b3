// The sampling rules as a chain of stages, applied in list order. Everything that names a rule (the
// sampler, the step record, the panel and the chain views, the app's controls, the link, the CLI, the JSON
// export, the limits and the labels) reads this list, so a rule is added here and nowhere else decides its place.
//
// Each stage is one file in chain/ holding the whole unit (metadata, allowed range, label, check, its
// effect on both sampling paths, how the app shows its control); chain/stage.ts says what a stage is. To add
// one: write its file, add one line to STAGES below.
//
// The order is Hugging Face's `generate`: logits processors first, then the warpers in the order
// temperature, top-k, top-p, min-p. A stage is a function from a distribution to a distribution:
//   1. repetitionPenalty  logits → logits  every token already in the context (prompt and output):
//                                          a positive logit is divided by θ, a negative one multiplied
//                                          by θ, so θ > 1 always makes it less likely        (1 = off)
//   2. temperature        logits → probs   softmax(logits / T); T = 0 puts all mass on the argmax
//   3. topK               probs → probs    keep the k most probable tokens                   (0 = off)
//   4. topP               probs → probs    of what is left, renormalised, keep the smallest most-probable
//                                          prefix whose mass reaches p                       (1 = off)
//   5. minP               probs → probs    keep the tokens with p ≥ min_p · p_max            (0 = off)
// and then what is kept is renormalised and one token drawn (sampler.ts). Each truncation stage keeps a
// prefix of the rank order, so the kept set after any stage is "the m most probable tokens".
// A stage's distribution is shown renormalised: a learner sees what a draw right after it would use.
import { minP } from './chain/minP.ts';
import { repetitionPenalty } from './chain/repetitionPenalty.ts';
import type { Stage } from './chain/stage.ts';
import { temperature } from './chain/temperature.ts';
import { topK } from './chain/topK.ts';
import { topP } from './chain/topP.ts';

export { isActive, type ChainSettings, type Stage } from './chain/stage.ts';

const BUILT_IN = [repetitionPenalty, temperature, topK, topP, minP] as const;

export type StageName = (typeof BUILT_IN)[number]['name'];

/** The built-in chain. A caller can run a longer one: distributions() and sampleNext() take a chain. */
export const STAGES: readonly Stage<StageName>[] = BUILT_IN;

/** One value per stage; a stage at its `off` value changes nothing. */
export type SamplingSettings = Record<StageName, number>;

/** Every stage off: the model's own distribution, sampled as it is. */
export const NEUTRAL_SAMPLING: SamplingSettings = Object.fromEntries(STAGES.map((s) => [s.name, s.off])) as SamplingSettings;

/** Settings with every stage not given left off (for callers that name only some rules). */
export function samplingSettings(partial: Partial<SamplingSettings>): SamplingSettings {
  const out = { ...NEUTRAL_SAMPLING };
  for (const s of STAGES) if (partial[s.name] !== undefined) out[s.name] = partial[s.name]!;
  return out;
}

/** Only the sampling values of a larger object (a setup, a step's options), in stage order. */
export function pickSampling(from: SamplingSettings): SamplingSettings {
  return samplingSettings(Object.fromEntries(STAGES.map((s) => [s.name, from[s.name]])));
}

export function sameSampling(a: SamplingSettings, b: SamplingSettings): boolean {
  return STAGES.every((s) => a[s.name] === b[s.name]);
}

/** What one stage did at one step, as the step record stores it (N: a longer chain's names). */
export interface StageRecord<N extends string = StageName> {
  name: N;
  value: number;
  /** Tokens with non-zero probability after this stage. */
  kept: number;
  /** The chosen token's probability after this stage (renormalised). */
  chosen: number;
}

/** The first stage that left the chosen token out (its probability 0 from there on), or null if every stage kept it. */
export function excludedBy<N extends string>(stages: readonly StageRecord<N>[]): StageRecord<N> | null {
  return stages.find((s) => s.chosen === 0) ?? null;
}
