// Screenshots of fine-tuning made visible (npx tsx tools/screenshots-finetune.ts): a chat with the tuned
// model, the "Before and after fine-tuning" view at a reply's token and Ask both, and the tour card
// "Pre-training → fine-tuning → preference tuning", in English and Chinese at 1280 px. Written to
// docs/screenshots/finetune/.
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launch, openReady, startApp, stopApp } from './browser.ts';

const OUT = 'docs/screenshots/finetune';
mkdirSync(OUT, { recursive: true });
const base = await startApp();
const browser = await launch();

async function send(page: Page, message: string): Promise<void> {
  const before = Number((await page.evaluate(() => document.body.dataset.runs)) ?? 0);
  await page.locator('#message').fill(message);
  await page.getByRole('button', { name: /^(Send|发送)$/ }).click();
  await page.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before, { timeout: 120_000 });
}

for (const [lang, messages] of [
  ['en', ['Hello!', 'What is the capital of France?']],
  ['zh', ['你好', '日本的首都是哪里？']],
] as const) {
  const page = await openReady(browser, `${base}?backend=wasm&lang=${lang}&mode=chat&t=0.8&max=80&seed=7`, 1280);
  for (const m of messages) await send(page, m);
  await page.screenshot({ path: `${OUT}/chat-${lang}.png` });
  await page.locator('#output .turn.assistant').last().locator('button.token').nth(1).click();
  const region = page.locator('section.panel.finetune');
  await region.locator('button.primary').click();
  await region.locator('article.finetune-side').nth(1).waitFor();
  await region.locator('.buttons button').nth(1).click(); // Ask both (the conversation's last message again)
  await region.locator('article.finetune-reply').nth(1).waitFor();
  await page.addStyleTag({ content: '.views-nav { position: static !important; }' });
  await region.screenshot({ path: `${OUT}/before-after-${lang}.png` });
  await page.close();
}

// The tour card, after Show me (Complete mode on the base: a generated step, compared with the tuned model).
const page = await openReady(browser, `${base}?backend=wasm&t=0&max=6`, 1280);
await page.getByRole('button', { name: 'Guided tour' }).click();
const tour = page.locator('.tour-card');
while ((await tour.getAttribute('data-concept')) !== 'finetuning') await page.locator('.tour-card').getByRole('button', { name: 'Next', exact: true }).click();
await page.getByRole('button', { name: 'Show me' }).click();
await page.locator('section.finetune[data-tour-target="finetuning"] article.finetune-side').nth(1).waitFor({ timeout: 120_000 });
await page.screenshot({ path: `${OUT}/tour-card-1280.png` });
await page.close();

await browser.close();
await stopApp();
console.log(`screenshots in ${OUT}`);
