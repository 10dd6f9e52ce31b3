// Keyboard focus is never dropped (production build, WASM): Generate, Next token and Continue from here
// disable themselves while a run goes on; focus must move to Stop, then to the output, never to <body>.
// The page itself records where focus is on every animation frame, so the test does not sample by sleeping.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useApp } from './harness.ts';

const app = useApp();

/** Records document.activeElement on every frame until the number of finished runs passes `runs`. */
async function recordFocusUntilRun(page: Page, runs: number): Promise<string[]> {
  return page.evaluate(
    (n) =>
      new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        const tick = () => {
          const a = document.activeElement;
          seen.push(a === document.body || !a ? 'BODY' : `${a.tagName}:${a.getAttribute('aria-label') ?? a.textContent?.trim().slice(0, 20)}`);
          // A few frames more after the run has ended: focus must land, not only survive the run.
          if (Number(document.body.dataset.runs ?? 0) > n && seen.length > 20 && seen.slice(-5).every((x) => x === seen[seen.length - 1])) resolve(seen);
          else requestAnimationFrame(tick);
        };
        tick();
      }),
    runs,
  );
}

describe('focus', () => {
  it('Enter on Generate: focus is on Stop while the run goes on, then on the output; never on <body>', async () => {
    const o = await app.open('?backend=wasm&t=0&max=8&delay=250');
    const page = o.page;
    const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
    await page.getByRole('button', { name: 'Generate', exact: true }).focus();
    const recording = recordFocusUntilRun(page, before);
    await page.keyboard.press('Enter');
    const seen = await recording;
    expect(seen.length).toBeGreaterThanOrEqual(20);
    expect(seen.filter((x) => x === 'BODY')).toEqual([]);
    expect(seen.some((x) => x === 'BUTTON:Stop')).toBe(true);
    // After the run: a token of the output holds focus (the output's one Tab stop).
    expect(await page.evaluate(() => document.activeElement?.classList.contains('token'))).toBe(true);
    await page.close();
  });

  it('Enter on Next token, then on Continue from here: focus lands on the output each time', async () => {
    const o = await app.open('?backend=wasm&t=0&max=8');
    const page = o.page;
    let runs = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
    await page.getByRole('button', { name: 'Next token', exact: true }).focus();
    let recording = recordFocusUntilRun(page, runs++);
    await page.keyboard.press('Enter');
    expect((await recording).filter((x) => x === 'BODY')).toEqual([]);
    // Pick the second candidate of the step and continue from it.
    const region = page.getByRole('region', { name: 'Next-token distribution' });
    await region.locator('ol.candidates li[data-id]').nth(1).getByRole('button').click();
    const cont = page.getByRole('button', { name: 'Continue from here', exact: true });
    await expect.poll(() => cont.isEnabled()).toBe(true);
    await cont.focus();
    recording = recordFocusUntilRun(page, runs);
    await page.keyboard.press('Enter');
    expect((await recording).filter((x) => x === 'BODY')).toEqual([]);
    expect(await page.evaluate(() => document.activeElement?.classList.contains('token'))).toBe(true);
    await page.close();
  });

  it('from Prompt to a candidate’s Continue from here in at most 8 Tabs: Generate, the output, a step, a pick (arrow keys), Continue', async () => {
    const o = await app.open('?backend=wasm&t=0&max=8');
    const page = o.page;
    const active = () => page.evaluate(() => ({ cls: document.activeElement?.className ?? '', text: document.activeElement?.textContent?.trim() ?? '', label: document.activeElement?.getAttribute('aria-label') ?? '' }));
    let tabs = 0;
    const tab = async () => {
      tabs++;
      await page.keyboard.press('Tab');
    };
    await page.getByLabel('Prompt', { exact: true }).focus();
    await tab();
    expect((await active()).text).toBe('Generate');
    const runs = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, runs);
    // Focus has moved to the output by itself: arrows to the third token, Enter shows its step.
    await expect.poll(async () => (await active()).cls).toContain('token');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('region', { name: 'Next-token distribution' }).locator('.step-summary').textContent()).toContain('Step 3 ');
    while (!(await active()).cls.includes('pick')) {
      await tab();
      expect(tabs).toBeLessThanOrEqual(8);
    }
    // The candidates are one Tab stop: ↓ moves to the next one; Enter picks it.
    await page.keyboard.press('ArrowDown');
    expect((await active()).text).toBe('pick');
    await page.keyboard.press('Enter');
    // Selecting the step has the engine inspect it for the model's picture; that job is the app's own, so Continue
    // stays offered meanwhile (a run queues behind it) and the next Tab reaches it at once.
    await tab();
    expect((await active()).text).toBe('Continue from here');
    expect(tabs).toBeLessThanOrEqual(8);
    const before = Number(await page.evaluate(() => document.body.dataset.runs));
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before);
    await page.close();
  });
});
