// Precision: the loaded model at float32, Q8_0 and Q4_0 side by side at the selected step. The same
// parameters rounded to 8 or 4 bits a weight (blocks of 32 sharing a scale, as llama.cpp stores them):
// each precision's next-token distribution, whether its first choice is float32's, how far it moved (KL),
// and over a greedy run from the prompt, how many tokens each keeps float32's path.
import type { GreedyPath, PrecisionComparison, PrecisionSide } from '../../engine/tools/precision.ts';
import { clear, h, probText, visibleToken } from '../dom.ts';
import type { EngineClient } from '../engineClient.ts';
import { label, onLangChange, t } from '../i18n/index.ts';
import { Availability, toolPanel, type ToolHost } from '../toolHost.ts';
import { topBars } from './topBars.ts';
import type { StepContext } from './finetuneView.ts';

const TOP_SHOWN = 8;
/** Greedy runs as long as the shown run, within these bounds. */
const GREEDY_MIN = 16;
const GREEDY_MAX = 64;

export interface PrecisionHost extends ToolHost {
  stepContext(): StepContext | null;
}

export class PrecisionView {
  readonly element: HTMLElement;
  private readonly result: HTMLElement;
  private readonly availability: Availability;
  private shown: { at: StepContext; r: PrecisionComparison } | null = null;

  constructor(
    private readonly client: EngineClient,
    private readonly host: PrecisionHost,
  ) {
    const compare = label(h('button', { type: 'button', class: 'primary' }), (d) => d.precisionRun);
    this.availability = new Availability([compare]);
    this.result = label(h('div', { class: 'precision-result' }), (d) => d.precisionResult, 'aria-label');
    this.element = toolPanel('precision', (d) => d.precision, (d) => d.precisionTitle, (d) => d.precisionHint, this.availability.note, h('div', { class: 'buttons' }, compare), this.result);
    compare.addEventListener('click', () => void this.run());
    onLangChange(() => this.shown && this.render(this.shown.at, this.shown.r));
  }

  setBlocked(reason: string | null): void {
    this.availability.set(reason);
  }

  /** After each model load: the old comparison belonged to the other model. */
  setModel(): void {
    this.shown = null;
    clear(this.result);
  }

  /** Compares the three precisions at the selected step (the tour's "Show me" calls this too). */
  run(): Promise<void> {
    return this.availability.run(this.host, async () => {
      const at = this.host.stepContext();
      if (!at) throw new Error(t().precisionNoStep);
      const greedyTokens = Math.max(GREEDY_MIN, Math.min(GREEDY_MAX, at.runTokens));
      const r = await this.client.precision({ contextIds: at.contextIds, chosenId: at.chosenId, promptIds: at.promptIds, greedyTokens });
      this.shown = { at, r };
      this.render(at, r);
    });
  }

  private render(at: StepContext, r: PrecisionComparison): void {
    const d = t();
    clear(this.result);
    this.result.dataset.run = String(at.runId);
    this.result.dataset.step = String(at.step);
    const f32Bytes = r.sides[0].weightBytes;
    this.result.append(h('p', { class: 'hint computed-for', translate: 'no' }, d.computedForStep(at.step + 1, visibleToken(at.chosenToken))));
    if (r.source !== 'f32') this.result.append(h('p', { class: 'precision-source' }, d.precisionFromFile(d.precisionNames[r.source])));
    this.result.append(
      h('div', { class: 'precision-sides' }, ...r.sides.map((s) => this.side(s, f32Bytes, r.source))),
      this.greedy(r.greedy),
    );
  }

  private side(s: PrecisionSide, f32Bytes: number, source: PrecisionComparison['source']): HTMLElement {
    const d = t();
    const name = d.precisionNames[s.dtype];
    const mb = (s.weightBytes / 1e6).toFixed(1);
    return label(
      h(
        'article',
        { class: `precision-side ${s.dtype}`, role: 'region', 'data-dtype': s.dtype, 'data-kl': s.klNats, 'data-same-top1': String(s.sameTop1), 'data-bytes': s.weightBytes },
        h('h3', { translate: 'no' }, name),
        h('p', { class: 'hint precision-size' }, s.dtype === 'f32' ? d.precisionSizeF32(mb) : d.precisionSize(mb, (s.weightBytes / f32Bytes).toFixed(2))),
        h('p', { class: 'precision-chosen', 'data-prob': s.chosen?.prob ?? '', 'data-rank': s.chosen?.rank ?? '' }, s.chosen ? d.finetuneChosen(probText(s.chosen.prob), s.chosen.rank) : d.finetuneChosenMissing),
        topBars(s.top.slice(0, TOP_SHOWN), s.chosen?.id, 'precision-top', d.replayTop),
        s.dtype === 'f32' ? h('p', { class: 'hint' }, source === 'f32' ? d.precisionReference : d.precisionReferenceFile) : h('p', { class: 'precision-diff' }, d.precisionDiff(s.sameTop1, s.klNats.toPrecision(2), points(s.maxProbDiff * 100))),
      ),
      () => name,
      'aria-label',
    );
  }

  private greedy(paths: GreedyPath[]): HTMLElement {
    const d = t();
    const ref = paths[0];
    return h(
      'div',
      { class: 'precision-greedy' },
      h('h4', {}, d.precisionGreedy(ref.ids.length)),
      h(
        'ul',
        {},
        ...paths.map((p) =>
          h(
            'li',
            { 'data-dtype': p.dtype, 'data-agree': p.agree, 'data-ids': p.ids.join(' ') },
            h('strong', { translate: 'no' }, d.precisionNames[p.dtype]),
            ' ',
            h('span', { class: 'reply-text', translate: 'no' }, p.text),
            h(
              'span',
              { class: 'hint' },
              ' — ',
              p.dtype === 'f32'
                ? d.precisionGreedyRef
                : p.agree === p.ids.length
                  ? d.precisionGreedyAll(p.ids.length)
                  : d.precisionGreedyUntil(p.agree, p.ids.length, visibleToken(p.tokens[p.agree]), visibleToken(ref.tokens[p.agree] ?? '')),
            ),
          ),
        ),
      ),
    );
  }
}

/** Percentage points, small moves still readable (a file against itself widened moves ~1e-7: shown as "0.001", an upper bound). */
function points(p: number): string {
  return p >= 0.1 ? p.toFixed(1) : p >= 0.001 ? p.toFixed(3) : '0.001';
}
