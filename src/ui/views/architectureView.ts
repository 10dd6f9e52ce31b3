// The whole forward pass of one step as a list of parts, each with this step's real numbers:
// tokens → embedding + position → every block (attention, feed-forward, residual) → final norm and
// logits → softmax → each sampling stage that is on → the draw. Before a step exists the parts carry
// the model's shape instead. The numbers come from the engine (the inspection) and the step's record;
// this file only words them (views/modelPicture.ts draws them).
import type { StepRecord } from '../../engine/generate/generate.ts';
import type { Inspection } from '../../engine/tools/inspect.ts';
import { unpackTop } from '../../sampling/topColumns.ts';
import { probText, visibleToken } from '../dom.ts';
import { t } from '../i18n/index.ts';

/** Where a part leads: a part of the inside view (a CSS selector), or the step panel. */
export type ArchPart = { selector: string; layer?: number };

export type PartKind = 'tokens' | 'embedding' | 'block' | 'logits' | 'softmax' | 'sampling' | 'stage' | 'draw';

export interface ForwardPart {
  kind: PartKind;
  title: string;
  /** This step's numbers, or the model's shape when there is no step yet. */
  detail: string;
  /** The detail it opens; null when there is nothing to open yet. */
  to: ArchPart | null;
  /** The numbers themselves, for scripts (data-* attributes). */
  data: Record<string, string | number>;
}

export interface ModelShape {
  nLayer: number;
  nHead: number;
  vocabSize: number;
  /** Positions enter by rotating q and k inside attention (Llama family), not as an added vector (GPT-2). */
  rotary: boolean;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
const quoted = (tok: string) => `“${visibleToken(tok)}”`;

/**
 * The parts of one step. `inspection` must be of the step `record` was recorded at (or null); `record` null
 * before any step. A part opens its detail only when that detail exists.
 */
export function forwardParts(shape: ModelShape, d: Inspection | null, record: StepRecord | null, labels: Record<number, string> = {}): ForwardPart[] {
  const s = t().arch;
  const parts: ForwardPart[] = [];
  const add = (kind: PartKind, title: string, detail: string, to: ArchPart | null, data: Record<string, string | number> = {}) => parts.push({ kind, title, detail, to, data });

  if (d) {
    const last = d.ids.length - 1;
    const tok = d.tokenEmbedding[last];
    const pos = d.positionEmbedding?.[last] ?? null;
    const x0 = pos ? tok.map((v, i) => v + pos[i]) : tok;
    add('tokens', s.tokens(d.ids.length), s.lastToken(visibleToken(d.tokens[last]), d.ids[last]), { selector: '.inside-body .chips' }, { count: d.ids.length });
    add('embedding', pos ? s.embedding : s.embeddingRotary, s.vector(fmt(norm(x0)), Array.from(x0.slice(0, 3), fmt).join(', ')), { selector: 'table.emb' }, { norm: norm(x0) });
    d.logitLens.forEach((row, l) =>
      add('block', s.block(row.layer), s.lensTop(quoted(row.top[0].token), probText(row.top[0].prob), fmt(d.residualNorms[l])), { selector: `table.logit-lens tr[data-layer="${row.layer}"]`, layer: l }, {
        layer: row.layer,
        'top-id': row.top[0].id,
        'top-prob': row.top[0].prob,
        norm: d.residualNorms[l],
      }),
    );
  } else {
    add('tokens', s.tokensTitle, s.shapeTokens, null);
    add('embedding', shape.rotary ? s.embeddingRotary : s.embedding, shape.rotary ? s.shapeEmbeddingRotary : s.shapeEmbedding, null);
    for (let l = 1; l <= shape.nLayer; l++) add('block', s.block(l), s.shapeBlock(shape.nHead), null, { layer: l });
  }

  if (record) {
    const top = unpackTop(record.top);
    const chosen = top.find((c) => c.id === record.id);
    // A label the page has not learned yet (a run restored from an earlier visit) shows as its id until it has.
    const label = (id: number) => (id === record.id ? record.token : (labels[id] ?? `#${id}`));
    const logitTop = record.logits ? top.slice(0, 3).map((c) => `${quoted(label(c.id))} ${record.logits![c.id].toFixed(2)}`).join(', ') : s.logitsGone;
    const top3 = top.slice(0, 3);
    add('logits', s.logits, logitTop, { selector: '#step-panel' });
    add('softmax', s.softmax, `${top3.map((c) => `${quoted(label(c.id))} ${probText(c.rawProb)}`).join(', ')} · ${s.entropy(record.entropy.toFixed(2))}`, { selector: '#step-panel' }, {
      'top-id': top[0].id,
      entropy: record.entropy,
      top3: JSON.stringify(top3.map((c) => ({ id: c.id, prob: c.rawProb }))),
    });
    // One part per sampling stage that was on, in pipeline order (sampling/stages.ts).
    for (const st of record.stages) add('stage', s.stage(t().stageNames[st.name], st.value), s.stageDetail(st.kept, probText(st.chosen)), { selector: '#step-panel' }, { stage: st.name, kept: st.kept, prob: st.chosen });
    add('draw', record.draw === null ? s.greedy : s.draw(record.draw.toFixed(4)), s.chose(visibleToken(record.token), probText(record.prob), chosen ? probText(chosen.rawProb) : probText(record.rawProb)), { selector: '#step-panel' }, {
      'chosen-id': record.id,
      prob: record.prob,
      raw: record.rawProb,
      draw: record.draw ?? 'none',
    });
  } else {
    add('logits', s.logits, s.shapeLogits(shape.vocabSize.toLocaleString(t().lang)), null);
    add('softmax', s.softmax, s.shapeSoftmax, null);
    add('sampling', s.sampling, s.shapeSampling, null);
    add('draw', s.drawTitle, s.shapeDraw, null);
  }
  return parts;
}
