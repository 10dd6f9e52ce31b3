// Fine-tuning made visible (production build, WASM): Chat runs on the chat-tuned embedded model and every
// reply ends at its end-of-turn token; the "Before and after fine-tuning" region shows, for a selected
// step, the base's and the tuned model's next-token distributions. Witnesses: the generate CLI, run on
// each model folder with the context rebuilt here from the conversation the page shows (the base reads
// it in its own User:/Assistant: template).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/engine/load/tokenizer.ts';
import { cliSteps, ROOT, runAndWait, screenshot, useApp, type OpenPage } from './harness.ts';

const app = useApp();
const BASE = 'models/nexttoken-3m';
const TUNED = 'models/nexttoken-3m-chat';
const tokenizerOf = (dir: string) =>
  Tokenizer.fromJSON(JSON.parse(readFileSync(join(ROOT, dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(ROOT, dir, 'tokenizer_config.json'), 'utf8')));

describe('Chat on the fine-tuned model (WASM)', () => {
  let o: OpenPage;
  beforeAll(async () => {
    o = await app.open('?backend=wasm&mode=chat&t=0.8&max=80&seed=7');
  });
  afterAll(async () => {
    expect(o.consoleErrors).toEqual([]);
    await o.page.close();
  });

  it('Chat loads nexttoken-3m-chat; 4 English and 2 Chinese replies each end at <|im_end|>', async () => {
    expect(await o.page.locator('#model-info').textContent()).toContain('nexttoken-3m-chat');
    const picker = o.page.getByLabel('Model', { exact: true });
    expect(await picker.locator('option:checked').textContent()).toContain('nexttoken-3m-chat (fine-tuned)');
    expect(await picker.locator('option[value="embedded"]').textContent()).toContain('nexttoken-3m (base)');
    const messages = ['Hello!', 'What is the capital of France?', 'Who are you?', 'Thank you!', '你好', '日本的首都是哪里？'];
    const imEnd = tokenizerOf(TUNED).turnEnd().ids[0];
    for (const m of messages) {
      await o.page.getByLabel('Message', { exact: true }).fill(m);
      await runAndWait(o.page, 'Send');
      expect(await o.page.locator('#perf').textContent()).toContain('end of the reply');
      // The reply's last token is the end-of-turn token itself (shown as a special chip), not a cut transcript line.
      const last = o.page.locator('#output .turn.assistant').last().locator('button.token').last();
      expect(Number(await last.getAttribute('data-id'))).toBe(imEnd);
    }
    expect(await o.page.locator('#output .turn.user').count()).toBe(messages.length);
  });

  it('"Before and after fine-tuning" at a selected step: both distributions equal the CLI’s for each model within 0.1 point', async () => {
    const page = o.page;
    // The last reply's second token: its context is the conversation so far plus the reply's first token.
    const reply = page.locator('#output .turn.assistant').last().locator('button.token');
    await reply.nth(1).click();
    const region = page.getByRole('region', { name: 'Before and after fine-tuning' });
    await region.getByRole('button', { name: 'Compare at the selected token' }).click();
    await region.locator('article.finetune-side').nth(1).waitFor();
    const shown = async (which: 'base' | 'tuned') =>
      region.locator(`article.finetune-side.${which} li`).evaluateAll((els) => els.map((e) => ({ id: Number((e as HTMLElement).dataset.id), prob: Number((e as HTMLElement).dataset.prob) })));
    // The conversation as the page shows it: earlier turns' text, and the last user message.
    const turns = await page.locator('#output').evaluate((out) =>
      [...out.querySelectorAll('.turn')].map((turn) =>
        turn.classList.contains('user')
          ? { role: 'user' as const, content: turn.querySelector('span')!.textContent ?? '' }
          : { role: 'assistant' as const, content: [...turn.querySelectorAll('button.token:not([data-special])')].map((b) => b.textContent).join('').trim(), ids: [...turn.querySelectorAll('button.token')].map((b) => Number((b as HTMLElement).dataset.id)) },
      ),
    );
    const lastReply = turns.at(-1) as { ids: number[] };
    const messages = turns.slice(0, -1).map((t) => ({ role: t.role, content: t.content }));
    const replySoFar = lastReply.ids.slice(0, 1);
    for (const [which, dir] of [['tuned', TUNED], ['base', BASE]] as const) {
      const tk = tokenizerOf(dir);
      const ids = [...tk.encode(tk.applyChatTemplate(messages)), ...replySoFar];
      const [cli] = await cliSteps(['--model', dir, '--prompt-ids', ids.join(','), '--temperature', '1', '--max-tokens', '1']);
      const ui = await shown(which);
      expect(ui.length).toBeGreaterThanOrEqual(5);
      for (const c of ui) {
        const witness = cli.top.find((t) => t.id === c.id);
        expect(witness, `${which}: token ${c.id} in the CLI's top list`).toBeDefined();
        expect(Math.abs(witness!.rawProb - c.prob)).toBeLessThan(0.001);
      }
    }
    expect(Number(await region.locator('.finetune-kl').getAttribute('data-kl'))).toBeGreaterThan(0);
    await region.scrollIntoViewIfNeeded();
    await screenshot(page, 'finetune-before-after-1280.png');
  });

  it('Ask both answers the conversation with each model; the tuned reply ends its turn, the text box keeps the message', async () => {
    const page = o.page;
    await page.getByLabel('Message', { exact: true }).fill('Thanks a lot!');
    const region = page.getByRole('region', { name: 'Before and after fine-tuning' });
    await region.getByRole('button', { name: 'Ask both' }).click();
    const tuned = region.locator('article.finetune-reply.tuned');
    await tuned.waitFor();
    expect(await region.locator('article.finetune-reply.base .reply-text').textContent()).not.toBe('');
    expect(await tuned.getAttribute('data-stop')).toBe('endOfTurn');
    expect(await page.getByLabel('Message', { exact: true }).inputValue()).toBe('Thanks a lot!');
  });
});
