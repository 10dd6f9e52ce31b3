// Token chips: generated tokens as buttons coloured by probability, and prompt tokens with their ids.
// Text only, never HTML.
import type { StepRecord } from '../engine/generate/generate.ts';
import type { TokenView } from '../worker/protocol.ts';
import { topRawProb, type TopColumns } from '../sampling/topColumns.ts';
import { h, pct, visibleToken } from './dom.ts';
import { t } from './i18n/index.ts';

/**
 * The colour bucket of a probability, on a log scale as the legend reads (BUCKET_LEGEND): sampled at T = 1 most
 * tokens had under 5%, and a linear scale drew nearly all of them in its darkest colour.
 */
export function probBucket(p: number): number {
  return p < 0.001 ? 0 : p < 0.01 ? 1 : p < 0.1 ? 2 : p < 0.5 ? 3 : 4;
}
export const BUCKET_LEGEND = ['< 0.1%', '0.1–1%', '1–10%', '10–50%', '≥ 50%'];

/**
 * A fork: the model's second choice had at least 15% and at least half the first's probability (raw,
 * T = 1), so the text could as well have gone another way. Marked only then: a rule on entropy (> 3 bits)
 * marked 59 of 60 tokens of open text, where a flat tail is normal and says nothing about this token.
 */
export function isFork(top: TopColumns): boolean {
  if (top.n < 2) return false;
  const [first, second] = [topRawProb(top, 0), topRawProb(top, 1)];
  return second >= 0.15 && second >= first / 2;
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

/**
 * A candidate's label as a learner reads it: the character it begins (read on by the engine, characters.ts) with
 * a small token count, or the token itself. Children and a title for a chip, a bar label or a pick button.
 */
export function candidateText(token: string, reading: { text: string; ids: number[] } | undefined): { children: Node[]; title: string | undefined; readIds: string | undefined } {
  if (!reading) return { children: [document.createTextNode(visibleToken(token))], title: undefined, readIds: undefined };
  const n = reading.ids.length;
  return {
    // The count is read aloud too: the probability beside it belongs to the first token only.
    children: [document.createTextNode(visibleToken(reading.text)), h('sup', { class: 'n-tokens' }, t().nTokens(n))],
    title: t().charReading(visibleToken(token), reading.text, n),
    readIds: reading.ids.join(','), // for scripts: the tokens read
  };
}

/** The tokens the model reads, special tokens marked, with ids and a count. */
export function promptChips(views: TokenView[]): Node[] {
  return [
    ...views.map((v) => h('span', { class: v.special ? 'chip tok special' : 'chip tok', title: `id ${v.id}`, translate: 'no' }, visibleToken(v.label), h('sub', {}, String(v.id)))),
    h('span', { class: 'hint' }, t().tokensCount(views.length)),
  ];
}

/** Consecutive tokens shown as one chip: the character(s) their bytes spell together. */
export interface CharGroup {
  start: number; // first token's index
  end: number; // last token's index (inclusive)
  text: string;
  /** False when the bytes never make a whole character (a run cut mid-character): U+FFFD there, as a decoder reads it. */
  complete: boolean;
}

const PARTIAL = /<0x[0-9A-F]{2}>/;

/** Does a token label hold part of a character (`<0xE5>`)? A label without is always a character boundary. */
export function hasPartialBytes(label: string): boolean {
  return PARTIAL.test(label);
}
const utf8 = new TextEncoder();

/** A token label's bytes: `<0xE5>` is that byte, anything else its UTF-8. */
function labelBytes(label: string): number[] {
  const out: number[] = [];
  for (const part of label.split(/(<0x[0-9A-F]{2}>)/)) {
    if (PARTIAL.test(part) && part.length === 6) out.push(parseInt(part.slice(3, 5), 16));
    else out.push(...utf8.encode(part));
  }
  return out;
}

/**
 * Groups tokens whose labels hold part of a character (`新加<0xE5>`, `<0x9D><0xA1>`) with the tokens that
 * complete it, so the learner reads 新加坡, not byte codes. A token without partial bytes is its own group.
 * The steps themselves stay separate: this is only how they are drawn.
 */
export function charGroups(labels: readonly string[]): CharGroup[] {
  const groups: CharGroup[] = [];
  const strict = new TextDecoder('utf-8', { fatal: true });
  const lenient = new TextDecoder('utf-8');
  for (let i = 0; i < labels.length; ) {
    if (!PARTIAL.test(labels[i])) {
      groups.push({ start: i, end: i, text: labels[i], complete: true });
      i++;
      continue;
    }
    const bytes: number[] = [];
    let end = -1;
    let j = i;
    // A character is at most 4 bytes: a few tokens at most; a token with no partial bytes cannot finish one.
    for (; j < labels.length && j < i + 8 && (j === i || PARTIAL.test(labels[j])); j++) {
      bytes.push(...labelBytes(labels[j]));
      try {
        const text = strict.decode(Uint8Array.from(bytes));
        groups.push({ start: i, end: j, text, complete: true });
        end = j;
        break;
      } catch {
        // not whole yet
      }
    }
    if (end < 0) {
      // Bytes that never make a character (the run ended mid-character, or a stray byte): read as a decoder
      // reads them, U+FFFD for each broken sequence, so the chips say what Plain text says.
      end = j - 1;
      groups.push({ start: i, end, text: lenient.decode(Uint8Array.from(bytes)), complete: false });
    }
    i = end + 1;
  }
  return groups;
}
