// The shareable part of the app's state, kept in the URL: open the link, get the same setup.
import type { SamplingSettings } from '../sampling/sampler.ts';

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

export const DEFAULT_SETUP: Setup = {
  mode: 'complete',
  prompt: 'The capital of France is',
  temperature: 0.8,
  topK: 0,
  topP: 1,
  seed: 42,
  randomSeed: false,
  maxTokens: 40,
  delayMs: 0,
  message: '',
};

/** What each link value may be, as the page tells the learner (in English; zh.ts has its own words). */
export const URL_RULES: Record<string, string> = {
  mode: 'complete or chat',
  t: '0 to 2',
  k: 'a whole number ≥ 0',
  p: 'above 0, up to 1',
  seed: 'a whole number from 0 to 4294967295, or random',
  max: 'a whole number from 1 to 1000',
  delay: '0, 250 or 1000',
};

/** A URL value that could not be used as given: which key, what it said, what is used instead and why. */
export interface Correction {
  key: string;
  given: string;
  used: string;
  rule: string; // the allowed values, e.g. "0 to 2"
}

/** Reads a setup from a query string; anything missing keeps its default, anything invalid is corrected and reported. */
export function readSetup(search: string): { setup: Setup; corrections: Correction[] } {
  const q = new URLSearchParams(search);
  const d = DEFAULT_SETUP;
  const corrections: Correction[] = [];
  const num = (key: string, fallback: number, ok: (n: number) => boolean): number => {
    const raw = q.get(key);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (raw.trim() !== '' && Number.isFinite(n) && ok(n)) return n;
    corrections.push({ key, given: raw, used: String(fallback), rule: URL_RULES[key] });
    return fallback;
  };
  const mode = q.get('mode');
  if (mode !== null && mode !== 'chat' && mode !== 'complete') corrections.push({ key: 'mode', given: mode, used: 'complete', rule: URL_RULES.mode });
  const seedRaw = q.get('seed');
  return {
    setup: {
      mode: mode === 'chat' ? 'chat' : 'complete',
      prompt: q.get('prompt') ?? d.prompt,
      temperature: num('t', d.temperature, (n) => n >= 0 && n <= 2),
      topK: num('k', d.topK, (n) => Number.isInteger(n) && n >= 0),
      topP: num('p', d.topP, (n) => n > 0 && n <= 1),
      seed: seedRaw === 'random' ? d.seed : num('seed', d.seed, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32),
      randomSeed: seedRaw === 'random',
      maxTokens: num('max', d.maxTokens, (n) => Number.isInteger(n) && n >= 1 && n <= 1000),
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
  q.set('t', String(s.temperature));
  q.set('k', String(s.topK));
  q.set('p', String(s.topP));
  q.set('seed', s.randomSeed ? 'random' : String(s.seed));
  q.set('max', String(s.maxTokens));
  if (s.delayMs) q.set('delay', String(s.delayMs));
  else q.delete('delay');
  return '?' + q.toString();
}
