// Tokenizer: a thin layer over @xenova/transformers that (1) builds the tokenizer from JSON we
// fetched ourselves, so a local or cached model never touches the network, and (2) shows every
// token honestly, including tokens that are only part of a UTF-8 character.
import { AutoTokenizer } from '@xenova/transformers';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** GPT-2's reversible map from bytes to printable characters (used by byte-level BPE vocabularies). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i])));
  return table;
}

const BYTE_OF_CHAR = new Map(bytesToUnicode().map((ch, b) => [ch, b]));
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Renders bytes as text where they are valid UTF-8 and as `<0xE4>` where they are not
 * (a token that holds the first byte of a Chinese character, say). Never produces U+FFFD.
 */
export function bytesToLabel(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    let out = '';
    let i = 0;
    while (i < bytes.length) {
      const len = utf8SequenceLength(bytes[i]);
      if (len > 0 && i + len <= bytes.length) {
        try {
          out += utf8.decode(bytes.subarray(i, i + len));
          i += len;
          continue;
        } catch {
          /* fall through: show the byte */
        }
      }
      out += `<0x${bytes[i].toString(16).toUpperCase().padStart(2, '0')}>`;
      i++;
    }
    return out;
  }
}

function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// The subset of transformers.js's PreTrainedTokenizer that NextToken uses.
interface HfTokenizer {
  encode(text: string, pair?: null, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(messages: ChatMessage[], options: { tokenize: false; add_generation_prompt: boolean }): string;
  model: { vocab: string[]; tokens_to_ids: Map<string, number> };
  added_tokens: { id: number; content: string; special: boolean }[];
  chat_template?: string | null;
  default_chat_template?: string;
}

export class Tokenizer {
  readonly vocabSize: number;
  private readonly specialIds: Set<number>;
  private readonly byteLevel: boolean;

  private constructor(
    private readonly hf: HfTokenizer,
    readonly eosId: number | null,
    readonly hasChatTemplate: boolean,
    /** The token every prompt starts with, where the model was trained so (add_bos_token: Llama 2, llama2.c). */
    readonly bosId: number | null = null,
  ) {
    const vocab = hf.model.vocab;
    this.vocabSize = vocab.length;
    this.specialIds = new Set(hf.added_tokens.filter((t) => t.special).map((t) => t.id));
    const sample = vocab.filter((t, i) => t !== undefined && !this.specialIds.has(i)).slice(0, 512);
    this.byteLevel = sample.length > 0 && sample.every((t) => [...t].every((ch) => BYTE_OF_CHAR.has(ch)));
  }

  /** Builds a tokenizer from the two JSON files of a Hugging Face model folder. */
  static fromJSON(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>): Tokenizer {
    const name = String(tokenizerConfig.tokenizer_class ?? 'PreTrainedTokenizer').replace(/Fast$/, '');
    const mapping = (AutoTokenizer as unknown as { TOKENIZER_CLASS_MAPPING: Record<string, new (j: unknown, c: unknown) => HfTokenizer> })
      .TOKENIZER_CLASS_MAPPING;
    const Cls = mapping[name] ?? mapping.PreTrainedTokenizer ?? Object.values(mapping)[0];
    const hf = new Cls(tokenizerJson, tokenizerConfig);
    const eosText = tokenText(tokenizerConfig.eos_token);
    const eosId = eosText !== null ? (hf.model.tokens_to_ids.get(eosText) ?? null) : null;
    const bosText = tokenizerConfig.add_bos_token === true ? tokenText(tokenizerConfig.bos_token) : null;
    const bosId = bosText !== null ? (hf.model.tokens_to_ids.get(bosText) ?? null) : null;
    return new Tokenizer(hf, eosId, typeof tokenizerConfig.chat_template === 'string', bosId);
  }

  /** The token a document follows in training: BOS where the model puts one first, else end-of-text. */
  get documentStartId(): number | null {
    return this.bosId ?? this.eosId;
  }

  /** A prompt's ids: the text's tokens, after the BOS token where the model expects one (once, if a template wrote it). */
  encode(text: string): number[] {
    const ids = this.encodeText(text);
    return this.bosId === null || ids[0] === this.bosId ? ids : [this.bosId, ...ids];
  }

  /** The tokens of a piece of text alone, with no BOS (SentencePiece still puts its "▁" before it). */
  encodeText(text: string): number[] {
    return this.hf.encode(text, null, { add_special_tokens: false });
  }

  /**
   * Text that continues other text (a guess, a forced token, an answer to score): no BOS, and no dummy "▁" from a
   * SentencePiece tokenizer, so " Lily" is ▁Lily and "ily" stays glued — as in byte-level BPE. The text is encoded
   * after a newline, which no merge crosses, and the newline's tokens are dropped.
   */
  encodeContinuation(text: string): number[] {
    const marker = this.encodeText('\n');
    // A SentencePiece tokenizer puts "▁" before any text: "a" alone is ▁a, "a" after a newline is a.
    if (this.dummyPrefix === null) this.dummyPrefix = this.encodeText('\na').slice(marker.length).join() !== this.encodeText('a').join();
    if (!this.dummyPrefix) return this.encodeText(text);
    const ids = this.encodeText('\n' + text);
    return marker.every((id, i) => ids[i] === id) ? ids.slice(marker.length) : this.encodeText(text);
  }
  private dummyPrefix: boolean | null = null;

  decode(ids: number[], skipSpecial = false): string {
    return this.hf.decode(ids, { skip_special_tokens: skipSpecial });
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** The raw bytes of one token, or null for special tokens and vocabularies that are not byte-level. */
  tokenBytes(id: number): Uint8Array | null {
    const piece = this.hf.model.vocab[id];
    if (piece === undefined || this.specialIds.has(id)) return null;
    if (this.byteLevel) return Uint8Array.from([...piece].map((ch) => BYTE_OF_CHAR.get(ch) ?? 0x3f));
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece); // SentencePiece byte fallback
    if (m) return Uint8Array.of(parseInt(m[1], 16));
    return new TextEncoder().encode(piece.replace(/\u2581/g, ' '));
  }

  /** How a single token is shown to a learner: its text, or `<0xE4>` for a partial character. */
  tokenLabel(id: number): string {
    const bytes = this.tokenBytes(id);
    if (bytes) return bytesToLabel(bytes);
    return this.hf.model.vocab[id] ?? `<id ${id}>`;
  }

  /**
   * Where an assistant's turn ends: the template's end-of-turn tokens (ChatML's <|im_end|>, Llama 3's
   * <|eot_id|>, Gemma's <end_of_turn>) or, for the plain User:/Assistant: transcript, a new speaker line.
   */
  turnEnd(): TurnEnd {
    const ids: number[] = [];
    for (const name of END_OF_TURN_TOKENS) {
      const id = this.hf.model.tokens_to_ids.get(name);
      if (id !== undefined) ids.push(id);
    }
    // A template (the embedded model's included) may itself write the plain transcript format.
    const plain = this.applyChatTemplate([{ role: 'user', content: 'x' }]).startsWith('User: x');
    return { ids, strings: plain ? PLAIN_SPEAKER_LINES : [] };
  }

  /** Renders a conversation with the model's own chat template (or a plain User:/Assistant: format). */
  applyChatTemplate(messages: ChatMessage[]): string {
    if (this.hasChatTemplate) {
      try {
        return this.hf.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true });
      } catch (e) {
        throw new Error(`This model's chat template (chat_template in tokenizer_config.json) does not work: ${(e as Error).message.replace(/\.+$/, '')}. Use Complete mode with this model, or pick another model for chat.`);
      }
    }
    const eos = this.eosId !== null ? (this.hf.model.vocab[this.eosId] ?? '') : '';
    return (
      messages
        .map((m) => (m.role === 'assistant' ? `Assistant: ${m.content}${eos}\n` : `${m.role === 'system' ? 'System' : 'User'}: ${m.content}\n`))
        .join('') + 'Assistant:'
    );
  }
}

export interface TurnEnd {
  ids: number[]; // tokens that end a turn
  strings: string[]; // text that ends a turn where it appears (not part of the reply)
}

const END_OF_TURN_TOKENS = ['<|im_end|>', '<|eot_id|>', '<end_of_turn>', '<|end|>'];
/** In the plain transcript format a reply ends where the model starts the next speaker's line. */
const PLAIN_SPEAKER_LINES = ['\nUser:', '\nAssistant:', '\nSystem:'];

function tokenText(t: unknown): string | null {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { content?: unknown }).content === 'string') return (t as { content: string }).content;
  return null;
}
