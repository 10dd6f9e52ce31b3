// The guided tour: one short card per concept of the introductory material, each with a "Show me"
// that opens and highlights the live view where the concept can be seen on the running model.
import { CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement } from 'chart.js';
import { clear, h } from '../dom.ts';
import type { Dict } from '../i18n/en.ts';
import { label, onLangChange, t } from '../i18n/index.ts';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale);

export const CONCEPTS = ['tokens', 'embeddings', 'positions', 'attention', 'ffn', 'softmax', 'temperature', 'topkp', 'loop', 'training', 'replay', 'finetuning', 'parameters', 'quantization', 'hallucination'] as const;
export type Concept = (typeof CONCEPTS)[number];

export interface TrainingLog {
  params: number;
  tokensSeen: number;
  wallTimeS: number;
  curve: { step: number; valLoss: number }[];
}

export interface TourHost {
  /** Opens the live view of a concept (generating or inspecting first if needed); returns the element to point at. */
  show(concept: Concept): Promise<HTMLElement | null>;
  /** The embedded model's training log, or null for a model trained elsewhere. */
  trainingLog(): Promise<TrainingLog | null>;
  /** The hallucination lens's measured pattern for the loaded model (empty before Check all questions). */
  measuredPatterns(): string[];
  error(message: string): void;
}

export class TourView {
  readonly element: HTMLElement;
  readonly openButton: HTMLButtonElement;
  private readonly card: HTMLElement;
  private index = 0;
  private focused: HTMLElement | null = null;
  private chart: Chart | null = null;
  private drawn = 0; // how many times the card has been drawn: a late training log only fills the card it was asked for
  private opener: HTMLElement | null = null; // where focus returns when the tour closes

  constructor(private readonly host: TourHost) {
    this.openButton = label(h('button', { type: 'button', class: 'tour-open' }), (d) => d.tourOpen);
    this.card = h('div', { class: 'tour-card' });
    this.element = label(h('aside', { class: 'tour', hidden: true, role: 'dialog', 'aria-modal': 'false' }, this.card), (d) => d.tour, 'aria-label');
    this.openButton.addEventListener('click', () => this.open(0));
    // Keyboard: Esc closes and returns focus; Tab stays inside the card while it is open.
    this.element.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        this.close();
      } else if (e.key === 'Tab') {
        const items = [...this.card.querySelectorAll<HTMLElement>('button:not([disabled]), [href], [tabindex="0"]')];
        if (!items.length) return;
        const first = items[0];
        const last = items[items.length - 1];
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        } else if (!this.card.contains(document.activeElement)) {
          e.preventDefault();
          first.focus();
        }
      }
    });
    onLangChange(() => !this.element.hidden && this.render());
  }

  open(i: number): void {
    if (this.element.hidden) this.opener = document.activeElement as HTMLElement | null;
    this.index = Math.max(0, Math.min(CONCEPTS.length - 1, i));
    this.element.hidden = false;
    this.render();
    this.card.querySelector<HTMLElement>('h2')?.focus();
  }

  private close(): void {
    this.element.hidden = true;
    this.element.classList.remove('tour-top', 'tour-left');
    this.focused?.classList.remove('tour-focus');
    this.focused = null;
    (this.opener && document.contains(this.opener) ? this.opener : this.openButton).focus();
  }

  /**
   * Keeps the card off the element it explains: the first corner of the screen where it covers none of it; where
   * no corner is clear (a phone, a tall full-width view), the element scrolled to the top and the card at the bottom,
   * shortened to the space left.
   */
  private keepClear(target: HTMLElement): void {
    const overlaps = () => {
      const a = target.getBoundingClientRect();
      const b = this.element.getBoundingClientRect();
      return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    };
    const corners: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]]; // [top, left]
    this.element.style.maxHeight = '';
    for (const [top, left] of corners) {
      this.element.classList.toggle('tour-top', top);
      this.element.classList.toggle('tour-left', left);
      if (!overlaps()) return;
    }
    this.element.classList.remove('tour-top', 'tour-left');
    target.scrollIntoView({ block: 'start', behavior: 'instant' as ScrollBehavior });
    // Below the sticky views bar, if it is there.
    const nav = document.querySelector<HTMLElement>('nav.views-nav');
    const navBottom = nav && !nav.hidden ? nav.getBoundingClientRect().bottom : 0;
    if (target.getBoundingClientRect().top < navBottom) window.scrollBy(0, target.getBoundingClientRect().top - navBottom - 4);
    const box = target.getBoundingClientRect();
    const room = window.innerHeight - Math.max(0, Math.min(box.bottom, window.innerHeight * 0.6)) - 24;
    this.element.style.maxHeight = `${Math.max(120, room)}px`;
  }

  private render(): void {
    const d = t();
    const concept = CONCEPTS[this.index];
    const [title, text] = d.tourCards[concept];
    this.drawn++;
    clear(this.card);
    this.chart?.destroy();
    this.chart = null;
    const prev = h('button', { type: 'button', disabled: this.index === 0, onclick: () => this.open(this.index - 1) }, d.tourPrev);
    const next = h('button', { type: 'button', disabled: this.index === CONCEPTS.length - 1, onclick: () => this.open(this.index + 1) }, d.tourNext);
    const show = h('button', { type: 'button', class: 'primary', onclick: () => void this.show(concept) }, d.tourShow);
    const close = h('button', { type: 'button', class: 'close', 'aria-label': d.tourClose, onclick: () => this.close() }, '×');
    this.card.append(
      h('div', { class: 'tour-head' }, h('span', { class: 'hint' }, d.tourStep(this.index + 1, CONCEPTS.length)), close),
      h('h2', { tabindex: -1 }, title),
      h('p', {}, text),
    );
    if (concept === 'training' || concept === 'parameters') void this.addTrainingFacts(concept, d);
    // Hallucination: this model's own figures, the lens's words, never a general claim its data contradict.
    if (concept === 'hallucination') for (const line of this.host.measuredPatterns()) this.card.append(h('p', { class: 'tour-pattern' }, line));
    this.card.append(h('div', { class: 'buttons' }, prev, show, next));
    this.card.dataset.concept = concept;
  }

  private async show(concept: Concept): Promise<void> {
    try {
      const target = await this.host.show(concept);
      this.focused?.classList.remove('tour-focus');
      this.focused = target;
      if (target) {
        target.classList.add('tour-focus');
        target.dataset.tourTarget = concept;
        target.scrollIntoView({ block: 'center', behavior: 'instant' as ScrollBehavior });
        this.element.style.maxHeight = '';
        this.keepClear(target);
      }
    } catch (e) {
      this.host.error((e as Error).message);
    }
  }

  /** Training vs inference: the loss curve of the embedded model's own training. Parameters: its size and data. */
  private async addTrainingFacts(concept: Concept, d: Dict): Promise<void> {
    const drawn = this.drawn;
    const log = await this.host.trainingLog().catch(() => null);
    if (drawn !== this.drawn || this.element.hidden) return; // the card was drawn again (or closed) while the log loaded
    const box = h('div', { class: 'tour-extra' });
    this.card.insertBefore(box, this.card.lastElementChild);
    if (!log) return void box.append(h('p', { class: 'hint' }, d.notEmbedded));
    box.append(h('p', { class: 'hint' }, d.trainedOn((log.tokensSeen / 1e6).toFixed(1), (log.wallTimeS / 60).toFixed(0), (log.params / 1e6).toFixed(2))));
    if (concept === 'parameters') return void box.append(h('p', { class: 'hint' }, d.dataSources));
    const canvas = h('canvas', { role: 'img', 'aria-label': d.lossCurve, class: 'loss-curve' });
    box.append(h('div', { class: 'loss-box' }, canvas));
    this.chart = new Chart(canvas, {
      type: 'line',
      data: { labels: log.curve.map((c) => c.step), datasets: [{ label: d.lossCurve, data: log.curve.map((c) => c.valLoss), borderColor: '#2d5bd7', pointRadius: 0 }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { title: { display: true, text: d.stepLabel } }, y: { title: { display: true, text: d.lossLabel } } } },
    });
  }
}
