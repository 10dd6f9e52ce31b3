// The token tree: the runs of one prompt and their branches drawn as tokens. One row per run, each
// token in the column of its step, a branch starting in the column where it left its parent; under
// each token the probability the model gave it there (raw, T = 1). The shown run's path is marked; the
// arrow keys move between tokens (← → along a row, ↑ ↓ between rows), Enter or a click selects that step.
// Tokens that together spell one character are one node (characters, not bytes), as in the output.
import { clear, h, pct, visibleToken } from '../dom.ts';
import { charGroups } from '../tokens.ts';
import { t } from '../i18n/index.ts';
import type { AppState, Run } from '../state.ts';

/** A row: a run, shown from the step where it left its parent (0 for a root run). */
export interface TreeRow {
  run: Run;
  from: number;
  depth: number;
}

/** The rows of the complete-mode runs, depth first: each run followed by its branches, in branch-step order. */
export function treeRows(runs: Run[]): TreeRow[] {
  const rows: TreeRow[] = [];
  const visit = (r: Run, depth: number) => {
    rows.push({ run: r, from: r.parent?.step ?? 0, depth });
    runs
      .filter((c) => c.parent?.runId === r.id)
      .sort((a, b) => a.parent!.step - b.parent!.step || a.id - b.id)
      .forEach((c) => visit(c, depth + 1));
  };
  runs.filter((r) => !r.parent).forEach((r) => visit(r, 0));
  return rows;
}

/** For each run, the (run, step) cells its path goes through: its ancestors' steps before each branch point, then its own. */
export function pathOf(runs: Run[], run: Run): Set<string> {
  const cells = new Set<string>();
  let r: Run | undefined = run;
  let until = run.steps.length;
  while (r) {
    const from = r.parent?.step ?? 0;
    for (let i = from; i < until; i++) cells.add(`${r.id}:${i}`);
    until = from;
    const parent: number | undefined = r.parent?.runId;
    r = parent === undefined ? undefined : runs.find((x) => x.id === parent);
  }
  return cells;
}

/** A prompt's key: its token ids (a branch keeps its root's). */
const promptKey = (r: Run) => r.promptIds.join(',');

export class TokenTree {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  // Runs of other prompts wait behind this choice; by default the tree follows the shown run's prompt.
  private readonly promptSel: HTMLSelectElement;
  private chosenPrompt: string | null = null;
  private followed: string | null = null; // the shown run's prompt when the choice was made
  private key = '';
  private cells: HTMLButtonElement[][] = []; // [row][column - from]
  private rows: TreeRow[] = [];

  constructor(private readonly select: (runId: number, step: number) => void) {
    this.body = h('div', { class: 'token-tree', role: 'group' });
    this.body.addEventListener('keydown', (e) => this.keys(e));
    this.promptSel = h('select', { class: 'tt-prompt', translate: 'no' });
    this.promptSel.addEventListener('change', () => {
      this.chosenPrompt = this.promptSel.value;
      this.key = '';
      this.onChange();
    });
    this.element = h('details', { class: 'token-tree-box' }, h('summary', {}, ''), h('label', { class: 'inline tt-prompt-box' }, h('span', { class: 'tt-prompt-label' }), ' ', this.promptSel), this.body);
  }

  /** Asks for a render (the app's). */
  onChange: () => void = () => {};

  render(s: AppState): void {
    const complete = s.runs.filter((r) => r.mode === 'complete');
    const shown = s.shown.complete;
    const sel = s.selected;
    // The shown run's prompt, unless the learner chose another since it was shown.
    const shownPrompt = complete.find((r) => r.id === shown) ?? complete.at(-1);
    const follow = shownPrompt ? promptKey(shownPrompt) : null;
    if (follow !== this.followed) {
      this.followed = follow;
      this.chosenPrompt = null;
    }
    const current = this.chosenPrompt ?? follow;
    const runs = complete.filter((r) => promptKey(r) === current);
    const prompts = [...new Map(complete.map((r) => [promptKey(r), r])).values()];
    const key = `${t().lang}|${shown}|${current}|${sel?.runId}:${sel?.step}|${complete.map((r) => `${r.id}:${r.steps.length}`).join(',')}`;
    this.element.hidden = s.setup.mode !== 'complete' || complete.length < 2;
    (this.element.firstChild as HTMLElement).textContent = t().tokenTree;
    this.body.setAttribute('aria-label', t().tokenTree);
    if (key === this.key) return;
    // Other prompts' runs: one choice each (hidden while there is one prompt).
    const box = this.promptSel.parentElement!;
    box.hidden = prompts.length < 2;
    (box.firstChild as HTMLElement).textContent = t().treePrompt;
    this.promptSel.setAttribute('aria-label', t().treePrompt);
    // Rebuilt only when the prompts or their run counts change (not on every streamed token: an open list stays open).
    const counts = prompts.map((r) => [promptKey(r), complete.filter((x) => promptKey(x) === promptKey(r)).length] as const);
    const optionsKey = `${t().lang}|${counts.map(([k, n]) => `${k}:${n}`).join('|')}`;
    if (this.promptSel.dataset.key !== optionsKey) {
      this.promptSel.dataset.key = optionsKey;
      this.promptSel.replaceChildren(
        ...prompts.map((r, i) => {
          const chars = [...r.prompt]; // by code point: an emoji is never cut in half
          return h('option', { value: promptKey(r) }, t().treePromptOption(chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : r.prompt, counts[i][1]));
        }),
      );
    }
    if (current && this.promptSel.value !== current) this.promptSel.value = current;
    const focused = this.body.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset : null;
    this.key = key;
    clear(this.body);
    this.rows = treeRows(runs);
    const shownRun = runs.find((r) => r.id === shown);
    const path = shownRun ? pathOf(runs, shownRun) : new Set<string>();
    const width = Math.max(0, ...runs.map((r) => r.steps.length));
    this.cells = this.rows.map(({ run, from, depth }) => {
      const row = h('div', { class: 'tt-row', style: `grid-template-columns: repeat(${width}, 5.5rem)`, 'data-run': run.id, 'data-depth': depth });
      // Characters, not bytes: tokens that each hold part of a character are one node spanning their columns
      // (grouped over the whole path, so a branch that finishes a character begun before it shows that character).
      const groups = charGroups(run.steps.map((x) => x.token)).filter((g) => g.end >= from);
      const columns: HTMLButtonElement[] = [];
      for (const g of groups) {
        const start = Math.max(g.start, from);
        const steps = run.steps.slice(start, g.end + 1);
        const n = g.end - start + 1;
        const prob = steps.reduce((p, x) => p * x.rawProb, 1);
        const text = n > 1 || !g.complete || g.start < from ? g.text : steps[0].token;
        const onPath = path.has(`${run.id}:${start}`);
        const selected = sel?.runId === run.id && sel.step >= start && sel.step <= g.end;
        const b = h(
          'button',
          {
            type: 'button',
            class: ['tt-node', onPath ? 'on-path' : '', start === from && run.parent ? 'fork' : '', n > 1 ? 'chars' : ''].join(' ').trim(),
            style: `grid-column: ${start + 1} / ${g.end + 2}`,
            tabindex: -1,
            'data-run': run.id,
            'data-step': start,
            'data-step-end': g.end,
            'data-id': steps[0].id,
            'data-prob': prob,
            'aria-current': selected ? 'true' : undefined,
            'aria-label': t().treeNode(start + 1, visibleToken(text), pct(prob), run.id) + (n > 1 ? ` (${t().nTokens(n)}: ${steps.map((x) => x.token).join(' ')})` : ''),
            title: n > 1 ? `${t().nTokens(n)}: ${steps.map((x) => x.token).join(' ')}` : undefined,
            translate: 'no',
            onclick: () => this.select(run.id, start),
          },
          h('span', { class: 'tt-tok' }, visibleToken(text), ...(n > 1 ? [h('sup', { class: 'n-tokens', 'aria-hidden': 'true' }, t().nTokens(n))] : [])),
          h('span', { class: 'tt-p' }, pct(prob)),
        );
        row.append(b);
        for (let i = start; i <= g.end; i++) columns.push(b);
      }
      this.body.append(row);
      return columns;
    });
    // One Tab stop: the selected token if it is here, else the first.
    const all = [...new Set(this.cells.flat())];
    const stop = all.find((b) => b.getAttribute('aria-current') === 'true') ?? all[0];
    if (stop) stop.tabIndex = 0;
    if (focused) all.find((b) => b.dataset.run === focused.run && b.dataset.step === focused.step)?.focus();
  }

  private keys(e: KeyboardEvent): void {
    const b = e.target as HTMLElement;
    const r = this.rows.findIndex((row) => String(row.run.id) === b.dataset.run);
    if (r < 0 || !b.dataset.step) return;
    const step = Number(b.dataset.step);
    const at = (row: number, s: number) => {
      const { from } = this.rows[row];
      const cells = this.cells[row];
      return cells[Math.max(0, Math.min(cells.length - 1, s - from))];
    };
    let next: HTMLButtonElement | undefined;
    const end = Number(b.dataset.stepEnd ?? step); // a character node spans steps step..end
    if (e.key === 'ArrowRight') next = at(r, end + 1);
    else if (e.key === 'ArrowLeft') next = step > this.rows[r].from ? at(r, step - 1) : r > 0 ? this.parentCell(r, step - 1) : undefined;
    else if (e.key === 'ArrowDown' && r + 1 < this.rows.length) next = at(r + 1, step);
    else if (e.key === 'ArrowUp' && r > 0) next = at(r - 1, step);
    else if (e.key === 'Home') next = this.cells[r][0];
    else if (e.key === 'End') next = this.cells[r][this.cells[r].length - 1];
    else return;
    e.preventDefault();
    if (!next) return;
    for (const c of this.cells.flat()) c.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  /** Left from a branch's first token: the parent's token at the step before. */
  private parentCell(row: number, step: number): HTMLButtonElement | undefined {
    const parentId = this.rows[row].run.parent?.runId;
    const p = this.rows.findIndex((x) => x.run.id === parentId);
    if (p < 0 || step < 0) return undefined;
    return this.cells[p][step - this.rows[p].from];
  }
}
