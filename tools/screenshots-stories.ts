// Screenshots of the shipped storyteller (npx tsx tools/screenshots-stories.ts): stories15M continuing
// "Once upon a time" greedily, the step after "named" selected (its distribution: Lily, Sue, Lucy…), and its
// Precision view (the file's 4-bit weights against themselves widened to float32, and Q8_0). Written to
// docs/screenshots/stories15m/.
import { mkdirSync } from 'node:fs';
import { launch, startApp, stopApp } from './browser.ts';

const OUT = 'docs/screenshots/stories15m';
mkdirSync(OUT, { recursive: true });
const base = await startApp();
const browser = await launch();
for (const lang of ['en', 'zh'] as const) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: lang === 'zh' ? 'zh-CN' : 'en-US' });
  await page.goto(`${base}?backend=wasm&model=stories&lang=${lang}&prompt=${encodeURIComponent('Once upon a time')}&t=0&max=24`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
  await page.locator('.input-box button.primary').first().click();
  await page.locator('#output button.token[data-step="23"]').waitFor({ state: 'attached', timeout: 120_000 });
  await page.locator('#output button.token[data-step="7"]').click(); // " L" of Lily, after "named"
  await page.addStyleTag({ content: '.views-nav { position: static !important; }' });
  await page.screenshot({ path: `${OUT}/once-upon-a-time-1280-${lang}.png` });
  if (lang === 'en') {
    const region = page.locator('section.panel.precision');
    await region.locator('button.primary').click();
    await region.locator('.precision-greedy li').nth(2).waitFor({ timeout: 180_000 });
    await region.screenshot({ path: `${OUT}/precision-1280-en.png` });
  }
  await page.close();
}
await browser.close();
await stopApp();
console.log(`screenshots in ${OUT}`);
