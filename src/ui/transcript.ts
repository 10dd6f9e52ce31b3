// What has been generated: completion branches and chat turns, which token is selected, and the
// output pane that shows them as token buttons. State and its drawing live together here; the app
// decides when to generate.
import type { GenerationSummary, StepRecord } from '../engine/generate.ts';
import { clear, h } from './dom.ts';
import { t } from './i18n/index.ts';
import { tokenButton } from './tokens.ts';

/** One generated continuation of one prompt. Branches are runs that share a prefix. */
export interface Run {
  promptIds: number[];
  steps: StepRecord[];
  seed: number;
  summary?: GenerationSummary;
  label: { n: number; from: number | null }; // shown as "Branch n (from step s)"
  text?: string; // the decoded continuation (a chat turn's reply)
}
export interface ChatTurn {
  user: string;
  run: Run;
}
export interface Selection {
  run: Run;
  step: number;
}
export type Mode = 'complete' | 'chat';

interface Panes {
  output: HTMLElement;
  branches: HTMLSelectElement;
  branchBox: HTMLElement;
}

export class Transcript {
  branches: Run[] = [];
  current = -1;
  chat: ChatTurn[] = [];
  selected: Selection | null = null;

  /** onSelect: a token button was clicked or reached by arrow keys. */
  constructor(
    private readonly panes: Panes,
    private readonly onSelect: (run: Run, step: number) => void,
  ) {}

  get currentBranch(): Run | undefined {
    return this.branches[this.current];
  }

  /** Token ids belong to one tokenizer: a new model starts an empty transcript. */
  reset(): void {
    this.branches = [];
    this.current = -1;
    this.chat = [];
    this.selected = null;
  }

  addBranch(run: Run): void {
    this.branches.push(run);
    this.current = this.branches.length - 1;
  }

  /** The runs an export holds: the shown branch, or the whole conversation. */
  runsToExport(mode: Mode): Run[] {
    return mode === 'chat' ? this.chat.map((c) => c.run) : this.branches.slice(this.current, this.current + 1);
  }

  isActiveRun(run: Run, mode: Mode): boolean {
    return mode === 'complete' ? this.branches[this.current] === run : this.chat[this.chat.length - 1]?.run === run;
  }

  renderBranches(mode: Mode): void {
    const { branches, branchBox } = this.panes;
    clear(branches);
    branchBox.hidden = mode !== 'complete' || this.branches.length < 2;
    this.branches.forEach((b, i) => branches.append(h('option', { value: i, selected: i === this.current }, t().branchLabel(b.label.n, b.label.from))));
  }

  /** The whole output pane; only the active run's tokens are live (selectable for the step panel). */
  renderOutput(mode: Mode, prompt: string): void {
    const out = this.panes.output;
    clear(out);
    const tokensOf = (run: Run, live: boolean) => {
      const span = h('span', { class: 'gen', 'data-live': live ? 'true' : undefined });
      run.steps.forEach((_, i) => span.append(this.button(run, i, live)));
      return span;
    };
    if (mode === 'complete') {
      const run = this.currentBranch;
      if (!run) return void out.append(h('p', { class: 'hint' }, t().hintGenerate));
      out.append(h('span', { class: 'prompt-text', translate: 'no' }, prompt), tokensOf(run, true));
    } else {
      if (!this.chat.length) return void out.append(h('p', { class: 'hint' }, t().hintChat));
      this.chat.forEach((c, i) => {
        const last = i === this.chat.length - 1;
        out.append(
          h('div', { class: 'turn user' }, h('strong', {}, t().you), h('span', { translate: 'no' }, c.user)),
          h('div', { class: 'turn assistant' }, h('strong', {}, t().modelSays), tokensOf(c.run, last)),
        );
      });
    }
  }

  /** A token arriving while generating: appended, not a redraw of the pane. Returns false when the pane has no live run to append to. */
  appendToken(run: Run, i: number): boolean {
    const target = this.panes.output.querySelector(`[data-live="true"]`);
    if (!target) return false;
    target.append(this.button(run, i, true));
    return true;
  }

  renderSelection(mode: Mode): void {
    const s = this.selected;
    for (const b of this.panes.output.querySelectorAll<HTMLButtonElement>('button.token')) {
      const on = b.dataset.active === 'true' && s !== null && Number(b.dataset.runStep) === s.step && this.isActiveRun(s.run, mode);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  }

  private button(run: Run, i: number, live: boolean): HTMLButtonElement {
    const selected = this.selected?.run === run && this.selected.step === i;
    const b = tokenButton(run.steps[i], selected, () => this.onSelect(run, i), (e) => this.keys(e, run, i));
    b.dataset.runStep = String(i);
    b.dataset.active = String(live);
    return b;
  }

  /** Arrow keys walk the tokens of a run, moving focus with the selection. */
  private keys(e: KeyboardEvent, run: Run, i: number): void {
    const to = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : -1;
    if (to < 0 || to >= run.steps.length) return;
    e.preventDefault();
    this.onSelect(run, to);
    (this.panes.output.querySelector(`[data-run-step="${to}"][data-active="true"]`) as HTMLElement | null)?.focus();
  }
}
