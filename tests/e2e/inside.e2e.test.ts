// Inside the model, in the production build in Chromium on both backends. Witnesses: the float64
// reference on the same weights, and (plumbing) the engine run directly in Node (WASM) on the same tokens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readF32Safetensors, referenceLogits } from '../reference/naive-gpt2.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/load/backend.ts';
import { inspect } from '../../src/engine/tools/inspect.ts';
import type { LoadedModel } from '../../src/engine/load/load.ts';
import { loadModelDir } from '../../src/node/loadDir.ts';
import { type OpenPage, outputTokens, ROOT, runAndWait, useApp } from './harness.ts';

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

      const ids = [...lm.tokenizer.encode(PROMPT), ...generated.slice(0, 2).map((t) => t.id)];
      expect(ui).toHaveLength(ids.length);
      const engine = (await inspect(lm, ids, 0)).attention[0];
      // Independent witness: plain float64 loops on the same weights, layer 1, head 1.
      const reference: number[][] = [];
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
  });
}
