// The hallucination lens on the embedded model, in the production build in Chromium. The CLI is the
// independent witness: the lens's seen/unseen accuracy must equal `npm run eval` exactly (greedy), and
// the true-answer probability must equal the product of the CLI's per-token probabilities.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fact } from '../../src/engine/tools/evaluate.ts';
import { cliSteps, type OpenPage, ROOT, useApp } from './harness.ts';

const app = useApp();
const run = promisify(execFile);
const facts = (JSON.parse(readFileSync(join(ROOT, 'models', 'nexttoken-3m', 'facts.json'), 'utf8')) as { facts: Fact[] }).facts;

async function ask(o: OpenPage, question: string) {
  const lens = o.page.getByRole('region', { name: 'Hallucination lens' });
  await lens.getByLabel('Question').selectOption({ label: question });
  await lens.getByRole('button', { name: 'Ask', exact: true }).click();
  const result = lens.getByRole('region', { name: 'Lens result' });
  await result.locator('dl', { hasText: question }).waitFor();
  return {
    truthProb: Number(await result.getAttribute('data-truth-prob')),
    correct: (await result.getAttribute('data-correct')) === 'true',
    shown: await result.locator('.truth-prob').textContent(),
    text: await result.textContent(),
  };
}

for (const backend of ['wasm', 'webgpu'] as const) {
  describe(`hallucination lens on ${backend}`, () => {
    let o: OpenPage;
    beforeAll(async () => {
      o = await app.open(`?backend=${backend}`);
    });
    afterAll(async () => {
      expect(o.consoleErrors).toEqual([]);
      await o.page.close();
    });

    it('the true-answer probability equals the product of the CLI’s per-token probabilities for that answer', async () => {
      const fact = facts.find((f) => f.seen && f.answer.includes(' '))!; // a multi-token answer, e.g. "Andorra la Vella"
      const r = await ask(o, fact.prompts.question);
      expect(r.correct).toBe(true);
      expect(r.text).toContain(`True answer${fact.answer}`);
      // Greedy CLI run on the same prompt: a seen fact is answered correctly, so its first tokens are the answer's.
      const steps = await cliSteps(['--prompt', fact.prompts.chat, '--temperature', '0', '--max-tokens', '8']);
      let text = '';
      let product = 1;
      for (const s of steps) {
        if (text.trim() === fact.answer) break;
        text += s.token;
        product *= s.rawProb;
      }
      expect(text.trim()).toBe(fact.answer);
      expect(Math.abs(r.truthProb - product) / product).toBeLessThan(1e-3);
      expect(r.truthProb).toBeGreaterThan(0.0005);
      expect(r.shown).toBe(`${(r.truthProb * 100).toFixed(1)}%`);
    });

    it('for a held-out fact the model answers fluently and wrongly, and the truth gets little probability', async () => {
      const fact = facts.find((f) => !f.seen)!;
      const r = await ask(o, fact.prompts.question);
      expect(r.correct).toBe(false);
      expect(r.text).toContain('held out: never seen');
      expect(r.truthProb).toBeLessThan(0.05);
    });

    if (backend === 'wasm') {
      it('checking every question reports seen and unseen accuracy per language exactly as `npm run eval` does', { timeout: 600_000 }, async () => {
        const lens = o.page.getByRole('region', { name: 'Hallucination lens' });
        await lens.getByRole('button', { name: 'Check all questions' }).click();
        const table = lens.getByRole('region', { name: 'Lens summary' }).locator('table');
        await table.waitFor({ timeout: 580_000 });
        const { stdout } = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/eval.ts', '--json', '--skip-loss'], { cwd: ROOT });
        const cli = JSON.parse(stdout);
        for (const lang of ['en', 'zh']) {
          const row = (group: string) => table.locator(`tr[data-group="${group}"][data-lang="${lang}"]`);
          const ui = { seen: Number(await row('seen').getAttribute('data-accuracy')), unseen: Number(await row('unseen').getAttribute('data-accuracy')) };
          expect(ui).toEqual({ seen: cli.byLanguage[lang].factsSeenTop1, unseen: cli.byLanguage[lang].factsUnseenTop1 });
          expect(await row('seen').locator('td').first().textContent()).toBe(String(cli.byLanguage[lang].factsSeen));
          // The words under the table state this model's own figures (the "All questions" row), not a general claim.
          // Mean confidence over all the language's questions, weighted by how many each row answered right / wrong.
          const rows = await table.locator(`tr[data-lang="${lang}"]`).evaluateAll((trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
          let [r, nr, w, nw] = [0, 0, 0, 0];
          for (const x of rows) {
            const k = Math.round(Number(x.accuracy) * Number(x.questions));
            if (x.right !== '') (r += Number(x.right) * k), (nr += k);
            if (x.wrong !== '') (w += Number(x.wrong) * (Number(x.questions) - k)), (nw += Number(x.questions) - k);
          }
          const [right, wrong] = [r / nr, w / nw];
          const said = (await lens.locator(`p.measured-pattern[data-lang="${lang}"]`).textContent()) ?? '';
          expect(said).toContain(`when right, it gave its answer ${(right * 100).toFixed(1)}% on average; when wrong, ${(wrong * 100).toFixed(1)}%.`);
          expect(said).toContain(wrong < right / 2 ? 'low confidence gives a wrong answer away' : 'does not tell a wrong answer from a right one');
        }
        expect(await lens.textContent()).not.toMatch(/just as fluently|High confidence on a wrong answer is hallucination/);
        // Plumbing: the tour's hallucination card states the lens's sentence, word for word (the figures in it are
        // checked against the table above).
        const said = await lens.locator('p.measured-pattern').allTextContents();
        await o.page.getByRole('button', { name: 'Guided tour' }).click();
        const tour = o.page.getByRole('dialog', { name: 'Guided tour' });
        while ((await tour.locator('.tour-card').getAttribute('data-concept')) !== 'hallucination') await tour.getByRole('button', { name: 'Next', exact: true }).click();
        expect(await tour.locator('p.tour-pattern').allTextContents()).toEqual(said);
        await o.page.keyboard.press('Escape');
      });
    }
  });
}
