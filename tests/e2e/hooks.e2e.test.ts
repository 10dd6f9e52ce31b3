// Warnings and test hooks between the page and the engine worker. Test hooks stay out of production (production build, WASM): the engine worker accepts a 'fault' message
// only when the page was opened with ?testHooks. The message is delivered inside the worker itself (through
// the browser's DevTools protocol), as a page script would send it; with ?testHooks the same message does
// stop the engine, which shows the delivery works.
import type { Page, Worker } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { cliSteps, openMore, outputTokens, runAndWait, useApp } from './harness.ts';

const app = useApp();
const PROMPT = 'The capital of France is';

async function engineWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().some((w) => /engine\.worker/.test(w.url()))).toBe(true);
  return page.workers().find((w) => /engine\.worker/.test(w.url()))!;
}

/** Sends the worker the message a test uses to make it exit. */
async function sendExitFault(page: Page): Promise<void> {
  const worker = await engineWorker(page);
  await worker.evaluate(() => self.dispatchEvent(new MessageEvent('message', { data: { type: 'fault', hook: { kind: 'exit' } } })));
}

describe('test hooks', () => {
  it('without ?testHooks the worker ignores a fault message and goes on generating', async () => {
    const o = await app.open(`?backend=wasm&t=0&max=6&prompt=${encodeURIComponent(PROMPT)}`);
    await sendExitFault(o.page);
    await runAndWait(o.page, 'Generate');
    const cli = await cliSteps(['--prompt', PROMPT, '--temperature', '0', '--max-tokens', '6']);
    expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(cli.map((s) => s.id));
    expect(await o.page.locator('#notice').textContent()).not.toContain('The engine stopped');
    await o.page.close();
  });

  it('with ?testHooks the same message stops the engine (and the app restarts it)', async () => {
    const o = await app.open(`?backend=wasm&testHooks&timeoutScale=0.1&t=0&max=6&prompt=${encodeURIComponent(PROMPT)}`);
    await sendExitFault(o.page);
    // The worker is gone: the next job (tokenizing the prompt) finds no answer, the app replaces the worker and says so.
    await o.page.getByLabel('Prompt', { exact: true }).fill(`${PROMPT} Paris`);
    await expect.poll(() => o.page.locator('#notice').textContent(), { timeout: 120_000 }).toContain('The engine stopped');
    await o.page.close();
  });

  it('a worker warning after a model load reaches the page (one subscription survives loads)', async () => {
    const o = await app.open(`?backend=wasm&t=0&max=6`);
    // Load the model again (a second load replaced the page's warning handler before).
    const loads = Number(await o.page.evaluate(() => document.body.dataset.loads));
    await openMore(o.page);
    await o.page.getByRole('button', { name: 'Load model', exact: true }).click();
    await o.page.waitForFunction((n) => Number(document.body.dataset.loads) > n && document.body.dataset.job === 'idle', loads);
    const text = 'The GPU device was lost and moving to WASM failed: a test. Reload the page.';
    const worker = await engineWorker(o.page);
    await worker.evaluate((message) => self.postMessage({ type: 'warning', message }), text);
    await expect.poll(() => o.page.locator('#error').textContent()).toBe(text);
    await o.page.close();
  });
});
