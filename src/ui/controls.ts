// The sampling form and the Setup it stands for: writing a Setup into the controls, and reading it back
// with range checks. An out-of-range value is reported and the last good value kept.
import { bareName, t } from './i18n/index.ts';
import type { Layout } from './layout.ts';
import type { Setup } from './urlState.ts';

export function showSetup(u: Layout, s: Setup): void {
  u.prompt.value = s.prompt;
  u.temperature.value = String(s.temperature);
  u.topK.value = String(s.topK);
  u.topP.value = String(s.topP);
  u.seed.value = String(s.seed);
  u.randomSeed.checked = s.randomSeed;
  u.maxTokens.value = String(s.maxTokens);
  u.pace.value = String(s.delayMs);
  showOutputs(u, s);
}

export function readSetupFromControls(u: Layout, previous: Setup, vocabSize: number, report: (message: string) => void): Setup {
  const s = { ...previous };
  const whole = (el: HTMLInputElement, name: string, min: number, max: number, fallback: number) => {
    const n = Number(el.value);
    if (el.value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      report(t().wholeNumber(name, min, max, fallback));
      return fallback;
    }
    return n;
  };
  s.temperature = Number(u.temperature.value);
  s.topP = Number(u.topP.value);
  s.topK = whole(u.topK, bareName(t().topK), 0, vocabSize, s.topK);
  s.seed = whole(u.seed, t().seed, 0, 2 ** 32 - 1, s.seed);
  s.maxTokens = whole(u.maxTokens, t().maxTokens, 1, 1000, s.maxTokens);
  s.randomSeed = u.randomSeed.checked;
  s.delayMs = Number(u.pace.value);
  s.prompt = u.prompt.value;
  showOutputs(u, s);
  return s;
}

function showOutputs(u: Layout, s: Setup): void {
  u.temperatureOut.textContent = s.temperature === 0 ? `0${t().greedySuffix}` : String(s.temperature);
  u.topPOut.textContent = String(s.topP);
}
