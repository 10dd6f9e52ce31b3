// The output pane and the run tree, drawn from the app state. The pane shows the shown run's own
// prompt (or conversation) and its tokens as buttons; the tokens are one Tab stop (roving tabindex:
// arrow keys move, Enter or Space selects). While a run streams, new tokens are appended rather than
// the pane redrawn, so focus and scroll stay where the learner left them.
import type { StepRecord } from '../../engine/generate/generate.ts';
import { clear, h, pct, visibleToken } from '../dom.ts';
import { t } from '../i18n/index.ts';
import { conversationOf, runById, shownRun, type AppState, type Run } from '../state.ts';
import { charGroups, hasPartialBytes, isFork, probBucket, tokenButton } from '../tokens.ts';

export interface OutputHandlers {
  select(runId: number, step: number): void;
  showRun(runId: number): void;
}

interface Panes {
  output: HTMLElement;
  runTree: HTMLElement;
  runBox: HTMLElement;
}

export class OutputView {
  private drawnKey = '';
  private drawnSteps = 0;
  private live: HTMLElement | null = null; // where the shown run's tokens go
  private treeKey = '';
  private shownId: number | null = null;

  constructor(
    private readonly panes: Panes,
    private readonly handlers: OutputHandlers,
  ) {
    panes.output.addEventListener('keydown', (e) => this.keys(e));
  }

  /** Forces a full redraw on the next render (e.g. after a language switch). */
  invalidate(): void {
    this.drawnKey = '';
    this.treeKey = '';
  }

  private pending: AppState['guess']['pending'] = null;

  render(s: AppState, eosIds: number[]): void {
    const run = shownRun(s);
    this.shownId = run?.id ?? null;
    this.pending = s.guess.pending;
    const key = `${structureKey(s, run)}|${s.guess.pending ? `${s.guess.pending.runId}:${s.guess.pending.step}` : ''}`;
    if (key === this.drawnKey && run && this.live && run.steps.length >= this.drawnSteps) {
      for (let i = this.drawnSteps; i < run.steps.length; i++) this.live.append(this.button(run, i, eosIds));
      if (run.steps.length > this.drawnSteps) {
        // Only the tail can change: a token without partial bytes is a character boundary; regroup after the last one.
        let from = this.drawnSteps;
        while (from > 0 && hasPartialBytes(run.steps[from - 1].token)) from--;
        this.drawCharacters(this.live, run, from);
      }
    } else {
      this.redraw(s, run, eosIds);
      this.drawnKey = key;
    }
    this.drawnSteps = run?.steps.length ?? 0;
    this.markSelection(s);
    this.renderTree(s);
  }

  private redraw(s: AppState, run: Run | null, eosIds: number[]): void {
    const out = this.panes.output;
    clear(out);
    this.live = null;
    const tokensOf = (r: Run) => {
      const span = h('span', { class: 'gen', 'data-run': r.id });
      r.steps.forEach((_, i) => span.append(this.button(r, i, eosIds)));
      this.drawCharacters(span, r, 0);
      return span;
    };
    if (s.setup.mode === 'complete') {
      if (!run) return void out.append(h('p', { class: 'hint' }, t().hintGenerate));
      this.live = tokensOf(run);
      out.append(h('span', { class: 'prompt-text', translate: 'no' }, run.prompt), this.live);
      return;
    }
    if (!run) return void out.append(h('p', { class: 'hint' }, t().hintChat));
    if (run.dropped.length) {
      out.append(
        h(
          'details',
          { class: 'dropped' },
          h('summary', {}, t().droppedSummary(run.dropped.length)),
          ...run.dropped.map((turn) => h('p', { class: 'turn dropped-turn', translate: 'no' }, `${t().you}${turn.user} — ${t().modelSays}${runById(s, turn.runId)?.reply ?? ''}`)),
        ),
      );
    }
    for (const turn of conversationOf(run)) {
      const r = runById(s, turn.runId)!;
      const tokens = tokensOf(r);
      if (r === run) this.live = tokens;
      const reply = h('div', { class: 'turn assistant', 'data-run': r.id }, h('strong', {}, t().modelSays), tokens);
      out.append(h('div', { class: 'turn user' }, h('strong', {}, t().you), h('span', { translate: 'no' }, turn.user)), reply);
      if (r.summary?.cutText) reply.append(h('p', { class: 'hint turn-end', translate: 'no' }, t().turnCut(visibleToken(r.summary.cutText.trimEnd()))));
    }
  }

  private button(run: Run, i: number, eosIds: number[]): HTMLButtonElement {
    const record: StepRecord = run.steps[i];
    const b = tokenButton(record, () => this.handlers.select(run.id, i));
    if (this.pending?.runId === run.id && this.pending.step === i) {
      // The guessing game: not shown until guessed (no text, no colour, no probability).
      b.className = 'token hidden-guess';
      b.textContent = '?';
      b.setAttribute('aria-label', t().guessTitle);
      b.removeAttribute('title');
    }
    b.dataset.run = String(run.id);
    b.dataset.step = String(i);
    b.dataset.active = String(run.id === this.shownId); // the shown run's own tokens (not earlier chat turns)
    if (eosIds.includes(record.id) || record.token.startsWith('<|')) b.dataset.special = 'true';
    b.tabIndex = -1;
    return b;
  }

  /**
   * Characters, not bytes: tokens that each hold part of a character (新加<0xE5> <0x9D> <0xA1>) are drawn as
   * one chip (新加坡, "3 tokens"), coloured by the character's probability (the product of its tokens').
   * The other tokens' buttons stay in the DOM, hidden, with their ids and steps; selecting the chip selects
   * its first step. As a run streams only its tail is regrouped (from `from`, a character boundary): the
   * last character may complete with the next token, and a group only ever grows.
   */
  private drawCharacters(span: HTMLElement, run: Run, from: number): void {
    const buttons = [...span.querySelectorAll<HTMLButtonElement>(':scope > button.token')];
    const labels = run.steps.slice(from).map((x, k) => (this.pending?.runId === run.id && this.pending.step === from + k ? '?' : x.token));
    for (const { start, end, text, complete } of charGroups(labels).map((g) => ({ ...g, start: g.start + from, end: g.end + from }))) {
      if (start === end && complete) continue; // a whole token: its own button as drawn
      const head = buttons[start];
      const steps = run.steps.slice(start, end + 1);
      const prob = steps.reduce((p, x) => p * x.rawProb, 1);
      const n = end - start + 1;
      const parts = `${t().nTokens(n)}: ${steps.map((x) => x.token).join(' ')}`;
      head.className = `token p${probBucket(prob)} chars${isFork(steps[0].top) ? ' low-conf' : ''}`;
      head.dataset.stepEnd = String(end);
      head.replaceChildren(text, ...(n > 1 ? [h('sup', { class: 'n-tokens', 'aria-hidden': 'true' }, t().nTokens(n))] : []));
      head.setAttribute('aria-label', `${text} ${pct(prob)} (${parts})`);
      head.title = parts;
      for (let i = start + 1; i <= end; i++) {
        buttons[i].hidden = true;
        buttons[i].dataset.merged = 'true';
      }
    }
  }

  /** aria-pressed on the selected token; the one Tab stop is the selected token, else the last one. */
  private markSelection(s: AppState): void {
    const buttons = this.tokenButtons();
    const sel = s.selected;
    let stop: HTMLButtonElement | null = null;
    for (const b of buttons) {
      const on = sel !== null && Number(b.dataset.run) === sel.runId && Number(b.dataset.step) <= sel.step && sel.step <= Number(b.dataset.stepEnd ?? b.dataset.step);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      if (on) stop = b;
      b.tabIndex = -1;
    }
    stop ??= buttons[buttons.length - 1] ?? null;
    if (stop) stop.tabIndex = 0;
  }

  private tokenButtons(): HTMLButtonElement[] {
    return [...this.panes.output.querySelectorAll<HTMLButtonElement>('button.token:not([hidden])')];
  }

  /** The output's one Tab stop (the selected token, else the last), or null when nothing is shown. */
  tabStop(): HTMLButtonElement | null {
    return this.tokenButtons().find((b) => b.tabIndex === 0) ?? null;
  }

  /** The shown run's buttons (the live ones), for scripts and scrolling. */
  firstLiveToken(): HTMLElement | null {
    return this.live?.querySelector('button.token') ?? null;
  }

  private keys(e: KeyboardEvent): void {
    const buttons = this.tokenButtons();
    const i = buttons.indexOf(e.target as HTMLButtonElement);
    if (i < 0) return;
    const to = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? i + 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? buttons.length - 1 : -1;
    if (to < 0 || to >= buttons.length) return;
    e.preventDefault();
    buttons[i].tabIndex = -1;
    buttons[to].tabIndex = 0;
    buttons[to].focus();
  }

  /** The runs of the current mode as a tree: branches under the run they branched from, chat turns under the turn before. */
  private renderTree(s: AppState): void {
    const mode = s.setup.mode;
    const runs = s.runs.filter((r) => r.mode === mode);
    const key = `${mode}|${s.shown[mode]}|${runs.map((r) => `${r.id}:${r.steps.length}:${r.summary ? 1 : 0}`).join(',')}`;
    if (key === this.treeKey) return;
    this.treeKey = key;
    const { runTree, runBox } = this.panes;
    clear(runTree);
    runBox.hidden = runs.length < 2;
    const parentOf = (r: Run) => r.parent?.runId ?? r.history[r.history.length - 1]?.runId ?? null;
    const item = (r: Run): HTMLElement => {
      const kids = runs.filter((c) => parentOf(c) === r.id);
      const li = h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'run', 'aria-current': s.shown[mode] === r.id ? 'true' : undefined, 'data-run': r.id, onclick: () => this.handlers.showRun(r.id) },
          h('strong', {}, t().runN(r.id)),
          ' ',
          h('span', { translate: 'no' }, describeRun(r)),
          h('span', { class: 'hint' }, t().runTokens(r.steps.length)),
        ),
      );
      if (kids.length) li.append(h('ul', {}, ...kids.map(item)));
      return li;
    };
    runTree.append(h('ul', {}, ...runs.filter((r) => parentOf(r) === null).map(item)));
  }
}

/** What makes a run: its branch point, its chat turn, or its prompt. */
function describeRun(r: Run): string {
  if (r.parent) return (r.parent.typed ? t().branchTyped : t().branchFrom)(r.parent.step + 1, r.parent.runId, visibleToken(r.parent.pickedToken), visibleToken(r.parent.replacedToken));
  const text = r.prompt.length > 40 ? `${r.prompt.slice(0, 40)}…` : r.prompt;
  return r.mode === 'chat' ? t().turnOf(r.history.length + 1, text) : `“${text}”`;
}

/** Everything but a growing step count of the shown run: when only that changed, tokens are appended. */
function structureKey(s: AppState, run: Run | null): string {
  if (!run) return `${s.setup.mode}|none`;
  const turns = s.setup.mode === 'chat' ? conversationOf(run).map((turn) => `${turn.runId}:${runById(s, turn.runId)?.steps.length}:${runById(s, turn.runId)?.summary?.cutText ?? ''}`) : [];
  return `${s.setup.mode}|${run.id}|${turns.slice(0, -1).join(',')}|${run.summary?.cutText ?? ''}|${run.dropped.length}`;
}
