// The tokenizer through @xenova/transformers, built from local files only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesToLabel, Tokenizer } from '../src/engine/load/tokenizer.ts';

const dir = join(import.meta.dirname, 'fixtures', 'tiny-gpt2');
const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const tok = Tokenizer.fromJSON(json('tokenizer.json'), json('tokenizer_config.json'));

describe('tokenizer', () => {
  it('round-trips text byte-exactly, including Chinese and emoji', () => {
    for (const text of ['Hello world. The cat sat on the mat.', '你好，世界。模型一次预测一个词元。', 'emoji 🙂 and\ttabs\n\nnew lines  ']) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });

  it('shows a token that is part of a UTF-8 character as <0x..>, never as U+FFFD', () => {
    const ids = tok.encode('语'); // not in the fixture's merges: three single-byte tokens
    const labels = ids.map((id) => tok.tokenLabel(id));
    expect(labels).toEqual(['<0xE8>', '<0xAF>', '<0xAD>']);
    expect(labels.join('')).not.toContain('\uFFFD');
    // 你 is E4 BD A0 in UTF-8; the fixture's 64 merges (tokenizer.json) pair none of these bytes, so
    // it is three byte tokens too, each labelled by its own byte.
    expect(tok.encode('你').map((id) => tok.tokenLabel(id))).toEqual(['<0xE4>', '<0xBD>', '<0xA0>']);
  });

  it('renders mixed valid and partial byte runs', () => {
    expect(bytesToLabel(Uint8Array.of(0x41, 0xe4, 0xbd))).toBe('A<0xE4><0xBD>');
    expect(bytesToLabel(Uint8Array.of(0xe4, 0xbd, 0xa0))).toBe('你');
  });

  it('knows its end-of-text token and marks it special', () => {
    expect(tok.eosId).toBe(tok.vocabSize - 1);
    expect(tok.isSpecial(tok.eosId!)).toBe(true);
    expect(tok.tokenLabel(tok.eosId!)).toBe('<|endoftext|>');
  });

  it('falls back to a plain User:/Assistant: format when the model has no chat template', () => {
    expect(tok.hasChatTemplate).toBe(false);
    const text = tok.applyChatTemplate([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Bye' },
    ]);
    expect(text).toBe('User: Hi\nAssistant: Hello.<|endoftext|>\nUser: Bye\nAssistant:');
  });
});
