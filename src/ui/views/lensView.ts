// The hallucination lens: pick a question with a known answer, see what the model says, how sure it is,
// and how much probability it gives the truth; ask it many times; check every question at once.
import type { LensAnswer, LensSummaryRow, ScoredToken } from '../../engine/tools/lens.ts';
import { charGroups } from '../tokens.ts';
import { clear, h, pct, probText, visibleToken } from '../dom.ts';
import type { EngineClient, LensQuestionView, RepeatResult } from '../engineClient.ts';
import { label, lang, onLangChange, t } from '../i18n/index.ts';
import { CancelledError } from '../../engine/generate/cancelled.ts';
import { Availability, toolPanel, type ToolHost } from '../toolHost.ts';

const REPEATS = 10;
// Each language named in itself: a learner finds their own language whatever the interface speaks.
const LANGUAGE_NAMES: Record<LensQuestionView['lang'], string> = { en: 'English', zh: '中文' };

export interface LensHost extends ToolHost {
  temperature(): number;
}

export class LensView {
  readonly element: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly langSelect: HTMLSelectElement; // which language's questions (a bilingual model has both)
  private readonly result: HTMLElement;
  private readonly repeat: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly progress: HTMLElement;
  private readonly availability: Availability;
  private readonly cancelBtn: HTMLButtonElement;
  private questions: LensQuestionView[] = [];
  private engineBusy: string | null = null;
  // The last results, so a language switch can draw them again.
  private lastAnswer: LensAnswer | null = null;
  private lastRepeat: { r: RepeatResult; t: number; question: string } | null = null;
  private lastSummary: LensSummaryRow[] | null = null;

  constructor(
    private readonly client: EngineClient,
    private readonly host: LensHost,
  ) {
    this.select = label(h('select', { id: 'lens-question', translate: 'no' }), (d) => d.question, 'aria-label');
    this.langSelect = label(h('select', { class: 'lens-lang', translate: 'no', hidden: true }), (d) => d.questionLanguage, 'aria-label');
    const ask = label(h('button', { type: 'button', class: 'primary' }), (d) => d.ask);
    const askMany = label(h('button', { type: 'button' }), (d) => d.askTimes(REPEATS));
    const all = label(h('button', { type: 'button' }), (d) => d.checkAll);
    this.availability = new Availability([ask, askMany, all]);
    this.cancelBtn = label(h('button', { type: 'button', hidden: true }), (d) => d.cancel);
    this.cancelBtn.addEventListener('click', () => this.client.cancelLensAll());
    this.result = label(h('div', { class: 'lens-result', role: 'region', 'aria-live': 'polite' }), (d) => d.lensResult, 'aria-label');
    this.repeat = label(h('div', { class: 'lens-repeat', role: 'region' }), (d) => d.repeatedAnswers, 'aria-label');
    this.progress = h('span', { class: 'hint lens-progress', role: 'status' });
    this.summary = label(h('div', { class: 'lens-summary', role: 'region' }), (d) => d.lensSummary, 'aria-label');
    this.element = toolPanel(
      'lens',
      (d) => d.lens,
      (d) => d.lens,
      (d) => d.lensIntro,
      h('div', { class: 'buttons' }, this.langSelect, this.select, ask, askMany, all, this.cancelBtn, this.progress),
      this.availability.note,
      this.result,
      this.repeat,
      this.summary,
    );
    onLangChange(() => {
      // The interface switched language: the questions follow, where the model has them in it.
      if (this.languages().includes(lang())) this.langSelect.value = lang();
      this.availability.set(this.blockedBy());
      this.renderGroups();
      if (this.lastAnswer) this.renderAnswer(this.lastAnswer);
      if (this.lastRepeat) this.renderRepeat(this.lastRepeat.r, this.lastRepeat.t, this.lastRepeat.question);
      if (this.lastSummary) this.renderSummary(this.lastSummary);
    });
    // A result belongs to its question: choosing another question clears the old one.
    this.select.addEventListener('change', () => {
      clear(this.result);
      clear(this.repeat);
      this.lastAnswer = this.lastRepeat = null;
    });
    this.langSelect.addEventListener('change', () => {
      this.renderGroups();
      this.select.dispatchEvent(new Event('change'));
    });
    ask.addEventListener('click', () => void this.run(() => this.ask()));
    askMany.addEventListener('click', () => void this.run(() => this.askMany()));
    all.addEventListener('click', () => void this.run(() => this.checkAll()));
  }

  /** Called after each model load: the embedded model has its own facts, others get general ones. */
  async refresh(): Promise<LensQuestionView[]> {
    this.questions = await this.client.lensQuestions();
    this.availability.set(this.blockedBy());
    clear(this.result);
    clear(this.repeat);
    clear(this.summary);
    this.lastAnswer = this.lastRepeat = this.lastSummary = null;
    const langs = this.languages();
    clear(this.langSelect);
    this.langSelect.append(...langs.map((l) => h('option', { value: l }, LANGUAGE_NAMES[l])));
    this.langSelect.hidden = langs.length < 2;
    this.langSelect.value = langs.includes(lang()) ? lang() : langs[0] ?? 'en';
    this.renderGroups();
    return this.questions;
  }

  private languages(): LensQuestionView['lang'][] {
    return [...new Set(this.questions.map((q) => q.lang))];
  }

  /** Questions are data (kept as asked, in the model's language); only the group names are translated. */
  private renderGroups(): void {
    const keep = this.select.value;
    const shown = this.langSelect.value || 'en';
    clear(this.select);
    const d = t();
    const groups: [string, (q: LensQuestionView) => boolean][] = [
      [d.groupSeen, (q) => q.seen === true],
      [d.groupUnseen, (q) => q.seen === false],
      [d.groupGeneral, (q) => q.seen === null],
    ];
    for (const [name, test] of groups) {
      const group = h('optgroup', { label: name });
      this.questions.forEach((q, i) => q.lang === shown && test(q) && group.append(h('option', { value: i }, q.question)));
      if (group.children.length) this.select.append(group);
    }
    if (keep && [...this.select.options].some((o) => o.value === keep)) this.select.value = keep;
  }

  /** Why the lens cannot ask now (null: it can). */
  setBlocked(reason: string | null): void {
    this.engineBusy = reason;
    this.availability.set(this.blockedBy());
  }

  /** The engine's reason, or that this model has no questions with known answers (the story model). */
  private blockedBy(): string | null {
    return this.engineBusy ?? (this.questions.length ? null : t().lensNoFacts);
  }

  private run(action: () => Promise<void>): Promise<void> {
    return this.availability.run(this.host, action);
  }

  private get index(): number {
    return Number(this.select.value);
  }

  private async ask(): Promise<void> {
    clear(this.result);
    this.lastAnswer = null;
    this.renderAnswer((this.lastAnswer = await this.client.lensAsk(this.index)));
  }

  private renderAnswer(a: LensAnswer): void {
    clear(this.result);
    const d = t();
    const verdict = a.correct ? d.right : a.plausible ? d.wrongPlausible : d.wrong;
    const row = (name: string, ...value: (Node | string)[]) => h('div', { class: 'lens-row' }, h('dt', {}, name), h('dd', {}, ...value));
    this.result.dataset.truthProb = String(a.truthProb);
    this.result.dataset.saidProb = String(a.saidProb);
    this.result.dataset.correct = String(a.correct);
    this.result.append(
      h(
        'dl',
        {},
        row(d.question, h('span', { translate: 'no' }, a.question), a.seen === null ? '' : a.seen ? d.seenNote : d.unseenNote),
        row(d.theModelSays, h('q', { translate: 'no' }, a.said), ` — ${verdict}`),
        row(d.trueAnswer, h('span', { translate: 'no' }, a.truth)),
        row(d.probSaid, h('strong', { 'data-value': a.saidProb }, probText(a.saidProb)), ' ', chain(a.saidTokens)),
        row(d.probTruth, h('strong', { class: 'truth-prob', 'data-value': a.truthProb }, probText(a.truthProb)), ' ', chain(a.truthTokens)),
        row(d.truthRank, `#${a.truthRank}`),
        row(d.entropyAlong, d.bits(a.meanEntropy.toFixed(2))),
      ),
    );
    if (!a.correct && a.saidProb > 0.5) {
      this.result.append(h('p', { class: 'warn' }, d.confidentWrong(probText(a.saidProb), probText(a.truthProb))));
    }
  }

  private async askMany(): Promise<void> {
    const temp = this.host.temperature() || 1;
    clear(this.repeat);
    this.lastRepeat = null;
    const question = this.questions[this.index]?.question ?? '';
    const r = await this.client.lensRepeat(this.index, REPEATS, temp);
    this.lastRepeat = { r, t: temp, question };
    this.renderRepeat(r, temp, question);
  }

  private renderRepeat(r: RepeatResult, temp: number, question: string): void {
    clear(this.repeat);
    this.repeat.dataset.question = question;
    this.repeat.append(
      h('p', { class: 'for-question', translate: 'no' }, t().forQuestion(question)),
      h('p', {}, t().askedTimes(REPEATS, temp, pct(r.agreement, 0))),
      h('ul', {}, ...r.answers.map((x) => h('li', {}, h('q', { translate: 'no' }, x.said), ` × ${x.count}`))),
    );
    if (r.agreement < 0.7) this.repeat.append(h('p', { class: 'warn' }, t().disagree));
  }

  private async checkAll(): Promise<void> {
    clear(this.summary);
    this.lastSummary = null;
    this.cancelBtn.hidden = false;
    this.progress.textContent = '';
    try {
      const r = await this.client.lensAll((done, total) => (this.progress.textContent = `${done} / ${total}`));
      this.progress.textContent = '';
      this.renderSummary((this.lastSummary = r.summary));
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      this.progress.textContent = t().lensCancelled(e.done, e.total);
    } finally {
      this.cancelBtn.hidden = true;
    }
  }

  /** The loaded model's measured pattern in words, one line per language, once Check all questions has run. */
  measuredPatterns(): string[] {
    return [...this.summary.querySelectorAll('p.measured-pattern')].map((p) => p.textContent ?? '');
  }

  private renderSummary(summary: LensSummaryRow[]): void {
    clear(this.summary);
    const d = t();
    const cell = (v: number | null) => h('td', {}, v === null ? '–' : pct(v));
    const bilingual = new Set(summary.map((s) => s.lang)).size > 1;
    const name = (s: LensSummaryRow) => (bilingual ? `${d.summaryRows[s.group]} · ${LANGUAGE_NAMES[s.lang]}` : d.summaryRows[s.group]);
    this.summary.append(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...d.summaryCols.map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          ...summary.map((s) =>
            h('tr', { 'data-group': s.group, 'data-lang': s.lang, 'data-accuracy': s.accuracy, 'data-questions': s.questions, 'data-right': s.meanConfidenceRight ?? '', 'data-wrong': s.meanConfidenceWrong ?? '' }, h('th', {}, name(s)), h('td', {}, String(s.questions)), cell(s.accuracy), cell(s.meanConfidenceRight), cell(s.meanConfidenceWrong)),
          ),
        ),
      ),
      // What the table says, in words, per language: this model's own measured pattern, never a general claim.
      ...[...new Set(summary.map((s) => s.lang))].flatMap((lang) => {
        const { right, wrong } = overallConfidence(summary.filter((s) => s.lang === lang));
        if (right === null || wrong === null) return [];
        const who = bilingual ? `${d.thisModel} · ${LANGUAGE_NAMES[lang]}` : d.thisModel;
        return [h('p', { class: 'measured-pattern', 'data-lang': lang, 'data-right': right, 'data-wrong': wrong }, d.measuredPattern(who, pct(right), pct(wrong), wrong < right / 2))];
      }),
      h('p', { class: 'hint' }, d.confidenceHint),
    );
  }
}

/**
 * "␣Par 92% × is 99%": the chain of token probabilities whose product is shown. Tokens that each hold part of a
 * character are one chip showing the character, with their joint probability and how many tokens it took.
 */
function chain(tokens: ScoredToken[]): HTMLElement {
  const parts: (Node | string)[] = [];
  charGroups(tokens.map((x) => x.token)).forEach((g, i) => {
    const part = tokens.slice(g.start, g.end + 1);
    const prob = part.reduce((p, x) => p * x.prob, 1);
    const title = part.map((x) => `id ${x.id}${x.rank ? ` · rank ${x.rank}` : ''}`).join('; ');
    if (i) parts.push(' × ');
    parts.push(
      h('span', { class: 'chip tok', translate: 'no', title, 'data-tokens': part.length }, visibleToken(g.text), part.length > 1 ? h('sup', { class: 'n-tokens' }, t().nTokens(part.length)) : null),
      ` ${probText(prob)}`,
    );
  });
  return h('span', { class: 'chain' }, '(', ...parts, ')');
}

/** Mean confidence when right and when wrong over all of a language's questions, from its rows (seen, held out). */
function overallConfidence(rows: LensSummaryRow[]): { right: number | null; wrong: number | null } {
  let right = 0;
  let nRight = 0;
  let wrong = 0;
  let nWrong = 0;
  for (const r of rows) {
    const k = Math.round(r.accuracy * r.questions); // answered right
    if (r.meanConfidenceRight !== null) (right += r.meanConfidenceRight * k), (nRight += k);
    if (r.meanConfidenceWrong !== null) (wrong += r.meanConfidenceWrong * (r.questions - k)), (nWrong += r.questions - k);
  }
  return { right: nRight ? right / nRight : null, wrong: nWrong ? wrong / nWrong : null };
}
