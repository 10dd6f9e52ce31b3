// The Precision view (production build): at a selected step, the embedded model at float32, Q8_0 and Q4_0
// (quantized on the fly in the worker). Witness: the generate CLI run at each --dtype on the same context
// ids (Node, its own load and quantization), for the distributions and for the greedy continuations.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badInputRows, expectRow, normalise } from '../shared/badInputTable.ts';
import { cliSteps, openMore, outputTokens, ROOT, runAndWait, screenshot, useApp, type OpenPage } from './harness.ts';

const app = useApp();
const MODEL = 'models/nexttoken-3m';
const PROMPT = 'The capital of France is';

for (const backend of ['wasm', 'webgpu'] as const) {
  describe(`Precision view on ${backend}`, () => {
    let o: OpenPage;
    beforeAll(async () => {
      o = await app.open(`?backend=${backend}&prompt=${encodeURIComponent(PROMPT)}&t=0.8&seed=3&max=12`);
    });
    afterAll(async () => {
      expect(o.consoleErrors).toEqual([]);
      await o.page.close();
    });

    it('the three distributions at a step equal the CLI’s at each dtype within 0.1 point; the greedy runs are the CLI’s', async () => {
      const page = o.page;
      await runAndWait(page, 'Generate');
      const chips = await outputTokens(page);
      const step = 3;
      await page.locator('#output button.token').nth(step).click();
      const region = page.getByRole('region', { name: 'Precision' });
      await region.getByRole('button', { name: 'Compare precisions at the selected token' }).click();
      await region.locator('.precision-greedy li').nth(2).waitFor();

      const promptIds = await cliPromptIds(PROMPT);
      const context = [...promptIds, ...chips.slice(0, step).map((c) => c.id)];
      const sides = region.locator('article.precision-side');
      expect(await sides.count()).toBe(3);
      for (const dtype of ['f32', 'q8_0', 'q4_0']) {
        const side = region.locator(`article.precision-side[data-dtype="${dtype}"]`);
        const ui = await side.locator('li').evaluateAll((els) => els.map((e) => ({ id: Number((e as HTMLElement).dataset.id), prob: Number((e as HTMLElement).dataset.prob) })));
        const [cli] = await cliSteps(['--model', MODEL, '--dtype', dtype, '--prompt-ids', context.join(','), '--temperature', '1', '--max-tokens', '1']);
        expect(ui.length).toBeGreaterThanOrEqual(5);
        for (const c of ui) {
          const witness = cli.top.find((t) => t.id === c.id);
          expect(witness, `${dtype}: token ${c.id} in the CLI's top list`).toBeDefined();
          expect(Math.abs(witness!.rawProb - c.prob)).toBeLessThan(0.001);
        }
        // The chosen token's probability in this precision, as the CLI computes it.
        const chosen = Number(await side.locator('.precision-chosen').getAttribute('data-prob'));
        const chosenCli = cli.top.find((t) => t.id === chips[step].id);
        if (chosenCli) expect(Math.abs(chosenCli.rawProb - chosen)).toBeLessThan(0.001);

        const path = region.locator(`.precision-greedy li[data-dtype="${dtype}"]`);
        const ids = (await path.getAttribute('data-ids'))!.split(' ').map(Number);
        const greedy = await cliSteps(['--model', MODEL, '--dtype', dtype, '--prompt-ids', promptIds.join(','), '--temperature', '0', '--max-tokens', String(ids.length)]);
        expect(ids).toEqual(greedy.map((s) => s.id));
      }
      // Q4_0 moved the distribution (KL > 0) and says how far; sizes shrink with the bits.
      const bytes = await sides.evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.bytes)));
      expect(bytes[1]).toBeLessThan(bytes[0] * 0.35);
      expect(bytes[2]).toBeLessThan(bytes[0] * 0.2);
      expect(Number(await region.locator('article.precision-side[data-dtype="q4_0"]').getAttribute('data-kl'))).toBeGreaterThan(0);
      await region.scrollIntoViewIfNeeded();
      await screenshot(page, `precision-${backend}-1280.png`);
    });
  });
}

/** The prompt's ids as the CLI's tokenizer encodes them (its summary line). */
async function cliPromptIds(prompt: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/generate.ts', '--model', MODEL, '--prompt', prompt, '--max-tokens', '1', '--json'], { cwd: ROOT });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { summary: { promptIds: number[] } }).summary.promptIds;
}

describe('loading the model at a precision (WASM)', () => {
  it('?dtype=q4_0 loads quantized: the model line says so and greedy tokens are the CLI’s at --dtype q4_0; the picker’s Q8_0 reloads at Q8_0 and keeps the runs; a bad value is named', async () => {
    const o = await app.open(`?backend=wasm&dtype=q4_0&prompt=${encodeURIComponent('Once upon a time')}&t=0&max=10`);
    const page = o.page;
    const promptIds = await cliPromptIds('Once upon a time');
    const greedy = async (dtype: string) => (await cliSteps(['--model', MODEL, '--dtype', dtype, '--prompt-ids', promptIds.join(','), '--temperature', '0', '--max-tokens', '10'])).map((s) => s.id);
    expect(await page.locator('#model-info').textContent()).toContain('Q4_0');
    await runAndWait(page, 'Generate');
    const q4 = (await outputTokens(page)).map((c) => c.id);
    expect(q4).toEqual(await greedy('q4_0'));

    await openMore(page); // the drawer holds the picker
    await page.getByLabel('Weight precision', { exact: true }).selectOption('q8_0');
    await expect.poll(() => page.locator('#model-info').textContent(), { timeout: 120_000 }).toContain('Q8_0');
    expect(new URL(page.url()).searchParams.get('dtype')).toBe('q8_0');
    expect((await outputTokens(page)).map((c) => c.id)).toEqual(q4); // the run made at Q4_0 is kept
    await runAndWait(page, 'Generate');
    expect((await page.locator('#output button.token').evaluateAll((els) => els.slice(-10).map((e) => Number((e as HTMLElement).dataset.id))))).toEqual(await greedy('q8_0'));
    expect(o.consoleErrors).toEqual([]);
    await page.close();

    const bad = await app.open('?backend=wasm&dtype=q5_k');
    await expect.poll(() => bad.page.locator('#error').textContent()).toContain('q5_k');
    expectRow(badInputRows(), 'B50', 'UI', '?dtype=q5_k', normalise((await bad.page.locator('#error').textContent()) ?? ''));
    expect(await bad.page.locator('#model-info').textContent()).not.toContain('bits a weight'); // float32: no precision named
    await bad.page.close();
  });
});
