// One head's attention, readable: the tokens on both axes, any cell's value on hover or keyboard focus,
// a colour scale with its numbers, the query row highlighted, and the first position (the "attention
// sink", where many heads park most of their weight) optionally left out with each row renormalised.
// The weights come from the engine; this file only shows them.
import { append, clear, h, pct, visibleToken } from '../dom.ts';
import { t } from '../i18n/index.ts';

/** What the learner chose on the map; kept by the inside view across re-renders. */
export interface AttentionChoice {
  query: number | null; // the highlighted row, as a position (null: the last)
  hideSink: boolean;
}

/**
 * The rows and columns shown: every position, or, with the sink hidden, positions 1.. with each row
 * renormalised over them (row 0 then has nothing left to show and is dropped). rows[i][j] is the
 * weight of query `first + i` on key `first + j` (j ≤ i).
 */
export function shownWeights(weights: ArrayLike<number>[], hideSink: boolean): { first: number; rows: number[][] } {
  const first = hideSink && weights.length > 1 ? 1 : 0;
  const rows: number[][] = [];
  for (let q = first; q < weights.length; q++) {
    const row = Array.from({ length: q - first + 1 }, (_, j) => weights[q][first + j]);
    const sum = row.reduce((a, b) => a + b, 0);
    rows.push(first && sum > 0 ? row.map((w) => w / sum) : row);
  }
  return { first, rows };
}

// A sequential blue ramp (light → dark, ordered by lightness: readable without colour vision), indexed by √w
// so that small weights still show.
const RAMP = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];
export function colourFor(w: number): string {
  const x = Math.sqrt(Math.max(0, Math.min(1, w))) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const [r, g, b] = RAMP[i].map((c, k) => Math.round(c + (RAMP[i + 1][k] - c) * f));
  return `rgb(${r}, ${g}, ${b})`;
}
const TICKS = [0, 0.05, 0.2, 0.5, 1];

/** The map for one head: weights [T][T] (causal), tokens [T]. `choice` is read and updated in place. */
export function attentionMap(weights: Float32Array[], tokens: string[], caption: { layer: number; head: number }, choice: AttentionChoice): HTMLElement {
  const s = t();
  const wrap = h('div', { class: 'attention-map' });
  const sink = h('input', { type: 'checkbox', class: 'attn-sink' }) as HTMLInputElement;
  sink.checked = choice.hideSink;
  const body = h('div', {});
  sink.addEventListener('change', () => {
    choice.hideSink = sink.checked;
    draw();
  });
  append(wrap, h('label', { class: 'inline attn-sink-label' }, sink, ' ', s.attentionHideSink), h('p', { class: 'hint' }, s.attentionKeys), body);

  function draw(): void {
    clear(body);
    const { first, rows } = shownWeights(weights, choice.hideSink);
    const n = rows.length;
    const labels = tokens.slice(first).map((tok) => visibleToken(tok));
    const cell = Math.max(14, Math.min(24, Math.floor(420 / Math.max(1, n))));
    let query = Math.min(Math.max(first, choice.query ?? weights.length - 1), weights.length - 1) - first;
    let active: { q: number; k: number } | null = null;

    const canvas = h('canvas', {
      width: n * cell,
      height: n * cell,
      class: 'heat',
      tabindex: 0,
      role: 'img',
      'aria-label': s.attentionLabel(caption.layer + 1, caption.head + 1),
    });
    canvas.dataset.layer = String(caption.layer);
    canvas.dataset.head = String(caption.head);
    canvas.dataset.weights = JSON.stringify(weights.map((r) => Array.from(r)));
    canvas.dataset.shown = JSON.stringify(rows);
    canvas.dataset.first = String(first);
    canvas.title = s.attentionTitle;
    const readout = h('output', { class: 'attn-readout', 'aria-live': 'polite' });
    const rowLabels = labels.map((l, i) => h('span', { class: 'attn-row', style: `height:${cell}px;line-height:${cell}px`, 'data-pos': first + i, translate: 'no', onclick: () => setQuery(i) }, l));
    const colLabels = labels.map((l, i) => h('span', { class: 'attn-col', style: `width:${cell}px`, 'data-pos': first + i, translate: 'no' }, l));

    function paint(): void {
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      for (let q = 0; q < n; q++) {
        for (let k = 0; k < n; k++) {
          ctx.fillStyle = k > q ? '#dcdcdc' : colourFor(rows[q][k]); // grey: the future, which a causal model cannot see
          ctx.fillRect(k * cell, q * cell, cell, cell);
        }
      }
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#d95f02'; // the query row: an orange that stands apart from the blues
      ctx.strokeRect(1, query * cell + 1, n * cell - 2, cell - 2);
      if (active) {
        ctx.strokeStyle = '#000';
        ctx.strokeRect(active.k * cell + 1, active.q * cell + 1, cell - 2, cell - 2);
      }
      canvas.dataset.query = String(first + query);
      rowLabels.forEach((el, i) => (i === query ? el.setAttribute('aria-current', 'true') : el.removeAttribute('aria-current')));
    }
    function setQuery(q: number): void {
      query = q;
      choice.query = first + q;
      paint();
    }
    function show(q: number, k: number): void {
      active = { q, k };
      const w = rows[q][k];
      readout.textContent = s.attentionCell(labels[q], first + q + 1, labels[k], first + k + 1, w.toFixed(4), pct(w));
      readout.dataset.query = String(first + q);
      readout.dataset.key = String(first + k);
      paint();
    }
    canvas.addEventListener('mousemove', (e) => {
      const r = canvas.getBoundingClientRect();
      const q = Math.floor(((e.clientY - r.top) / r.height) * n);
      const k = Math.floor(((e.clientX - r.left) / r.width) * n);
      if (q >= 0 && q < n && k >= 0 && k <= q) show(q, k);
    });
    canvas.addEventListener('click', (e) => {
      const r = canvas.getBoundingClientRect();
      const q = Math.floor(((e.clientY - r.top) / r.height) * n);
      if (q >= 0 && q < n) setQuery(q);
    });
    canvas.addEventListener('focus', () => show(query, query));
    canvas.addEventListener('keydown', (e) => {
      const cur = active ?? { q: query, k: query };
      let { q, k } = cur;
      if (e.key === 'ArrowUp') q = Math.max(0, q - 1);
      else if (e.key === 'ArrowDown') q = Math.min(n - 1, q + 1);
      else if (e.key === 'ArrowLeft') k = Math.max(0, k - 1);
      else if (e.key === 'ArrowRight') k = k + 1;
      else if (e.key === 'Home') k = 0;
      else if (e.key === 'End') k = q;
      else return;
      e.preventDefault();
      k = Math.min(k, q);
      if (q !== cur.q) setQuery(q);
      show(q, k);
    });
    paint();

    const legend = h('canvas', { width: 160, height: 10, class: 'attn-legend', 'aria-hidden': 'true' });
    const lctx = legend.getContext('2d');
    if (lctx) for (let x = 0; x < 160; x++) {
      lctx.fillStyle = colourFor((x / 159) ** 2);
      lctx.fillRect(x, 0, 1, 10);
    }
    const ticks = h('div', { class: 'attn-ticks' }, ...TICKS.map((w) => h('span', { style: `left:${Math.sqrt(w) * 100}%`, 'data-value': w }, String(w))));
    append(
      body,
      choice.hideSink && first ? h('p', { class: 'attn-sink-note' }, s.attentionSinkHidden) : null,
      h(
        'div',
        { class: 'attn-grid heat-wrap' },
        h('span', { class: 'attn-corner' }),
        h('div', { class: 'attn-cols' }, ...colLabels),
        h('div', { class: 'attn-rows' }, ...rowLabels),
        canvas,
      ),
      h('div', { class: 'attn-scale' }, h('span', {}, s.attentionScale), h('div', { class: 'attn-legend-wrap' }, legend, ticks)),
      readout,
    );
  }
  draw();
  return wrap;
}
