// Temperature side by side and perplexity in the app (WASM), against the CLI and the float64 reference
// (and, as a plumbing check, the engine's own perplexity run in Node).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readF32Safetensors, referenceLogits } from '../reference/naive-gpt2.ts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/runtime/backend.ts';
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

it('perplexity: the float64 reference gives the number shown; the chips are the engine’s (plumbing: the same src function run in Node)', async () => {
  const text = 'The people of the United States';
  const region = o.page.getByRole('region', { name: 'Experiments' });
  await region.getByLabel('Text to measure').fill(text);
  await region.getByRole('button', { name: 'Measure perplexity' }).click();
  const out = region.getByRole('region', { name: 'Token surprise' });
  await out.locator('strong').waitFor();
  await selectBackend({ order: ['wasm'] });
  const engine = await perplexity(loadModelDir(join(ROOT, 'models', 'nexttoken-3m')), text);
  const ui = Number(await out.getAttribute('data-perplexity'));
  // Independent witness: plain float64 loops on the same weights. The text is scored after the end-of-text token.
  const dir = join(ROOT, 'models', 'nexttoken-3m');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const ids = [config.eos_token_id, ...engine.tokens.map((t) => t.id)];
  const ref = referenceLogits(config, readF32Safetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors')))), ids);
  let nll = 0;
  for (let t = 1; t < ids.length; t++) {
    const row = ref[t - 1];
    const max = Math.max(...row);
    nll -= row[ids[t]] - max - Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  }
  const reference = Math.exp(nll / (ids.length - 1));
  expect(Math.abs(ui - reference) / reference).toBeLessThan(1e-4);
  // Plumbing: the page shows what the engine computes.
  expect(Math.abs(ui - engine.perplexity) / engine.perplexity).toBeLessThan(1e-4);
  expect(await out.locator('strong').textContent()).toBe(`Perplexity ${engine.perplexity.toFixed(2)}`);
  expect(await out.locator('.chip').count()).toBe(engine.tokens.length);
});
