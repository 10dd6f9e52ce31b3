// Byte-level BPE trainer (the GPT-2 scheme) that writes a Hugging Face `tokenizer.json`.
// A build tool: the app never trains tokenizers, it loads the files this writes.
import { bytesToUnicode } from '../src/engine/load/tokenizer.ts';

/** The GPT-2 pre-tokenizer pattern; the same one transformers.js uses for a ByteLevel pre-tokenizer. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Chinese characters (CJK Unified Ideographs, Extension A, Compatibility) as a character class of literal
 * characters, valid both as a JavaScript and as an Oniguruma (Hugging Face tokenizers) pattern.
 */
export const HAN_CLASS = '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]';
const HAN_SPLIT = new RegExp(`(${HAN_CLASS})`, 'u');

/**
 * The pre-tokenizer: every Chinese character is a piece of its own, then GPT-2's pattern on the rest.
 * Why isolate them: Chinese has no spaces, so GPT-2's pattern would make a whole clause one "word" and BPE
 * would learn tokens that run across a word boundary ("是巴黎"); a prompt ending "…的首都是" would then end
 * in a token the model never saw before the answer. One token per character keeps every boundary clean.
 */
export function preTokenize(text: string, han: boolean): string[] {
  if (!han) return Array.from(text.matchAll(GPT2_PATTERN), (m) => m[0]);
  const out: string[] = [];
  for (const part of text.split(HAN_SPLIT)) {
    if (!part) continue;
    if (part.length === 1 && HAN_SPLIT.test(part)) out.push(part);
    else for (const m of part.matchAll(GPT2_PATTERN)) out.push(m[0]);
  }
  return out;
}

export interface TrainedBpe {
  vocab: Record<string, number>;
  merges: string[];
}

/**
 * Learns `numMerges` merges from word counts. Pair counts are updated incrementally: each merge
 * touches only the words that contain the merged pair. Ties break on the lower pair key so the
 * result is deterministic.
 */
export function trainBpe(texts: Iterable<string>, numMerges: number, han = false): TrainedBpe {
  const byteChar = bytesToUnicode();
  const encoder = new TextEncoder();
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const w of preTokenize(text, han)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  }
  const symbols: string[] = byteChar.slice(); // id -> symbol string
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    words.push(Array.from(encoder.encode(w)));
    counts.push(c);
  }
  const SHIFT = 1 << 16;
  const key = (a: number, b: number) => a * SHIFT + b;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = key(w[i], w[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[wi]);
      if (sign > 0) {
        let s = pairWords.get(k);
        if (!s) pairWords.set(k, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const merges: string[] = [];
  for (let m = 0; m < numMerges; m++) {
    let best = -1;
    let bestCount = 0;
    for (const [k, c] of pairCount) {
      if (c > bestCount || (c === bestCount && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (best < 0 || bestCount < 2) break;
    const a = Math.floor(best / SHIFT);
    const b = best % SHIFT;
    const id = symbols.length;
    symbols.push(symbols[a] + symbols[b]);
    merges.push(`${symbols[a]} ${symbols[b]}`);
    for (const wi of pairWords.get(best) ?? []) {
      addPairs(wi, -1);
      const w = words[wi];
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }
  const vocab: Record<string, number> = {};
  symbols.forEach((s, i) => (vocab[s] = i));
  return { vocab, merges };
}

/** The Hugging Face `tokenizer.json` for a byte-level BPE with special tokens appended after the vocab. */
export function tokenizerJson(bpe: TrainedBpe, specialTokens: string[], han = false): object {
  const vocab = { ...bpe.vocab };
  let next = Object.keys(vocab).length;
  const added = specialTokens.map((content) => {
    const id = next++;
    vocab[content] = id;
    return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: han
      ? { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: HAN_CLASS }, behavior: 'Isolated', invert: false }, byteLevel] }
      : byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: bpe.merges,
    },
  };
}
