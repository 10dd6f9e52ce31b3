// A SentencePiece BPE vocabulary (pieces, scores, types — as llama2.c's tokenizer.bin and GGUF's `llama`
// tokenizer kind store it) as a Hugging Face tokenizer.json that transformers.js runs with the same ids.
//
// SentencePiece's BPE merges, at each step, the adjacent pair whose joined piece has the highest score (the
// leftmost on a tie). A tokenizer.json lists ranked merges instead, so the merges are derived from the scores the
// way Hugging Face's converter does (every split of a piece into two pieces of the vocabulary, ranked by the
// joined piece's score, best first); the tests check the ids against a direct implementation of the score rule.

/** GGUF's token types (llama.cpp's llama_token_type); llama2.c's tokenizer.bin has none, so they are inferred. */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface SentencePieceVocab {
  /** Each id's piece, with U+2581 (▁) for a space, as SentencePiece writes it. */
  pieces: string[];
  scores: number[];
  types: number[];
}

const SPACE = '\u2581';

/** The ranked merges: for every normal piece, each split into two pieces of the vocabulary, by the piece's score. */
export function mergesFromScores(v: SentencePieceVocab): string[] {
  const idOf = new Map<string, number>();
  v.pieces.forEach((p, id) => {
    if (!idOf.has(p)) idOf.set(p, id);
  });
  const merges: { left: string; right: string; score: number; order: number }[] = [];
  v.pieces.forEach((piece, id) => {
    if (v.types[id] !== TOKEN_TYPE.normal && v.types[id] !== TOKEN_TYPE.userDefined) return;
    const chars = [...piece];
    const local: { left: string; right: string }[] = [];
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      if (idOf.has(left) && idOf.has(right)) local.push({ left, right });
    }
    local.sort((a, b) => idOf.get(a.left)! - idOf.get(b.left)! || idOf.get(a.right)! - idOf.get(b.right)!);
    for (const m of local) merges.push({ ...m, score: v.scores[id], order: merges.length });
  });
  merges.sort((a, b) => b.score - a.score || a.order - b.order);
  for (const m of merges) {
    if (m.left.includes(' ') || m.right.includes(' ')) throw new Error(`SentencePiece vocabulary: the piece "${m.left}${m.right}" holds a space, which a tokenizer.json merge cannot write.`);
  }
  return merges.map((m) => `${m.left} ${m.right}`);
}

/**
 * tokenizer.json for a SentencePiece BPE model with byte fallback (Llama 2's kind): a space is ▁, a "▁" is put
 * before the text (SentencePiece's dummy prefix), characters outside the vocabulary become their UTF-8 bytes
 * (<0xE4> …). The decoder keeps the leading space that Hugging Face's Llama decoder strips, because NextToken
 * decodes continuations, where that space belongs to the text.
 */
export function sentencePieceTokenizerJson(v: SentencePieceVocab): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  v.pieces.forEach((p, id) => {
    if (!Object.hasOwn(vocab, p)) vocab[p] = id;
  });
  // Control and unknown pieces are special; user-defined pieces are matched whole too, as SentencePiece does.
  const whole = [TOKEN_TYPE.control, TOKEN_TYPE.unknown, TOKEN_TYPE.userDefined] as number[];
  const special = v.pieces.flatMap((content, id) =>
    whole.includes(v.types[id]) ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: v.types[id] !== TOKEN_TYPE.userDefined }] : [],
  );
  const unk = v.pieces[v.types.indexOf(TOKEN_TYPE.unknown)];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special,
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE }, { type: 'Replace', pattern: { String: ' ' }, content: SPACE }] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: SPACE }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }] },
    model: { type: 'BPE', dropout: null, unk_token: unk ?? null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: mergesFromScores(v) },
  };
}
