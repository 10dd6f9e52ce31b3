// Small things a learner meets (production build, WASM): what stopped a run, Copy link, one model size,
// the Views bar in page order. Witnesses: the model file's size on disk, the clipboard, the DOM order.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMore, ROOT, useApp } from './harness.ts';

const app = useApp();

describe('details', () => {
  it('a run stopped by switching to Chat says so, not "Stop pressed"', async () => {
    const { page } = await app.open('?backend=wasm&model=embedded&t=0&max=40&delay=250'); // picked: Chat keeps this model
    const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    await page.waitForSelector('body[data-job="generate:running"]');
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before);
    const perf = (await page.locator('#perf').textContent()) ?? '';
    expect(perf).toContain('switched to Chat');
    expect(perf).not.toContain('Stop pressed');
    await page.close();
  });

  it('Copy link copies the page address and says so', async () => {
    const { page } = await app.open('?backend=wasm&t=0.5&max=12');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
    await openMore(page);
    await page.getByRole('button', { name: 'Copy link', exact: true }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Link copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(page.url());
    await page.close();
  });

  it('the embedded model has one size everywhere: the picker and the status line say the file’s size', async () => {
    const { page } = await app.open('?backend=wasm');
    const mb = `${(statSync(join(ROOT, 'models', 'nexttoken-3m', 'model.safetensors')).size / 1e6).toFixed(1)} MB`;
    expect(await page.getByLabel('Model', { exact: true }).locator('option[value="embedded"]').textContent()).toContain(mb);
    expect(await page.locator('#model-info').textContent()).toContain(mb);
    await page.close();
  });

  it('Next token on an older run extends that run, not a new one', async () => {
    const { page } = await app.open('?backend=wasm&t=0&max=4');
    for (let i = 0; i < 2; i++) {
      const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
      await page.getByRole('button', { name: 'Generate', exact: true }).click();
      await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before);
    }
    expect(await page.evaluate(() => document.body.dataset.runCount)).toBe('2');
    await page.locator('.run-tree button[data-run="1"]').click();
    const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
    await page.getByRole('button', { name: 'Next token', exact: true }).click();
    await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before);
    expect(await page.evaluate(() => document.body.dataset.runCount)).toBe('2'); // no third run
    expect(await page.locator('.run-tree button[aria-current="true"]').getAttribute('data-run')).toBe('1');
    expect(await page.locator('section[aria-label="Output"] button.token[data-active="true"]').count()).toBe(5);
    await page.close();
  });

  it('the Views bar lists the views in the order they stand on the page', async () => {
    const { page } = await app.open('?backend=wasm');
    const inOrder = await page.evaluate(() => {
      const targets = [...document.querySelectorAll<HTMLElement>('nav.views-nav button[data-view]')].map((b) => document.querySelector(b.dataset.view!)!);
      return targets.every((el, i) => i === 0 || (targets[i - 1].compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0);
    });
    expect(inOrder).toBe(true);
    await page.close();
  });
});
