// Screenshots of the core loop (npx tsx tools/screenshots-core-loop.ts after): a step whose chosen token ranks
// far below 15th (seed 42, "Once upon a time", T = 1, step 3) and a run tree with a branch, at 1280 and 390 px.
import { launch, startApp, stopApp } from './browser.ts';
const tag = process.argv[2] ?? 'before';
const base = await startApp();
const browser = await launch();
for (const width of [1280, 390]) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(base + `?backend=wasm&prompt=${encodeURIComponent('Once upon a time')}&t=1&seed=42&max=12`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180000 });
  const runsBefore = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
  await page.getByRole('button', { name: 'Generate', exact: true }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, runsBefore, { timeout: 120000 });
  await page.locator('section[aria-label="Output"] button.token').nth(2).click(); // step 3: ' as', p = 0.04%
  await page.waitForTimeout(300);
  await page.screenshot({ path: `docs/screenshots/core-loop/${tag}-lowrank-${width}.png`, fullPage: true });
  // A branch: pick the 3rd candidate at step 2, continue; then another prompt.
  await page.locator('section[aria-label="Output"] button.token').nth(1).click();
  await page.locator('ol.candidates li').nth(2).getByRole('button').click();
  let n = Number(await page.evaluate(() => document.body.dataset.runs));
  await page.getByRole('button', { name: 'Continue from here', exact: true }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, n, { timeout: 120000 });
  await page.getByLabel('Prompt', { exact: true }).fill('In the beginning');
  n = Number(await page.evaluate(() => document.body.dataset.runs));
  await page.getByRole('button', { name: 'Generate', exact: true }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, n, { timeout: 120000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `docs/screenshots/core-loop/${tag}-branches-${width}.png`, fullPage: true });
  await page.close();
}
await browser.close();
await stopApp();
