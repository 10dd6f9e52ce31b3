// The engine as a service, on the production build: a lost GPU device, a crashed or silent worker,
// a model load in the middle of a tool's job, tools used between the steps of a paused run, NaN
// logits, past steps recomputed, and the UI rows of the bad-input table (docs/bad-input.md). Faults are caused
// through ?testHooks (window.nexttokenFault). Independent witness: the Node CLI on WASM.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultHook } from '../../src/worker/protocol.ts';
import { expectRow, normalise, badInputRows } from '../shared/badInputTable.ts';
import { cliSteps, openMore, outputTokens, runAndWait, useApp, type OpenPage } from './harness.ts';

const app = useApp();
const MODEL = 'models/nexttoken-3m';
const PROMPT = 'Once upon a time';
const rows = badInputRows();

const fault = (page: Page, hook: FaultHook) => page.evaluate((h) => (window as unknown as { nexttokenFault(h: FaultHook): void }).nexttokenFault(h), hook);
const notice = (page: Page) => page.locator('#notice');
const errorText = async (page: Page) => ((await page.locator('#error').textContent()) ?? '').trim();
const idle = (page: Page) => page.waitForFunction(() => document.body.dataset.job === 'idle', null, { timeout: 240_000 });
const open = (query: string) => app.open(`?prompt=${encodeURIComponent(PROMPT)}&${query}`);

/** A page for one describe block: opened before its tests, closed after them (with no console errors, if asked). */
function usePage(query: string, noConsoleErrors: boolean): OpenPage {
  let o: OpenPage | null = null;
  beforeAll(async () => {
    o = await open(query);
  });
  afterAll(async () => {
    if (noConsoleErrors) expect(o!.consoleErrors).toEqual([]);
    await o!.page.close();
  });
  return {
    get page() {
      return o!.page;
    },
    get consoleErrors() {
      return o!.consoleErrors;
    },
    get externalRequests() {
      return o!.externalRequests;
    },
    get dialogs() {
      return o!.dialogs;
    },
  };
}

describe('a lost GPU device mid-generation (WebGPU, software adapter)', () => {
  const o = usePage('backend=webgpu&testHooks&t=0&max=20', false);

  it('the run completes on WASM: transcript intact, the same greedy ids as a run on WASM throughout, and the status says what happened', async () => {
    expect(await o.page.locator('#backend').textContent()).toMatch(/^webgpu/);
    await fault(o.page, { kind: 'loseDevice', atStep: 5 }); // destroys the device once step 6 is shown
    await runAndWait(o.page, 'Generate');
    const ids = (await outputTokens(o.page)).map((t) => t.id);
    const wasm = (await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '20'])).map((s) => s.id);
    expect(ids).toEqual(wasm);
    expect(await notice(o.page).textContent()).toMatch(/The GPU device was lost \(destroyed.*\)\. The engine moved to wasm and reloaded nexttoken-3m; nothing was lost\./);
    expect(await o.page.locator('#backend').textContent()).toMatch(/^wasm/);
    expect(await errorText(o.page)).toBe('');
    expect(await o.page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(PROMPT);
    // And the engine goes on working on WASM.
    await runAndWait(o.page, 'Generate');
    expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(wasm);
  });
});

describe('a lost GPU device when moving to WASM fails too (WebGPU, software adapter)', () => {
  const o = usePage('backend=webgpu&testHooks&t=0&max=20', false);

  it('says the move failed and to reload, keeps the transcript and prompt, and later jobs say why, not "not loaded" (issue 29, hole 3)', async () => {
    const page = o.page;
    await fault(page, { kind: 'failRecovery' });
    await fault(page, { kind: 'loseDevice', atStep: 5 });
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const failed = /moving the engine to WASM failed \(test hook: the reload on WASM failed\), so nexttoken-3m is no longer loaded\. Reload the page/;
    await expect.poll(() => errorText(page), { timeout: 120_000 }).toMatch(failed);
    await idle(page);
    await expect.poll(() => page.evaluate(() => document.body.dataset.engine)).toBe('failed');
    expect(await notice(page).textContent()).not.toMatch(/moved to wasm/i);
    // The six tokens shown before the loss stay, and they are the CLI's.
    const shown = (await outputTokens(page)).map((t) => t.id);
    expect(shown.length).toBe(6);
    expect(shown).toEqual((await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '6'])).map((s) => s.id));
    expect(await page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(PROMPT);
    // The next job is refused with the reason, not with "the model is not loaded yet".
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    await expect.poll(() => errorText(page), { timeout: 60_000 }).toMatch(failed);
    expect(await errorText(page)).not.toMatch(/not loaded yet/);
  });
});

/** The status line after an auto load that measured both backends: [chosen, webgpu ms, wasm ms], the faster chosen. */
async function measuredAtLoad(page: Page): Promise<[string, string, string]> {
  const status = (await page.locator('#backend').textContent()) ?? '';
  const m = /^auto → (webgpu|wasm)\b.*\(measured at load: webgpu ([\d.]+) ms\/token, wasm ([\d.]+) ms\/token\)$/.exec(status);
  expect(m, status).not.toBeNull();
  const [, chosen, gpu, wasm] = m!;
  expect(chosen).toBe(Number(gpu) < Number(wasm) ? 'webgpu' : 'wasm');
  return [chosen, gpu, wasm];
}

/** Generate greedily on the page: its tokens must be the CLI's for the same prompt. */
async function expectCliGreedy(page: Page, maxTokens: number): Promise<void> {
  await runAndWait(page, 'Generate');
  const cli = (await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', String(maxTokens)])).map((s) => s.id);
  expect((await outputTokens(page)).map((t) => t.id)).toEqual(cli);
}

describe('?backend=auto', () => {
  const o = usePage('backend=auto&t=0&max=12', true);

  it('times a few decode steps on WebGPU and on WASM at load, keeps the faster, and shows both figures', async () => {
    await measuredAtLoad(o.page);
    // And the engine it kept generates the CLI's greedy tokens.
    await expectCliGreedy(o.page, 12);
  });
});

describe('no backend asked for: auto, remembered per model and device', () => {
  const o = usePage('t=0&max=6', true);

  it('the first load measures WebGPU and WASM and keeps the faster; a reload on the same device loads once, on the remembered choice, and says so', async () => {
    const status = async () => (await o.page.locator('#backend').textContent()) ?? '';
    const [chosen, gpu, wasm] = await measuredAtLoad(o.page);
    await o.page.reload();
    await o.page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    const again = /^auto → (webgpu|wasm)\b.*\(measured on this device before: webgpu ([\d.]+) ms\/token, wasm ([\d.]+) ms\/token; \?backend=auto measures again\)$/.exec(await status());
    expect(again, await status()).not.toBeNull();
    expect(again!.slice(1)).toEqual([chosen, gpu, wasm]);
    // The remembered engine generates the CLI's greedy tokens.
    await expectCliGreedy(o.page, 6);
  });
});

describe('a crashed or silent worker', () => {
  const o = usePage('backend=wasm&testHooks&timeoutScale=0.25&t=0&max=10', false);

  it('an uncaught error in the worker: the worker is replaced, the model reloaded, every run kept', async () => {
    await runAndWait(o.page, 'Generate');
    const before = await outputTokens(o.page);
    await fault(o.page, { kind: 'throw' });
    await expect.poll(() => notice(o.page).textContent(), { timeout: 120_000 }).toMatch(/The engine stopped \(the inference worker crashed: .*test hook: the worker threw.*\) and was restarted/);
    await idle(o.page);
    expect(await outputTokens(o.page)).toEqual(before);
    expect(await o.page.evaluate(() => document.body.dataset.runs)).toBe('1');
    await runAndWait(o.page, 'Generate'); // the new worker generates
    expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(before.map((t) => t.id));
  });

  it('a worker that stops answering: the pending request fails with a message within its timeout, then the worker is replaced', async () => {
    await fault(o.page, { kind: 'exit' });
    await o.page.getByLabel('Prompt', { exact: true }).fill('Once upon a time there'); // asks the worker to tokenize
    await expect.poll(() => errorText(o.page), { timeout: 60_000 }).toMatch(/^tokenize got no answer from the engine within 5 s, so it was given up\. Your text and settings are kept; try again\.$/);
    await expect.poll(() => notice(o.page).textContent(), { timeout: 120_000 }).toMatch(/The engine stopped \(it stopped answering \(tokenize waited 5 s\)\) and was restarted/);
    await idle(o.page);
    expect(await o.page.getByLabel('Prompt', { exact: true }).inputValue()).toBe('Once upon a time there');
    expect(await o.page.evaluate(() => document.body.dataset.runs)).toBe('2');
  });

  it('a worker that crashes during a load: the recovery alone loads the model again, and the load it ended shows no error (issue 29, hole 8)', async () => {
    const page = o.page;
    const loads = Number(await page.evaluate(() => document.body.dataset.loads));
    const prompt = await page.getByLabel('Prompt', { exact: true }).inputValue();
    // The model file is held back until the crash: the load is surely under way when the worker dies.
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let requested = false;
    await page.route('**/stories15m-q4_0.gguf', async (route) => {
      requested = true;
      await held;
      await route.abort().catch(() => {});
    });
    await openMore(page);
    await page.getByLabel('Model', { exact: true }).selectOption('stories');
    await page.getByRole('button', { name: 'Load model' }).click();
    await expect.poll(() => requested, { timeout: 60_000 }).toBe(true);
    expect(await page.evaluate(() => document.body.dataset.engine)).toBe('loading');
    await fault(page, { kind: 'throw' });
    await expect.poll(() => notice(page).textContent(), { timeout: 120_000 }).toMatch(/The engine stopped \(the inference worker crashed: .*test hook: the worker threw.*\) and was restarted/);
    await page.waitForFunction((n) => Number(document.body.dataset.loads) > n, loads, { timeout: 120_000 });
    await idle(page);
    expect(await page.evaluate(() => [document.body.dataset.engine, document.body.dataset.engineModel])).toEqual(['ready', 'nexttoken-3m']);
    expect(await page.locator('#model-info').textContent()).toMatch(/nexttoken-3m/);
    expect(await errorText(page)).toBe('');
    expect(Number(await page.evaluate(() => document.body.dataset.loads))).toBe(loads + 1);
    expect(await page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(prompt);
    release();
    await page.unroute('**/stories15m-q4_0.gguf');
  });
});

describe('a job queued behind a slow-motion generation', () => {
  // Recomputing a step's logits (the page keeps only the newest: logitsBudget=1) is an engine job: it waits
  // behind the run. Its timeout here is 120 s × 0.05 = 6 s; the run takes 12 steps of 1 s.
  const o = usePage('backend=wasm&testHooks&timeoutScale=0.05&logitsBudget=1&t=0&max=12&delay=1000', false);

  it('waits longer than its timeout without failing, and completes when it starts (its timer counts from then)', async () => {
    const before = Number(await o.page.evaluate(() => document.body.dataset.runs ?? 0));
    await o.page.getByRole('button', { name: 'Generate', exact: true }).click();
    await o.page.getByRole('button', { name: 'Plain text', exact: true }).click(); // before the first token: nothing to decode yet
    const tokens = o.page.locator('section[aria-label="Output"] button.token[data-active="true"]');
    await expect.poll(() => tokens.count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await tokens.first().click(); // step 1: its logits were let go, so they are recomputed, behind the run
    // While it waits, the panel says where it is in the queue (the worker's count), not just "recomputing".
    const panel = o.page.getByRole('region', { name: 'Next-token distribution' });
    await expect.poll(() => panel.locator('[data-recomputing]').textContent(), { timeout: 30_000 }).toMatch(/when the engine is free: one job is ahead/);
    await o.page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before, { timeout: 120_000 });
    await idle(o.page);
    const cli = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '12']);
    const region = o.page.getByRole('region', { name: 'Next-token distribution' });
    await expect.poll(() => region.textContent(), { timeout: 60_000 }).toContain('Step 1 (');
    expect(await region.locator('ol.candidates li[data-id]').first().getAttribute('data-id')).toBe(String(cli[0].top[0].id));
    expect(await errorText(o.page)).toBe('');
    expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(cli.map((s) => s.id));
    await expect.poll(() => o.page.locator('pre.plain-text').textContent()).toMatch(new RegExp(`^${PROMPT}.+`, 's'));
  });
});

describe('jobs one at a time', () => {
  const o = usePage('backend=wasm&testHooks&t=1&seed=42&max=20', true);

  it('a model load during "Check all questions": no error, the lens says it was cancelled, the new model is ready', async () => {
    const lens = o.page.getByRole('region', { name: 'Hallucination lens' });
    await lens.getByRole('button', { name: 'Check all questions' }).click();
    await expect.poll(() => lens.locator('.lens-progress').textContent(), { timeout: 60_000 }).toMatch(/^[1-9]\d* \/ \d+$/);
    await openMore(o.page);
    await o.page.getByRole('button', { name: 'Load model', exact: true }).click();
    await expect.poll(() => lens.textContent(), { timeout: 120_000 }).toMatch(/Check all questions was cancelled after \d+ of \d+ questions\./);
    await expect.poll(() => notice(o.page).textContent(), { timeout: 120_000 }).toMatch(/nexttoken-3m is loaded\. To load it, the engine cancelled: Check all questions \(\d+ of \d+ done\)\./);
    await idle(o.page);
    expect(await errorText(o.page)).toBe('');
    await runAndWait(o.page, 'Generate'); // the new model works
    expect((await outputTokens(o.page)).length).toBe(20);
  });

  it('a paused step-by-step run, then Look inside, the lens and perplexity, then Next token: the next token is the CLI\'s', async () => {
    const prompt = 'The cat sat on the'; // a new prompt: Next token starts a new run rather than continuing the last one
    const cli = (await cliSteps(['--model', MODEL, '--prompt', prompt, '--temperature', '1', '--seed', '42', '--max-tokens', '4'])).map((s) => s.id);
    await o.page.getByLabel('Prompt', { exact: true }).fill(prompt);
    for (let i = 0; i < 3; i++) await runAndWait(o.page, 'Next token');
    expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(cli.slice(0, 3));
    // Tools between the steps: each runs its own forward passes on the engine.
    await o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]').nth(2).click();
    const inside = o.page.getByRole('region', { name: 'Inside the model' });
    await inside.getByRole('button', { name: 'Look inside this step' }).click();
    await inside.locator('canvas.heat').waitFor();
    const lens = o.page.getByRole('region', { name: 'Hallucination lens' });
    await lens.getByRole('button', { name: 'Ask', exact: true }).click();
    await lens.getByRole('region', { name: 'Lens result' }).locator('dl').waitFor();
    const ex = o.page.getByRole('region', { name: 'Experiments' });
    await ex.getByRole('button', { name: 'Measure perplexity' }).click();
    await ex.getByRole('region', { name: 'Token surprise' }).locator('strong').waitFor();
    await idle(o.page);
    await runAndWait(o.page, 'Next token');
    expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(cli);
  });

  it('NaN logits: the step is refused with its number and the likely cause; the run keeps its tokens', async () => {
    await o.page.getByLabel('Prompt', { exact: true }).fill(PROMPT);
    await fault(o.page, { kind: 'nanLogits', atStep: 3 });
    await runAndWait(o.page, 'Generate');
    expect(await errorText(o.page)).toMatch(/^Step 4 was not sampled: 6144 of 6144 logits are NaN or infinite, .* damaged weights .* or a backend that miscomputed \(wasm\)\. Nothing was drawn; the text so far is kept\.$/);
    expect((await outputTokens(o.page)).length).toBe(3);
    expect(await o.page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(PROMPT);
  });
});

describe('bounded memory: the page keeps the newest steps\' logits, older ones are recomputed', () => {
  const o = usePage('backend=wasm&testHooks&logitsBudget=1&t=1&seed=42&max=12', true); // a budget of one step

  it('a past step, selected again, shows the distribution it was sampled from (CLI witness)', async () => {
    await runAndWait(o.page, 'Generate');
    const cli = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '1', '--seed', '42', '--max-tokens', '12']);
    const panel = o.page.getByRole('region', { name: 'Next-token distribution' });
    for (const i of [0, 4]) {
      await o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]').nth(i).click();
      await expect.poll(() => panel.locator('.step-summary').textContent(), { timeout: 60_000 }).toContain(`Step ${i + 1} `);
      const rows = await panel.locator('ol.candidates li:not([data-other="true"])').evaluateAll((lis) =>
        lis.map((li) => ({ id: Number(li.getAttribute('data-id')), raw: Number(/([\d.e+-]+)%/.exec(li.querySelector('.raw')?.textContent ?? '')?.[1]) })),
      );
      for (const [k, c] of cli[i].top.slice(0, 10).entries()) {
        expect(rows[k].id).toBe(c.id);
        expect(Math.abs(rows[k].raw - c.rawProb * 100)).toBeLessThanOrEqual(0.1);
      }
    }
  });

  it('a step the engine refuses to recompute says so and is not asked again by itself; selecting its token again asks again', async () => {
    const panel = o.page.getByRole('region', { name: 'Next-token distribution' });
    const token = (i: number) => o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]').nth(i);
    // A step whose logits were let go: the engine is asked for them, and refuses once. Had the page asked again by
    // itself (every render did), the second ask would succeed and the refusal never be seen.
    await fault(o.page, { kind: 'failStepLogits' });
    await token(7).click();
    await expect.poll(() => panel.textContent(), { timeout: 60_000 }).toContain('could not be recomputed');
    expect(await errorText(o.page)).toMatch(/could not be recomputed/);
    await token(7).click();
    await expect.poll(() => panel.locator('.step-summary').textContent(), { timeout: 60_000 }).toContain('Step 8 ');
  });
});

describe('bad input in the UI: a message that says what to do, and nothing typed is lost', () => {
  const o = usePage('backend=wasm&t=0&max=10', false);

  it("B37 a 1 MB paste into the prompt: refused before any run, the text kept", async () => {
    const big = 'and then '.repeat(116_509).slice(0, 1_048_576);
    const prompt = o.page.getByLabel('Prompt', { exact: true });
    await prompt.fill(big);
    await o.page.getByRole('button', { name: 'Generate', exact: true }).click();
    await expect.poll(() => errorText(o.page), { timeout: 120_000 }).toMatch(/^The prompt is/);
    expect(await o.page.evaluate(() => document.body.dataset.runs ?? '0')).toBe('0');
    expect((await prompt.inputValue()).length).toBe(big.length);
    expectRow(rows, 'B37', 'UI', 'a 1 MB paste into the prompt, then Generate', normalise(await errorText(o.page)));
    await prompt.fill(PROMPT);
  });

  it('B38 Max tokens 0', async () => {
    await openMore(o.page);
    await o.page.getByLabel('Max tokens', { exact: true }).fill('0');
    await expect.poll(() => errorText(o.page)).toMatch(/Max tokens/);
    expectRow(rows, 'B38', 'UI', 'Max tokens field set to 0', normalise(await errorText(o.page)));
    await runAndWait(o.page, 'Generate'); // the last valid value (10) is still in force
    expect((await outputTokens(o.page)).length).toBe(10);
  });

  it('B39 temperatures "0, 9" in Compare temperatures', async () => {
    const ex = o.page.getByRole('region', { name: 'Experiments' });
    await ex.getByLabel('Temperatures').fill('0, 9');
    await ex.getByRole('button', { name: 'Compare temperatures' }).click();
    await expect.poll(() => errorText(o.page)).toMatch(/^Temperatures/);
    expectRow(rows, 'B39', 'UI', 'Compare temperatures with "0, 9"', normalise(await errorText(o.page)));
    expect(await ex.getByLabel('Temperatures').inputValue()).toBe('0, 9');
  });
});
