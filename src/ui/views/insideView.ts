// Inside the model, for the selected step: the tokens and ids, their embeddings, one layer's attention
// (a chosen head as a heat map, all heads as thumbnails), the logit lens, and the sampling chain.
// The numbers come from the engine on request; this file only draws them.
import type { StepRecord } from '../../engine/generate/generate.ts';
import type { Inspection } from '../../engine/tools/inspect.ts';
import type { GradientAttribution, Occlusion } from '../../engine/tools/attribution.ts';
import { append, clear, h, pct, probText, visibleToken } from '../dom.ts';
import type { EngineClient } from '../engineClient.ts';
import { label, onLangChange, t } from '../i18n/index.ts';
import { Availability, toolPanel, type ToolHost } from '../toolHost.ts';
import { attentionMap, type AttentionChoice } from './attentionMap.ts';
import type { ArchPart } from './architectureView.ts';

export class InsideView {
  readonly element: HTMLElement;
  private readonly lookBtn: HTMLButtonElement;
  private readonly layerSel: HTMLSelectElement;
  private readonly headSel: HTMLSelectElement;
  private readonly body: HTMLElement;
  private context: { ids: number[]; record: StepRecord } | null = null;
  private data: Inspection | null = null;
  private dataFor: StepRecord | null = null; // the step the shown inspection was computed for
  private readonly availability: Availability;
  private readonly attention: AttentionChoice = { query: null, hideSink: false };
  private why: { for: StepRecord; result: Occlusion; gradient: GradientAttribution | string } | null = null;

  constructor(
    private readonly client: EngineClient,
    private readonly host: ToolHost,
  ) {
    this.lookBtn = label(h('button', { type: 'button', class: 'primary', disabled: true }), (d) => d.lookInside);
    this.layerSel = label(h('select', {}), (d) => d.layer, 'aria-label');
    this.headSel = label(h('select', {}), (d) => d.head, 'aria-label');
    this.availability = new Availability([this.lookBtn]);
    this.body = h('div', { class: 'inside-body' }, label(h('p', { class: 'hint' }), (d) => d.insideHint));
    this.element = toolPanel(
      'inside',
      (d) => d.inside,
      (d) => d.inside,
      null,
      h('div', { class: 'buttons' }, this.lookBtn, h('label', { class: 'inline' }, label(h('span', {}), (d) => d.layer), ' ', this.layerSel), h('label', { class: 'inline' }, label(h('span', {}), (d) => d.head), ' ', this.headSel)),
      this.availability.note,
      this.body,
    );
    onLangChange(() => this.render());
    this.lookBtn.addEventListener('click', () => void this.look());
    this.layerSel.addEventListener('change', () => void this.look());
    this.headSel.addEventListener('change', () => this.render());
  }

  /** The model changed: layer and head choices follow its shape. */
  setModel(nLayer: number, nHead: number): void {
    clear(this.layerSel);
    clear(this.headSel);
    for (let l = 0; l < nLayer; l++) this.layerSel.append(h('option', { value: l }, String(l + 1)));
    for (let k = 0; k < nHead; k++) this.headSel.append(h('option', { value: k }, String(k + 1)));
    this.data = null;
    this.dataFor = null;
    this.autoTried = null;
    this.why = null;
    this.setStep(null, null);
  }

  /** Told of each new inspection, with the step it was computed for (the model's picture draws it). */
  onInspected: (d: Inspection, record: StepRecord) => void = () => {};

  /** The layer whose attention an inspection includes (the layer choice). */
  get layer(): number {
    return Number(this.layerSel.value || 0);
  }

  /** An inspection the engine made by itself (a slow-motion step, in its pause): kept if it is of the selected step at the chosen layer. */
  accept(record: StepRecord, d: Inspection): void {
    const ids = this.context?.ids;
    // Of this step, at this layer, and of exactly the tokens the model read for it.
    if (this.context?.record !== record || d.layer !== this.layer || !ids || d.ids.length !== ids.length || d.ids.some((id, i) => id !== ids[i])) return;
    this.data = d;
    this.dataFor = record;
    this.attention.query = null;
    this.render();
    this.onInspected(d, record);
  }

  /** The inspection of `record`, if it has been computed. */
  inspectionOf(record: StepRecord | null): Inspection | null {
    return record && this.dataFor === record ? this.data : null;
  }

  /**
   * The step the learner selected: `ids` are the tokens the model read to produce `record`. With `auto`, the
   * step is inspected as soon as the engine is free (the model's picture fills in with it).
   */
  setStep(ids: number[] | null, record: StepRecord | null, auto = false): void {
    this.auto = auto;
    this.context = ids && record ? { ids, record } : null;
    this.lookAuto();
    this.lookBtn.disabled = !this.context || this.blocked;
    // Nothing to choose a layer or head of before there is a step (and they stay off the first screen's count).
    this.layerSel.disabled = this.headSel.disabled = !this.context && !this.data;
  }

  private blocked = false;
  private auto = false;
  private autoTried: StepRecord | null = null; // once per step: a failed inspection is not retried by itself
  /** Why the engine cannot be used now (null: it can). */
  setBlocked(reason: string | null): void {
    this.blocked = reason !== null;
    this.availability.set(reason);
    if (!this.context) this.lookBtn.disabled = true;
    this.lookAuto();
  }

  private lookAuto(): void {
    const record = this.context?.record;
    if (!this.auto || !record || this.blocked || this.dataFor === record || this.autoTried === record) return;
    this.autoTried = record;
    queueMicrotask(() => void this.look(true)); // the app's own job: an error on the page stays
  }

  /** The section to point at for a concept, once something has been looked at. */
  part(selector: string): HTMLElement | null {
    return this.body.querySelector<HTMLElement>(selector);
  }

  /** Occlusion for the inspected step: a button, then a strip over the context tokens. */
  private whyView(d: Inspection, record: StepRecord): HTMLElement {
    const s = t().why;
    const result = this.why?.for === record ? this.why.result : null;
    if (!result) {
      const btn = h('button', { type: 'button', class: 'why-btn' }, s.button);
      btn.addEventListener('click', () => void this.availability.run(this.host, async () => {
        const result = await this.client.occlusion(d.ids, record.id);
        // Gradients need a model TF.js can differentiate (GPT-2 and Llama): elsewhere the view says so and shows occlusion alone.
        const gradient = await this.client.gradientTimesInput(d.ids, record.id).catch((e: Error) => e.message);
        this.why = { for: record, result, gradient };
        this.render();
      }));
      return btn;
    }
    const g = this.why!.gradient;
    const last = d.tokens.length - 1;
    // One scale for both strips, set by the tokens before the last: leaving the last token out moves the position
    // being predicted (the model then predicts after the token before it), so its number is not comparable.
    const scale = Math.max(1e-9, ...result.deltas.slice(0, last).map(Math.abs), ...(typeof g === 'string' ? [] : g.scores.slice(0, last).map(Math.abs)));
    const strip = (values: number[], label: string, data: Record<string, number>) => {
      const cells = values.map((delta, i) => {
        const a = Math.min(1, Math.abs(delta) / scale);
        const apart = i === last;
        const bg = apart ? 'transparent' : delta >= 0 ? `rgba(33, 102, 172, ${0.12 + 0.6 * a})` : `rgba(217, 95, 2, ${0.12 + 0.6 * a})`;
        const text = `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(3)}`;
        return h(
          'span',
          { class: `why-cell${apart ? ' why-last' : ''}`, style: `background:${bg}`, 'data-delta': delta, 'aria-label': s.cell(visibleToken(d.tokens[i]), text) + (apart ? ` (${s.lastApart})` : ''), translate: 'no' },
          h('span', {}, visibleToken(d.tokens[i])),
          h('sub', {}, text),
        );
      });
      const attrs: Record<string, string | number> = { class: 'why-strip', role: 'group', 'aria-label': label, 'data-scale': scale };
      for (const [k, v] of Object.entries(data)) attrs[`data-${k}`] = v;
      return h('div', attrs, ...cells);
    };
    // Where the two methods point opposite ways (tokens before the last), said plainly.
    const opposite = typeof g === 'string' ? [] : result.deltas.slice(0, last).map((x, i) => (Math.sign(x) !== Math.sign(g.scores[i]) && x !== 0 && g.scores[i] !== 0 ? i : -1)).filter((i) => i >= 0);
    return h(
      'div',
      { class: 'why' },
      h('p', { class: 'hint' }, s.explain(visibleToken(record.token), result.base.toFixed(3))),
      h('h4', {}, s.occlusionTitle),
      strip(result.deltas, s.label, { base: result.base }),
      h('h4', {}, s.gradientTitle),
      typeof g === 'string' ? h('p', { class: 'hint' }, g) : strip(g.scores, s.gradientLabel, { 'log-prob': g.logProb }),
      h('p', { class: 'hint why-last-note' }, s.lastNote(visibleToken(d.tokens[last]))),
      typeof g === 'string' || last < 2 ? null : h('p', { class: 'why-agreement', 'data-opposite': opposite.length, 'data-compared': last }, opposite.length ? s.disagree(opposite.length, last, opposite.map((i) => `“${visibleToken(d.tokens[i])}”`).join(', ')) : s.agree(last)),
    );
  }

  /** A part of the model's picture: its detailed view scrolled into sight and focused (a block also shows its layer's attention). */
  openPart(part: ArchPart): void {
    if (part.layer !== undefined && String(part.layer) !== this.layerSel.value) {
      this.layerSel.value = String(part.layer);
      void this.look().then(() => this.reveal(part.selector));
      return;
    }
    this.reveal(part.selector);
  }

  private reveal(selector: string): void {
    const el = document.querySelector<HTMLElement>(selector);
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
    el.focus({ preventScroll: true });
  }

  private inFlight: Promise<void> | null = null;

  /** Inspects the selected step at the chosen layer; while one inspection runs, waits for it and then looks again only if it was of something else. */
  look(quiet = false): Promise<void> {
    if (this.inFlight) return this.inFlight.then(() => (this.current() ? undefined : this.look(quiet)));
    if (!this.context) return Promise.resolve();
    const { ids, record } = this.context;
    const layer = Number(this.layerSel.value || 0);
    this.inFlight = this.availability
      .run(this.host, async () => {
        this.data = await this.client.inspect(ids, layer);
        this.dataFor = record;
        this.attention.query = null; // a new step: the query row is its last token again
        this.render();
        this.onInspected(this.data, record);
      }, quiet)
      .finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  /** The shown inspection is of the selected step at the chosen layer. */
  private current(): boolean {
    return !!this.context && this.dataFor === this.context.record && this.data?.layer === Number(this.layerSel.value || 0);
  }

  /** Draws the inspection with the step it was computed for (never mixed with a step selected since). */
  private render(): void {
    const d = this.data;
    const record = this.dataFor;
    if (!d) return;
    clear(this.body);
    const head = Number(this.headSel.value || 0);
    const s = t();
    append(
      this.body,
      record ? h('p', { class: 'computed-for', 'data-step': record.step, translate: 'no' }, s.computedForStep(record.step + 1, visibleToken(record.token))) : null,
      h('h3', {}, s.insideTokens(d.ids.length)),
      h('div', { class: 'chips', translate: 'no' }, ...d.tokens.map((tok, i) => h('span', { class: 'chip tok' }, visibleToken(tok), h('sub', {}, String(d.ids[i]))))),
      h('h3', {}, d.positionEmbedding ? s.insideEmbeddings : s.insideEmbeddingsRotary),
      embeddingRows(d),
      h('h3', {}, s.insideAttention(d.layer + 1, head + 1)),
      attentionMap(d.attention[head], d.tokens, { layer: d.layer, head }, this.attention),
      h('p', { class: 'hint' }, s.allHeads),
      h('div', { class: 'heads' }, ...d.attention.map((_, k) => h('figure', {}, miniMap(d.attention[k]), h('figcaption', {}, s.headN(k + 1))))),
      h('h3', {}, s.insideLens),
      h('div', { class: 'scroll-x' }, lensTable(d)),
      record ? h('h3', {}, s.insideChain) : null,
      record ? chainLine(record) : null,
      record ? h('h3', {}, s.why.heading) : null,
      record ? this.whyView(d, record) : null,
    );
  }
}

function miniMap(rows: Float32Array[]): HTMLCanvasElement {
  const T = rows.length;
  const canvas = h('canvas', { width: T, height: T, class: 'mini' });
  const ctx = canvas.getContext('2d');
  if (ctx) {
    const img = ctx.createImageData(T, T);
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const v = k > q ? 0 : Math.sqrt(rows[q][k]);
        const i = (q * T + k) * 4;
        img.data.set([255 - 210 * v, 255 - 164 * v, 255 - 40 * v, 255], i);
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  return canvas;
}

/** One strip per token: token embedding, position embedding, and their sum; blue negative, red positive. */
function embeddingRows(d: Inspection): HTMLElement {
  const rows = d.tokenEmbedding.map((tok, i) => {
    const pos = d.positionEmbedding?.[i] ?? null;
    const sum = pos ? tok.map((v, j) => v + pos[j]) : tok;
    return { tok, pos, sum };
  });
  const scale = Math.max(1e-6, ...rows.flatMap((r) => [maxAbs(r.tok), r.pos ? maxAbs(r.pos) : 0, maxAbs(r.sum)]));
  const [cTok, cEmb, cPos, cSum] = t().embCols;
  const table = h('table', { class: 'emb' }, h('thead', {}, h('tr', {}, h('th', {}, cTok), h('th', {}, cEmb), h('th', {}, d.positionEmbedding ? cPos : t().rotary), h('th', {}, cSum))));
  const body = h('tbody', {});
  rows.forEach((r, i) => body.append(h('tr', {}, h('td', { translate: 'no' }, visibleToken(d.tokens[i])), h('td', {}, strip(r.tok, scale)), h('td', {}, r.pos ? strip(r.pos, scale) : '–'), h('td', {}, strip(r.sum, scale)))));
  table.append(body);
  return h('div', { class: 'emb-wrap' }, table);
}

function strip(v: Float32Array, scale: number): HTMLCanvasElement {
  const canvas = h('canvas', { width: v.length, height: 1, class: 'strip' });
  const ctx = canvas.getContext('2d');
  if (ctx) {
    const img = ctx.createImageData(v.length, 1);
    for (let j = 0; j < v.length; j++) {
      const x = Math.max(-1, Math.min(1, v[j] / scale));
      img.data.set(x >= 0 ? [255, 255 - 200 * x, 255 - 200 * x, 255] : [255 + 200 * x, 255 + 200 * x, 255, 255], j * 4);
    }
    ctx.putImageData(img, 0, 0);
  }
  return canvas;
}

function maxAbs(v: Float32Array): number {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

function lensTable(d: Inspection): HTMLElement {
  const s = t();
  const cells = (top: Inspection['final']) => top.map((x) => h('td', { 'data-id': x.id, 'data-prob': x.prob }, h('span', { translate: 'no' }, visibleToken(x.token)), h('span', { class: 'p' }, ` ${probText(x.prob)}`)));
  return h(
    'table',
    { class: 'logit-lens', 'aria-label': s.logitLens },
    h('thead', {}, h('tr', {}, h('th', {}, s.after), ...d.final.map((_, i) => h('th', {}, `#${i + 1}`)))),
    h(
      'tbody',
      {},
      ...d.logitLens.map((row) => h('tr', { 'data-layer': row.layer }, h('th', {}, s.layerN(row.layer)), ...cells(row.top))),
      h('tr', { 'data-layer': 'output', class: 'final' }, h('th', {}, s.modelOutput), ...cells(d.final)),
    ),
  );
}

function chainLine(s: StepRecord): HTMLElement {
  const logit = s.logits ? s.logits[s.id] : null;
  const c = t().chain;
  const parts = [
    logit === null ? null : c.logit(logit.toFixed(3)),
    c.softmax(probText(s.rawProb)),
    // Each stage that was on, in pipeline order, with the chosen token's probability after it.
    ...s.stages.map((st) => (st.name === 'temperature' ? c.temperature(st.value, probText(st.chosen)) : c.stage(t().stageNames[st.name], st.value, st.kept, probText(st.chosen)))),
    s.draw === null ? c.greedy : c.draw(s.draw.toFixed(4)),
    c.chose(visibleToken(s.token)),
  ].filter((x): x is string => x !== null);
  return h('p', { class: 'chain-line' }, parts.join(' → '), c.tail(s.entropy.toFixed(2), pct(s.rawProb)));
}
