// The UI language: English or 简体中文, chosen from ?lang=, then the last choice, then the browser's
// languages. Static elements register how to label themselves; switching relabels them in place
// (nothing is rebuilt, so prompts, conversations and settings stay), and listeners re-render the rest.
import { en, type Dict } from './en.ts';
import { zh } from './zh.ts';

export type Lang = 'en' | 'zh';
const DICTS: Record<Lang, Dict> = { en, zh };
const KEY = 'nexttoken.lang';

let current: Lang = 'en';
const labels: (() => void)[] = [];
const listeners: (() => void)[] = [];

export function t(): Dict {
  return DICTS[current];
}

export function lang(): Lang {
  return current;
}

export function initialLang(search: string, stored: string | null, browser: readonly string[]): Lang {
  const q = new URLSearchParams(search).get('lang');
  for (const c of [q, stored, ...browser]) {
    if (!c) continue;
    if (/^zh\b/i.test(c)) return 'zh';
    if (/^en\b/i.test(c)) return 'en';
  }
  return 'en';
}

export function storedLang(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Switches the language; `persist` remembers an explicit choice for the next visit. */
export function setLang(l: Lang, persist = true): void {
  current = l;
  if (persist) {
    try {
      localStorage.setItem(KEY, l);
    } catch {
      /* not persisted */
    }
  }
  document.documentElement.lang = DICTS[l].lang;
  for (const f of labels) f();
  for (const f of listeners) f();
}

/** A control's name without the hint in brackets: "Top-k (0 = off)" → "Top-k" (also for full-width brackets). */
export function bareName(text: string): string {
  return text.replace(/ \(.*|（.*/, '');
}

/** Sets an element's text (or an attribute) now and again on every language switch. */
export function label<E extends Element>(el: E, text: (d: Dict) => string, attr?: string): E {
  const apply = () => (attr ? el.setAttribute(attr, text(t())) : (el.textContent = text(t())));
  apply();
  labels.push(apply);
  return el;
}

export function onLangChange(f: () => void): void {
  listeners.push(f);
}
