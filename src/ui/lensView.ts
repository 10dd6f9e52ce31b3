// The hallucination lens: pick a question with a known answer, see what the model says, how sure it is,
// and how much probability it gives the truth; ask it many times; check every question at once.
import type { LensSummaryRow, ScoredToken } from '../engine/lens.ts';
import { clear, h, pct, probText, visibleToken } from './dom.ts';
import type { EngineClient, LensQuestionView } from './engineClient.ts';

const REPEATS = 10;

export interface LensHost {
  /** May the lens use the engine now (no generation or load running)? Reports why not. */
  canRun(): boolean;
  setBusy(busy: boolean): void;
  temperature(): number;
  error(message: string): void;
}

export class LensView {
  readonly element: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly result: HTMLElement;
  private readonly repeat: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly buttons: HTMLButtonElement[];
  private questions: LensQuestionView[] = [];

  constructor(
    private readonly client: EngineClient,
    private readonly host: LensHost,
  ) {
    this.select = h('select', { 'aria-label': 'Question', id: 'lens-question' });
    const ask = h('button', { type: 'button', class: 'primary' }, 'Ask');
    const askMany = h('button', { type: 'button' }, `Ask ${REPEATS} times`);
    const all = h('button', { type: 'button' }, 'Check all questions');
    this.buttons = [ask, askMany, all];
    this.result = h('div', { class: 'lens-result', 'aria-label': 'Lens result', role: 'region', 'aria-live': 'polite' });
    this.repeat = h('div', { class: 'lens-repeat', 'aria-label': 'Repeated answers', role: 'region' });
    this.progress = h('span', { class: 'hint' });
    this.summary = h('div', { class: 'lens-summary', 'aria-label': 'Lens summary', role: 'region' });
    this.element = h(
      'section',
      { class: 'panel lens', 'aria-label': 'Hallucination lens' },
      h('h2', {}, 'Hallucination lens'),
      h(
        'p',
        { class: 'hint' },
        'Questions with known answers. For the embedded model we know which facts it saw in training and which were held out: it answers both just as fluently. Watch the probability it gives the true answer.',
      ),
      h('div', { class: 'buttons' }, this.select, ask, askMany, all, this.progress),
      this.result,
      this.repeat,
      this.summary,
    );
    ask.addEventListener('click', () => void this.run(() => this.ask()));
    askMany.addEventListener('click', () => void this.run(() => this.askMany()));
    all.addEventListener('click', () => void this.run(() => this.checkAll()));
  }

  /** Called after each model load: the embedded model has its own facts, others get general ones. */
  async refresh(): Promise<void> {
    this.questions = await this.client.lensQuestions();
    clear(this.select);
    clear(this.result);
    clear(this.repeat);
    clear(this.summary);
    const groups: [string, (q: LensQuestionView) => boolean][] = [
      ['Seen in training', (q) => q.seen === true],
      ['Held out: never seen in training', (q) => q.seen === false],
      ['General facts (training data unknown)', (q) => q.seen === null],
    ];
    for (const [label, test] of groups) {
      const group = h('optgroup', { label });
      this.questions.forEach((q, i) => test(q) && group.append(h('option', { value: i }, q.question)));
      if (group.children.length) this.select.append(group);
    }
  }

  private async run(action: () => Promise<void>): Promise<void> {
    if (!this.host.canRun()) return;
    this.host.setBusy(true);
    this.buttons.forEach((b) => (b.disabled = true));
    try {
      await action();
    } catch (e) {
      this.host.error((e as Error).message);
    } finally {
      this.buttons.forEach((b) => (b.disabled = false));
      this.host.setBusy(false);
    }
  }

  private get index(): number {
    return Number(this.select.value);
  }

  private async ask(): Promise<void> {
    clear(this.result);
    const a = await this.client.lensAsk(this.index);
    const verdict = a.correct ? 'right' : a.plausible ? 'wrong (a real answer, but not this one)' : 'wrong';
    const row = (label: string, ...value: (Node | string)[]) => h('div', { class: 'lens-row' }, h('dt', {}, label), h('dd', {}, ...value));
    this.result.dataset.truthProb = String(a.truthProb);
    this.result.dataset.saidProb = String(a.saidProb);
    this.result.dataset.correct = String(a.correct);
    this.result.append(
      h(
        'dl',
        {},
        row('Question', a.question, a.seen === null ? '' : a.seen ? ' (seen in training)' : ' (held out: never seen)'),
        row('The model says', h('q', {}, a.said), ` — ${verdict}`),
        row('True answer', a.truth),
        row('Probability of what it said', h('strong', { 'data-value': a.saidProb }, probText(a.saidProb)), ' ', chain(a.saidTokens)),
        row('Probability of the true answer', h('strong', { class: 'truth-prob', 'data-value': a.truthProb }, probText(a.truthProb)), ' ', chain(a.truthTokens)),
        row('Rank of the true answer’s first token', `#${a.truthRank}`),
        row('Entropy along its answer', `${a.meanEntropy.toFixed(2)} bits`),
      ),
    );
    if (!a.correct && a.saidProb > 0.5) {
      this.result.append(h('p', { class: 'warn' }, `Confident and wrong: it gave its own answer ${probText(a.saidProb)} and the truth ${probText(a.truthProb)}. Fluency is not knowledge.`));
    }
  }

  private async askMany(): Promise<void> {
    const t = this.host.temperature() || 1;
    clear(this.repeat);
    const r = await this.client.lensRepeat(this.index, REPEATS, t);
    this.repeat.append(
      h('p', {}, `Asked ${REPEATS} times at temperature ${t} (seeds 1–${REPEATS}). Most common answer given ${pct(r.agreement, 0)} of the time.`),
      h('ul', {}, ...r.answers.map((x) => h('li', {}, h('q', {}, x.said), ` × ${x.count}`))),
    );
    if (r.agreement < 0.7) this.repeat.append(h('p', { class: 'warn' }, 'The answers disagree: a warning sign that the model does not know, and is guessing.'));
  }

  private async checkAll(): Promise<void> {
    clear(this.summary);
    const r = await this.client.lensAll((done, total) => (this.progress.textContent = `${done} / ${total}`));
    this.progress.textContent = '';
    const cell = (v: number | null) => h('td', {}, v === null ? '–' : pct(v));
    const name = (g: LensSummaryRow['group']) => ({ seen: 'Seen in training', unseen: 'Held out (never seen)', all: 'All questions' })[g];
    this.summary.append(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['', 'questions', 'right (greedy)', 'mean confidence when right', 'mean confidence when wrong'].map((t) => h('th', {}, t)))),
        h(
          'tbody',
          {},
          ...r.summary.map((s) =>
            h('tr', { 'data-group': s.group, 'data-accuracy': s.accuracy }, h('th', {}, name(s.group)), h('td', {}, String(s.questions)), cell(s.accuracy), cell(s.meanConfidenceRight), cell(s.meanConfidenceWrong)),
          ),
        ),
      ),
      h('p', { class: 'hint' }, 'Confidence = the probability the model gave to the answer it actually said. High confidence on a wrong answer is hallucination.'),
    );
  }
}

/** "␣Par 92% × is 99%": the chain of token probabilities whose product is shown. */
function chain(tokens: ScoredToken[]): HTMLElement {
  const parts: (Node | string)[] = [];
  tokens.forEach((t, i) => {
    if (i) parts.push(' × ');
    parts.push(h('span', { class: 'chip tok', title: `id ${t.id}${t.rank ? ` · rank ${t.rank}` : ''}` }, visibleToken(t.token)), ` ${probText(t.prob)}`);
  });
  return h('span', { class: 'chain' }, '(', ...parts, ')');
}
