// Screenshots of the bilingual embedded model with the interface in 中文 (npx tsx tools/screenshots-zh.ts):
// "法国的首都是" continued greedily, the training replay for that prompt, and the lens on a held-out Chinese
// question, at 1280 and 390 px. Written to docs/screenshots/zh/.
import { mkdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { Fact } from '../src/engine/tools/evaluate.ts';
import { zh } from '../src/ui/i18n/zh.ts';
import { launch, openReady, startApp, stopApp } from './browser.ts';

const OUT = 'docs/screenshots/zh';
mkdirSync(OUT, { recursive: true });
const facts = (JSON.parse(readFileSync('models/nexttoken-3m/facts.json', 'utf8')) as { facts: Fact[] }).facts;
// The first held-out Chinese capital (facts.json order), whatever the model answers.
const heldOut = facts.find((f) => f.lang === 'zh' && f.relation === 'capital' && !f.seen)!;
const base = await startApp();
const browser = await launch();

async function open(width: number, query: string): Promise<Page> {
  const page = await openReady(browser, base + query, width);
  // The sticky views bar would cover the top of an element screenshot.
  await page.addStyleTag({ content: '.views-nav { position: static !important; }' });
  return page;
}

for (const width of [1280, 390]) {
  const page = await open(width, `?backend=wasm&lang=zh&t=0&max=4&prompt=${encodeURIComponent('法国的首都是')}`);
  const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
  await page.getByRole('button', { name: zh.generate, exact: true }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before, { timeout: 120_000 });
  await page.screenshot({ path: `${OUT}/page-${width}.png` });
  const replay = page.locator('section.panel.replay');
  await replay.locator('button.primary').click();
  await replay.locator('article.replay-card').nth(4).waitFor({ timeout: 120_000 });
  await replay.screenshot({ path: `${OUT}/replay-${width}.png` });
  const lens = page.locator('section.panel.lens');
  await lens.locator('#lens-question').selectOption({ label: heldOut.prompts.question });
  await lens.locator('button.primary').click();
  await lens.locator('.lens-result dl').waitFor({ timeout: 60_000 });
  await lens.screenshot({ path: `${OUT}/lens-${width}.png` });
  await page.close();
}
await browser.close();
await stopApp();
console.log(`screenshots in ${OUT}/`);
