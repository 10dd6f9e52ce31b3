// The learner's core loop, driven as a learner would on the production build: the sampling moment of
// every step, branches that keep their own context, clicks that are answered once, chat turns that end,
// bad links and models, phone width and the keyboard. Independent witnesses: the Node CLI (its own
// engine, sampler and tokenizer) and the tokenizer's chat template run in Node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/engine/load/tokenizer.ts';
import { cliSteps, openMore, outputTokens, ROOT, runAndWait, screenshot, useApp, type OpenPage } from './harness.ts';

const app = useApp();
const MODEL = 'models/nexttoken-3m';
const percent = (s: string) => Number(/([\d.e+-]+)%/.exec(s)?.[1]);

async function cliSummary(args: string[]): Promise<{ promptIds: number[] }> {
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((res, rej) =>
    execFile(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/generate.ts', ...args, '--json'], { cwd: ROOT, maxBuffer: 64 << 20 }, (e, stdout) => (e ? rej(e) : res(stdout))),
  );
  return JSON.parse(out.trim().split('\n').pop()!).summary;
}

function panel(page: Page) {
  return page.getByRole('region', { name: 'Next-token distribution' });
}

async function panelState(page: Page) {
  return panel(page).evaluate((root) => ({
    rows: [...root.querySelectorAll('ol.candidates li')].map((li) => ({
      id: li.getAttribute('data-id') === null ? null : Number(li.getAttribute('data-id')),
      rank: Number(li.getAttribute('data-rank')),
      raw: li.querySelector('.raw')?.textContent ?? '',
      final: li.querySelector('.final')?.textContent ?? '',
      current: li.getAttribute('aria-current'),
      other: li.getAttribute('data-other') === 'true',
    })),
    hit: root.querySelector('.cdf .seg.hit')?.getAttribute('data-label') ?? null,
    lands: root.querySelector('.cdf-hit')?.textContent ?? '',
    segments: [...root.querySelectorAll('.cdf .seg')].map((s) => s.getAttribute('data-label') ?? ''),
  }));
}

/**
 * Rows of the chart's canvas, just above the baseline in the chosen token's column, painted in the "final" series'
 * colour: how tall its bar is, read from the pixels (the chart notes the column's x; the colour is the page's own).
 */
function chosenBarPixels(page: Page): Promise<number> {
  return panel(page)
    .locator('canvas')
    .evaluate((c: HTMLCanvasElement) => {
      const hex = getComputedStyle(document.documentElement).getPropertyValue('--c-final').trim();
      const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const k = c.width / c.clientWidth;
      const x = Math.round(Number(c.dataset.chosenX) * k);
      const base = Math.round(Number(c.dataset.baseY) * k);
      const ctx = c.getContext('2d')!;
      let rows = 0;
      for (let y = base - 1; y > base - 40 * k; y--) {
        const px = ctx.getImageData(x, y, 1, 1).data;
        if (want.every((v, i) => Math.abs(px[i] - v) < 30)) rows++;
        else if (rows) break;
      }
      return rows / k;
    });
}

describe('the sampling moment (WASM)', () => {
  let o: OpenPage;
  beforeAll(async () => {
    o = await app.open(`?backend=wasm&prompt=${encodeURIComponent('Once upon a time')}&t=1&seed=42&max=60`);
  });
  afterAll(async () => {
    expect(o.consoleErrors).toEqual([]);
    await o.page.close();
  });

  it('60 sampled steps at T = 1: every panel lists the chosen token with its rank, an "other tokens" entry, and a labelled draw segment, matching the CLI', async () => {
    await runAndWait(o.page, 'Generate');
    const cli = await cliSteps(['--model', MODEL, '--prompt', 'Once upon a time', '--temperature', '1', '--seed', '42', '--max-tokens', '60']);
    const tokens = o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]');
    expect(await tokens.count()).toBe(cli.length);
    let belowTop15 = 0;
    let forks = 0;
    let deep = 0;
    const bucketsUsed = new Set<number>();
    for (let i = 0; i < cli.length; i++) {
      await tokens.nth(i).click();
      await expect.poll(() => panel(o.page).locator('.step-summary').textContent()).toContain(`Step ${i + 1} `);
      const p = await panelState(o.page);
      const step = cli[i];
      const chosen = p.rows.filter((r) => r.current === 'true');
      expect(chosen).toHaveLength(1);
      expect(chosen[0].id).toBe(step.id);
      expect(Math.abs(percent(chosen[0].raw) - step.rawProb * 100)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(percent(chosen[0].final) - step.prob * 100)).toBeLessThanOrEqual(0.1);
      if (chosen[0].rank > 15) belowTop15++;
      // The rows before the chosen one are the CLI's top list in order, with its percentages.
      p.rows.filter((r) => !r.other && r.rank <= 15).forEach((r, k) => {
        expect(r.id).toBe(step.top[k].id);
        expect(Math.abs(percent(r.raw) - step.top[k].rawProb * 100)).toBeLessThanOrEqual(0.1);
      });
      expect(p.rows.filter((r) => r.other)).toHaveLength(1);
      // The chip's colour is the bucket of the CLI's probability; it is dotted exactly at a fork of the CLI's top two.
      const cls = (await tokens.nth(i).getAttribute('class')) ?? '';
      // Log-scale buckets: < 0.1%, 0.1–1%, 1–10%, 10–50%, ≥ 50% (the legend's words).
      const edges = [0.001, 0.01, 0.1, 0.5];
      const bucket = edges.filter((e) => step.rawProb >= e).length;
      if (edges.every((e) => Math.abs(step.rawProb - e) > 1e-6)) expect(cls).toContain(`p${bucket}`);
      bucketsUsed.add(bucket);
      // A chosen token far down the list (#1000 and below) still reads as a number and as a bar.
      if (chosen[0].rank > 1000) {
        deep++;
        expect(percent(chosen[0].raw)).toBeGreaterThan(0);
        expect(Math.abs(percent(chosen[0].raw) / (step.rawProb * 100) - 1)).toBeLessThan(0.05); // two significant digits
        expect(await chosenBarPixels(o.page)).toBeGreaterThanOrEqual(2);
      }
      const [a, b] = step.top;
      if (Math.abs(b.rawProb - 0.15) > 1e-6 && Math.abs(b.rawProb - a.rawProb / 2) > 1e-6) expect(cls.includes('low-conf')).toBe(b.rawProb >= 0.15 && b.rawProb >= a.rawProb / 2);
      forks += cls.includes('low-conf') ? 1 : 0;
      // The draw lands on the chosen token's own labelled segment.
      expect(p.hit).toMatch(new RegExp(`^#${chosen[0].rank} `));
      expect(p.lands).toContain(p.hit!);
      expect(p.segments.every((s) => s.length > 0)).toBe(true);
    }
    expect(belowTop15).toBeGreaterThan(0); // the case the panel used to lose (here ranks far below 15th)
    expect(deep).toBeGreaterThan(0); // a chosen token below #1000 was checked
    expect(bucketsUsed.size).toBeGreaterThanOrEqual(4); // the colours still tell these T = 1 tokens apart
    expect([forks > 0, forks < cli.length]).toEqual([true, true]); // the fork mark is neither never nor always
  });

  it('a what-if names tokens, never ids, and the chart scale follows the data at T = 2', async () => {
    await o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]').nth(2).click();
    await o.page.getByLabel('Temperature', { exact: true }).fill('2');
    const note = await o.page.getByRole('note').textContent();
    expect(note).toContain('What if');
    expect(note).not.toMatch(/#\d/);
    const yMax = Number(await panel(o.page).locator('canvas').getAttribute('data-y-max'));
    expect(yMax).toBeLessThan(1);
    await o.page.getByLabel('Temperature', { exact: true }).fill('1');
  });
});

for (const backend of ['wasm', 'webgpu'] as const) {
  describe(`branches and chat on ${backend}`, () => {
    let o: OpenPage;
    beforeAll(async () => {
      o = await app.open(`?backend=${backend}&model=embedded&t=0&max=8&seed=1`); // picked: Chat keeps the base (its transcript rule is tested)
    });
    afterAll(async () => {
      expect(o.consoleErrors).toEqual([]);
      await o.page.close();
    });

    it("a branch continues its own run's context, never the text box; the run tree says where it came from", async () => {
      const A = 'The capital of France is';
      await o.page.getByLabel('Prompt', { exact: true }).fill(A);
      await runAndWait(o.page, 'Generate');
      const aIds = (await outputTokens(o.page)).map((t) => t.id);
      await o.page.getByLabel('Prompt', { exact: true }).fill('In the beginning');
      await runAndWait(o.page, 'Generate');
      await o.page.getByLabel('Prompt', { exact: true }).fill('Something else entirely');
      const tree = o.page.getByRole('navigation', { name: 'Runs' });
      await tree.locator('button[data-run="1"]').click();
      expect(await o.page.locator('#output .prompt-text').textContent()).toBe(A);
      expect((await outputTokens(o.page)).map((t) => t.id)).toEqual(aIds);

      await o.page.getByRole('region', { name: 'Output' }).locator('button.token[data-active="true"]').nth(2).click();
      const alt = panel(o.page).locator('ol.candidates li[data-id]:not([aria-current="true"])').first();
      const picked = Number(await alt.getAttribute('data-id'));
      await alt.getByRole('button').click();
      await runAndWait(o.page, 'Continue from here');
      const branch = (await outputTokens(o.page)).map((t) => t.id);
      const { promptIds } = await cliSummary(['--model', MODEL, '--prompt', A, '--temperature', '0', '--max-tokens', '1']);
      const cont = await cliSteps(['--model', MODEL, '--prompt-ids', [...promptIds, aIds[0], aIds[1], picked].join(','), '--temperature', '0', '--max-tokens', String(8 - 3)]);
      expect(branch).toEqual([aIds[0], aIds[1], picked, ...cont.map((s) => s.id)]);
      expect(await o.page.locator('#output .prompt-text').textContent()).toBe(A);
      expect(await tree.locator('button[aria-current="true"]').textContent()).toMatch(/Run 3 from step 3 of run 1: picked “.+” instead of “.+”/);
      await screenshot(o.page, `branches-${backend}-1280.png`);
    });

    it('a prompt refused as too long creates no run and keeps the text', async () => {
      const before = await o.page.evaluate(() => document.body.dataset.runCount);
      const long = 'word '.repeat(400);
      await o.page.getByLabel('Prompt', { exact: true }).fill(long);
      await o.page.getByRole('button', { name: 'Generate', exact: true }).click();
      await expect.poll(() => o.page.locator('#error').textContent()).toMatch(/The prompt is \d+ tokens/);
      expect(await o.page.evaluate(() => document.body.dataset.runCount)).toBe(before);
      expect(await o.page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(long);
    });

    it('four chat turns: no reply runs into a new User: line, and turn 4 reads exactly the visible conversation', async () => {
      await o.page.getByRole('button', { name: 'Chat', exact: true }).click();
      await openMore(o.page);
      await o.page.getByLabel('Max tokens', { exact: true }).fill('40');
      await o.page.getByLabel('Temperature', { exact: true }).fill('0.8');
      for (const q of ['What is the capital of France?', 'What is the capital of Japan?', 'Tell me about whales.', 'What is the capital of Peru?']) {
        await o.page.getByLabel('Message', { exact: true }).fill(q);
        await runAndWait(o.page, 'Send');
      }
      const visible = await o.page.locator('#output').evaluate((out) =>
        [...out.querySelectorAll('.turn')].map((turn) =>
          turn.classList.contains('user')
            ? { role: 'user' as const, content: turn.querySelector('span')!.textContent ?? '' }
            : { role: 'assistant' as const, content: [...turn.querySelectorAll('button.token:not([data-special])')].map((b) => b.textContent).join('') },
        ),
      );
      expect(visible.filter((m) => m.role === 'user')).toHaveLength(4);
      for (const m of visible.filter((m) => m.role === 'assistant')) expect(m.content).not.toMatch(/\n(User|Assistant):/);
      // Turn 4's prompt ids (shown in Prompt tokens) = the template applied, in Node, to the three visible turns and the fourth message.
      const shownIds = await o.page.locator('.prompt-tokens .chip.tok sub').allTextContents();
      const dir = join(ROOT, MODEL);
      const tk = Tokenizer.fromJSON(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
      const history = visible.slice(0, 7).map((m) => ({ ...m, content: m.content.trim() }));
      expect(shownIds.map(Number)).toEqual(tk.encode(tk.applyChatTemplate(history)));
      await o.page.getByRole('button', { name: 'Complete', exact: true }).click();
    });
  });
}

describe('every click answered (WASM)', () => {
  it('a double-click on Generate on a fresh page starts exactly one run with all its tokens; busy shows before the next task', async () => {
    const o = await app.open(`?backend=wasm&prompt=${encodeURIComponent('The capital of France is')}&t=0&max=12`);
    // The busy state is set by the click handler itself and drawn in the same task, before the page can paint or
    // take another event: read right after the click's microtasks, with no wait at all.
    const seen = await o.page.evaluate(async () => {
      const gen = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Generate')!;
      const stop = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Stop')!;
      gen.click();
      await Promise.resolve();
      return { busy: document.body.dataset.busy, stopEnabled: !stop.disabled, generateDisabled: gen.disabled };
    });
    expect(seen).toMatchObject({ busy: 'true', stopEnabled: true, generateDisabled: true });
    await o.page.waitForFunction(() => document.body.dataset.busy === 'false');
    const o2 = await app.open(`?backend=wasm&prompt=${encodeURIComponent('The capital of France is')}&t=0&max=12`);
    await o2.page.getByRole('button', { name: 'Generate', exact: true }).dblclick();
    await o2.page.waitForFunction(() => Number(document.body.dataset.runs ?? 0) >= 1 && document.body.dataset.busy === 'false');
    expect(await o2.page.evaluate(() => document.body.dataset.runCount)).toBe('1');
    const cli = await cliSteps(['--model', MODEL, '--prompt', 'The capital of France is', '--temperature', '0', '--max-tokens', '12']);
    expect((await outputTokens(o2.page)).map((t) => t.id)).toEqual(cli.map((s) => s.id));
    expect(await o2.page.locator('#error').textContent()).toBe('');
    for (const x of [o, o2]) {
      expect(x.consoleErrors).toEqual([]);
      await x.page.close();
    }
  });

  it('filling the chat context shows a notice and leaves out the oldest turns before any reply is cut', async () => {
    const o = await app.open('?backend=wasm&mode=chat&t=0.8&max=60&seed=5');
    let noticed = false;
    for (let turn = 0; turn < 14 && !noticed; turn++) {
      await o.page.getByLabel('Message', { exact: true }).fill(`Tell me about the capital of country number ${turn + 1}, and its history.`);
      await runAndWait(o.page, 'Send');
      expect(await o.page.locator('#perf').textContent()).not.toContain('context full');
      noticed = /left out so the conversation fits/.test((await o.page.locator('#notice').textContent()) ?? '');
    }
    expect(noticed).toBe(true);
    expect(await o.page.locator('details.dropped summary').textContent()).toMatch(/earlier turns?, no longer in the model’s context/);
    expect(await o.page.locator('#context-gauge').getAttribute('value')).not.toBeNull();
    await o.page.close();
  });
});

describe('no stale, no stranded (WASM)', () => {
  it('a modelUrl that fails to load ends with the embedded model ready and a message', async () => {
    const o = await app.open('?backend=wasm&modelUrl=/test-models/no-such-model/');
    expect(await o.page.locator('#model-info').textContent()).toContain('nexttoken-3m');
    expect(await o.page.locator('#error').textContent()).toMatch(/Loading \/test-models\/no-such-model\/ failed: .+ The embedded model \(.+\) is loaded instead\./);
    expect(await o.page.getByRole('button', { name: 'Generate', exact: true }).isEnabled()).toBe(true);
    await o.page.close();
  });

  it('a Hub model that cannot be reached ends with the embedded model ready and a message', async () => {
    const o = await app.open('?backend=wasm&model=nobody/nothing&hubEndpoint=http%3A%2F%2F127.0.0.1%3A9');
    expect(await o.page.locator('#model-info').textContent()).toContain('nexttoken-3m');
    expect(await o.page.locator('#error').textContent()).toMatch(/nobody\/nothing.* failed: .+ The embedded model/);
    await o.page.close();
  });

  it('?t=-5&k=abc: the values are corrected and the page says which, and to what', async () => {
    const o = await app.open('?backend=wasm&t=-5&k=abc');
    const notice = await o.page.locator('#notice').textContent();
    expect(notice).toContain('t=-5 → 0.8 (allowed: 0 to 2 (0 = always the most probable token))');
    expect(notice).toContain('k=abc → 0 (allowed: a whole number from 0 to 1000000 (0 = off))');
    expect(await o.page.getByLabel('Temperature', { exact: true }).inputValue()).toBe('0.8');
    await o.page.close();
  });

  it('the lens labels a repeated answer with its question, and clears it when another question is chosen', async () => {
    const o = await app.open('?backend=wasm');
    const lens = o.page.getByRole('region', { name: 'Hallucination lens' });
    const select = lens.getByLabel('Question', { exact: true });
    const first = await select.locator('option').nth(0).textContent();
    await select.selectOption({ index: 0 });
    await lens.getByRole('button', { name: 'Ask 10 times' }).click();
    await expect.poll(() => lens.locator('.lens-repeat').textContent(), { timeout: 120_000 }).toContain(`For the question “${first}”`);
    await select.selectOption({ index: 3 });
    expect(await lens.locator('.lens-repeat').textContent()).toBe('');
    await o.page.close();
  });
});

describe('phone and keyboard (WASM)', () => {
  it('at 390 px no view widens the page, and Generate brings the first output token into view', async () => {
    const o = await app.open(`?backend=wasm&prompt=${encodeURIComponent('Once upon a time')}&t=1&seed=42&max=20`, 390);
    const fits = () => o.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await runAndWait(o.page, 'Generate');
    const inView = await o.page.locator('#output button.token').first().evaluate((b) => {
      const r = b.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight;
    });
    expect(inView).toBe(true);
    await expect.poll(fits).toBeLessThanOrEqual(0);
    await o.page.locator('#output button.token').nth(2).click();
    await expect.poll(fits).toBeLessThanOrEqual(0);
    await o.page.getByRole('button', { name: 'Look inside this step' }).click();
    await o.page.waitForSelector('.inside-body table.logit-lens', { timeout: 120_000 });
    await expect.poll(fits).toBeLessThanOrEqual(0);
    await o.page.getByRole('button', { name: 'Compare temperatures' }).click();
    await o.page.waitForSelector('.temp-col', { timeout: 120_000 });
    await expect.poll(fits).toBeLessThanOrEqual(0);
    await o.page.getByRole('button', { name: 'Ask', exact: true }).click();
    await o.page.waitForSelector('.lens-result dl', { timeout: 120_000 });
    await expect.poll(fits).toBeLessThanOrEqual(0);
    await o.page.getByRole('button', { name: 'Guided tour' }).click();
    await expect.poll(fits).toBeLessThanOrEqual(0);
    await screenshot(o.page, 'lowrank-wasm-390.png');
    await o.page.close();
  });

  it('keyboard only: prompt, generate, one Tab into the output, arrows to token 5, its step, a pick, continue, the tour and Esc', async () => {
    const o = await app.open(`?backend=wasm&prompt=&t=0&max=10`);
    const p = o.page;
    const focused = () => p.evaluate(() => ({ label: document.activeElement?.getAttribute('aria-label') ?? '', text: document.activeElement?.textContent ?? '', step: (document.activeElement as HTMLElement)?.dataset?.step ?? null, cls: document.activeElement?.className ?? '' }));
    const tabUntil = async (test: (f: Awaited<ReturnType<typeof focused>>) => boolean, max = 40) => {
      for (let i = 1; i <= max; i++) {
        await p.keyboard.press('Tab');
        if (test(await focused())) return i;
      }
      throw new Error(`focus never got there; it is on ${JSON.stringify(await focused())}`);
    };
    await tabUntil((f) => f.label === 'Prompt');
    await p.keyboard.type('The capital of France is');
    const runs = Number((await p.evaluate(() => document.body.dataset.runs)) ?? 0);
    await p.keyboard.press('Control+Enter');
    await p.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, runs, { timeout: 120_000 });
    // From the Prompt box, the output's tokens are one Tab stop: entering it, then leaving it, are one Tab apart.
    await tabUntil((f) => f.cls.includes('token'));
    await p.keyboard.press('Home');
    for (let i = 0; i < 4; i++) await p.keyboard.press('ArrowRight');
    expect((await focused()).step).toBe('4');
    await p.keyboard.press('Enter');
    await expect.poll(() => panel(p).locator('.step-summary').textContent()).toContain('Step 5 ');
    const tabsToPick = await tabUntil((f) => f.cls.includes('pick'));
    expect(tabsToPick).toBeLessThanOrEqual(3);
    // The candidates are one Tab stop; ↓ moves to the next one.
    await p.keyboard.press('ArrowDown');
    expect((await focused()).text).toBe('pick');
    await p.keyboard.press('Enter');
    expect(await tabUntil((f) => f.text === 'Continue from here', 1)).toBe(1);
    const before = Number(await p.evaluate(() => document.body.dataset.runs));
    await p.keyboard.press('Enter');
    await p.waitForFunction((n) => Number(document.body.dataset.runs ?? 0) > n, before, { timeout: 120_000 });
    expect(await p.evaluate(() => document.body.dataset.runCount)).toBe('2');
    // The tour: open from its button, focus moves into the card and stays there; Esc closes and returns focus.
    await p.getByRole('button', { name: 'Guided tour' }).focus();
    await p.keyboard.press('Enter');
    const tour = p.getByRole('dialog', { name: 'Guided tour' });
    await expect.poll(() => tour.evaluate((t) => t.contains(document.activeElement))).toBe(true);
    for (let i = 0; i < 6; i++) {
      await p.keyboard.press('Tab');
      expect(await tour.evaluate((t) => t.contains(document.activeElement))).toBe(true);
    }
    await p.keyboard.press('Escape');
    expect(await tour.isHidden()).toBe(true);
    expect((await focused()).text).toBe('Guided tour');
    await p.close();
  });
});
