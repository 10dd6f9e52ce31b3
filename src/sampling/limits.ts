// The allowed range of every setting, in one table. The URL, the CLI, the controls, the experiments
// view and the engine itself all validate through `checkSetting`, so a value one of them accepts is
// never refused (or silently clamped) by another. A sampling stage's range is written in its own file
// (chain/*.ts) and gathered here from STAGES; only seed and maxTokens are written here.
import type { Limit } from './chain/stage.ts';
import { STAGES, type SamplingSettings, type StageName } from './stages.ts';

export type { Limit } from './chain/stage.ts';

export type SettingKey = StageName | 'seed' | 'maxTokens';

export const LIMITS: Record<SettingKey, Limit> = {
  ...(Object.fromEntries(STAGES.map((s) => [s.name, s.limit])) as Record<StageName, Limit>),
  seed: { min: 0, minIncluded: true, max: 2 ** 32 - 1, integer: true, rule: 'a whole number from 0 to 4294967295' },
  maxTokens: { min: 1, minIncluded: true, max: 1000, integer: true, rule: 'a whole number from 1 to 1000' },
};

/** A setting outside its range: `name` is how the surface calls it (`--temperature`, `t`, "Temperature"). */
export class SettingError extends Error {
  constructor(
    readonly key: SettingKey,
    readonly given: string,
    name: string,
  ) {
    super(`${name} must be ${LIMITS[key].rule}; got ${given === '' ? 'nothing' : `"${given}"`}.`);
    this.name = 'SettingError';
  }
}

/** The value as a number if it is allowed, else null. Strings are read as numbers ("" is not 0). */
export function parseSetting(key: SettingKey, raw: string | number): number | null {
  const n = typeof raw === 'number' ? raw : raw.trim() === '' ? NaN : Number(raw);
  const l = LIMITS[key];
  if (!Number.isFinite(n)) return null;
  if (l.integer && !Number.isInteger(n)) return null;
  if (n < l.min || (n === l.min && !l.minIncluded) || n > l.max) return null;
  return n;
}

/** The value, or a SettingError that names the range. */
export function checkSetting(key: SettingKey, raw: string | number, name: string = key): number {
  const n = parseSetting(key, raw);
  if (n === null) throw new SettingError(key, String(raw), name);
  return n;
}

/** Every sampling setting at once (the engine checks what it is given, whoever sent it). */
export function checkSamplingSettings(s: SamplingSettings): void {
  for (const stage of STAGES) checkSetting(stage.name, s[stage.name], stage.cliFlag);
}
