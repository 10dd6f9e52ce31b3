// English and 简体中文: switching changes every visible UI string and back, with every view open and
// filled, and nothing the learner typed or generated is lost. Model output is never translated.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '../../src/engine/load/tokenizer.ts';
import { openMore, type OpenPage, outputTokens, ROOT, runAndWait, screenshot, useApp } from './harness.ts';

const app = useApp();
let o: OpenPage;

beforeAll(async () => {
  o = await app.open('?backend=wasm&t=0&max=6&prompt=The%20capital%20of%20France%20is');
});
afterAll(async () => {
  expect(o.consoleErrors).toEqual([]);
});

// Names and units that stay as they are in Chinese text (model names, formats, technical terms).
const KEEP = /\b(nexttoken-3m-chat|NextToken|stories15M|TinyStories|gguf|Debian|English|GPT|DistilGPT2|SmolLM2|Qwen[\w.-]*|Instruct|Llama|safetensors|Hub|JSON|PNG|MB|top|min|softmax|logits?|log|lens|wasm|webgpu|SIMD|threads|https?|huggingface|openai|community|gpt2|owner|name|id|ids|float32)\b/gi;

/** Visible text outside model output and user input, plus accessible names and placeholders, that still reads as English. */
async function englishLeft(page: Page): Promise<string[]> {
  return page.evaluate((keep) => {
    const re = new RegExp(keep, 'gi');
    const visible = (el: Element | null) => {
      for (let e = el; e; e = e.parentElement) {
        if (e.closest('[translate="no"]')) return false;
        const s = getComputedStyle(e);
        if (s.display === 'none' || s.visibility === 'hidden') return false;
        if (e.tagName === 'DETAILS' && !(e as HTMLDetailsElement).open && el !== e && !el!.closest('summary')) return false;
      }
      return true;
    };
    const out: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const p = n.parentElement;
      if (!p || ['SCRIPT', 'STYLE', 'TEXTAREA', 'OPTION'].includes(p.tagName) || !visible(p)) continue;
      const text = (n.textContent ?? '').replace(re, '');
      if (/[A-Za-z]{3,}/.test(text)) out.push(n.textContent!.trim());
    }
    for (const el of document.querySelectorAll('[aria-label], [placeholder], option, optgroup')) {
      if (!visible(el.tagName === 'OPTION' || el.tagName === 'OPTGROUP' ? el.closest('select') : el)) continue;
      const model = el.getAttribute('data-token') ?? ''; // a token's text inside a label is model output
      for (const v of [el.getAttribute('aria-label'), el.getAttribute('placeholder'), el.tagName === 'OPTION' ? el.textContent : null, el.getAttribute('label')]) {
        if (v && /[A-Za-z]{3,}/.test(v.replace(model, '').replace(re, ''))) out.push(`${el.tagName.toLowerCase()}: ${v}`);
      }
    }
    return out;
  }, KEEP.source);
}

it('switching to 简体中文 changes every visible UI string, keeps everything, and switching back restores English', async () => {
  const page = o.page;
  // Fill every view, so their dynamic text is checked too.
  await runAndWait(page, 'Generate');
  const tokensBefore = await outputTokens(page);
  await page.locator('section[aria-label="Output"] button.token[data-active="true"]').nth(1).click();
  const inside = page.getByRole('region', { name: 'Inside the model' });
  await inside.getByRole('button', { name: 'Look inside this step' }).click();
  await inside.locator('canvas.heat').waitFor();
  const lens = page.getByRole('region', { name: 'Hallucination lens' });
  await lens.getByRole('button', { name: 'Ask', exact: true }).click();
  await lens.locator('.lens-result dl').waitFor();
  const experiments = page.getByRole('region', { name: 'Experiments' });
  await experiments.getByLabel('Temperatures').fill('0, 1');
  await experiments.getByRole('button', { name: 'Compare temperatures' }).click();
  await experiments.locator('.temp-col').nth(1).waitFor();
  await experiments.getByRole('button', { name: 'Measure perplexity' }).click();
  await experiments.locator('.surprise strong').waitFor();
  await openMore(page);
  await page.locator('details.prompt-tokens summary').click();

  const english = await englishLeft(page);
  expect(english.length).toBeGreaterThan(40); // the walk does see the English UI

  await page.getByLabel('Language').selectOption('zh');
  await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
  expect(await englishLeft(page)).toEqual([]);
  await expect.poll(() => page.getByRole('button', { name: '生成', exact: true }).count()).toBe(1);
  expect(await page.getByRole('region', { name: '幻觉透镜' }).locator('.lens-result dt').first().textContent()).toBe('问题');
  // Nothing lost: the generated tokens, the prompt and the settings are as they were.
  const ids = await page.locator('#output button.token[data-active="true"]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
  expect(ids).toEqual(tokensBefore.map((t) => t.id));
  expect(await page.getByLabel('提示词', { exact: true }).inputValue()).toBe('The capital of France is');
  await screenshot(page, 'app-zh-1280.png');

  await page.getByLabel('语言').selectOption('en');
  await expect.poll(() => page.getByRole('button', { name: 'Generate', exact: true }).count()).toBe(1);
  const back = await englishLeft(page);
  expect(back.length).toBe(english.length);
});

it('a Korean prompt on the English and Chinese embedded model: the page says most of it is single bytes and names a model that knows it, in either language', async () => {
  const page = o.page;
  const prompt = '옛날 옛적에';
  // Independent witness: the model's tokenizer in Node, counting tokens that are not valid text on their own.
  const dir = join(ROOT, 'models', 'nexttoken-3m');
  const j = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  const tok = Tokenizer.fromJSON(j('tokenizer.json'), j('tokenizer_config.json'));
  const ids = tok.encode(prompt);
  const bytes = ids.filter((id) => tok.decode([id]).includes('\uFFFD')).length;
  await page.getByLabel('Prompt', { exact: true }).fill(prompt);
  const note = page.getByRole('note').filter({ hasText: 'single bytes' });
  await expect.poll(() => note.textContent(), { timeout: 30_000 }).toBe(
    `${bytes} of the ${ids.length} tokens of this text are single bytes, not words: nexttoken-3m saw almost no Korean while it trained, so it will continue with noise. For Korean, load a model that covers it, e.g. Qwen2.5-0.5B-Instruct (trained on many languages) from the model picker (it needs the network).`,
  );
  await page.getByLabel('Language').selectOption('zh');
  await expect.poll(() => page.locator('p.coverage-note').textContent()).toContain(`这段文字的 ${ids.length} 个词元中有 ${bytes} 个只是单个字节`);
  await page.getByLabel('语言').selectOption('en');
  // Chinese, which it trained on, and English: nothing to say.
  await page.getByLabel('Prompt', { exact: true }).fill('从前有一个');
  await expect.poll(() => page.locator('p.coverage-note').isHidden()).toBe(true);
  await page.getByLabel('Prompt', { exact: true }).fill('The capital of France is');
  await expect.poll(() => page.locator('p.coverage-note').isHidden()).toBe(true);
});
