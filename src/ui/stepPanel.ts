// The step panel: for one generated token, the three views of its next-token distribution (raw,
// after temperature, after top-k/top-p), the chosen token, and the random draw against the
// cumulative distribution. Everything is recomputed from the step's stored logits, so moving a
// control shows "what these settings would have done here".
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import type { StepRecord } from '../engine/generate.ts';
import { distributions, drawFrom, type SamplingSettings } from '../sampling/sampler.ts';
import { clear, h, pct, visibleToken } from './dom.ts';
import { label, t } from './i18n/index.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface StepPanelHandlers {
  /** The learner picked a candidate to branch on (or cleared the pick with null). */
  onPick(id: number | null): void;
}

const sameSettings = (a: SamplingSettings, b: SamplingSettings) => a.temperature === b.temperature && a.topK === b.topK && a.topP === b.topP;

export class StepPanel {
  private chart: Chart | null = null;
  private picked: number | null = null;
  readonly canvas = label(h('canvas', { role: 'img' }), (d) => d.chartLabel, 'aria-label');

  constructor(
    private readonly root: HTMLElement,
    private readonly handlers: StepPanelHandlers,
  ) {}

  get pickedId(): number | null {
    return this.picked;
  }

  render(record: StepRecord | null, settings: SamplingSettings, topN: number): void {
    clear(this.root);
    if (!record?.logits) {
      this.chart?.destroy();
      this.chart = null;
      this.root.append(h('p', { class: 'hint' }, t().selectToken));
      return;
    }
    const d = distributions(record.logits, settings);
    const candidates = record.top.slice(0, topN);
    const asGenerated = sameSettings(settings, record.settings);
    const wouldPick = record.draw === null ? d.order[0] : drawFrom(d.final, d.order, record.draw);

    const summary = h(
      'p',
      { class: 'step-summary' },
      t().stepSummary({ step: record.step + 1, position: record.position }),
      h('strong', { class: 'tok', translate: 'no' }, visibleToken(record.token)),
      t().withProbability(pct(record.prob), pct(record.rawProb), record.entropy.toFixed(2)),
      record.draw === null ? t().greedyNoDraw : t().randomDraw(record.draw.toFixed(4)),
    );
    const settingsNote = asGenerated
      ? h('p', { class: 'hint' }, t().shownAsGenerated(record.settings.temperature, record.settings.topK, record.settings.topP))
      : h(
          'p',
          { class: 'whatif', role: 'note' },
          t().whatIf(describeSettings(settings), describeSettings(record.settings)),
          wouldPick === record.id ? t().samePick : t().otherPick(visibleToken(labelOf(record, wouldPick))),
        );

    const list = h('ol', { class: 'candidates', 'aria-label': t().candidates });
    for (const c of candidates) {
      const chosen = c.id === record.id;
      const li = h(
        'li',
        { 'aria-current': chosen ? 'true' : undefined, class: [chosen ? 'chosen' : '', c.id === this.picked ? 'picked' : ''].join(' ').trim(), 'data-id': c.id },
        h('span', { class: 'tok', translate: 'no' }, visibleToken(c.token)),
        h('span', { class: 'p raw', title: t().rawTitle }, pct(d.raw[c.id])),
        h('span', { class: 'p tempered', title: t().temperedTitle }, pct(d.tempered[c.id])),
        h('span', { class: 'p final', title: t().finalTitle }, pct(d.final[c.id])),
        h(
          'button',
          {
            class: 'pick',
            'aria-pressed': c.id === this.picked ? 'true' : 'false',
            'aria-label': t().pickLabel(c.token),
            'data-token': c.token, // model text inside a UI label
            onclick: () => {
              this.picked = this.picked === c.id ? null : c.id;
              this.handlers.onPick(this.picked);
              this.render(record, settings, topN);
            },
          },
          chosen ? t().chosen : t().pick,
        ),
      );
      list.append(li);
    }
    const header = h('div', { class: 'cand-head', 'aria-hidden': 'true' }, h('span', {}, t().colToken), h('span', {}, t().colRaw), h('span', {}, t().colTemp), h('span', {}, t().colFinal), h('span', {}, ''));

    this.root.append(summary, settingsNote, h('div', { class: 'chart-box' }, this.canvas), this.cdf(record, d, wouldPick), header, list);
    this.root.append(h('p', { class: 'hint' }, t().keptNote(d.kept, record.logits.length)));
    this.drawChart(candidates.map((c) => visibleToken(c.token)), candidates.map((c) => d.raw[c.id]), candidates.map((c) => d.tempered[c.id]), candidates.map((c) => d.final[c.id]));
  }

  /** The kept tokens as segments of [0, 1), in draw order, with the draw marked. */
  private cdf(record: StepRecord, d: ReturnType<typeof distributions>, wouldPick: number): HTMLElement {
    const bar = h('div', { class: 'cdf', role: 'img', 'aria-label': record.draw === null ? t().cdfGreedy : t().cdfDraw(record.draw.toFixed(4)) });
    let shown = 0;
    for (let r = 0; r < d.order.length && shown < 40; r++) {
      const id = d.order[r];
      if (d.final[id] <= 0) continue;
      shown++;
      const seg = h('span', { class: id === wouldPick ? 'seg hit' : 'seg', title: `${labelOf(record, id)}: ${pct(d.final[id])}` });
      seg.style.width = `${d.final[id] * 100}%`;
      bar.append(seg);
    }
    if (record.draw !== null) {
      const mark = h('span', { class: 'draw' });
      mark.style.left = `${record.draw * 100}%`;
      bar.append(mark);
    }
    return h('div', { class: 'cdf-box' }, h('span', { class: 'hint' }, t().cdfTitle), bar);
  }

  private drawChart(labels: string[], raw: number[], tempered: number[], final: number[]): void {
    const css = getComputedStyle(document.documentElement);
    const color = (v: string) => css.getPropertyValue(v).trim() || '#888';
    const data = {
      labels,
      datasets: [
        { label: t().seriesRaw, data: raw, backgroundColor: color('--c-raw') },
        { label: t().seriesTemp, data: tempered, backgroundColor: color('--c-temp') },
        { label: t().seriesFinal, data: final, backgroundColor: color('--c-final') },
      ],
    };
    if (this.chart) {
      this.chart.data = data;
      this.chart.update('none');
      return;
    }
    this.chart = new Chart(this.canvas, {
      type: 'bar',
      data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          y: { min: 0, max: 1, ticks: { callback: (v) => `${Math.round(Number(v) * 100)}%`, color: color('--fg-muted') }, grid: { color: color('--grid') } },
          x: { ticks: { color: color('--fg-muted'), maxRotation: 60, autoSkip: false }, grid: { display: false } },
        },
        plugins: {
          legend: { labels: { color: color('--fg') } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${pct(Number(c.raw), 2)}` } },
        },
      },
    });
  }

  /** The chart as a PNG data URL. */
  image(): string | null {
    return this.chart ? this.chart.toBase64Image('image/png', 1) : null;
  }
}

function labelOf(record: StepRecord, id: number): string {
  return record.top.find((c) => c.id === id)?.token ?? `#${id}`;
}

function describeSettings(s: SamplingSettings): string {
  return `T = ${s.temperature}, top-k = ${s.topK}, top-p = ${s.topP}`;
}
