// Characters, not bytes: byte tokens that spell one character are drawn as one chip. The witness is the
// tokenizer itself: the embedded model's token labels for Chinese text, decoded by TextDecoder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/engine/load/tokenizer.ts';
import { charGroups } from '../src/ui/tokens.ts';

const dir = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');
const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

describe('charGroups', () => {
  it('joins the byte tokens of a character, and keeps whole tokens as they are', () => {
    const g = charGroups(['新加', '<0xE5>', '<0x9D>', '<0xA1>', '。']);
    expect(g).toEqual([
      { start: 0, end: 0, text: '新加', complete: true },
      { start: 1, end: 3, text: '坡', complete: true },
      { start: 4, end: 4, text: '。', complete: true },
    ]);
    // Text and bytes in one token, finished by the next.
    expect(charGroups(['马<0xE6>', '<0x9C><0xB1>', '罗'])).toEqual([
      { start: 0, end: 1, text: '马朱', complete: true },
      { start: 2, end: 2, text: '罗', complete: true },
    ]);
  });

  it('a character cut off (the run ended, or a stray byte) reads as a decoder reads it (U+FFFD), never as byte codes', () => {
    expect(charGroups(['巴', '<0xE5>'])).toEqual([
      { start: 0, end: 0, text: '巴', complete: true },
      { start: 1, end: 1, text: '\uFFFD', complete: false },
    ]);
    expect(charGroups(['<0xE5>', '黎'])[0]).toEqual({ start: 0, end: 0, text: '\uFFFD', complete: false });
    expect(charGroups(['<0x9D>', '<0xE5><0x9D><0xA1>'])).toEqual([{ start: 0, end: 1, text: '\uFFFD坡', complete: false }]);
    // Two tokens of one character, the run cut before its last byte: one U+FFFD, as TextDecoder gives.
    const cut = ['叙', '<0xE8>', '<0x9B>'];
    expect(charGroups(cut).map((g) => g.text).join('')).toBe(new TextDecoder().decode(Uint8Array.from([0xe5, 0x8f, 0x99, 0xe8, 0x9b])));
  });

  it('on the embedded tokenizer, every Chinese text its labels spell is drawn exactly (TextDecoder witness)', () => {
    const tok = Tokenizer.fromJSON(json('tokenizer.json'), json('tokenizer_config.json'));
    let partial = 0;
    for (const text of ['新加坡的首都是新加坡。', '马朱罗', '秘鲁的首都是利马。', '从前有一个小女孩，她很喜欢唱歌。', '𠀀 emoji 🙂 and ü']) {
      const labels = tok.encode(text).map((id) => tok.tokenLabel(id));
      partial += labels.filter((l) => l.includes('<0x')).length;
      const groups = charGroups(labels);
      expect(groups.map((g) => g.text).join('')).toBe(text);
      expect(groups.every((g) => g.complete && !g.text.includes('<0x'))).toBe(true);
      // Groups tile the tokens, in order.
      expect(groups.map((g) => [g.start, g.end]).flat()).toEqual(groups.flatMap((g, k) => [k === 0 ? 0 : groups[k - 1].end + 1, g.end]));
    }
    expect(partial).toBeGreaterThan(5); // the texts do split into byte tokens (坡, 朱, 秘, emoji)
  });
});
