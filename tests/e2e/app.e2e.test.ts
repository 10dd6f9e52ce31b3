// The learning UI, end to end: production build, real Chromium, the embedded model, on WebGPU
// (software adapter) and on WASM. The CLI is the independent witness for tokens and percentages.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ECHO_TEXT } from '../fixtures/make-html-echo.ts';
import { cliSteps, openMore, type OpenPage, outputTokens, runAndWait, screenshot, useApp } from './harness.ts';

const app = useApp();
const MODEL = 'models/nexttoken-3m';
const PROMPT = 'The capital of France is';

const percent = (s: string) => Number(/([\d.]+)%/.exec(s)?.[1]);

/** The distribution list of the selected step: token text and its raw / tempered / final percentages. */
async function distributionList(page: Page) {
  const region = page.getByRole('region', { name: 'Next-token distribution' });
  // The ranked rows of the top list (not the chosen token's own row when it ranks lower, nor "all other tokens").
  return region.locator('ol.candidates li[data-id]:not(.below)').evaluateAll((lis) =>
    lis.map((li) => ({
      token: li.querySelector('.tok')?.textContent ?? '',
      raw: li.querySelector('.raw')?.textContent ?? '',
      tempered: li.querySelector('.tempered')?.textContent ?? '',
      final: li.querySelector('.final')?.textContent ?? '',
      current: li.getAttribute('aria-current'),
    })),
  );
}

async function setControl(page: Page, name: string, value: string) {
  await openMore(page); // all but Temperature and Top-k wait in the drawer
  await page.getByLabel(name, { exact: true }).fill(value);
}

for (const backend of ['wasm', 'webgpu'] as const) {
  describe(`app on ${backend}`, () => {
    let o: OpenPage;
    beforeAll(async () => {
      o = await app.open(`?backend=${backend}&prompt=${encodeURIComponent(PROMPT)}&t=0&max=12&seed=42`);
    });
    beforeEach(async () => {
      // A failed test must not leave a generation running into the next one. Busy with Stop disabled is a
      // load (a mode switch loads that mode's embedded model): it ends by itself.
      if ((await o.page.evaluate(() => document.body.dataset.busy)) === 'true') {
        const stop = o.page.getByRole('button', { name: 'Stop', exact: true });
        if (await stop.isEnabled()) await stop.click();
        await o.page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 180_000 });
      }
    });
    afterAll(async () => {
      expect(o.consoleErrors).toEqual([]);
      expect(o.externalRequests).toEqual([]);
      await o.page.close();
    });

    it('loads the embedded model offline and names the backend in the Backend status', async () => {
      await openMore(o.page); // the engine's own diagnostic is in the drawer; the status line says it in a sentence
      const status = await o.page.getByRole('status', { name: 'Backend' }).textContent();
      expect(status).toMatch(new RegExp(`^${backend}`));
      // The adapter is named (a software one here, a real GPU elsewhere): the test passes on both.
      if (backend === 'webgpu') expect(status).toMatch(/^webgpu \(.+\)/);
      expect(await o.page.locator('#model-info').textContent()).toContain('nexttoken-3m');
    });

    it('with temperature 0, Generate produces exactly the CLI greedy tokens', async () => {
      await runAndWait(o.page, 'Generate');
      const ui = await outputTokens(o.page);
      const cli = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '12']);
      expect(ui.map((t) => t.id)).toEqual(cli.map((s) => s.id));
      expect(ui[0].name).toMatch(/\d+\.\d%/); // each token's accessible name carries its probability
    });

    it('with a fixed seed two runs are identical and different seeds differ', async () => {
      await setControl(o.page, 'Temperature', '1');
      await setControl(o.page, 'Seed', '7');
      await runAndWait(o.page, 'Generate');
      const a = (await outputTokens(o.page)).map((t) => t.id);
      await runAndWait(o.page, 'Generate');
      const b = (await outputTokens(o.page)).map((t) => t.id);
      await setControl(o.page, 'Seed', '8');
      await runAndWait(o.page, 'Generate');
      const c = (await outputTokens(o.page)).map((t) => t.id);
      expect(a).toEqual(b);
      expect(c).not.toEqual(a);
      const cli = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '1', '--seed', '7', '--max-tokens', '12']);
      expect(a).toEqual(cli.map((s) => s.id));
    });

    it("selecting a token shows its distribution, matching the CLI's values within 0.1 percentage point", async () => {
      await setControl(o.page, 'Temperature', '0.8');
      await setControl(o.page, 'Seed', '42');
      await runAndWait(o.page, 'Generate');
      const cli = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0.8', '--seed', '42', '--max-tokens', '12']);
      const tokens = o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]');
      await tokens.nth(2).click();
      const list = await distributionList(o.page);
      expect(list.length).toBeGreaterThanOrEqual(10);
      const step = cli[2];
      list.forEach((item, i) => {
        const c = step.top[i];
        expect(Math.abs(percent(item.raw) - c.rawProb * 100)).toBeLessThanOrEqual(0.1);
        expect(Math.abs(percent(item.final) - c.prob * 100)).toBeLessThanOrEqual(0.1);
        expect(item.current).toBe(c.id === step.id ? 'true' : null);
      });
      expect(list.filter((l) => l.current === 'true')).toHaveLength(1);
    });

    it('moving Temperature re-draws the open chart from the stored logits; top-k = 1 makes generation greedy', async () => {
      const before = await distributionList(o.page);
      await setControl(o.page, 'Temperature', '1.6');
      const after = await distributionList(o.page);
      expect(after.map((l) => l.raw)).toEqual(before.map((l) => l.raw)); // the model's own view does not change
      expect(after.map((l) => l.tempered)).not.toEqual(before.map((l) => l.tempered));
      await expect.poll(() => o.page.getByRole('note').textContent()).toContain('What if');

      await setControl(o.page, 'Top-k', '1');
      await setControl(o.page, 'Seed', '3');
      await runAndWait(o.page, 'Generate');
      const greedy = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '12']);
      expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(greedy.map((s) => s.id));
      await setControl(o.page, 'Top-k', '0');
    });

    it('repetition penalty and min-p from the controls (plumbing: the CLI runs the same sampler; tests/cli.test.ts checks it against float64): the CLI’s tokens, and the panel lists each stage as the CLI records it', async () => {
      await setControl(o.page, 'Temperature', '0.9');
      await setControl(o.page, 'Repetition penalty', '1.5');
      await setControl(o.page, 'Min-p', '0.1');
      await setControl(o.page, 'Seed', '5');
      await runAndWait(o.page, 'Generate');
      const cli = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0.9', '--repetition-penalty', '1.5', '--min-p', '0.1', '--seed', '5', '--max-tokens', '12']);
      expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(cli.map((s) => s.id));
      const url = new URL(o.page.url()).searchParams;
      expect([url.get('rep'), url.get('t'), url.get('minp')]).toEqual(['1.5', '0.9', '0.1']);
      // Each step's stage list, in pipeline order, with the CLI's kept counts and the chosen token's probabilities.
      const region = o.page.getByRole('region', { name: 'Next-token distribution' });
      const chips = o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]');
      for (const step of [0, 5, 11]) {
        await chips.nth(step).click();
        const list = region.getByRole('list', { name: 'The sampling stages, in order' });
        await expect.poll(() => list.locator('li').count()).toBe(cli[step].stages.length);
        const shown = await list.locator('li').evaluateAll((lis) => lis.map((li) => ({ name: (li as HTMLElement).dataset.stage, kept: Number((li as HTMLElement).dataset.kept), chosen: Number((li as HTMLElement).dataset.chosen) })));
        expect(shown.map((s) => s.name)).toEqual(['repetitionPenalty', 'temperature', 'minP']);
        shown.forEach((s, j) => {
          expect(s.kept).toBe(cli[step].stages[j].kept);
          expect(Math.abs(s.chosen - cli[step].stages[j].chosen)).toBeLessThan(1e-6);
        });
      }
      await setControl(o.page, 'Repetition penalty', '1');
      await setControl(o.page, 'Min-p', '0');
      await setControl(o.page, 'Temperature', '0');
    });

    it('Next token adds exactly one token; Continue from here on another candidate continues from it', async () => {
      const n = (await outputTokens(o.page)).length;
      await runAndWait(o.page, 'Next token');
      const afterNext = await outputTokens(o.page);
      expect(afterNext.length).toBe(n + 1);

      const tokens = o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]');
      await tokens.nth(1).click();
      const region = o.page.getByRole('region', { name: 'Next-token distribution' });
      const alt = region.locator('ol.candidates li:not([aria-current="true"])').first();
      const altId = Number(await alt.getAttribute('data-id'));
      await alt.getByRole('button').click();
      await runAndWait(o.page, 'Continue from here');
      const branched = await outputTokens(o.page);
      expect(branched[0].id).toBe(afterNext[0].id);
      expect(branched[1].id).toBe(altId);
      expect(branched.length).toBeGreaterThan(2);
      // The earlier run stays reachable in the run tree, and the branch says where it came from.
      const tree = o.page.getByRole('navigation', { name: 'Runs' });
      expect(await tree.getByRole('button').count()).toBeGreaterThanOrEqual(2);
      expect(await tree.locator('button[aria-current="true"]').textContent()).toMatch(/from step 2 of run \d+: picked/);
    });

    it('Stop ends a long generation within one token, and the page stays responsive mid-generation', async () => {
      await setControl(o.page, 'Temperature', '0.8');
      await setControl(o.page, 'Max tokens', '200');
      await openMore(o.page);
      await o.page.getByLabel('Speed', { exact: true }).selectOption('250'); // slow motion, so 'mid-generation' does not depend on machine speed
      await o.page.getByRole('button', { name: 'Generate', exact: true }).click();
      await o.page.waitForFunction(() => document.querySelectorAll('section[aria-label="Output"] button.token[data-active="true"]').length >= 4, null, { timeout: 120_000 });
      // Interact with a control while tokens are being computed: it answers at once and applies from the next token.
      await setControl(o.page, 'Temperature', '0');
      expect(await o.page.locator('label.field:has(input[aria-label="Temperature"]) output').textContent()).toBe('0 (greedy)');
      expect(await o.page.evaluate(() => document.body.dataset.busy)).toBe('true');
      await o.page.waitForFunction(() => document.querySelectorAll('section[aria-label="Output"] button.token[data-active="true"]').length >= 8, null, { timeout: 120_000 });
      const runs = Number(await o.page.evaluate(() => document.body.dataset.runs));
      const atStop = await o.page.evaluate(() => {
        const count = document.querySelectorAll('section[aria-label="Output"] button.token[data-active="true"]').length;
        (Array.from(document.querySelectorAll('button')).find((b) => b.textContent === 'Stop') as HTMLButtonElement).click();
        return count;
      });
      await o.page.waitForFunction((n) => Number(document.body.dataset.runs) > n, runs, { timeout: 60_000 });
      const final = (await outputTokens(o.page)).length;
      expect(final).toBeLessThanOrEqual(atStop + 1);
      expect(final).toBeLessThan(200);
      // The last token was generated after Temperature moved to 0: its record says so.
      const tokens = o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]');
      await tokens.last().click();
      expect(await o.page.getByRole('region', { name: 'Next-token distribution' }).textContent()).toContain('Greedy: no random draw');
      await setControl(o.page, 'Max tokens', '12');
      await openMore(o.page);
      await o.page.getByLabel('Speed', { exact: true }).selectOption('0');
    });

    it('chats: Send streams a reply and the conversation is kept across turns', async () => {
      await o.page.getByRole('button', { name: 'Chat', exact: true }).click();
      await o.page.getByLabel('Message', { exact: true }).fill('What is the capital of France?');
      await runAndWait(o.page, 'Send');
      await o.page.getByLabel('Message', { exact: true }).fill('What is the capital of Japan?');
      await runAndWait(o.page, 'Send');
      const output = o.page.getByRole('region', { name: 'Output' });
      expect(await output.locator('.turn.user').count()).toBe(2);
      expect(await output.locator('.turn.assistant').count()).toBe(2);
      expect(await output.locator('.turn.assistant').last().locator('button.token').count()).toBeGreaterThan(0);
      await o.page.getByRole('button', { name: 'Complete', exact: true }).click();
    });

    it('saves screenshots at 390 px and 1280 px', async () => {
      await runAndWait(o.page, 'Generate');
      await o.page.getByRole('region', { name: 'Output' }).locator('button.token').nth(1).click();
      await screenshot(o.page, `app-${backend}-1280.png`);
      await o.page.setViewportSize({ width: 390, height: 844 });
      // Nothing is wider than a phone screen (the chart resizes itself asynchronously, hence the poll).
      await expect.poll(() => o.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      await screenshot(o.page, `app-${backend}-390.png`);
      await o.page.setViewportSize({ width: 1280, height: 900 });
    });
  });
}

describe('model output is text', () => {
  it('shows output containing <img src=x onerror=alert(1)> as text, never as HTML', async () => {
    const o = await app.open(`?backend=wasm&modelUrl=/test-models/html-echo/&prompt=${encodeURIComponent('Say:')}&t=0&max=40`);
    await runAndWait(o.page, 'Generate');
    const output = o.page.getByRole('region', { name: 'Output' });
    const text = await output.locator('.output-text').textContent();
    expect(text).toContain(ECHO_TEXT.slice(4));
    expect(await output.locator('img').count()).toBe(0);
    expect(o.dialogs).toEqual([]);
    expect(o.consoleErrors).toEqual([]);
    await o.page.close();
  });
});
