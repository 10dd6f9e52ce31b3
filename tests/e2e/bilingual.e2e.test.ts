// The bilingual embedded model in the production build (WASM), with the interface in 中文: a Chinese fact
// recalled, a Chinese held-out question answered with a real capital of another country, and the training
// replay. Witnesses: facts.json (from CLDR, the known truth), and the Node CLI run on the same prompt.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fact } from '../../src/engine/tools/evaluate.ts';
import { zh } from '../../src/ui/i18n/zh.ts';
import { Tokenizer } from '../../src/engine/load/tokenizer.ts';
import { cliSteps, type OpenPage, ROOT, runAndWait, useApp, openMore } from './harness.ts';

const app = useApp();
const run = promisify(execFile);
const MODEL = join(ROOT, 'models', 'nexttoken-3m');
const facts = (JSON.parse(readFileSync(join(MODEL, 'facts.json'), 'utf8')) as { facts: Fact[] }).facts;
const zhFacts = facts.filter((f) => f.lang === 'zh');
// The bare prompt a learner types, with nothing before it (the test; the eval's chat form is easier).
const PROMPT = '法国的首都是';

describe('中文 on the embedded model (WASM)', () => {
  let o: OpenPage;
  beforeAll(async () => {
    o = await app.open(`?backend=wasm&lang=zh&t=0&max=3&prompt=${encodeURIComponent(PROMPT)}`);
  });
  afterAll(async () => {
    expect(o.consoleErrors).toEqual([]);
    expect(o.externalRequests).toEqual([]);
    await o.page.close();
  });

  it('"法国的首都是" continued greedily gives 巴黎, the capital CLDR gives, token for token as the CLI', async () => {
    const france = zhFacts.find((f) => f.id === 'FR-zh')!;
    expect(france.answer).toBe('巴黎');
    expect(france.seen).toBe(true);
    await runAndWait(o.page, zh.generate);
    const tokens = await o.page.$$eval('section.panel.output button.token[data-active="true"]', (els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
    const cli = await cliSteps(['--prompt', PROMPT, '--temperature', '0', '--max-tokens', '3']);
    expect(tokens).toEqual(cli.map((s) => s.id));
    expect(cli.map((s) => s.token).join('').startsWith(france.answer)).toBe(true);
    expect(await o.page.locator('section.panel.output').textContent()).toContain('巴黎');
    // A covered script: no note that the prompt is mostly bytes.
    expect(await o.page.locator('p.coverage-note').isHidden()).toBe(true);
  });

  it('the lens offers the Chinese questions, and a held-out one is answered with a real capital of another country', async () => {
    // The CLI's eval says which held-out Chinese capitals the model answers with some other capital.
    const { stdout } = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/eval.ts', '--json', '--skip-loss', '--details'], { cwd: ROOT, maxBuffer: 64 << 20 });
    const details = JSON.parse(stdout).details as { id: string; lang: string; relation: string; seen: boolean; answer: string; generated: string; plausible: boolean; correct: boolean }[];
    const capitals = new Set(zhFacts.filter((f) => f.relation === 'capital').map((f) => f.answer));
    const wrong = details.find((d) => d.lang === 'zh' && d.relation === 'capital' && !d.seen && d.plausible && !d.correct)!;
    expect(wrong).toBeDefined();
    const fact = zhFacts.find((f) => f.id === wrong.id)!;
    const lens = o.page.locator('section.panel.lens');
    expect(await lens.locator('select.lens-lang').inputValue()).toBe('zh');
    await lens.locator('#lens-question').selectOption({ label: fact.prompts.question });
    await lens.locator('button.primary').click();
    const result = lens.locator('.lens-result');
    await result.locator('dl', { hasText: fact.prompts.question }).waitFor();
    expect(await result.getAttribute('data-correct')).toBe('false');
    const said = (await result.locator('q').first().textContent())!;
    // What it said is a real capital (from CLDR), of a country that is not the one asked about.
    const saidCapital = [...capitals].sort((a, b) => b.length - a.length).find((c) => said.startsWith(c));
    expect(saidCapital).toBeDefined();
    expect(saidCapital).not.toBe(fact.answer);
    expect(zhFacts.find((f) => f.answer === saidCapital)!.entity).not.toBe(fact.entity);
    expect(await result.textContent()).toContain(fact.answer);
    expect(Number(await result.getAttribute('data-truth-prob'))).toBeLessThan(0.05);
  });

  it('lens answers show characters, not bytes: a true answer the tokenizer spells in bytes reads as its characters', async () => {
    // Independent witness: the model's tokenizer in Node says which answer has a character made of byte tokens.
    const j = (f: string) => JSON.parse(readFileSync(join(MODEL, f), 'utf8'));
    const tok = Tokenizer.fromJSON(j('tokenizer.json'), j('tokenizer_config.json'));
    const bytesOf = (text: string) => tok.encode(text).filter((id) => tok.decode([id]).includes('\uFFFD')).length;
    const fact = zhFacts.find((f) => bytesOf(f.answer) >= 2)!;
    expect(fact).toBeDefined();
    const lens = o.page.locator('section.panel.lens');
    await lens.locator('#lens-question').selectOption({ label: fact.prompts.question });
    await lens.locator('button.primary').click();
    const result = lens.locator('.lens-result');
    await result.locator('dl', { hasText: fact.prompts.question }).waitFor();
    const chips = await result.locator('.chain .chip').evaluateAll((els) => els.map((e) => ({ text: e.firstChild?.textContent ?? '', tokens: Number((e as HTMLElement).dataset.tokens) })));
    expect(chips.some((c) => c.text.includes('<0x'))).toBe(false);
    expect(chips.some((c) => c.tokens >= 2)).toBe(true);
    // The truth's chain spells the true answer.
    const truth = await result.locator('.chain').nth(1).locator('.chip').evaluateAll((els) => els.map((e) => e.firstChild?.textContent ?? '').join(''));
    expect(truth.replace(/␣/g, ' ').trim().startsWith(fact.answer)).toBe(true);
  });

  it('the training replay shows every snapshot’s distribution for the prompt; the final one’s top token is the CLI’s', async () => {
    const index = JSON.parse(readFileSync(join(MODEL, 'checkpoints.json'), 'utf8')) as { checkpoints: { step: number }[] };
    const replay = o.page.locator('section.panel.replay');
    await replay.locator('button.primary').click();
    const cards = replay.locator('article.replay-card');
    await expect.poll(() => cards.count(), { timeout: 120_000 }).toBe(index.checkpoints.length);
    const steps = await cards.evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.step)));
    expect(steps).toEqual(index.checkpoints.map((p) => p.step));
    for (let i = 0; i < steps.length; i++) {
      const probs = await cards.nth(i).locator('ol.replay-top li').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.prob)));
      expect(probs.length).toBe(5);
      for (let k = 1; k < probs.length; k++) expect(probs[k]).toBeLessThanOrEqual(probs[k - 1]);
    }
    const cli = await cliSteps(['--prompt', PROMPT, '--temperature', '0', '--max-tokens', '1']);
    const finalTop = Number(await cards.last().locator('ol.replay-top li').first().getAttribute('data-id'));
    expect(finalTop).toBe(cli[0].top[0].id);
    // The untrained network is close to uniform: its top token has little more than 1/vocabulary.
    const firstTopProb = Number(await cards.first().locator('ol.replay-top li').first().getAttribute('data-prob'));
    expect(firstTopProb).toBeLessThan(0.01);
    // Scrubbing moves the highlight.
    await replay.locator('input.replay-slider').fill('1');
    await expect.poll(() => cards.nth(1).getAttribute('aria-current')).toBe('true');
  });

  it('the guessing game offers the model’s own Chinese facts to continue; one click makes it the prompt', async () => {
    const page = o.page;
    await openMore(page); // the game's switch waits in the drawer
    await page.locator('input.guess-mode').check();
    const offered = page.locator('.guess-prompts button');
    await expect.poll(() => offered.count()).toBeGreaterThan(0);
    const texts = await offered.allTextContents();
    const completions = new Set(zhFacts.map((f) => f.prompts.completion));
    for (const t of texts) expect(completions.has(t)).toBe(true);
    // Seen facts first: a learner can check the model's answer against what it was taught.
    expect(zhFacts.find((f) => f.prompts.completion === texts[0])!.seen).toBe(true);
    await offered.first().click();
    await expect.poll(() => page.locator('#prompt').inputValue()).toBe(texts[0]);
    await page.locator('input.guess-mode').uncheck();
  });
});
