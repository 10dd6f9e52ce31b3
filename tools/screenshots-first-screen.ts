// Screenshots of the first screen (npx tsx tools/screenshots-first-screen.ts [label]): the page as a newcomer meets
// it at 1280×800 and 390×844 in English and Chinese, the model's picture mid-run in slow motion, a Chinese output
// with merged chips, characters in the token tree, the guessing game and the training replay, and the why strip. Written to docs/screenshots/first-screen/ (file names end in the label,
// default "after"; run it on an older checkout with "before" for a comparison).
import { mkdirSync } from 'node:fs';
import { launch, startApp, stopApp } from './browser.ts';

const OUT = 'docs/screenshots/first-screen';
const tag = process.argv[2] ?? 'after';
mkdirSync(OUT, { recursive: true });
const base = await startApp();
const browser = await launch();

async function open(query: string, width: number, height: number, locale = 'en-US') {
  const page = await browser.newPage({ viewport: { width, height }, locale });
  await page.goto(base + query);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
  return page;
}

for (const lang of ['en', 'zh'] as const) {
  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    const page = await open(`?lang=${lang}`, width, height, lang === 'zh' ? 'zh-CN' : 'en-US');
    await page.screenshot({ path: `${OUT}/first-screen-${width}-${lang}-${tag}.png` });
    await page.close();
  }
}

if (tag === 'after') {
  // The picture mid-step: slow motion, screenshot once the second token is on screen.
  const slow = await open(`?backend=wasm&prompt=${encodeURIComponent('The capital of France is')}&t=0.8&seed=5&max=6&delay=1000`, 1280, 900);
  await slow.getByRole('button', { name: 'Generate', exact: true }).click();
  // Step 2's own numbers in every block, while the run goes on (the worker looks inside each step in its pause).
  await slow.locator('section.panel.picture svg[data-step="1"] g[data-part="block"][data-top-id]').first().waitFor({ timeout: 120_000 });
  await slow.addStyleTag({ content: '.views-nav { position: static !important; }' });
  await slow.getByRole('region', { name: 'The model', exact: true }).screenshot({ path: `${OUT}/picture-mid-run.png` });
  await slow.getByRole('button', { name: 'Stop', exact: true }).click();
  await slow.close();

  // The picture filled in after Next token (each block's lens answer), at 1280 and 390.
  for (const width of [1280, 390]) {
    const page = await open(`?backend=wasm&prompt=${encodeURIComponent('The capital of France is')}&t=0&max=4`, width, 900);
    await page.getByRole('button', { name: 'Next token', exact: true }).click();
    const picture = page.getByRole('region', { name: 'The model', exact: true });
    await picture.locator('g[data-part="block"][data-top-id]').first().waitFor({ timeout: 120_000 });
    await page.addStyleTag({ content: '.views-nav { position: static !important; }' });
    await picture.screenshot({ path: `${OUT}/picture-after-next-token-${width}.png` });
    await page.close();
  }

  // A Chinese output with merged chips (characters the tokenizer split into bytes).
  const zh = await open(`?lang=zh&backend=wasm&t=1&seed=3&max=24&prompt=${encodeURIComponent('从前有一个')}`, 1280, 900, 'zh-CN');
  const runs = Number((await zh.evaluate(() => document.body.dataset.runs)) ?? 0);
  await zh.getByRole('button', { name: '生成', exact: true }).click();
  await zh.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, runs, { timeout: 120_000 });
  await zh.addStyleTag({ content: '.views-nav { position: static !important; }' });
  await zh.locator('section.panel.output').screenshot({ path: `${OUT}/zh-output-merged-chips.png` });
  await zh.close();

  // Characters, not bytes, beyond the output: the token tree (two runs of 新加坡的首都是; 坡 is two tokens), the
  // guessing game's picks and the training replay after 马绍尔群岛的首都是马 (candidates that begin a character).
  const tree = await open(`?backend=wasm&t=0&max=8&prompt=${encodeURIComponent('新加坡的首都是')}`, 1280, 900);
  for (let i = 0; i < 2; i++) {
    const n = Number((await tree.evaluate(() => document.body.dataset.runs)) ?? 0);
    await tree.getByRole('button', { name: 'Generate', exact: true }).click();
    await tree.waitForFunction((k) => Number(document.body.dataset.runs ?? 0) > k, n, { timeout: 120_000 });
  }
  await tree.locator('details.token-tree-box > summary').click();
  await tree.addStyleTag({ content: '.views-nav { position: static !important; }' });
  await tree.locator('details.token-tree-box').screenshot({ path: `${OUT}/token-tree-characters.png` });
  await tree.getByLabel('Prompt', { exact: true }).fill('马绍尔群岛的首都是马');
  await tree.locator('details.more > summary').click();
  await tree.getByLabel('Guess each next token (a game)').check();
  await tree.getByRole('button', { name: 'Next token', exact: true }).click();
  await tree.locator('#step-panel button.guess-pick[data-read-ids]').first().waitFor({ timeout: 120_000 });
  await tree.locator('#step-panel form.guess').screenshot({ path: `${OUT}/guess-picks-characters.png` });
  await tree.getByLabel('Guess each next token (a game)').uncheck();
  const replay = tree.locator('section.panel.replay');
  await replay.locator('button.primary').click();
  await replay.locator('article.replay-card').last().locator('.tok[data-read-ids]').first().waitFor({ timeout: 120_000 });
  await replay.locator('article.replay-card').last().screenshot({ path: `${OUT}/replay-characters.png` });
  await tree.close();

  // The why strip: one scale, the last token apart, the agreement note.
  const why = await open(`?backend=wasm&prompt=${encodeURIComponent('The capital of France is')}&t=0&max=3`, 1280, 900);
  const before = Number((await why.evaluate(() => document.body.dataset.runs)) ?? 0);
  await why.getByRole('button', { name: 'Generate', exact: true }).click();
  await why.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before, { timeout: 120_000 });
  await why.locator('section.panel.output button.token[data-active="true"]').first().click();
  const inside = why.getByRole('region', { name: 'Inside the model' });
  await inside.getByRole('button', { name: 'Look inside this step' }).click();
  await inside.getByRole('button', { name: 'Why this token?' }).click();
  await inside.locator('.why-agreement').waitFor({ timeout: 120_000 });
  await why.addStyleTag({ content: '.views-nav { position: static !important; }' });
  await inside.locator('.why').screenshot({ path: `${OUT}/why-strip.png` });
  console.log(await inside.locator('.why').innerText());
  await why.close();
}

await browser.close();
await stopApp();
