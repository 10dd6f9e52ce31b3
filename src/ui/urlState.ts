// The shareable part of the app's state, kept in the URL: open the link, get the same setup.
import { LIMITS, parseSetting, type SettingKey } from '../sampling/limits.ts';
import { STAGES, type SamplingSettings } from '../sampling/stages.ts';

export type Mode = 'complete' | 'chat';

export interface Setup extends SamplingSettings {
  mode: Mode;
  prompt: string;
  seed: number;
  randomSeed: boolean;
  maxTokens: number;
  delayMs: number; // slow motion
  message: string; // the chat message being written (not part of the link)
}

/**
 * The prompt a learner meets first, in the interface's language: a fact the embedded model saw in training
 * (greedy: " Paris" / "巴黎"), so the first distribution is one the model is sure of.
 */
export const DEFAULT_PROMPTS = { en: 'The capital of France is', zh: '法国的首都是' } as const;
/** What a story model (no facts, English only) starts from instead of the default. */
export const STORY_PROMPT = 'Once upon a time';

export const DEFAULT_SETUP: Setup = {
  mode: 'complete',
  prompt: DEFAULT_PROMPTS.en,
  temperature: 0.8,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  seed: 42,
  randomSeed: false,
  maxTokens: 40,
  delayMs: 0,
  message: '',
};

/** What each link value may be, as the page tells the learner (in English; zh.ts has its own words). */
export const URL_RULES: Record<string, string> = {
  mode: 'complete or chat',
  ...Object.fromEntries(STAGES.map((s) => [s.urlKey, LIMITS[s.name].rule])),
  seed: `${LIMITS.seed.rule}, or random`,
  max: LIMITS.maxTokens.rule,
  delay: '0, 250 or 1000',
};

/** Link keys of the sampling settings. */
const KEY_OF: Record<string, SettingKey> = { ...Object.fromEntries(STAGES.map((s) => [s.urlKey, s.name])), seed: 'seed', max: 'maxTokens' };

/** A URL value that could not be used as given: which key, what it said, what is used instead and why. */
export interface Correction {
  key: string;
  given: string;
  used: string;
  rule: string; // the allowed values, e.g. "0 to 2"
}

/**
 * Reads a setup from a query string; anything missing keeps its default (the prompt in the interface's
 * language `lang`), anything invalid is corrected and reported.
 */
export function readSetup(search: string, lang: keyof typeof DEFAULT_PROMPTS = 'en'): { setup: Setup; corrections: Correction[] } {
  const q = new URLSearchParams(search);
  const d = DEFAULT_SETUP;
  const corrections: Correction[] = [];
  const num = (key: string, fallback: number, ok: (n: number) => boolean = () => true): number => {
    const raw = q.get(key);
    if (raw === null) return fallback;
    const n = KEY_OF[key] ? parseSetting(KEY_OF[key], raw) : raw.trim() === '' ? null : Number(raw);
    if (n !== null && Number.isFinite(n) && ok(n)) return n;
    corrections.push({ key, given: raw, used: String(fallback), rule: URL_RULES[key] });
    return fallback;
  };
  const mode = q.get('mode');
  if (mode !== null && mode !== 'chat' && mode !== 'complete') corrections.push({ key: 'mode', given: mode, used: 'complete', rule: URL_RULES.mode });
  const seedRaw = q.get('seed');
  return {
    setup: {
      mode: mode === 'chat' ? 'chat' : 'complete',
      prompt: q.get('prompt') ?? DEFAULT_PROMPTS[lang],
      ...(Object.fromEntries(STAGES.map((s) => [s.name, num(s.urlKey, d[s.name])])) as SamplingSettings),
      seed: seedRaw === 'random' ? d.seed : num('seed', d.seed),
      randomSeed: seedRaw === 'random',
      maxTokens: num('max', d.maxTokens),
      delayMs: num('delay', d.delayMs, (n) => [0, 250, 1000].includes(n)),
      message: '',
    },
    corrections,
  };
}

export function writeSetup(s: Setup, keep: URLSearchParams = new URLSearchParams()): string {
  const q = new URLSearchParams(keep);
  q.set('mode', s.mode);
  q.set('prompt', s.prompt);
  for (const stage of STAGES) q.set(stage.urlKey, String(s[stage.name])); // every sampling stage, in pipeline order
  q.set('seed', s.randomSeed ? 'random' : String(s.seed));
  q.set('max', String(s.maxTokens));
  if (s.delayMs) q.set('delay', String(s.delayMs));
  else q.delete('delay');
  return '?' + q.toString();
}
