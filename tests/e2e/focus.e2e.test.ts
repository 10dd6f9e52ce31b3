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
});
