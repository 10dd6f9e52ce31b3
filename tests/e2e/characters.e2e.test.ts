// Characters, not bytes (production build, WASM, the interface in 中文): Chinese output whose characters the
// tokenizer split into byte tokens is drawn as whole characters, one chip per character with its token count.
// Witnesses: the Node CLI (same seed, same ids) and the tokenizer's own decode of those ids.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/engine/load/tokenizer.ts';
import { selectBackend } from '../../src/engine/runtime/backend.ts';
import { scoreContinuation } from '../../src/engine/tools/lens.ts';
import { loadModelDir } from '../../src/node/loadDir.ts';
import { cliSteps, openMore, ROOT, runAndWait, screenshot, useApp } from './harness.ts';

const app = useApp();
const dir = join(ROOT, 'models', 'nexttoken-3m');
const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const tok = Tokenizer.fromJSON(json('tokenizer.json'), json('tokenizer_config.json'));
const PROMPT = '从前有一个';

describe('characters, not bytes', () => {
  it('10 runs at T = 1 from 从前有一个: no chip shows a byte code, merged chips say how many tokens, the text is the CLI’s', async () => {
    let merged = 0;
    // The CLI witnesses first, side by side (each is a Node process).
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const clis = await Promise.all(seeds.map((seed) => cliSteps(['--prompt', PROMPT, '--temperature', '1', '--seed', String(seed), '--max-tokens', '24'])));
    const o = await app.open(`?backend=wasm&lang=zh&t=1&max=24&seed=1&prompt=${encodeURIComponent(PROMPT)}`);
    await openMore(o.page); // the seed waits in the drawer
    for (const seed of seeds) {
      await o.page.getByLabel('随机种子', { exact: true }).fill(String(seed));
      await runAndWait(o.page, '生成');
      // Every step's button, merged ones included (outputTokens finds the pane by its English name).
      const ids = await o.page.locator('section.panel.output button.token[data-active="true"]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
      const cli = clis[seed - 1];
      expect(ids).toEqual(cli.map((x) => x.id));
      const chips = await o.page.locator('section.panel.output button.token[data-active="true"]:not([hidden])').evaluateAll((els) =>
        els.map((e) => ({ text: e.firstChild?.textContent ?? '', badge: e.querySelector('.n-tokens')?.textContent ?? null, from: Number((e as HTMLElement).dataset.step), to: Number((e as HTMLElement).dataset.stepEnd ?? (e as HTMLElement).dataset.step) })),
      );
      for (const c of chips) expect(c.text).not.toContain('<0x');
      for (const c of chips.filter((x) => x.to > x.from)) {
        merged++;
        expect(c.badge).toBe(`${c.to - c.from + 1} 个词元`);
      }
      // What the chips read is what the tokenizer decodes from the CLI's ids (a cut-off character as U+FFFD).
      expect(chips.map((c) => c.text).join('')).toBe(tok.decode(cli.map((x) => x.id)));
      if (seed === 10) await screenshot(o.page, 'characters-zh-1280.png');
    }
    await o.page.close();
    expect(merged).toBeGreaterThan(0); // the runs did write characters split into bytes
  });

  it('selecting a merged chip opens its first step; Prompt tokens stays byte-honest', async () => {
    const o = await app.open(`?backend=wasm&t=0&max=8&prompt=${encodeURIComponent('新加坡的首都是')}`);
    const ids = tok.encode('新加坡的首都是');
    // 坡 is not in the vocabulary: its bytes are tokens, and the tokenizer view shows them as bytes.
    expect(ids.map((id) => tok.tokenLabel(id)).some((l) => l.includes('<0x'))).toBe(true);
    await openMore(o.page);
    await o.page.locator('details.prompt-tokens summary').click();
    const promptChips = await o.page.getByLabel('Prompt tokens', { exact: true }).locator('.chip').allTextContents();
    expect(promptChips.some((c) => c.includes('<0x'))).toBe(true);
    await runAndWait(o.page, 'Generate');
    // Greedy writes 新加坡。 again: 坡 as two tokens (<0xE5><0x9D> and <0xA1>), drawn as one chip.
    const head = o.page.locator('section.panel.output button.token.chars[data-active="true"]').first();
    expect(await head.textContent()).toBe('坡2 tokens');
    const from = Number(await head.getAttribute('data-step'));
    await head.click();
    await expect.poll(() => head.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => o.page.getByRole('region', { name: 'Next-token distribution' }).textContent()).toContain(`Step ${from + 1} (`);
    await o.page.close();
  });

  it('the token tree, the guessing game’s picks and the training replay read characters too (CLI and Node-engine witnesses)', async () => {
    const shown = (text: string) => text.replace(/␣/g, ' ').replace(/↵/g, '\n');
    // The token tree: two greedy runs of 新加坡的首都是 (坡 is two tokens), one node per character.
    const P1 = '新加坡的首都是';
    const o = await app.open(`?backend=wasm&t=0&max=8&prompt=${encodeURIComponent(P1)}`);
    const cli = await cliSteps(['--prompt', P1, '--temperature', '0', '--max-tokens', '8']);
    await runAndWait(o.page, 'Generate');
    await runAndWait(o.page, 'Generate');
    await o.page.locator('details.token-tree-box > summary').click();
    const nodes = await o.page.locator('.tt-row').first().locator('.tt-node').evaluateAll((els) =>
      els.map((e) => ({ text: e.querySelector('.tt-tok')?.firstChild?.textContent ?? '', badge: e.querySelector('.n-tokens')?.textContent ?? null, from: Number((e as HTMLElement).dataset.step), to: Number((e as HTMLElement).dataset.stepEnd) })),
    );
    expect(nodes.some((n) => n.to > n.from)).toBe(true);
    for (const n of nodes) {
      expect(n.text).not.toContain('<0x');
      expect(n.badge).toBe(n.to > n.from ? `${n.to - n.from + 1} tokens` : null);
    }
    expect(shown(nodes.map((n) => n.text).join(''))).toBe(tok.decode(cli.map((x) => x.id)));

    // The guessing game: after 马绍尔群岛的首都是马 several candidates are first bytes of a character. Each such pick
    // is relabelled with the character it begins; the Node engine witnesses that the tokens read after it are its
    // top choices (one full forward pass without the cache, not the worker's incremental one).
    const P2 = '马绍尔群岛的首都是马';
    await o.page.getByLabel('Prompt', { exact: true }).fill(P2);
    await openMore(o.page);
    await o.page.getByLabel('Guess each next token (a game)').check();
    await o.page.getByRole('button', { name: 'Next token', exact: true }).click();
    const picks = o.page.locator('#step-panel button.guess-pick');
    await expect.poll(() => picks.locator('xpath=self::*[@data-read-ids]').count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await selectBackend({ order: ['wasm'] });
    const lm = await loadModelDir(dir);
    const context = tok.encode(P2);
    const read = await picks.evaluateAll((els) => els.map((e) => ({ id: Number((e as HTMLElement).dataset.id), text: e.firstChild?.textContent ?? '', badge: e.querySelector('.n-tokens')?.textContent ?? null, ids: (e as HTMLElement).dataset.readIds ?? null })));
    for (const r of read) {
      if (r.ids === null) {
        expect(r.text).not.toContain('<0x'); // a whole token
        continue;
      }
      const ids = r.ids.split(',').map(Number);
      expect(ids[0]).toBe(r.id);
      expect(r.text).toBe(tok.decode(ids));
      expect(r.badge).toBe(`${ids.length} tokens`);
      const scored = await scoreContinuation(lm, [...context, r.id], ids.slice(1));
      expect(scored.tokens.every((x) => x.rank === 1)).toBe(true);
    }
    await o.page.getByLabel('Guess each next token (a game)').uncheck();

    // The training replay of the same prompt: the final snapshot (the model itself) reads its byte candidates on the same way.
    const replay = o.page.locator('section.panel.replay');
    await replay.locator('button.primary').click();
    const finalTop = replay.locator('article.replay-card').last().locator('ol.replay-top li');
    await expect.poll(() => finalTop.count(), { timeout: 120_000 }).toBe(5);
    const top = await finalTop.evaluateAll((els) => els.map((e) => ({ id: Number((e as HTMLElement).dataset.id), text: e.querySelector('.tok')?.firstChild?.textContent ?? '', ids: (e.querySelector('.tok') as HTMLElement).dataset.readIds ?? null })));
    expect(top.some((x) => x.ids !== null)).toBe(true);
    for (const x of top) {
      expect(x.text).not.toContain('<0x');
      if (x.ids) expect(x.text).toBe(tok.decode(x.ids.split(',').map(Number)));
    }
    await o.page.close();
  });
});
