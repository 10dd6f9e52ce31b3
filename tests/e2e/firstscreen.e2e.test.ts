// The first screen (issue 25) on the production build, as a newcomer meets it (the default backend choice,
// nothing generated yet): a handful of controls, one status sentence a person can read, Generate in sight
// on a phone, and everything else one click away in the drawer. Witness for the sentence: the engine's
// own diagnostic (#backend), which names the backend the load picked.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openMore, useApp } from './harness.ts';

const app = useApp();

/** The visible, enabled interactive elements inside the viewport, by tag and accessible name. */
function firstScreen(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const selector = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"]), [role="button"], [contenteditable="true"]';
    return [...document.querySelectorAll<HTMLElement>(selector)]
      .filter((e) => {
        const box = e.getBoundingClientRect();
        if (!box.width || !box.height || (e as HTMLButtonElement).disabled) return false;
        if (box.bottom <= 0 || box.top >= innerHeight || box.right <= 0 || box.left >= innerWidth) return false;
        // checkVisibility: not display:none, not inside a closed <details>, not visibility:hidden.
        return e.checkVisibility({ visibilityProperty: true });
      })
      .map((e) => `${e.tagName.toLowerCase()}: ${e.getAttribute('aria-label') ?? e.textContent?.trim().slice(0, 40)}`);
  });
}

const BACKEND_WORDS: Record<string, RegExp> = { wasm: /WASM/, webgpu: /WebGPU（|WebGPU \(/, webgl: /WEBGL/, cpu: /JavaScript/ };

describe('the first screen', () => {
  for (const lang of ['en', 'zh'] as const) {
    it(`at 1280×800 in ${lang}: at most 10 controls before generating, and one status sentence of at most 100 characters`, async () => {
      const { page } = await app.open(`?lang=${lang}`);
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.evaluate(() => scrollTo(0, 0));
      const controls = await firstScreen(page);
      expect(controls.length, controls.join('\n')).toBeLessThanOrEqual(10);
      const names = lang === 'en' ? ['Prompt', 'Generate', 'Next token', 'Temperature', 'Top-k'] : ['提示词', '生成', '下一个词元', '温度', '前 k 个'];
      for (const name of names) expect(controls.some((c) => c.endsWith(`: ${name}`)), `${name} in ${controls.join(', ')}`).toBe(true);

      const sentence = (await page.locator('#status-line').innerText()).trim();
      expect(sentence.length).toBeGreaterThan(10);
      expect(sentence.length).toBeLessThanOrEqual(100);
      expect(sentence).toContain('nexttoken-3m');
      // The backend the sentence names is the one the engine reports (its diagnostic, in the drawer).
      const diagnostic = (await page.locator('#backend').textContent()) ?? '';
      const backend = diagnostic.match(/^(?:auto → )?(\w+)/)![1];
      expect(sentence).toMatch(BACKEND_WORDS[backend]);
      expect(diagnostic).toMatch(/measured/); // the default choice measures both backends at load
      // On WASM the sentence gives the thread count XNNPACK reports (the diagnostic's), never more than the cores.
      if (backend === 'wasm') {
        const threads = /, (\d+) threads?\)/.exec(diagnostic)?.[1];
        if (threads && Number(threads) > 1) {
          expect(Number(threads)).toBeLessThanOrEqual(await page.evaluate(() => navigator.hardwareConcurrency));
          expect(sentence).toContain(lang === 'en' ? `WASM, ${threads} threads` : `WASM（${threads} 个线程）`);
        } else {
          expect(diagnostic).toMatch(/one thread|, 1 thread\)/);
          expect(sentence).toContain(lang === 'en' ? 'WASM, one thread' : 'WASM（单线程）');
        }
      }

      // One click away: the rest of the settings, the model picker and the engine's diagnostic.
      await openMore(page);
      const more = lang === 'en' ? ['Top-p', 'Min-p', 'Repetition penalty', 'Seed', 'Max tokens', 'Speed', 'Model'] : ['累积概率 p', '随机种子', '最多词元数', '模型'];
      for (const name of more) expect(await page.getByLabel(name, { exact: true }).first().isVisible(), name).toBe(true);
      expect(await page.getByRole('status', { name: lang === 'en' ? 'Backend' : '计算后端' }).textContent()).toBe(diagnostic);
      await page.close();
    });
  }

  it('at 390×844 the prompt and Generate are inside the first screen', async () => {
    const { page } = await app.open('', 390);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => scrollTo(0, 0));
    for (const target of [page.getByLabel('Prompt', { exact: true }), page.getByRole('button', { name: 'Generate', exact: true })]) {
      const box = (await target.boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(844);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.close();
  });
});
