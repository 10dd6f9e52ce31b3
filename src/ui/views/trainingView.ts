// Training replay: the prompt through snapshots of the embedded model's own training run (the untrained
// network, then early, middle, late, and the final model). For each, its next-token distribution and a
// continuation drawn with the current settings and seed, and its point on the loss curve: the learner
// watches the same parameters go from noise to words to facts. Scrub with the slider.
import { CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement } from 'chart.js';
import type { CheckpointPrediction } from '../../engine/tools/checkpoints.ts';
import type { SamplingSettings } from '../../sampling/sampler.ts';
import { clear, h, pct, probText } from '../dom.ts';
import { candidateText } from '../tokens.ts';
import type { EngineClient } from '../engineClient.ts';
import { label, onLangChange, t } from '../i18n/index.ts';
import { Availability, toolPanel, type ToolHost } from '../toolHost.ts';
import type { TrainingLog } from './tourView.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale);

const SAMPLE_TOKENS = 16;
const TOP_SHOWN = 5;

export interface TrainingHost extends ToolHost {
  /** The current prompt's ids and seed (from the main controls). */
  promptSetup(): Promise<{ promptIds: number[]; seed: number; maxTokens: number; prompt: string }>;
  settings(): SamplingSettings;
  trainingLog(): Promise<TrainingLog | null>;
}

interface Replay {
  prompt: string;
  totalSteps: number;
  predictions: CheckpointPrediction[];
  log: TrainingLog | null;
}

export class TrainingView {
  readonly element: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly sliderText: HTMLElement;
  private readonly cards: HTMLElement;
  private readonly chartBox: HTMLElement;
  private readonly availability: Availability;
  private chart: Chart | null = null;
  private replay: Replay | null = null;
  private snapshots = 0;

  constructor(
    private readonly client: EngineClient,
    private readonly host: TrainingHost,
  ) {
    const run = label(h('button', { type: 'button', class: 'primary' }), (d) => d.replayRun);
    this.availability = new Availability([run]);
    this.slider = label(h('input', { type: 'range', min: 0, max: 0, step: 1, value: 0, disabled: true, class: 'replay-slider' }), (d) => d.replayScrub, 'aria-label');
    this.sliderText = h('span', { class: 'hint replay-at', 'aria-live': 'polite' });
    this.chartBox = h('div', { class: 'loss-box replay-curve', hidden: true });
    this.cards = label(h('div', { class: 'replay-cards', role: 'region' }), (d) => d.replaySnapshots, 'aria-label');
    this.element = toolPanel(
      'replay',
      (d) => d.replay,
      (d) => d.replayTitle,
      (d) => d.replayHint,
      this.availability.note,
      h('div', { class: 'buttons' }, run, h('label', { class: 'inline' }, this.slider, ' ', this.sliderText)),
      this.chartBox,
      this.cards,
    );
    run.addEventListener('click', () => void this.run());
    this.slider.addEventListener('input', () => this.select(Number(this.slider.value)));
    onLangChange(() => this.replay && this.render(this.replay));
  }

  /** After each model load: how many snapshots it ships (0 for a model trained elsewhere). */
  setModel(snapshots: number): void {
    this.snapshots = snapshots;
    this.replay = null;
    this.chart?.destroy();
    this.chart = null;
    clear(this.cards);
    this.chartBox.hidden = true;
    this.slider.disabled = true;
    this.sliderText.textContent = '';
  }

  /** Why the engine cannot be used now (null: it can); a model without snapshots cannot replay at all. */
  setBlocked(reason: string | null): void {
    this.availability.set(this.snapshots ? reason : t().replayNone);
  }

  /** Runs the current prompt through every snapshot (the tour's "Show me" calls this too). */
  run(): Promise<void> {
    return this.availability.run(this.host, async () => {
      const { promptIds, seed, prompt } = await this.host.promptSetup();
      const [r, log] = await Promise.all([this.client.checkpoints(promptIds, this.host.settings(), seed, SAMPLE_TOKENS), this.host.trainingLog().catch(() => null)]);
      this.replay = { prompt, totalSteps: r.totalSteps, predictions: r.predictions, log };
      this.render(this.replay);
    });
  }

  private render(r: Replay): void {
    const d = t();
    clear(this.cards);
    this.cards.append(h('p', { class: 'hint computed-for', translate: 'no' }, d.computedForPrompt(r.prompt)));
    for (const [i, p] of r.predictions.entries()) {
      const bars = p.top.slice(0, TOP_SHOWN).map((c) => {
        const shown = candidateText(c.token, c.character);
        return h(
          'li',
          { 'data-id': c.id, 'data-prob': c.prob },
          // A byte of a character: the character it begins, as this snapshot reads on (characters.ts).
          h('span', { class: 'tok', translate: 'no', title: shown.title, 'data-read-ids': shown.readIds }, ...shown.children),
          h('span', { class: 'bar' }, h('span', { class: 'fill', style: `width: ${Math.max(1, c.prob * 100)}%` })),
          h('span', { class: 'num' }, probText(c.prob)),
        );
      });
      this.cards.append(
        h(
          'article',
          {
            class: 'replay-card',
            'data-step': p.step,
            tabindex: 0,
            onclick: () => this.select(i),
            onkeydown: (e: Event) => {
              const k = (e as KeyboardEvent).key;
              if (k === 'Enter' || k === ' ') {
                e.preventDefault();
                this.select(i);
              }
            },
          },
          h('h3', {}, d.replayStep(p.step, r.totalSteps, pct(p.share, 0))),
          h('p', { class: 'hint' }, d.replayLoss(p.valLoss.toFixed(2), p.entropy.toFixed(1))),
          h('ol', { class: 'replay-top', 'aria-label': d.replayTop }, ...bars),
          h('p', { class: 'replay-sample', translate: 'no' }, h('span', { class: 'hint' }, d.replaySample), ' ', p.sample),
        ),
      );
    }
    this.drawCurve(r);
    this.slider.max = String(r.predictions.length - 1);
    this.slider.disabled = false;
    this.select(Math.min(Number(this.slider.value), r.predictions.length - 1));
  }

  /** The validation loss over the whole run, the snapshots marked on it. */
  private drawCurve(r: Replay): void {
    this.chart?.destroy();
    clear(this.chartBox);
    const d = t();
    const curve = r.log?.curve ?? r.predictions.map((p) => ({ step: p.step, valLoss: p.valLoss }));
    const canvas = h('canvas', { role: 'img', 'aria-label': d.lossCurve, class: 'loss-curve' });
    this.chartBox.append(canvas);
    this.chartBox.hidden = false;
    const steps = curve.map((c) => c.step);
    const marks = curve.map((c) => (r.predictions.some((p) => p.step === c.step) ? c.valLoss : null));
    this.chart = new Chart(canvas, {
      type: 'line',
      data: {
        labels: steps,
        datasets: [
          { label: d.lossCurve, data: curve.map((c) => c.valLoss), borderColor: '#2d5bd7', pointRadius: 0 },
          { label: d.replaySnapshots, data: marks, showLine: false, pointRadius: 5, borderColor: '#c2410c', backgroundColor: '#c2410c' },
        ],
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { title: { display: true, text: d.stepLabel } }, y: { title: { display: true, text: d.lossLabel } } } },
    });
  }

  /** Scrubbing: one snapshot highlighted, in the cards and on the curve. */
  private select(i: number): void {
    const r = this.replay;
    if (!r) return;
    const p = r.predictions[i];
    this.slider.value = String(i);
    this.sliderText.textContent = t().replayStep(p.step, r.totalSteps, pct(p.share, 0));
    for (const card of this.cards.querySelectorAll<HTMLElement>('.replay-card')) {
      const on = Number(card.dataset.step) === p.step;
      card.classList.toggle('selected', on);
      if (on) card.setAttribute('aria-current', 'true');
      else card.removeAttribute('aria-current');
    }
    const marks = this.chart?.data.datasets[1] as { pointRadius?: number[] } | undefined;
    if (marks && this.chart) {
      const labels = this.chart.data.labels as number[];
      marks.pointRadius = labels.map((step) => (step === p.step ? 9 : 5));
      this.chart.update();
    }
  }
}
