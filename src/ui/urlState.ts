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
};

function num(q: URLSearchParams, key: string, fallback: number, ok: (n: number) => boolean): number {
  const raw = q.get(key);
  if (raw === null) return fallback;
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) && ok(n) ? n : fallback;
}

/** Reads a setup from a query string; anything missing or out of range keeps its default. */
export function readSetup(search: string): Setup {
  const q = new URLSearchParams(search);
  const d = DEFAULT_SETUP;
  return {
    mode: q.get('mode') === 'chat' ? 'chat' : 'complete',
    prompt: q.get('prompt') ?? d.prompt,
    temperature: num(q, 't', d.temperature, (n) => n >= 0 && n <= 2),
    topK: num(q, 'k', d.topK, (n) => Number.isInteger(n) && n >= 0),
    topP: num(q, 'p', d.topP, (n) => n > 0 && n <= 1),
    seed: num(q, 'seed', d.seed, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32),
    randomSeed: q.get('seed') === 'random',
    maxTokens: num(q, 'max', d.maxTokens, (n) => Number.isInteger(n) && n >= 1 && n <= 1000),
    delayMs: num(q, 'delay', d.delayMs, (n) => [0, 250, 1000].includes(n)),
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
