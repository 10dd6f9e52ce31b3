// The token-probability palette (src/ui/styles.css, --p0 … --p4, light and dark) must stay ordered and
// distinguishable without full colour vision: each colour is simulated for deuteranopia and protanopia
// (Machado, Oliveira & Fernandes 2009, severity 1, in linear RGB), converted to CIELAB, and neighbouring
// buckets must differ by ΔE ≥ 8 and keep their lightness order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const css = readFileSync(join(import.meta.dirname, '..', 'src', 'ui', 'styles.css'), 'utf8');

function palette(block: string): string[] {
  return [0, 1, 2, 3, 4].map((i) => new RegExp(`--p${i}:\\s*(#[0-9a-f]{6})`, 'i').exec(block)![1]);
}
const light = palette(css.slice(css.indexOf(':root'), css.indexOf('@media (prefers-color-scheme: dark)')));
const dark = palette(css.slice(css.indexOf('@media (prefers-color-scheme: dark)')));

type Vec = [number, number, number];
const toLinear = (hex: string): Vec => [1, 3, 5].map((i) => {
  const c = parseInt(hex.slice(i, i + 2), 16) / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}) as Vec;
const apply = (m: number[][], v: Vec): Vec => m.map((r) => Math.min(1, Math.max(0, r[0] * v[0] + r[1] * v[1] + r[2] * v[2]))) as Vec;
const DEUTERANOPIA = [
  [0.367322, 0.860646, -0.227968],
  [0.280085, 0.672501, 0.047413],
  [-0.01182, 0.04294, 0.968881],
];
const PROTANOPIA = [
  [0.152286, 1.052583, -0.204868],
  [0.114503, 0.786281, 0.099216],
  [-0.003882, -0.048116, 1.051998],
];
function lab([r, g, b]: Vec): Vec {
  const X = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const Y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const Z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}
const deltaE = (a: Vec, b: Vec) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe('probability palette', () => {
  for (const [scheme, colours, lighterIsLikelier] of [['light', light, true], ['dark', dark, false]] as const) {
    for (const [vision, m] of [['normal vision', null], ['deuteranopia', DEUTERANOPIA], ['protanopia', PROTANOPIA]] as const) {
      it(`${scheme} scheme, ${vision}: neighbouring buckets differ by ΔE ≥ 8 and the lightness order holds`, () => {
        const labs = colours.map((hex) => lab(m ? apply(m, toLinear(hex)) : toLinear(hex)));
        for (let i = 0; i + 1 < labs.length; i++) {
          expect(deltaE(labs[i], labs[i + 1]), `p${i} vs p${i + 1}`).toBeGreaterThanOrEqual(8);
          if (lighterIsLikelier) expect(labs[i + 1][0]).toBeGreaterThan(labs[i][0]);
          else expect(labs[i + 1][0]).toBeLessThan(labs[i][0]);
        }
      });
    }
  }
});
