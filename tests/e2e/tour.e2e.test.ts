// The guided tour opens each concept's live view on the running model (WASM).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CONCEPTS } from '../../src/ui/views/tourView.ts';
import { type OpenPage, useApp } from './harness.ts';

const app = useApp();
let o: OpenPage;

beforeAll(async () => {
  o = await app.open('?backend=wasm&t=0&max=5');
});
afterAll(async () => {
  expect(o.consoleErrors).toEqual([]);
});

type Box = { x: number; y: number; width: number; height: number };

/** The card covers none of what it explains; where that cannot be (a view taller than the screen), the view's top is in sight above the card. */
function expectClear(target: Box, card: Box, concept: string): void {
  const overlap = target.x < card.x + card.width && card.x < target.x + target.width && target.y < card.y + card.height && card.y < target.y + target.height;
  if (!overlap) return;
  expect(target.y, `${concept}: the view's top is in sight`).toBeGreaterThanOrEqual(0);
  expect(target.y + 40, `${concept}: the card sits below the view's top`).toBeLessThanOrEqual(card.y);
}

it('each card’s “Show me” opens and highlights that concept’s live view, beside it, never over it', async () => {
  const page = o.page;
  await page.getByRole('button', { name: 'Guided tour' }).click();
  const tour = page.getByRole('dialog', { name: 'Guided tour' });
  // What each concept must point at: the live view where it can be seen.
  const expected: Record<string, string> = {
    tokens: 'details.prompt-tokens',
    embeddings: 'table.emb',
    positions: 'table.emb',
    attention: '.heat-wrap',
    ffn: 'section.panel.picture',
    softmax: 'section.dist',
    temperature: 'section.experiments',
    topkp: 'section.panel.input',
    loop: 'section.output',
    replay: 'section.replay',
    finetuning: 'section.finetune',
    parameters: '#model-info',
    quantization: 'section.precision',
    hallucination: 'section.lens',
  };
  for (const [i, concept] of CONCEPTS.entries()) {
    await expect.poll(() => tour.locator('.tour-card').getAttribute('data-concept')).toBe(concept);
    await tour.getByRole('button', { name: 'Show me' }).click();
    if (concept === 'training') {
      // Training vs inference: the embedded model's own loss curve, from its training log.
      await tour.locator('canvas.loss-curve').waitFor();
    } else {
      const target = page.locator(`${expected[concept]}[data-tour-target="${concept}"].tour-focus`);
      await target.waitFor({ timeout: 60_000 });
      expect(await target.isVisible()).toBe(true);
      const box = (await target.boundingBox())!;
      const vh = page.viewportSize()!.height;
      expect(box.y).toBeLessThan(vh);
      expect(box.y + box.height).toBeGreaterThan(0);
      expectClear(box, (await tour.boundingBox())!, concept);
      if (concept === 'tokens') expect(await page.locator('details.prompt-tokens').getAttribute('open')).not.toBeNull();
      // Watch it learn: the prompt has been run through every training snapshot.
      if (concept === 'replay') expect(await page.locator('section.replay article.replay-card').count()).toBe(5);
      // Pre-training → fine-tuning: the base and the tuned model compared at the selected token.
      if (concept === 'finetuning') expect(await page.locator('section.finetune article.finetune-side').count()).toBe(2);
      // How many bits does knowledge need: the model at float32, Q8_0 and Q4_0 at the selected token.
      if (concept === 'quantization') expect(await page.locator('section.precision article.precision-side').count()).toBe(3);
    }
    if (i < CONCEPTS.length - 1) await tour.getByRole('button', { name: 'Next' }).click();
  }
  // The inside view was computed on request by the tour (a generation and an inspection ran).
  expect(await page.locator('canvas.heat').count()).toBe(1);
});

it('at 390 px each card leaves what it explains in sight', async () => {
  const page = o.page;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('button', { name: 'Guided tour' }).click();
  const tour = page.getByRole('dialog', { name: 'Guided tour' });
  for (const [i, concept] of CONCEPTS.entries()) {
    await expect.poll(() => tour.locator('.tour-card').getAttribute('data-concept')).toBe(concept);
    if (concept !== 'training') {
      await tour.getByRole('button', { name: 'Show me' }).click();
      const target = page.locator(`[data-tour-target="${concept}"].tour-focus`);
      await target.waitFor({ timeout: 60_000 });
      expectClear((await target.boundingBox())!, (await tour.boundingBox())!, concept);
    }
    if (i < CONCEPTS.length - 1) await tour.getByRole('button', { name: 'Next' }).click();
  }
  await page.keyboard.press('Escape');
  await page.setViewportSize({ width: 1280, height: 900 });
});

it('the views nav brings each view into sight below it and focuses its heading, at 1280 and 390 px', async () => {
  for (const width of [1280, 390]) {
    const page = o.page;
    await page.setViewportSize({ width, height: 800 });
    const nav = page.getByRole('navigation', { name: 'Views' });
    const names = await nav.getByRole('button').allTextContents();
    expect(names).toEqual(['Input', 'Output', 'Next-token distribution', 'The model', 'Inside the model', 'Hallucination lens', 'Experiments', 'Training replay', 'Before and after fine-tuning', 'Precision']);
    for (const name of names.slice().reverse()) {
      const button = nav.getByRole('button', { name, exact: true });
      const selector = (await button.getAttribute('data-view'))!;
      await button.click();
      // Focus lands in that view (its heading, or the view itself), and the view starts below the sticky nav.
      await expect.poll(() => page.evaluate((sel) => document.activeElement?.closest('section.panel') === document.querySelector(sel), selector)).toBe(true);
      const top = (await page.locator(selector).boundingBox())!.y;
      const navBox = (await nav.boundingBox())!;
      expect(top).toBeGreaterThanOrEqual(navBox.y + navBox.height - 2);
      expect(top).toBeLessThan(800);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
  }
});

it('a teacher who goes straight to the fine-tuning card, with nothing generated yet: Show me generates a step and compares both models at it', async () => {
  const fresh = await app.open('?backend=wasm&t=0&max=5');
  try {
    const page = fresh.page;
    await page.getByRole('button', { name: 'Guided tour' }).click();
    const tour = page.getByRole('dialog', { name: 'Guided tour' });
    while ((await tour.locator('.tour-card').getAttribute('data-concept')) !== 'finetuning') await tour.getByRole('button', { name: 'Next', exact: true }).click();
    await tour.getByRole('button', { name: 'Show me' }).click();
    // Generating the step starts the app's own look inside as it ends; the comparison must still run.
    await expect.poll(() => page.locator('section.finetune article.finetune-side').count(), { timeout: 120_000 }).toBe(2);
    expect(fresh.consoleErrors).toEqual([]);
  } finally {
    await fresh.page.close();
  }
});
