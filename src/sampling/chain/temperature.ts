// Temperature (logits → probabilities; the one stage of its kind in a chain): softmax(logits / T).
// T = 0 is greedy: all mass on the argmax, and no draw is made.
import { argmax, softmaxWithSum } from './probs.ts';
import type { TemperatureStage } from './stage.ts';

export function checkTemperature(temperature: number): void {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be a number ≥ 0, got ${temperature}`);
}

/** A one-hot on the argmax when temperature is 0, else softmax(logits / T). `out` may be a reused array. */
export function applyTemperature(logits: Float32Array, temperature: number, out: Float32Array = new Float32Array(logits.length)): Float32Array {
  checkTemperature(temperature);
  if (temperature === 0) {
    out.fill(0);
    out[argmax(logits)] = 1;
    return out;
  }
  return softmaxWithSum(logits, temperature, out).probs;
}

export const temperature: TemperatureStage<'temperature'> = {
  name: 'temperature',
  kind: 'temperature',
  off: 1,
  cliFlag: 'temperature',
  urlKey: 't',
  symbol: 'T',
  limit: { min: 0, minIncluded: true, max: 2, integer: false, rule: '0 to 2 (0 = always the most probable token)' },
  label: { en: 'temperature', zh: '温度' },
  input: { kind: 'range', step: 0.05, place: 'first' },
  check: checkTemperature,
  apply: applyTemperature,
  // At T = 1 the tempered distribution is the T = 1 softmax, computed the same way: not computed twice.
  applyFast: (logits, value, atT1, out) => (value === 1 ? atT1 : applyTemperature(logits, value, out)),
  greedy: (value) => value === 0,
};
