// Token chips: generated tokens as buttons coloured by probability, and prompt tokens with their ids.
// Text only, never HTML.
import type { StepRecord } from '../engine/generate/generate.ts';
import type { TokenView } from '../worker/protocol.ts';
import { h, pct, visibleToken } from './dom.ts';
import { t } from './i18n/index.ts';

/** The colour bucket of a probability, as the legend reads: < 5%, 5–20%, 20–50%, 50–80%, ≥ 80%. */
export function probBucket(p: number): number {
  return p < 0.05 ? 0 : p < 0.2 ? 1 : p < 0.5 ? 2 : p < 0.8 ? 3 : 4;
}

/**
 * A fork: the model's second choice had at least 15% and at least half the first's probability (raw,
 * T = 1), so the text could as well have gone another way. Marked only then: a rule on entropy (> 3 bits)
 * marked 59 of 60 tokens of open text, where a flat tail is normal and says nothing about this token.
 */
export function isFork(top: readonly { rawProb: number }[]): boolean {
  const [first, second] = top;
  return !!first && !!second && second.rawProb >= 0.15 && second.rawProb >= first.rawProb / 2;
}

/** A generated token: colour bucket by its raw probability, dotted at a fork (isFork). */
export function tokenButton(s: StepRecord, onSelect: () => void): HTMLButtonElement {
  const bucket = probBucket(s.rawProb);
  const unsure = isFork(s.top);
  return h(
    'button',
    {
      type: 'button',
      class: `token p${bucket}${unsure ? ' low-conf' : ''}`,
      'data-id': s.id,
      'aria-label': `${s.token} ${pct(s.rawProb)}${unsure ? t().unsure : ''}`,
      translate: 'no',
      'aria-pressed': 'false', // the output view marks the selected one
      title: t().tokenTitle(pct(s.rawProb), s.entropy.toFixed(2)),
      onclick: onSelect,
    },
    // Control characters other than newline and tab are shown as their byte.
    s.token.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `<0x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}>`),
  );
}

/** The tokens the model reads, special tokens marked, with ids and a count. */
export function promptChips(views: TokenView[]): Node[] {
  return [
    ...views.map((v) => h('span', { class: v.special ? 'chip tok special' : 'chip tok', title: `id ${v.id}`, translate: 'no' }, visibleToken(v.label), h('sub', {}, String(v.id)))),
    h('span', { class: 'hint' }, t().tokensCount(views.length)),
  ];
}
