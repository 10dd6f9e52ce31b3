// A tiny element builder. Text goes in as text nodes only: model output is never parsed as HTML.
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

export function pct(p: number, digits = 1): string {
  return `${(p * 100).toFixed(digits)}%`;
}

/**
 * A probability for reading: 41.0% at 0.1% and above, two significant digits below (0.0024%, 2.4e-7%):
 * never a misleading 0.0% for a token that had a chance.
 */
export function probText(p: number): string {
  if (p === 0) return '0%';
  return p >= 0.001 ? pct(p) : `${+(p * 100).toPrecision(2)}%`;
}

/** Whitespace made visible in token chips: a leading space shows as ␣, a newline as ↵. */
export function visibleToken(label: string): string {
  return (
    label
      .replace(/ /g, '␣')
      .replace(/\n/g, '↵')
      .replace(/\t/g, '⇥')
      // Other control characters would render as nothing or a box: show their byte value.
      .replace(/[\u0000-\u001f\u007f]/g, (c) => `<0x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}>`) || '∅'
  );
}

export function download(filename: string, href: string): void {
  const a = h('a', { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
}
