// The step panel: for one generated token, the three views of its next-token distribution (raw,
// after temperature, after top-k/top-p), the chosen token, and the random draw against the
// cumulative distribution. Everything is recomputed from the step's stored logits, so moving a
// control shows "what these settings would have done here". The chosen token is always listed (with its
// rank), one entry holds all other tokens, and every segment of the cumulative bar is labelled.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import type { StepRecord } from '../../engine/generate/generate.ts';
import { rawStanding, type SamplingSettings } from '../../sampling/sampler.ts';
import { excludedBy, isActive, sameSampling, STAGES, type StageRecord } from '../../sampling/stages.ts';
import { segmentAt, stepView, type CdfSegment, type StepView } from '../../sampling/stepView.ts';
import { clear, h, pct, probText, visibleToken } from '../dom.ts';
import { label, t } from '../i18n/index.ts';
import { describeChoice } from '../../sampling/step.ts';
import { topIds } from '../../sampling/topColumns.ts';
import type { ForcedText } from '../state.ts';
import type { GuessRound } from '../guessGame.ts';
import type { CharacterReading } from '../../engine/tools/characters.ts';
import { candidateText, hasPartialBytes } from '../tokens.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface StepPanelHandlers {
  /** The learner picked a candidate to branch on (or cleared the pick with null). */
  onPick(id: number | null): void;
  /** Token ids the panel has no label for (e.g. what the current settings would draw): fetch and render again. */
  needLabels(ids: number[]): void;
  /** The guessing game: the learner's guess for the hidden step (typed text, or a picked id). */
  onGuess(guess: { text: string } | { id: number }): void;
  /** Candidates that are part of a character, read on to that character after `context` (the engine's characters job). */
  needCharacters(context: number[], ids: number[]): Promise<Record<number, CharacterReading>>;
}

/** What the panel shows: one step, seen under the current settings. */
export interface StepPanelInput {
  record: StepRecord;
  settings: SamplingSettings;
  picked: number | null;
  forced: ForcedText | null;
  /** The guessing game: whether this step is still hidden, and every round so far. */
  guess: { hidden: boolean; on: boolean; rounds: GuessRound[] };
  labels: Record<number, string>;
  topN: number;
  /** The token ids before this step (prompt and earlier output): what the repetition penalty counts as seen. */
  context: number[];
  /** Its logits wait in the engine's queue to be recomputed: how many jobs are ahead (null: not waiting). */
  waitingAhead: number | null;
  /** The engine refused to recompute them (the error says why); selecting the token again asks again. */
  recomputeFailed?: boolean;
}


export class StepPanel {
  private chart: Chart | null = null;
  private drawn: (StepPanelInput & { lang: string }) | null | undefined = undefined;
  private readonly readings = new WeakMap<StepRecord, Promise<Record<number, CharacterReading>>>(); // the guessing game's, per hidden step (so per model)
  readonly canvas = label(h('canvas', { role: 'img' }), (d) => d.chartLabel, 'aria-label');

  constructor(
    private readonly root: HTMLElement,
    private readonly handlers: StepPanelHandlers,
  ) {}

  render(input: StepPanelInput | null): void {
    // The app renders on every state change (a keystroke in the prompt, too): redraw only when what is shown changed.
    const key = input && { ...input, settings: { ...input.settings }, lang: t().lang };
    if (sameInput(key, this.drawn)) return;
    this.drawn = key;
    // Redrawn on every change: a focused pick button is found again afterwards, so the keyboard keeps its place.
    const focusedId = this.root.contains(document.activeElement) ? (document.activeElement?.closest('li')?.getAttribute('data-id') ?? null) : null;
    this.draw(input);
    const again = focusedId === null ? null : this.root.querySelector<HTMLElement>(`li[data-id="${focusedId}"] button.pick`);
    if (again) {
      rovingStop(this.root, again);
      again.focus();
    }
  }

  private draw(input: StepPanelInput | null): void {
    clear(this.root);
    if (!input?.record.logits) {
      this.chart?.destroy();
      this.chart = null;
      // A selected step whose logits are being recomputed (the page keeps only the newest steps').
      const text = !input ? t().selectToken : input.recomputeFailed ? t().recomputeFailed : input.waitingAhead ? t().recomputeWaiting(input.waitingAhead) : t().recomputing;
      this.root.append(h('p', { class: 'hint', 'data-recomputing': input ? 'true' : undefined }, text));
      return;
    }
    if (input.guess.hidden) return void this.root.append(this.guessForm(input.record, input.context, input.labels));
    const { record, settings, picked, topN } = input;
    const view = stepView(record.logits!, settings, record.id, record.draw, topN, input.context);
    const name = (id: number) => tokenLabel(record, input.labels, id);
    const missing = [...view.rows.map((r) => r.id), view.wouldPick].filter((id) => name(id) === null);
    if (missing.length) this.handlers.needLabels(missing);
    const shown = (id: number) => visibleToken(name(id) ?? '…');
    const asGenerated = sameSampling(settings, record.settings);
    const d = t();

    const summary = h(
      'p',
      { class: 'step-summary' },
      d.stepSummary({ step: record.step + 1, position: record.position }),
      h('strong', { class: 'tok', translate: 'no' }, visibleToken(record.token)),
      d.withProbability(probText(record.prob), probText(record.rawProb), record.entropy.toFixed(2)),
      d.rankOf(view.chosen.rank, view.vocab),
      record.draw === null ? d.greedyNoDraw : d.randomDraw(record.draw.toFixed(4)),
    );
    const settingsNote = asGenerated
      ? h('p', { class: 'hint' }, d.shownAsGenerated(describeSettings(record.settings)))
      : h(
          'p',
          { class: 'whatif', role: 'note' },
          d.whatIf(describeSettings(settings), describeSettings(record.settings)),
          view.wouldPick === record.id ? d.samePick : d.otherPick(shown(view.wouldPick)),
        );

    const list = h('ol', { class: 'candidates', 'aria-label': d.candidates });
    for (const r of view.rows) {
      const chosen = r.id === record.id;
      const tok = name(r.id) ?? '';
      list.append(
        h(
          'li',
          { 'aria-current': chosen ? 'true' : undefined, class: [chosen ? 'chosen' : '', r.id === picked ? 'picked' : '', r.rank > topN ? 'below' : ''].join(' ').trim(), 'data-id': r.id, 'data-rank': r.rank },
          h('span', { class: 'rank' }, `#${r.rank}`),
          h('span', { class: 'tok', translate: 'no' }, shown(r.id), r.penalised ? h('span', { class: 'penalised', title: d.penalised, 'aria-label': d.penalised }, ' ↓') : null),
          h('span', { class: 'p raw', title: d.rawTitle }, probText(r.raw)),
          h('span', { class: 'p tempered', title: d.temperedTitle }, probText(r.tempered)),
          h('span', { class: 'p final', title: d.finalTitle }, probText(r.final)),
          h(
            'button',
            {
              class: 'pick',
              type: 'button',
              'aria-pressed': r.id === picked ? 'true' : 'false',
              'aria-label': d.pickLabel(tok),
              'data-token': tok, // model text inside a UI label
              onclick: () => this.handlers.onPick(picked === r.id ? null : r.id),
            },
            chosen ? d.chosen : d.pick,
          ),
        ),
      );
    }
    // The pick buttons are one Tab stop (arrow keys move between them), so Tab goes on to Continue from here.
    const stop = list.querySelector<HTMLElement>(`li[data-id="${picked ?? record.id}"] button.pick`) ?? list.querySelector<HTMLElement>('button.pick');
    if (stop) rovingStop(list, stop);
    list.addEventListener('keydown', (e) => {
      const picks = [...list.querySelectorAll<HTMLElement>('button.pick')];
      const at = picks.indexOf(document.activeElement as HTMLElement);
      const to = at < 0 ? undefined : { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: picks.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      const next = picks[Math.max(0, Math.min(picks.length - 1, to))];
      rovingStop(list, next);
      next.focus();
    });
    const o = view.other;
    list.append(
      h(
        'li',
        { class: 'other', 'data-other': 'true' },
        h('span', { class: 'rank' }, ''),
        h('span', {}, d.otherTokens(o.count)),
        h('span', { class: 'p raw' }, probText(o.raw)),
        h('span', { class: 'p tempered' }, probText(o.tempered)),
        h('span', { class: 'p final' }, probText(o.final)),
        h('span', {}, ''),
      ),
    );
    const header = h('div', { class: 'cand-head', 'aria-hidden': 'true' }, h('span', {}, '#'), h('span', {}, d.colToken), h('span', {}, d.colRaw), h('span', {}, d.colTemp), h('span', {}, d.colFinal), h('span', {}, ''));

    this.root.append(summary, settingsNote, stageList(view), h('div', { class: 'chart-box' }, this.canvas), this.cdf(record.draw, view, shown), h('div', { class: 'cand-box' }, header, list));
    this.root.append(h('p', { class: 'hint' }, d.keptNote(view.kept, view.vocab)));
    if (input.forced) this.root.append(forcedView(record, settings, input.forced, input.context));
    const round = input.guess.rounds.find((r) => r.step === record.step && r.chosenId === record.id);
    if (round || input.guess.on) this.root.prepend(guessScore(round ?? null, input.guess.rounds, record.logits!.length));
    const chartLabels = [...view.rows.map((r) => `${shown(r.id)}${r.rank > topN ? ` (#${r.rank})` : ''}`), d.otherShort(o.count)];
    this.drawChart(chartLabels, [...view.rows.map((r) => r.raw), o.raw], [...view.rows.map((r) => r.tempered), o.tempered], [...view.rows.map((r) => r.final), o.final], view.rows.findIndex((r) => r.id === record.id));
  }

  /**
   * The hidden step: a box for a typed guess and a few of the model's candidates to pick from, in alphabetical
   * order (no probabilities). A candidate that is only part of a character shows the character it begins, once
   * the engine has read it on (the picks are drawn at once, then relabelled).
   */
  private guessForm(record: StepRecord, context: number[], labels: Record<number, string>): HTMLElement {
    const d = t();
    const input = h('input', { type: 'text', class: 'guess-text', 'aria-label': d.guessTitle, autocomplete: 'off', spellcheck: 'false' }) as HTMLInputElement;
    const ids = topIds(record.top).slice(0, 8);
    const missing = ids.filter((id) => tokenLabel(record, labels, id) === null);
    if (missing.length) this.handlers.needLabels(missing); // the form is drawn again once they are learned
    const candidates = ids.map((id) => ({ id, token: tokenLabel(record, labels, id) ?? '…' })).sort((a, b) => a.token.localeCompare(b.token));
    const picks = candidates.map((c) => h('button', { type: 'button', class: 'guess-pick', 'data-id': c.id, translate: 'no', onclick: () => this.handlers.onGuess({ id: c.id }) }, visibleToken(c.token)));
    const partial = candidates.filter((c) => hasPartialBytes(c.token)).map((c) => c.id);
    if (partial.length) {
      const relabel = (readings: Record<number, CharacterReading>) =>
        candidates.forEach((c, i) => {
          if (!readings[c.id]) return;
          const { children, title, readIds } = candidateText(c.token, readings[c.id]);
          picks[i].replaceChildren(...children);
          picks[i].title = title ?? '';
          picks[i].setAttribute('aria-label', `${readings[c.id].text} (${t().nTokens(readings[c.id].ids.length)})`);
          picks[i].dataset.readIds = readIds;
        });
      // One engine job per hidden step: a redraw while it runs waits for the same answer.
      let reading = this.readings.get(record);
      if (!reading) {
        // On failure (a load cancelled it) the byte labels stay, right if less readable; a later redraw asks again.
        reading = this.handlers.needCharacters(context, partial).catch(() => {
          this.readings.delete(record);
          return {};
        });
        this.readings.set(record, reading);
      }
      void reading.then(relabel);
    }
    const form = h(
      'form',
      { class: 'guess' },
      h('h3', {}, d.guessTitle),
      h('p', {}, d.guessPrompt),
      h('div', { class: 'chips' }, ...picks),
      h('div', { class: 'buttons' }, input, h('button', { type: 'submit', class: 'primary' }, d.guessButton)),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.handlers.onGuess({ text: input.value });
    });
    return form;
  }

  /** The kept tokens as segments of [0, 1), in draw order, every one labelled, with the draw marked. */
  private cdf(draw: number | null, view: StepView, shown: (id: number) => string): HTMLElement {
    const d = t();
    const labelOf = (s: CdfSegment) => (s.id === null ? d.segmentGroup(s.count, s.fromRank, s.toRank) : `#${s.fromRank} ${shown(s.id)}`);
    const hit = draw === null ? view.segments.find((s) => s.id === view.wouldPick) ?? view.segments[0] : segmentAt(view.segments, draw);
    const bar = h('div', { class: 'cdf', role: 'img', 'aria-label': draw === null ? d.cdfGreedy : d.cdfDraw(draw.toFixed(4), labelOf(hit)) });
    for (const s of view.segments) {
      const seg = h('span', { class: ['seg', s === hit ? 'hit' : '', s.id === null ? 'group' : ''].join(' ').trim(), title: `${labelOf(s)}: ${pct(s.width)}`, 'data-label': labelOf(s) });
      seg.style.width = `${s.width * 100}%`;
      bar.append(seg);
    }
    if (draw !== null) {
      const mark = h('span', { class: 'draw' });
      mark.style.left = `${draw * 100}%`;
      bar.append(mark);
    }
    return h('div', { class: 'cdf-box' }, h('span', { class: 'hint' }, d.cdfTitle), bar, h('p', { class: 'cdf-hit', 'data-label': labelOf(hit) }, draw === null ? d.cdfGreedy : d.drawLands(draw.toFixed(4), labelOf(hit))));
  }

  private drawChart(labels: string[], raw: number[], tempered: number[], final: number[], chosenIndex: number): void {
    const css = getComputedStyle(document.documentElement);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    // A token cut by a stage has no bar; any other, however small (the chosen token at #2233), at least a few pixels.
    const bars = (xs: number[]) => xs.map((x) => (x > 0 ? x : null));
    const data = {
      labels,
      datasets: [
        { label: t().seriesRaw, data: bars(raw), backgroundColor: color('--c-raw'), minBarLength: MIN_BAR_PX },
        { label: t().seriesTemp, data: bars(tempered), backgroundColor: color('--c-temp'), minBarLength: MIN_BAR_PX },
        { label: t().seriesFinal, data: bars(final), backgroundColor: color('--c-final'), minBarLength: MIN_BAR_PX },
      ],
    };
    this.chosenIndex = chosenIndex;
    // The scale follows the named tokens (at T = 2 they may all be small); the "other tokens" bar may run off the top,
    // its value is in its label and in the list.
    const top = Math.max(...raw.slice(0, -1), ...tempered.slice(0, -1), ...final.slice(0, -1), 1e-6);
    const scaleMax = niceMax(top);
    this.canvas.dataset.yMax = String(scaleMax);
    if (this.chart) {
      this.chart.data = data;
      this.chart.options.scales!.y!.max = scaleMax;
      this.chart.update('none');
      return;
    }
    this.chart = new Chart(this.canvas, {
      type: 'bar',
      data,
      plugins: [this.barsBeyondScale(color('--fg'), color('--panel'))],
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          y: { min: 0, max: scaleMax, ticks: { callback: (v) => `${Math.round(Number(v) * 100)}%`, color: color('--fg-muted') }, grid: { color: color('--grid') } },
          x: { ticks: { color: color('--fg-muted'), maxRotation: 60, autoSkip: false }, grid: { display: false } },
        },
        plugins: {
          legend: { labels: { color: color('--fg') } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${pct(Number(c.raw), 2)}` } },
        },
      },
    });
  }

  private chosenIndex = -1;

  /**
   * A bar taller than the scale (the "other tokens" bar, whose mass the scale leaves out so the named tokens stay
   * readable) gets its value written up the bar; and the chosen token's column is noted for scripts.
   */
  private barsBeyondScale(fg: string, halo: string) {
    return {
      id: 'barsBeyondScale',
      afterDatasetsDraw: (chart: Chart) => {
        const max = chart.scales.y.max;
        const { ctx, chartArea } = chart;
        chart.data.datasets.forEach((ds, i) => {
          const meta = chart.getDatasetMeta(i);
          ds.data.forEach((v, j) => {
            if (typeof v !== 'number' || v <= max) return;
            const bar = meta.data[j];
            ctx.save();
            ctx.translate(bar.x, chartArea.top + 4);
            ctx.rotate(Math.PI / 2);
            ctx.font = '11px system-ui, sans-serif';
            ctx.textBaseline = 'middle';
            ctx.lineWidth = 3;
            ctx.strokeStyle = halo;
            ctx.fillStyle = fg;
            const text = `${pct(v, 1)} ↑`;
            ctx.strokeText(text, 0, 0);
            ctx.fillText(text, 0, 0);
            ctx.restore();
          });
        });
        const chosen = chart.getDatasetMeta(2).data[this.chosenIndex];
        this.canvas.dataset.chosenX = chosen ? String(chosen.x) : '';
        this.canvas.dataset.baseY = String(chart.scales.y.getPixelForValue(0));
        this.canvas.dataset.clipped = JSON.stringify(chart.data.datasets.map((ds) => ds.data.filter((v) => typeof v === 'number' && v > max).length));
      },
    };
  }

  /** The chart as a PNG data URL. */
  image(): string | null {
    return this.chart ? this.chart.toBase64Image('image/png', 1) : null;
  }
}

/** A token's label: the chosen token's own, or one the page has learned (AppState.labels); null if unknown yet. */
function tokenLabel(record: StepRecord, labels: Record<number, string>, id: number): string | null {
  if (id === record.id) return record.token;
  return labels[id] ?? null;
}

function sameInput(a: (StepPanelInput & { lang: string }) | null, b: (StepPanelInput & { lang: string }) | null | undefined): boolean {
  if (a === null || b === null || b === undefined) return a === b;
  return a.record === b.record && sameSampling(a.settings, b.settings) && a.picked === b.picked && a.forced === b.forced && a.guess.hidden === b.guess.hidden && a.guess.rounds === b.guess.rounds && a.guess.on === b.guess.on && a.labels === b.labels && a.topN === b.topN && a.lang === b.lang && a.waitingAhead === b.waitingAhead && a.recomputeFailed === b.recomputeFailed;
}

const MIN_BAR_PX = 3;

/** Makes `stop` the one pick button in `root` that Tab reaches. */
function rovingStop(root: HTMLElement, stop: HTMLElement): void {
  for (const b of root.querySelectorAll<HTMLElement>('button.pick')) b.tabIndex = b === stop ? 0 : -1;
}

/** A round upper bound for the chart: 1%, 2%, 5%, 10%, 20%, 50%, 100%. */
function niceMax(x: number): number {
  for (const m of [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1]) if (x * 1.08 <= m) return m;
  return 1;
}

/** The settings as the stages that are on, in pipeline order ("temperature 0.8, top-p 0.9"). */
function describeSettings(s: SamplingSettings): string {
  return STAGES.filter((st) => isActive(st, s))
    .map((st) => `${t().stageNames[st.name]} ${s[st.name]}`)
    .join(', ');
}

/** Each stage that is on, in order: its setting, how many tokens it leaves, and the chosen token's probability after it. */
function stageList(view: StepView): HTMLElement {
  const d = t();
  return h(
    'ol',
    { class: 'stages', 'aria-label': d.stagesTitle },
    ...view.stages.map((st) =>
      h('li', { 'data-stage': st.name, 'data-kept': st.kept, 'data-chosen': st.chosen }, h('strong', {}, `${d.stageNames[st.name]} ${st.value}`), ' ', h('span', {}, d.stageRow(st.kept, view.vocab, probText(st.chosen)))),
    ),
  );
}

/**
 * Forced text at this step: its tokens, and for the first one its probability and rank before any
 * setting (raw) and under the current settings, from the step's own logits.
 */
/** The stage that left a token out, in words: temperature 0 is greedy, the others cut by their value. */
function whyLeftOut(stages: StageRecord[]): string {
  const by = excludedBy(stages);
  if (!by) return stages.map((st) => t().stageNames[st.name]).join(' / '); // not expected: some stage gave it probability 0
  return by.name === 'temperature' && by.value === 0 ? t().greedyLeavesOut : `${t().stageNames[by.name]} = ${by.value}`;
}

function forcedView(record: StepRecord, settings: SamplingSettings, forced: ForcedText, context: number[]): HTMLElement {
  const d = t();
  const logits = record.logits!;
  const id = forced.ids[0];
  const choice = describeChoice(logits, settings, id, 0, context);
  // Rank in the model's own distribution, before any setting: more probable first, ties by lower id.
  const { rank } = rawStanding(logits, id);
  const chips = forced.ids.map((tid, i) => h('span', { class: 'chip tok', 'data-id': tid, translate: 'no' }, visibleToken(forced.labels[i]), h('sub', {}, String(tid))));
  return h(
    'div',
    { class: 'forced', 'data-id': id, 'data-raw': choice.rawProb, 'data-final': choice.prob, 'data-rank': rank },
    h('p', {}, d.forcedTokens(forced.ids.length)),
    h('div', { class: 'chips' }, ...chips),
    h('p', {}, d.forcedFirst(visibleToken(forced.labels[0]), probText(choice.rawProb), rank, logits.length), choice.prob > 0 ? d.forcedNow(probText(choice.prob)) : d.forcedNotKept(whyLeftOut(choice.stages))),
    h('p', { class: 'hint' }, d.forcedContinue(forced.ids.length)),
  );
}

/** This round's result (if any) and the running score: the learner's guesses against the model's own distribution. */
function guessScore(round: GuessRound | null, rounds: GuessRound[], vocab: number): HTMLElement {
  const d = t();
  const ranks = rounds.map((r) => r.rank).sort((a, b) => a - b);
  const median = ranks.length ? ranks[Math.floor((ranks.length - 1) / 2)] : 0;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return h(
    'div',
    { class: 'guess-score', 'data-rounds': rounds.length },
    round ? h('p', { class: 'guess-result', 'data-rank': round.rank, 'data-prob': round.rawProb, translate: 'no' }, d.guessResult(visibleToken(round.guessLabel), probText(round.rawProb), round.rank, vocab, visibleToken(round.chosenLabel), probText(round.chosenProb))) : null,
    rounds.length ? h('p', { class: 'hint' }, d.guessScore(rounds.length, rounds.filter((r) => r.rank === 1).length, median, pct(mean(rounds.map((r) => r.rawProb))), pct(mean(rounds.map((r) => r.chosenProb))))) : null,
  );
}
