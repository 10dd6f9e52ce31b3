// The status line's one sentence (issue 25): what it says follows how the backend was chosen, in both languages,
// and stays within 100 characters for the embedded models. The inputs are the worker's BackendInfo fields.
import { describe, expect, it } from 'vitest';
import { en, type StatusParts } from '../src/ui/i18n/en.ts';
import { zh } from '../src/ui/i18n/zh.ts';

const base: StatusParts = { model: 'nexttoken-3m-chat', backend: 'wasm', threads: 4, software: false, how: 'measured', unavailable: [] };
const cases: [Partial<StatusParts>, RegExp, RegExp][] = [
  [{ unavailable: ['webgpu'] }, /WASM, 4 threads — WebGPU isn’t available in this browser\.$/, /WASM（4 个线程）——此浏览器不支持 WebGPU。$/],
  [{}, /— measured faster than WebGPU here\.$/, /在本机实测比 WebGPU 快。$/],
  [{ how: 'remembered' }, /— measured faster than WebGPU here before\.$/, /之前在本机实测比 WebGPU 快。$/],
  [{ backend: 'webgpu', unavailable: ['wasm'] }, /WebGPU \(the graphics card\) — WASM couldn’t start here\.$/, /WASM 无法在这里启动。$/],
  [{ backend: 'webgpu', software: true }, /WebGPU \(a software adapter: slow\) — measured faster than WASM here\.$/, /软件适配器/],
  [{ how: 'asked', threads: 1 }, /WASM, one thread — as the link asks\.$/, /单线程.*按链接的要求/],
  [{ backend: 'cpu', how: 'fallback', unavailable: ['webgpu', 'wasm'] }, /plain JavaScript \(slow\) — neither WebGPU nor WASM could start\.$/, /都无法启动/],
  [{ how: 'deviceLost' }, /the GPU was lost/, /GPU 丢失/],
];

describe('the status sentence', () => {
  for (const [patch, english, chinese] of cases) {
    it(`${JSON.stringify(patch)}: ${english.source}`, () => {
      const p = { ...base, ...patch };
      const a = en.statusSentence(p);
      const b = zh.statusSentence(p);
      expect(a).toMatch(english);
      expect(b).toMatch(chinese);
      expect(a.startsWith('nexttoken-3m-chat runs on ')).toBe(true);
      expect(a.length).toBeLessThanOrEqual(100);
      expect(b.length).toBeLessThanOrEqual(100);
    });
  }
});
