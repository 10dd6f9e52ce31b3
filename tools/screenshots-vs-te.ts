// Side-by-side images (npx tsx tools/screenshots-vs-te.ts, after tools/screenshots-why.ts): Transformer
// Explainer's own figures (copied under its MIT licence into docs/screenshots/vs-transformer-explainer/)
// next to NextToken's screenshots of the same part, each with a caption, rendered by Chromium.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, ROOT } from './browser.ts';

const DIR = join(ROOT, 'docs/screenshots/vs-transformer-explainer');
const OURS = join(ROOT, 'docs/screenshots/why-views');
const dataUrl = (file: string) => `data:image/png;base64,${readFileSync(file).toString('base64')}`;
const PAIRS = [
  { name: 'sampling', te: join(DIR, 'te-sampling.png'), teCaption: 'Transformer Explainer: logits → scaled logits → top-k → softmax, per token', ours: [join(OURS, 'stages-list-1280.png'), join(OURS, 'stages-candidates-1280.png')], oursCaption: 'NextToken: every sampling stage that is on, in order, then raw / tempered / final per token, the draw' },
  { name: 'overview', te: join(DIR, 'te-overview.png'), teCaption: 'Transformer Explainer: one animated picture of the data flow', ours: [join(OURS, 'architecture-1280.png')], oursCaption: 'NextToken: the forward pass of one recorded step, each box with its numbers' },
];

const browser = await launch();
for (const p of PAIRS) {
  const page = await browser.newPage({ viewport: { width: 1800, height: 900 } });
  await page.setContent(`<!doctype html><body style="margin:0;font:15px system-ui,sans-serif;background:#fff;color:#1b1d22">
    <div style="display:grid;grid-template-columns:1fr 1fr;gap:24px;padding:16px;align-items:start">
      <figure style="margin:0"><img src="${dataUrl(p.te)}" style="width:100%;border:1px solid #d8dbe2"><figcaption>${p.teCaption}</figcaption></figure>
      <figure style="margin:0">${p.ours.map((f) => `<img src="${dataUrl(f)}" style="width:100%;border:1px solid #d8dbe2;display:block;margin-bottom:8px">`).join('')}<figcaption>${p.oursCaption}</figcaption></figure>
    </div></body>`);
  await page.locator('div').first().screenshot({ path: join(DIR, `side-by-side-${p.name}.png`) });
  await page.close();
}
await browser.close();
console.log(`side-by-side images in ${DIR}`);
