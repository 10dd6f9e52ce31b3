// Temperature side by side and perplexity in the app (WASM), against the CLI and the Node engine.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/load/backend.ts';
import { perplexity } from '../../src/engine/tools/compare.ts';
import { loadModelDir } from '../../src/node/loadDir.ts';
import { cliSteps, type OpenPage, ROOT, useApp } from './harness.ts';

const app = useApp();
const PROMPT = 'Once upon a time';
let o: OpenPage;

beforeAll(async () => {
  o = await app.open(`?backend=wasm&prompt=${encodeURIComponent(PROMPT)}&seed=5&max=8`);
});
afterAll(async () => {
  expect(o.consoleErrors).toEqual([]);
});

it('continues the prompt at each temperature with the same seed; each column matches the CLI', async () => {
  const region = o.page.getByRole('region', { name: 'Experiments' });
  await region.getByLabel('Temperatures').fill('0, 1.5');
  await region.getByRole('button', { name: 'Compare temperatures' }).click();
  const cols = region.locator('.temp-col');
  await expect.poll(() => cols.count()).toBe(2);
  for (const [i, t] of ['0', '1.5'].entries()) {
    const ui = await cols.nth(i).locator('.chip').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
    const cli = await cliSteps(['--prompt', PROMPT, '--temperature', t, '--seed', '5', '--max-tokens', '8']);
    expect(ui).toEqual(cli.map((s) => s.id));
  }
});

it('measures a text’s perplexity as the engine does', async () => {
  const text = 'The people of the United States';
  const region = o.page.getByRole('region', { name: 'Experiments' });
  await region.getByLabel('Text to measure').fill(text);
  await region.getByRole('button', { name: 'Measure perplexity' }).click();
  const out = region.getByRole('region', { name: 'Token surprise' });
  await out.locator('strong').waitFor();
  await selectBackend({ order: ['wasm'] });
  const engine = await perplexity(loadModelDir(join(ROOT, 'models', 'nexttoken-3m')), text);
  const ui = Number(await out.getAttribute('data-perplexity'));
  expect(Math.abs(ui - engine.perplexity) / engine.perplexity).toBeLessThan(1e-4);
  expect(await out.locator('strong').textContent()).toBe(`Perplexity ${engine.perplexity.toFixed(2)}`);
  expect(await out.locator('.chip').count()).toBe(engine.tokens.length);
});
