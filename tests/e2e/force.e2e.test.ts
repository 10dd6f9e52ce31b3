// Force a token: the learner's own text as the next token(s) at a step, in the production build.
// Witnesses: the float64 reference (the typed token's probability and rank at that step), the Node
// tokenizer (its tokens) and the Node CLI (the branch's greedy continuation).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDir } from '../../src/node/loadDir.ts';
import { selectBackend } from '../../src/engine/runtime/backend.ts';
import type { LoadedModel } from '../../src/engine/load/load.ts';
import { readF32Safetensors, referenceLogits } from '../reference/naive-gpt2.ts';
import { expectRow, normalise, badInputRows } from '../shared/badInputTable.ts';
import { cliSteps, openMore, outputTokens, ROOT, runAndWait, useApp, type OpenPage } from './harness.ts';

const app = useApp();
const MODEL = 'models/nexttoken-3m';
const PROMPT = 'The capital of France is';
const TYPED = ' the sea';
let lm: LoadedModel;

beforeAll(async () => {
  await selectBackend({ order: ['wasm'] });
  lm = loadModelDir(join(ROOT, MODEL));
});

describe('force a token', () => {
  let o: OpenPage;
  beforeAll(async () => {
    o = await app.open(`?backend=wasm&prompt=${encodeURIComponent(PROMPT)}&t=0&max=8`);
  });
  afterAll(async () => {
    expect(o.consoleErrors).toEqual([]);
    await o.page.close();
  });

  it('shows the typed text as the model’s tokens, the first one’s probability and rank at the step (float64 reference), then continues a branch from all of them (CLI witness)', async () => {
    const page = o.page;
    await runAndWait(page, 'Generate');
    const first = (await outputTokens(page))[0].id;
    await page.locator('section[aria-label="Output"] button.token[data-active="true"]').nth(1).click(); // step 2
    const box = page.getByRole('textbox', { name: 'Or force your own next token(s):' });
    await box.fill(TYPED);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    const forced = page.locator('.forced');
    await forced.waitFor();

    const ids = lm.tokenizer.encodeContinuation(TYPED);
    expect(ids.length).toBeGreaterThan(1);
    expect((await forced.locator('.chip').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id))))).toEqual(ids);
    // The step's context: the prompt and the first generated token. The reference's distribution there.
    const context = [...lm.tokenizer.encode(PROMPT), first];
    const config = JSON.parse(readFileSync(join(ROOT, MODEL, 'config.json'), 'utf8'));
    const weights = readF32Safetensors(new Uint8Array(readFileSync(join(ROOT, MODEL, 'model.safetensors'))));
    const logits = referenceLogits(config, weights, context).at(-1)!;
    const max = Math.max(...logits);
    const z = logits.reduce((a, x) => a + Math.exp(x - max), 0);
    const p = (id: number) => Math.exp(logits[id] - max) / z;
    const rank = 1 + Array.from(logits).filter((_, i) => p(i) > p(ids[0]) || (p(i) === p(ids[0]) && i < ids[0])).length;
    expect(Math.abs(Number(await forced.getAttribute('data-raw')) - p(ids[0]))).toBeLessThan(1e-5);
    expect(Number(await forced.getAttribute('data-rank'))).toBe(rank);
    // Greedy (t=0) keeps only the most probable token: anything else can never be sampled, and the panel says so.
    if (rank > 1) {
      expect(Number(await forced.getAttribute('data-final'))).toBe(0);
      // And names what left it out: temperature 0, not the top-k / top-p the page once blamed.
      expect(await forced.textContent()).toContain('the current settings leave it out (temperature 0 always takes the most probable token): sampling could never choose it');
    }

    await runAndWait(page, 'Continue from here');
    const branch = (await outputTokens(page)).map((t) => t.id);
    const cont = await cliSteps(['--model', MODEL, '--prompt-ids', [...context, ...ids].join(','), '--temperature', '0', '--max-tokens', String(8 - 1 - ids.length)]);
    expect(branch).toEqual([first, ...ids, ...cont.map((s) => s.id)]);
    // The rate on screen counts painted frames: tokens that arrive together are seen together (no display paints
    // 250 times a second; two callbacks of one frame once read as "66666.7 tokens/s").
    const perf = (await page.locator('#perf').textContent()) ?? '';
    const onScreen = /([\d.]+) tokens\/s on screen/.exec(perf);
    if (onScreen) expect(Number(onScreen[1]), perf).toBeLessThanOrEqual(250);
    expect(await page.locator('.run-tree button[aria-current="true"]').textContent()).toMatch(/from step 2 of run 1: typed “␣the␣sea” instead of “.+”/);
  });

  it('the plain-text view shows the shown run as the tokenizer decodes it (Node witness), and follows the runs', async () => {
    const page = o.page;
    await page.getByRole('button', { name: 'Plain text' }).click();
    const plain = page.locator('pre.plain-text');
    const ids = (await outputTokens(page)).map((t) => t.id);
    await expect.poll(() => plain.textContent()).toBe(PROMPT + lm.tokenizer.decode(ids));
    expect(await page.getByRole('button', { name: 'Plain text' }).getAttribute('aria-pressed')).toBe('true');
    // Another run shown: its own text.
    await page.locator('.run-tree button').first().click();
    const first = (await outputTokens(page)).map((t) => t.id);
    expect(first).not.toEqual(ids);
    await expect.poll(() => plain.textContent()).toBe(PROMPT + lm.tokenizer.decode(first));
    await page.getByRole('button', { name: 'Plain text' }).click();
    expect(await plain.isHidden()).toBe(true);
  });

  it('the token tree: one row per run, the branch starting in its step’s column, probabilities under the tokens (CLI witness), arrow keys and Enter select a step', async () => {
    const page = o.page;
    await page.locator('details.token-tree-box > summary').click();
    const rows = page.locator('.tt-row');
    expect(await rows.count()).toBe(2);
    const cells = (row: number) =>
      rows.nth(row).locator('.tt-node').evaluateAll((els) => els.map((e) => ({ step: Number((e as HTMLElement).dataset.step), id: Number((e as HTMLElement).dataset.id), p: Number((e as HTMLElement).dataset.prob) })));
    const root = await cells(0);
    const cli = await cliSteps(['--model', MODEL, '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '8']);
    expect(root.map((c) => c.id)).toEqual(cli.map((x) => x.id));
    root.forEach((c, i) => expect(Math.abs(c.p - cli[i].rawProb)).toBeLessThan(1e-4));
    // The branch (typed at step 2) starts in column 2 with the typed tokens.
    const branch = await cells(1);
    const ids = lm.tokenizer.encodeContinuation(TYPED);
    expect(branch[0].step).toBe(1);
    expect(branch.slice(0, ids.length).map((c) => c.id)).toEqual(ids);
    // The shown run's path (run 1) is marked; keyboard: from its step 2, ↓ to the branch's first token, Enter selects it.
    expect(await rows.nth(0).locator('.tt-node.on-path').count()).toBe(root.length);
    await rows.nth(0).locator('.tt-node').nth(1).focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => [(document.activeElement as HTMLElement).dataset.run, (document.activeElement as HTMLElement).dataset.step])).toEqual(['2', '1']);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#step-panel .step-summary').textContent()).toContain('Step 2 ');
    expect(await page.locator('.run-tree button[aria-current="true"]').getAttribute('data-run')).toBe('2');
    await expect.poll(() => rows.nth(1).locator('.tt-node[aria-current="true"]').getAttribute('data-step')).toBe('1');
  });

  it('the token tree shows the shown prompt’s runs; another prompt’s runs wait behind its choice', async () => {
    const page = o.page;
    const rows = page.locator('.tt-row');
    await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time');
    await runAndWait(page, 'Generate');
    // The new prompt has one run: the tree shows it alone, not the two runs of the first prompt.
    await expect.poll(() => rows.count()).toBe(1);
    const choice = page.getByLabel('Runs of the prompt', { exact: true });
    const options = await choice.locator('option').allTextContents();
    expect(options).toEqual([`“${PROMPT}” (2 runs)`, '“Once upon a time” (1 run)']);
    await choice.selectOption({ index: 0 });
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.evaluateAll((rs) => rs.map((r) => (r as HTMLElement).dataset.run))).toEqual(['1', '2']);
    // Back to the first prompt's run for the tests after this one.
    await page.getByLabel('Prompt', { exact: true }).fill(PROMPT);
    await rows.nth(0).locator('.tt-node').first().click();
  });

  it('B40 empty text is refused with a message that says what to do (the docs/bad-input.md row, word for word); the runs stay', async () => {
    const page = o.page;
    const runsBefore = await page.evaluate(() => document.body.dataset.runCount);
    await page.locator('section[aria-label="Output"] button.token[data-active="true"]').nth(1).click();
    await page.getByRole('textbox', { name: 'Or force your own next token(s):' }).fill('');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await expect.poll(() => page.locator('#error').textContent()).toContain('Type the text you want as the next token(s)');
    expectRow(badInputRows(), 'B40', 'UI', 'Check with an empty "force your own next token(s)" box', normalise((await page.locator('#error').textContent()) ?? ''));
    expect(await page.evaluate(() => document.body.dataset.runCount)).toBe(runsBefore);
  });
});

describe('guess the next token', () => {
  let o: OpenPage;
  const P = 'Once upon a time';
  beforeAll(async () => {
    o = await app.open(`?backend=wasm&prompt=${encodeURIComponent(P)}&t=1&seed=3&max=8`);
  });
  afterAll(async () => {
    expect(o.consoleErrors).toEqual([]);
    await o.page.close();
  });

  it('each Next token stays hidden until guessed; a guess (picked or typed) is scored by the model’s probability and rank there (CLI witness), with a running score', async () => {
    const page = o.page;
    await openMore(page);
    await page.getByLabel('Guess each next token (a game)').check();
    expect(await page.getByRole('button', { name: 'Generate', exact: true }).isDisabled()).toBe(true);
    const cli = await cliSteps(['--model', MODEL, '--prompt', P, '--temperature', '1', '--seed', '3', '--max-tokens', '2']);
    const panel = page.locator('#step-panel');

    // Round 1: the hidden token, no probabilities shown; pick the model's favourite.
    await page.getByRole('button', { name: 'Next token', exact: true }).click();
    const hidden = page.locator('button.token.hidden-guess');
    await hidden.waitFor();
    expect(await hidden.textContent()).toBe('?');
    expect(await panel.locator('ol.candidates').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Next token', exact: true }).isDisabled()).toBe(true);
    expect(await page.locator('form.force').isHidden()).toBe(true); // no way to read the hidden step's distribution
    await panel.locator(`button.guess-pick[data-id="${cli[0].top[0].id}"]`).click();
    const result = panel.locator('.guess-result');
    await result.waitFor();
    expect(await result.getAttribute('data-rank')).toBe('1');
    expect(Math.abs(Number(await result.getAttribute('data-prob')) - cli[0].top[0].rawProb)).toBeLessThan(1e-5);
    expect(await hidden.count()).toBe(0);
    expect((await outputTokens(page)).map((t) => t.id)).toEqual([cli[0].id]);

    // Round 2: a typed guess; its first token is scored.
    await page.getByRole('button', { name: 'Next token', exact: true }).click();
    await hidden.waitFor();
    await panel.getByRole('textbox', { name: 'Your turn: guess the next token' }).fill('zzzz');
    await panel.getByRole('button', { name: 'Guess', exact: true }).click();
    await expect.poll(() => panel.locator('.guess-score').getAttribute('data-rounds')).toBe('2');
    const guessId = lm.tokenizer.encode('zzzz')[0];
    const inTop = cli[1].top.findIndex((c) => c.id === guessId);
    const rank = Number(await panel.locator('.guess-result').getAttribute('data-rank'));
    if (inTop >= 0) expect(rank).toBe(inTop + 1);
    else expect(rank).toBeGreaterThan(cli[1].top.length);
    expect((await outputTokens(page)).map((t) => t.id)).toEqual(cli.map((s) => s.id));
    expect(await panel.locator('.guess-score').textContent()).toContain('Score after 2 rounds: your guess was the model’s favourite 1 time');
  });
});
