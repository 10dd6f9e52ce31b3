// Screenshots of the Precision view (npx tsx tools/screenshots-precision.ts): the embedded model at float32,
// Q8_0 and Q4_0 at one step, in English and Chinese, at 1280 and 390 wide. Written to docs/screenshots/precision/.
import { mkdirSync } from 'node:fs';
import { launch, startApp, stopApp } from './browser.ts';

const OUT = 'docs/screenshots/precision';
mkdirSync(OUT, { recursive: true });
const base = await startApp();
const browser = await launch();
const prompts = { en: 'Once upon a time', zh: '法国的首都是' };
for (const lang of ['en', 'zh'] as const) {
  for (const width of [1280, 390]) {
    const page = await browser.newPage({ viewport: { width, height: 900 }, locale: lang === 'zh' ? 'zh-CN' : 'en-US' });
    await page.goto(`${base}?backend=wasm&lang=${lang}&prompt=${encodeURIComponent(prompts[lang])}&t=0.8&seed=3&max=24`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    await page.locator('.input-box button.primary').first().click();
    await page.locator('#output button.token[data-step="23"]').waitFor({ state: 'attached', timeout: 120_000 });
    await page.locator('#output button.token:not([hidden])').nth(4).click();
    const region = page.locator('section.panel.precision');
    await region.locator('button.primary').click();
    await region.locator('.precision-greedy li').nth(2).waitFor({ timeout: 180_000 });
    await page.addStyleTag({ content: '.views-nav { position: static !important; }' });
    await region.screenshot({ path: `${OUT}/precision-${width}-${lang}.png` });
    await page.close();
  }
}
await browser.close();
await stopApp();
console.log(`screenshots in ${OUT}`);
