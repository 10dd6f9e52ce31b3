// Inside the model, in the production build in Chromium on both backends. Witnesses: the float64
// reference on the same weights, and (plumbing) the engine run directly in Node (WASM) on the same tokens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readF32Safetensors, referenceLogits } from '../reference/naive-gpt2.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/runtime/backend.ts';
import { inspect } from '../../src/engine/tools/inspect.ts';
import type { LoadedModel } from '../../src/engine/load/load.ts';
import { loadModelDir } from '../../src/node/loadDir.ts';
import { cliSteps, type OpenPage, outputTokens, ROOT, runAndWait, useApp } from './harness.ts';
import { probText, visibleToken } from '../../src/ui/dom.ts';

const app = useApp();
const PROMPT = 'The capital of France is';
let lm: LoadedModel;

beforeAll(async () => {
  await selectBackend({ order: ['wasm'] });
  lm = loadModelDir(join(ROOT, 'models', 'nexttoken-3m'));
});

for (const backend of ['wasm', 'webgpu'] as const) {
  describe(`inside the model on ${backend}`, () => {
    let o: OpenPage;
    let ids: number[] = [];
    let target = -1; // the inspected step's token
    const reference: number[][] = []; // layer 1, head 1, from the float64 reference
    beforeAll(async () => {
      o = await app.open(`?backend=${backend}&prompt=${encodeURIComponent(PROMPT)}&t=0&max=4`);
    });
    afterAll(async () => {
      expect(o.consoleErrors).toEqual([]);
      await o.page.close();
    });

    it('the layer-1 head-1 heat map holds the float64 reference’s attention weights (and the engine’s: plumbing), causal rows that sum to 1', async () => {
      const page = o.page;
      await runAndWait(page, 'Generate');
      const generated = await outputTokens(page);
      await page.locator('section[aria-label="Output"] button.token[data-active="true"]').nth(2).click();
      const inside = page.getByRole('region', { name: 'Inside the model' });
      await inside.getByRole('button', { name: 'Look inside this step' }).click();
      const heat = inside.locator('canvas.heat');
      await heat.waitFor();
      expect([await heat.getAttribute('data-layer'), await heat.getAttribute('data-head')]).toEqual(['0', '0']);
      const ui = JSON.parse((await heat.getAttribute('data-weights'))!) as number[][];

      ids = [...lm.tokenizer.encode(PROMPT), ...generated.slice(0, 2).map((t) => t.id)];
      target = generated[2].id;
      expect(ui).toHaveLength(ids.length);
      const engine = (await inspect(lm, ids, 0)).attention[0];
      // Independent witness: plain float64 loops on the same weights, layer 1, head 1.
      const dir = join(ROOT, 'models', 'nexttoken-3m');
      referenceLogits(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), readF32Safetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors')))), ids, (layer, head, q, w) => {
        if (layer === 0 && head === 0) reference[q] = w;
      });
      ui.forEach((row, q) => {
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        row.forEach((w, k) => {
          if (k > q) expect(w).toBe(0);
          else {
            expect(Math.abs(w - reference[q][k])).toBeLessThan(1e-4);
            expect(Math.abs(w - engine[q][k])).toBeLessThan(1e-4);
          }
        });
      });
      // Every head of the layer is drawn.
      expect(await inside.locator('.heads canvas').count()).toBe(lm.config.nHead);
    });

    it('the model’s picture: one part per block, the last block’s lens top token is the model’s top token, and the sampling parts hold the CLI’s record for the step', async () => {
      const picture = o.page.getByRole('region', { name: 'The model', exact: true });
      const inside = o.page.getByRole('region', { name: 'Inside the model' });
      // The selected step (3) is inspected by itself: the picture's parts carry its numbers.
      await expect.poll(() => picture.locator('svg').getAttribute('data-step')).toBe('2');
      await picture.locator('g.pic-node[data-part="block"][data-top-id]').first().waitFor();
      const parts = picture.locator('g.pic-node');
      expect(await picture.locator('g[data-part="block"]').count()).toBe(lm.config.nLayer);
      const lastBlock = picture.locator(`g[data-part="block"][data-layer="${lm.config.nLayer}"]`);
      const softmaxPart = picture.locator('g[data-part="softmax"]');
      // Independent witness: the CLI's record of step 3 (greedy, the same prompt), in its own process.
      const cli = await cliSteps(['--model', 'models/nexttoken-3m', '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '4']);
      const step = cli[2];
      expect(Number(await lastBlock.getAttribute('data-top-id'))).toBe(step.top[0].id);
      expect(Number(await softmaxPart.getAttribute('data-top-id'))).toBe(step.top[0].id);
      expect(Math.abs(Number(await softmaxPart.getAttribute('data-entropy')) - step.entropy)).toBeLessThan(1e-4);
      const draw = picture.locator('g[data-part="draw"]');
      expect(Number(await draw.getAttribute('data-chosen-id'))).toBe(step.id);
      expect(Math.abs(Number(await draw.getAttribute('data-raw')) - step.rawProb)).toBeLessThan(1e-5);
      expect(Math.abs(Number(await draw.getAttribute('data-prob')) - step.prob)).toBeLessThan(1e-6);
      expect(await draw.getAttribute('data-draw')).toBe('none'); // greedy: no random number
      // One part per sampling stage that was on, in order, with the CLI's record of it (greedy: temperature alone).
      const stages = await picture.locator('g[data-part="stage"]').evaluateAll((gs) => gs.map((g) => ({ name: (g as SVGElement).dataset.stage, kept: Number((g as SVGElement).dataset.kept), prob: Number((g as SVGElement).dataset.prob) })));
      expect(stages.map((s) => s.name)).toEqual(step.stages.map((s) => s.name));
      stages.forEach((s, j) => {
        expect(s.kept).toBe(step.stages[j].kept);
        expect(Math.abs(s.prob - step.stages[j].chosen)).toBeLessThan(1e-6);
      });
      expect(await parts.count()).toBe(2 + lm.config.nLayer + 3 + step.stages.length);
      // A block opens its detail: the lens row of that layer comes into focus.
      await lastBlock.click();
      await expect.poll(() => o.page.evaluate(() => (document.activeElement as HTMLElement | null)?.getAttribute('data-layer'))).toBe(String(lm.config.nLayer));
      await expect.poll(() => inside.locator('canvas.heat').getAttribute('data-layer'), { timeout: 60_000 }).toBe(String(lm.config.nLayer - 1)); // and shows that layer's attention
      // Back to block 1, for the tests after this one.
      await picture.locator('g[data-part="block"][data-layer="1"]').click();
      await expect.poll(() => inside.locator('canvas.heat').getAttribute('data-layer'), { timeout: 60_000 }).toBe('0');
    });

    it('readable attention: tokens on both axes, any cell’s value on focus + arrow keys and on hover (float64 reference), the query row, a scale with numbers, and the attention sink hidden with rows renormalised', async () => {
      const page = o.page;
      const inside = page.getByRole('region', { name: 'Inside the model' });
      const heat = inside.locator('canvas.heat');
      const T = ids.length;
      const labels = ids.map((id) => visibleToken(lm.tokenizer.tokenLabel(id)));
      expect(await inside.locator('.attn-col').allTextContents()).toEqual(labels);
      expect(await inside.locator('.attn-row').allTextContents()).toEqual(labels);
      expect(await heat.getAttribute('data-query')).toBe(String(T - 1)); // the last token's row, highlighted
      expect(await inside.locator('.attn-row[aria-current="true"]').textContent()).toBe(labels[T - 1]);
      expect(await inside.locator('.attn-ticks span').allTextContents()).toEqual(['0', '0.05', '0.2', '0.5', '1']);

      const readout = inside.locator('output.attn-readout');
      const shownValue = async () => Number(/: ([\d.]+) \(/.exec((await readout.textContent()) ?? '')![1]);
      const at = async () => [Number(await readout.getAttribute('data-query')), Number(await readout.getAttribute('data-key'))];
      // Keyboard: focus starts on the query token looking at itself; ← ← then ↑ moves to row T−2, column T−3.
      await heat.focus();
      expect(await at()).toEqual([T - 1, T - 1]);
      expect(Math.abs((await shownValue()) - reference[T - 1][T - 1])).toBeLessThan(2e-4);
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowUp');
      expect(await at()).toEqual([T - 2, T - 3]);
      expect(Math.abs((await shownValue()) - reference[T - 2][T - 3])).toBeLessThan(2e-4);
      expect(await readout.textContent()).toContain(`“${labels[T - 2]}” (position ${T - 1}) looks at “${labels[T - 3]}” (position ${T - 2})`);
      expect(await heat.getAttribute('data-query')).toBe(String(T - 2));
      // Hover: the cell of row 2, column 1 (the map first brought to the middle of the window, clear of the sticky views bar).
      await heat.evaluate((el) => el.scrollIntoView({ block: 'center' }));
      const box = (await heat.boundingBox())!;
      await page.mouse.move(box.x + (0.5 / T) * box.width, box.y + (1.5 / T) * box.height);
      expect(await at()).toEqual([1, 0]);
      expect(Math.abs((await shownValue()) - reference[1][0])).toBeLessThan(2e-4);
      // A click on a row label chooses the query row.
      await inside.locator('.attn-row').nth(2).click();
      expect(await heat.getAttribute('data-query')).toBe('2');

      // Without the attention sink: positions 2.. only, each row renormalised over them.
      await inside.locator('input.attn-sink').check();
      await expect.poll(() => inside.locator('canvas.heat').getAttribute('data-first')).toBe('1');
      const shown = JSON.parse((await inside.locator('canvas.heat').getAttribute('data-shown'))!) as number[][];
      expect(shown).toHaveLength(T - 1);
      shown.forEach((row, i) => {
        const q = i + 1;
        const rest = reference[q].slice(1, q + 1);
        const z = rest.reduce((a, b) => a + b, 0);
        row.forEach((w, j) => expect(Math.abs(w - rest[j] / z)).toBeLessThan(1e-4));
      });
      expect(await inside.locator('.attn-col').count()).toBe(T - 1);
      await expect.poll(() => inside.locator('.attn-sink-note').textContent()).toMatch(/attention sink/);
      await inside.locator('input.attn-sink').uncheck();
    });

    it('the logit lens after the last layer equals the model output; the sampling chain names the chosen token', async () => {
      const inside = o.page.getByRole('region', { name: 'Inside the model' });
      const table = inside.getByRole('table', { name: 'Logit lens' });
      const row = async (layer: string) =>
        table.locator(`tr[data-layer="${layer}"] td`).evaluateAll((tds) => tds.map((td) => ({ id: Number((td as HTMLElement).dataset.id), prob: Number((td as HTMLElement).dataset.prob) })));
      const last = await row(String(lm.config.nLayer));
      const output = await row('output');
      expect(last.map((c) => c.id)).toEqual(output.map((c) => c.id));
      last.forEach((c, i) => expect(c.prob).toBeCloseTo(output[i].prob, 5));
      expect(await table.locator('tbody tr').count()).toBe(lm.config.nLayer + 1);
      expect(await inside.locator('.chain-line').textContent()).toMatch(/softmax: .* → temperature 0: .* → greedy: the most probable token → chose “/);
      // Embedding strips: one row per token, with token, position and sum.
      expect(await inside.locator('table.emb tbody tr').count()).toBe(lm.tokenizer.encode(PROMPT).length + 2);
    });

    it('why this token: leaving each context token out changes the chosen token’s log-probability as in the float64 reference (within 1e-3)', async () => {
      const inside = o.page.getByRole('region', { name: 'Inside the model' });
      await inside.getByRole('button', { name: 'Why this token?' }).click();
      const strip = inside.getByRole('group', { name: 'Each context token’s share in the chosen token' });
      await strip.waitFor({ timeout: 120_000 }); // occlusion: one forward pass per context token, slow on software WebGPU
      const deltas = await strip.locator('.why-cell').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.delta)));
      expect(deltas).toHaveLength(ids.length);
      const dir = join(ROOT, 'models', 'nexttoken-3m');
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      const weights = readF32Safetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
      const logProb = (context: number[]) => {
        const row = referenceLogits(config, weights, context).at(-1)!;
        const max = Math.max(...row);
        return row[target] - max - Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      };
      const base = logProb(ids);
      expect(Math.abs(Number(await strip.getAttribute('data-base')) - base)).toBeLessThan(1e-3);
      ids.forEach((_, i) => expect(Math.abs(deltas[i] - (base - logProb([...ids.slice(0, i), ...ids.slice(i + 1)])))).toBeLessThan(1e-3));
      // Gradient × input (checked against finite differences in tests/attribution.test.ts): one value per
      // token, from a cache-free forward pass whose log-probability is the reference's.
      const grad = inside.getByRole('group', { name: 'Gradient × input for each context token' });
      expect(await grad.locator('.why-cell').count()).toBe(ids.length);
      expect(Math.abs(Number(await grad.getAttribute('data-log-prob')) - base)).toBeLessThan(1e-3);
      // One colour scale for both strips, set by the tokens before the last; the last drawn apart.
      const scores = await grad.locator('.why-cell').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.delta)));
      const before = ids.length - 1;
      const scale = Math.max(...deltas.slice(0, before).map(Math.abs), ...scores.slice(0, before).map(Math.abs));
      expect(Number(await strip.getAttribute('data-scale'))).toBeCloseTo(scale, 6);
      expect(Number(await grad.getAttribute('data-scale'))).toBeCloseTo(scale, 6);
      expect(await strip.locator('.why-cell.why-last').count()).toBe(1);
      expect(await strip.locator('.why-cell').last().getAttribute('class')).toContain('why-last');
      // Where the two disagree in sign is said, with the count of such tokens.
      const opposite = deltas.slice(0, before).filter((x, i) => Math.sign(x) !== Math.sign(scores[i])).length;
      const note = inside.locator('.why-agreement');
      expect(Number(await note.getAttribute('data-opposite'))).toBe(opposite);
      expect(await note.textContent()).toContain(opposite ? `opposite ways for ${opposite} of the ${before} tokens` : 'the same way for every token');
    });

    it('after Next token the picture shows that step’s numbers as text: each block’s lens top token and probability as the engine in Node inspects them, the top 3 within 0.1 point of the CLI; keyboard: Tab in, arrows, Enter opens', async () => {
      const page = o.page;
      await runAndWait(page, 'Next token'); // extends the shown run by one step (step 5)
      const picture = page.getByRole('region', { name: 'The model', exact: true });
      await expect.poll(() => picture.locator('svg').getAttribute('data-step'), { timeout: 60_000 }).toBe('4');
      await picture.locator('g[data-part="block"][data-top-id]').first().waitFor({ timeout: 60_000 });
      const generated = await outputTokens(page);
      expect(generated).toHaveLength(5);
      const context = [...lm.tokenizer.encode(PROMPT), ...generated.slice(0, 4).map((t) => t.id)];
      const engine = await inspect(lm, context, 0); // plumbing witness for the blocks: the same engine, in Node
      for (const row of engine.logitLens) {
        const text = await picture.locator(`g[data-part="block"][data-layer="${row.layer}"] text.pic-detail`).textContent();
        expect(text).toContain(`“${visibleToken(row.top[0].token)}” ${probText(row.top[0].prob)}`);
      }
      // The softmax part's visible percentages against the CLI's own run of 5 greedy steps (another process).
      const cli = await cliSteps(['--model', 'models/nexttoken-3m', '--prompt', PROMPT, '--temperature', '0', '--max-tokens', '5']);
      const shown = [...((await picture.locator('g[data-part="softmax"] text.pic-detail').textContent()) ?? '').matchAll(/([\d.]+)%/g)].map((m) => Number(m[1]));
      expect(shown).toHaveLength(3);
      shown.forEach((p, i) => expect(Math.abs(p - cli[4].top[i].rawProb * 100)).toBeLessThanOrEqual(0.1));
      // Keyboard: one Tab stop into the picture, arrows through the parts, Enter opens the part's detail.
      await picture.locator('h2').evaluate((h) => {
        h.setAttribute('tabindex', '-1');
        (h as HTMLElement).focus();
      });
      await page.keyboard.press('Tab');
      const active = () => page.evaluate(() => { const a = document.activeElement as SVGElement | null; return a?.closest('g.pic-node') ? `${a.dataset.part}:${a.dataset.layer ?? ''}` : a?.tagName; });
      expect(await active()).toMatch(/^(tokens|block|draw|softmax|logits|stage|embedding):/);
      await page.keyboard.press('Home');
      expect(await active()).toBe('tokens:');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      expect(await active()).toBe('block:1');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('table.logit-lens') ? document.activeElement!.getAttribute('data-layer') : null)).toBe('1');
    });

    it('in slow motion the picture fills in during the run: each step’s blocks show their lens top tokens while the run is still going (engine in Node as plumbing witness)', async () => {
      const slow = await app.open(`?backend=${backend}&prompt=${encodeURIComponent(PROMPT)}&t=0&max=3&delay=1000`);
      const page = slow.page;
      // Every state the picture passes through, recorded by the page itself (no timing guesses): its step, its blocks'
      // lens top ids, how many tokens the output shows and whether the run is still going.
      await page.evaluate(() => {
        const w = window as unknown as { pictureLog: { step: string | null; tops: (string | null)[]; tokens: number; running: boolean }[] };
        w.pictureLog = [];
        const region = document.querySelector('section.panel.picture')!;
        new MutationObserver(() => {
          const svg = region.querySelector('svg');
          w.pictureLog.push({
            step: svg?.getAttribute('data-step') ?? null,
            tops: [...region.querySelectorAll('g[data-part="block"]')].map((g) => g.getAttribute('data-top-id')),
            tokens: document.querySelectorAll('section.panel.output button.token[data-active="true"]').length,
            running: [...document.querySelectorAll('button')].some((b) => b.textContent === 'Stop' && !b.disabled),
          });
        }).observe(region, { subtree: true, childList: true, attributes: true });
      });
      await runAndWait(page, 'Generate');
      const log = await page.evaluate(() => (window as unknown as { pictureLog: { step: string | null; tops: (string | null)[]; tokens: number; running: boolean }[] }).pictureLog);
      const generated = await outputTokens(page);
      expect(generated).toHaveLength(3);
      for (let k = 0; k < 3; k++) {
        const during = log.find((x) => x.step === String(k) && x.running && x.tokens === k + 1 && x.tops.length === lm.config.nLayer && x.tops.every((id) => id !== null));
        expect(during, `step ${k + 1}'s blocks filled in while the run went on`).toBeTruthy();
        const context = [...lm.tokenizer.encode(PROMPT), ...generated.slice(0, k).map((t) => t.id)];
        const engine = await inspect(lm, context, 0);
        expect(during!.tops.map(Number)).toEqual(engine.logitLens.map((row) => row.top[0].id));
      }
      // Next token on that run, still in slow motion: the new step (the 4th of the run, the worker's first) fills in too.
      await page.evaluate(() => ((window as unknown as { pictureLog: unknown[] }).pictureLog.length = 0));
      await runAndWait(page, 'Next token');
      const log2 = await page.evaluate(() => (window as unknown as { pictureLog: { step: string | null; tops: (string | null)[]; tokens: number; running: boolean }[] }).pictureLog);
      const four = await outputTokens(page);
      expect(four).toHaveLength(4);
      const during4 = log2.find((x) => x.step === '3' && x.running && x.tokens === 4 && x.tops.length === lm.config.nLayer && x.tops.every((id) => id !== null));
      expect(during4, 'step 4’s blocks filled in while Next token ran').toBeTruthy();
      const engine4 = await inspect(lm, [...lm.tokenizer.encode(PROMPT), ...four.slice(0, 3).map((t) => t.id)], 0);
      expect(during4!.tops.map(Number)).toEqual(engine4.logitLens.map((row) => row.top[0].id));
      await page.close();
    });
  });
}
