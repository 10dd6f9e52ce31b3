// A next-token distribution's most likely tokens as bars, the run's chosen token outlined: the list the
// before/after-fine-tuning and precision views both show for each model they compare.
import { h, probText, visibleToken } from '../dom.ts';

export function topBars(top: { id: number; token: string; prob: number }[], chosenId: number | undefined, className: string, name: string): HTMLOListElement {
  return h(
    'ol',
    { class: className, 'aria-label': name },
    ...top.map((c) =>
      h(
        'li',
        { 'data-id': c.id, 'data-prob': c.prob, class: c.id === chosenId ? 'chosen' : undefined },
        h('span', { class: 'tok', translate: 'no' }, visibleToken(c.token)),
        h('span', { class: 'bar' }, h('span', { class: 'fill', style: `width: ${Math.max(1, c.prob * 100)}%` })),
        h('span', { class: 'num' }, probText(c.prob)),
      ),
    ),
  );
}
