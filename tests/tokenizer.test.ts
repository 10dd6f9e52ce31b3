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

describe('chat templates of the Qwen family', () => {
  // Our own template, written with the Jinja features Qwen3's chat template relies on (a namespace set in a
  // loop, a reversed slice, string methods, `is string`, indexing a split): @huggingface/jinja 0.2 (what
  // @xenova/transformers 2.x ships) cannot parse or run them, so package.json pins 0.5 by an override.
  const template =
    "{%- set ns = namespace(last_user=messages|length - 1) %}" +
    "{%- for m in messages[::-1] %}{%- set i = (messages|length - 1) - loop.index0 %}" +
    "{%- if m.role == 'user' and not (m.content.startswith('<tool>') and m.content.endswith('</tool>')) and ns.last_user == messages|length - 1 %}{%- set ns.last_user = i %}{%- endif %}{%- endfor %}" +
    "{%- for m in messages %}{%- if m.content is string %}{%- set c = m.content %}{%- else %}{%- set c = '' %}{%- endif %}" +
    "{%- if m.role == 'assistant' and '</think>' in c %}{%- set c = c.split('</think>')[-1].lstrip('\\n') %}{%- endif %}" +
    "{{- '<|im_start|>' + m.role + '\\n' + c + '<|im_end|>\\n' }}{%- endfor %}" +
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
  const q = join(import.meta.dirname, 'fixtures', 'tiny-qwen3');
  const qj = (f: string) => JSON.parse(readFileSync(join(q, f), 'utf8'));

  it('renders a conversation with an earlier thinking block dropped, and the special tokens are single tokens', () => {
    const qwen = Tokenizer.fromJSON(qj('tokenizer.json'), { ...qj('tokenizer_config.json'), chat_template: template });
    const text = qwen.applyChatTemplate([
      { role: 'user', content: 'Hello world' },
      { role: 'assistant', content: '<think>\nthe cat\n</think>\n\nHello' },
      { role: 'user', content: '你好' },
    ]);
    expect(text).toBe('<|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n');
    const ids = qwen.encode(text);
    const imStart = qwen.encode('<|im_start|>');
    expect(imStart).toHaveLength(1);
    expect(ids.filter((id) => id === imStart[0])).toHaveLength(4);
  });
});
