// Screenshots of the why-views (npx tsx tools/screenshots-why.ts): the page and the sampling stages, the forward pass drawn as boxes, the
// labelled attention map, the why-this-token strips, the token tree and the guessing game, at 1280 and
// 390 px; and the output's probability colours under simulated deuteranopia and protanopia (Chromium's
// Emulation.setEmulatedVisionDeficiency). Written to docs/screenshots/why-views/.
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launch, openReady, startApp, stopApp } from './browser.ts';

const OUT = 'docs/screenshots/why-views';
mkdirSync(OUT, { recursive: true });
const base = await startApp();
const browser = await launch();

const open = (width: number, query: string) => openReady(browser, base + query, width);
async function run(page: Page, button: string): Promise<void> {
  const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before, { timeout: 120_000 });
}
const tokens = (page: Page) => page.locator('section[aria-label="Output"] button.token[data-active="true"]');

for (const width of [1280, 390]) {
  // The sampling stages: repetition penalty, temperature, top-k and min-p on, the panel's stage list and the page around it.
  const staged = await open(width, `?backend=wasm&prompt=${encodeURIComponent('Once upon a time, there was a')}&rep=1.3&t=0.9&k=40&minp=0.05&max=12&seed=3`);
  await run(staged, 'Generate');
  await tokens(staged).nth(0).click();
  await staged.locator('ol.stages').waitFor();
  await staged.screenshot({ path: `${OUT}/page-${width}.png` });
  // The sticky views bar would cover the top of an element screenshot.
  await staged.addStyleTag({ content: '.views-nav { position: static !important; }' });
  await staged.locator('#step-panel').screenshot({ path: `${OUT}/stages-${width}.png` });
  await staged.locator('#step-panel ol.stages').screenshot({ path: `${OUT}/stages-list-${width}.png` });
  await staged.locator('#step-panel .cand-box').screenshot({ path: `${OUT}/stages-candidates-${width}.png` });
  await staged.close();
  const page = await open(width, `?backend=wasm&prompt=${encodeURIComponent('The capital of France is')}&t=0&max=6`);
  await run(page, 'Generate');
  await tokens(page).nth(2).click();
  const inside = page.getByRole('region', { name: 'Inside the model' });
  await inside.getByRole('button', { name: 'Look inside this step' }).click();
  const picture = page.getByRole('region', { name: 'The model', exact: true });
  await picture.locator('g[data-part="block"][data-top-id]').first().waitFor();
  await picture.screenshot({ path: `${OUT}/architecture-${width}.png` });
  await inside.locator('canvas.heat').focus();
  await page.keyboard.press('ArrowLeft');
  await inside.locator('.attention-map').screenshot({ path: `${OUT}/attention-${width}.png` });
  await inside.getByRole('button', { name: 'Why this token?' }).click();
  await inside.locator('.why-strip').nth(1).waitFor();
  await inside.locator('.why').screenshot({ path: `${OUT}/why-${width}.png` });
  // A typed branch, then the token tree.
  await tokens(page).nth(1).click();
  await page.getByRole('textbox', { name: 'Or force your own next token(s):' }).fill(' the sea');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.locator('.forced').waitFor();
  await page.locator('.forced').screenshot({ path: `${OUT}/force-${width}.png` });
  await run(page, 'Continue from here');
  await page.locator('details.token-tree-box > summary').click();
  await page.locator('.tt-row').nth(1).waitFor();
  await page.locator('details.token-tree-box').screenshot({ path: `${OUT}/token-tree-${width}.png` });
  await page.close();

  // The guessing game: a hidden token, then the scored guess.
  const game = await open(width, `?backend=wasm&prompt=${encodeURIComponent('Once upon a time')}&t=1&seed=3&max=8`);
  await game.locator('details.more > summary').click(); // the game's switch waits in the drawer
  await game.getByLabel('Guess each next token (a game)').check();
  await game.getByRole('button', { name: 'Next token', exact: true }).click();
  await game.locator('button.token.hidden-guess').waitFor();
  await game.locator('form.guess').screenshot({ path: `${OUT}/guess-hidden-${width}.png` });
  await game.locator('button.guess-pick').first().click();
  await game.locator('.guess-result').waitFor();
  await game.locator('#step-panel').screenshot({ path: `${OUT}/guess-scored-${width}.png` });
  await game.close();
}

// The palette as people with deuteranopia and protanopia see it (the output of a 60-token run).
const page = await open(1280, `?backend=wasm&prompt=${encodeURIComponent('Once upon a time')}&t=1&seed=42&max=60`);
await run(page, 'Generate');
const cdp = await page.context().newCDPSession(page);
for (const vision of ['none', 'deuteranopia', 'protanopia'] as const) {
  await cdp.send('Emulation.setEmulatedVisionDeficiency', { type: vision });
  await page.getByRole('region', { name: 'Output' }).screenshot({ path: `${OUT}/palette-${vision === 'none' ? 'normal' : vision}.png` });
}
await page.close();
await browser.close();
await stopApp();
console.log(`screenshots in ${OUT}`);
