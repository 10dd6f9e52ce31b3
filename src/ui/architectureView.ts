// The whole forward pass of one step as a column of boxes, each with this step's real numbers:
// tokens → embedding + position → every block (attention, feed-forward, residual) → final norm and
// logits → softmax → each sampling stage that is on → the draw. A box opens its detailed view below.
// The numbers come from the engine (the inspection) and the step's record; this file only shows them.
import type { StepRecord } from '../engine/generate/generate.ts';
import type { Inspection } from '../engine/tools/inspect.ts';
import { h, probText, visibleToken } from './dom.ts';
import { t } from './i18n/index.ts';

/** Where a box leads: a part of the inside view (a CSS selector), or the step panel. */
export type ArchPart = { selector: string; layer?: number };

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));

export function architectureDiagram(d: Inspection, record: StepRecord | null, open: (part: ArchPart) => void): HTMLElement {
  const s = t().arch;
  const last = d.ids.length - 1;
  const tok = d.tokenEmbedding[last];
  const pos = d.positionEmbedding?.[last] ?? null;
  const x0 = pos ? tok.map((v, i) => v + pos[i]) : tok;
  const top3 = (xs: { token: string; prob: number }[]) => xs.slice(0, 3).map((x) => `“${visibleToken(x.token)}” ${probText(x.prob)}`).join(', ');
  const box = (part: string, title: string, detail: string, to: ArchPart, data: Record<string, string | number> = {}) => {
    const attrs: Record<string, string | number> = { type: 'button', class: `arch-box arch-${part}`, 'data-part': part };
    for (const [k, v] of Object.entries(data)) attrs[`data-${k}`] = v;
    return h('li', {}, h('button', { ...attrs, onclick: () => open(to) }, h('strong', {}, title), h('span', { class: 'arch-detail', translate: 'no' }, detail)));
  };

  const items: HTMLElement[] = [
    box('tokens', s.tokens(d.ids.length), s.lastToken(visibleToken(d.tokens[last]), d.ids[last]), { selector: '.inside-body .chips' }),
    box('embedding', pos ? s.embedding : s.embeddingRotary, s.vector(fmt(norm(x0)), Array.from(x0.slice(0, 3), fmt).join(', ')), { selector: 'table.emb' }, { norm: norm(x0) }),
    ...d.logitLens.map((row, l) =>
      box('block', s.block(row.layer), `${s.residual(fmt(d.residualNorms[l]))} · ${s.lens} ${top3(row.top)}`, { selector: `table.logit-lens tr[data-layer="${row.layer}"]`, layer: l }, { layer: row.layer, 'top-id': row.top[0].id, norm: d.residualNorms[l] }),
    ),
  ];
  if (record) {
    const chosen = record.top.find((c) => c.id === record.id);
    const logitTop = record.logits ? record.top.slice(0, 3).map((c) => `“${visibleToken(c.token)}” ${record.logits![c.id].toFixed(2)}`).join(', ') : s.logitsGone;
    items.push(
      box('logits', s.logits, logitTop, { selector: '#step-panel' }),
      box('softmax', s.softmax, `${top3(record.top.map((c) => ({ token: c.token, prob: c.rawProb })))} · ${s.entropy(record.entropy.toFixed(2))}`, { selector: '#step-panel' }, { 'top-id': record.top[0].id, entropy: record.entropy }),
      // One box per sampling stage that was on, in pipeline order (sampling/stages.ts).
      ...record.stages.map((st) => box('stage', s.stage(t().stageNames[st.name], st.value), s.stageDetail(st.kept, probText(st.chosen)), { selector: '#step-panel' }, { stage: st.name, kept: st.kept, prob: st.chosen })),
      box('draw', record.draw === null ? s.greedy : s.draw(record.draw.toFixed(4)), s.chose(visibleToken(record.token), probText(record.prob), chosen ? probText(chosen.rawProb) : probText(record.rawProb)), { selector: '#step-panel' }, { 'chosen-id': record.id, prob: record.prob, raw: record.rawProb, draw: record.draw ?? 'none' }),
    );
  }
  return h('ol', { class: 'architecture', 'aria-label': s.title }, ...items);
}
