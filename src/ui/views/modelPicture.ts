// The model as one data-flow picture (SVG drawn here, no library: a column of labelled boxes and
// arrows is a few dozen lines, and a charting library would not know the parts). Before any step it
// shows the loaded model's shape; after a step, that step's real numbers (architectureView.ts words
// them). Keyboard: one Tab stop; arrows move through the parts; Enter or Space opens a part's detail.
// In slow motion a new step sweeps down the parts; with prefers-reduced-motion it does not (styles.css).
import type { StepRecord } from '../../engine/generate/generate.ts';
import type { Inspection } from '../../engine/tools/inspect.ts';
import { forwardParts, type ArchPart, type ForwardPart, type ModelShape } from './architectureView.ts';
import { h, visibleToken } from '../dom.ts';
import { label, onLangChange, t } from '../i18n/index.ts';

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 380;
const BOX = 46; // a part's height
const GAP = 16; // room for the arrow between parts
const LEFT = 30; // the residual stream runs left of the blocks

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

export interface PictureInput {
  shape: ModelShape;
  /** The inspection of the shown step (null: none yet, or of another step). */
  inspection: Inspection | null;
  record: StepRecord | null;
  labels: Record<number, string>; // token labels the page has learned (AppState.labels)
  /** Sweep the parts (slow motion). */
  animate: boolean;
  /** The step is inspected by itself (small models); else Look inside computes the blocks' numbers. */
  auto: boolean;
}

export class ModelPicture {
  readonly element: HTMLElement;
  private readonly figure: HTMLElement;
  private readonly hint: HTMLElement;
  private input: PictureInput | null = null;
  private focusIndex = 0;
  private shownRecord: StepRecord | null = null;

  constructor(private readonly open: (part: ArchPart) => void) {
    this.hint = h('p', { class: 'hint' });
    this.figure = h('div', { class: 'picture-figure' });
    this.element = label(h('section', { class: 'panel picture' }, label(h('h2', {}), (d) => d.arch.pictureTitle), this.hint, this.figure), (d) => d.arch.pictureTitle, 'aria-label');
    onLangChange(() => this.draw());
  }

  show(input: PictureInput): void {
    const same = this.input && this.input.record === input.record && this.input.labels === input.labels && this.input.inspection === input.inspection && this.input.shape === input.shape;
    this.input = input;
    if (!same) this.draw();
  }

  private draw(): void {
    const input = this.input;
    if (!input) return;
    const s = t().arch;
    const parts = forwardParts(input.shape, input.inspection, input.record, input.labels);
    this.hint.textContent = !input.record ? s.pictureHint : input.inspection ? t().computedForStep(input.record.step + 1, visibleToken(input.record.token)) : input.auto ? s.pictureWaiting : s.pictureManual;
    const focusable = parts.some((p) => p.to);
    const hadFocus = this.figure.contains(document.activeElement);
    this.focusIndex = Math.min(this.focusIndex, parts.length - 1);
    const height = parts.length * (BOX + GAP);
    const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${height}`, class: 'picture-svg', role: 'group', 'aria-label': s.title, 'data-step': input.record?.step ?? 'none' });
    root.append(
      svg('defs', {}, svg('marker', { id: 'pic-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'pic-arrowhead' }))),
    );
    // The residual stream: one line through every block, each block adding to it.
    const blocks = parts.map((p, i) => (p.kind === 'block' ? i : -1)).filter((i) => i >= 0);
    if (blocks.length) {
      const top = (blocks[0] - 1) * (BOX + GAP) + BOX / 2;
      const bottom = blocks.at(-1)! * (BOX + GAP) + BOX + GAP / 2;
      root.append(svg('line', { x1: 12, y1: top, x2: 12, y2: bottom, class: 'pic-residual' }));
      for (const i of blocks) root.append(svg('text', { x: 12, y: i * (BOX + GAP) + BOX / 2 + 4, class: 'pic-plus', 'text-anchor': 'middle' }, '+'));
    }
    parts.forEach((p, i) => {
      const y = i * (BOX + GAP);
      if (i > 0) root.append(svg('line', { x1: LEFT + 40, y1: y - GAP + 1, x2: LEFT + 40, y2: y - 1, class: 'pic-flow', 'marker-end': 'url(#pic-arrow)' }));
      root.append(this.node(p, i, y, focusable, input.animate));
    });
    // The loop: the drawn token joins the text and the next step starts at the top.
    const lastY = (parts.length - 1) * (BOX + GAP) + BOX / 2;
    root.append(
      svg('path', { d: `M${WIDTH - 10},${lastY} H${WIDTH - 2} V${BOX / 2} H${WIDTH - 10}`, class: 'pic-loop', 'marker-end': 'url(#pic-arrow)' }),
      svg('text', { x: WIDTH - 6, y: lastY / 2, class: 'pic-loop-label', transform: `rotate(-90 ${WIDTH - 6} ${lastY / 2})`, 'text-anchor': 'middle' }, s.loop),
    );
    if (input.animate && input.record !== this.shownRecord) root.classList.add('pulse');
    this.shownRecord = input.record;
    this.figure.replaceChildren(root);
    // SVG text does not wrap: a line longer than its box is narrowed to fit.
    const room = WIDTH - LEFT - 16 - 16;
    for (const text of root.querySelectorAll<SVGTextElement>('g.pic-node text')) {
      if (text.getComputedTextLength() > room) {
        text.setAttribute('textLength', String(room));
        text.setAttribute('lengthAdjust', 'spacingAndGlyphs');
      }
    }
    if (hadFocus) this.nodes()[this.focusIndex]?.focus({ preventScroll: true });
  }

  private node(p: ForwardPart, i: number, y: number, focusable: boolean, animate: boolean): SVGGElement {
    // Named by its text (title, then the step's numbers, which hold model text and are not translated).
    const attrs: Record<string, string | number> = { class: `pic-node pic-${p.kind}${p.to ? ' opens' : ''}`, 'data-part': p.kind, transform: `translate(${LEFT} ${y})` };
    for (const [k, v] of Object.entries(p.data)) attrs[`data-${k}`] = v;
    if (focusable) {
      attrs.tabindex = i === this.focusIndex ? 0 : -1;
      attrs.role = 'button';
      if (!p.to) attrs['aria-disabled'] = 'true';
    }
    if (animate) attrs.style = `--i: ${i}`;
    const g = svg(
      'g',
      attrs,
      svg('rect', { x: 0, y: 0, width: WIDTH - LEFT - 16, height: BOX, rx: 8 }),
      svg('text', { x: 10, y: 18, class: 'pic-title' }, p.title),
      svg('text', { x: 10, y: 36, class: 'pic-detail', translate: 'no' }, p.detail),
    );
    g.addEventListener('click', () => {
      this.focusIndex = i;
      if (focusable) for (const n of this.nodes()) n.setAttribute('tabindex', n === g ? '0' : '-1');
      if (p.to) this.open(p.to);
    });
    g.addEventListener('keydown', (e) => this.key(e, i, p));
    return g;
  }

  private nodes(): SVGGElement[] {
    return [...this.figure.querySelectorAll<SVGGElement>('g.pic-node')];
  }

  private key(e: KeyboardEvent, i: number, p: ForwardPart): void {
    const nodes = this.nodes();
    const to = { ArrowDown: i + 1, ArrowRight: i + 1, ArrowUp: i - 1, ArrowLeft: i - 1, Home: 0, End: nodes.length - 1 }[e.key];
    if (to !== undefined) {
      e.preventDefault();
      const next = Math.max(0, Math.min(nodes.length - 1, to));
      nodes[i].setAttribute('tabindex', '-1');
      nodes[next].setAttribute('tabindex', '0');
      nodes[next].focus();
      this.focusIndex = next;
    } else if ((e.key === 'Enter' || e.key === ' ') && p.to) {
      e.preventDefault();
      this.open(p.to);
    }
  }
}
